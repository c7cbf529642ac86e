//! The service end to end over a real loopback listener, the shortest
//! path: health, a refused key, one invocation through the PingOne
//! connector against the emulator, and a graceful drain. The full API
//! matrix is in the contract tests (`tests/tests/serve*.rs`).

use connector_service::server::Drained;
use connector_service::{Keys, ServeConfig, Service};
use connector_testkit::service::Served;
use connector_testkit::{pingone_tenant, test_config, PINGONE};
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invocation_over_http_then_a_graceful_drain() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let seed = emulator.seed();
    let runtime = connector_testkit::runtime(test_config()).await;
    let tenant = pingone_tenant(&runtime, &emulator, seed, Default::default());
    let service = Service::new(
        runtime,
        &ServeConfig::default(),
        Keys::single("t", "k-acme-0123456789", false, &["acme"]),
    )
    .unwrap();
    service.registry().insert("acme", tenant);
    let served = Served::start(service).await;
    let anonymous = served.client(None);
    let client = served.client(Some("k-acme-0123456789"));

    assert_eq!(anonymous.get("/healthz").await.status, 200);
    let refused = anonymous.get("/v1/connectors").await;
    assert_eq!(
        (refused.status, refused.kind()),
        (401, Some("unauthorized"))
    );

    let input = json!({ "userId": seed.users[0].id });
    let ok = client
        .invoke("acme", PINGONE, "readUserMFAEnabled", &input)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.json.is_object());
    let other = client
        .invoke("globex", PINGONE, "readUserMFAEnabled", &input)
        .await;
    assert_eq!((other.status, other.kind()), (404, Some("unknownTenant")));
    let invalid = client
        .invoke("acme", PINGONE, "readUserMFAEnabled", &json!({}))
        .await;
    assert_eq!(
        (invalid.status, invalid.kind()),
        (400, Some("invalidInput"))
    );

    drop((anonymous, client));
    assert_eq!(served.stop().await, Drained::Complete);
}
