//! The axum handlers of `/{envId}/deviceAuthentications[/{id}]`, and the
//! media types that tell the actions of one POST apart.
//!
//! The handlers only parse the request and dispatch; the actions live in
//! `select`, `otp`, `assertion` and `push`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::assertion::check_assertion;
use super::create::create;
use super::model::with_da;
use super::otp::check_otp;
use super::push::cancel;
use super::select::select_device;
use crate::body;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The media type of the device-selection action.
pub const DEVICE_SELECT: &str = "application/vnd.pingidentity.device.select+json";
/// The media type of the OTP check.
pub const OTP_CHECK: &str = "application/vnd.pingidentity.otp.check+json";
/// The media type of the FIDO2 assertion check.
pub const ASSERTION_CHECK: &str = "application/vnd.pingidentity.assertion.check+json";
/// The media type of the cancel action.
pub const CANCEL_PUSH: &str = "application/vnd.pingidentity.cancel.push.authentication+json";

/// `POST /{envId}/deviceAuthentications` (application/json) → 201.
pub async fn create_handler(
    State(state): State<Arc<AppState>>,
    Path(env_id): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Response> {
    body::require_json(&headers)?;
    let b = body::parse_object(&raw)?;
    let v = create(&state, &env_id, &b)?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `GET /{envId}/deviceAuthentications/{id}` → 200 (404 unknown / expired).
pub async fn read_handler(
    State(state): State<Arc<AppState>>,
    Path((env_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    with_da(&state, &env_id, &id, |_, _, _, _| Ok(())).map(Json)
}

/// `POST /{envId}/deviceAuthentications/{id}`: device.select, otp.check,
/// assertion.check or cancel.push.authentication (by Content-Type).
pub async fn action_handler(
    State(state): State<Arc<AppState>>,
    Path((env_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let mt = body::media_type(&headers);
    let action = match mt.as_deref() {
        Some(DEVICE_SELECT) | Some(OTP_CHECK) | Some(ASSERTION_CHECK) | Some(CANCEL_PUSH) => {
            mt.clone().unwrap_or_default()
        }
        _ => {
            return Err(ApiError::unsupported_media_type(
                body::content_type_raw(&headers).as_deref(),
            ))
        }
    };
    let b = body::parse_object(&raw)?;
    with_da(&state, &env_id, &id, |da, env, outbox, now| {
        match action.as_str() {
            DEVICE_SELECT => select_device(da, env, outbox, &b, now),
            OTP_CHECK => check_otp(da, env, &b, now),
            ASSERTION_CHECK => check_assertion(da, env, &b, now),
            _ => cancel(da, &b, now),
        }
    })
    .map(Json)
}
