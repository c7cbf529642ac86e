//! Device management: read, list, create, activate, delete, resend the
//! pairing OTP, rename, and order.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{compact, non_empty, required, NotificationInput, DEVICE_STATUS, DEVICE_TYPE};
use crate::choice::{self, Choice};
use crate::error::{ConnectorError, InputError};
use crate::http::{ApiRequest, Method, API, JSON, KEY_POLICY_ID};
use crate::model::{
    envelope, CreatedDevice, Device, DeviceList, MfaPolicy, MfaSettings, Object, OrderEntry,
};
use crate::pipeline::{field, whole, Capability, Ctx};

/// Media type of "activate device".
pub const ACTIVATE: &str = "application/vnd.pingidentity.device.activate+json";
/// Media type of "resend pairing OTP".
pub const SEND_ACTIVATION_CODE: &str =
    "application/vnd.pingidentity.device.sendActivationCode+json";
/// Media type of "set device order".
pub const REORDER: &str = "application/vnd.pingidentity.devices.reorder+json";

/// A user and one of their devices.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRef {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// The unique identifier for the MFA device.
    #[schemars(length(min = 0, max = 100))]
    pub device_id: String,
}

fn device_path(input: &DeviceRef) -> [&str; 4] {
    ["users", &input.user_id, "devices", &input.device_id]
}

envelope!(
    /// A device in the envelope, with the `device` convenience field.
    DeviceOutput { raw: Device, device: Device }
);
envelope!(
    /// A created device, test-mode OTP included.
    CreatedDeviceOutput { raw: CreatedDevice, device: Device }
);
envelope!(
    /// A bare envelope: PingOne's answer and nothing else.
    RawDeviceOutput { raw: Device }
);
envelope!(
    /// An envelope for answers without a body.
    EmptyOutput { raw: Object }
);
envelope!(
    /// A device list with the views DaVinci flows read.
    DeviceListOutput {
        raw: DeviceList,
        devices: Vec<Device>,
        allowedtypes: Vec<String>,
        applications: Vec<Object>,
        mfaSettings: MfaSettings,
        mfaPolicy: MfaPolicy,
        order: Vec<OrderEntry>,
    }
);
envelope!(
    /// The device list after reordering.
    DeviceOrderOutput { raw: DeviceList, devices: Vec<Device>, order: Vec<OrderEntry> }
);
envelope!(
    /// A renamed device, with its new nickname.
    NicknameOutput { raw: Object, nickname: String }
);

/// Read Device.
pub struct ReadDevice;
impl Capability for ReadDevice {
    const ID: &'static str = "readDevice";
    const WIT: &'static str = "read-device";
    const TITLE: &'static str = "Read Device";
    const DESCRIPTION: &'static str = "Read information for a device associated with a user.";
    type Input = DeviceRef;
    type Output = DeviceOutput;

    fn request(_: &Ctx, input: &DeviceRef) -> Result<ApiRequest, ConnectorError> {
        Ok(ApiRequest::new(Method::Get, API, device_path(input)))
    }

    fn convenience(
        _: &Ctx,
        _: &DeviceRef,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(whole("device", raw))
    }
}

/// Status filter of Read All Devices.
const STATUS_FILTER: Choice = Choice {
    api: "PingOne",
    options: &[
        (&["ALL", "ALL (Default)"], "ALL"),
        (&["ACTIVE"], "ACTIVE"),
        (
            &["ACTIVATION REQUIRED", "ACTIVATION_REQUIRED"],
            "ACTIVATION_REQUIRED",
        ),
    ],
};

fn status_filter_schema(_: &mut SchemaGenerator) -> Schema {
    STATUS_FILTER.schema("Non-active devices are not usable during an authentication.")
}

fn device_types_schema(_: &mut SchemaGenerator) -> Schema {
    let mut item = DEVICE_TYPE.schema("A device type.");
    item.insert("maxLength".into(), json!(255));
    Schema::try_from(json!({ "type": "array", "uniqueItems": true, "items": item }))
        .expect("an object is a schema")
}

/// Input of Read All Devices.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadAllDevicesInput {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// Filter devices by activation status and device type.
    pub set_filter_flag: Option<bool>,
    /// ALL (default), ACTIVE or ACTIVATION REQUIRED.
    #[serde(default)]
    #[schemars(schema_with = "status_filter_schema")]
    pub status_filter: Option<String>,
    /// Device types to keep.
    #[serde(default)]
    #[schemars(schema_with = "device_types_schema")]
    pub device_types: Option<Vec<String>>,
}

/// The filter of Read All Devices, resolved to PingOne values.
pub struct DeviceFilter {
    status: Option<&'static str>,
    types: Vec<&'static str>,
}

impl DeviceFilter {
    /// Resolves the filter inputs; `None` when filtering is off.
    pub fn from_input(
        set_filter_flag: Option<bool>,
        status_filter: &Option<String>,
        types: &Option<Vec<String>>,
        types_pointer: &str,
        type_choice: &Choice,
    ) -> Result<Option<DeviceFilter>, InputError> {
        if set_filter_flag != Some(true) {
            return Ok(None);
        }
        let status = match non_empty(status_filter) {
            None => None,
            Some(s) => Some(STATUS_FILTER.resolve("/statusFilter", s)?).filter(|s| *s != "ALL"),
        };
        let types = types
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, t)| type_choice.resolve(&format!("{types_pointer}/{i}"), t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(DeviceFilter { status, types }))
    }

    fn keeps(&self, device: &Value) -> bool {
        let status_ok = self
            .status
            .is_none_or(|s| device.get("status").and_then(Value::as_str) == Some(s));
        let type_ok = self.types.is_empty()
            || device
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| self.types.contains(&t));
        status_ok && type_ok
    }
}

/// The `GET devices?expand=order` request shared by the list capabilities.
pub fn list_devices_request(user_id: &str) -> ApiRequest {
    ApiRequest::new(Method::Get, API, ["users", user_id, "devices"]).with_query("expand", "order")
}

/// The convenience fields of a device list: the (filtered) devices, the
/// order, and what the environment's MFA settings and the connection's
/// policy say about devices. PingOne's list carries none of the latter, so
/// they are read here (documented in ARCHITECTURE.md; the filter is applied
/// on the connector side because PingOne's SCIM filter does not cover every
/// device type).
pub fn device_list_views(
    ctx: &Ctx,
    raw: &Value,
    filter: Option<&DeviceFilter>,
) -> Result<Map<String, Value>, ConnectorError> {
    let devices: Vec<Value> = raw
        .pointer("/_embedded/devices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|d| filter.is_none_or(|f| f.keeps(d)))
        .cloned()
        .collect();
    let mut out = Map::new();
    out.insert("devices".into(), Value::Array(devices));
    out.extend(field("order", raw, "/_embedded/order"));

    let settings = ctx
        .send(&ApiRequest::new(Method::Get, API, ["mfaSettings"]))?
        .body;
    out.insert(
        "mfaSettings".into(),
        compact(json!({
            "environment": { "id": settings.pointer("/environment/id") },
            "pairing": { "maxAllowedDevices": settings.pointer("/pairing/maxAllowedDevices") },
        })),
    );

    if !ctx.settings.get(KEY_POLICY_ID).is_empty() {
        let policy = ctx
            .send(&ApiRequest::new(
                Method::Get,
                API,
                [
                    "deviceAuthenticationPolicies",
                    ctx.settings.get(KEY_POLICY_ID),
                ],
            ))?
            .body;
        const METHODS: [(&str, &str); 9] = [
            ("sms", "SMS"),
            ("voice", "VOICE"),
            ("email", "EMAIL"),
            ("totp", "TOTP"),
            ("mobile", "MOBILE"),
            ("fido2", "FIDO2"),
            ("platform", "PLATFORM"),
            ("securityKey", "SECURITY_KEY"),
            ("oathToken", "OATH_TOKEN"),
        ];
        let allowed: Vec<Value> = METHODS
            .iter()
            .filter(|(key, _)| {
                policy.pointer(&format!("/{key}/enabled")) == Some(&Value::Bool(true))
            })
            .map(|(_, t)| Value::from(*t))
            .collect();
        out.insert("allowedtypes".into(), Value::Array(allowed));
        out.insert(
            "applications".into(),
            policy
                .pointer("/mobile/applications")
                .cloned()
                .unwrap_or_else(|| json!([])),
        );
        out.insert(
            "mfaPolicy".into(),
            compact(json!({
                "authentication": { "deviceSelection": policy.pointer("/authentication/deviceSelection") }
            })),
        );
    }
    Ok(out)
}

/// Read All Devices.
pub struct ReadAllDevices;
impl Capability for ReadAllDevices {
    const ID: &'static str = "readAllDevices";
    const WIT: &'static str = "read-all-devices";
    const TITLE: &'static str = "Read All Devices";
    const DESCRIPTION: &'static str = "Read information for all user devices";
    type Input = ReadAllDevicesInput;
    type Output = DeviceListOutput;

    fn request(_: &Ctx, input: &ReadAllDevicesInput) -> Result<ApiRequest, ConnectorError> {
        // Resolve the filter before calling PingOne so a bad option fails fast.
        DeviceFilter::from_input(
            input.set_filter_flag,
            &input.status_filter,
            &input.device_types,
            "/deviceTypes",
            &DEVICE_TYPE,
        )?;
        Ok(list_devices_request(&input.user_id))
    }

    fn convenience(
        ctx: &Ctx,
        input: &ReadAllDevicesInput,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        let filter = DeviceFilter::from_input(
            input.set_filter_flag,
            &input.status_filter,
            &input.device_types,
            "/deviceTypes",
            &DEVICE_TYPE,
        )?;
        device_list_views(ctx, raw, filter.as_ref())
    }
}

/// Device types of Create Device, including the "Enter Device Type" escape.
const CREATE_DEVICE_TYPE: Choice = Choice {
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
        (&["Enter Device Type"], "CUSTOM"),
    ],
};

fn create_device_type_schema(_: &mut SchemaGenerator) -> Schema {
    CREATE_DEVICE_TYPE.schema("The type of device used during authentication; \"Enter Device Type\" takes the type from customDeviceType.")
}

fn device_status_schema(_: &mut SchemaGenerator) -> Schema {
    DEVICE_STATUS.schema(
        "The device's initial status; ACTIVATION_REQUIRED devices must be activated before use.",
    )
}

/// Input of Create Device.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeviceInput {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// The device type (DaVinci label or PingOne value).
    #[schemars(schema_with = "create_device_type_schema")]
    pub device_type: String,
    /// The device type when deviceType is "Enter Device Type".
    #[serde(default)]
    #[schemars(schema_with = "choice::custom_value_schema")]
    pub custom_device_type: Option<Value>,
    /// ACTIVE or ACTIVATION REQUIRED.
    #[schemars(schema_with = "device_status_schema")]
    pub status: String,
    /// A nickname that identifies this device (at most 100 characters).
    pub nickname: Option<String>,
    /// The phone number of an SMS or voice device, e.g. +15125550101.
    pub phone: Option<String>,
    /// The phone extension of a voice device: digits, comma, # and *.
    pub extension: Option<String>,
    /// The email address of an email device.
    pub email: Option<String>,
    /// Relying Party ID
    pub rp_id: Option<String>,
    /// Relying Party Name
    pub rp_name: Option<String>,
    /// Custom pairing notification.
    #[serde(flatten)]
    pub notification: NotificationInput,
    /// User Agent
    pub user_agent: Option<String>,
    /// Create Test Device
    #[serde(default)]
    #[schemars(schema_with = "choice::toggle_schema")]
    pub create_device_test_mode: Option<String>,
    /// Create Test Device
    #[serde(default)]
    #[schemars(schema_with = "choice::toggle_schema")]
    pub one_time_device_test_mode: Option<String>,
}

/// Builds the create-device body shared by the CIAM and workforce variants.
pub struct NewDevice<'a> {
    /// PingOne device type.
    pub device_type: &'a str,
    /// PingOne status.
    pub status: &'static str,
    /// Optional fields as given.
    pub nickname: Option<&'a str>,
    /// Phone of SMS/voice devices.
    pub phone: Option<&'a str>,
    /// Extension of voice devices.
    pub extension: Option<&'a str>,
    /// Email of email devices.
    pub email: Option<&'a str>,
    /// RP ID override.
    pub rp_id: Option<&'a str>,
    /// RP name.
    pub rp_name: Option<&'a str>,
    /// User agent.
    pub user_agent: Option<&'a str>,
    /// Serial number of OATH tokens.
    pub serial_number: Option<&'a str>,
    /// Test mode.
    pub test_mode: bool,
    /// Custom pairing notification, already shaped.
    pub notification: Option<Value>,
    /// Device authentication policy for the device.
    pub policy_id: Option<&'a str>,
}

impl NewDevice<'_> {
    /// Checks what PingOne requires per type, then builds the request.
    pub fn request(&self, user_id: &str) -> Result<ApiRequest, ConnectorError> {
        match self.device_type {
            "SMS" | "VOICE" if self.phone.is_none() => {
                return Err(InputError::at(
                    "/phone",
                    format!(
                        "a phone number is required for {} devices",
                        self.device_type
                    ),
                )
                .into())
            }
            "EMAIL" if self.email.is_none() => {
                return Err(InputError::at(
                    "/email",
                    "an email address is required for EMAIL devices",
                )
                .into())
            }
            "OATH_TOKEN" if self.serial_number.is_none() => {
                return Err(InputError::at(
                    "/serialNumber",
                    "a serial number is required for OATH_TOKEN devices",
                )
                .into())
            }
            _ => {}
        }
        let rp = match (self.rp_id, self.rp_name) {
            (None, None) => Value::Null,
            (id, name) => json!({ "id": id, "name": name }),
        };
        let body = compact(json!({
            "type": self.device_type,
            "status": self.status,
            "nickname": self.nickname,
            "phone": self.phone,
            "extension": self.extension,
            "email": self.email,
            "rp": rp,
            "userAgent": self.user_agent,
            "serialNumber": self.serial_number,
            "testMode": self.test_mode.then_some(true),
            "notification": self.notification,
            "policy": self.policy_id.map(|id| json!({ "id": id })),
        }));
        Ok(ApiRequest::new(Method::Post, API, ["users", user_id, "devices"]).with_body(JSON, body))
    }
}

/// Create Device.
pub struct CreateDevice;
impl Capability for CreateDevice {
    const ID: &'static str = "createDevice";
    const WIT: &'static str = "create-device";
    const TITLE: &'static str = "Create Device";
    const DESCRIPTION: &'static str = "Create devices to use during authentication.";
    type Input = CreateDeviceInput;
    type Output = CreatedDeviceOutput;

    fn request(ctx: &Ctx, i: &CreateDeviceInput) -> Result<ApiRequest, ConnectorError> {
        let custom_type;
        let device_type = match CREATE_DEVICE_TYPE.resolve("/deviceType", &i.device_type)? {
            "CUSTOM" => {
                custom_type =
                    choice::custom_value("/customDeviceType", i.custom_device_type.as_ref())?
                        .ok_or_else(|| {
                            InputError::at(
                        "/customDeviceType",
                        "a device type is required when deviceType is \"Enter Device Type\"",
                    )
                        })?
                        .trim()
                        .to_ascii_uppercase();
                custom_type.as_str()
            }
            known => known,
        };
        let status = DEVICE_STATUS.resolve("/status", &i.status)?;
        let test_mode = choice::toggle(
            "/createDeviceTestMode",
            i.create_device_test_mode.as_deref(),
        )? | choice::toggle(
            "/oneTimeDeviceTestMode",
            i.one_time_device_test_mode.as_deref(),
        )?;

        let notification = i.notification.resolve()?;

        NewDevice {
            device_type,
            status,
            nickname: non_empty(&i.nickname),
            phone: non_empty(&i.phone),
            extension: non_empty(&i.extension),
            email: non_empty(&i.email),
            rp_id: non_empty(&i.rp_id),
            rp_name: non_empty(&i.rp_name),
            user_agent: non_empty(&i.user_agent),
            serial_number: None,
            test_mode,
            notification,
            policy_id: Some(ctx.settings.get(KEY_POLICY_ID)).filter(|p| !p.is_empty()),
        }
        .request(&i.user_id)
    }

    fn convenience(
        _: &Ctx,
        _: &CreateDeviceInput,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(device_without_test(raw))
    }
}

/// The `device` convenience field: the device without its test-mode data.
pub fn device_without_test(raw: &Value) -> Map<String, Value> {
    let mut device = raw.clone();
    if let Some(map) = device.as_object_mut() {
        map.remove("test");
    }
    whole("device", &device)
}

/// Input of Activate Device.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivateDeviceInput {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// The unique identifier for the MFA device.
    #[schemars(length(min = 0, max = 100))]
    pub device_id: String,
    /// Passcode
    pub otp: Option<String>,
    /// WebAuthn assertion
    pub attestation: Option<String>,
    /// Origin
    pub origin: Option<String>,
}

/// Activate Device.
pub struct ActivateDevice;
impl Capability for ActivateDevice {
    const ID: &'static str = "activateDevice";
    const WIT: &'static str = "activate-device";
    const TITLE: &'static str = "Activate Device";
    const DESCRIPTION: &'static str = "Activate devices for the first time.";
    type Input = ActivateDeviceInput;
    type Output = DeviceOutput;

    fn request(_: &Ctx, i: &ActivateDeviceInput) -> Result<ApiRequest, ConnectorError> {
        let body = match (non_empty(&i.otp), non_empty(&i.attestation)) {
            (Some(otp), None) => json!({ "otp": otp }),
            (None, Some(attestation)) => {
                let origin = required("/origin", &i.origin)?;
                json!({ "attestation": attestation, "origin": origin })
            }
            (Some(_), Some(_)) => {
                return Err(InputError::at(
                    "/attestation",
                    "give either an OTP or an attestation, not both",
                )
                .into())
            }
            (None, None) => {
                return Err(InputError::at(
                    "/otp",
                    "an OTP (or a FIDO2 attestation with its origin) is required",
                )
                .into())
            }
        };
        Ok(ApiRequest::new(
            Method::Post,
            API,
            ["users", &i.user_id, "devices", &i.device_id],
        )
        .with_body(ACTIVATE, body))
    }

    fn convenience(
        _: &Ctx,
        _: &ActivateDeviceInput,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(whole("device", raw))
    }
}

/// Delete Device.
pub struct DeleteDevice;
impl Capability for DeleteDevice {
    const ID: &'static str = "deleteDevice";
    const WIT: &'static str = "delete-device";
    const TITLE: &'static str = "Delete Device";
    const DESCRIPTION: &'static str = "Delete devices.";
    type Input = DeviceRef;
    type Output = EmptyOutput;

    fn request(_: &Ctx, input: &DeviceRef) -> Result<ApiRequest, ConnectorError> {
        Ok(ApiRequest::new(Method::Delete, API, device_path(input)))
    }
}

/// Resend OTP for Pairing.
pub struct ResendOtpForPairing;
impl Capability for ResendOtpForPairing {
    const ID: &'static str = "resendOTPForPairing";
    const WIT: &'static str = "resend-otp-for-pairing";
    const TITLE: &'static str = "Resend OTP for Pairing";
    const DESCRIPTION: &'static str = "If user did not receive the one-time passcode (OTP) that was sent for pairing a device, you can resend the OTP.";
    type Input = DeviceRef;
    type Output = RawDeviceOutput;

    fn request(_: &Ctx, input: &DeviceRef) -> Result<ApiRequest, ConnectorError> {
        Ok(ApiRequest::new(Method::Post, API, device_path(input))
            .with_media_type(SEND_ACTIVATION_CODE))
    }
}

/// Input of Update Device Nickname.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateNicknameInput {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// The unique identifier for the MFA device.
    #[schemars(length(min = 0, max = 100))]
    pub device_id: String,
    /// Device nickname
    pub nickname: String,
}

/// Update Device Nickname.
pub struct UpdateDeviceNickname;
impl Capability for UpdateDeviceNickname {
    const ID: &'static str = "updateDeviceNickname";
    const WIT: &'static str = "update-device-nickname";
    const TITLE: &'static str = "Update Device Nickname";
    const DESCRIPTION: &'static str = "Update device nicknames.";
    type Input = UpdateNicknameInput;
    type Output = NicknameOutput;

    fn request(_: &Ctx, i: &UpdateNicknameInput) -> Result<ApiRequest, ConnectorError> {
        Ok(ApiRequest::new(
            Method::Put,
            API,
            ["users", &i.user_id, "devices", &i.device_id, "nickname"],
        )
        .with_body(JSON, json!({ "nickname": i.nickname })))
    }

    fn convenience(
        _: &Ctx,
        _: &UpdateNicknameInput,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(field("nickname", raw, "/nickname"))
    }
}

/// How Set Device Order sets the order.
const ORDER_MODE: Choice = Choice {
    api: "PingOne",
    options: &[
        (
            &["Set default device", "DEFAULT", "defaultDevice"],
            "DEFAULT",
        ),
        (&["Set device order", "ORDER", "deviceOrder"], "ORDER"),
    ],
};

fn order_mode_schema(_: &mut SchemaGenerator) -> Schema {
    ORDER_MODE.schema("Select how to set the device order.")
}

/// Input of Set Device Order.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetDeviceOrderInput {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// "Set default device" or "Set device order".
    #[serde(default)]
    #[schemars(schema_with = "order_mode_schema")]
    pub set_device_order: Option<String>,
    /// The device that becomes the default.
    #[schemars(length(min = 0, max = 100))]
    pub default_device_id: Option<String>,
    /// Take the order from jsonAttributes.
    pub use_device_order_json_attributes: Option<bool>,
    /// Device IDs in order, as `[{"id": ..}]` (`value` also accepted for `id`).
    pub device_order_list: Option<Vec<Object>>,
    /// `{"order": [{"id": ..}, ...]}` as an object or as JSON text.
    #[serde(default)]
    #[schemars(schema_with = "choice::custom_value_schema")]
    pub json_attributes: Option<Value>,
}

/// Set Device Order.
pub struct SetDeviceOrder;
impl Capability for SetDeviceOrder {
    const ID: &'static str = "setDeviceOrder";
    const WIT: &'static str = "set-device-order";
    const TITLE: &'static str = "Set Device Order";
    const DESCRIPTION: &'static str =
        "Setting the device order explicitly orders a user's existing active devices";
    type Input = SetDeviceOrderInput;
    type Output = DeviceOrderOutput;

    fn request(ctx: &Ctx, i: &SetDeviceOrderInput) -> Result<ApiRequest, ConnectorError> {
        let ids = if i.use_device_order_json_attributes == Some(true) {
            json_order(i.json_attributes.as_ref())?
        } else {
            let mode = match non_empty(&i.set_device_order) {
                Some(m) => ORDER_MODE.resolve("/setDeviceOrder", m)?,
                None if non_empty(&i.default_device_id).is_some() => "DEFAULT",
                None => {
                    return Err(InputError::at(
                        "/setDeviceOrder",
                        "choose \"Set default device\" or \"Set device order\"",
                    )
                    .into())
                }
            };
            if mode == "DEFAULT" {
                default_first(
                    ctx,
                    &i.user_id,
                    required("/defaultDeviceId", &i.default_device_id)?,
                )?
            } else {
                list_order(&i.device_order_list)?
            }
        };
        let order: Vec<Value> = ids.into_iter().map(|id| json!({ "id": id })).collect();
        Ok(
            ApiRequest::new(Method::Post, API, ["users", &i.user_id, "devices"])
                .with_body(REORDER, json!({ "order": order })),
        )
    }

    fn convenience(
        _: &Ctx,
        _: &SetDeviceOrderInput,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        let mut out = field("devices", raw, "/_embedded/devices");
        out.extend(field("order", raw, "/_embedded/order"));
        Ok(out)
    }
}

/// The order with `default_id` first and the user's other active devices
/// after it, in their current order. PingOne documents a full order as the
/// body, so the current one is read first rather than sending one ID.
fn default_first(
    ctx: &Ctx,
    user_id: &str,
    default_id: &str,
) -> Result<Vec<String>, ConnectorError> {
    let current = ctx.send(&list_devices_request(user_id))?.body;
    let ordered = current
        .pointer("/_embedded/order")
        .and_then(Value::as_array);
    let ids: Vec<String> = match ordered {
        Some(order) if !order.is_empty() => order
            .iter()
            .filter_map(|e| e.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect(),
        _ => current
            .pointer("/_embedded/devices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|d| d.get("status").and_then(Value::as_str) == Some("ACTIVE"))
            .filter_map(|d| d.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect(),
    };
    let mut order = vec![default_id.to_owned()];
    order.extend(ids.into_iter().filter(|id| id != default_id));
    Ok(order)
}

fn list_order(list: &Option<Vec<Object>>) -> Result<Vec<String>, InputError> {
    let list = list
        .as_ref()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| InputError::at("/deviceOrderList", "list the device IDs in order"))?;
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            entry
                .get("id")
                .or_else(|| entry.get("value"))
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().to_owned())
                .ok_or_else(|| {
                    InputError::at(
                        format!("/deviceOrderList/{i}/id"),
                        "each entry needs a device ID in \"id\"",
                    )
                })
        })
        .collect()
}

fn json_order(raw: Option<&Value>) -> Result<Vec<String>, InputError> {
    let parsed;
    let attributes = match raw {
        Some(Value::String(text)) => {
            parsed = serde_json::from_str::<Value>(text)
                .map_err(|e| InputError::at("/jsonAttributes", format!("not valid JSON: {e}")))?;
            &parsed
        }
        Some(v @ Value::Object(_)) => v,
        _ => {
            return Err(InputError::at(
                "/jsonAttributes",
                "give {\"order\": [{\"id\": ...}]} as an object or JSON text",
            ))
        }
    };
    let order = attributes
        .get("order")
        .and_then(Value::as_array)
        .filter(|o| !o.is_empty())
        .ok_or_else(|| {
            InputError::at(
                "/jsonAttributes/order",
                "a non-empty \"order\" array is required",
            )
        })?;
    order
        .iter()
        .enumerate()
        .map(|(i, e)| {
            e.get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    InputError::at(
                        format!("/jsonAttributes/order/{i}/id"),
                        "each entry needs a device ID in \"id\"",
                    )
                })
        })
        .collect()
}

/// Device types of the PingID (workforce) drop-downs.
const WORKFORCE_DEVICE_TYPE: Choice = Choice {
    api: "PingOne",
    options: &[
        (&["Email"], "EMAIL"),
        (&["SMS"], "SMS"),
        (&["Voice"], "VOICE"),
        (&["Authenticator App", "TOTP"], "TOTP"),
        (&["Fido2 Biometrics", "FIDO2"], "FIDO2"),
        (&["Security Key", "SECURITY_KEY"], "SECURITY_KEY"),
        (&["PLATFORM"], "PLATFORM"),
        (&["Oath token", "OATH_TOKEN"], "OATH_TOKEN"),
        (&["YubiKey"], "YUBIKEY"),
        (&["Desktop app", "PINGID_DESKTOP"], "PINGID_DESKTOP"),
        (&["PingID Mobile app", "PINGID_MOBILE"], "PINGID_MOBILE"),
    ],
};

/// Types Create Device (PingID) may create, as the seed lists them.
const WORKFORCE_CREATE_TYPE: Choice = Choice {
    api: "PingOne",
    options: &[
        (&["SMS"], "SMS"),
        (&["EMAIL"], "EMAIL"),
        (&["VOICE"], "VOICE"),
        (&["TOTP"], "TOTP"),
        (&["YUBIKEY"], "YUBIKEY"),
        (&["OATH_TOKEN"], "OATH_TOKEN"),
        (&["PLATFORM"], "PLATFORM"),
        (&["SECURITY_KEY"], "SECURITY_KEY"),
        (&["FIDO2"], "FIDO2"),
    ],
};

fn workforce_types_schema(_: &mut SchemaGenerator) -> Schema {
    let mut item = WORKFORCE_DEVICE_TYPE.schema("A workforce device type.");
    item.insert("maxLength".into(), json!(255));
    Schema::try_from(json!({ "type": "array", "uniqueItems": true, "items": item }))
        .expect("an object is a schema")
}

fn workforce_create_type_schema(_: &mut SchemaGenerator) -> Schema {
    WORKFORCE_CREATE_TYPE.schema("The type of device used during authentication.")
}

/// Input of Read All Devices (PingID).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadAllDevicesPingIdInput {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// Filter devices by activation status and device type.
    pub set_filter_flag: Option<bool>,
    /// ALL (default), ACTIVE or ACTIVATION REQUIRED.
    #[serde(default)]
    #[schemars(schema_with = "status_filter_schema")]
    pub status_filter: Option<String>,
    /// Workforce device types to keep.
    #[serde(default)]
    #[schemars(schema_with = "workforce_types_schema")]
    pub workforce_device_types: Option<Vec<String>>,
}

/// Read All Devices (PingID).
pub struct ReadAllDevicesPingId;
impl Capability for ReadAllDevicesPingId {
    const ID: &'static str = "readAllDevicesPingID";
    const WIT: &'static str = "read-all-devices-ping-id";
    const TITLE: &'static str = "Read All Devices";
    const DESCRIPTION: &'static str =
        "Read information for all user devices (PingID workforce device types).";
    type Input = ReadAllDevicesPingIdInput;
    type Output = DeviceListOutput;

    fn request(_: &Ctx, i: &ReadAllDevicesPingIdInput) -> Result<ApiRequest, ConnectorError> {
        DeviceFilter::from_input(
            i.set_filter_flag,
            &i.status_filter,
            &i.workforce_device_types,
            "/workforceDeviceTypes",
            &WORKFORCE_DEVICE_TYPE,
        )?;
        Ok(list_devices_request(&i.user_id))
    }

    fn convenience(
        ctx: &Ctx,
        i: &ReadAllDevicesPingIdInput,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        let filter = DeviceFilter::from_input(
            i.set_filter_flag,
            &i.status_filter,
            &i.workforce_device_types,
            "/workforceDeviceTypes",
            &WORKFORCE_DEVICE_TYPE,
        )?;
        device_list_views(ctx, raw, filter.as_ref())
    }
}

/// Input of Create Device (PingID).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateDevicePingIdInput {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// SMS, EMAIL, VOICE, TOTP, YUBIKEY, OATH_TOKEN, PLATFORM or SECURITY_KEY.
    #[schemars(schema_with = "workforce_create_type_schema")]
    pub workforce_device_type: String,
    /// ACTIVE or ACTIVATION REQUIRED.
    #[schemars(schema_with = "device_status_schema")]
    pub status: String,
    /// A nickname that identifies this device (at most 100 characters).
    pub nickname: Option<String>,
    /// The phone number of an SMS or voice device.
    pub phone: Option<String>,
    /// The email address of an email device.
    pub email: Option<String>,
    /// Relying Party ID
    pub rp_id: Option<String>,
    /// Relying Party Name
    pub rp_name: Option<String>,
    /// User Agent
    pub user_agent: Option<String>,
    /// Serial Number: the serial number of an OATH token. The seed lists it
    /// among the capability's properties but not in its input schema; an
    /// OATH_TOKEN device cannot be created without it.
    pub serial_number: Option<String>,
}

/// Create Device (PingID).
pub struct CreateDevicePingId;
impl Capability for CreateDevicePingId {
    const ID: &'static str = "createDevicePingID";
    const WIT: &'static str = "create-device-ping-id";
    const TITLE: &'static str = "Create Device";
    const DESCRIPTION: &'static str =
        "Create devices to use during authentication (PingID workforce device types).";
    type Input = CreateDevicePingIdInput;
    type Output = CreatedDeviceOutput;

    fn request(ctx: &Ctx, i: &CreateDevicePingIdInput) -> Result<ApiRequest, ConnectorError> {
        NewDevice {
            device_type: WORKFORCE_CREATE_TYPE
                .resolve("/workforceDeviceType", &i.workforce_device_type)?,
            status: DEVICE_STATUS.resolve("/status", &i.status)?,
            nickname: non_empty(&i.nickname),
            phone: non_empty(&i.phone),
            extension: None,
            email: non_empty(&i.email),
            rp_id: non_empty(&i.rp_id),
            rp_name: non_empty(&i.rp_name),
            user_agent: non_empty(&i.user_agent),
            serial_number: non_empty(&i.serial_number),
            test_mode: false,
            notification: None,
            policy_id: Some(ctx.settings.get(KEY_POLICY_ID)).filter(|p| !p.is_empty()),
        }
        .request(&i.user_id)
    }

    fn convenience(
        _: &Ctx,
        _: &CreateDevicePingIdInput,
        raw: &Value,
    ) -> Result<Map<String, Value>, ConnectorError> {
        Ok(device_without_test(raw))
    }
}
