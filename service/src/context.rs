//! What every request carries through the service: a request id, the W3C
//! trace id when the caller sent `traceparent`, the caller's key scope, and
//! one span (with one log line at the end) per request. Keys never reach a
//! log: the span names the key by its configured name.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::errors::refusal;
use crate::keys::Scope;
use crate::routes::{no_such_route, route_of, Access};
use crate::Service;

/// The request's id, echoed as `x-request-id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The trace id of the caller's `traceparent`, when it sent a valid one.
#[derive(Debug, Clone)]
pub struct TraceId(pub String);

/// `traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`;
/// the trace id, unless it is malformed or all zeros.
pub fn trace_id_of(traceparent: &str) -> Option<String> {
    let parts: Vec<&str> = traceparent.trim().split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    match parts.as_slice() {
        [version, trace, parent, flags]
            if hex(version, 2)
                && *version != "ff"
                && hex(trace, 32)
                && hex(parent, 16)
                && hex(flags, 2)
                && trace.bytes().any(|b| b != b'0') =>
        {
            Some(trace.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// The middleware: request id and trace id, the key check (but for the
/// open routes), the span, the metrics and the closing log line.
pub async fn around(State(service): State<Service>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| route_of(method.as_str(), p.as_str()));
    let path = route.map_or("unmatched", |r| r.path);
    let id = format!("{:016x}", rand::random::<u64>());
    let trace = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(trace_id_of);
    // Access is the route table's: open routes need no key, admin routes an
    // admin key (others get the 404 of a route that does not exist), the
    // rest any valid key; tenant scopes are checked by the invocation,
    // which knows the tenant. The key is checked before the span is made,
    // so the span is built once with every field it will hold.
    let access = route.map(|r| r.access);
    let scope: Option<Arc<Scope>> = match access {
        Some(Access::Open) => None,
        _ => request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|key| service.keys().verify(key.trim())),
    };
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %method,
        route = path,
        trace_id = trace.as_deref().unwrap_or(""),
        key = scope.as_ref().map_or("", |s| s.name.as_str()),
    );
    request.extensions_mut().insert(RequestId(id.clone()));
    if let Some(trace) = &trace {
        request.extensions_mut().insert(TraceId(trace.clone()));
    }
    let mut response = match (access, scope) {
        (Some(Access::Open), _) => next.run(request).instrument(span.clone()).await,
        (_, None) => refusal(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <api key>",
        ),
        (Some(Access::Admin), Some(scope)) if !scope.admin => no_such_route(),
        (_, Some(scope)) => {
            request.extensions_mut().insert(scope);
            next.run(request).instrument(span.clone()).await
        }
    };
    let status = response.status();
    service.metrics().http(path, status.as_u16());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    // One line per request, at a level by outcome: a success at debug (the
    // metrics count those; a line each would cost more than the routing),
    // a refusal at info, a failure of the service or its connector at warn.
    let micros = started.elapsed().as_micros() as u64;
    span.in_scope(|| match status.as_u16() {
        500.. => tracing::warn!(status = status.as_u16(), micros, "answered"),
        400.. => tracing::info!(status = status.as_u16(), micros, "answered"),
        _ => tracing::debug!(status = status.as_u16(), micros, "answered"),
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_yields_its_trace_id() {
        assert_eq!(
            trace_id_of("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "garbage",
        ] {
            assert_eq!(trace_id_of(bad), None, "{bad}");
        }
    }
}
