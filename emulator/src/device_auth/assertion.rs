//! FIDO2 assertions: issuing the request options (`start_assertion`),
//! checking the WebAuthn `compatibility` of a request, and verifying an
//! assertion (`assertion.check`), which also identifies the user of a
//! usernameless authentication.
//!
//! The cryptographic checks (signature, counter, origin, RP ID) are in
//! `crate::fido`; this file decides which stored credential an assertion
//! may use and records the result on the device and the authentication.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::model::{wrong_status, DaStatus, DeviceAuth, Selected};
use crate::body::opt_str;
use crate::devices::{DeviceStatus, DeviceType};
use crate::error::{ApiError, ApiResult, Detail};
use crate::fido;
use crate::state::Environment;

impl DeviceAuth {
    pub(super) fn start_assertion(&mut self, rp_id: String, allow: &[Vec<u8>]) {
        let challenge = self
            .custom_challenge
            .clone()
            .unwrap_or_else(fido::random_challenge);
        self.request_options = Some(fido::request_options(&challenge, &rp_id, allow));
        self.challenge = Some(challenge);
        self.rp_id = Some(rp_id);
        self.status = DaStatus::AssertionRequired;
    }
}

pub(super) fn check_compatibility(b: &Map<String, Value>, t: Option<DeviceType>) -> ApiResult<()> {
    let Some(c) = opt_str(b, "compatibility", "compatibility")? else {
        return Ok(());
    };
    if !matches!(c, "FULL" | "SECURITY_KEY_ONLY" | "NONE") {
        return Err(ApiError::invalid_data(
            Detail::new(
                "INVALID_VALUE",
                Some("compatibility"),
                format!("Invalid compatibility: {c}"),
            )
            .inner(json!({"allowedValues": ["FULL", "SECURITY_KEY_ONLY", "NONE"]})),
        ));
    }
    let refused = match t {
        Some(t) if t.is_fido() && c == "NONE" => true,
        Some(DeviceType::Platform) if c == "SECURITY_KEY_ONLY" => true,
        None if c == "NONE" => true,
        _ => false,
    };
    if refused {
        return Err(ApiError::invalid_value(
            "compatibility",
            format!("The device is not usable with WebAuthn compatibility {c}"),
        ));
    }
    Ok(())
}

pub(super) fn check_assertion(
    da: &mut DeviceAuth,
    env: &mut Environment,
    b: &Map<String, Value>,
    now: i64,
) -> ApiResult<()> {
    if da.status != DaStatus::AssertionRequired {
        return Err(wrong_status(da, "Assertion check"));
    }
    let origin = opt_str(b, "origin", "origin")?
        .ok_or_else(|| ApiError::required_value("origin", "origin is required"))?;
    let assertion = b
        .get("assertion")
        .filter(|v| !v.is_null())
        .ok_or_else(|| ApiError::required_value("assertion", "assertion is required"))?;
    check_compatibility(b, None)?;
    let parsed = fido::parse_assertion(assertion)?;
    let cred_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&parsed.credential_id);
    let unknown = || {
        fido::assertion_error(
            "INVALID_CREDENTIAL",
            "assertion",
            "The credential is not allowed for this authentication",
        )
    };
    let device_id = match (&da.selected, &da.user_id) {
        (Selected::Device(id), _) => {
            let d = env.devices.get(id).ok_or_else(unknown)?;
            if d.credential_id.as_deref() != Some(cred_b64.as_str()) {
                return Err(unknown());
            }
            id.clone()
        }
        (_, user) => env
            .devices
            .values()
            .filter(|d| {
                d.device_type.is_fido()
                    && d.status == DeviceStatus::Active
                    && user.as_ref().is_none_or(|u| *u == d.user_id)
                    && d.credential_id.as_deref() == Some(cred_b64.as_str())
            })
            .map(|d| d.id.clone())
            .next()
            .ok_or_else(unknown)?,
    };
    let d = env.devices.get_mut(&device_id).ok_or_else(unknown)?;
    if d.is_locked(now) {
        return Err(fido::assertion_error(
            "INVALID_CREDENTIAL",
            "assertion",
            "The device is locked",
        ));
    }
    let challenge = da.challenge.clone().unwrap_or_default();
    let rp_id = da
        .rp_id
        .clone()
        .unwrap_or_else(|| fido::DEFAULT_RP_ID.to_string());
    let public_key = d.public_key.clone().ok_or_else(unknown)?;
    let count = fido::verify_assertion(
        &parsed,
        origin,
        &challenge,
        &rp_id,
        &public_key,
        d.sign_count,
        d.user_handle.as_deref(),
    )?;
    d.sign_count = count;
    d.updated_at = now;
    da.user_id = Some(d.user_id.clone());
    da.selected = Selected::Device(device_id);
    da.complete("fido", now);
    Ok(())
}
