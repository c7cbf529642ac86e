//! The admin API (admin keys only, which the request context enforces from
//! the route table): tenants and their connections at run
//! time, their counters, and reloading the tenants file. Connections added
//! here are the tenant's own settings ([`Trust::Tenant`]): literal values,
//! URL settings bounded by the operator's network policy.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use connector_runtime::{Error, Tenant, Trust};
use serde_json::{json, Map, Value};

use crate::errors::refusal;
use crate::Service;

fn tenant_json(name: &str, tenant: &Tenant) -> Value {
    let connections: Vec<Value> = tenant
        .connectors()
        .map(|c| json!({ "connector": c, "trust": tenant.trust(c) }))
        .collect();
    json!({ "tenant": name, "connections": connections, "stats": tenant.stats() })
}

fn not_found(what: &str) -> Response {
    refusal(StatusCode::NOT_FOUND, "notFound", what.to_owned())
}

/// A settings error as 400, with the runtime's error body.
fn invalid(e: &Error) -> Response {
    (StatusCode::BAD_REQUEST, Json(e.to_json())).into_response()
}

/// `GET /v1/admin/tenants`
pub async fn list_tenants(State(service): State<Service>) -> Response {
    let tenants: Vec<Value> = service
        .registry()
        .names()
        .iter()
        .filter_map(|n| service.registry().get(n).map(|t| tenant_json(n, &t)))
        .collect();
    Json(json!({ "tenants": tenants })).into_response()
}

/// `GET /v1/admin/tenants/{tenant}`
pub async fn read_tenant(State(service): State<Service>, Path(name): Path<String>) -> Response {
    match service.registry().get(&name) {
        Some(tenant) => Json(tenant_json(&name, &tenant)).into_response(),
        None => not_found("no such tenant"),
    }
}

/// `DELETE /v1/admin/tenants/{tenant}`
pub async fn delete_tenant(State(service): State<Service>, Path(name): Path<String>) -> Response {
    match service.registry().remove(&name) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found("no such tenant"),
    }
}

/// `PUT /v1/admin/tenants/{tenant}/connections/{connector}`
pub async fn put_connection(
    State(service): State<Service>,
    Path((name, connector_name)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if name.is_empty()
        || name.len() > 128
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return refusal(
            StatusCode::BAD_REQUEST,
            "badRequest",
            "a tenant name is 1-128 letters, digits, '-', '_' or '.'",
        );
    }
    let Some(connector) = service.runtime().connector(&connector_name) else {
        return not_found("no such connector");
    };
    let settings: Map<String, Value> = match body.ok().and_then(|b| serde_json::from_slice(&b).ok())
    {
        Some(Value::Object(settings)) => settings,
        _ => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "badRequest",
                "the body must be a JSON object of settings",
            )
        }
    };
    let existing = service.registry().get(&name);
    let builder = match &existing {
        Some(existing) => Ok(existing.to_builder()),
        None => Tenant::builder(service.tenant_limits()),
    };
    let tenant = match builder.and_then(|b| b.connect(&connector, settings, Trust::Tenant)) {
        // A replaced connection with the same credential keeps its token.
        Ok(b) => match &existing {
            Some(existing) => b.build().succeeding(existing),
            None => b.build(),
        },
        Err(e) => return invalid(&e),
    };
    service.registry().insert(&name, tenant.clone());
    tracing::info!(tenant = %name, connector = %connector_name, "connection set by the admin API");
    Json(tenant_json(&name, &tenant)).into_response()
}

/// `DELETE /v1/admin/tenants/{tenant}/connections/{connector}`
pub async fn delete_connection(
    State(service): State<Service>,
    Path((name, connector)): Path<(String, String)>,
) -> Response {
    let Some(existing) = service.registry().get(&name) else {
        return not_found("no such tenant");
    };
    if existing.trust(&connector).is_none() {
        return not_found("no such connection");
    }
    service
        .registry()
        .insert(&name, existing.to_builder().disconnect(&connector).build());
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /v1/admin/reload`
pub async fn reload(State(service): State<Service>) -> Response {
    match service.reload() {
        Ok(n) => Json(json!({ "tenantsFromFile": n })).into_response(),
        Err(e) => invalid(&e),
    }
}
