//! How errors become HTTP answers: the runtime's errors keep the JSON the
//! CLI prints (`{"error": {"kind": ..., "summary": ...}}`) and get the
//! status of the table below; the service's own refusals use the same
//! shape with kinds of their own.
//!
//! | error | status |
//! |---|---|
//! | `invalidInput` | 400 |
//! | `unknownCapability`, `unknownTenant`, `unknownConnector`, `notFound` | 404 |
//! | `ambiguousCapability` | 409 |
//! | `limit` `inputSize`, `payloadTooLarge` | 413 |
//! | `limit` `concurrency` (the tenant's queue is full) | 429, `Retry-After: 1` |
//! | `limit` `instances` (the host's pool is full) | 503, `Retry-After: 1` |
//! | `limit` `wallClock`, `transport` timeouts | 504 |
//! | `api` (the API's own 4xx or 5xx, its `status` kept in the body) | 502 |
//! | `transport`, `token`, `denied`, `limit` `responseSize` | 502 |
//! | `trap`, `invalidOutput`, `internal`, `limit` of the guest's own (`cpu`, `memory`, `outputSize`, `requests`, `requestSize`) | 500 |
//! | `tenant` (a connection the tenant lacks), `load` | 500 (`tenant` from the admin API: 400) |
//! | `unauthorized` (no or an unknown key) | 401, `WWW-Authenticate: Bearer` |
//! | flow runs: `flowInput`, `invalidRequest`, `notDevelopment` | 400 |
//! | flow runs: `unknownFlow`, `unknownRun` | 404 |
//! | flow runs: `notWaiting` | 409 |
//! | flow runs: `tooManyRuns` | 429, `Retry-After: 1` |

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use connector_flows::FlowError;
use connector_runtime::{Error, Limit};
use serde_json::{json, Value};

/// The status of a runtime error (the table above).
pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::InvalidInput { .. } => StatusCode::BAD_REQUEST,
        Error::UnknownCapability { .. } => StatusCode::NOT_FOUND,
        Error::AmbiguousCapability { .. } => StatusCode::CONFLICT,
        Error::Limit { limit, .. } => match limit {
            Limit::InputSize => StatusCode::PAYLOAD_TOO_LARGE,
            Limit::Concurrency => StatusCode::TOO_MANY_REQUESTS,
            Limit::Instances => StatusCode::SERVICE_UNAVAILABLE,
            Limit::WallClock => StatusCode::GATEWAY_TIMEOUT,
            Limit::ResponseSize => StatusCode::BAD_GATEWAY,
            Limit::Cpu
            | Limit::Memory
            | Limit::OutputSize
            | Limit::Requests
            | Limit::RequestSize => StatusCode::INTERNAL_SERVER_ERROR,
        },
        Error::Transport { code, .. } if code.contains("timeout") => StatusCode::GATEWAY_TIMEOUT,
        Error::Api { .. }
        | Error::Transport { .. }
        | Error::Token { .. }
        | Error::Denied { .. } => StatusCode::BAD_GATEWAY,
        Error::Trap { .. }
        | Error::InvalidOutput { .. }
        | Error::Internal { .. }
        | Error::Tenant { .. }
        | Error::Load { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A runtime error as the service's answer.
pub fn runtime_error(error: &Error) -> Response {
    let status = status_of(error);
    let mut response = (status, Json(error.to_json())).into_response();
    if matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// One of the service's own refusals.
pub fn refusal(status: StatusCode, kind: &str, summary: impl Into<String>) -> Response {
    let body = json!({ "error": { "kind": kind, "summary": summary.into() } });
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// A refusal about one part of the request, which `pointer` names (a JSON
/// pointer into the body; empty for the whole of it or the query).
pub fn refusal_at(
    status: StatusCode,
    kind: &str,
    pointer: &str,
    summary: impl Into<String>,
) -> Response {
    let body = json!({ "error": { "kind": kind, "pointer": pointer, "summary": summary.into() } });
    (status, Json(body)).into_response()
}

/// A flow run's error as the service's answer: the engine's JSON, with
/// the status of what it is (a capability's failure keeps the runtime's).
pub fn flow_error(error: &FlowError) -> Response {
    let status = match error {
        FlowError::Input { .. } => StatusCode::BAD_REQUEST,
        FlowError::UnknownFlow { .. } | FlowError::UnknownRun { .. } => StatusCode::NOT_FOUND,
        FlowError::NotWaiting { .. } => StatusCode::CONFLICT,
        FlowError::TooManyRuns { .. } => StatusCode::TOO_MANY_REQUESTS,
        FlowError::Invocation { error, .. } => status_of(error),
        FlowError::Definition { .. } | FlowError::Node { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut response = (status, Json(error.to_json())).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// 404 for a tenant the caller may not see or that does not exist: the
/// same answer for both, so a key learns nothing about other tenants.
pub fn unknown_tenant(tenant: &str) -> Response {
    let shown: String = tenant.chars().take(128).collect();
    refusal(
        StatusCode::NOT_FOUND,
        "unknownTenant",
        format!("no tenant '{shown}'"),
    )
}

/// The error body's `kind`, for metrics.
pub fn kind_of(body: &Value) -> &str {
    body["error"]["kind"].as_str().unwrap_or("unknown")
}
