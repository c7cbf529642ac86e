//! Connection settings as the operator writes them (TOML), the validation
//! of the URLs they name, and errors that never echo a value.
//!
//! What the settings mean belongs to each connector's manifest; the host
//! only reads them, checks URLs against its rules and its network policy,
//! and names the setting in every error without showing a secret or a
//! URL's password.

use serde_json::{Map, Value};

use crate::error::Error;

/// Parses one connection's settings from a TOML table of keys (the CLI's
/// `--tenant` file). A syntax error names the line, column and key, never
/// the value (it may be the secret).
pub fn settings_from_toml(text: &str) -> Result<Map<String, Value>, Error> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| toml_error("tenant file", text, &e))?;
    Ok(toml_to_json(table))
}

/// A TOML table as a JSON object (datetimes become their text).
pub(crate) fn toml_to_json(table: toml::Table) -> Map<String, Value> {
    match serde_json::to_value(table) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A TOML error as a tenant error whose field is the dotted key it is
/// about (or `what` when none can be read) and whose message says where
/// and what kind, without quoting the file: toml's own message shows the offending line, which
/// may hold a secret, and serde's messages quote values.
pub fn toml_error(what: &str, text: &str, error: &toml::de::Error) -> Error {
    let message = error.message();
    let first = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    let reason = if let Some(key) = first("missing field `") {
        format!("missing key '{key}'")
    } else if let Some(key) = first("unknown field `") {
        format!("unknown key '{key}'")
    } else if message.starts_with("duplicate key") {
        "duplicate key".to_owned()
    } else if let Some(at) = message.rfind("expected ") {
        // serde puts the value first and what it expected last, so the text
        // after the last "expected" is the schema's, not the file's.
        let expected = message[at..].lines().next().unwrap_or_default();
        format!("invalid value; {expected}")
    } else {
        "invalid TOML".to_owned()
    };
    let Some(span) = error.span() else {
        return Error::Tenant {
            field: what.into(),
            message: reason,
        };
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let key = key_at(text, span.start);
    Error::Tenant {
        field: if key.is_empty() { what.into() } else { key },
        message: format!("{what}, line {line}, column {column}: {reason}"),
    }
}

/// The dotted key path of the TOML line holding byte `offset`: the last
/// `[table]` header above it and the line's own key, as far as they can be
/// read without a full parse (the file did not parse).
fn key_at(text: &str, offset: usize) -> String {
    let mut table = String::new();
    let mut consumed = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let at_offset = consumed + line.len() > offset;
        if let Some(header) = trimmed.strip_prefix('[') {
            let name = header.trim_start_matches('[');
            let name = name.split(']').next().unwrap_or_default().trim();
            if at_offset {
                return name.to_owned();
            }
            table = name.to_owned();
        } else if at_offset {
            let key = trimmed
                .split_once('=')
                .map(|(k, _)| k.trim().trim_matches('"'))
                .filter(|k| !k.is_empty() && !k.contains(char::is_whitespace));
            return match (table.is_empty(), key) {
                (_, None) => table,
                (true, Some(key)) => key.to_owned(),
                (false, Some(key)) => format!("{table}.{key}"),
            };
        }
        consumed += line.len();
    }
    table
}

/// A base URL that passed validation: http(s), a host, a port in range, a
/// path without dot segments, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// The path without its trailing slash (`""` for the root).
    pub path: String,
}

impl BaseUrl {
    /// Validates `text` as the setting `field`. The errors never echo the
    /// URL: it may carry a password.
    pub fn parse(field: &str, text: &str) -> Result<BaseUrl, Error> {
        let bad = |message: &str| Error::Tenant {
            field: field.into(),
            message: message.into(),
        };
        let text = text.trim();
        if text.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(bad("must not contain spaces or control characters"));
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad("must be an absolute http:// or https:// URL"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err(bad("must use http or https")),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(bad(
                "must not contain user information (user:password@); credentials belong in the secret settings",
            ));
        }
        if text.contains(['?', '#']) {
            return Err(bad("must not have a query or a fragment"));
        }
        let uri: http::Uri = text
            .parse()
            .map_err(|_| bad("is not a valid absolute URL"))?;
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("has no host"))?
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let port = match authority_port(authority) {
            None => default_port,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("has a port outside 1-65535"))?,
        };
        check_host(&host).map_err(|why| bad(&why))?;
        let path = uri.path().trim_end_matches('/').to_owned();
        if has_dot_segment(&path) {
            return Err(bad("must not contain '.' or '..' path segments"));
        }
        Ok(BaseUrl {
            scheme,
            host,
            port,
            path,
        })
    }

    /// `scheme://host[:port]`, the port shown when it is not the default.
    pub fn origin(&self) -> String {
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default {
            format!("{}://{}", self.scheme, self.host)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// The port text of an authority (`host:port`, `[v6]:port`), if one is given.
fn authority_port(authority: &str) -> Option<&str> {
    let after_host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, rest)| rest),
        None => authority,
    };
    after_host.rsplit_once(':').map(|(_, port)| port)
}

/// A host must be a DNS name or a canonical IP literal. Numeric forms the
/// C resolver would also take as addresses (`2130706433`, `127.1`,
/// `0x7f.0.0.1`, `017.0.0.1`) are refused: what they reach is not what
/// they appear to name.
fn check_host(host: &str) -> Result<(), String> {
    if let Some(v6) = host.strip_prefix('[') {
        return match v6.strip_suffix(']').map(str::parse::<std::net::Ipv6Addr>) {
            Some(Ok(_)) => Ok(()),
            _ => Err("has an invalid IPv6 address (zone IDs are not allowed)".into()),
        };
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(());
    }
    let last = host.rsplit('.').next().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        return Err("has a numeric host that is not a dotted-quad IPv4 address".into());
    }
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if host.len() > 253 || !host.split('.').all(valid_label) {
        return Err("has an invalid host name".into());
    }
    Ok(())
}

/// Whether a path has a `.` or `..` segment, also percent-encoded
/// (`%2e%2e`) or behind an encoded slash (`..%2f..`): a server that decodes
/// them would climb out of the allowed prefix.
pub(crate) fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = percent_decode(segment);
        decoded
            .split(['/', '\\'])
            .any(|part| part == "." || part == "..")
    })
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        match BaseUrl::parse("apiUrl", text) {
            Err(Error::Tenant { field, message }) => {
                assert_eq!(field, "apiUrl");
                message
            }
            other => panic!("{text}: expected a tenant error, got {other:?}"),
        }
    }

    #[test]
    fn base_urls_are_validated_without_echoing_them() {
        let ok = BaseUrl::parse("apiUrl", "https://API.example.eu./v1/").unwrap();
        assert_eq!(
            (
                ok.scheme.as_str(),
                ok.host.as_str(),
                ok.port,
                ok.path.as_str()
            ),
            ("https", "api.example.eu", 443, "/v1")
        );
        assert_eq!(
            BaseUrl::parse("apiUrl", "http://[::1]:8700/v1")
                .unwrap()
                .port,
            8700
        );
        for (text, why) in [
            ("http://user:hunter2@host/v1", "user information"),
            ("http://:hunter2@host/v1", "user information"),
            ("http://host:99999/v1", "port"),
            ("http://host:0/v1", "port"),
            ("http://host:/v1", "port"),
            ("ftp://host/v1", "http or https"),
            ("file:///etc/passwd", "http or https"),
            ("javascript:alert(1)", "absolute"),
            ("https://host/v1?x=1", "query"),
            ("https://host/v1#x", "fragment"),
            ("https://host/v1/../admin", "segments"),
            ("https://host/v1/%2e%2e/admin", "segments"),
            ("http://2130706433/", "numeric"),
            ("http://127.1/", "numeric"),
            ("http://0x7f.0.0.1/", "numeric"),
            ("http://017.0.0.1/", "numeric"),
            ("http://[fe80::1%25eth0]/", "IPv6"),
            ("http://ho st/", "spaces"),
            ("https://exa_mple..com/", "host name"),
        ] {
            let message = refused(text);
            assert!(message.contains(why), "{text}: {message}");
            assert!(!message.contains("hunter2"), "{text}: {message}");
        }
    }

    #[test]
    fn dot_segments_are_found_in_every_encoding() {
        for path in [
            "/a/../b",
            "/a/./b",
            "/a/%2E%2e/b",
            "/a/..%2f../b",
            "/a/.%5c../b",
        ] {
            assert!(has_dot_segment(path), "{path}");
        }
        for path in ["/a/b", "/a/..b/c", "/a/%2Fx", "/a/b.c"] {
            assert!(!has_dot_segment(path), "{path}");
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sample {
        client_id: String,
        client_secret: String,
        region: Option<Region>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(try_from = "String")]
    struct Region;

    impl TryFrom<String> for Region {
        type Error = &'static str;
        fn try_from(_: String) -> Result<Region, &'static str> {
            Err("expected one of NA, EU")
        }
    }

    fn error_of(text: &str) -> (String, String) {
        match toml::from_str::<Sample>(text) {
            Err(e) => match toml_error("tenant file", text, &e) {
                Error::Tenant { field, message } => (field, message),
                other => panic!("{other:?}"),
            },
            Ok(s) => panic!("parsed {s:?}"),
        }
    }

    #[test]
    fn toml_errors_name_line_column_and_key_but_never_the_value() {
        let (field, message) = error_of("clientId = \"c\"\nclientSecret = 12345678901\n");
        assert_eq!(field, "clientSecret");
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("12345678901"), "{message}");
        let (_, message) = error_of("clientId = \"c\"\nclientSecret = \"hunter2-unterminated\n");
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let (field, message) =
            error_of("clientId = \"c\"\nclientSecret = \"s\"\nregion = \"MARS\"\n");
        assert_eq!(field, "region");
        assert!(message.contains("expected one of NA"), "{message}");
        match settings_from_toml("clientSecret = \"hunter2\nx") {
            Err(Error::Tenant { message, .. }) => assert!(!message.contains("hunter2")),
            other => panic!("{other:?}"),
        }
        let parsed = settings_from_toml("clientId = \"c\"\nport = 8080\n").unwrap();
        assert_eq!(parsed["port"], 8080);
    }
}
