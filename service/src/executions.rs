//! The flow execution routes: seed 002's MFA enrollment step in PingOne's
//! HAL style (`connector-executions`). Answers are the execution resource
//! or PingOne's error shape; a key's scope is checked as for invocations.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use connector_executions::{Execution, ExecutionError};
use serde_json::Value;
use std::sync::Arc;

use crate::errors::unknown_tenant;
use crate::keys::Scope;
use crate::Service;

fn answer(result: Result<Execution, ExecutionError>, created: bool) -> Response {
    match result {
        Ok(execution) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(execution.resource())).into_response()
        }
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Json(e.body())).into_response()
        }
    }
}

fn not_served(flow: &str) -> Response {
    answer(
        Err(ExecutionError::UnknownFlow(flow.chars().take(64).collect())),
        false,
    )
}

/// The body as JSON (`null` when empty), or why it is not.
pub(crate) fn body_json(body: Result<Bytes, BytesRejection>) -> Result<Value, &'static str> {
    let bytes = body.map_err(|_| "larger than allowed (server.maxBodyBytes)")?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|_| "not JSON")
}

/// The body as JSON, or PingOne's error shape.
fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ExecutionError> {
    body_json(body).map_err(|message| ExecutionError::Invalid {
        target: "body".into(),
        message: message.into(),
    })
}

/// The tenant, when it exists and the key may see it (a tenant it may not
/// see answers as one that does not exist, as for invocations).
pub(crate) fn visible_tenant(
    service: &Service,
    scope: &Scope,
    name: &str,
) -> Option<connector_runtime::Tenant> {
    service.registry().get(name).filter(|_| scope.allows(name))
}

/// `POST /v1/tenants/{tenant}/flows/{flow}/executions`
pub async fn start(
    State(service): State<Service>,
    Extension(scope): Extension<Arc<Scope>>,
    Path((tenant_name, flow)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(tenant) = visible_tenant(&service, &scope, &tenant_name) else {
        return unknown_tenant(&tenant_name);
    };
    let Some(executions) = service.executions() else {
        return not_served(&flow);
    };
    let input = match json_body(body) {
        Ok(input) => input,
        Err(e) => return answer(Err(e), false),
    };
    answer(
        executions.start(&tenant_name, &tenant, &flow, input).await,
        true,
    )
}

/// `GET /v1/tenants/{tenant}/flowExecutions/{execution}`: the poll.
pub async fn read(
    State(service): State<Service>,
    Extension(scope): Extension<Arc<Scope>>,
    Path((tenant_name, id)): Path<(String, String)>,
) -> Response {
    let Some(tenant) = visible_tenant(&service, &scope, &tenant_name) else {
        return unknown_tenant(&tenant_name);
    };
    let Some(executions) = service.executions() else {
        return answer(Err(ExecutionError::NotFound(id)), false);
    };
    answer(executions.read(&tenant_name, &tenant, &id).await, false)
}

/// `POST /v1/tenants/{tenant}/flowExecutions/{execution}`: an action, named
/// by its media type.
pub async fn act(
    State(service): State<Service>,
    Extension(scope): Extension<Arc<Scope>>,
    Path((tenant_name, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(tenant) = visible_tenant(&service, &scope, &tenant_name) else {
        return unknown_tenant(&tenant_name);
    };
    let Some(executions) = service.executions() else {
        return answer(Err(ExecutionError::NotFound(id)), false);
    };
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = match json_body(body) {
        Ok(body) => body,
        Err(e) => return answer(Err(e), false),
    };
    answer(
        executions
            .act(&tenant_name, &tenant, &id, &media_type, body)
            .await,
        false,
    )
}
