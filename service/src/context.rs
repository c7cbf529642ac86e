//! What every request carries through the service: a request id, the W3C
//! trace id when the caller sent `traceparent`, the caller's key scope, and
//! one span (with one log line at the end) per request. Keys never reach a
//! log: the span names the key by its configured name.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::errors::refusal;
use crate::keys::Scope;
use crate::routes::{access_of, no_such_route, Access};
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
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let id = format!("{:016x}", rand::random::<u64>());
    let trace = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(trace_id_of);
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %method,
        route = %route,
        trace_id = trace.as_deref().unwrap_or(""),
        key = tracing::field::Empty,
    );
    request.extensions_mut().insert(RequestId(id.clone()));
    if let Some(trace) = &trace {
        request.extensions_mut().insert(TraceId(trace.clone()));
    }
    let mut response = async {
        // Access is the route table's: open routes need no key, admin
        // routes an admin key (others get the 404 of a route that does not
        // exist), the rest any valid key; tenant scopes are checked by the
        // invocation, which knows the tenant.
        let access = access_of(method.as_str(), &route);
        if access != Some(Access::Open) {
            let presented = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            let scope: Option<Scope> = presented.and_then(|key| service.keys().verify(key.trim()));
            match scope {
                Some(scope) if access == Some(Access::Admin) && !scope.admin => {
                    tracing::Span::current().record("key", scope.name.as_str());
                    return no_such_route();
                }
                Some(scope) => {
                    tracing::Span::current().record("key", scope.name.as_str());
                    request.extensions_mut().insert(scope);
                }
                None => {
                    return refusal(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "send Authorization: Bearer <api key>",
                    )
                }
            }
        }
        next.run(request).await
    }
    .instrument(span.clone())
    .await;
    let status = response.status();
    service.metrics().http(&route, status.as_u16());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "answered"
        )
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
