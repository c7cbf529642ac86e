//! The fault matrix: every way a guest, PingOne or the network can go wrong,
//! one named test each. Every row ends in a structured error that names the
//! capability and the cause, the host keeps serving, and the next
//! invocation of the same tenant succeeds once the fault is gone (the
//! emulator fixed, PingOne back, a call within the limit).

use std::time::Duration;

use connector_runtime::{Error, Limit, Limits, Runtime, Tenant, Trust};
use contract_tests::{test_config, Harness};
use pingone_emulator::faults::{Fault, FaultAction};
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

const MISBEHAVING: &[u8] = include_bytes!(env!("MISBEHAVING_GUEST_COMPONENT"));

/// Limits small enough that the misbehaviours hit them quickly.
fn tight_limits() -> Limits {
    let defaults = Limits::default();
    Limits {
        memory_bytes: 32 << 20,
        cpu_time: Duration::from_millis(300),
        wall_time: Duration::from_secs(3),
        max_output_bytes: 1 << 20,
        http: connector_runtime::HttpLimits {
            first_byte_timeout: Duration::from_millis(800),
            between_bytes_timeout: Duration::from_millis(400),
            request_timeout: Duration::from_secs(2),
            ..defaults.http
        },
        ..defaults
    }
}

fn settings_for(emulator: &Emulator) -> serde_json::Map<String, Value> {
    contract_tests::settings_for(emulator, emulator.seed())
}

/// The misbehaving guest under the real host, with a tenant on an emulator.
struct Sandbox {
    emulator: Emulator,
    runtime: Runtime,
    tenant: Tenant,
}

impl Sandbox {
    async fn start() -> Sandbox {
        let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
        let runtime = Runtime::with_connectors(test_config(), &[MISBEHAVING])
            .await
            .unwrap();
        let connector = runtime.connector("misbehaving").unwrap();
        let tenant = Tenant::connected(
            &connector,
            settings_for(&emulator),
            Trust::Operator,
            tight_limits(),
        )
        .unwrap();
        Sandbox {
            emulator,
            runtime,
            tenant,
        }
    }

    async fn call(&self, capability: &str, input: Value) -> Result<Value, Error> {
        self.runtime
            .invoke(&self.tenant, capability, &input.to_string())
            .await
    }

    /// Another tenant of the misbehaving connector, with `limits`.
    fn tenant_with(&self, limits: Limits) -> Tenant {
        let connector = self.runtime.connector("misbehaving").unwrap();
        Tenant::connected(
            &connector,
            settings_for(&self.emulator),
            Trust::Operator,
            limits,
        )
        .unwrap()
    }

    /// The host still serves this tenant.
    async fn still_serves(&self) {
        let out = self
            .call("echo", json!({ "alive": true }))
            .await
            .expect("the next invocation succeeds");
        assert_eq!(out, json!({ "alive": true }));
    }
}

fn expect_limit(result: Result<Value, Error>, capability: &str, limit: Limit) {
    match result {
        Err(Error::Limit {
            capability: c,
            limit: l,
            message,
        }) => {
            assert_eq!((c.as_str(), l), (capability, limit), "{message}");
        }
        other => panic!("expected the {limit} limit in {capability}, got {other:?}"),
    }
}

#[tokio::test]
async fn guest_panic() {
    let s = Sandbox::start().await;
    match s.call("panic", json!({})).await {
        Err(e @ Error::Trap { .. }) => {
            assert!(e.is_guest_fault());
            let text = e.to_string();
            assert!(text.starts_with("panic:"), "{text}");
            assert!(
                text.contains("panics on purpose"),
                "the guest's panic message is kept: {text}"
            );
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    s.still_serves().await;
    assert_eq!(s.tenant.stats().guest_faults, 1);
}

#[tokio::test]
async fn guest_out_of_memory() {
    let s = Sandbox::start().await;
    expect_limit(s.call("oom", json!({})).await, "oom", Limit::Memory);
    s.still_serves().await;
}

#[tokio::test]
async fn guest_infinite_loop() {
    let s = Sandbox::start().await;
    expect_limit(s.call("spin", json!({})).await, "spin", Limit::Cpu);
    s.still_serves().await;
}

#[tokio::test]
async fn guest_blocked_past_the_wall_clock() {
    let s = Sandbox::start().await;
    expect_limit(
        s.call("sleep", json!({ "ms": 60_000 })).await,
        "sleep",
        Limit::WallClock,
    );
    s.still_serves().await;
}

#[tokio::test]
async fn guest_output_larger_than_the_cap() {
    let s = Sandbox::start().await;
    expect_limit(
        s.call("hugeOutput", json!({ "bytes": 2 << 20 })).await,
        "hugeOutput",
        Limit::OutputSize,
    );
    s.still_serves().await;
}

#[tokio::test]
async fn guest_output_not_json() {
    let s = Sandbox::start().await;
    match s.call("notJson", json!({})).await {
        Err(Error::InvalidOutput {
            capability,
            pointer,
            ..
        }) => assert_eq!((capability.as_str(), pointer.as_str()), ("notJson", "")),
        other => panic!("expected invalid output, got {other:?}"),
    }
    s.still_serves().await;
}

#[tokio::test]
async fn guest_output_not_matching_its_schema() {
    let s = Sandbox::start().await;
    match s.call("badOutput", json!({})).await {
        Err(Error::InvalidOutput {
            capability,
            pointer,
            ..
        }) => assert_eq!(
            (capability.as_str(), pointer.as_str()),
            ("badOutput", "/ok")
        ),
        other => panic!("expected invalid output, got {other:?}"),
    }
    s.still_serves().await;
}

/// A pool slot is reused by the next instance of the same component; what
/// one tenant's invocation wrote there (in the image's data and in memory it
/// grew past the pages the host resets in place) is gone for the next one.
#[tokio::test]
async fn nothing_one_invocation_wrote_survives_into_the_next() {
    let s = Sandbox::start().await;
    let roomy = Limits {
        memory_bytes: 64 << 20,
        ..tight_limits()
    };
    let (a, b) = (s.tenant_with(roomy), s.tenant_with(roomy));
    for round in 0..4 {
        for (tenant, marker) in [(&a, "tenant-a-secret"), (&b, "tenant-b-secret")] {
            let input = json!({ "marker": marker }).to_string();
            let out = s.runtime.invoke(tenant, "residue", &input).await.unwrap();
            assert_eq!(
                out,
                json!({ "staticDirty": false, "grownDirty": false }),
                "round {round}, {marker}: an earlier invocation's memory showed through"
            );
        }
    }
}

#[tokio::test]
async fn guest_cannot_read_environment_files_or_the_secret() {
    let s = Sandbox::start().await;
    let out = s.call("snoop", json!({})).await.unwrap();
    assert_eq!(out["env"], json!([]), "no environment variables");
    assert!(
        out["files"]
            .as_str()
            .is_some_and(|f| f.starts_with("denied")),
        "no file system: {}",
        out["files"]
    );
    assert_eq!(out["passwd"], false);
    assert_eq!(out["clientSecret"], Value::Null);
    let config = out["config"].as_object().unwrap();
    let mut keys: Vec<&str> = config.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["apiUrl", "authUrl", "environmentId", "policyId"]);
    let secret = &s.emulator.seed().client_secret;
    assert!(
        !out.to_string().contains(secret.as_str()),
        "the secret never enters the sandbox"
    );
    assert!(
        !out.to_string().contains(&s.emulator.seed().client_id),
        "nor does the client ID"
    );
    s.still_serves().await;
}

async fn expect_denied(s: &Sandbox, url: &str) {
    match s.call("fetch", json!({ "url": url })).await {
        Err(Error::Denied {
            capability,
            url: denied,
            reason,
        }) => {
            assert_eq!(capability, "fetch");
            assert!(url.starts_with(&denied), "{denied} vs {url}");
            assert!(!reason.is_empty());
        }
        other => panic!("expected {url} to be denied, got {other:?}"),
    }
}

#[tokio::test]
async fn guest_request_outside_the_allowlist() {
    let s = Sandbox::start().await;
    let env = s.emulator.seed().environment_id.clone();
    // Another host, another region's PingOne, a metadata-style address,
    // another environment on the right host, the token endpoint.
    expect_denied(&s, "https://example.com/").await;
    expect_denied(
        &s,
        &format!("https://api.pingone.eu/v1/environments/{env}/users"),
    )
    .await;
    expect_denied(
        &s,
        &format!("https://api.pingone.com/v1/environments/{env}/users"),
    )
    .await;
    expect_denied(&s, "http://169.254.169.254/latest/meta-data/").await;
    expect_denied(&s, "http://127.0.0.1:9/").await;
    expect_denied(
        &s,
        &format!(
            "{}/environments/00000000-0000-0000-0000-000000000000/users",
            s.emulator.api_url()
        ),
    )
    .await;
    expect_denied(&s, &format!("{}/{env}/as/token", s.emulator.auth_url())).await;
    // The token endpoint in another case, a dot segment in any encoding,
    // credentials in the authority.
    expect_denied(&s, &format!("{}/{env}/AS/token", s.emulator.auth_url())).await;
    for climb in ["..", "%2e%2e", "%2E."] {
        expect_denied(
            &s,
            &format!("{}/environments/{env}/{climb}/other", s.emulator.api_url()),
        )
        .await;
    }
    let userinfo = s.emulator.api_url().replace("http://", "http://user:pw@");
    match s
        .call(
            "fetch",
            json!({ "url": format!("{userinfo}/environments/{env}/users") }),
        )
        .await
    {
        Err(Error::Denied { url, .. }) => assert!(!url.contains("pw"), "{url}"),
        other => panic!("expected credentials in the URL to be denied, got {other:?}"),
    }
    // What is allowed works, with the host's credentials.
    let user = &s.emulator.seed().users[0].id;
    let out = s
        .call(
            "fetch",
            json!({ "url": format!("{}/environments/{env}/users/{user}", s.emulator.api_url()) }),
        )
        .await
        .unwrap();
    assert_eq!(out["status"], 200);
    s.still_serves().await;
}

#[tokio::test]
async fn guest_cannot_send_its_own_credentials() {
    let s = Sandbox::start().await;
    let env = &s.emulator.seed().environment_id;
    let user = &s.emulator.seed().users[0].id;
    let url = format!("{}/environments/{env}/users/{user}", s.emulator.api_url());
    let result = s
        .call(
            "fetch",
            json!({ "url": url, "authorization": "Bearer forged" }),
        )
        .await;
    match result {
        Err(Error::Denied {
            capability, reason, ..
        }) => {
            assert_eq!(capability, "fetch");
            assert!(reason.contains("authorization"), "{reason}");
        }
        other => panic!("setting Authorization must be denied, got {other:?}"),
    }
    s.still_serves().await;
}

// ---- PingOne and the network, through the real connector ----

async fn read_device(h: &Harness) -> Result<Value, Error> {
    let user = h.user();
    h.call("readDevice", json!({ "userId": user, "deviceId": "d-1" }))
        .await
}

/// After a fault, the same tenant is served again.
async fn recovers(h: &Harness) {
    h.emulator.clear_faults();
    let user = h.user();
    h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
}

async fn tight_harness() -> Harness {
    let h = Harness::start().await;
    let tenant = h.operator_tenant(settings_for(&h.emulator), tight_limits());
    Harness { tenant, ..h }
}

/// PingOne answers `status` to every matching request; `attempts` is how
/// many requests the host must have sent: 1 when it must not retry, 1 +
/// `maxRetries` when it retries, 2 for a 401 (one token refresh).
async fn pingone_status(
    status: u16,
    code: &str,
    method: &str,
    path: &str,
    attempts: u64,
) -> Harness {
    let h = tight_harness().await;
    h.emulator.inject(
        Fault::new(
            path,
            FaultAction::Respond {
                status,
                body: None,
                retry_after: None,
            },
        )
        .method(method),
    );
    let result = if method == "GET" {
        read_device(&h).await
    } else {
        let user = h.user();
        h.call("createDevice", json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVE", "phone": "+15125550100" })).await
    };
    match result {
        Err(Error::Api {
            capability,
            status: s,
            code: c,
            message,
            id,
            ..
        }) => {
            assert_eq!((s, c.as_str()), (status, code), "{message}");
            assert!(capability == "readDevice" || capability == "createDevice");
            assert!(
                id.is_some() && !message.is_empty(),
                "PingOne's id and message are kept"
            );
        }
        other => panic!("expected PingOne {status}, got {other:?}"),
    }
    assert_eq!(
        h.emulator.fault_hits(),
        attempts,
        "requests the host sent for PingOne {status}"
    );
    recovers(&h).await;
    h
}

#[tokio::test]
async fn pingone_400() {
    pingone_status(400, "INVALID_DATA", "POST", "/devices", 1).await;
}

#[tokio::test]
async fn pingone_401_after_one_token_refresh() {
    let h = pingone_status(401, "ACCESS_FAILED", "GET", "/devices/", 2).await;
    assert_eq!(
        h.tenant.token_fetches(),
        2,
        "the 401 made the host fetch a new token, once"
    );
    assert_eq!(h.emulator.stats().token_requests, 2);
}

#[tokio::test]
async fn pingone_403() {
    pingone_status(403, "ACCESS_FAILED", "GET", "/devices/", 1).await;
}

#[tokio::test]
async fn pingone_404() {
    pingone_status(404, "NOT_FOUND", "GET", "/devices/", 1).await;
}

#[tokio::test]
async fn pingone_409() {
    pingone_status(409, "REQUEST_FAILED", "POST", "/devices", 1).await;
}

#[tokio::test]
async fn pingone_415() {
    pingone_status(415, "INVALID_REQUEST", "POST", "/devices", 1).await;
}

#[tokio::test]
async fn pingone_429_persisting() {
    pingone_status(429, "REQUEST_LIMITED", "GET", "/devices/", 3).await;
}

#[tokio::test]
async fn pingone_500() {
    pingone_status(500, "UNEXPECTED_ERROR", "GET", "/devices/", 3).await;
}

#[tokio::test]
async fn pingone_503() {
    pingone_status(503, "UNEXPECTED_ERROR", "GET", "/devices/", 3).await;
}

#[tokio::test]
async fn pingone_500_on_post_is_not_retried() {
    let h = tight_harness().await;
    let user = h.user();
    h.emulator.inject(
        Fault::new(
            "/devices",
            FaultAction::Respond {
                status: 500,
                body: None,
                retry_after: None,
            },
        )
        .method("POST")
        .times(1),
    );
    let result = h.call("createDevice", json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVE", "phone": "+15125550100" })).await;
    assert!(
        matches!(result, Err(Error::Api { status: 500, .. })),
        "a POST that may have created something is not repeated: {result:?}"
    );
    assert_eq!(h.emulator.fault_hits(), 1, "sent once");
    recovers(&h).await;
}

#[tokio::test]
async fn pingone_429_with_retry_after_then_success() {
    let h = tight_harness().await;
    let user = h.user();
    h.emulator.inject(
        Fault::new(
            "/mfaEnabled",
            FaultAction::Respond {
                status: 429,
                body: None,
                retry_after: Some(1),
            },
        )
        .times(1),
    );
    let started = std::time::Instant::now();
    let out = h
        .ok(
            "updateUserMFAEnabled",
            json!({ "userId": user, "mfaEnabled": true }),
        )
        .await;
    assert_eq!(
        out["mfaEnabled"], true,
        "the PUT went through after Retry-After"
    );
    assert_eq!(h.emulator.fault_hits(), 1, "one 429, then the retry");
    // The behaviour under test is the wait itself: the retry may not come
    // before the second PingOne asked for.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the retry waited Retry-After ({:?})",
        started.elapsed()
    );
}

/// A `Retry-After` beyond `maxRetryAfterMs` is not waited for: PingOne's
/// 429 goes back at once, and the request is not repeated.
async fn retry_after_beyond_the_cap(retry_after: u64, max_retry_after: Duration) {
    let mut limits = tight_limits();
    limits.http.max_retry_after = max_retry_after;
    let h = Harness::start().await;
    let h = Harness {
        tenant: h.operator_tenant(settings_for(&h.emulator), limits),
        ..h
    };
    let user = h.user();
    h.emulator.inject(Fault::new(
        "/mfaEnabled",
        FaultAction::Respond {
            status: 429,
            body: None,
            retry_after: Some(retry_after),
        },
    ));
    match h
        .call("readUserMFAEnabled", json!({ "userId": user }))
        .await
    {
        Err(Error::Api { status: 429, .. }) => {}
        // Waiting would have run into the wall-clock limit (3 s) instead.
        other => panic!("expected PingOne's 429 at once, got {other:?}"),
    }
    assert_eq!(h.emulator.fault_hits(), 1, "not repeated");
    recovers(&h).await;
}

#[tokio::test]
async fn pingone_429_retry_after_beyond_the_default_cap() {
    retry_after_beyond_the_cap(30, connector_runtime::HttpLimits::default().max_retry_after).await;
}

#[tokio::test]
async fn pingone_429_retry_after_beyond_the_tenants_cap() {
    // 1 s would be waited under the default cap (see the row above this
    // one's twin); this tenant allows only 500 ms.
    retry_after_beyond_the_cap(1, Duration::from_millis(500)).await;
}

#[tokio::test]
async fn pingone_503_then_success_for_an_idempotent_read() {
    let h = tight_harness().await;
    let user = h.user();
    h.emulator.inject(
        Fault::new(
            "/mfaEnabled",
            FaultAction::Respond {
                status: 503,
                body: None,
                retry_after: None,
            },
        )
        .times(2),
    );
    let out = h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    assert_eq!(out["statusCode"], 200);
    assert_eq!(h.emulator.fault_hits(), 2, "two 503s, then the answer");
}

#[tokio::test]
async fn token_endpoint_down() {
    let h = tight_harness().await;
    h.emulator.inject(Fault::new(
        "/as/token",
        FaultAction::Respond {
            status: 503,
            body: None,
            retry_after: None,
        },
    ));
    match read_device(&h).await {
        Err(Error::Token {
            capability, status, ..
        }) => {
            assert_eq!(capability, "readDevice");
            assert_eq!(status, Some(503));
        }
        other => panic!("expected a token error, got {other:?}"),
    }
    recovers(&h).await;
}

#[tokio::test]
async fn token_endpoint_rejects_the_secret() {
    let h = Harness::start().await;
    let mut settings = settings_for(&h.emulator);
    settings.insert("clientSecret".into(), json!("wrong-secret"));
    let tenant = h.operator_tenant(settings, Limits::default());
    let user = h.user();
    let input = json!({ "userId": user }).to_string();
    match h
        .runtime
        .invoke(&tenant, "readUserMFAEnabled", &input)
        .await
    {
        Err(e @ Error::Token { .. }) => {
            assert!(
                matches!(&e, Error::Token { status: Some(401), code, .. } if code == "invalid_client"),
                "{e:?}"
            );
            assert!(
                !e.to_json().to_string().contains("wrong-secret"),
                "the secret is not in the error"
            );
        }
        other => panic!("expected a token error, got {other:?}"),
    }
    // The administrator sets the app's secret to what the tenant sends: the
    // same tenant is served, no restart needed.
    assert!(h.emulator.set_client_secret(&h.env_id(), "wrong-secret"));
    h.runtime
        .invoke(&tenant, "readUserMFAEnabled", &input)
        .await
        .expect("the same tenant succeeds once its secret is valid");
}

#[tokio::test]
async fn token_expiring_mid_flow() {
    let h = tight_harness().await;
    let user = h.user();
    h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    assert_eq!(h.tenant.token_fetches(), 1);
    // PingOne's clock moves past the token's hour; the host still holds it.
    h.emulator.advance_clock(Duration::from_secs(2 * 3600));
    h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    assert_eq!(h.tenant.token_fetches(), 2, "one refresh after the 401");
}

#[tokio::test]
async fn connection_refused() {
    let h = tight_harness().await;
    // A port nobody listens on: bind one, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut settings = settings_for(&h.emulator);
    settings.insert(
        "apiUrl".into(),
        json!(format!("http://127.0.0.1:{port}/v1")),
    );
    settings.insert("authUrl".into(), json!(format!("http://127.0.0.1:{port}")));
    let tenant = h.operator_tenant(settings, tight_limits());
    let user = h.user();
    let input = json!({ "userId": user }).to_string();
    // The token request is the first to meet the closed port.
    match h
        .runtime
        .invoke(&tenant, "readUserMFAEnabled", &input)
        .await
    {
        Err(Error::Token {
            capability,
            code,
            message,
            ..
        }) => {
            assert_eq!(capability, "readUserMFAEnabled");
            assert_eq!(code, "connection-refused", "{message}");
        }
        other => panic!("expected the token endpoint to be unreachable, got {other:?}"),
    }
    // PingOne comes back on that port (same seeds, same environment): the
    // same tenant is served.
    let back = Emulator::start(EmulatorConfig {
        port,
        ..EmulatorConfig::default()
    })
    .await
    .expect("the freed port can be bound again");
    h.runtime
        .invoke(&tenant, "readUserMFAEnabled", &input)
        .await
        .expect("the same tenant succeeds once PingOne answers");
    back.shutdown().await;
}

/// The host names what ended the request: the `wasi:http` code and a
/// message that contains `cause` (the limit's key, or what went missing).
async fn transport_fault(action: FaultAction, code: &str, cause: &str) {
    let h = tight_harness().await;
    h.emulator.inject(Fault::new("/devices/", action));
    match read_device(&h).await {
        Err(Error::Transport {
            capability,
            code: c,
            message,
        }) => {
            assert_eq!(capability, "readDevice");
            assert_eq!(c, code, "{message}");
            assert!(message.contains(cause), "{message}");
            assert!(!message.contains("StreamError"), "{message}");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    recovers(&h).await;
}

#[tokio::test]
async fn server_accepts_and_never_answers() {
    transport_fault(
        FaultAction::Hang,
        "http-response-timeout",
        "firstByteTimeoutMs (800 ms)",
    )
    .await;
}

#[tokio::test]
async fn server_sends_headers_then_stalls() {
    transport_fault(
        FaultAction::StallAfterHeaders,
        "http-response-timeout",
        "betweenBytesTimeoutMs (400 ms)",
    )
    .await;
}

#[tokio::test]
async fn body_that_trickles_past_the_request_timeout() {
    // One byte every 100 ms never trips the 400 ms between-bytes timeout,
    // but the 64 KiB body would take minutes.
    transport_fault(
        FaultAction::Trickle {
            interval_millis: 100,
        },
        "http-response-timeout",
        "requestTimeoutMs (2000 ms)",
    )
    .await;
}

#[tokio::test]
async fn truncated_body() {
    transport_fault(
        FaultAction::Truncate,
        "http-response-incomplete",
        "truncated",
    )
    .await;
}

#[tokio::test]
async fn body_that_is_not_json() {
    let h = tight_harness().await;
    h.emulator
        .inject(Fault::new("/devices/", FaultAction::NotJson));
    match read_device(&h).await {
        Err(Error::Internal {
            capability,
            message,
        }) => {
            assert_eq!(capability, "readDevice");
            assert!(message.contains("not JSON"), "{message}");
        }
        other => panic!("expected an internal connector error, got {other:?}"),
    }
    recovers(&h).await;
}

#[tokio::test]
async fn tenant_queue_bound() {
    let s = Sandbox::start().await;
    let mut limits = tight_limits();
    limits.max_concurrent = 1;
    limits.max_queued = 1;
    let tenant = s.tenant_with(limits);
    let runtime = &s.runtime;
    let slow = || runtime.invoke(&tenant, "sleep", r#"{"ms": 400}"#);
    let (a, b, c) = tokio::join!(slow(), slow(), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        runtime.invoke(&tenant, "echo", "{}").await
    });
    assert!(a.is_ok() && b.is_ok(), "one runs, one waits: {a:?} {b:?}");
    expect_limit(c, "echo", Limit::Concurrency);
    assert_eq!(tenant.stats().rejected, 1);
    runtime
        .invoke(&tenant, "echo", "{}")
        .await
        .expect("the queue drained: the same tenant is served");
}

#[tokio::test]
async fn outgoing_request_count_limit() {
    let h = Harness::start().await;
    let mut limits = tight_limits();
    // Read All Devices needs three requests (devices, MFA settings, policy).
    limits.http.max_requests = 2;
    let tenant = h.operator_tenant(settings_for(&h.emulator), limits);
    let user = h.user();
    let result = h
        .runtime
        .invoke(
            &tenant,
            "readAllDevices",
            &json!({ "userId": user }).to_string(),
        )
        .await;
    expect_limit(result, "readAllDevices", Limit::Requests);
    // One request fits the same tenant's limit.
    h.runtime
        .invoke(
            &tenant,
            "readUserMFAEnabled",
            &json!({ "userId": user }).to_string(),
        )
        .await
        .expect("a capability within the request limit succeeds");
}

#[tokio::test]
async fn response_body_size_limit() {
    let h = Harness::start().await;
    let user = h.user();
    let input = json!({ "userId": user }).to_string();
    let small = h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    let cap = small["rawResponse"].to_string().len() + 64;
    // A device list larger than what the MFA-enabled answer needs.
    for phone in ["+15125550101", "+15125550102", "+15125550103"] {
        h.active_sms(&user, phone).await;
    }
    let mut limits = tight_limits();
    limits.http.max_response_bytes = cap;
    let tenant = h.operator_tenant(settings_for(&h.emulator), limits);
    let result = h.runtime.invoke(&tenant, "readAllDevices", &input).await;
    expect_limit(result, "readAllDevices", Limit::ResponseSize);
    h.runtime
        .invoke(&tenant, "readUserMFAEnabled", &input)
        .await
        .expect("a response within the cap is read by the same tenant");
}

#[tokio::test]
async fn input_size_limit() {
    let h = Harness::start().await;
    let mut limits = tight_limits();
    limits.max_input_bytes = 64;
    let tenant = h.operator_tenant(settings_for(&h.emulator), limits);
    let input = json!({ "userId": "u", "padding": "x".repeat(100) }).to_string();
    expect_limit(
        h.runtime
            .invoke(&tenant, "readUserMFAEnabled", &input)
            .await,
        "readUserMFAEnabled",
        Limit::InputSize,
    );
    let small = json!({ "userId": h.user() }).to_string();
    assert!(small.len() <= 64);
    h.runtime
        .invoke(&tenant, "readUserMFAEnabled", &small)
        .await
        .expect("an input within the limit is served for the same tenant");
    assert_eq!(
        tenant.stats().guest_faults,
        0,
        "the caller's input is not the guest's fault"
    );
}

#[tokio::test]
async fn unknown_capability_is_a_structured_error() {
    let h = Harness::start().await;
    match h.call("launchRockets", json!({})).await {
        Err(e @ Error::UnknownCapability { .. }) => {
            assert_eq!(e.to_json()["error"]["kind"], "unknownCapability")
        }
        other => panic!("expected an unknown capability, got {other:?}"),
    }
    recovers(&h).await;
}

#[tokio::test]
async fn guest_faults_count_only_the_guests_own_faults() {
    let s = Sandbox::start().await;
    let mut limits = tight_limits();
    limits.max_input_bytes = 256;
    limits.max_concurrent = 1;
    limits.max_queued = 0;
    limits.http.max_response_bytes = 16;
    let tenant = s.tenant_with(limits);
    let runtime = &s.runtime;
    let env = &s.emulator.seed().environment_id;
    let user = &s.emulator.seed().users[0].id;
    let url = format!("{}/environments/{env}/users/{user}", s.emulator.api_url());
    // The caller's input too large, the tenant's queue full, PingOne's
    // answer too large: none of them is the guest's doing.
    let big = json!({ "padding": "x".repeat(300) }).to_string();
    expect_limit(
        runtime.invoke(&tenant, "echo", &big).await,
        "echo",
        Limit::InputSize,
    );
    let (slow, refused) = tokio::join!(runtime.invoke(&tenant, "sleep", r#"{"ms": 300}"#), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        runtime.invoke(&tenant, "echo", "{}").await
    });
    assert!(slow.is_ok(), "{slow:?}");
    expect_limit(refused, "echo", Limit::Concurrency);
    expect_limit(
        runtime
            .invoke(&tenant, "fetch", &json!({ "url": url }).to_string())
            .await,
        "fetch",
        Limit::ResponseSize,
    );
    assert_eq!(tenant.stats().guest_faults, 0, "{:?}", tenant.stats());
    // A panic is.
    assert!(runtime.invoke(&tenant, "panic", "{}").await.is_err());
    let stats = tenant.stats();
    // The refused invocation never ran: it counts as rejected, not failed.
    assert_eq!(
        (stats.guest_faults, stats.failures, stats.rejected),
        (1, 3, 1),
        "{stats:?}"
    );
    runtime
        .invoke(&tenant, "echo", "{}")
        .await
        .expect("the same tenant is served");
}
