//! Request body helpers: media-type dispatch and JSON parsing with PingOne
//! error bodies (axum's own extractor rejections are plain text).

use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

pub const JSON: &str = "application/json";
pub const DEVICE_ACTIVATE: &str = "application/vnd.pingidentity.device.activate+json";
pub const DEVICE_SEND_ACTIVATION_CODE: &str =
    "application/vnd.pingidentity.device.sendActivationCode+json";
pub const DEVICES_REORDER: &str = "application/vnd.pingidentity.devices.reorder+json";
pub const DEVICES_ORDER_REMOVE: &str = "application/vnd.pingidentity.devices.order.remove+json";

/// The raw Content-Type header, if any.
pub fn content_type_raw(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

/// The media type (Content-Type without parameters). Known PingOne media
/// types are matched case-insensitively and returned in their canonical
/// spelling (so `match` against the constants works); others are
/// lower-cased.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    const KNOWN: [&str; 5] = [
        JSON,
        DEVICE_ACTIVATE,
        DEVICE_SEND_ACTIVATION_CODE,
        DEVICES_REORDER,
        DEVICES_ORDER_REMOVE,
    ];
    content_type_raw(headers).map(|ct| {
        let mt = ct.split(';').next().unwrap_or("").trim();
        KNOWN
            .iter()
            .find(|k| k.eq_ignore_ascii_case(mt))
            .map(|k| k.to_string())
            .unwrap_or_else(|| mt.to_ascii_lowercase())
    })
}

/// 415 unless the media type is `application/json`.
pub fn require_json(headers: &HeaderMap) -> ApiResult<()> {
    match media_type(headers).as_deref() {
        Some(JSON) => Ok(()),
        _ => Err(ApiError::unsupported_media_type(
            content_type_raw(headers).as_deref(),
        )),
    }
}

/// Parses a JSON object body (400 INVALID_DATA otherwise).
pub fn parse_object(raw: &[u8]) -> ApiResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::malformed_json("expected a JSON object")),
        Err(e) => Err(ApiError::malformed_json(e.to_string())),
    }
}

/// Like [`parse_object`] but an empty (or whitespace) body is an empty object.
pub fn parse_object_or_empty(raw: &[u8]) -> ApiResult<Map<String, Value>> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        Ok(Map::new())
    } else {
        parse_object(raw)
    }
}

/// Optional string field: `Ok(None)` when absent or null, 400 INVALID_VALUE
/// when present but not a string.
pub fn opt_str<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    target: &str,
) -> ApiResult<Option<&'a str>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(ApiError::invalid_value(
            target,
            format!("{target} must be a string"),
        )),
    }
}

/// A reference field (`{"id": ...}`): its id, `Ok(None)` when the field or
/// its id is absent or null, 400 INVALID_VALUE when either has the wrong type.
pub fn id_of(b: &Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => match o.get("id") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid_value(
                &format!("{key}.id"),
                format!("{key}.id must be a string"),
            )),
        },
        Some(_) => Err(ApiError::invalid_value(
            key,
            format!("{key} must be an object"),
        )),
    }
}

/// Optional object field: `Ok(None)` when absent or null, 400 INVALID_VALUE
/// when present but not an object.
pub fn opt_object(m: &Map<String, Value>, key: &str) -> ApiResult<Option<Value>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
        Some(_) => Err(ApiError::invalid_value(
            key,
            format!("{key} must be an object"),
        )),
    }
}

/// Decodes `application/x-www-form-urlencoded`.
pub fn parse_form(raw: &[u8]) -> Vec<(String, String)> {
    let s = String::from_utf8_lossy(raw);
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decoding with `+` as space (form encoding).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
                continue;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let f = parse_form(b"grant_type=client_credentials&client_id=a%2Bb&x=y+z&bad=%zz&end=%4");
        assert_eq!(f[0], ("grant_type".into(), "client_credentials".into()));
        assert_eq!(f[1].1, "a+b");
        assert_eq!(f[2].1, "y z");
        assert_eq!(f[3].1, "%zz");
        assert_eq!(f[4].1, "%4");
    }
}
