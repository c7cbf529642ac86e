//! The floor every host figure is compared with: the same HTTP requests sent
//! by a native Rust client (hyper, keep-alive, `TCP_NODELAY`), with the
//! response parsed into JSON. The client
//! fetches its own bearer token once, with the emulator's seeded client
//! credentials, so that token fetching stays out of every native sample.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pingone_emulator::Emulator;
use serde_json::Value;

type NativeClient = Client<HttpConnector, Full<Bytes>>;

/// The floor: the same requests from native Rust, keep-alive, with the
/// response parsed into JSON.
#[derive(Clone)]
pub struct Native {
    client: NativeClient,
    bearer: http::HeaderValue,
}

impl Native {
    pub async fn new(emulator: &Emulator) -> Native {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(http);
        let seed = emulator.seed();
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", seed.client_id, seed.client_secret));
        let request = http::Request::post(format!(
            "{}/{}/as/token",
            emulator.auth_url(),
            seed.environment_id
        ))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(
            b"grant_type=client_credentials",
        )))
        .unwrap();
        let response = client.request(request).await.expect("token request");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: Value = serde_json::from_slice(&body).unwrap();
        let token = json["access_token"].as_str().expect("access_token");
        Native {
            client,
            bearer: http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        }
    }

    /// One request; the status and the parsed body.
    pub async fn send(&self, req: &NativeRequest) -> (u16, Value) {
        let mut builder = http::Request::builder()
            .method(req.method.clone())
            .uri(req.uri.clone())
            .header(http::header::AUTHORIZATION, self.bearer.clone())
            .header(http::header::ACCEPT, "application/json");
        if let Some(ct) = req.content_type {
            builder = builder.header(http::header::CONTENT_TYPE, ct);
        }
        let request = builder.body(Full::new(req.body.clone())).unwrap();
        let response = self.client.request(request).await.expect("native request");
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

/// One native request, built before the timing starts so that only sending
/// it and parsing the answer is measured.
#[derive(Clone)]
pub struct NativeRequest {
    pub method: http::Method,
    pub uri: http::Uri,
    pub content_type: Option<&'static str>,
    pub body: Bytes,
}
