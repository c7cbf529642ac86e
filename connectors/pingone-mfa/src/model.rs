//! PingOne objects as the seed's output schemas describe them.
//!
//! These types exist for their JSON Schema: the connector passes PingOne's
//! answer through untouched (unknown fields included), and the host checks
//! it against these schemas. Every field is optional because PingOne omits
//! what does not apply (an SMS device has no `secret`).

#![allow(dead_code)]

use schemars::JsonSchema;
use serde_json::{Map, Value};

/// A JSON object with any members (HAL `_links`, headers, client context).
pub type Object = Map<String, Value>;

/// A relying party of a FIDO2 device.
#[derive(JsonSchema)]
pub struct RelyingParty {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// FIDO2 device attributes.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAttributes {
    pub previous_device_type: Option<String>,
    pub is_cross_platform: Option<bool>,
}

/// An MFA device.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub device_type: Option<String>,
    pub status: Option<String>,
    pub nickname: Option<String>,
    pub phone: Option<String>,
    pub extension: Option<String>,
    pub email: Option<String>,
    pub secret: Option<String>,
    pub key_uri: Option<String>,
    pub oath_token: Option<String>,
    pub serial_number: Option<String>,
    pub rp: Option<RelyingParty>,
    pub platform: Option<String>,
    /// A JSON serialization of the options for `navigator.credentials.create`.
    pub public_key_credential_creation_options: Option<String>,
    pub attributes: Option<DeviceAttributes>,
    pub display_name: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// Test-mode data returned with a device or an authentication.
#[derive(JsonSchema)]
pub struct TestData {
    /// The OTP PingOne would have sent.
    pub otp: Option<String>,
}

/// A device as returned on creation: test-mode devices carry their OTP.
#[derive(JsonSchema)]
pub struct CreatedDevice {
    #[serde(flatten)]
    pub device: Device,
    pub test: Option<TestData>,
}

/// One entry of a device order.
#[derive(JsonSchema)]
pub struct OrderEntry {
    pub id: Option<String>,
}

/// The environment an MFA settings object belongs to.
#[derive(JsonSchema)]
pub struct EnvironmentRef {
    pub id: Option<String>,
}

/// Pairing limits of the environment.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pairing {
    pub max_allowed_devices: Option<i64>,
}

/// The environment's MFA settings, as far as device lists use them.
#[derive(JsonSchema)]
pub struct MfaSettings {
    pub environment: Option<EnvironmentRef>,
    pub pairing: Option<Pairing>,
}

/// How a policy picks the device to authenticate with.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAuthentication {
    pub device_selection: Option<String>,
}

/// The device authentication policy, as far as device lists use it.
#[derive(JsonSchema)]
pub struct MfaPolicy {
    pub authentication: Option<PolicyAuthentication>,
}

/// The `_embedded` member of a device list.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceListEmbedded {
    pub devices: Option<Vec<Device>>,
    pub applications: Option<Vec<Object>>,
    pub allowedtypes: Option<Vec<String>>,
    pub order: Option<Vec<OrderEntry>>,
    pub mfa_settings: Option<MfaSettings>,
    pub mfa_policy: Option<MfaPolicy>,
}

/// A device list (HAL collection).
#[derive(JsonSchema)]
pub struct DeviceList {
    pub _embedded: Option<DeviceListEmbedded>,
    pub size: Option<f64>,
}

/// A duration with its unit (`SECONDS`, `MINUTES`).
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Duration {
    pub duration: Option<i64>,
    pub time_unit: Option<String>,
}

/// How many wrong OTPs lock a device, and for how long.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtpFailure {
    pub count: Option<i64>,
    pub cool_down: Option<Duration>,
}

/// OTP rules of an OTP-delivering method.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveredOtp {
    pub failure: Option<OtpFailure>,
    pub life_time: Option<Duration>,
}

/// SMS, voice or email settings of a policy.
#[derive(JsonSchema)]
pub struct DeliveredMethod {
    pub enabled: Option<bool>,
    pub otp: Option<DeliveredOtp>,
}

/// The TOTP window of mobile OTPs.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtpWindow {
    pub step_size: Option<Duration>,
}

/// Mobile OTP rules.
#[derive(JsonSchema)]
pub struct MobileOtp {
    pub failure: Option<OtpFailure>,
    pub window: Option<OtpWindow>,
}

/// Mobile settings of a policy.
#[derive(JsonSchema)]
pub struct MobileMethod {
    pub enabled: Option<bool>,
    pub otp: Option<MobileOtp>,
}

/// TOTP OTP rules.
#[derive(JsonSchema)]
pub struct TotpOtp {
    pub failure: Option<OtpFailure>,
}

/// TOTP settings of a policy.
#[derive(JsonSchema)]
pub struct TotpMethod {
    pub enabled: Option<bool>,
    pub otp: Option<TotpOtp>,
}

/// A method that is only on or off.
#[derive(JsonSchema)]
pub struct Toggle {
    pub enabled: Option<bool>,
}

/// A device authentication policy.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAuthenticationPolicy {
    pub id: Option<String>,
    pub name: Option<String>,
    pub for_sign_on_policy: Option<bool>,
    pub default: Option<bool>,
    pub sms: Option<DeliveredMethod>,
    pub email: Option<DeliveredMethod>,
    pub voice: Option<DeliveredMethod>,
    pub mobile: Option<MobileMethod>,
    pub totp: Option<TotpMethod>,
    pub platform: Option<Toggle>,
    pub security_key: Option<Toggle>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// Declares an output envelope: `rawResponse`, `headers`, `statusCode` and
/// the capability's convenience fields.
macro_rules! envelope {
    ($(#[$doc:meta])* $name:ident { raw: $raw:ty $(, $field:ident : $ty:ty)* $(,)? }) => {
        $(#[$doc])*
        #[derive(schemars::JsonSchema)]
        #[allow(non_snake_case, dead_code)]
        pub struct $name {
            /// PingOne's answer, untouched.
            pub rawResponse: $raw,
            /// PingOne's response headers.
            pub headers: $crate::model::Object,
            /// PingOne's HTTP status.
            pub statusCode: i64,
            $(pub $field: Option<$ty>,)*
        }
    };
}
pub(crate) use envelope;
