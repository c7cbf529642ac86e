//! Activating a device: an OTP for SMS, VOICE, EMAIL (the pairing OTP),
//! TOTP, OATH_TOKEN and YUBIKEY devices, an attestation for FIDO devices
//! (FIDO2 and the deprecated PLATFORM and SECURITY_KEY).
//!
//! Wrong OTPs count against the policy's `otp.failure.count`; the error
//! built here is also the one device authentications answer, which is why
//! [`invalid_otp`] is public.

use serde_json::{json, Map, Value};

use super::model::{DeviceStatus, DeviceType};
use super::order::append_to_order;
use crate::body::opt_str;
use crate::error::{ApiError, ApiResult, Detail};
use crate::state::AppState;
use crate::{fido, oath, otp, policies};

/// PingOne's 400 for a wrong OTP, with the attempts that remain.
pub fn invalid_otp(remaining: u32) -> ApiError {
    ApiError::invalid_data(
        Detail::new("INVALID_OTP", Some("otp"), "Invalid OTP")
            .inner(json!({"remainingAttempts": remaining})),
    )
}

fn otp_exhausted() -> ApiError {
    ApiError::invalid_data(Detail::new(
        "INVALID_OTP",
        Some("otp"),
        "OTP expired or exhausted; resend",
    ))
}

pub(super) fn activate(
    state: &AppState,
    env_id: &str,
    user_id: &str,
    device_id: &str,
    b: &Map<String, Value>,
) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(env_id)?;
    let device = env.device(user_id, device_id)?;
    if device.status == DeviceStatus::Active {
        return Err(ApiError::request_failed(Detail::new(
            "INVALID_VALUE",
            Some("status"),
            "The device is already active",
        )));
    }
    let t = device.device_type;
    let policy = env
        .policy(&device.policy_id)
        .unwrap_or_else(|| env.default_policy())
        .clone();

    let result: ApiResult<Option<fido::RegisteredCredential>> = if t.is_fido() {
        let attestation = b
            .get("attestation")
            .filter(|v| !v.is_null())
            .ok_or_else(|| ApiError::required_value("attestation", "attestation is required"))?;
        let origin = opt_str(b, "origin", "origin")?
            .ok_or_else(|| ApiError::required_value("origin", "origin is required"))?;
        let challenge = device.fido_challenge.clone().unwrap_or_default();
        let rp_id = device
            .rp_id
            .clone()
            .unwrap_or_else(|| fido::DEFAULT_RP_ID.into());
        fido::check_attestation(attestation, origin, &challenge, &rp_id).map(Some)
    } else {
        let code = match b.get("otp") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(ApiError::required_value("otp", "otp is required")),
        };
        let max_failures = policies::otp_failure_count(&policy, t).max(1);
        match t {
            DeviceType::Sms | DeviceType::Voice | DeviceType::Email => {
                let device = env.device_mut(user_id, device_id)?;
                let lifetime = policies::otp_lifetime_ms(&policy, t);
                let Some(p) = device.pairing_otp.as_mut() else {
                    return Err(otp_exhausted());
                };
                if p.exhausted || now - p.issued_at > lifetime {
                    return Err(otp_exhausted());
                }
                if otp::constant_eq(&p.code, code.trim()) {
                    Ok(None)
                } else {
                    p.failures += 1;
                    if p.failures >= max_failures {
                        p.exhausted = true;
                    }
                    device.updated_at = now;
                    return Err(invalid_otp(max_failures.saturating_sub(p.failures)));
                }
            }
            DeviceType::Totp | DeviceType::OathToken | DeviceType::Yubikey => {
                let device = env.device(user_id, device_id)?;
                if now < device.locked_until {
                    return Err(otp_exhausted());
                }
                let ok = match t {
                    DeviceType::Totp => device
                        .totp_secret
                        .as_deref()
                        .is_some_and(|s| otp::totp_matches(s, now, code.trim())),
                    // YUBIKEY (inferred): any well-formed YubiKey OTP (44
                    // modhex characters); its first 12 characters become the
                    // key's public ID. The AES part is not modelled.
                    DeviceType::Yubikey => otp::is_yubikey_otp(code.trim()),
                    // OATH tokens: the code of the bound token (see `oath`).
                    _ => {
                        let resync = oath::resync_flag(b)?;
                        let serial = device.serial_number.clone().unwrap_or_default();
                        match env.oath_tokens.get_mut(&serial) {
                            // Every OATH_TOKEN device is bound to a token of
                            // the inventory; without one no code can match.
                            None => false,
                            Some(token) if !resync => token.check(code.trim(), now),
                            Some(token) => match token.check_with_resync(code.trim(), now) {
                                oath::Verdict::Accepted => true,
                                oath::Verdict::Rejected => false,
                                oath::Verdict::ResyncNext => return Err(oath::resync_next_error()),
                            },
                        }
                    }
                };
                let device = env.device_mut(user_id, device_id)?;
                if ok {
                    if t == DeviceType::Yubikey {
                        let code = code.trim();
                        device.yubikey_public_id =
                            Some(code[..otp::YUBIKEY_PUBLIC_ID_LEN].to_string());
                        device.yubikey_used_otps.push(code.to_string());
                    }
                    Ok(None)
                } else {
                    device.code_failures += 1;
                    let remaining = max_failures.saturating_sub(device.code_failures);
                    if remaining == 0 {
                        device.code_failures = 0;
                        device.locked_until = now + policies::otp_cooldown_ms(&policy, t);
                    }
                    device.updated_at = now;
                    return Err(invalid_otp(remaining));
                }
            }
            _ => Err(ApiError::request_failed(Detail::new(
                "INVALID_VALUE",
                Some("type"),
                format!(
                    "{} devices cannot be activated with this request",
                    t.as_str()
                ),
            ))),
        }
    };
    let credential = result?;

    let device = env.device_mut(user_id, device_id)?;
    device.status = DeviceStatus::Active;
    device.updated_at = now;
    device.pairing_otp = None;
    device.code_failures = 0;
    device.locked_until = 0;
    device.key_uri = None;
    device.creation_options = None;
    device.fido_challenge = None;
    if let Some(c) = credential {
        use base64::Engine;
        device.credential_id = Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&c.id));
        device.public_key = Some(c.public_key);
        device.sign_count = c.sign_count;
        // The creation options carry user.id = the user ID's bytes.
        device.user_handle = Some(user_id.as_bytes().to_vec());
    }
    // The TOTP secret is kept (for later authentication) but no longer shown.
    let v = device.to_json(state);
    append_to_order(env, user_id, device_id, now);
    Ok(v)
}
