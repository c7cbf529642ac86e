//! The guest's outgoing HTTP, as the host performs it.
//!
//! `wasmtime-wasi-http` hands every request the guest sends to
//! [`Outbound::send_request`]. There the host refuses anything outside the
//! tenant's PingOne base URLs, adds the worker-app bearer token, sends the
//! request over a shared keep-alive client with timeouts in seconds, and
//! bounds the response body. What it refused or failed on is recorded in an
//! [`OutboundReport`] so the runtime can report the real cause, whatever
//! the guest makes of the error it got.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{
    Error as HttpError, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks,
};

use crate::error::Limit;
use crate::resolver::PublicResolver;
use crate::tenant::Tenant;
use crate::token::TokenError;

/// The shared keep-alive client (HTTP/1.1, TLS with the webpki roots).
/// Names are resolved with the rebinding guard of [`PublicResolver`].
pub type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<HttpConnector<PublicResolver>>,
    Full<Bytes>,
>;

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
/// connection (the per-tenant first-byte timeout bounds it too).
pub fn new_client(connect_timeout: Duration) -> HttpClient {
    let mut http = HttpConnector::new_with_resolver(PublicResolver);
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
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
}

/// The per-invocation `WasiHttpHooks`.
pub(crate) struct Outbound {
    /// `None` while reading the manifest: then every request is refused.
    pub tenant: Option<Tenant>,
    pub client: HttpClient,
    pub limits: HttpLimits,
    pub report: Arc<Mutex<OutboundReport>>,
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
        // The guest may not set credentials; the host adds them.
        Arc::new(|name| {
            name == http::header::AUTHORIZATION
                || name == http::header::PROXY_AUTHORIZATION
                || wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(name)
        })
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
                    "at most {} requests per invocation",
                    self.limits.max_requests
                );
                return refused(
                    Some((Limit::Requests, detail)),
                    None,
                    HttpError::HttpRequestDenied,
                );
            }
        }
        let Some(tenant) = self.tenant.clone() else {
            return refused(
                None,
                Some((
                    request.uri().to_string(),
                    "no tenant: the manifest call may not use the network".into(),
                )),
                HttpError::HttpRequestDenied,
            );
        };
        if let Some(reason) = tenant.deny_reason(request.uri()) {
            let uri = request.uri();
            let shown = format!(
                "{}://{}{}",
                uri.scheme_str().unwrap_or("https"),
                uri.authority().map(|a| a.as_str()).unwrap_or(""),
                uri.path()
            );
            tracing::warn!(url = %shown, %reason, "outgoing request denied");
            return refused(None, Some((shown, reason)), HttpError::HttpRequestDenied);
        }

        let client = self.client.clone();
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
                        "request bodies are limited to {} bytes",
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
                tenant,
                client,
                limits,
                first_byte,
                report: report.clone(),
                method: parts.method,
                uri: parts.uri,
                headers: parts.headers,
                body,
                deadline: tokio::time::Instant::now() + limits.request_timeout,
            };
            let response = sender.send().await?;
            let deadline = sender.deadline;
            let response = response.map(|incoming| {
                GuardedBody {
                    inner: incoming,
                    idle: Box::pin(tokio::time::sleep(limits.between_bytes_timeout)),
                    idle_timeout: limits.between_bytes_timeout,
                    total: Box::pin(tokio::time::sleep_until(deadline)),
                    remaining: limits.max_response_bytes,
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

/// One guest request on its way out: authenticated, retried when that is
/// safe, bounded in time.
struct Sender {
    tenant: Tenant,
    client: HttpClient,
    limits: HttpLimits,
    first_byte: Duration,
    report: Arc<Mutex<OutboundReport>>,
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Bytes,
    deadline: tokio::time::Instant,
}

/// What to do after one attempt.
enum Next {
    Done(hyper::Response<hyper::body::Incoming>),
    Fail(HttpError),
    /// Try again after this pause (`None`: the backoff for this retry);
    /// when retries run out, give the caller `last` (PingOne's answer) or
    /// the error.
    Retry(
        Option<Duration>,
        Result<hyper::Response<hyper::body::Incoming>, HttpError>,
    ),
}

impl Sender {
    /// Whether repeating the request cannot do anything twice. A POST may
    /// have created something, so it is never repeated once it may have
    /// reached PingOne.
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

    async fn send(&self) -> Result<hyper::Response<hyper::body::Incoming>, HttpError> {
        let mut retries = 0;
        let mut refreshed_token = false;
        loop {
            let bearer = self.bearer().await?;
            let next = self.attempt(&bearer).await;
            let (pause, last) = match next {
                Next::Done(response)
                    if response.status() == http::StatusCode::UNAUTHORIZED && !refreshed_token =>
                {
                    // The token expired or was revoked early: fetch a new one
                    // and send once more. PingOne did nothing with the request.
                    tracing::debug!("PingOne refused the access token; refreshing it");
                    self.tenant.inner.tokens.invalidate(&bearer).await;
                    refreshed_token = true;
                    continue;
                }
                Next::Done(response) => return Ok(response),
                Next::Fail(e) => return Err(e),
                Next::Retry(pause, last) => (pause, last),
            };
            retries += 1;
            let pause = pause.unwrap_or_else(|| backoff(retries));
            if retries > self.limits.max_retries
                || tokio::time::Instant::now() + pause >= self.deadline
            {
                return last;
            }
            drop(last);
            tracing::debug!(retry = retries, ?pause, "retrying PingOne request");
            tokio::time::sleep(pause).await;
        }
    }

    async fn bearer(&self) -> Result<http::HeaderValue, HttpError> {
        match self
            .tenant
            .inner
            .tokens
            .bearer(&self.tenant.inner, &self.client, self.first_byte)
            .await
        {
            Ok(bearer) => Ok(bearer),
            Err(e) => {
                tracing::warn!(code = %e.code, status = ?e.status, "access token unavailable");
                self.report.lock().unwrap().token_error.get_or_insert(e);
                Err(HttpError::InternalError(Some(
                    "the host could not obtain an access token".into(),
                )))
            }
        }
    }

    async fn attempt(&self, bearer: &http::HeaderValue) -> Next {
        let mut request = http::Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, bearer.clone());
        let budget = self.first_byte.min(
            self.deadline
                .saturating_duration_since(tokio::time::Instant::now()),
        );
        let response = match tokio::time::timeout(budget, self.client.request(request)).await {
            // No answer in time: the request may have been processed.
            Err(_) => return Next::Fail(HttpError::ConnectionReadTimeout),
            Ok(Err(e)) if e.is_connect() => {
                // Never reached PingOne: safe to repeat, whatever the method.
                tracing::debug!(error = %e, "connect failed");
                return Next::Retry(None, Err(HttpError::ConnectionRefused));
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "request failed");
                return if self.idempotent() {
                    Next::Retry(None, Err(HttpError::HttpProtocolError))
                } else {
                    Next::Fail(HttpError::HttpProtocolError)
                };
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        tracing::debug!(method = %self.method, path = self.uri.path(), status, "PingOne answered");
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
            // A wait longer than we are willing to give: let the caller see PingOne's answer.
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

/// A response body with a between-bytes timeout and a size cap.
struct GuardedBody {
    inner: hyper::body::Incoming,
    idle: Pin<Box<tokio::time::Sleep>>,
    idle_timeout: Duration,
    total: Pin<Box<tokio::time::Sleep>>,
    remaining: usize,
    report: Arc<Mutex<OutboundReport>>,
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, |d| d.len());
                if len > self.remaining {
                    let detail = "response body exceeds the configured cap".to_owned();
                    self.report
                        .lock()
                        .unwrap()
                        .limit
                        .get_or_insert((Limit::ResponseSize, detail));
                    return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(None))));
                }
                self.remaining -= len;
                let deadline = tokio::time::Instant::now() + self.idle_timeout;
                self.idle.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(if e.is_timeout() {
                HttpError::HttpResponseTimeout
            } else {
                HttpError::HttpResponseIncomplete
            }))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if self.total.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(HttpError::HttpResponseTimeout)));
                }
                match self.idle.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}
