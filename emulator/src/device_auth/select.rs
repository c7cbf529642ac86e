//! Device selection: which of the user's devices are usable, selecting one
//! (`device.select`), and entering the selected device's state (an OTP sent,
//! assertion options issued or a push "sent").
//!
//! Creation selects a device the same way as the `device.select` action
//! does, so entering a device's state is shared here by both.

use serde_json::{json, Map, Value};

use super::assertion::check_compatibility;
use super::model::{wrong_status, DaStatus, DeviceAuth, Selected};
use crate::body::id_of;
use crate::devices::{self, Device, DeviceStatus, DeviceType};
use crate::error::{ApiError, ApiResult, Detail};
use crate::state::Environment;
use crate::time::rfc3339_ms;
use crate::{fido, policies, SentMessage};

pub(super) fn type_enabled(policy: &Value, t: DeviceType) -> bool {
    policy[policies::policy_key(t)]["enabled"]
        .as_bool()
        .unwrap_or(true)
}

/// The user's usable devices in order (default first) and the IDs of the
/// ACTIVE devices that are locked.
pub(super) fn usable_devices<'a>(
    env: &'a Environment,
    policy: &Value,
    user_id: &str,
    now: i64,
) -> (Vec<&'a Device>, Vec<String>) {
    let mut usable = Vec::new();
    let mut locked = Vec::new();
    for d in devices::ordered_devices(env, user_id) {
        if d.status != DeviceStatus::Active {
            continue;
        }
        if d.is_locked(now) {
            locked.push(d.id.clone());
        } else if type_enabled(policy, d.device_type) {
            usable.push(d);
        }
    }
    (usable, locked)
}

pub(super) fn no_usable_devices(user_id: &str, locked: &[String]) -> Value {
    let mut e = json!({
        "code": "NO_USABLE_DEVICES",
        "message": format!("Couldn't find authenticating device for user: {user_id}")
    });
    if !locked.is_empty() {
        e["unavailableDevices"] = Value::Array(locked.iter().map(|id| json!({"id": id})).collect());
    }
    e
}

impl DeviceAuth {
    /// Enters the state for device `d` (OTP sent, assertion options issued,
    /// push "sent").
    pub(super) fn enter_device(&mut self, d: &Device, outbox: &mut Vec<SentMessage>, now: i64) {
        self.reset_challenge();
        self.selected = Selected::Device(d.id.clone());
        self.updated_at = now;
        match d.device_type {
            DeviceType::Sms | DeviceType::Voice | DeviceType::Email => {
                let to = match d.device_type {
                    DeviceType::Email => d.email.clone().unwrap_or_default(),
                    _ => d.phone.clone().unwrap_or_default(),
                };
                self.send_otp(outbox, &d.user_id, &d.id, d.device_type, &to, d.test_mode);
            }
            DeviceType::Totp | DeviceType::OathToken | DeviceType::Yubikey => {
                self.status = DaStatus::OtpRequired
            }
            DeviceType::Fido2 | DeviceType::Platform | DeviceType::SecurityKey => {
                let rp_id = self
                    .rp_id_override
                    .clone()
                    .or_else(|| d.rp_id.clone())
                    .unwrap_or_else(|| fido::DEFAULT_RP_ID.to_string());
                let allow: Vec<Vec<u8>> = d
                    .credential_id
                    .as_deref()
                    .and_then(fido::b64url_decode)
                    .into_iter()
                    .collect();
                self.start_assertion(rp_id, &allow);
            }
            DeviceType::Mobile => self.status = DaStatus::PushConfirmationRequired,
        }
    }
}

pub(super) fn select_device(
    da: &mut DeviceAuth,
    env: &mut Environment,
    outbox: &mut Vec<SentMessage>,
    b: &Map<String, Value>,
    now: i64,
) -> ApiResult<()> {
    if !matches!(
        da.status,
        DaStatus::DeviceSelectionRequired
            | DaStatus::OtpRequired
            | DaStatus::PushConfirmationTimedOut
    ) {
        return Err(wrong_status(da, "Device selection"));
    }
    let Some(uid) = da.user_id.clone() else {
        return Err(wrong_status(da, "Device selection"));
    };
    let device_id = id_of(b, "device")?
        .ok_or_else(|| ApiError::required_value("device.id", "device.id is required"))?;
    let d = env
        .devices
        .get(&device_id)
        .filter(|d| d.user_id == uid && d.status == DeviceStatus::Active)
        .ok_or_else(|| {
            ApiError::invalid_value(
                "device.id",
                format!("{device_id} is not an active device of the user"),
            )
        })?;
    if d.is_locked(now) {
        return Err(ApiError::invalid_data(
            Detail::new(
                "INVALID_VALUE",
                Some("device.id"),
                format!("The device {device_id} is locked"),
            )
            .inner(json!({"lockExpiresAt": rfc3339_ms(d.lock_expires_at)})),
        ));
    }
    let policy = env.policy(&da.policy_id).unwrap_or(env.default_policy());
    if !type_enabled(policy, d.device_type) {
        return Err(ApiError::invalid_value(
            "device.id",
            format!(
                "Device type {} is not enabled by the device authentication policy",
                d.device_type.as_str()
            ),
        ));
    }
    check_compatibility(b, Some(d.device_type))?;
    let d = d.clone();
    da.enter_device(&d, outbox, now);
    Ok(())
}
