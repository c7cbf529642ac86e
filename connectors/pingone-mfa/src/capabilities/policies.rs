//! Device authentication policies.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::choice;
use crate::error::{ConnectorError, InputError};
use crate::http::{ApiRequest, Method, API};
use crate::model::{envelope, DeviceAuthenticationPolicy};
use crate::pipeline::{whole, Capability, Ctx};

/// The drop-down label that means "the ID is in the custom field".
const ENTER_POLICY_ID: &str = "Enter Device Authentication Policy ID";

/// Input of Read Device Authentication Policy.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadPolicyInput {
    /// The policy ID, or "Enter Device Authentication Policy ID" to use the custom field.
    #[schemars(length(min = 0, max = 100))]
    pub device_authentication_policy_id: String,
    /// The policy ID typed by hand.
    #[serde(default)]
    #[schemars(schema_with = "choice::custom_value_schema")]
    pub custom_device_authentication_policy_id: Option<Value>,
}

envelope!(
    /// A policy with the `deviceAuthenticationPolicy` convenience field.
    PolicyOutput { raw: DeviceAuthenticationPolicy, deviceAuthenticationPolicy: DeviceAuthenticationPolicy }
);

/// Read Device Authentication Policy.
pub struct ReadDeviceAuthenticationPolicy;
impl Capability for ReadDeviceAuthenticationPolicy {
    const ID: &'static str = "readDeviceAuthenticationPolicy";
    const WIT: &'static str = "read-device-authentication-policy";
    const TITLE: &'static str = "Read Device Authentication Policy";
    const DESCRIPTION: &'static str = "Read PingOne MFA device authentication policies.";
    type Input = ReadPolicyInput;
    type Output = PolicyOutput;

    fn request(_: &Ctx, i: &ReadPolicyInput) -> Result<ApiRequest, ConnectorError> {
        let chosen = i.device_authentication_policy_id.trim();
        let id = if chosen.is_empty() || chosen.eq_ignore_ascii_case(ENTER_POLICY_ID) {
            choice::custom_value(
                "/customDeviceAuthenticationPolicyId",
                i.custom_device_authentication_policy_id.as_ref(),
            )?
            .ok_or_else(|| {
                InputError::at(
                    "/customDeviceAuthenticationPolicyId",
                    "enter the device authentication policy ID",
                )
            })?
        } else {
            chosen.to_owned()
        };
        Ok(ApiRequest::new(
            Method::Get,
            API,
            ["deviceAuthenticationPolicies".to_owned(), id],
        ))
    }

    fn convenience(
        _: &Ctx,
        _: &ReadPolicyInput,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(whole("deviceAuthenticationPolicy", raw))
    }
}
