//! Users: a minimal read (handy for tests) and `mfaEnabled`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use crate::body;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, User};
use crate::time::rfc3339_ms;

fn user_json(state: &AppState, env_id: &str, u: &User) -> Value {
    let href = state.user_href(env_id, &u.id);
    json!({
        "_links": {
            "self": {"href": href},
            "environment": {"href": state.env_href(env_id)},
            "devices": {"href": format!("{href}/devices")},
            "mfaEnabled": {"href": format!("{href}/mfaEnabled")}
        },
        "id": u.id,
        "environment": {"id": env_id},
        "username": u.username,
        "email": u.email,
        "mobilePhone": u.phone,
        "enabled": true,
        "mfaEnabled": u.mfa_enabled,
        "createdAt": rfc3339_ms(u.created_at),
        "updatedAt": rfc3339_ms(u.updated_at)
    })
}

fn mfa_enabled_json(state: &AppState, env_id: &str, u: &User) -> Value {
    let href = state.user_href(env_id, &u.id);
    json!({
        "_links": {
            "self": {"href": format!("{href}/mfaEnabled")},
            "user": {"href": href}
        },
        "mfaEnabled": u.mfa_enabled
    })
}

/// `GET /environments/{envId}/users/{userId}`
pub async fn read_user(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let store = state.lock();
    let env = store.env(&env_id)?;
    Ok(Json(user_json(&state, &env_id, env.user(&user_id)?)))
}

/// `GET /environments/{envId}/users/{userId}/mfaEnabled`
pub async fn read_mfa_enabled(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let store = state.lock();
    let env = store.env(&env_id)?;
    Ok(Json(mfa_enabled_json(&state, &env_id, env.user(&user_id)?)))
}

/// `PUT /environments/{envId}/users/{userId}/mfaEnabled` `{"mfaEnabled": bool}`
pub async fn update_mfa_enabled(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    body::require_json(&headers)?;
    let b = body::parse_object(&raw)?;
    let enabled = match b.get("mfaEnabled") {
        Some(Value::Bool(v)) => *v,
        None | Some(Value::Null) => {
            return Err(ApiError::required_value(
                "mfaEnabled",
                "mfaEnabled is required",
            ))
        }
        Some(_) => {
            return Err(ApiError::invalid_value(
                "mfaEnabled",
                "mfaEnabled must be a boolean",
            ))
        }
    };
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(&env_id)?;
    let u = env.user_mut(&user_id)?;
    u.mfa_enabled = enabled;
    u.updated_at = now;
    Ok(Json(mfa_enabled_json(&state, &env_id, u)))
}
