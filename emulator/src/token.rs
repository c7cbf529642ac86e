//! `POST /{envId}/as/token` (client credentials) and the bearer-token check
//! in front of every management API call.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use rand::RngCore;
use serde_json::json;

use crate::body;
use crate::error::{ApiError, OAuthError};
use crate::state::{AppState, TokenInfo};

/// Scopes reported for a worker application token (a worker app's
/// permissions come from its roles; the string is informative only).
pub const WORKER_SCOPE: &str = "p1:read:user p1:update:user p1:read:device p1:update:device";

/// `POST /{envId}/as/token`, `grant_type=client_credentials`, client
/// authentication by HTTP Basic (client_secret_basic) or form fields
/// (client_secret_post).
pub async fn token(
    State(state): State<Arc<AppState>>,
    Path(env_id): Path<String>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    state.token_requests.fetch_add(1, Ordering::Relaxed);
    issue(&state, &env_id, &headers, &raw)
}

fn issue(state: &AppState, env_id: &str, headers: &HeaderMap, raw: &[u8]) -> Response {
    let form = body::parse_form(raw);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());

    // Client credentials: Basic header first, then form fields.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
        });
    let creds = match basic {
        Some(b64) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            match decoded.as_deref().and_then(|s| s.split_once(':')) {
                Some((id, secret)) => {
                    Some((body::percent_decode(id), body::percent_decode(secret)))
                }
                None => {
                    return OAuthError::new(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        "Malformed Basic authorization header",
                    )
                    .into_response()
                }
            }
        }
        None => match (field("client_id"), field("client_secret")) {
            (Some(id), Some(secret)) => Some((id, secret)),
            _ => None,
        },
    };

    let mut store = state.lock();
    let env = match store.envs.get(env_id) {
        Some(env) => env,
        None => return ApiError::environment_not_found(env_id).into_response(),
    };
    let Some((client_id, secret)) = creds else {
        return OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Request denied: Unsupported authentication method",
        )
        .into_response();
    };
    if client_id != env.client_id || secret != env.client_secret {
        return OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Request denied: Invalid client credentials (Correlation ID: emulator)",
        )
        .into_response();
    }
    match field("grant_type").as_deref() {
        Some("client_credentials") => {}
        None => {
            return OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing grant_type parameter",
            )
            .into_response()
        }
        Some(other) => {
            return OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("Grant type is not supported: {other}"),
            )
            .into_response()
        }
    }

    let mut bytes = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let lifetime = state.token_lifetime.as_secs();
    let info = TokenInfo {
        environment_id: env_id.to_string(),
        client_id,
        expires_at_ms: state.now_ms() + state.token_lifetime.as_millis() as i64,
    };
    let now = state.now_ms();
    store.tokens.retain(|_, t| t.expires_at_ms > now);
    store.tokens.insert(token.clone(), info);
    if store.issued_tokens.len() >= crate::state::MAX_ISSUED_TOKENS {
        store.issued_tokens.remove(0);
    }
    store.issued_tokens.push(token.clone());
    drop(store);

    let mut resp = Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": WORKER_SCOPE
    }))
    .into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

/// Middleware for `/v1/environments/{envId}/...` and the auth-host MFA
/// endpoints (`/{envId}/deviceAuthentications...`,
/// `/{envId}/authenticationCodes...`): counts the request and
/// checks the bearer token (401 missing/unknown/expired, 403 another
/// environment's token).
pub async fn require_bearer(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    state.api_requests.fetch_add(1, Ordering::Relaxed);
    // Management API: /v1/environments/{envId}/...; auth host: /{envId}/...
    let path = req.uri().path();
    let path_env = path
        .strip_prefix("/v1/environments/")
        .or_else(|| path.strip_prefix('/'))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("")
        .to_string();
    if let Err(e) = check_bearer(&state, req.headers(), &path_env) {
        return e.into_response();
    }
    next.run(req).await
}

fn check_bearer(state: &AppState, headers: &HeaderMap, env_id: &str) -> Result<(), ApiError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let token = match auth.and_then(|a| a.split_once(' ')) {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
            t.trim()
        }
        _ => {
            return Err(ApiError::invalid_token(
                "The access token is missing: send Authorization: Bearer <token>",
            ))
        }
    };
    let store = state.lock();
    let Some(info) = store.tokens.get(token) else {
        return Err(ApiError::invalid_token("The access token is invalid"));
    };
    if info.expires_at_ms <= state.now_ms() {
        return Err(ApiError::invalid_token("The access token has expired"));
    }
    if info.environment_id != env_id {
        return Err(ApiError::forbidden(format!(
            "The access token was issued for another environment ({}), not {env_id}",
            info.environment_id
        )));
    }
    let _ = &info.client_id;
    Ok(())
}
