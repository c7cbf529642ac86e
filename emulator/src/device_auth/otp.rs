//! One-time passwords in device authentications: sending an OTP to an SMS,
//! VOICE or EMAIL (or one-time) device, and checking OTPs (`otp.check`, and
//! the OTP given at creation) against sent codes, TOTP secrets, OATH tokens
//! and YubiKeys.
//!
//! Too many wrong OTPs fail the authentication and lock the device for the
//! policy's cool-down; accepted codes are consumed so that they cannot be
//! replayed.

use serde_json::{json, Map, Value};

use super::model::{wrong_status, DaStatus, DeviceAuth, Selected};
use crate::devices::{self, Device, DeviceType};
use crate::error::{ApiError, ApiResult};
use crate::state::Environment;
use crate::{otp, policies, SentMessage};

impl DeviceAuth {
    /// Sends an OTP (outbox, or `test.otp` in test mode) and waits for it.
    pub(super) fn send_otp(
        &mut self,
        outbox: &mut Vec<SentMessage>,
        user_id: &str,
        device_id: &str,
        t: DeviceType,
        to: &str,
        test_mode: bool,
    ) {
        let code = otp::random_otp();
        self.otp = Some(code.clone());
        if test_mode {
            self.test_otp = Some(code);
        } else {
            outbox.push(SentMessage {
                environment_id: self.environment_id.clone(),
                user_id: user_id.to_string(),
                device_id: device_id.to_string(),
                channel: t.as_str().to_string(),
                to: to.to_string(),
                otp: code,
                purpose: "AUTHENTICATION".into(),
            });
        }
        self.status = DaStatus::OtpRequired;
    }
}

fn method_of(t: DeviceType) -> &'static str {
    match t {
        DeviceType::Sms => "sms",
        DeviceType::Voice => "voice",
        DeviceType::Email => "email",
        DeviceType::Totp | DeviceType::OathToken | DeviceType::Yubikey => "otp",
        DeviceType::Fido2 | DeviceType::Platform | DeviceType::SecurityKey => "fido",
        DeviceType::Mobile => "push",
    }
}

/// Whether `code` is a valid OTP of a TOTP / OATH_TOKEN / YUBIKEY device
/// now (nothing is consumed: see [`record_code_use`]).
pub(super) fn device_code_matches(env: &Environment, d: &Device, code: &str, now: i64) -> bool {
    match d.device_type {
        DeviceType::Totp => d
            .totp_secret
            .as_deref()
            .is_some_and(|s| otp::totp_matches(s, now, code)),
        // The code of the device's OATH token (see `oath`).
        DeviceType::OathToken => d
            .serial_number
            .as_deref()
            .and_then(|s| env.oath_tokens.get(s))
            .is_some_and(|t| t.verify(code, now).is_some()),
        // YUBIKEY (inferred): a well-formed OTP of the key that activated
        // the device (same public ID), never seen before (no replay).
        DeviceType::Yubikey => {
            otp::is_yubikey_otp(code)
                && d.yubikey_public_id.as_deref() == otp::yubikey_public_id(code)
                && !d.yubikey_used_otps.iter().any(|u| u == code)
        }
        _ => false,
    }
}

/// Consumes an accepted code so that it cannot be replayed: a YubiKey OTP
/// is remembered, an OATH token moves past the code's counter or time step.
pub(super) fn record_code_use(env: &mut Environment, device_id: &str, code: &str, now: i64) {
    let Some(d) = env.devices.get_mut(device_id) else {
        return;
    };
    match d.device_type {
        DeviceType::Yubikey => d.yubikey_used_otps.push(code.to_string()),
        DeviceType::OathToken => {
            let token = d
                .serial_number
                .as_deref()
                .and_then(|s| env.oath_tokens.get_mut(s));
            if let Some(t) = token {
                t.check(code, now);
            }
        }
        _ => {}
    }
}

pub(super) fn otp_value(b: &Map<String, Value>) -> ApiResult<Option<String>> {
    match b.get("otp") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ApiError::invalid_value("otp", "otp must be a string")),
    }
}

pub(super) fn check_otp(
    da: &mut DeviceAuth,
    env: &mut Environment,
    b: &Map<String, Value>,
    now: i64,
) -> ApiResult<()> {
    if da.status != DaStatus::OtpRequired {
        return Err(wrong_status(da, "OTP check"));
    }
    let code = otp_value(b)?.ok_or_else(|| ApiError::required_value("otp", "otp is required"))?;
    let (t, device_id, ok) = match &da.selected {
        Selected::Device(id) => {
            let d = env
                .devices
                .get(id)
                .ok_or_else(|| ApiError::device_not_found(id))?;
            let ok = if d.device_type.is_offline() {
                da.otp
                    .as_deref()
                    .is_some_and(|o| otp::constant_eq(o, &code))
            } else {
                device_code_matches(env, d, &code, now)
            };
            (d.device_type, Some(id.clone()), ok)
        }
        Selected::OneTime { device_type, .. } => (
            *device_type,
            None,
            da.otp
                .as_deref()
                .is_some_and(|o| otp::constant_eq(o, &code)),
        ),
        Selected::None => return Err(wrong_status(da, "OTP check")),
    };
    if ok {
        if let Some(id) = &device_id {
            record_code_use(env, id, &code, now);
        }
        da.complete(method_of(t), now);
        return Ok(());
    }
    let policy = env
        .policy(&da.policy_id)
        .unwrap_or(env.default_policy())
        .clone();
    let max = policies::otp_failure_count(&policy, t).max(1);
    da.otp_failures += 1;
    da.updated_at = now;
    let remaining = max.saturating_sub(da.otp_failures);
    if remaining == 0 {
        if let Some(id) = &device_id {
            if let Some(d) = env.devices.get_mut(id) {
                d.lock_expires_at = now + policies::otp_cooldown_ms(&policy, t);
                d.lock_reason = Some("OTP".into());
                d.updated_at = now;
            }
        }
        da.fail(
            json!({
                "code": "TOO_MANY_ATTEMPTS",
                "message": format!("Too many invalid OTP attempts ({max}); the device is locked")
            }),
            now,
        );
    }
    Err(devices::invalid_otp(remaining))
}
