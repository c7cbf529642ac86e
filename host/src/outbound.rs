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
use crate::tenant::Tenant;
use crate::token::TokenError;

/// The shared keep-alive client (HTTP/1.1, TLS with the webpki roots).
pub type HttpClient =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// HTTP limits of one invocation.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
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
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            connect_timeout: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(15),
            between_bytes_timeout: Duration::from_secs(10),
            max_requests: 8,
            max_request_bytes: 256 * 1024,
            max_response_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Builds the shared client.
pub fn new_client(limits: &HttpLimits) -> HttpClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(limits.connect_timeout));
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
            let bearer = match tenant
                .inner
                .tokens
                .bearer(&tenant.inner, &client, first_byte)
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(code = %e.code, status = ?e.status, "access token unavailable");
                    report.lock().unwrap().token_error.get_or_insert(e);
                    return Err(HttpError::InternalError(Some(
                        "the host could not obtain an access token".into(),
                    )));
                }
            };
            let mut outgoing = http::Request::from_parts(parts, Full::new(body));
            outgoing
                .headers_mut()
                .insert(http::header::AUTHORIZATION, bearer.clone());
            let method = outgoing.method().clone();
            let path = outgoing.uri().path().to_owned();

            let response = match tokio::time::timeout(first_byte, client.request(outgoing)).await {
                Err(_) => return Err(HttpError::ConnectionReadTimeout),
                Ok(Err(e)) if e.is_connect() => {
                    tracing::debug!(error = %e, "connect failed");
                    return Err(HttpError::ConnectionRefused);
                }
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "request failed");
                    return Err(HttpError::HttpProtocolError);
                }
                Ok(Ok(response)) => response,
            };
            tracing::debug!(%method, %path, status = response.status().as_u16(), "PingOne answered");
            if response.status() == http::StatusCode::UNAUTHORIZED {
                // The next request fetches a fresh token.
                tenant.inner.tokens.invalidate(&bearer).await;
            }
            let response = response.map(|incoming| {
                GuardedBody {
                    inner: incoming,
                    idle: Box::pin(tokio::time::sleep(limits.between_bytes_timeout)),
                    idle_timeout: limits.between_bytes_timeout,
                    remaining: limits.max_response_bytes,
                    report: report.clone(),
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

/// A response body with a between-bytes timeout and a size cap.
struct GuardedBody {
    inner: hyper::body::Incoming,
    idle: Pin<Box<tokio::time::Sleep>>,
    idle_timeout: Duration,
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
            Poll::Pending => match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}
