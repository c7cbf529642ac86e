//! Every route of the service, declared once: [`ROUTES`] is what the
//! router registers and what the OpenAPI document describes. The public
//! handlers live here; the admin ones in `admin.rs`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{middleware, Json, Router};
use connector_runtime::{Error, Limit};
use serde_json::{json, Value};
use tracing::Instrument;

use crate::context::TraceId;
use crate::errors::{kind_of, refusal, runtime_error, unknown_tenant};
use crate::keys::Scope;
use crate::{admin, context, executions, flow_runs, openapi, playground, Service};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (liveness, readiness).
    Open,
    /// Any valid key.
    Key,
    /// A key whose scope holds the route's `{tenant}`.
    Tenant,
    /// An admin key.
    Admin,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// The path, with `{param}` placeholders (axum's and OpenAPI's syntax).
    pub path: &'static str,
    /// The OpenAPI operation id; also picks the handler.
    pub operation: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Its query parameters (each an integer), with what each means.
    pub query: &'static [(&'static str, &'static str)],
    /// What the request body is, when there is one.
    pub body: Option<&'static str>,
    /// The statuses it answers, with what each means.
    pub responses: &'static [(u16, &'static str)],
}

const AUTH: (u16, &str) = (401, "No key, or a key the service does not know.");

/// Every route.
pub const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/", operation: "playground", summary: "The playground page: capabilities as forms from their schemas, invoked with the key entered in the page.", access: Access::Open, query: &[], body: None,
        responses: &[(200, "The page (HTML).")] },
    Route { method: "GET", path: "/playground/app.js", operation: "playgroundScript", summary: "The playground's script.", access: Access::Open, query: &[], body: None,
        responses: &[(200, "The script.")] },
    Route { method: "GET", path: "/playground/runs.js", operation: "playgroundRunsScript", summary: "The playground's script for flow runs.", access: Access::Open, query: &[], body: None,
        responses: &[(200, "The script.")] },
    Route { method: "GET", path: "/playground/app.css", operation: "playgroundStyle", summary: "The playground's style sheet.", access: Access::Open, query: &[], body: None,
        responses: &[(200, "The style sheet.")] },
    Route { method: "GET", path: "/healthz", operation: "health", summary: "Whether the process is alive.", access: Access::Open, query: &[], body: None,
        responses: &[(200, "Alive.")] },
    Route { method: "GET", path: "/readyz", operation: "ready", summary: "Whether connectors and tenants are loaded.", access: Access::Open, query: &[], body: None,
        responses: &[(200, "Ready: connectors and tenants loaded."), (503, "Not ready yet.")] },
    Route { method: "GET", path: "/metrics", operation: "metrics", summary: "Prometheus text: invocations, latency, in flight, queued, token fetches, traps, limit hits, HTTP requests.", access: Access::Admin, query: &[], body: None,
        responses: &[(200, "The metrics."), AUTH, (404, "Not an admin key.")] },
    Route { method: "GET", path: "/openapi.json", operation: "openapi", summary: "This document.", access: Access::Key, query: &[], body: None,
        responses: &[(200, "The OpenAPI 3.1 document of the service."), AUTH] },
    Route { method: "GET", path: "/v1/connectors", operation: "listConnectors", summary: "Every loaded connector with its capabilities (id, WIT function, title).", access: Access::Key, query: &[], body: None,
        responses: &[(200, "The connectors."), AUTH] },
    Route { method: "GET", path: "/v1/connectors/{connector}", operation: "readConnector", summary: "A connector's manifest.", access: Access::Key, query: &[], body: None,
        responses: &[(200, "The manifest."), AUTH, (404, "No such connector.")] },
    Route { method: "GET", path: "/v1/connectors/{connector}/capabilities/{capability}", operation: "readCapability", summary: "A capability with its input and output schemas.", access: Access::Key, query: &[], body: None,
        responses: &[(200, "The capability."), AUTH, (404, "No such connector or capability.")] },
    Route { method: "POST", path: "/v1/tenants/{tenant}/connectors/{connector}/capabilities/{capability}", operation: "invoke",
        summary: "Invoke a capability for a tenant: the body is the capability's input, the answer its output.", access: Access::Tenant, query: &[],
        body: Some("The capability's input JSON (its inputSchema)."),
        responses: &[(200, "The capability's output JSON (its outputSchema)."), (400, "invalidInput: the input broke the capability's contract (pointer names the field)."), AUTH,
            (404, "unknownTenant (or a tenant this key may not see), unknownConnector, unknownCapability."), (413, "The input is larger than allowed."),
            (429, "The tenant's concurrency slots and queue are full; retry after Retry-After."), (500, "The connector broke: trap, invalidOutput, internal, its own limits."),
            (502, "The API refused (api, with its status in the body) or could not be reached (transport, token, denied)."),
            (503, "No instance slot free; retry after Retry-After."), (504, "A timeout: the invocation's wall clock or an HTTP timeout.")] },
    Route { method: "POST", path: "/v1/tenants/{tenant}/flows/{flow}/executions", operation: "startExecution",
        summary: "Start a flow execution (seed 002's MFA enrollment step as the flow mfa-enrollment) with the flow's input; the answer is the execution in PingOne's HAL style.", access: Access::Tenant, query: &[],
        body: Some("The step's input: {\"user\": {\"id\", \"email\", \"mobilePhone\"}, \"webauthn\": {\"compatibility\"}, \"template\": {\"locale\", \"variables\"}, \"configuration\": {...}}."),
        responses: &[(201, "The execution: id, status, the state's properties, _links (self and one per valid action)."), (400, "The input is invalid (PingOne's error shape)."), AUTH, (404, "No such tenant (or one this key may not see), or no such flow."), (502, "PingOne could not be reached or refused.")] },
    Route { method: "GET", path: "/v1/tenants/{tenant}/flowExecutions/{execution}", operation: "readExecution",
        summary: "Read (poll) an execution; in PAIRING_REQUIRED it checks whether the phone has paired.", access: Access::Tenant, query: &[], body: None,
        responses: &[(200, "The execution."), AUTH, (404, "No such execution, or it expired."), (409, "An action on it is in progress.")] },
    Route { method: "POST", path: "/v1/tenants/{tenant}/flowExecutions/{execution}", operation: "actOnExecution",
        summary: "Act on an execution: Content-Type application/vnd.pingidentity.<action>+json names the action (device.create, device.activate, device.skipEnrollment, device.delete, otp.resend).", access: Access::Tenant, query: &[],
        body: Some("The action's parameters."),
        responses: &[(200, "The execution after the action."), (400, "An action not valid in this state, an unknown media type, a bad parameter, or PingOne's own 400 (a wrong OTP)."), AUTH, (404, "No such execution, or it expired."), (409, "Another action on it is in progress."), (502, "PingOne could not be reached.")] },
    Route { method: "POST", path: "/v1/tenants/{tenant}/flows/{flow}/runs", operation: "startFlowRun",
        summary: "Run a flow template of GET /v1/flows for the tenant; the answer is the run (RUNNING), which goes on in the service: watch it with readFlowRun, answer its waits with answerFlowRun.", access: Access::Tenant, query: &[],
        body: Some("{\"input\": the flow's input (its inputSchema), \"answeredBy\": \"watcher\" (default: the caller answers the waits) or \"endUser\" (serve --dev: the emulator's end user does)}."),
        responses: &[(201, "The run: id, flowId, status, version, stepCount, steps, answeredBy."), (400, "flowInput: the input broke the flow's inputSchema (pointer names the field); invalidRequest; notDevelopment (endUser outside serve --dev)."), AUTH,
            (404, "unknownTenant (or a tenant this key may not see), unknownFlow."), (429, "tooManyRuns: as many of the tenant's runs (16) or of all runs (256) as allowed are unfinished; retry after Retry-After, or cancel one.")] },
    Route { method: "GET", path: "/v1/tenants/{tenant}/flowRuns/{run}", operation: "readFlowRun",
        summary: "Watch a run (a long poll): its steps from ?after= on, once its version passes ?since= or ?waitMs= went by; WAITING comes with the wait's request, COMPLETED with the result, FAILED with the error (naming the node).", access: Access::Tenant,
        query: &[("after", "The index of the first step to return (default 0: all of them)."), ("since", "Answer once the run's version is past this one (default 0)."), ("waitMs", "How long to wait for that, at most 10000 (default 0: answer at once).")], body: None,
        responses: &[(200, "The run."), (400, "invalidRequest: a bad query."), AUTH, (404, "unknownTenant, or unknownRun (none, another tenant's, or forgotten).")] },
    Route { method: "DELETE", path: "/v1/tenants/{tenant}/flowRuns/{run}", operation: "cancelFlowRun",
        summary: "Cancel a run: it stops where it is (an invocation in flight is dropped) and is CANCELLED; it stays readable. A run that already ended stays as it ended.", access: Access::Tenant, query: &[], body: None,
        responses: &[(200, "The run, CANCELLED (or as it ended)."), AUTH, (404, "unknownTenant, unknownRun.")] },
    Route { method: "POST", path: "/v1/tenants/{tenant}/flowRuns/{run}/answer", operation: "answerFlowRun",
        summary: "Answer the wait a run is at (an OTP, a choice, a WebAuthn credential, an approval): the run goes on.", access: Access::Tenant, query: &[],
        body: Some("{\"nodeId\": the waiting node (optional: checked when given), \"answer\": the answer (the code as a string, the chosen value, ...)}."),
        responses: &[(200, "The run, RUNNING again."), (400, "invalidRequest: no answer."), AUTH, (404, "unknownTenant, unknownRun."), (409, "notWaiting: the run is not at a wait, or at another node, or its end user answers.")] },
    Route { method: "GET", path: "/v1/admin/tenants", operation: "listTenants", summary: "Every tenant with its counters.", access: Access::Admin, query: &[], body: None,
        responses: &[(200, "The tenants."), AUTH, (404, "Not an admin key.")] },
    Route { method: "GET", path: "/v1/admin/tenants/{tenant}", operation: "readTenant", summary: "A tenant's connections (connector and trust, never settings) and counters.", access: Access::Admin, query: &[], body: None,
        responses: &[(200, "The tenant."), AUTH, (404, "No such tenant, or not an admin key.")] },
    Route { method: "DELETE", path: "/v1/admin/tenants/{tenant}", operation: "deleteTenant", summary: "Remove a tenant; invocations running finish.", access: Access::Admin, query: &[], body: None,
        responses: &[(204, "Removed."), AUTH, (404, "No such tenant, or not an admin key.")] },
    Route { method: "PUT", path: "/v1/admin/tenants/{tenant}/connections/{connector}", operation: "putConnection",
        summary: "Add or replace a tenant's connection to a connector; the settings are the tenant's own (literal, bounded by the operator's network policy). A new tenant gets the configured tenant limits.", access: Access::Admin, query: &[],
        body: Some("The connection settings (the connector's settings schema)."),
        responses: &[(200, "The connection is in use."), (400, "tenant: a setting is invalid (field names it)."), AUTH, (404, "No such connector, or not an admin key.")] },
    Route { method: "DELETE", path: "/v1/admin/tenants/{tenant}/connections/{connector}", operation: "deleteConnection", summary: "Remove a tenant's connection to a connector.", access: Access::Admin, query: &[], body: None,
        responses: &[(204, "Removed."), AUTH, (404, "No such tenant or connection, or not an admin key.")] },
    Route { method: "GET", path: "/v1/flows", operation: "listFlows", summary: "The flow templates of serve.toml's [flows] dir (DaVinci's export shape; serve --dev: flows/), which startFlowRun runs and the playground draws.", access: Access::Key, query: &[], body: None,
        responses: &[(200, "The definitions."), AUTH] },
    Route { method: "GET", path: "/v1/dev/outbox", operation: "devOutbox", summary: "The messages (OTPs) the development emulator sent, newest last: connector-host serve --dev only.", access: Access::Admin, query: &[], body: None,
        responses: &[(200, "The messages."), AUTH, (404, "Not serve --dev, or not an admin key.")] },
    Route { method: "POST", path: "/v1/admin/reload", operation: "reload", summary: "Read the tenants file again (as SIGHUP does).", access: Access::Admin, query: &[], body: None,
        responses: &[(200, "Reloaded."), (400, "The file is invalid; nothing changed."), AUTH, (404, "Not an admin key.")] },
];

fn filter(method: &str) -> MethodFilter {
    match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        other => panic!("route method {other} is not served"),
    }
}

/// The handler of `route`, on its method.
fn handler(route: &Route) -> MethodRouter<Service> {
    let f = filter(route.method);
    match route.operation {
        "playground" => on(f, playground::index),
        "playgroundScript" => on(f, playground::script),
        "playgroundRunsScript" => on(f, playground::runs_script),
        "playgroundStyle" => on(f, playground::style),
        "health" => on(f, health),
        "ready" => on(f, ready),
        "metrics" => on(f, metrics),
        "openapi" => on(f, openapi_document),
        "listConnectors" => on(f, list_connectors),
        "readConnector" => on(f, read_connector),
        "readCapability" => on(f, read_capability),
        "invoke" => on(f, invoke),
        "listTenants" => on(f, admin::list_tenants),
        "readTenant" => on(f, admin::read_tenant),
        "deleteTenant" => on(f, admin::delete_tenant),
        "putConnection" => on(f, admin::put_connection),
        "deleteConnection" => on(f, admin::delete_connection),
        "reload" => on(f, admin::reload),
        "devOutbox" => on(f, dev_outbox),
        "listFlows" => on(f, list_flows),
        "startExecution" => on(f, executions::start),
        "readExecution" => on(f, executions::read),
        "actOnExecution" => on(f, executions::act),
        "startFlowRun" => on(f, flow_runs::start),
        "readFlowRun" => on(f, flow_runs::read),
        "answerFlowRun" => on(f, flow_runs::answer_wait),
        "cancelFlowRun" => on(f, flow_runs::cancel),
        other => panic!("route operation {other} has no handler"),
    }
}

/// The router of every route, with the request context and the body limit.
pub fn router(service: Service) -> Router {
    let mut router = Router::new();
    // Each path once, in the table's order, with all of its methods.
    let mut paths: Vec<&str> = Vec::new();
    for route in ROUTES {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    for path in paths {
        let methods = ROUTES
            .iter()
            .filter(|r| r.path == path)
            .fold(MethodRouter::new(), |all, r| all.merge(handler(r)));
        router = router.route(path, methods);
    }
    let max_body = service.server_limits().max_body_bytes;
    router
        .fallback(|| async { no_such_route() })
        .method_not_allowed_fallback(|| async {
            refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                "methodNotAllowed",
                "this route does not take that method",
            )
        })
        .layer(middleware::from_fn_with_state(
            service.clone(),
            context::around,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(service)
}

/// The route `method path` (`path` as the router matched it, with its
/// `{param}` placeholders), if there is one.
pub(crate) fn route_of(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// The answer for a route that does not exist, which is also what a key
/// that may not use the admin API gets there: it learns nothing about them.
pub(crate) fn no_such_route() -> Response {
    refusal(StatusCode::NOT_FOUND, "notFound", "no such route")
}

fn unknown_connector(name: &str) -> Response {
    let shown: String = name.chars().take(128).collect();
    refusal(
        StatusCode::NOT_FOUND,
        "unknownConnector",
        format!("no connector '{shown}'"),
    )
}

async fn list_flows(State(service): State<Service>) -> Json<Value> {
    let library = service.flow_library();
    let mut flows: Vec<&connector_flows::FlowDefinition> = library.flows().collect();
    flows.sort_by(|a, b| a.name.cmp(&b.name));
    Json(json!({ "flows": flows }))
}

async fn dev_outbox(State(service): State<Service>) -> Response {
    match service.dev_outbox() {
        Some(read) => Json(json!({ "messages": read() })).into_response(),
        None => refusal(
            StatusCode::NOT_FOUND,
            "notDevelopment",
            "only connector-host serve --dev has a development emulator and its outbox",
        ),
    }
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(service): State<Service>) -> Response {
    let body = json!({
        "status": if service.is_ready() { "ready" } else { "starting" },
        "connectors": service.runtime().connectors().len(),
        "tenants": service.registry().len(),
    });
    let status = if service.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn metrics(State(service): State<Service>) -> Response {
    let runs = service.flow_runs().census();
    let text = service.metrics().render(&service.tenant_stats(), &runs);
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}

async fn openapi_document() -> Json<Value> {
    Json(openapi::document())
}

async fn list_connectors(State(service): State<Service>) -> Json<Value> {
    let connectors: Vec<Value> = service
        .runtime()
        .connectors()
        .iter()
        .map(|c| {
            let capabilities: Vec<Value> = c
                .capabilities()
                .map(|cap| json!({ "id": cap.id, "witFunction": cap.wit_function, "title": cap.title }))
                .collect();
            json!({ "name": c.name(), "version": c.manifest().version, "title": c.manifest().title, "capabilities": capabilities })
        })
        .collect();
    Json(json!({ "connectors": connectors }))
}

async fn read_connector(State(service): State<Service>, Path(connector): Path<String>) -> Response {
    match service.runtime().connector(&connector) {
        Some(c) => Json(c.manifest_json().clone()).into_response(),
        None => unknown_connector(&connector),
    }
}

async fn read_capability(
    State(service): State<Service>,
    Path((connector, capability)): Path<(String, String)>,
) -> Response {
    let Some(c) = service.runtime().connector(&connector) else {
        return unknown_connector(&connector);
    };
    match c.capability(&capability) {
        Some(cap) => Json(json!({
            "connector": cap.connector, "id": cap.id, "witFunction": cap.wit_function, "title": cap.title,
            "description": cap.description, "inputSchema": cap.input_schema, "outputSchema": cap.output_schema,
        }))
        .into_response(),
        None => runtime_error(&Error::UnknownCapability { capability }),
    }
}

async fn invoke(
    State(service): State<Service>,
    Extension(scope): Extension<Arc<Scope>>,
    trace: Option<Extension<TraceId>>,
    Path((tenant_name, connector, capability)): Path<(String, String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // A tenant the key may not see answers exactly as one that does not exist.
    if !scope.allows(&tenant_name) {
        return unknown_tenant(&tenant_name);
    }
    let Some(tenant) = service.registry().get(&tenant_name) else {
        return unknown_tenant(&tenant_name);
    };
    let Some(c) = service.runtime().connector(&connector) else {
        return unknown_connector(&connector);
    };
    if c.capability(&capability).is_none() {
        return runtime_error(&Error::UnknownCapability { capability });
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return refusal(
                rejection.status(),
                "payloadTooLarge",
                format!(
                    "the body is larger than {} bytes (server.maxBodyBytes)",
                    service.server_limits().max_body_bytes
                ),
            )
        }
    };
    let Ok(input) = std::str::from_utf8(&body) else {
        return runtime_error(&Error::InvalidInput {
            capability,
            pointer: String::new(),
            message: "the body is not UTF-8 text".into(),
        });
    };
    // The invocation's own span, inside the request's: what it is for and
    // the caller's trace id, on every line logged while it runs.
    let span = tracing::info_span!(
        "invocation",
        tenant = %tenant_name,
        connector = %connector,
        capability = %capability,
        trace_id = trace.as_ref().map_or("", |t| t.0 .0.as_str()),
    );
    let started = Instant::now();
    let _flight = service.metrics().start();
    let result = c
        .invoke(&tenant, &capability, input)
        .instrument(span.clone())
        .await;
    let (response, outcome, limit) = match &result {
        Ok(output) => (Json(output).into_response(), "ok".to_owned(), None),
        Err(e) => {
            let limit = match e {
                Error::Limit { limit, .. } => Some(limit_name(*limit)),
                _ => None,
            };
            (runtime_error(e), kind_of(&e.to_json()).to_owned(), limit)
        }
    };
    span.in_scope(|| tracing::debug!(outcome = %outcome, "invocation finished"));
    service.metrics().invocation(
        &tenant_name,
        &connector,
        &capability,
        &outcome,
        limit,
        started.elapsed(),
    );
    response
}

fn limit_name(limit: Limit) -> &'static str {
    match limit {
        Limit::Memory => "memory",
        Limit::Cpu => "cpu",
        Limit::WallClock => "wallClock",
        Limit::Requests => "requests",
        Limit::InputSize => "inputSize",
        Limit::OutputSize => "outputSize",
        Limit::ResponseSize => "responseSize",
        Limit::RequestSize => "requestSize",
        Limit::Instances => "instances",
        Limit::Concurrency => "concurrency",
    }
}
