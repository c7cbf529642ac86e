//! The HTTP connector's test server: a small API on loopback with one area
//! per authentication scheme, an OAuth 2 token endpoint, error statuses and
//! a text answer. It records every request, so tests can check what the
//! host sent, and echoes each one, so tests can check what the guest saw.
//!
//! | route | answers |
//! |---|---|
//! | `POST /token` | client credentials (Basic or form), a fresh token |
//! | `ANY /open/...` | the echo, no authentication |
//! | `ANY /key/...` | the echo when `X-API-Key` or `X-Custom-Key` is the API key, else 401 |
//! | `ANY /bearer/...` | the echo when `Authorization: Bearer` is the static token, else 401 |
//! | `ANY /oauth/...` | the echo when the bearer token was issued by `/token`, else 401 |
//! | `ANY /status/{code}/...` | that status with a JSON error body |
//! | `GET /text` | `text/plain` |
//!
//! The echo is `{method, path, query, headers, body}` with lower-case
//! header names; the credential headers are echoed too, as a careless or
//! hostile server would.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};

/// What the server accepts.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The API key of `/key/...`.
    pub api_key: String,
    /// The static bearer token of `/bearer/...`.
    pub bearer: String,
    /// The OAuth client of `/token`.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            api_key: "test-api-key-0123456789".into(),
            bearer: "test-static-bearer-0123456789".into(),
            client_id: "test-client".into(),
            client_secret: "test-client-secret-0123456789".into(),
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string.
    pub query: String,
    /// The headers, lower-case names.
    pub headers: BTreeMap<String, String>,
    /// The body, as text.
    pub body: String,
}

struct ServerState {
    credentials: Credentials,
    issued: Mutex<Vec<String>>,
    token_requests: AtomicU64,
    recorded: Mutex<Vec<Recorded>>,
}

/// A running test server; stopped when dropped.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl TestServer {
    /// Starts the server on an ephemeral loopback port.
    pub async fn start(credentials: Credentials) -> TestServer {
        let state = Arc::new(ServerState {
            credentials,
            issued: Mutex::default(),
            token_requests: AtomicU64::new(0),
            recorded: Mutex::default(),
        });
        let app = Router::new()
            .route("/token", post(token))
            .route("/open/{*rest}", any(open))
            .route("/key/{*rest}", any(key))
            .route("/bearer/{*rest}", any(bearer))
            .route("/oauth/{*rest}", any(oauth))
            .route("/status/{code}/{*rest}", any(status))
            .route("/text", get(text))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("bound");
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestServer {
            addr,
            state,
            handle,
        }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// What it accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.state.credentials
    }

    /// Token requests answered (successful or not).
    pub fn token_requests(&self) -> u64 {
        self.state.token_requests.load(Ordering::Relaxed)
    }

    /// Every token `/token` issued.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued.lock().unwrap().clone()
    }

    /// Every request but `/token`, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.recorded.lock().unwrap().clone()
    }
}

fn record(
    state: &ServerState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Value {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers.clone(),
        body: String::from_utf8_lossy(body).into_owned(),
    };
    let echo = json!({
        "method": recorded.method,
        "path": recorded.path,
        "query": recorded.query,
        "headers": headers,
        "body": recorded.body,
    });
    state.recorded.lock().unwrap().push(recorded);
    echo
}

fn unauthorized(why: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "code": "UNAUTHORIZED", "message": why })),
    )
        .into_response()
}

fn bearer_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}

async fn open(
    State(s): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    Json(record(&s, &method, &uri, &headers, &body)).into_response()
}

async fn key(
    State(s): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let echo = record(&s, &method, &uri, &headers, &body);
    let given = ["x-api-key", "x-custom-key"]
        .iter()
        .filter_map(|h| headers.get(*h)?.to_str().ok())
        .any(|k| k == s.credentials.api_key);
    if given {
        Json(echo).into_response()
    } else {
        unauthorized("the API key is missing or wrong")
    }
}

async fn bearer(
    State(s): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let echo = record(&s, &method, &uri, &headers, &body);
    if bearer_of(&headers).as_deref() == Some(s.credentials.bearer.as_str()) {
        Json(echo).into_response()
    } else {
        unauthorized("the bearer token is missing or wrong")
    }
}

async fn oauth(
    State(s): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let echo = record(&s, &method, &uri, &headers, &body);
    let valid = bearer_of(&headers).is_some_and(|t| s.issued.lock().unwrap().contains(&t));
    if valid {
        Json(echo).into_response()
    } else {
        unauthorized("the access token is missing or was not issued here")
    }
}

async fn status(
    State(s): State<Arc<ServerState>>,
    Path((code, _)): Path<(u16, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&s, &method, &uri, &headers, &body);
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({ "id": "test-error", "code": format!("E{code}"), "message": format!("the test server answers {code}") })),
    )
        .into_response()
}

async fn text() -> Response {
    ([("content-type", "text/plain")], "hello, world").into_response()
}

async fn token(State(s): State<Arc<ServerState>>, headers: HeaderMap, body: Bytes) -> Response {
    s.token_requests.fetch_add(1, Ordering::Relaxed);
    let form: BTreeMap<String, String> = String::from_utf8_lossy(&body)
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.to_owned(), percent_decode(v)))
        })
        .collect();
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    let client = basic.or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    let c = &s.credentials;
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "unsupported_grant_type" })),
        )
            .into_response();
    }
    if client != Some((c.client_id.clone(), c.client_secret.clone())) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    let token = format!("issued-{:032x}", rand::random::<u128>());
    s.issued.lock().unwrap().push(token.clone());
    Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": form.get("scope").cloned().unwrap_or_default(),
    }))
    .into_response()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
