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

/// A reload rebuilds every tenant of the file, but one whose credential did
/// not change keeps its token and its counters: a SIGHUP costs no token
/// request and no metric reset. A changed credential fetches a new token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_unchanged_credentials_tokens_and_the_counters() {
    let emulator = Emulator::start(EmulatorConfig {
        environments: 2,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("serve-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenants.toml");
    let tenants_file = |seed: &pingone_emulator::Seed, max_concurrent: u32| {
        let settings = connector_testkit::pingone_settings(&emulator, seed);
        let mut text = String::from("[tenants.acme]\n");
        for (k, v) in &settings {
            text.push_str(&format!("{k} = {v}\n"));
        }
        text.push_str(&format!(
            "[tenants.acme.limits]\nmaxConcurrent = {max_concurrent}\n"
        ));
        text
    };
    let seeds = emulator.seeds().to_vec();
    std::fs::write(&file, tenants_file(&seeds[0], 4)).unwrap();
    let config = ServeConfig {
        tenants_file: Some(file.clone()),
        default_connector: Some(PINGONE.into()),
        ..ServeConfig::default()
    };
    let runtime = connector_testkit::runtime(test_config()).await;
    let service = Service::new(runtime, &config, Keys::default()).unwrap();
    let read = |seed: &pingone_emulator::Seed| {
        let service = service.clone();
        let input = json!({ "userId": seed.users[0].id }).to_string();
        async move {
            let tenant = service.registry().get("acme").unwrap();
            let connector = service.runtime().connector(PINGONE).unwrap();
            connector
                .invoke(&tenant, "readUserMFAEnabled", &input)
                .await
                .map(|_| tenant.stats())
        }
    };
    read(&seeds[0]).await.unwrap();
    assert_eq!(emulator.stats().token_requests, 1);

    // Only a limit changes: the token and the counters carry over.
    std::fs::write(&file, tenants_file(&seeds[0], 2)).unwrap();
    service.reload().unwrap();
    let stats = read(&seeds[0]).await.unwrap();
    assert_eq!(
        service
            .registry()
            .get("acme")
            .unwrap()
            .limits()
            .max_concurrent,
        2
    );
    assert_eq!(
        emulator.stats().token_requests,
        1,
        "no new token for the same credential"
    );
    assert_eq!((stats.invocations, stats.token_fetches), (2, 1));

    // Another environment's credential: a token of its own.
    std::fs::write(&file, tenants_file(&seeds[1], 2)).unwrap();
    service.reload().unwrap();
    let stats = read(&seeds[1]).await.unwrap();
    assert_eq!(emulator.stats().token_requests, 2);
    assert_eq!(stats.invocations, 3);
    let _ = std::fs::remove_dir_all(&dir);
}
