//! The tenant boundary under attack, through the library: what a hostile
//! tenant, a careless flow engine or a broken network tries (SECURITY.md
//! lists the promises). Every test ends in a structured error, and then
//! the host serves the same tenant (or, where the settings themselves are
//! refused, a valid one).

use std::time::Duration;

use base64::Engine as _;
use connector_runtime::{
    Error, Limits, NetworkPolicy, Runtime, RuntimeConfig, Tenant, TenantRegistry, Trust,
    MAX_DETAILS, MAX_MESSAGE_BYTES, MAX_SUMMARY_BYTES,
};
use contract_tests::{settings_for, test_config, Harness, PINGONE};
use pingone_emulator::faults::{Fault, FaultAction};
use serde_json::{json, Map, Value};

/// A runtime with the embedded connectors and the operator's `policy`.
async fn runtime_with(policy: NetworkPolicy) -> Runtime {
    connector_testkit::runtime(RuntimeConfig {
        network: policy,
        ..test_config()
    })
    .await
}

/// A PingOne MFA connection of `runtime` with `settings` supplied at `trust`.
fn connect(
    runtime: &Runtime,
    settings: Map<String, Value>,
    trust: Trust,
    limits: Limits,
) -> Result<Tenant, Error> {
    Tenant::connected(
        &runtime.connector(PINGONE).unwrap(),
        settings,
        trust,
        limits,
    )
}

/// `settings` with `key` set to `value`, or removed for `None`.
fn with(mut settings: Map<String, Value>, key: &str, value: Option<&str>) -> Map<String, Value> {
    match value {
        Some(v) => settings.insert(key.into(), json!(v)),
        None => settings.remove(key),
    };
    settings
}

fn user_input(h: &Harness) -> String {
    json!({ "userId": h.user() }).to_string()
}

async fn mfa_enabled(h: &Harness, tenant: &Tenant) -> Result<Value, Error> {
    h.runtime
        .invoke(tenant, "readUserMFAEnabled", &user_input(h))
        .await
}

/// The host still serves `tenant`.
async fn serves(h: &Harness, tenant: &Tenant) {
    mfa_enabled(h, tenant)
        .await
        .expect("the host serves the tenant");
}

#[track_caller]
fn expect_tenant_error(result: Result<Tenant, Error>, field: &str) -> String {
    match result {
        Err(Error::Tenant { field: f, message }) => {
            assert_eq!(f, field, "{message}");
            message
        }
        Err(other) => panic!("expected a tenant error on {field}, got {other:?}"),
        Ok(t) => panic!("expected a tenant error on {field}, got {t:?}"),
    }
}

/// What the operator allows so that tenant-supplied settings can reach the
/// emulator on loopback in these tests: the origin, and the address.
fn emulator_policy(h: &Harness) -> NetworkPolicy {
    NetworkPolicy {
        tenant_origins: vec![format!("http://127.0.0.1:{}", h.emulator.port())
            .parse()
            .unwrap()],
        allow_internal: vec!["127.0.0.1/32".parse().unwrap()],
    }
}

// ---- 1. Two trust levels ----

#[tokio::test]
async fn tenant_supplied_secret_references_are_literal() {
    let h = Harness::start().await;
    let seed = h.emulator.seed().clone();
    std::env::set_var("HOSTILE_TEST_STOLEN_SECRET", &seed.client_secret);
    let runtime = runtime_with(emulator_policy(&h)).await;
    for reference in ["env:HOSTILE_TEST_STOLEN_SECRET", "file:/etc/passwd"] {
        let settings = with(
            settings_for(&h.emulator, &seed),
            "clientSecret",
            Some(reference),
        );
        let tenant = connect(&runtime, settings, Trust::Tenant, Limits::default()).unwrap();
        assert_eq!(tenant.trust(PINGONE), Some(Trust::Tenant));
        // PingOne got the reference itself as the secret, and refused it.
        match mfa_enabled(&h, &tenant).await {
            Err(Error::Token {
                status: Some(401),
                code,
                ..
            }) => assert_eq!(code, "invalid_client"),
            other => panic!("{reference}: expected PingOne to refuse it, got {other:?}"),
        }
        // Once the app's secret is that very string, the same tenant works:
        // the value was sent as written, never resolved.
        assert!(h
            .emulator
            .set_client_secret(&seed.environment_id, reference));
        serves(&h, &tenant).await;
    }
}

#[tokio::test]
async fn tenant_supplied_urls_never_reach_loopback_or_internal_addresses() {
    let h = Harness::start().await;
    let seed = h.emulator.seed().clone();
    let port = h.emulator.port();
    let internal = [
        format!("http://127.0.0.1:{port}/v1"),
        format!("http://localhost:{port}/v1"),
        format!("http://LOCALHOST.:{port}/v1"),
        format!("http://app.localhost:{port}/v1"),
        format!("http://[::1]:{port}/v1"),
        format!("http://[::ffff:127.0.0.1]:{port}/v1"),
        format!("http://0.0.0.0:{port}/v1"),
        "http://169.254.169.254/v1".into(),
        "http://[::ffff:169.254.169.254]/v1".into(),
        "http://10.0.0.1/v1".into(),
        "http://192.168.1.1/v1".into(),
        "http://100.64.0.1/v1".into(),
        "http://[fd00::1]/v1".into(),
        "http://[fe80::1]/v1".into(),
        "http://2130706433/v1".into(),
    ];
    // The operator even lists these origins: a tenant still cannot reach them.
    let policy = NetworkPolicy {
        tenant_origins: internal
            .iter()
            .filter_map(|u| u.trim_end_matches("/v1").parse().ok())
            .collect(),
        allow_internal: Vec::new(),
    };
    let runtime = runtime_with(policy).await;
    let without_overrides = with(
        with(settings_for(&h.emulator, &seed), "apiUrl", None),
        "authUrl",
        None,
    );
    for url in &internal {
        for field in ["apiUrl", "authUrl"] {
            let settings = with(without_overrides.clone(), field, Some(url));
            expect_tenant_error(
                connect(&runtime, settings, Trust::Tenant, Limits::default()),
                field,
            );
        }
    }
    // A public origin the operator did not list is refused too.
    let settings = with(
        without_overrides.clone(),
        "apiUrl",
        Some("https://pingone-proxy.example.com/v1"),
    );
    let message = expect_tenant_error(
        connect(&runtime, settings, Trust::Tenant, Limits::default()),
        "apiUrl",
    );
    assert!(message.contains("not among the origins"), "{message}");
    // Without overrides a tenant gets its region's PingOne.
    let tenant = connect(
        &runtime,
        without_overrides,
        Trust::Tenant,
        Limits::default(),
    )
    .unwrap();
    assert_eq!(
        tenant.base_url(PINGONE, "api"),
        Some("https://api.pingone.com/v1")
    );
    serves(&h, &h.tenant).await;
}

#[tokio::test]
async fn internal_addresses_are_refused_before_any_connection_unless_allowed() {
    let h = Harness::start().await;
    let seed = h.emulator.seed().clone();
    // 0.0.0.0 reaches this host's listeners on Linux: the emulator
    // listens on 127.0.0.1, so a connection would reach it and count.
    let zero = format!("http://0.0.0.0:{}", h.emulator.port());
    let settings = with(
        with(
            settings_for(&h.emulator, &seed),
            "apiUrl",
            Some(&format!("{zero}/v1")),
        ),
        "authUrl",
        Some(&zero),
    );
    let tenant = h.operator_tenant(settings.clone(), Limits::default());
    match mfa_enabled(&h, &tenant).await {
        Err(Error::Denied {
            capability,
            url,
            reason,
        }) => {
            assert_eq!(capability, "readUserMFAEnabled");
            assert!(url.starts_with(&zero), "{url}");
            assert!(reason.contains("0.0.0.0"), "{reason}");
        }
        other => panic!("expected the address to be refused, got {other:?}"),
    }
    for metadata in [
        "http://169.254.169.254",
        "http://[::ffff:169.254.169.254]",
        "http://[64:ff9b::a9fe:a9fe]",
    ] {
        let tenant = h.operator_tenant(
            with(settings.clone(), "authUrl", Some(metadata)),
            Limits::default(),
        );
        match mfa_enabled(&h, &tenant).await {
            Err(Error::Denied { reason, .. }) => {
                assert!(reason.contains("link-local"), "{metadata}: {reason}")
            }
            other => panic!("{metadata}: expected a denial, got {other:?}"),
        }
    }
    assert_eq!(
        h.emulator.stats().token_requests,
        0,
        "nothing reached the emulator"
    );
    // The operator allows 0.0.0.0 explicitly: the same settings work.
    let allowing = runtime_with(NetworkPolicy {
        allow_internal: vec!["0.0.0.0/32".parse().unwrap()],
        ..NetworkPolicy::default()
    })
    .await;
    allowing
        .invoke(&tenant, "readUserMFAEnabled", &user_input(&h))
        .await
        .expect("an address the operator allowed is reached");
    assert_eq!(h.emulator.stats().token_requests, 1);
}

#[tokio::test]
async fn urls_with_userinfo_bad_ports_or_other_schemes_are_refused() {
    let h = Harness::start().await;
    let seed = h.emulator.seed().clone();
    let port = h.emulator.port();
    for (url, why) in [
        (
            format!("http://admin:hunter2-password@127.0.0.1:{port}"),
            "user information",
        ),
        (
            format!("http://:hunter2-password@127.0.0.1:{port}"),
            "user information",
        ),
        ("http://127.0.0.1:99999".into(), "port"),
        ("http://127.0.0.1:0".into(), "port"),
        ("ftp://127.0.0.1".into(), "http or https"),
        ("file:///etc/passwd".into(), "http or https"),
        ("gopher://127.0.0.1:70".into(), "http or https"),
    ] {
        for field in ["apiUrl", "authUrl"] {
            let value = if field == "apiUrl" {
                format!("{url}/v1")
            } else {
                url.clone()
            };
            let settings = with(settings_for(&h.emulator, &seed), field, Some(&value));
            let message = expect_tenant_error(
                connect(&h.runtime, settings, Trust::Operator, Limits::default()),
                field,
            );
            assert!(message.contains(why), "{url}: {message}");
            assert!(!message.contains("hunter2"), "{url}: {message}");
        }
    }
    serves(&h, &h.tenant).await;
}

// ---- 2. The token and the secret never reach the guest or an error ----

#[tokio::test]
async fn a_reflected_token_is_masked_before_the_guest_sees_it() {
    let h = Harness::start().await;
    h.emulator
        .inject(Fault::new("/mfaEnabled", FaultAction::Reflect));
    let out = mfa_enabled(&h, &h.tenant).await.unwrap();
    let tokens = h.emulator.issued_tokens();
    assert_eq!(tokens.len(), 1);
    let text = out.to_string();
    assert!(
        !text.contains(&tokens[0]),
        "the bearer token reached the output"
    );
    let masked = format!("Bearer {}", "*".repeat(tokens[0].len()));
    assert_eq!(out["rawResponse"]["echoedAuthorization"], masked.as_str());
    assert_eq!(out["headers"]["x-echo-authorization"], masked.as_str());
    assert_eq!(out["mfaEnabled"], false, "the rest of the answer is intact");
    h.emulator.clear_faults();
    serves(&h, &h.tenant).await;
}

#[tokio::test]
async fn a_token_endpoint_quoting_the_credentials_is_scrubbed() {
    let h = Harness::start().await;
    let seed = h.emulator.seed().clone();
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", seed.client_id, seed.client_secret));
    h.emulator.inject(
        Fault::new(
            "/as/token",
            FaultAction::Respond {
                status: 401,
                body: Some(json!({
                    "error": "invalid_client",
                    "error_description": format!(
                        "rejected Authorization: Basic {basic} (client secret {})",
                        seed.client_secret
                    ),
                })),
                retry_after: None,
            },
        )
        .times(1),
    );
    match mfa_enabled(&h, &h.tenant).await {
        Err(e @ Error::Token { .. }) => {
            let shown = format!("{} {} {e:?}", e.to_json(), e.summary());
            assert!(!shown.contains(&basic), "the Basic credential: {shown}");
            assert!(!shown.contains(&seed.client_secret), "the secret: {shown}");
            assert!(
                shown.contains("rejected Authorization: Basic ***"),
                "{shown}"
            );
        }
        other => panic!("expected a token error, got {other:?}"),
    }
    serves(&h, &h.tenant).await;
}

// ---- 3. No panic, whatever the values ----

#[tokio::test]
async fn absurd_token_lifetimes_never_panic() {
    let h = Harness::start().await;
    let seed = h.emulator.seed().clone();
    for (expires_in, believed) in [
        (json!(u64::MAX), true),
        (json!(1e300), true),
        (Value::Null, true),
        (json!("3600"), true),
        (json!(-5), false),
        (json!(0), false),
        (json!("soon"), false),
        (json!({ "seconds": 60 }), false),
    ] {
        let tenant = h.operator_tenant(settings_for(&h.emulator, &seed), Limits::default());
        let mut body =
            json!({ "access_token": "a-token-pingone-never-issued", "token_type": "Bearer" });
        if !expires_in.is_null() {
            body["expires_in"] = expires_in.clone();
        }
        h.emulator.inject(
            Fault::new(
                "/as/token",
                FaultAction::Respond {
                    status: 200,
                    body: Some(body),
                    retry_after: None,
                },
            )
            .times(1),
        );
        let result = mfa_enabled(&h, &tenant).await;
        if believed {
            // The forged token is refused with a 401; the host fetches a
            // real one and the call succeeds.
            result.unwrap_or_else(|e| panic!("expires_in {expires_in}: {e}"));
            assert_eq!(tenant.token_fetches(), 2, "expires_in {expires_in}");
        } else {
            match result {
                Err(Error::Token { code, message, .. }) => {
                    assert_eq!(code, "invalid_response", "{message}");
                    assert!(message.contains("expires_in"), "{message}");
                }
                other => panic!("expires_in {expires_in}: expected a token error, got {other:?}"),
            }
            serves(&h, &tenant).await;
        }
    }
}

#[tokio::test]
async fn limits_outside_their_ranges_are_tenant_errors() {
    let h = Harness::start().await;
    let seed = h.emulator.seed().clone();
    let d = Limits::default();
    let cases: Vec<(Limits, &str)> = vec![
        (
            Limits {
                max_concurrent: usize::MAX,
                ..d
            },
            "limits.maxConcurrent",
        ),
        (
            Limits {
                max_concurrent: 0,
                ..d
            },
            "limits.maxConcurrent",
        ),
        (
            Limits {
                max_queued: usize::MAX,
                ..d
            },
            "limits.maxQueued",
        ),
        (
            Limits {
                wall_time: Duration::MAX,
                ..d
            },
            "limits.wallTimeMs",
        ),
        (
            Limits {
                cpu_time: Duration::ZERO,
                ..d
            },
            "limits.cpuTimeMs",
        ),
        (
            Limits {
                max_output_bytes: 10,
                ..d
            },
            "limits.maxOutputBytes",
        ),
        (
            Limits {
                http: connector_runtime::HttpLimits {
                    request_timeout: Duration::from_secs(u64::MAX),
                    ..d.http
                },
                ..d
            },
            "limits.requestTimeoutMs",
        ),
        (
            Limits {
                http: connector_runtime::HttpLimits {
                    max_retries: u32::MAX,
                    ..d.http
                },
                ..d
            },
            "limits.maxRetries",
        ),
    ];
    for (limits, field) in cases {
        expect_tenant_error(
            connect(
                &h.runtime,
                settings_for(&h.emulator, &seed),
                Trust::Operator,
                limits,
            ),
            field,
        );
    }
    let file = format!(
        "[tenants.acme]\nenvironmentId = \"{}\"\nclientId = \"{}\"\nclientSecret = \"{}\"\n\n[tenants.acme.limits]\nmaxConcurrent = 9223372036854775807\n",
        seed.environment_id, seed.client_id, seed.client_secret
    );
    match TenantRegistry::from_toml(&file, &h.runtime, Some(PINGONE)) {
        Err(Error::Tenant { field, .. }) => assert_eq!(field, "acme.limits.maxConcurrent"),
        other => panic!(
            "expected a tenant error, got {:?}",
            other.map(|r| r.names())
        ),
    }
    serves(&h, &h.tenant).await;
}

fn artifact(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .expect("the runtime cached its compiled component")
}

#[cfg(unix)]
#[tokio::test]
async fn a_corrupted_or_untrusted_artifact_is_rebuilt_never_run() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let h = Harness::start().await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-artifact-cache");
    let _ = std::fs::remove_dir_all(&dir);
    let config = RuntimeConfig {
        cache_dir: Some(dir.clone()),
        ..test_config()
    };
    let load_and_serve = || async {
        let runtime = connector_testkit::runtime(config.clone()).await;
        assert_eq!(
            runtime.connector(PINGONE).unwrap().capabilities().count(),
            26
        );
        runtime
            .invoke(&h.tenant, "readUserMFAEnabled", &user_input(&h))
            .await
            .expect("the runtime serves");
    };
    load_and_serve().await;
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let path = artifact(&dir);
    let good = std::fs::read(&path).unwrap();

    // Bytes flipped in the machine code, same length: executing it could
    // crash the test process; the digest check rebuilds it instead.
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    for b in &mut flipped[middle..middle + 4096] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &flipped).unwrap();
    load_and_serve().await;
    assert_ne!(std::fs::read(&path).unwrap(), flipped, "rebuilt");

    // Truncated.
    std::fs::write(&path, &good[..good.len() / 3]).unwrap();
    load_and_serve().await;
    assert_eq!(std::fs::read(&path).unwrap().len(), good.len(), "rebuilt");

    // Writable by others: not trusted, replaced by a private file.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    load_and_serve().await;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Owned by someone else (only root can stage that).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        load_and_serve().await;
        assert_eq!(std::fs::metadata(&path).unwrap().uid(), 0, "replaced");
    } else {
        eprintln!("not root: the foreign-owner case is covered by the cache's unit tests only");
    }

    // The manifest entry is verified too.
    let manifest = path.with_extension("manifest.json");
    let mut bytes = std::fs::read(&manifest).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(&manifest, &bytes).unwrap();
    load_and_serve().await;

    // A directory others can write is not used at all: nothing is read
    // from it or written to it.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap().path();
        if entry.extension().is_some_and(|x| x == "cwasm") {
            std::fs::remove_file(entry).unwrap();
        }
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    load_and_serve().await;
    assert!(
        std::fs::read_dir(&dir).unwrap().all(|e| e
            .unwrap()
            .path()
            .extension()
            .is_none_or(|x| x != "cwasm")),
        "nothing was written to an untrusted directory"
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- 4. Every read is bounded ----

#[tokio::test]
async fn secret_references_are_read_within_bounds() {
    let h = Harness::start().await;
    let seed = h.emulator.seed().clone();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-secrets");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big");
    std::fs::write(&big, vec![b'x'; 1 << 20]).unwrap();
    // A FIFO nobody writes to: opening it for reading would block forever.
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for (path, why) in [
        ("/dev/zero".to_owned(), "not a regular file"),
        ("/dev/urandom".to_owned(), "not a regular file"),
        (fifo.display().to_string(), "not a regular file"),
        (big.display().to_string(), "larger than"),
    ] {
        let file = format!(
            "[tenants.acme]\nenvironmentId = \"{}\"\nclientId = \"{}\"\nclientSecret = \"file:{path}\"\n",
            seed.environment_id, seed.client_id
        );
        let started = std::time::Instant::now();
        match TenantRegistry::from_toml(&file, &h.runtime, Some(PINGONE)) {
            Err(Error::Tenant { field, message }) => {
                assert_eq!(field, "acme.clientSecret");
                assert!(message.contains(why), "{path}: {message}");
            }
            other => panic!(
                "{path}: expected a tenant error, got {:?}",
                other.map(|r| r.names())
            ),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} did not block"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    serves(&h, &h.tenant).await;
}

// ---- 5. Errors are bounded and say what happened ----

fn huge_pingone_error() -> Value {
    let details: Vec<Value> = (0..10_000)
        .map(|i| json!({ "code": "INVALID_VALUE", "target": format!("field{i}"), "message": "d".repeat(100) }))
        .collect();
    json!({
        "id": "0b2d2e7c-huge",
        "code": "INVALID_DATA",
        "message": "a line\nanother line\r\n".repeat(50_000),
        "details": details,
    })
}

#[tokio::test]
async fn a_megabyte_pingone_error_stays_within_bounds() {
    let h = Harness::start().await;
    let seed = h.emulator.seed().clone();
    let tight = h.operator_tenant(
        settings_for(&h.emulator, &seed),
        Limits {
            max_output_bytes: 2048,
            ..Limits::default()
        },
    );
    for (tenant, bound) in [(&h.tenant, 64 * 1024), (&tight, 2048)] {
        h.emulator.inject(
            Fault::new(
                "/mfaEnabled",
                FaultAction::Respond {
                    status: 400,
                    body: Some(huge_pingone_error()),
                    retry_after: None,
                },
            )
            .times(1),
        );
        let e = mfa_enabled(&h, tenant).await.unwrap_err();
        let json = e.to_json().to_string();
        assert!(json.len() <= bound, "{} bytes > {bound}", json.len());
        let summary = e.summary();
        assert!(summary.len() <= MAX_SUMMARY_BYTES && !summary.contains(['\n', '\r']));
        match e {
            Error::Api {
                status,
                code,
                message,
                details,
                omitted_details,
                id,
                ..
            } => {
                assert_eq!((status, code.as_str()), (400, "INVALID_DATA"));
                assert_eq!(id.as_deref(), Some("0b2d2e7c-huge"), "PingOne's id is kept");
                assert!(message.len() <= MAX_MESSAGE_BYTES && message.ends_with('…'));
                assert!(details.len() <= MAX_DETAILS);
                assert_eq!(details.len() + omitted_details as usize, 10_000);
                if bound > 2048 {
                    assert_eq!(details.len(), MAX_DETAILS, "as many as the bound allows");
                    assert_eq!(details[0].target.as_deref(), Some("field0"));
                }
            }
            other => panic!("expected PingOne's error, got {other:?}"),
        }
        serves(&h, tenant).await;
    }
}
