//! Fault injection: make the emulator misbehave the ways a real PingOne or
//! the network can, so the host's fault handling can be tested.
//!
//! A fault matches requests by method and a path fragment and applies to
//! the next `times` matches (or to all). It is consulted before routing, so
//! it can also break the token endpoint. Rust callers use
//! [`crate::Emulator::inject`]; over HTTP, `POST /_emulator/faults` takes
//! `{"method"?, "pathContains", "times"?, "action": {...}}` with the action
//! spelled as [`FaultAction`] serializes, e.g.
//! `{"respond": {"status": 503, "retryAfter": 1}}`, and `DELETE /_emulator/faults`
//! clears them.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What a faulty answer looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultAction {
    /// Answer `status` with a PingOne error body (or `body` when given) and
    /// an optional `Retry-After` in seconds.
    #[serde(rename_all = "camelCase")]
    Respond {
        /// HTTP status.
        status: u16,
        /// The body; `None` gives PingOne's error body for the status.
        #[serde(default)]
        body: Option<Value>,
        /// `Retry-After` seconds.
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Accept the request and never answer.
    Hang,
    /// Send 200 headers, then never send the body.
    StallAfterHeaders,
    /// Send 200 headers and half a JSON body, then drop the connection.
    Truncate,
    /// Answer 200 with a body that is not JSON.
    NotJson,
    /// Wait, then handle the request normally.
    Delay {
        /// Milliseconds to wait.
        millis: u64,
    },
    /// Handle the request normally, then echo its `Authorization` header
    /// back, as a misconfigured proxy or an impostor would: in an
    /// `x-echo-authorization` response header and, for a JSON object body,
    /// in an `echoedAuthorization` member.
    Reflect,
    /// Send 200 headers declaring a 64 KiB JSON body, then one byte every
    /// `interval_millis`: each gap is short, the whole never ends in time.
    Trickle {
        /// Milliseconds between bytes.
        interval_millis: u64,
    },
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// Only requests with this method (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose path contains this.
    pub path_contains: String,
    /// How many matching requests it applies to; all when absent.
    #[serde(default)]
    pub times: Option<u32>,
    /// What to do.
    pub action: FaultAction,
}

impl Fault {
    /// A fault on every request whose path contains `path_contains`.
    pub fn new(path_contains: impl Into<String>, action: FaultAction) -> Fault {
        Fault {
            method: None,
            path_contains: path_contains.into(),
            times: None,
            action,
        }
    }

    /// Only for the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Fault {
        self.times = Some(n);
        self
    }

    /// Only for requests with `method`.
    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_ascii_uppercase());
        self
    }
}

/// The active faults of one emulator.
#[derive(Default)]
pub struct Faults {
    active: Mutex<Vec<Fault>>,
    /// Requests a fault was applied to, since start.
    hits: std::sync::atomic::AtomicU64,
}

impl Faults {
    /// Adds a fault; earlier faults match first.
    pub fn inject(&self, fault: Fault) {
        self.active.lock().unwrap().push(fault);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.active.lock().unwrap().clear();
    }

    /// How many requests a fault was applied to since start: faulted
    /// requests never reach the API's own counters.
    pub fn hits(&self) -> u64 {
        self.hits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The action for this request, using up one of the fault's `times`.
    fn take(&self, method: &str, path: &str) -> Option<FaultAction> {
        // The control endpoints themselves are never faulted.
        if path.starts_with("/_emulator/") {
            return None;
        }
        let mut active = self.active.lock().unwrap();
        let index = active.iter().position(|f| {
            f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && path.contains(&f.path_contains)
        })?;
        let action = active[index].action.clone();
        self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(times) = active[index].times.as_mut() {
            *times -= 1;
            if *times == 0 {
                active.remove(index);
            }
        }
        Some(action)
    }
}

/// The middleware: applies a matching fault or passes the request on.
pub async fn inject(State(faults): State<Arc<Faults>>, request: Request, next: Next) -> Response {
    let action = faults.take(request.method().as_str(), request.uri().path());
    match action {
        None => next.run(request).await,
        Some(FaultAction::Delay { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            next.run(request).await
        }
        Some(FaultAction::Hang) => {
            std::future::pending::<()>().await;
            unreachable!("a pending future never completes")
        }
        Some(FaultAction::Respond {
            status,
            body,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = body.unwrap_or_else(|| pingone_error(status));
            let mut response = (status, Json(body)).into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from(seconds));
            }
            response
        }
        Some(FaultAction::Reflect) => {
            let echoed = request.headers().get(header::AUTHORIZATION).cloned();
            let response = next.run(request).await;
            match echoed {
                Some(value) => reflect(response, value).await,
                None => response,
            }
        }
        Some(FaultAction::Trickle { interval_millis }) => {
            let mut response = json_response(Body::new(Trickle {
                interval: Duration::from_millis(interval_millis),
                sleep: None,
                sent: 0,
            }));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(TRICKLE_BYTES));
            response
        }
        Some(FaultAction::StallAfterHeaders) => json_response(Body::new(Stalled)),
        Some(FaultAction::Truncate) => json_response(Body::new(Truncated { sent: false })),
        Some(FaultAction::NotJson) => {
            let mut response = (
                StatusCode::OK,
                "<html><body>Service temporarily unavailable</body></html>",
            )
                .into_response();
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("text/html"));
            response
        }
    }
}

fn json_response(body: Body) -> Response {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// PingOne's error body for `status` (reference §2.3).
fn pingone_error(status: StatusCode) -> Value {
    let (code, message) = match status.as_u16() {
        400 => ("INVALID_DATA", "The request could not be completed. One or more validation errors were in the request."),
        401 => ("ACCESS_FAILED", "The request could not be completed. You do not have access to this resource."),
        403 => ("ACCESS_FAILED", "The request could not be completed. You do not have permissions or are not licensed to make this request."),
        404 => ("NOT_FOUND", "The request could not be completed. The requested resource was not found."),
        409 => ("REQUEST_FAILED", "The request could not be completed. The resource is in a conflicting state."),
        415 => ("INVALID_REQUEST", "The request could not be completed. The media type is not supported."),
        429 => ("REQUEST_LIMITED", "The request could not be completed. Too many requests."),
        500 => ("UNEXPECTED_ERROR", "The request could not be completed. An unexpected error occurred."),
        _ => ("UNEXPECTED_ERROR", "The request could not be completed. The service is unavailable."),
    };
    let mut body =
        json!({ "id": uuid::Uuid::new_v4().to_string(), "code": code, "message": message });
    let detail = match status.as_u16() {
        401 => Some(json!({ "code": "INVALID_TOKEN", "message": "The access token is invalid." })),
        403 => Some(
            json!({ "code": "INSUFFICIENT_PERMISSIONS", "message": "The worker app lacks a role." }),
        ),
        429 => Some(
            json!({ "code": "LIMIT_EXCEEDED", "message": "Rate limit exceeded.", "innerError": { "retryAfter": "1s" } }),
        ),
        _ => None,
    };
    if let Some(detail) = detail {
        body["details"] = json!([detail]);
    }
    body
}

/// Adds the echoed `Authorization` value to `response`.
async fn reflect(response: Response, echoed: HeaderValue) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 16 << 20).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut body = bytes.to_vec();
    if let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&bytes) {
        let text = String::from_utf8_lossy(echoed.as_bytes()).into_owned();
        object.insert("echoedAuthorization".into(), Value::String(text));
        body = Value::Object(object).to_string().into_bytes();
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert("x-echo-authorization", echoed);
    Response::from_parts(parts, Body::from(body))
}

/// The length a trickling body declares.
const TRICKLE_BYTES: u64 = 64 * 1024;

/// A body that sends one byte per interval.
struct Trickle {
    interval: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    sent: u64,
}

impl http_body::Body for Trickle {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.sent >= TRICKLE_BYTES {
            return Poll::Ready(None);
        }
        let interval = self.interval;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
        match sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.sleep = None;
                self.sent += 1;
                let byte = if self.sent == 1 { "[" } else { " " };
                Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(
                    byte.as_bytes(),
                )))))
            }
        }
    }
}

/// A body that never produces a frame.
struct Stalled;

impl http_body::Body for Stalled {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Pending
    }
}

/// A body that sends half a JSON object, then fails, which makes the server
/// drop the connection mid-body.
struct Truncated {
    sent: bool,
}

impl http_body::Body for Truncated {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if self.sent {
            return Poll::Ready(Some(Err(std::io::Error::other(
                "fault injection: connection cut",
            ))));
        }
        self.sent = true;
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(
            b"{\"id\":\"half-a-dev",
        )))))
    }
}

/// `POST /_emulator/faults`
pub async fn add(State(faults): State<Arc<Faults>>, Json(fault): Json<Fault>) -> StatusCode {
    faults.inject(fault);
    StatusCode::NO_CONTENT
}

/// `DELETE /_emulator/faults`
pub async fn clear(State(faults): State<Arc<Faults>>) -> StatusCode {
    faults.clear();
    StatusCode::NO_CONTENT
}
