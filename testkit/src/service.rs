//! The service under test: a [`connector_service::Service`] on a real
//! loopback listener ([`Served`]), and a keep-alive HTTP client for it
//! ([`ApiClient`]) whose answers are parsed once ([`Answer`]). The service
//! tests and the service benchmark share these.

use bytes::Bytes;
use connector_service::server::{serve, Drained};
use connector_service::Service;
use http::HeaderMap;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A service listening on `127.0.0.1` (a free port) until [`Served::stop`].
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The service (clones share its state: registry, metrics).
    pub service: Service,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Drained>,
}

impl Served {
    /// Serves `service` on a free loopback port.
    pub async fn start(service: Service) -> Served {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(service.clone(), listener, None, async {
            let _ = stopped.await;
        }));
        Served {
            base,
            service,
            stop: Some(stop),
            task,
        }
    }

    /// A client for this service presenting `key` (none when `None`).
    pub fn client(&self, key: Option<&str>) -> ApiClient {
        ApiClient::new(&self.base, key)
    }

    /// Stops accepting, drains, and says how the drain ended.
    pub async fn stop(mut self) -> Drained {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.expect("the server task ends")
    }
}

/// One answer: status, headers, the body as text and as JSON (`Null` when
/// it is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
    /// The body as JSON, or `Null`.
    pub json: Value,
}

impl Answer {
    /// The error body's `kind`, when the answer is an error.
    pub fn kind(&self) -> Option<&str> {
        self.json["error"]["kind"].as_str()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A keep-alive HTTP/1.1 client for one service and one key. Cheap to
/// clone; clones share the connection pool.
#[derive(Clone)]
pub struct ApiClient {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    key: Option<String>,
}

impl ApiClient {
    /// A client for `base` presenting `key`.
    pub fn new(base: &str, key: Option<&str>) -> ApiClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        ApiClient {
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(256)
                .build(connector),
            base: base.trim_end_matches('/').to_owned(),
            key: key.map(str::to_owned),
        }
    }

    /// The same pool with another key.
    pub fn with_key(&self, key: Option<&str>) -> ApiClient {
        ApiClient {
            key: key.map(str::to_owned),
            ..self.clone()
        }
    }

    /// `method path` with `body` (JSON text, may be empty).
    pub async fn send(&self, method: &str, path: &str, body: impl Into<Bytes>) -> Answer {
        self.send_with(method, path, &[], body).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, Bytes::new()).await
    }

    /// `POST` the capability's input for `tenant`.
    pub async fn invoke(
        &self,
        tenant: &str,
        connector: &str,
        capability: &str,
        input: &Value,
    ) -> Answer {
        let path = format!("/v1/tenants/{tenant}/connectors/{connector}/capabilities/{capability}");
        self.send("POST", &path, input.to_string()).await
    }

    /// `method path` with extra `headers` and `body`.
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Answer {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        // JSON unless the caller names its own media type.
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            request = request.header("content-type", "application/json");
        }
        if let Some(key) = &self.key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body.into()))
            .expect("a valid request");
        let response = self
            .client
            .request(request)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("the body arrives")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }
}

/// A bare TCP connection to a [`Served`] service, for what a well-behaved
/// HTTP client never does: stalling mid-headers, oversized headers, more
/// connections than the server allows. It reads with `try_read` so that it
/// needs no more of tokio than the service does.
pub struct RawConnection {
    stream: tokio::net::TcpStream,
}

impl RawConnection {
    /// Connects to `base` (`http://127.0.0.1:PORT`).
    pub async fn open(base: &str) -> RawConnection {
        let address = base.trim_start_matches("http://").trim_end_matches('/');
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("the service accepts TCP connections");
        RawConnection { stream }
    }

    /// Writes `bytes`; false when the server closed the connection first
    /// (a server may close as soon as it has seen enough).
    pub async fn send(&mut self, bytes: &[u8]) -> bool {
        let mut sent = 0;
        while sent < bytes.len() {
            if self.stream.writable().await.is_err() {
                return false;
            }
            match self.stream.try_write(&bytes[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return false,
            }
        }
        true
    }

    /// Reads for at most `within`: the bytes received, and whether the
    /// server closed (or reset) the connection by then.
    pub async fn read_until_closed(&mut self, within: std::time::Duration) -> (Vec<u8>, bool) {
        let deadline = tokio::time::Instant::now() + within;
        let mut received = Vec::new();
        loop {
            match self.read_some(deadline).await {
                Some(Some(chunk)) => received.extend_from_slice(&chunk),
                Some(None) => return (received, true),
                None => return (received, false),
            }
        }
    }

    /// Reads one whole answer (head and a `content-length` body) within
    /// `within`; `None` when the server closed or stayed silent instead.
    pub async fn read_answer(&mut self, within: std::time::Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + within;
        let mut received = Vec::new();
        loop {
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if received.len() >= end + 4 + length {
                    return Some(text);
                }
            }
            received.extend_from_slice(&self.read_some(deadline).await??);
        }
    }

    /// `None`: the deadline passed; `Some(None)`: the connection closed;
    /// `Some(Some(bytes))`: bytes arrived.
    async fn read_some(&mut self, deadline: tokio::time::Instant) -> Option<Option<Vec<u8>>> {
        loop {
            match tokio::time::timeout_at(deadline, self.stream.readable()).await {
                Err(_) => return None,
                Ok(Err(_)) => return Some(None),
                Ok(Ok(())) => {}
            }
            let mut buffer = [0u8; 8192];
            match self.stream.try_read(&mut buffer) {
                Ok(0) => return Some(None),
                Ok(n) => return Some(Some(buffer[..n].to_vec())),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return Some(None),
            }
        }
    }
}
