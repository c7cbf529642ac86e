//! The plugin runtime: one host with several connectors, loaded at start or
//! while it runs, serving the same tenants concurrently, with a tenants file
//! that holds a connection per connector.

use std::collections::HashMap;
use std::time::Duration;

use connector_runtime::{Error, HttpLimits, Limits, Runtime, Tenant, TenantRegistry, Trust};
use connector_testkit::http_server::{Credentials, TestServer};
use connector_testkit::{
    pingone_settings, test_config, HTTP, HTTP_CONNECTOR, PINGONE, PINGONE_MFA,
};
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

const TENANTS: usize = 20;
const PER_CONNECTOR: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connectors_serve_the_same_tenants_concurrently() {
    let emulator = Emulator::start(EmulatorConfig {
        environments: TENANTS,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let server = TestServer::start(Credentials::default()).await;
    let runtime = connector_testkit::runtime(connector_runtime::RuntimeConfig {
        max_instances: (2 * TENANTS * PER_CONNECTOR) as u32,
        ..test_config()
    })
    .await;
    let pingone = runtime.connector(PINGONE).unwrap();
    let http = runtime.connector(HTTP_CONNECTOR).unwrap();
    let limits = Limits {
        max_concurrent: 2 * PER_CONNECTOR,
        wall_time: Duration::from_secs(120),
        http: HttpLimits {
            first_byte_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            ..HttpLimits::default()
        },
        ..Limits::default()
    };
    let mut world = Vec::new();
    for (i, seed) in emulator.seeds().iter().enumerate() {
        let user = seed.users[0].id.clone();
        let setup = connector_testkit::pingone_tenant(&runtime, &emulator, seed, limits);
        let created = runtime
            .invoke(&setup, "createDevice", &json!({ "userId": user, "deviceType": "Email", "status": "ACTIVE", "email": "two@example.com" }).to_string())
            .await
            .unwrap();
        let device = created["device"]["id"].as_str().unwrap().to_owned();
        let http_settings = json!({ "baseUrl": format!("{}/open/tenant-{i}", server.url()) });
        let tenant = Tenant::builder(limits)
            .unwrap()
            .connect(&pingone, pingone_settings(&emulator, seed), Trust::Operator)
            .unwrap()
            .connect(
                &http,
                http_settings.as_object().cloned().unwrap(),
                Trust::Operator,
            )
            .unwrap()
            .build();
        world.push((i, tenant, seed.environment_id.clone(), user, device));
    }
    let tokens_before = emulator.stats().token_requests;
    let mut calls = Vec::new();
    for (i, tenant, env, user, device) in &world {
        for n in 0..PER_CONNECTOR {
            let runtime = runtime.clone();
            let tenant = tenant.clone();
            let (i, env, user, device) = (*i, env.clone(), user.clone(), device.clone());
            calls.push(tokio::spawn(async move {
                let read = runtime
                    .invoke(
                        &tenant,
                        "readDevice",
                        &json!({ "userId": user, "deviceId": device }).to_string(),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("tenant {i}: {e}"));
                assert_eq!(
                    read["rawResponse"]["environment"]["id"],
                    env.as_str(),
                    "another tenant's device"
                );
                let rest = runtime
                    .invoke(
                        &tenant,
                        "http/makeRestApiCall",
                        &json!({ "path": format!("call/{n}") }).to_string(),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("tenant {i}: {e}"));
                assert_eq!(
                    rest["rawResponse"]["path"],
                    format!("/open/tenant-{i}/call/{n}"),
                    "another tenant's base"
                );
            }));
        }
    }
    for call in calls {
        call.await.expect("no invocation lost or crossed");
    }
    for (_, tenant, _, _, _) in &world {
        let stats = tenant.stats();
        assert_eq!(stats.invocations, (2 * PER_CONNECTOR) as u64);
        assert_eq!((stats.failures, stats.in_flight), (0, 0));
    }
    assert_eq!(
        emulator.stats().token_requests - tokens_before,
        TENANTS as u64,
        "one PingOne token per tenant, the HTTP connections need none"
    );
    assert_eq!(server.requests().len(), TENANTS * PER_CONNECTOR);
    emulator.shutdown().await;
}

#[tokio::test]
async fn connectors_load_while_running_and_capabilities_resolve_by_name() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let runtime = Runtime::new(test_config()).unwrap();
    let seed = emulator.seed();
    let input = json!({ "userId": seed.users[0].id }).to_string();
    assert!(matches!(
        runtime.resolve("readUserMFAEnabled"),
        Err(Error::UnknownCapability { .. })
    ));
    let pingone = runtime.load(PINGONE_MFA).await.unwrap();
    let tenant = Tenant::connected(
        &pingone,
        pingone_settings(&emulator, seed),
        Trust::Operator,
        Limits::default(),
    )
    .unwrap();
    runtime
        .invoke(&tenant, "readUserMFAEnabled", &input)
        .await
        .expect("served as soon as it is loaded");
    runtime.load(HTTP).await.unwrap();
    assert_eq!(runtime.connectors().len(), 2);
    // Loading a connector again replaces it; the tenant's connection is by name.
    runtime.load(PINGONE_MFA).await.unwrap();
    assert_eq!(runtime.connectors().len(), 2);
    runtime
        .invoke(&tenant, "pingone-mfa/readUserMFAEnabled", &input)
        .await
        .expect("the reloaded connector serves the same tenant");
    for name in [
        "http/readUserMFAEnabled",
        "nobody/readUserMFAEnabled",
        "launchRockets",
    ] {
        assert!(
            matches!(
                runtime.invoke(&tenant, name, &input).await,
                Err(Error::UnknownCapability { .. })
            ),
            "{name}"
        );
    }
    // A capability of a connector the tenant has no connection to.
    match runtime.invoke(&tenant, "makeRestApiCall", "{}").await {
        Err(Error::Tenant { field, .. }) => assert_eq!(field, "connections.http"),
        other => panic!("expected a missing connection, got {other:?}"),
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_tenants_file_holds_a_connection_per_connector() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let server = TestServer::start(Credentials::default()).await;
    let runtime = connector_testkit::runtime(test_config()).await;
    let seed = emulator.seed();
    std::env::set_var("RUNTIME_TEST_API_KEY", &server.credentials().api_key);
    let pingone_keys = format!(
        "environmentId = \"{}\"\nclientId = \"{}\"\nclientSecret = \"{}\"\napiUrl = \"{}\"\nauthUrl = \"{}\"\n",
        seed.environment_id,
        seed.client_id,
        seed.client_secret,
        emulator.api_url(),
        emulator.auth_url()
    );
    let http_section = format!(
        "[tenants.acme.connections.http]\nbaseUrl = \"{}/key\"\nauthType = \"apiKey\"\napiKey = \"env:RUNTIME_TEST_API_KEY\"\n",
        server.url()
    );
    // The settings at a tenant's top are its connection to the default connector.
    let file = format!("[defaults]\nmaxConcurrent = 4\n\n[tenants.acme]\n{pingone_keys}\n[tenants.acme.limits]\ncpuTimeMs = 500\n\n{http_section}");
    let registry = TenantRegistry::from_toml(&file, &runtime, Some(PINGONE)).unwrap();
    let acme = registry.get("acme").unwrap();
    assert_eq!(
        acme.connectors().collect::<Vec<_>>(),
        [HTTP_CONNECTOR, PINGONE]
    );
    assert_eq!(acme.limits().max_concurrent, 4);
    assert_eq!(acme.limits().cpu_time, Duration::from_millis(500));
    runtime
        .invoke(
            &acme,
            "readUserMFAEnabled",
            &json!({ "userId": seed.users[0].id }).to_string(),
        )
        .await
        .unwrap();
    let rest: Value = runtime
        .invoke(&acme, "makeRestApiCall", r#"{"path":"x"}"#)
        .await
        .expect("the API key reference resolved");
    assert_eq!(rest["statusCode"], 200);
    // The same connections spelled as sections only.
    let sections =
        format!("[tenants.acme.connections.pingone-mfa]\n{pingone_keys}\n{http_section}");
    assert!(TenantRegistry::from_toml(&sections, &runtime, None).is_ok());
    let mut errors: HashMap<&str, String> = HashMap::new();
    for (name, text, default) in [
        ("no default", format!("[tenants.acme]\n{pingone_keys}"), None),
        ("unknown connector", "[tenants.acme.connections.fax]\nnumber = \"1\"\n".to_owned(), None),
        ("twice", format!("[tenants.acme]\n{pingone_keys}\n[tenants.acme.connections.pingone-mfa]\n{pingone_keys}"), Some(PINGONE)),
        ("bad setting", format!("{}\n[tenants.acme.connections.http]\nbaseUrl = \"ftp://x\"\n", "[tenants.acme]"), None),
        ("bad limit", format!("[tenants.acme]\n{pingone_keys}\n[tenants.acme.limits]\ncpuTimeMs = \"soon\"\n"), Some(PINGONE)),
        ("unknown top key", "[tennants.acme]\n".to_owned(), None),
    ] {
        match TenantRegistry::from_toml(&text, &runtime, default) {
            Err(Error::Tenant { field, message }) => {
                assert!(!message.contains(&seed.client_secret), "{name}: {message}");
                errors.insert(name, field);
            }
            other => panic!("{name}: expected a tenant error, got {:?}", other.map(|r| r.names())),
        }
    }
    assert_eq!(errors["no default"], "acme");
    assert_eq!(errors["unknown connector"], "acme.connections.fax");
    assert_eq!(errors["twice"], "acme");
    assert_eq!(errors["bad setting"], "acme.connections.http.baseUrl");
    assert_eq!(errors["bad limit"], "acme.limits.cpuTimeMs");
    assert_eq!(errors["unknown top key"], "tennants");
    emulator.shutdown().await;
}
