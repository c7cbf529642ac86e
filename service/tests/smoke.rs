//! The service end to end over a real loopback listener: health, auth,
//! one invocation through the PingOne connector against the emulator, and
//! a graceful drain.

use bytes::Bytes;
use connector_service::server::{serve, Drained};
use connector_service::{Keys, ServeConfig, Service};
use connector_testkit::{pingone_tenant, test_config};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

async fn call(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    method: &str,
    url: &str,
    key: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut request = http::Request::builder().method(method).uri(url);
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = client
        .request(
            request
                .body(Full::new(Bytes::from(body.to_owned())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invocation_over_http_then_a_graceful_drain() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let seed = emulator.seed();
    let runtime = connector_testkit::runtime(test_config()).await;
    let tenant = pingone_tenant(&runtime, &emulator, seed, Default::default());
    let service = Service::new(
        runtime,
        &ServeConfig::default(),
        Keys::single("t", "k-acme", false, &["acme"]),
    )
    .unwrap();
    service.registry().insert("acme", tenant);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(service, listener, None, async {
        let _ = stopped.await;
    }));
    let client = Client::builder(TokioExecutor::new()).build_http();

    assert_eq!(
        call(&client, "GET", &format!("{base}/healthz"), None, "")
            .await
            .0,
        200
    );
    let (status, body) = call(&client, "GET", &format!("{base}/v1/connectors"), None, "").await;
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (401, Some("unauthorized"))
    );
    let invoke =
        format!("{base}/v1/tenants/acme/connectors/pingone-mfa/capabilities/readUserMFAEnabled");
    let input = json!({ "userId": seed.users[0].id }).to_string();
    let (status, body) = call(&client, "POST", &invoke, Some("k-acme"), &input).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.is_object());
    let other = invoke.replace("/acme/", "/globex/");
    let (status, body) = call(&client, "POST", &other, Some("k-acme"), &input).await;
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (404, Some("unknownTenant"))
    );
    let (status, body) = call(&client, "POST", &invoke, Some("k-acme"), "{}").await;
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (400, Some("invalidInput"))
    );

    drop(client);
    stop.send(()).unwrap();
    assert_eq!(server.await.unwrap(), Drained::Complete);
}
