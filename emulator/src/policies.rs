//! Device authentication policies and MFA settings.
//!
//! Policies are stored as JSON in the shape of the SDK's
//! `DeviceAuthenticationPolicy` (and the connector's
//! `readDeviceAuthenticationPolicy` output); the helpers below read the
//! settings the device code needs.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::body;
use crate::devices::DeviceType;
use crate::error::{ApiError, ApiResult, Detail};
use crate::state::AppState;
use crate::time::rfc3339_ms;

fn otp_failure() -> Value {
    json!({"count": 3, "coolDown": {"duration": 2, "timeUnit": "MINUTES"}})
}

fn offline_device(enabled: bool) -> Value {
    json!({
        "enabled": enabled,
        "pairingDisabled": false,
        "promptForNicknameOnPairing": false,
        "otp": {
            "failure": otp_failure(),
            "lifeTime": {"duration": 30, "timeUnit": "MINUTES"}
        }
    })
}

/// Builds a seeded policy. `sms_enabled` lets the second seeded policy
/// disable SMS so the "type not allowed by policy" path can be exercised.
#[allow(clippy::too_many_arguments)]
pub fn seed_policy(
    api_url: &str,
    env_id: &str,
    id: &str,
    name: &str,
    default: bool,
    sms_enabled: bool,
    mobile_app_id: &str,
    now: i64,
) -> Value {
    let ts = rfc3339_ms(now);
    json!({
        "_links": {
            "self": {"href": format!("{api_url}/environments/{env_id}/deviceAuthenticationPolicies/{id}")},
            "environment": {"href": format!("{api_url}/environments/{env_id}")}
        },
        "id": id,
        "environment": {"id": env_id},
        "name": name,
        "default": default,
        "forSignOnPolicy": false,
        "ignoreUserLock": false,
        "newDeviceNotification": "NONE",
        "authentication": {"deviceSelection": "DEFAULT_TO_FIRST"},
        "sms": offline_device(sms_enabled),
        "voice": offline_device(true),
        "email": offline_device(true),
        "mobile": {
            "enabled": true,
            "otp": {
                "failure": otp_failure(),
                "window": {"stepSize": {"duration": 30, "timeUnit": "SECONDS"}}
            },
            "applications": [{
                "id": mobile_app_id,
                "pairingDisabled": false,
                "push": {"enabled": true},
                "otp": {"enabled": true},
                "deviceAuthorization": {"enabled": false},
                "autoEnrollment": {"enabled": false},
                // A string enum in the SDK document
                // (EnumMFADevicePolicyMobileIntegrityDetection:
                // permissive | restrictive).
                "integrityDetection": "permissive",
                "pairingKeyLifetime": {"duration": 10, "timeUnit": "MINUTES"}
            }],
            "promptForNicknameOnPairing": false
        },
        "totp": {
            "enabled": true,
            "pairingDisabled": false,
            "promptForNicknameOnPairing": false,
            "otp": {"failure": otp_failure()}
        },
        "fido2": {"enabled": true, "pairingDisabled": false, "promptForNicknameOnPairing": false},
        "platform": {"enabled": true},
        "securityKey": {"enabled": true},
        // `otp.failure` is required by the SDK document
        // (DeviceAuthenticationPolicyOathToken); it governs wrong OATH codes
        // at activation and authentication.
        "oathToken": {
            "enabled": true,
            "pairingDisabled": false,
            "promptForNicknameOnPairing": false,
            "otp": {"failure": otp_failure()}
        },
        // The PingID variant of the policy (DeviceAuthenticationPolicyPingID)
        // has a `yubikey` section; the emulator's policies combine both
        // variants, as the SDK's DeviceAuthenticationPolicy does. `platform`
        // and `securityKey` are not in the document (the deprecated FIDO
        // types); the emulator keeps them so the connector's allowed types
        // can list those types.
        "yubikey": {"enabled": true, "pairingDisabled": false, "otp": {"failure": otp_failure()}},
        "createdAt": ts,
        "updatedAt": ts
    })
}

/// The policy key holding the settings of a device type.
pub fn policy_key(t: DeviceType) -> &'static str {
    match t {
        DeviceType::Sms => "sms",
        DeviceType::Voice => "voice",
        DeviceType::Email => "email",
        DeviceType::Totp => "totp",
        DeviceType::Mobile => "mobile",
        DeviceType::Fido2 => "fido2",
        DeviceType::Platform => "platform",
        DeviceType::SecurityKey => "securityKey",
        DeviceType::OathToken => "oathToken",
        DeviceType::Yubikey => "yubikey",
    }
}

/// Whether the policy allows pairing a device of this type.
pub fn type_allowed(policy: &Value, t: DeviceType) -> bool {
    let section = &policy[policy_key(t)];
    section["enabled"].as_bool().unwrap_or(false)
        && !section["pairingDisabled"].as_bool().unwrap_or(false)
}

pub fn duration_ms(v: &Value) -> Option<i64> {
    let d = v["duration"].as_i64()?;
    let unit = match v["timeUnit"].as_str()? {
        "SECONDS" => 1_000,
        "MINUTES" => 60_000,
        "HOURS" => 3_600_000,
        _ => return None,
    };
    Some(d * unit)
}

/// `otp.failure.count` for the type (default 3).
pub fn otp_failure_count(policy: &Value, t: DeviceType) -> u32 {
    policy[policy_key(t)]["otp"]["failure"]["count"]
        .as_u64()
        .unwrap_or(3) as u32
}

/// `otp.failure.coolDown` in ms (default 2 minutes).
pub fn otp_cooldown_ms(policy: &Value, t: DeviceType) -> i64 {
    duration_ms(&policy[policy_key(t)]["otp"]["failure"]["coolDown"]).unwrap_or(120_000)
}

/// `otp.lifeTime` in ms (default 30 minutes).
pub fn otp_lifetime_ms(policy: &Value, t: DeviceType) -> i64 {
    duration_ms(&policy[policy_key(t)]["otp"]["lifeTime"]).unwrap_or(30 * 60_000)
}

/// `GET /environments/{envId}/deviceAuthenticationPolicies`
pub async fn list_policies(
    State(state): State<Arc<AppState>>,
    Path(env_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.lock();
    let env = store.env(&env_id)?;
    let href = format!("{}/deviceAuthenticationPolicies", state.env_href(&env_id));
    Ok(Json(json!({
        "_links": {"self": {"href": href}},
        "_embedded": {"deviceAuthenticationPolicies": env.policies},
        "count": env.policies.len(),
        "size": env.policies.len()
    })))
}

/// `GET /environments/{envId}/deviceAuthenticationPolicies/{policyId}`
pub async fn read_policy(
    State(state): State<Arc<AppState>>,
    Path((env_id, policy_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let store = state.lock();
    let env = store.env(&env_id)?;
    env.policy(&policy_id).cloned().map(Json).ok_or_else(|| {
        ApiError::not_found(format!(
            "Unable to find device authentication policy with ID: {policy_id}"
        ))
    })
}

fn mfa_settings_json(state: &AppState, env: &crate::state::Environment) -> Value {
    let s = &env.mfa_settings;
    json!({
        "_links": {
            "self": {"href": format!("{}/mfaSettings", state.env_href(&env.id))},
            "environment": {"href": state.env_href(&env.id)}
        },
        "environment": {"id": env.id},
        "pairing": {
            "maxAllowedDevices": s.max_allowed_devices,
            "pairingKeyFormat": s.pairing_key_format
        },
        "lockout": {
            "failureCount": s.lockout_failure_count,
            "durationSeconds": s.lockout_duration_seconds
        },
        "authentication": {"deviceSelection": s.device_selection},
        "updatedAt": rfc3339_ms(s.updated_at)
    })
}

/// `GET /environments/{envId}/mfaSettings`
pub async fn read_mfa_settings(
    State(state): State<Arc<AppState>>,
    Path(env_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let store = state.lock();
    let env = store.env(&env_id)?;
    Ok(Json(mfa_settings_json(&state, env)))
}

/// `PUT /environments/{envId}/mfaSettings`: `pairing.maxAllowedDevices`
/// (required, 1..15), optional `pairing.pairingKeyFormat`
/// (NUMERIC|ALPHANUMERIC), `lockout.failureCount`, `lockout.durationSeconds`,
/// `authentication.deviceSelection`.
pub async fn update_mfa_settings(
    State(state): State<Arc<AppState>>,
    Path(env_id): Path<String>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    body::require_json(&headers)?;
    let b = Value::Object(body::parse_object(&raw)?);
    let max = match b.pointer("/pairing/maxAllowedDevices") {
        None | Some(Value::Null) => {
            return Err(ApiError::required_value(
                "pairing.maxAllowedDevices",
                "pairing.maxAllowedDevices is required",
            ))
        }
        Some(v) => match v.as_u64() {
            Some(n) if (1..=15).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid_data(
                    Detail::new(
                        "OUT_OF_RANGE",
                        Some("pairing.maxAllowedDevices"),
                        "maxAllowedDevices must be between 1 and 15",
                    )
                    .inner(json!({"rangeMinimumValue": 1, "rangeMaximumValue": 15})),
                ))
            }
        },
    };
    let format = match b.pointer("/pairing/pairingKeyFormat") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "NUMERIC" || s == "ALPHANUMERIC" => Some(s.clone()),
        Some(_) => {
            return Err(ApiError::invalid_data(
                Detail::new(
                    "INVALID_VALUE",
                    Some("pairing.pairingKeyFormat"),
                    "pairingKeyFormat must be NUMERIC or ALPHANUMERIC",
                )
                .inner(json!({"allowedValues": ["NUMERIC", "ALPHANUMERIC"]})),
            ))
        }
    };
    let positive = |ptr: &str, target: &str| -> ApiResult<Option<u64>> {
        match b.pointer(ptr) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().filter(|n| *n > 0).map(Some).ok_or_else(|| {
                ApiError::invalid_value(target, format!("{target} must be a positive integer"))
            }),
        }
    };
    let failure_count = positive("/lockout/failureCount", "lockout.failureCount")?;
    let duration = positive("/lockout/durationSeconds", "lockout.durationSeconds")?;
    let selection = match b.pointer("/authentication/deviceSelection") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "DEFAULT_TO_FIRST" || s == "PROMPT_TO_SELECT" => {
            Some(s.clone())
        }
        Some(_) => {
            return Err(ApiError::invalid_value(
                "authentication.deviceSelection",
                "deviceSelection must be DEFAULT_TO_FIRST or PROMPT_TO_SELECT",
            ))
        }
    };
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(&env_id)?;
    let s = &mut env.mfa_settings;
    s.max_allowed_devices = max;
    if let Some(f) = format {
        s.pairing_key_format = f;
    }
    if let Some(n) = failure_count {
        s.lockout_failure_count = n;
    }
    if let Some(n) = duration {
        s.lockout_duration_seconds = n;
    }
    if let Some(sel) = selection {
        s.device_selection = sel;
    }
    s.updated_at = now;
    Ok((StatusCode::OK, Json(mfa_settings_json(&state, env))))
}
