//! A user's MFA switch.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::ConnectorError;
use crate::http::{ApiRequest, Method, API, JSON};
use crate::model::{envelope, Object};
use crate::pipeline::{field, Capability, Ctx};

/// A user.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
}

/// Input of Update MFA Status.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateMfaInput {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// MFA Enable Status Of User
    pub mfa_enabled: bool,
}

envelope!(
    /// The user's MFA status.
    MfaEnabledOutput { raw: Object, mfaEnabled: bool }
);

fn mfa_enabled(raw: &Value) -> Map<String, Value> {
    field("mfaEnabled", raw, "/mfaEnabled")
}

/// Read MFA Status.
pub struct ReadUserMfaEnabled;
impl Capability for ReadUserMfaEnabled {
    const ID: &'static str = "readUserMFAEnabled";
    const WIT: &'static str = "read-user-mfa-enabled";
    const TITLE: &'static str = "Read MFA Status";
    const DESCRIPTION: &'static str = "Indicates whether MFA is enabled for the user.";
    type Input = UserRef;
    type Output = MfaEnabledOutput;

    fn request(_: &Ctx, i: &UserRef) -> Result<ApiRequest, ConnectorError> {
        Ok(ApiRequest::new(
            Method::Get,
            API,
            ["users", &i.user_id, "mfaEnabled"],
        ))
    }

    fn convenience(
        _: &Ctx,
        _: &UserRef,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(mfa_enabled(raw))
    }
}

/// Update MFA Status.
pub struct UpdateUserMfaEnabled;
impl Capability for UpdateUserMfaEnabled {
    const ID: &'static str = "updateUserMFAEnabled";
    const WIT: &'static str = "update-user-mfa-enabled";
    const TITLE: &'static str = "Update MFA Status";
    const DESCRIPTION: &'static str = "Enables or disables MFA for the user.";
    type Input = UpdateMfaInput;
    type Output = MfaEnabledOutput;

    fn request(_: &Ctx, i: &UpdateMfaInput) -> Result<ApiRequest, ConnectorError> {
        Ok(
            ApiRequest::new(Method::Put, API, ["users", &i.user_id, "mfaEnabled"])
                .with_body(JSON, json!({ "mfaEnabled": i.mfa_enabled })),
        )
    }

    fn convenience(
        _: &Ctx,
        _: &UpdateMfaInput,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(mfa_enabled(raw))
    }
}
