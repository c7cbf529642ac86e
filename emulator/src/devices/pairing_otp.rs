//! The pairing OTP of SMS, VOICE and EMAIL devices: issued when such a
//! device is created ACTIVATION_REQUIRED, and again on resend.
//!
//! Issuing is shared by creation and resend, and the `test.otp` a test-mode
//! device gets back is added to both responses the same way, so both live
//! here rather than in `create` or `activate`.

use serde_json::{json, Value};

use super::model::{Device, DeviceStatus, DeviceType, PendingOtp};
use crate::error::{ApiError, ApiResult, Detail};
use crate::state::{AppState, Store};
use crate::{otp, SentMessage};

/// Issues a fresh pairing OTP for an SMS/VOICE/EMAIL device. Test-mode
/// devices get it back in `test.otp`; others have it "sent" to the outbox.
pub fn issue_pairing_otp(
    store_outbox: &mut Vec<SentMessage>,
    d: &mut Device,
    now: i64,
) -> Option<String> {
    let code = otp::random_otp();
    d.pairing_otp = Some(PendingOtp {
        code: code.clone(),
        issued_at: now,
        failures: 0,
        exhausted: false,
    });
    if d.test_mode {
        return Some(code);
    }
    let to = match d.device_type {
        DeviceType::Email => d.email.clone().unwrap_or_default(),
        _ => d.phone.clone().unwrap_or_default(),
    };
    store_outbox.push(SentMessage {
        environment_id: d.environment_id.clone(),
        user_id: d.user_id.clone(),
        device_id: d.id.clone(),
        channel: d.device_type.as_str().to_string(),
        to,
        otp: code,
        purpose: "PAIRING".into(),
    });
    None
}

pub(super) fn with_test_otp(mut v: Value, test_otp: Option<String>) -> Value {
    if let Some(code) = test_otp {
        v["test"] = json!({"otp": code});
    }
    v
}

pub(super) fn resend(
    state: &AppState,
    env_id: &str,
    user_id: &str,
    device_id: &str,
) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut guard = state.lock();
    let store: &mut Store = &mut guard;
    let env = store
        .envs
        .get_mut(env_id)
        .ok_or_else(|| ApiError::environment_not_found(env_id))?;
    let device = env.device_mut(user_id, device_id)?;
    if !device.device_type.is_offline() {
        return Err(ApiError::request_failed(Detail::new(
            "INVALID_VALUE",
            Some("type"),
            format!(
                "A pairing OTP cannot be sent to a {} device",
                device.device_type.as_str()
            ),
        )));
    }
    if device.status != DeviceStatus::ActivationRequired {
        return Err(ApiError::request_failed(Detail::new(
            "INVALID_VALUE",
            Some("status"),
            "The device is already active",
        )));
    }
    let test_otp = issue_pairing_otp(&mut store.outbox, device, now);
    device.updated_at = now;
    Ok(with_test_otp(device.to_json(state), test_otp))
}
