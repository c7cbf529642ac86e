//! The capability table: one small entry per DaVinci capability.
//!
//! Each entry is a unit struct implementing [`Capability`]: ids, title,
//! input and output types, the request, and the convenience fields. The
//! list in `lib.rs` (`capabilities!`) turns the entries into WIT exports and
//! the manifest.

pub mod authentications;
pub mod codes;
pub mod devices;
pub mod pairing;
pub mod policies;
pub mod users;

use serde_json::{Map, Value};

use crate::choice::Choice;
use crate::error::InputError;

/// Device types of the PingOne MFA (CIAM) drop-downs.
pub const DEVICE_TYPE: Choice = Choice {
    options: &[
        (&["Email"], "EMAIL"),
        (&["SMS"], "SMS"),
        (&["Voice"], "VOICE"),
        (&["Authenticator App", "TOTP"], "TOTP"),
        (
            &["Mobile Applications", "Mobile Application", "MOBILE"],
            "MOBILE",
        ),
        (&["Fido2 Biometrics", "FIDO2"], "FIDO2"),
        (&["Security Key", "SECURITY_KEY"], "SECURITY_KEY"),
        (&["PLATFORM"], "PLATFORM"),
        (&["OATH_TOKEN", "Oath token"], "OATH_TOKEN"),
    ],
};

/// Device status drop-down.
pub const DEVICE_STATUS: Choice = Choice {
    options: &[
        (&["ACTIVE"], "ACTIVE"),
        (
            &["ACTIVATION REQUIRED", "ACTIVATION_REQUIRED"],
            "ACTIVATION_REQUIRED",
        ),
    ],
};

/// Drops `null` members, recursively, so optional inputs left empty are not
/// sent to PingOne at all.
pub fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, compact(v)))
                .filter(|(_, v)| !matches!(v, Value::Object(m) if m.is_empty()))
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

/// A non-empty trimmed string or `None`.
pub fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A required string that must not be blank.
pub fn required<'a>(pointer: &str, s: &'a Option<String>) -> Result<&'a str, InputError> {
    non_empty(s).ok_or_else(|| InputError::at(pointer, "a value is required"))
}

/// Reads DaVinci `variableInputList` entries (`[{"name": .., "value": ..}]`,
/// `key` also accepted for `name`) into a JSON object of strings.
pub fn variables(
    pointer: &str,
    list: &Option<Vec<Map<String, Value>>>,
) -> Result<Option<Value>, InputError> {
    let Some(list) = list else { return Ok(None) };
    let mut out = Map::new();
    for (i, entry) in list.iter().enumerate() {
        let name = entry
            .get("name")
            .or_else(|| entry.get("key"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                InputError::at(format!("{pointer}/{i}/name"), "each variable needs a name")
            })?;
        let value = match entry.get("value") {
            Some(Value::String(s)) => Value::String(s.clone()),
            Some(Value::Null) | None => Value::String(String::new()),
            Some(other) => Value::String(other.to_string()),
        };
        out.insert(name.to_owned(), value);
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}
