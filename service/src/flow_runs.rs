//! The flow run routes: a flow template of the service's library started
//! for a tenant, watched step by step (a long poll), its waits answered by
//! the caller, or in `serve --dev` by the emulator's end user
//! (`connector_flows::runs`), or cancelled. A key's scope is checked as for
//! invocations.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use connector_flows::{Answerer, RunView};
use serde::Deserialize;
use serde_json::Value;

use crate::errors::{flow_error, refusal_at, unknown_tenant};
use crate::executions::{body_json, visible_tenant};
use crate::keys::Scope;
use crate::Service;

/// The longest a watch may wait for a change: below every proxy's idle
/// timeout, and short enough for a drain to finish within its grace.
pub const MAX_WATCH_MS: u64 = 10_000;

fn bad_request(kind: &str, pointer: &str, summary: impl Into<String>) -> Response {
    refusal_at(StatusCode::BAD_REQUEST, kind, pointer, summary)
}

/// The refusal of a body object with a key besides `allowed` (a misspelt
/// key would otherwise be ignored), naming it by its pointer.
fn stray_key(body: &Value, allowed: &[&str]) -> Option<Response> {
    let other = body
        .as_object()
        .and_then(|b| b.keys().find(|k| !allowed.contains(&k.as_str())))?;
    let shown: String = other.chars().take(64).collect();
    Some(bad_request(
        "invalidRequest",
        &format!("/{}", shown.replace('~', "~0").replace('/', "~1")),
        format!("the body's keys are {}; nothing else", allowed.join(", ")),
    ))
}

fn answer(result: Result<RunView, connector_flows::FlowError>, created: bool) -> Response {
    match result {
        Ok(view) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(view)).into_response()
        }
        Err(e) => flow_error(&e),
    }
}

/// `POST /v1/tenants/{tenant}/flows/{flow}/runs`:
/// `{"input": {...}, "answeredBy": "watcher" | "endUser"}`.
pub async fn start(
    State(service): State<Service>,
    Extension(scope): Extension<Arc<Scope>>,
    Path((tenant_name, flow)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(tenant) = visible_tenant(&service, &scope, &tenant_name) else {
        return unknown_tenant(&tenant_name);
    };
    let body = match body_json(body) {
        Ok(Value::Null) => Value::Object(Default::default()),
        Ok(body @ Value::Object(_)) => body,
        Ok(_) => return bad_request("invalidRequest", "", "the body is not a JSON object"),
        Err(why) => return bad_request("invalidRequest", "", format!("the body is {why}")),
    };
    if let Some(refused) = stray_key(&body, &["input", "answeredBy"]) {
        return refused;
    }
    let input = body
        .get("input")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let answerer =
        match body.get("answeredBy") {
            None => Answerer::Watcher,
            Some(Value::String(who)) if who == "watcher" => Answerer::Watcher,
            Some(Value::String(who)) if who == "endUser" => match service.dev_end_user() {
                Some(end_user) => Answerer::EndUser(end_user()),
                None => return bad_request(
                    "notDevelopment",
                    "/answeredBy",
                    "only connector-host serve --dev has an end user of its own (the emulator's)",
                ),
            },
            Some(_) => {
                return bad_request(
                    "invalidRequest",
                    "/answeredBy",
                    "answeredBy is \"watcher\" (the caller answers the waits) or \"endUser\"",
                )
            }
        };
    answer(
        service.flow_runs().start(
            &tenant_name,
            service.runtime(),
            &tenant,
            &service.flow_library(),
            &flow,
            input,
            answerer,
        ),
        true,
    )
}

/// `DELETE /v1/tenants/{tenant}/flowRuns/{run}`: the run, cancelled.
pub async fn cancel(
    State(service): State<Service>,
    Extension(scope): Extension<Arc<Scope>>,
    Path((tenant_name, id)): Path<(String, String)>,
) -> Response {
    if visible_tenant(&service, &scope, &tenant_name).is_none() {
        return unknown_tenant(&tenant_name);
    }
    answer(service.flow_runs().cancel(&tenant_name, &id), false)
}

/// What a watch asks for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WatchQuery {
    /// The steps from this index on.
    #[serde(default)]
    after: usize,
    /// Answer once the run's version passes this one.
    #[serde(default)]
    since: u64,
    /// How long to wait for that, at most [`MAX_WATCH_MS`] (0: answer now).
    #[serde(default)]
    wait_ms: u64,
}

/// `GET /v1/tenants/{tenant}/flowRuns/{run}?after=&since=&waitMs=`: the run,
/// once it changed past `since` or `waitMs` went by.
pub async fn read(
    State(service): State<Service>,
    Extension(scope): Extension<Arc<Scope>>,
    Path((tenant_name, id)): Path<(String, String)>,
    query: Result<Query<WatchQuery>, QueryRejection>,
) -> Response {
    if visible_tenant(&service, &scope, &tenant_name).is_none() {
        return unknown_tenant(&tenant_name);
    }
    let Query(query) = match query {
        Ok(query) => query,
        Err(rejection) => {
            let why: String = rejection.body_text().chars().take(300).collect();
            return bad_request("invalidRequest", "", format!("the query: {why}"));
        }
    };
    if query.wait_ms > MAX_WATCH_MS {
        return bad_request(
            "invalidRequest",
            "",
            format!("waitMs is at most {MAX_WATCH_MS}"),
        );
    }
    answer(
        service
            .flow_runs()
            .watch(
                &tenant_name,
                &id,
                query.after,
                query.since,
                Duration::from_millis(query.wait_ms),
            )
            .await,
        false,
    )
}

/// `POST /v1/tenants/{tenant}/flowRuns/{run}/answer`:
/// `{"nodeId": "...", "answer": <the answer>}`.
pub async fn answer_wait(
    State(service): State<Service>,
    Extension(scope): Extension<Arc<Scope>>,
    Path((tenant_name, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if visible_tenant(&service, &scope, &tenant_name).is_none() {
        return unknown_tenant(&tenant_name);
    }
    let body = match body_json(body) {
        Ok(body) => body,
        Err(why) => return bad_request("invalidRequest", "", format!("the body is {why}")),
    };
    if let Some(refused) = stray_key(&body, &["nodeId", "answer"]) {
        return refused;
    }
    let Some(given) = body.get("answer").cloned() else {
        return bad_request(
            "invalidRequest",
            "/answer",
            "the body is {\"nodeId\": <the waiting node>, \"answer\": <the answer>}",
        );
    };
    let node_id = match body.get("nodeId") {
        None => None,
        Some(Value::String(node)) => Some(node.as_str()),
        Some(_) => return bad_request("invalidRequest", "/nodeId", "nodeId is a string"),
    };
    answer(
        service
            .flow_runs()
            .answer(&tenant_name, &id, node_id, given),
        false,
    )
}
