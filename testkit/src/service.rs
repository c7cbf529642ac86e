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
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json");
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
