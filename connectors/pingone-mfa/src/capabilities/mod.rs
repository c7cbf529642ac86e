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

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::choice::{self, Choice};
use crate::error::InputError;
use crate::model::Object;

/// Device types of the PingOne MFA (CIAM) drop-downs.
pub const DEVICE_TYPE: Choice = Choice {
    api: "PingOne",
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
    api: "PingOne",
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

/// Sentinel label of the "Notification Policy" drop-down: the ID is typed
/// in `customNotificationPolicyId`.
const ENTER_POLICY: &str = "Enter Notification Policy ID";
/// Sentinel label of the "Notification Name" drop-down: the variant is
/// typed in `customTemplateVariant`.
const ENTER_CUSTOM: &str = "Enter Custom Value";

/// The notification inputs Create Device and Create Device Authentication
/// share (custom pairing and authentication notifications).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationInput {
    /// The notification policy ID, or "Enter Notification Policy ID".
    #[schemars(length(min = 0, max = 100))]
    pub notification_policy_id: Option<String>,
    /// The notification policy ID typed by hand.
    #[serde(default)]
    #[schemars(schema_with = "choice::custom_value_schema")]
    pub custom_notification_policy_id: Option<Value>,
    /// The notification template variant, or "Enter Custom Value".
    #[serde(default)]
    #[schemars(schema_with = "choice::nullable_string_schema")]
    pub template_variant: Option<String>,
    /// The template variant typed by hand.
    #[serde(default)]
    #[schemars(schema_with = "choice::custom_value_schema")]
    pub custom_template_variant: Option<Value>,
    /// The notification locale (ISO language code).
    #[serde(default)]
    #[schemars(schema_with = "choice::nullable_string_schema")]
    pub template_locale: Option<String>,
    /// Notification variables as `[{"name": .., "value": ..}]`.
    pub template_variables: Option<Vec<Object>>,
}

impl NotificationInput {
    /// PingOne's `notification` object `{policy{id}, template{variant, locale,
    /// variables}}`, or `None` when nothing was given.
    pub fn resolve(&self) -> Result<Option<Value>, InputError> {
        let policy = match non_empty(&self.notification_policy_id) {
            Some(p) if p.eq_ignore_ascii_case(ENTER_POLICY) => choice::custom_value(
                "/customNotificationPolicyId",
                self.custom_notification_policy_id.as_ref(),
            )?,
            other => other.map(str::to_owned),
        };
        let variant = match non_empty(&self.template_variant) {
            Some(v) if v.eq_ignore_ascii_case(ENTER_CUSTOM) => choice::custom_value(
                "/customTemplateVariant",
                self.custom_template_variant.as_ref(),
            )?,
            other => other.map(str::to_owned),
        };
        let notification = compact(json!({
            "policy": policy.map(|id| json!({ "id": id })),
            "template": {
                "variant": variant,
                "locale": non_empty(&self.template_locale),
                "variables": variables("/templateVariables", &self.template_variables)?,
            },
        }));
        Ok((notification != json!({})).then_some(notification))
    }
}
