//! The guest's outgoing HTTP, as the host performs it.
//!
//! `wasmtime-wasi-http` hands every request the guest sends to
//! [`Outbound::send_request`]. There the host refuses credentials the guest
//! set itself and anything outside the connection's declared bases, adds
//! the connection's credential (an OAuth 2 bearer token or a header built
//! from a secret), sends the request over a shared keep-alive client (whose
//! connector enforces the network policy) with timeouts in seconds, masks
//! the connection's secrets in whatever comes back, and bounds the
//! response body. What it refused or failed on is recorded in an
//! [`OutboundReport`] so the runtime can report the real cause, whatever
//! the guest makes of the error it got.

mod body;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{
    Error as HttpError, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks,
};

use crate::connection::{Connection, Credential};
use crate::deadline::{within, Deadlines};
use crate::error::Limit;
use crate::policy::NetworkPolicy;
use crate::resolver::{refusal, GuardedConnector, PolicyResolver};
use crate::token::TokenError;
use body::GuardedBody;

/// The shared keep-alive client (HTTP/1.1, TLS with the webpki roots).
/// Every connection passes the network policy first ([`GuardedConnector`]).
pub type HttpClient =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<GuardedConnector>, Full<Bytes>>;

/// HTTP limits of one invocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HttpLimits {
    /// Time from sending a request to the response headers.
    pub first_byte_timeout: Duration,
    /// Longest pause between two chunks of a response body.
    pub between_bytes_timeout: Duration,
    /// Requests one invocation may send.
    pub max_requests: u32,
    /// Largest request body the guest may send.
    pub max_request_bytes: usize,
    /// Largest response body the guest may receive.
    pub max_response_bytes: usize,
    /// Total time of one request, from sending to the end of the body, retries included.
    pub request_timeout: Duration,
    /// Retries of one request (429, 5xx of idempotent requests, connection failures).
    pub max_retries: u32,
    /// Longest `Retry-After` honoured; longer waits fail at once.
    pub max_retry_after: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            first_byte_timeout: Duration::from_secs(15),
            between_bytes_timeout: Duration::from_secs(10),
            max_requests: 8,
            max_request_bytes: 256 * 1024,
            max_response_bytes: 4 * 1024 * 1024,
            request_timeout: Duration::from_secs(20),
            max_retries: 2,
            max_retry_after: Duration::from_secs(5),
        }
    }
}

/// Builds the shared client; `connect_timeout` bounds establishing a
/// connection (the per-tenant first-byte timeout bounds it too), `policy`
/// decides which addresses it may reach.
pub fn new_client(connect_timeout: Duration, policy: Arc<NetworkPolicy>) -> HttpClient {
    let mut http = HttpConnector::new_with_resolver(PolicyResolver::new(policy.clone()));
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .wrap_connector(GuardedConnector::new(http, policy));
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(https)
}

/// What happened below the guest during one invocation.
#[derive(Debug, Default)]
pub(crate) struct OutboundReport {
    pub requests: u32,
    pub denied: Option<(String, String)>,
    pub token_error: Option<TokenError>,
    pub limit: Option<(Limit, String)>,
    /// The first request that failed below HTTP, with the real cause: the
    /// guest only gets a `wasi:http` error code.
    pub transport: Option<TransportFailure>,
}

/// A request that got no (complete) HTTP answer, as the host saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransportFailure {
    /// The `wasi:http` error code, in kebab case, e.g. `http-response-timeout`.
    pub code: &'static str,
    /// What happened, naming the limit that ended it.
    pub message: String,
}

impl TransportFailure {
    fn new(code: &'static str, message: String) -> Self {
        TransportFailure { code, message }
    }
    fn timeout(message: String) -> Self {
        Self::new("http-response-timeout", message)
    }
    fn incomplete(message: String) -> Self {
        Self::new("http-response-incomplete", message)
    }
    fn protocol(message: String) -> Self {
        Self::new("http-protocol-error", message)
    }

    /// The error code the guest is handed.
    fn to_http_error(&self) -> HttpError {
        match self.code {
            "http-response-timeout" => HttpError::HttpResponseTimeout,
            "http-response-incomplete" => HttpError::HttpResponseIncomplete,
            "connection-refused" => HttpError::ConnectionRefused,
            "dns-error" => HttpError::DnsError {
                rcode: None,
                info_code: None,
            },
            _ => HttpError::HttpProtocolError,
        }
    }
}

/// How a failed attempt ended, before it reaches the guest.
enum Failure {
    /// The network policy refused the destination.
    Denied(String),
    /// No token (already recorded in the report).
    Token,
    /// No (complete) answer.
    Transport(TransportFailure),
}

/// Whether hyper saw the connection close before the message was complete.
fn is_incomplete(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(cause) = current {
        if cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
        {
            return true;
        }
        current = cause.source();
    }
    false
}

/// The error chain of `e` as one line, without hyper's generic prefixes.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current = e.source();
    while let Some(cause) = current {
        parts.push(cause.to_string());
        current = cause.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// The per-invocation `WasiHttpHooks`.
pub(crate) struct Outbound {
    /// `None` while reading the manifest: then every request is refused.
    pub connection: Option<Arc<Connection>>,
    pub client: HttpClient,
    pub limits: HttpLimits,
    pub report: Arc<Mutex<OutboundReport>>,
    pub deadlines: Deadlines,
}

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for Outbound {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        // `Authorization` is not forbidden here on purpose: `send_request`
        // refuses a request that carries it with a `denied` error that says
        // why, where a forbidden header would only fail inside the guest.
        Arc::new(|name| wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(name))
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> ResponseFuture {
        let report = self.report.clone();
        let refused = |limit: Option<(Limit, String)>,
                       denied: Option<(String, String)>,
                       error: HttpError|
         -> ResponseFuture {
            let mut r = report.lock().unwrap();
            if r.limit.is_none() {
                r.limit = limit;
            }
            if r.denied.is_none() {
                r.denied = denied;
            }
            Box::new(async move { Err(error) })
        };

        {
            let mut r = report.lock().unwrap();
            r.requests += 1;
            if r.requests > self.limits.max_requests {
                drop(r);
                let detail = format!(
                    "at most {} requests per invocation (maxRequests)",
                    self.limits.max_requests
                );
                return refused(
                    Some((Limit::Requests, detail)),
                    None,
                    HttpError::HttpRequestDenied,
                );
            }
        }
        // Only a refusal names the URL: built then, not per request.
        let shown = || shown_url(request.uri());
        let Some(connection) = self.connection.clone() else {
            return refused(
                None,
                Some((
                    shown(),
                    "no connection: the manifest call may not use the network".into(),
                )),
                HttpError::HttpRequestDenied,
            );
        };
        for name in [
            http::header::AUTHORIZATION,
            http::header::PROXY_AUTHORIZATION,
        ] {
            if request.headers().contains_key(&name) {
                let reason = format!(
                    "the connector may not set {name}: the host authenticates its requests"
                );
                let shown = shown();
                tracing::warn!(url = %shown, %reason, "outgoing request denied");
                return refused(None, Some((shown, reason)), HttpError::HttpRequestDenied);
            }
        }
        if let Some(reason) = connection.deny_reason(request.uri()) {
            let shown = shown();
            tracing::warn!(url = %shown, %reason, "outgoing request denied");
            return refused(None, Some((shown, reason)), HttpError::HttpRequestDenied);
        }

        let client = self.client.clone();
        let deadlines = self.deadlines.clone();
        let limits = self.limits;
        let first_byte = options
            .and_then(|o| o.first_byte_timeout)
            .map_or(limits.first_byte_timeout, |t| {
                t.min(limits.first_byte_timeout)
            });
        Box::new(async move {
            let (parts, body) = request.into_parts();
            let body = match Limited::new(body, limits.max_request_bytes).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => {
                    let detail = format!(
                        "request bodies are limited to {} bytes (maxRequestBytes)",
                        limits.max_request_bytes
                    );
                    report
                        .lock()
                        .unwrap()
                        .limit
                        .get_or_insert((Limit::RequestSize, detail));
                    return Err(HttpError::HttpRequestBodySize(None));
                }
            };
            let sender = Sender {
                connection,
                client,
                limits,
                first_byte,
                report: report.clone(),
                method: parts.method,
                uri: parts.uri,
                headers: parts.headers,
                body,
                deadline: std::time::Instant::now() + limits.request_timeout,
                deadlines,
            };
            let (mut response, bearer) = match sender.send().await {
                Ok(sent) => sent,
                Err(failure) => return Err(sender.record(failure)),
            };
            // The token this request carried and the connection's secrets
            // never reach the guest, even when the server echoes them.
            let scrubber = match &bearer {
                Some(bearer) => sender.connection.scrubber.with_token(
                    bearer
                        .as_bytes()
                        .strip_prefix(b"Bearer ")
                        .unwrap_or_default(),
                ),
                None => sender.connection.scrubber.clone(),
            };
            for value in response.headers_mut().values_mut() {
                if let Some(clean) = scrubber.header(value) {
                    *value = clean;
                }
            }
            let expected = response
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            let deadline = sender.deadline;
            let response = response.map(|incoming| {
                GuardedBody {
                    inner: incoming,
                    idle: sender.deadlines.after(limits.between_bytes_timeout),
                    idle_timeout: limits.between_bytes_timeout,
                    total: sender.deadlines.at(deadline),
                    request_timeout: limits.request_timeout,
                    remaining: limits.max_response_bytes,
                    received: 0,
                    expected,
                    scrubber: scrubber.stream(),
                    flushed: false,
                    report,
                }
                .boxed_unsync()
            });
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// `scheme://host[:port]/path` of a request: no query (it may hold user
/// data) and no user information (it may hold a password).
fn shown_url(uri: &http::Uri) -> String {
    let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        uri.scheme_str().unwrap_or("https"),
        uri.host().unwrap_or(""),
        uri.path()
    )
}

/// One guest request on its way out: authenticated, retried when that is
/// safe, bounded in time.
struct Sender {
    connection: Arc<Connection>,
    client: HttpClient,
    limits: HttpLimits,
    first_byte: Duration,
    report: Arc<Mutex<OutboundReport>>,
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Bytes,
    deadline: std::time::Instant,
    deadlines: Deadlines,
}

/// What to do after one attempt.
enum Next {
    Done(hyper::Response<hyper::body::Incoming>),
    Fail(Failure),
    /// Try again after this pause (`None`: the backoff for this retry);
    /// when retries run out, give the caller `last` (the server's answer) or
    /// the failure.
    Retry(
        Option<Duration>,
        Result<hyper::Response<hyper::body::Incoming>, Failure>,
    ),
}

/// The response and the bearer token the request carried, if it had one.
type Sent = (
    hyper::Response<hyper::body::Incoming>,
    Option<http::HeaderValue>,
);

impl Sender {
    /// Whether repeating the request cannot do anything twice. A POST may
    /// have created something, so it is never repeated once it may have
    /// reached the server.
    fn idempotent(&self) -> bool {
        matches!(
            self.method,
            http::Method::GET
                | http::Method::HEAD
                | http::Method::PUT
                | http::Method::DELETE
                | http::Method::OPTIONS
        )
    }

    /// Sends the request; the response and the bearer token it carried.
    async fn send(&self) -> Result<Sent, Failure> {
        let mut retries = 0;
        let mut refreshed_token = false;
        loop {
            let credential = self.credential().await?;
            let next = self.attempt(credential.as_ref()).await;
            let bearer = match (&self.connection.credential, credential) {
                (Credential::OAuth2(_), Some((_, bearer))) => Some(bearer),
                _ => None,
            };
            let (pause, last) = match (next, &self.connection.credential, &bearer) {
                (Next::Done(response), Credential::OAuth2(grant), Some(rejected))
                    if response.status() == http::StatusCode::UNAUTHORIZED && !refreshed_token =>
                {
                    // The token expired or was revoked early: fetch a new one
                    // and send once more. The server did nothing with the request.
                    tracing::debug!("the server refused the access token; refreshing it");
                    grant.tokens.invalidate(rejected).await;
                    refreshed_token = true;
                    continue;
                }
                (Next::Done(response), ..) => return Ok((response, bearer)),
                (Next::Fail(e), ..) => return Err(e),
                (Next::Retry(pause, last), ..) => (pause, last),
            };
            retries += 1;
            let pause = pause.unwrap_or_else(|| backoff(retries));
            if retries > self.limits.max_retries
                || std::time::Instant::now() + pause >= self.deadline
            {
                return last.map(|response| (response, bearer));
            }
            drop(last);
            tracing::debug!(retry = retries, ?pause, "retrying the request");
            tokio::time::sleep(pause).await;
        }
    }

    /// Records a final failure in the report; the code the guest is handed.
    fn record(&self, failure: Failure) -> HttpError {
        let mut report = self.report.lock().unwrap();
        match failure {
            Failure::Denied(reason) => {
                report.denied.get_or_insert((shown_url(&self.uri), reason));
                HttpError::HttpRequestDenied
            }
            Failure::Token => {
                HttpError::InternalError(Some("the host could not obtain an access token".into()))
            }
            Failure::Transport(failure) => {
                let error = failure.to_http_error();
                report.transport.get_or_insert(failure);
                error
            }
        }
    }

    /// The header the connection's credential adds, if any.
    async fn credential(&self) -> Result<Option<(http::HeaderName, http::HeaderValue)>, Failure> {
        let grant = match &self.connection.credential {
            Credential::None => return Ok(None),
            Credential::Header { name, value } => return Ok(Some((name.clone(), value.clone()))),
            Credential::OAuth2(grant) => grant,
        };
        match grant
            .tokens
            .bearer(
                grant,
                &self.connection.scrubber,
                &self.client,
                self.first_byte,
            )
            .await
        {
            Ok(bearer) => Ok(Some((http::header::AUTHORIZATION, bearer))),
            Err(e) if e.refused => Err(Failure::Denied(e.message)),
            Err(e) => {
                tracing::warn!(code = %e.code, status = ?e.status, "access token unavailable");
                self.report.lock().unwrap().token_error.get_or_insert(e);
                Err(Failure::Token)
            }
        }
    }

    async fn attempt(&self, credential: Option<&(http::HeaderName, http::HeaderValue)>) -> Next {
        let mut request = http::Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        if let Some((name, value)) = credential {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        let (budget, which) = if self.first_byte <= left {
            (self.first_byte, "firstByteTimeoutMs")
        } else {
            (left, "requestTimeoutMs")
        };
        let deadline = self.deadlines.after(budget);
        let response = match within(deadline, self.client.request(request)).await {
            // No answer in time: the request may have been processed.
            Err(_) => {
                let message = format!(
                    "no response headers within {which} ({} ms)",
                    budget.as_millis()
                );
                return Next::Fail(Failure::Transport(TransportFailure::timeout(message)));
            }
            Ok(Err(e)) => {
                if let Some(reason) = refusal(&e) {
                    return Next::Fail(Failure::Denied(reason));
                }
                let destination = format!(
                    "{}:{}",
                    self.uri.host().unwrap_or_default(),
                    self.uri
                        .port_u16()
                        .unwrap_or(if self.uri.scheme_str() == Some("http") {
                            80
                        } else {
                            443
                        })
                );
                tracing::debug!(error = %e, %destination, "request failed");
                let message = format!("{destination}: {}", causes(&e));
                if e.is_connect() {
                    // Never reached the server: safe to repeat, whatever the method.
                    let code = if message.contains("dns error") {
                        "dns-error"
                    } else {
                        "connection-refused"
                    };
                    let failure = TransportFailure::new(code, message);
                    return Next::Retry(None, Err(Failure::Transport(failure)));
                }
                let failure = if is_incomplete(&e) {
                    Failure::Transport(TransportFailure::incomplete(format!(
                        "the response was truncated: {message}"
                    )))
                } else {
                    Failure::Transport(TransportFailure::protocol(message))
                };
                return if self.idempotent() {
                    Next::Retry(None, Err(failure))
                } else {
                    Next::Fail(failure)
                };
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        tracing::debug!(method = %self.method, path = self.uri.path(), status, "the server answered");
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let retryable =
            status == 429 || (matches!(status, 500 | 502 | 503 | 504) && self.idempotent());
        match (retryable, retry_after) {
            (false, _) => Next::Done(response),
            // A wait longer than we are willing to give: let the caller see the server's answer.
            (true, Some(wait)) if wait > self.limits.max_retry_after => Next::Done(response),
            (true, Some(wait)) => Next::Retry(Some(wait), Ok(response)),
            (true, None) => Next::Retry(None, Ok(response)),
        }
    }
}

/// 100 ms before the first retry, doubling, plus up to 50 ms of jitter so
/// that many invocations do not retry in step.
fn backoff(retry: u32) -> Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() % 50);
    Duration::from_millis(100 * 2u64.pow(retry.saturating_sub(1).min(5)) + u64::from(jitter))
}
