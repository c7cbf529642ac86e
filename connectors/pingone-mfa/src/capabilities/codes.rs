//! Authentication codes: single-use codes (shown as QR codes) that a mobile
//! app claims to sign a user on.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{non_empty, variables};
use crate::choice::{self, Choice};
use crate::error::{ConnectorError, InputError};
use crate::http::{ApiRequest, Method, AUTH, JSON};
use crate::model::{envelope, Object};
use crate::pipeline::{whole, Capability, Ctx};

/// The OS of the device that claimed a code.
#[derive(JsonSchema)]
pub struct DeviceOs {
    pub version: Option<String>,
    #[serde(rename = "type")]
    pub os_type: Option<String>,
}

/// The model of the device that claimed a code.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceModel {
    pub name: Option<String>,
    pub marketing_name: Option<String>,
}

/// The app that claimed a code.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimingApplication {
    pub native_name: Option<String>,
    pub version: Option<String>,
}

/// The device that claimed a code.
#[derive(JsonSchema)]
pub struct ClaimingDevice {
    pub id: Option<String>,
    pub os: Option<DeviceOs>,
    pub model: Option<DeviceModel>,
    pub application: Option<ClaimingApplication>,
}

/// `_embedded` of a claimed code.
#[derive(JsonSchema)]
pub struct CodeEmbedded {
    pub device: Option<ClaimingDevice>,
}

/// A code's lifetime.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LifeTime {
    pub duration: Option<i64>,
    pub time_unit: Option<String>,
}

/// Why a code failed.
#[derive(JsonSchema)]
pub struct CodeError {
    pub code: Option<String>,
    pub message: Option<String>,
}

/// The user who claimed a code.
#[derive(JsonSchema)]
pub struct CodeUser {
    pub id: Option<String>,
}

/// An authentication code.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationCode {
    pub id: Option<String>,
    /// The code a user types, or the QR code's content.
    pub code: Option<String>,
    /// `pingonesdk?authentication_code=...`, for a QR code.
    pub uri: Option<String>,
    /// UNCLAIMED, CLAIMED, COMPLETED, DENIED or EXPIRED.
    pub status: Option<String>,
    pub user_approval: Option<String>,
    pub user: Option<CodeUser>,
    pub life_time: Option<LifeTime>,
    pub client_context: Option<Object>,
    pub _embedded: Option<CodeEmbedded>,
    pub error: Option<CodeError>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub expires_at: Option<String>,
}

envelope!(
    /// An authentication code with the `authenticationCode` convenience field.
    AuthenticationCodeOutput { raw: AuthenticationCode, authenticationCode: AuthenticationCode }
);

const TIME_UNIT: Choice = Choice {
    api: "PingOne",
    options: &[
        (&["SECONDS", "SECONDS (Default)"], "SECONDS"),
        (&["MINUTES"], "MINUTES"),
    ],
};

const USER_APPROVAL: Choice = Choice {
    api: "PingOne",
    options: &[
        (&["REQUIRED", "REQUIRED (Default)"], "REQUIRED"),
        (&["NOT_REQUIRED"], "NOT_REQUIRED"),
    ],
};

fn time_unit_schema(_: &mut SchemaGenerator) -> Schema {
    TIME_UNIT.schema("The units of the duration; SECONDS by default.")
}

fn user_approval_schema(_: &mut SchemaGenerator) -> Schema {
    USER_APPROVAL.schema("Whether the user approves the sign-on on the phone after scanning.")
}

/// The drop-down label meaning "the application ID is in the custom field".
const ENTER_APPLICATION: &str = "Enter Application ID";

/// Input of Create Authentication Code.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateCodeInput {
    /// Application ID: the only mobile app allowed to claim the code.
    #[schemars(length(min = 0, max = 100))]
    pub authenticating_application_id: String,
    /// Application ID typed by hand.
    #[serde(default)]
    #[schemars(schema_with = "choice::custom_value_schema")]
    pub custom_authenticating_application_id: Option<Value>,
    /// Duration in seconds (or minutes, see timeUnit): 10 seconds to 30 minutes.
    pub duration: String,
    /// SECONDS (default) or MINUTES.
    #[serde(default)]
    #[schemars(schema_with = "time_unit_schema")]
    pub time_unit: Option<String>,
    /// REQUIRED or NOT_REQUIRED.
    #[schemars(schema_with = "user_approval_schema")]
    pub user_approval: String,
    /// Mobile Client Context, as `[{"name": .., "value": ..}]`.
    pub client_context: Option<Vec<Object>>,
}

/// Create Authentication Code.
pub struct CreateAuthenticationCode;
impl Capability for CreateAuthenticationCode {
    const ID: &'static str = "createAuthenticationCode";
    const WIT: &'static str = "create-authentication-code";
    const TITLE: &'static str = "Create Authentication Code";
    const DESCRIPTION: &'static str = "Create a single-use code to authenticate a user during sign-on using a mobile application. You can embed this code in a scannable QR code, or require that the user manually enter it to sign on.";
    type Input = CreateCodeInput;
    type Output = AuthenticationCodeOutput;

    fn request(_: &Ctx, i: &CreateCodeInput) -> Result<ApiRequest, ConnectorError> {
        let application = match i.authenticating_application_id.trim() {
            "" => None,
            a if a.eq_ignore_ascii_case(ENTER_APPLICATION) => None,
            a => Some(a.to_owned()),
        };
        let application = match application {
            Some(a) => a,
            None => choice::custom_value(
                "/customAuthenticatingApplicationId",
                i.custom_authenticating_application_id.as_ref(),
            )?
            .ok_or_else(|| {
                InputError::at(
                    "/customAuthenticatingApplicationId",
                    "enter the application ID",
                )
            })?,
        };
        let unit = match non_empty(&i.time_unit) {
            Some(u) => TIME_UNIT.resolve("/timeUnit", u)?,
            None => "SECONDS",
        };
        let duration: u64 = i.duration.trim().parse().map_err(|_| {
            InputError::at(
                "/duration",
                format!("'{}' is not a whole number", i.duration),
            )
        })?;
        let seconds = if unit == "MINUTES" {
            duration.saturating_mul(60)
        } else {
            duration
        };
        if !(10..=1800).contains(&seconds) {
            return Err(InputError::at(
                "/duration",
                "the code must live between 10 seconds and 30 minutes",
            )
            .into());
        }
        let body = json!({
            "application": { "id": application },
            "lifeTime": { "duration": duration, "timeUnit": unit },
            "userApproval": USER_APPROVAL.resolve("/userApproval", &i.user_approval)?,
            "clientContext": variables("/clientContext", &i.client_context)?,
        });
        Ok(ApiRequest::new(Method::Post, AUTH, ["authenticationCodes"])
            .with_body(JSON, super::compact(body)))
    }

    fn convenience(
        _: &Ctx,
        _: &CreateCodeInput,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(whole("authenticationCode", raw))
    }
}

/// An existing authentication code.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CodeRef {
    /// Authentication Code ID
    #[schemars(length(min = 0, max = 100))]
    pub authentication_code_id: String,
}

/// Read Authentication Code.
pub struct ReadAuthenticationCode;
impl Capability for ReadAuthenticationCode {
    const ID: &'static str = "readAuthenticationCode";
    const WIT: &'static str = "read-authentication-code";
    const TITLE: &'static str = "Read Authentication Code";
    const DESCRIPTION: &'static str = "Read the authentication code.";
    type Input = CodeRef;
    type Output = AuthenticationCodeOutput;

    fn request(_: &Ctx, i: &CodeRef) -> Result<ApiRequest, ConnectorError> {
        Ok(ApiRequest::new(
            Method::Get,
            AUTH,
            ["authenticationCodes", i.authentication_code_id.as_str()],
        ))
    }

    fn convenience(
        _: &Ctx,
        _: &CodeRef,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(whole("authenticationCode", raw))
    }
}
