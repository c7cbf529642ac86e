//! DaVinci drop-downs and toggles, as a connector receives them.
//!
//! DaVinci sends a drop-down's option *label* (`ACTIVATION REQUIRED`,
//! `Authenticator App`) while API-minded callers send the API's value
//! (`ACTIVATION_REQUIRED`, `TOTP`). Both are accepted, case-insensitively,
//! and normalised to the API's value. Toggles typed as strings in DaVinci
//! (`createDeviceTestMode`) accept `"true"`/`"false"` in any case.

use schemars::Schema;
use serde_json::json;

use crate::error::InputError;

/// One drop-down: each option's accepted spellings and the API's value.
pub struct Choice {
    /// Whose values these are, as the schema's description names them
    /// (e.g. `PingOne`).
    pub api: &'static str,
    /// `(spellings, the API's value)`; spellings compare case-insensitively.
    pub options: &'static [(&'static [&'static str], &'static str)],
}

impl Choice {
    /// The API's value for `raw`, or an error at `pointer` listing the options.
    pub fn resolve(&self, pointer: &str, raw: &str) -> Result<&'static str, InputError> {
        let wanted = raw.trim();
        self.options
            .iter()
            .find(|(spellings, _)| spellings.iter().any(|s| s.eq_ignore_ascii_case(wanted)))
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                InputError::at(
                    pointer,
                    format!("'{raw}' is not one of {}", self.spellings().join(", ")),
                )
            })
    }

    fn spellings(&self) -> Vec<&'static str> {
        self.options
            .iter()
            .flat_map(|(spellings, _)| spellings.iter().copied())
            .collect()
    }

    /// A string schema accepting every spelling in any case, and listing them.
    pub fn schema(&self, description: &str) -> Schema {
        let alternatives: Vec<String> = self.spellings().iter().map(|s| regex_escape(s)).collect();
        let listed = self
            .options
            .iter()
            .map(|(spellings, value)| format!("{} -> {value}", spellings.join(" | ")))
            .collect::<Vec<_>>()
            .join("; ");
        let schema = json!({
            "type": "string",
            "pattern": format!("^(?i:{})$", alternatives.join("|")),
            "description": format!("{description} Accepts the DaVinci label or the {} value, in any case: {listed}.", self.api),
            "examples": self.spellings(),
        });
        Schema::try_from(schema).expect("an object is a schema")
    }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reads a seed toggle typed as a string: `"true"`/`"false"` in any case;
/// an absent or empty value is `false`.
pub fn toggle(pointer: &str, raw: Option<&str>) -> Result<bool, InputError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(InputError::at(
            pointer,
            format!("'{v}' is not \"true\" or \"false\""),
        )),
    }
}

/// Schema of a seed toggle typed as a string.
pub fn toggle_schema(_: &mut schemars::SchemaGenerator) -> Schema {
    Schema::try_from(json!({
        "type": "string",
        "pattern": "^(?i:true|false)?$",
        "description": "A toggle sent as text: \"true\" or \"false\" in any case; empty means false."
    }))
    .expect("an object is a schema")
}

/// Schema of the seed's `null/string` fields.
pub fn nullable_string_schema(_: &mut schemars::SchemaGenerator) -> Schema {
    Schema::try_from(json!({ "type": ["null", "string"] })).expect("an object is a schema")
}

/// Schema of the seed's `null/string/object` "custom value" fields.
pub fn custom_value_schema(_: &mut schemars::SchemaGenerator) -> Schema {
    Schema::try_from(json!({
        "type": ["null", "string", "object"],
        "description": "A value typed in DaVinci's \"Enter custom value\" box: a string, or an object whose \"value\" member is the string."
    }))
    .expect("an object is a schema")
}

/// Reads a `null/string/object` custom value: a string as is, an object's
/// `value` member; null or empty gives `None`.
pub fn custom_value(
    pointer: &str,
    raw: Option<&serde_json::Value>,
) -> Result<Option<String>, InputError> {
    use serde_json::Value;
    let text = match raw {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => match o.get("value") {
            Some(Value::String(s)) => Some(s.clone()),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(InputError::at(
                    format!("{pointer}/value"),
                    "the custom value must be a string",
                ))
            }
        },
        Some(_) => {
            return Err(InputError::at(
                pointer,
                "expected null, a string or an object",
            ))
        }
    };
    Ok(text.filter(|s| !s.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: Choice = Choice {
        api: "PingOne",
        options: &[
            (&["ACTIVE"], "ACTIVE"),
            (
                &["ACTIVATION REQUIRED", "ACTIVATION_REQUIRED"],
                "ACTIVATION_REQUIRED",
            ),
        ],
    };

    #[test]
    fn labels_and_api_values_resolve_in_any_case() {
        assert_eq!(
            STATUS.resolve("/s", "activation required").unwrap(),
            "ACTIVATION_REQUIRED"
        );
        assert_eq!(
            STATUS.resolve("/s", "Activation_Required").unwrap(),
            "ACTIVATION_REQUIRED"
        );
        assert_eq!(STATUS.resolve("/s", "active").unwrap(), "ACTIVE");
        let err = STATUS.resolve("/s", "paused").unwrap_err();
        assert_eq!(err.pointer, "/s");
        assert!(err.message.contains("ACTIVATION REQUIRED"));
    }

    #[test]
    fn toggles_accept_text_booleans() {
        assert!(toggle("/t", Some("TRUE")).unwrap());
        assert!(!toggle("/t", Some("False")).unwrap());
        assert!(!toggle("/t", None).unwrap());
        assert!(toggle("/t", Some("yes")).is_err());
    }

    #[test]
    fn custom_values_take_strings_and_value_members() {
        let obj = serde_json::json!({"value": "abc"});
        assert_eq!(
            custom_value("/c", Some(&obj)).unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(
            custom_value("/c", Some(&serde_json::json!(""))).unwrap(),
            None
        );
        assert!(custom_value("/c", Some(&serde_json::json!(3))).is_err());
    }
}
