//! Emulator control endpoints (not PingOne paths), for tests and demos:
//! `GET /_emulator/outbox`, `GET /_emulator/stats`, `GET /_emulator/info`
//! and `POST /_emulator/clock` `{"advanceSeconds": n}`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
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
