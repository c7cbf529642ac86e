//! Device authentications (on the auth host): create, read, select a
//! device, check an OTP, check a FIDO2 assertion, cancel; and the workforce
//! (PingID) variant of create.

use base64::Engine as _;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{compact, non_empty, required, variables, NotificationInput};
use crate::choice::{self, Choice};
use crate::error::{ConnectorError, InputError};
use crate::http::{ApiRequest, Method, AUTH, JSON, KEY_POLICY_ID};
use crate::model::{envelope, Device, Object, TestData};
use crate::pipeline::{Capability, Ctx};

/// Media type of "select device".
pub const SELECT: &str = "application/vnd.pingidentity.device.select+json";
/// Media type of "check OTP".
pub const OTP_CHECK: &str = "application/vnd.pingidentity.otp.check+json";
/// Media type of "check assertion".
pub const ASSERTION_CHECK: &str = "application/vnd.pingidentity.assertion.check+json";
/// Media type of "cancel". Not `authentication.cancel+json`: see the reference §3.16.
pub const CANCEL: &str = "application/vnd.pingidentity.cancel.push.authentication+json";

/// A reference to a user, environment, policy, device or application.
#[derive(JsonSchema)]
pub struct IdRef {
    pub id: Option<String>,
}

/// `_embedded` of a device authentication: the user's devices, masked.
#[derive(JsonSchema)]
pub struct AuthenticationEmbedded {
    pub devices: Option<Vec<Device>>,
}

/// A device authentication.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAuthentication {
    pub id: Option<String>,
    pub user: Option<IdRef>,
    pub environment: Option<IdRef>,
    pub policy: Option<IdRef>,
    pub selected_device: Option<IdRef>,
    pub application: Option<IdRef>,
    /// DEVICE_SELECTION_REQUIRED, OTP_REQUIRED, ASSERTION_REQUIRED,
    /// PUSH_CONFIRMATION_REQUIRED, PUSH_CONFIRMATION_TIMED_OUT, COMPLETED or FAILED.
    pub status: Option<String>,
    pub authenticators: Option<Vec<String>>,
    /// A JSON serialization of the options for `navigator.credentials.get`.
    pub public_key_credential_request_options: Option<String>,
    pub _links: Option<Object>,
    pub _embedded: Option<AuthenticationEmbedded>,
}

/// A new device authentication: test-mode OTP included.
#[derive(JsonSchema)]
pub struct CreatedAuthentication {
    #[serde(flatten)]
    pub authentication: DeviceAuthentication,
    pub test: Option<TestData>,
}

envelope!(
    /// A device authentication in the envelope.
    AuthenticationOutput { raw: DeviceAuthentication }
);
envelope!(
    /// A new device authentication in the envelope.
    CreatedAuthenticationOutput { raw: CreatedAuthentication }
);

/// "Device Details" drop-down: a paired device or a one-time device.
const DEVICE_DETAILS: Choice = Choice {
    api: "PingOne",
    options: &[
        (&["ID", "DEVICE_ID"], "ID"),
        (
            &["One-Time Device", "ONE_TIME", "ONE_TIME_DEVICE"],
            "ONE_TIME",
        ),
    ],
};

/// One-time device types.
const ONE_TIME_TYPE: Choice = Choice {
    api: "PingOne",
    options: &[
        (&["SMS"], "SMS"),
        (&["Voice"], "VOICE"),
        (&["Email"], "EMAIL"),
    ],
};

/// "Notification Type" drop-down → PingOne notification template names.
const TEMPLATE: Choice = Choice {
    api: "PingOne",
    options: &[
        (
            &["Strong Authentication", "STRONG_AUTHENTICATION"],
            "strong_authentication",
        ),
        (&["Transaction", "TRANSACTION"], "transaction"),
    ],
};

/// WebAuthn compatibility.
const COMPATIBILITY: Choice = Choice {
    api: "PingOne",
    options: &[
        (&["FULL"], "FULL"),
        (&["SECURITY_KEY_ONLY"], "SECURITY_KEY_ONLY"),
        (&["NONE"], "NONE"),
    ],
};

fn nullable(schema: Schema) -> Schema {
    let mut value = schema.to_value();
    value["type"] = json!(["null", "string"]);
    Schema::try_from(value).expect("an object is a schema")
}

fn template_schema(_: &mut SchemaGenerator) -> Schema {
    nullable(
        TEMPLATE.schema("Whether the notification is for strong authentication or a transaction."),
    )
}
fn device_details_schema(_: &mut SchemaGenerator) -> Schema {
    nullable(DEVICE_DETAILS.schema("Use a paired device (ID) or a one-time device."))
}
fn one_time_type_schema(_: &mut SchemaGenerator) -> Schema {
    nullable(ONE_TIME_TYPE.schema("The one-time device type."))
}
fn compatibility_schema(_: &mut SchemaGenerator) -> Schema {
    nullable(COMPATIBILITY.schema("WebAuthn Compatibility: which FIDO authenticators may be used."))
}

/// The drop-down label meaning "the application ID is in the custom field".
const ENTER_APPLICATION: &str = "Enter Application ID";

/// The inputs both create variants share: who, which device, how.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationCommon {
    /// The unique identifier for the user (ignored when usernameLess is true).
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// Strong Authentication or Transaction.
    #[serde(default)]
    #[schemars(schema_with = "template_schema")]
    pub auth_template_name: Option<String>,
    /// User Agent
    pub user_agent: Option<String>,
    /// Relying Party ID
    pub rp_id: Option<String>,
    /// Relying Party ID
    #[serde(rename = "deviceAuthenRpId")]
    pub device_authen_rp_id: Option<String>,
    /// Create Test Device
    #[serde(default)]
    #[schemars(schema_with = "choice::toggle_schema")]
    pub create_device_test_mode: Option<String>,
    /// Create Test Device
    #[serde(default)]
    #[schemars(schema_with = "choice::toggle_schema")]
    pub one_time_device_test_mode: Option<String>,
    /// User ID Not Required
    pub username_less: Option<bool>,
    /// "ID" or "One-Time Device".
    #[serde(default)]
    #[schemars(schema_with = "device_details_schema")]
    pub selected_device: Option<String>,
    /// The selected device ID.
    #[serde(default)]
    #[schemars(schema_with = "choice::nullable_string_schema")]
    pub selected_device_id: Option<String>,
    /// The one-time device type: SMS, Voice or Email.
    #[serde(default)]
    #[schemars(schema_with = "one_time_type_schema")]
    pub one_time_device_type: Option<String>,
    /// Phone of a one-time SMS device.
    #[serde(default)]
    #[schemars(schema_with = "choice::nullable_string_schema")]
    pub one_time_sms_device: Option<String>,
    /// Phone of a one-time voice device.
    #[serde(default)]
    #[schemars(schema_with = "choice::nullable_string_schema")]
    pub one_time_voice_device: Option<String>,
    /// Email of a one-time email device.
    #[serde(default)]
    #[schemars(schema_with = "choice::nullable_string_schema")]
    pub one_time_email_device: Option<String>,
    /// Passcode
    pub otp: Option<String>,
}

/// Input of Create Device Authentication.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateAuthenticationInput {
    #[serde(flatten)]
    pub common: AuthenticationCommon,
    /// The ID of your PingOne MFA device authentication policy.
    #[schemars(length(min = 0, max = 100))]
    pub mfa_policy_id: Option<String>,
    /// Custom authentication notification.
    #[serde(flatten)]
    pub notification: NotificationInput,
    /// Mobile Payload
    #[serde(default)]
    #[schemars(schema_with = "choice::nullable_string_schema")]
    pub mobile_payload: Option<String>,
    /// Application ID, or "Enter Application ID".
    #[schemars(length(min = 0, max = 100))]
    pub application_id: Option<String>,
    /// Application ID typed by hand.
    #[serde(default)]
    #[schemars(schema_with = "choice::custom_value_schema")]
    pub custom_application_id: Option<Value>,
    /// Mobile Client Context, as `[{"name": .., "value": ..}]`.
    pub client_context: Option<Vec<Object>>,
    /// Custom FIDO2 Challenge: base64url, at least 32 bytes decoded.
    pub challenge: Option<String>,
}

/// Input of Create Device Authentication (PingID).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateAuthenticationPingIdInput {
    #[serde(flatten)]
    pub common: AuthenticationCommon,
    /// The ID of the PingID policy evaluation (sent as the authentication's policy).
    #[schemars(length(min = 0, max = 100))]
    pub workforce_policy_mfa_policy_id: Option<String>,
    /// FIDO Compatibility: FULL, SECURITY_KEY_ONLY or NONE.
    #[serde(default)]
    #[schemars(schema_with = "compatibility_schema")]
    pub fido_compatibility: Option<String>,
    /// WebAuthn Compatibility
    #[serde(default)]
    #[schemars(schema_with = "compatibility_schema")]
    pub compatibility: Option<String>,
}

impl AuthenticationCommon {
    /// The body members both variants send: user, policy, selected device,
    /// template name, RP ID, user agent and an up-front OTP.
    fn body(&self, ctx: &Ctx, policy_id: &Option<String>) -> Result<Value, InputError> {
        let user = if self.username_less == Some(true) {
            Value::Null
        } else {
            let id = self.user_id.trim();
            if id.is_empty() {
                return Err(InputError::at(
                    "/userId",
                    "a user ID is required unless usernameLess is true",
                ));
            }
            json!({ "id": id })
        };
        choice::toggle(
            "/createDeviceTestMode",
            self.create_device_test_mode.as_deref(),
        )?;
        let policy = non_empty(policy_id)
            .or(Some(ctx.settings.get(KEY_POLICY_ID)).filter(|p| !p.is_empty()));
        let rp_id = non_empty(&self.device_authen_rp_id).or(non_empty(&self.rp_id));
        Ok(json!({
            "user": user,
            "policy": policy.map(|id| json!({ "id": id })),
            "selectedDevice": self.selected_device()?,
            "notification": { "template": { "name": template_name(&self.auth_template_name)? } },
            "rp": rp_id.map(|id| json!({ "id": id })),
            "userAgent": non_empty(&self.user_agent),
            "otp": non_empty(&self.otp),
        }))
    }

    fn selected_device(&self) -> Result<Value, InputError> {
        let details = match non_empty(&self.selected_device) {
            Some(d) => Some(DEVICE_DETAILS.resolve("/selectedDevice", d)?),
            None if non_empty(&self.selected_device_id).is_some() => Some("ID"),
            None => None,
        };
        Ok(match details {
            None => Value::Null,
            Some("ID") => json!({ "id": required("/selectedDeviceId", &self.selected_device_id)? }),
            Some(_) => {
                let kind = ONE_TIME_TYPE.resolve(
                    "/oneTimeDeviceType",
                    required("/oneTimeDeviceType", &self.one_time_device_type)?,
                )?;
                let mut one_time = json!({ "type": kind });
                match kind {
                    "SMS" => {
                        one_time["phone"] =
                            json!(required("/oneTimeSmsDevice", &self.one_time_sms_device)?)
                    }
                    "VOICE" => {
                        one_time["phone"] = json!(required(
                            "/oneTimeVoiceDevice",
                            &self.one_time_voice_device
                        )?)
                    }
                    _ => {
                        one_time["email"] = json!(required(
                            "/oneTimeEmailDevice",
                            &self.one_time_email_device
                        )?)
                    }
                }
                // Test mode for a one-time device travels with it (inferred; see ARCHITECTURE.md).
                if choice::toggle(
                    "/oneTimeDeviceTestMode",
                    self.one_time_device_test_mode.as_deref(),
                )? {
                    one_time["testMode"] = json!(true);
                }
                json!({ "oneTime": one_time })
            }
        })
    }
}

/// Deep-merges the members of `extra` into `body`; `null` members of
/// `extra` leave `body` as it is.
fn merge(body: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (body.as_object_mut(), extra) {
        for (key, value) in extra {
            match (target.get_mut(&key), value) {
                (_, Value::Null) => {}
                (Some(existing @ Value::Object(_)), value @ Value::Object(_)) => {
                    merge(existing, value)
                }
                (_, value) => {
                    target.insert(key, value);
                }
            }
        }
    }
}

fn template_name(raw: &Option<String>) -> Result<Option<&'static str>, InputError> {
    non_empty(raw)
        .map(|t| TEMPLATE.resolve("/authTemplateName", t))
        .transpose()
}

/// Checks a custom FIDO2 challenge: base64url that decodes to at least 32 bytes.
fn checked_challenge(raw: &Option<String>) -> Result<Option<&str>, InputError> {
    let Some(challenge) = non_empty(raw) else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(challenge.trim_end_matches('='))
        .map_err(|_| {
            InputError::at("/challenge", "the custom FIDO2 challenge must be base64url")
        })?;
    if decoded.len() < 32 {
        return Err(InputError::at(
            "/challenge",
            format!(
                "the custom FIDO2 challenge decodes to {} bytes; at least 32 are required",
                decoded.len()
            ),
        ));
    }
    Ok(Some(challenge))
}

fn create_request(body: Value) -> ApiRequest {
    ApiRequest::new(Method::Post, AUTH, ["deviceAuthentications"]).with_body(JSON, compact(body))
}

/// Create Device Authentication.
pub struct CreateDeviceAuthentication;
impl Capability for CreateDeviceAuthentication {
    const ID: &'static str = "createDeviceAuthentication";
    const WIT: &'static str = "create-device-authentication";
    const TITLE: &'static str = "Create Device Authentication";
    const DESCRIPTION: &'static str =
        "Create authentication experiences with virtual or physical devices.";
    type Input = CreateAuthenticationInput;
    type Output = CreatedAuthenticationOutput;

    fn request(ctx: &Ctx, i: &CreateAuthenticationInput) -> Result<ApiRequest, ConnectorError> {
        let mut body = i.common.body(ctx, &i.mfa_policy_id)?;
        let application = match non_empty(&i.application_id) {
            Some(a) if !a.eq_ignore_ascii_case(ENTER_APPLICATION) => Some(a.to_owned()),
            _ => choice::custom_value("/customApplicationId", i.custom_application_id.as_ref())?,
        };
        merge(
            &mut body,
            json!({
                "notification": i.notification.resolve()?,
                "application": application.map(|id| json!({ "id": id })),
                "mobilePayload": non_empty(&i.mobile_payload),
                "clientContext": variables("/clientContext", &i.client_context)?,
                "challenge": checked_challenge(&i.challenge)?,
            }),
        );
        Ok(create_request(body))
    }
}

/// Create Device Authentication (PingID).
pub struct CreateDeviceAuthenticationPingId;
impl Capability for CreateDeviceAuthenticationPingId {
    const ID: &'static str = "createDeviceAuthenticationPingID";
    const WIT: &'static str = "create-device-authentication-ping-id";
    const TITLE: &'static str = "Create Device Authentication";
    const DESCRIPTION: &'static str =
        "Create authentication experiences with virtual or physical devices (PingID workforce).";
    type Input = CreateAuthenticationPingIdInput;
    type Output = CreatedAuthenticationOutput;

    fn request(
        ctx: &Ctx,
        i: &CreateAuthenticationPingIdInput,
    ) -> Result<ApiRequest, ConnectorError> {
        // How PingID sends the policy evaluation is unverified: as the
        // authentication's policy, like the CIAM variant (ARCHITECTURE.md).
        let mut body = i.common.body(ctx, &i.workforce_policy_mfa_policy_id)?;
        let compatibility = match non_empty(&i.fido_compatibility) {
            Some(c) => Some(COMPATIBILITY.resolve("/fidoCompatibility", c)?),
            None => non_empty(&i.compatibility)
                .map(|c| COMPATIBILITY.resolve("/compatibility", c))
                .transpose()?,
        };
        merge(&mut body, json!({ "compatibility": compatibility }));
        Ok(create_request(body))
    }
}

/// An existing device authentication.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationRef {
    /// Device Authentication ID
    #[schemars(length(min = 0, max = 100))]
    pub device_authentication_id: String,
}

fn authentication_path(id: &str) -> [&str; 2] {
    ["deviceAuthentications", id]
}

/// Read Device Authentication.
pub struct ReadDeviceAuthentication;
impl Capability for ReadDeviceAuthentication {
    const ID: &'static str = "readDeviceAuthentication";
    const WIT: &'static str = "read-device-authentication";
    const TITLE: &'static str = "Read Device Authentication";
    const DESCRIPTION: &'static str = "Read device authentication information.";
    type Input = AuthenticationRef;
    type Output = AuthenticationOutput;

    fn request(_: &Ctx, i: &AuthenticationRef) -> Result<ApiRequest, ConnectorError> {
        Ok(ApiRequest::new(
            Method::Get,
            AUTH,
            authentication_path(&i.device_authentication_id),
        ))
    }
}

/// Input of Device Selection.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelectDeviceInput {
    /// The unique identifier for the MFA device.
    #[schemars(length(min = 0, max = 100))]
    pub device_id: String,
    /// Device Authentication ID
    #[schemars(length(min = 0, max = 100))]
    pub device_authentication_id: String,
    /// WebAuthn Compatibility
    #[serde(default)]
    #[schemars(schema_with = "compatibility_schema")]
    pub compatibility: Option<String>,
}

/// Device Selection.
pub struct DeviceSelectDeviceAuthentication;
impl Capability for DeviceSelectDeviceAuthentication {
    const ID: &'static str = "deviceSelectDeviceAuthentication";
    const WIT: &'static str = "device-select-device-authentication";
    const TITLE: &'static str = "Device Selection";
    const DESCRIPTION: &'static str =
        "Enables users to choose the way they authenticate if more than one option is available.";
    type Input = SelectDeviceInput;
    type Output = AuthenticationOutput;

    fn request(_: &Ctx, i: &SelectDeviceInput) -> Result<ApiRequest, ConnectorError> {
        let compatibility = non_empty(&i.compatibility)
            .map(|c| COMPATIBILITY.resolve("/compatibility", c))
            .transpose()?;
        let body =
            compact(json!({ "device": { "id": i.device_id }, "compatibility": compatibility }));
        Ok(ApiRequest::new(
            Method::Post,
            AUTH,
            authentication_path(&i.device_authentication_id),
        )
        .with_body(SELECT, body))
    }
}

/// Input of Device Passcode.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtpCheckInput {
    /// Passcode
    pub otp: String,
    /// Device Authentication ID
    #[schemars(length(min = 0, max = 100))]
    pub device_authentication_id: String,
}

/// Device Passcode.
pub struct ValidateOtpDeviceAuthentication;
impl Capability for ValidateOtpDeviceAuthentication {
    const ID: &'static str = "validateOtpDeviceAuthentication";
    const WIT: &'static str = "validate-otp-device-authentication";
    const TITLE: &'static str = "Device Passcode";
    const DESCRIPTION: &'static str = "Ensures that device one-time passcodes (OTPs) are valid.";
    type Input = OtpCheckInput;
    type Output = AuthenticationOutput;

    fn request(_: &Ctx, i: &OtpCheckInput) -> Result<ApiRequest, ConnectorError> {
        let otp = i.otp.trim();
        if otp.is_empty() {
            return Err(InputError::at("/otp", "the passcode is empty").into());
        }
        Ok(ApiRequest::new(
            Method::Post,
            AUTH,
            authentication_path(&i.device_authentication_id),
        )
        .with_body(OTP_CHECK, json!({ "otp": otp })))
    }
}

/// Input of FIDO Assertion.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssertionCheckInput {
    /// WebAuthn assertion
    pub assertion: String,
    /// Origin
    pub origin: String,
    /// Device Authentication ID
    #[schemars(length(min = 0, max = 100))]
    pub device_authentication_id: String,
}

/// FIDO Assertion.
pub struct ValidateAssertionDeviceAuthentication;
impl Capability for ValidateAssertionDeviceAuthentication {
    const ID: &'static str = "validateAssertionDeviceAuthentication";
    const WIT: &'static str = "validate-assertion-device-authentication";
    const TITLE: &'static str = "FIDO Assertion";
    const DESCRIPTION: &'static str =
        "Ensures that assertions provided to authenticate devices are valid.";
    type Input = AssertionCheckInput;
    type Output = AuthenticationOutput;

    fn request(_: &Ctx, i: &AssertionCheckInput) -> Result<ApiRequest, ConnectorError> {
        if serde_json::from_str::<serde_json::Map<String, Value>>(&i.assertion).is_err() {
            return Err(InputError::at(
                "/assertion",
                "the assertion must be the JSON text of a PublicKeyCredential",
            )
            .into());
        }
        let origin = i.origin.trim();
        if !(origin.starts_with("https://") || origin.starts_with("http://")) {
            return Err(InputError::at(
                "/origin",
                "the origin must be an http(s) URL such as https://app.example.com",
            )
            .into());
        }
        Ok(ApiRequest::new(
            Method::Post,
            AUTH,
            authentication_path(&i.device_authentication_id),
        )
        .with_body(
            ASSERTION_CHECK,
            json!({ "assertion": i.assertion, "origin": origin }),
        ))
    }
}

/// Input of Cancel Device Authentication.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelInput {
    /// Reason: SIGNOUT, CHANGE_DEVICE, ADD_DEVICE; anything else is sent as DEFAULT.
    pub reason: Option<String>,
    /// Device Authentication ID
    #[schemars(length(min = 0, max = 100))]
    pub device_authentication_id: String,
}

/// Cancel Device Authentication.
pub struct CancelDeviceAuthentication;
impl Capability for CancelDeviceAuthentication {
    const ID: &'static str = "cancelDeviceAuthenticationPingID";
    const WIT: &'static str = "cancel-device-authentication-ping-id";
    const TITLE: &'static str = "Cancel Device Authentication";
    const DESCRIPTION: &'static str = "Cancel the authentication process for a specific device.";
    type Input = CancelInput;
    type Output = AuthenticationOutput;

    fn request(_: &Ctx, i: &CancelInput) -> Result<ApiRequest, ConnectorError> {
        let reason = match non_empty(&i.reason).map(str::to_ascii_uppercase).as_deref() {
            Some(r @ ("SIGNOUT" | "CHANGE_DEVICE" | "ADD_DEVICE")) => r.to_owned(),
            _ => "DEFAULT".to_owned(),
        };
        Ok(ApiRequest::new(
            Method::Post,
            AUTH,
            authentication_path(&i.device_authentication_id),
        )
        .with_body(CANCEL, json!({ "reason": reason })))
    }
}
