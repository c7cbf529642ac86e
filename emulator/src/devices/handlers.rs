//! The axum handlers of `.../users/{userId}/devices[/{deviceId}]`.
//!
//! Several operations share a route and are told apart by the request's
//! media type (create, set order and remove order on one POST; activate and
//! resend on another), so the handlers only parse the request, dispatch and
//! shape the response; the work is done in the other parts of the module.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::activate::activate;
use super::create::create_device;
use super::list::list_json;
use super::order::{remove_order, set_order};
use super::pairing_otp::resend;
use super::validation::check_nickname;
use crate::body;
use crate::error::{ApiError, ApiResult, Detail};
use crate::state::AppState;
use crate::{filter, oath};

type UserPath = Path<(String, String)>;
type DevicePath = Path<(String, String, String)>;

/// `GET .../users/{userId}/devices[?expand=order][&filter=...]`
pub async fn list_devices(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id)): UserPath,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let filter = match q.get("filter") {
        Some(f) => Some(filter::parse(f).map_err(|reason| {
            ApiError::invalid_data(Detail::new(
                "INVALID_FILTER",
                Some("filter"),
                format!("Invalid filter: {reason}"),
            ))
        })?),
        None => None,
    };
    let expand_order = q
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "order"));
    let store = state.lock();
    let env = store.env(&env_id)?;
    env.user(&user_id)?;
    Ok(Json(list_json(
        &state,
        env,
        &user_id,
        filter.as_ref(),
        expand_order,
    )))
}

/// `POST .../users/{userId}/devices`: create (application/json), set order
/// (devices.reorder+json) or remove order (devices.order.remove+json).
pub async fn post_devices(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id)): UserPath,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Response> {
    match body::media_type(&headers).as_deref() {
        Some(body::JSON) => {
            let b = body::parse_object(&raw)?;
            let v = create_device(&state, &env_id, &user_id, &b)?;
            Ok((StatusCode::CREATED, Json(v)).into_response())
        }
        Some(body::DEVICES_REORDER) => {
            let b = body::parse_object(&raw)?;
            let v = set_order(&state, &env_id, &user_id, &b)?;
            Ok((StatusCode::OK, Json(v)).into_response())
        }
        Some(body::DEVICES_ORDER_REMOVE) => {
            remove_order(&state, &env_id, &user_id)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(ApiError::unsupported_media_type(
            body::content_type_raw(&headers).as_deref(),
        )),
    }
}

/// `DELETE .../users/{userId}/devices` with devices.order.remove+json (the
/// SDK's form of "remove device order").
pub async fn delete_devices(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id)): UserPath,
    headers: HeaderMap,
) -> ApiResult<Response> {
    match body::media_type(&headers).as_deref() {
        Some(body::DEVICES_ORDER_REMOVE) => {
            remove_order(&state, &env_id, &user_id)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(ApiError::unsupported_media_type(
            body::content_type_raw(&headers).as_deref(),
        )),
    }
}

/// `GET .../devices/{deviceId}`
pub async fn read_device(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id, device_id)): DevicePath,
) -> ApiResult<Json<Value>> {
    let store = state.lock();
    let env = store.env(&env_id)?;
    Ok(Json(env.device(&user_id, &device_id)?.to_json(&state)))
}

/// `POST .../devices/{deviceId}`: activate or resend the pairing OTP.
pub async fn post_device(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id, device_id)): DevicePath,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    match body::media_type(&headers).as_deref() {
        Some(body::DEVICE_ACTIVATE) => {
            let b = body::parse_object(&raw)?;
            activate(&state, &env_id, &user_id, &device_id, &b).map(Json)
        }
        Some(body::DEVICE_SEND_ACTIVATION_CODE) => {
            // The body is empty; tolerate `{}` but reject garbage.
            body::parse_object_or_empty(&raw)?;
            resend(&state, &env_id, &user_id, &device_id).map(Json)
        }
        _ => Err(ApiError::unsupported_media_type(
            body::content_type_raw(&headers).as_deref(),
        )),
    }
}

/// `DELETE .../devices/{deviceId}`: 204; the device leaves the order (if it
/// was the default, the next one becomes default).
pub async fn delete_device(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id, device_id)): DevicePath,
) -> ApiResult<StatusCode> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(&env_id)?;
    env.device(&user_id, &device_id)?;
    env.devices.remove(&device_id);
    oath::release(&mut env.oath_tokens, &device_id);
    if let Some(u) = env.users.get_mut(&user_id) {
        u.device_order.retain(|d| d != &device_id);
        u.updated_at = now;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT .../devices/{deviceId}/nickname` `{"nickname"}` → 200 device.
pub async fn update_nickname(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id, device_id)): DevicePath,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    body::require_json(&headers)?;
    let b = body::parse_object(&raw)?;
    let nickname = match b.get("nickname") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ApiError::required_value(
                "nickname",
                "nickname is required and must be a string",
            ))
        }
    };
    check_nickname(&nickname)?;
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(&env_id)?;
    let d = env.device_mut(&user_id, &device_id)?;
    d.nickname = Some(nickname);
    d.updated_at = now;
    Ok(Json(d.to_json(&state)))
}
