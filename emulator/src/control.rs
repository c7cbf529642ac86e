//! Emulator control endpoints (not PingOne paths), for tests and demos:
//! `GET /_emulator/outbox`, `GET /_emulator/stats`, `GET /_emulator/info`
//! and `POST /_emulator/clock` `{"advanceSeconds": n}`; and what a mobile
//! app would do: claim a pairing key, answer a push, claim and approve an
//! authentication code (listed below). These need no bearer token.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::body;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn outbox(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(serde_json::to_value(state.outbox()).unwrap_or(Value::Null))
}

pub async fn stats(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(serde_json::to_value(state.stats()).unwrap_or(Value::Null))
}

pub async fn info(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(crate::startup_info_for(&state))
}

/// Moves the emulator clock forward so tokens and OTPs can be expired.
pub async fn advance_clock(
    State(state): State<Arc<AppState>>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let b = body::parse_object(&raw)?;
    let secs = b
        .get("advanceSeconds")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            ApiError::required_value(
                "advanceSeconds",
                "advanceSeconds (a non-negative integer) is required",
            )
        })?;
    state.advance_clock(Duration::from_secs(secs));
    Ok(Json(
        json!({"now": crate::time::rfc3339_ms(state.now_ms())}),
    ))
}

// ---------------------------------------------------------------------------
// What the mobile app does (not PingOne paths):
// * `POST /_emulator/environments/{env}/pairingKeys/claim`
//   `{code, os?{type,version}, model?{name,marketingName}, applicationId?,
//   nativeName?, version?}` → 200 the new ACTIVE MOBILE device.
// * `POST /_emulator/environments/{env}/deviceAuthentications/{id}/push`
//   `{action: approve|deny|timeout}` → 200 the device authentication.
// * `POST /_emulator/environments/{env}/authenticationCodes/claim`
//   `{code, userId, deviceId?}` → 200 the authentication code.
// * `POST /_emulator/environments/{env}/authenticationCodes/{id}/approve`
//   `{approve: bool}` → 200 the authentication code.

fn required_str<'a>(b: &'a serde_json::Map<String, Value>, key: &str) -> ApiResult<&'a str> {
    body::opt_str(b, key, key)?
        .ok_or_else(|| ApiError::required_value(key, format!("{key} is required")))
}

pub async fn claim_pairing_key(
    State(state): State<Arc<AppState>>,
    Path(env_id): Path<String>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let b = body::parse_object(&raw)?;
    crate::pairing_keys::claim(&state, &env_id, &b).map(Json)
}

pub async fn push(
    State(state): State<Arc<AppState>>,
    Path((env_id, id)): Path<(String, String)>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let b = body::parse_object(&raw)?;
    let action = required_str(&b, "action")?;
    crate::device_auth::push(&state, &env_id, &id, action).map(Json)
}

pub async fn claim_authentication_code(
    State(state): State<Arc<AppState>>,
    Path(env_id): Path<String>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let b = body::parse_object(&raw)?;
    let code = required_str(&b, "code")?;
    let user_id = required_str(&b, "userId")?;
    let device_id = body::opt_str(&b, "deviceId", "deviceId")?;
    crate::auth_codes::claim(&state, &env_id, code, user_id, device_id).map(Json)
}

pub async fn approve_authentication_code(
    State(state): State<Arc<AppState>>,
    Path((env_id, id)): Path<(String, String)>,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let b = body::parse_object(&raw)?;
    let approve = match b.get("approve") {
        Some(Value::Bool(v)) => *v,
        None | Some(Value::Null) => {
            return Err(ApiError::required_value("approve", "approve is required"))
        }
        Some(_) => {
            return Err(ApiError::invalid_value(
                "approve",
                "approve must be a boolean",
            ))
        }
    };
    crate::auth_codes::approve(&state, &env_id, &id, approve).map(Json)
}
