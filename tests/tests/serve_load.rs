//! The service under load over a real loopback listener: a thousand
//! concurrent HTTP invocations spread over fifty tenants, and a reload of
//! the tenants file while two hundred invocations are in flight.
//!
//! The library-level versions of these (tests/tests/isolation.rs,
//! tests/tests/runtime.rs) prove the runtime keeps tenants apart; these
//! prove the HTTP layer in front of it does too: the key scopes, the
//! registry lookups per request, the connection bounds and the reload
//! path add nothing lost, nothing crossed and no extra token fetch.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connector_runtime::{HttpLimits, Limits, RuntimeConfig};
use connector_service::keys::KeyConfig;
use connector_service::{digest_hex, Keys, ServeConfig, ServerLimits, Service};
use connector_testkit::service::{Answer, Served};
use connector_testkit::{pingone_tenant, test_config, PINGONE};
use pingone_emulator::faults::{Fault, FaultAction};
use pingone_emulator::{Emulator, EmulatorConfig, Seed};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const TENANTS: usize = 50;
const PER_TENANT: usize = 20;
const IN_FLIGHT: usize = 200;

/// The capability every test invokes: it reads the environment's own
/// device authentication policy, which exists in that environment only
/// (another environment answers 404), and PingOne's answer names the
/// environment, so a 200 with the right `environment.id` proves which
/// tenant's connection answered.
const CAPABILITY: &str = "readDeviceAuthenticationPolicy";

fn policy_input(seed: &Seed) -> Value {
    json!({ "deviceAuthenticationPolicyId": seed.policy_id })
}

/// Panics unless `answer` is a 200 with `seed`'s policy read from `seed`'s
/// environment.
fn assert_from(answer: &Answer, seed: &Seed, what: &str) {
    assert_eq!(answer.status, 200, "{what}: {}", answer.text);
    assert_eq!(
        answer.json["rawResponse"]["environment"]["id"],
        seed.environment_id.as_str(),
        "{what}: an answer from another environment"
    );
    assert_eq!(
        answer.json["deviceAuthenticationPolicy"]["id"],
        seed.policy_id.as_str(),
        "{what}: another environment's policy"
    );
}

/// Every client connection comes from 127.0.0.1, so the per-client bound
/// (64 by default) must hold all the concurrent invocations a test makes:
/// beyond it the server drops connections, which the client would see as
/// lost requests that say nothing about the invocation path.
fn server_limits() -> ServerLimits {
    ServerLimits {
        max_connections_per_client: 2 * TENANTS * PER_TENANT,
        ..ServerLimits::default()
    }
}

/// Waits until `done` holds. The bound only turns a hang into a failure
/// with a message; no assertion depends on how long anything took.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_invocations_over_fifty_tenants() {
    let started = Instant::now();
    let emulator = Emulator::start(EmulatorConfig {
        environments: TENANTS,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    // Every invocation holds an instance while it waits for PingOne, so
    // the pool must hold all of them at once.
    let config = RuntimeConfig {
        max_instances: (TENANTS * PER_TENANT) as u32,
        ..test_config()
    };
    let runtime = connector_testkit::runtime(config).await;
    // All of a tenant's invocations run at once; the wall clock and HTTP
    // timeouts are raised because a 2-core CI machine running a thousand
    // instances, the emulator and the client may take longer than the
    // production defaults assume, and a timeout here would be a failure of
    // the machine, not of the service.
    let defaults = Limits::default();
    let limits = Limits {
        max_concurrent: PER_TENANT,
        max_queued: PER_TENANT,
        wall_time: Duration::from_secs(120),
        http: HttpLimits {
            first_byte_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            ..defaults.http
        },
        ..defaults
    };

    // One key per tenant, scoped to it alone, as a flow engine serving
    // fifty customers would hold them: the test then also proves that the
    // key's scope is checked per request under load, and a key that may
    // see every tenant could not catch a request routed to the wrong one.
    let names: Vec<String> = (0..TENANTS).map(|i| format!("tenant-{i:02}")).collect();
    let keys: Vec<String> = (0..TENANTS)
        .map(|i| format!("load-key-{i:02}-0123456789abcdef"))
        .collect();
    let key_configs: Vec<KeyConfig> = names
        .iter()
        .zip(&keys)
        .map(|(name, key)| KeyConfig {
            name: format!("flows-{name}"),
            sha256: Some(digest_hex(key)),
            key: None,
            tenants: vec![name.clone()],
            admin: false,
        })
        .collect();
    let serve = ServeConfig {
        server: server_limits(),
        ..ServeConfig::default()
    };
    let service = Service::new(runtime, &serve, Keys::from_config(&key_configs).unwrap()).unwrap();
    for (name, seed) in names.iter().zip(emulator.seeds()) {
        let tenant = pingone_tenant(service.runtime(), &emulator, seed, limits);
        service.registry().insert(name, tenant);
    }
    let served = Served::start(service.clone()).await;
    let pool = served.client(None);

    // No tenant has a token yet: every tenant's twenty invocations race
    // for it, and the token endpoint is slowed down so the race is wide.
    emulator.inject(Fault::new("/as/token", FaultAction::Delay { millis: 200 }));
    let burst = Instant::now();
    let mut calls = Vec::with_capacity(TENANTS * PER_TENANT);
    // Round-robin over the tenants, so each tenant's requests are spread
    // over the whole burst instead of arriving together.
    for _ in 0..PER_TENANT {
        for (i, seed) in emulator.seeds().iter().enumerate() {
            let client = pool.with_key(Some(&keys[i]));
            let name = names[i].clone();
            let input = policy_input(seed);
            calls.push(tokio::spawn(async move {
                let answer = client.invoke(&name, PINGONE, CAPABILITY, &input).await;
                (i, answer)
            }));
        }
    }
    let mut answered = vec![0usize; TENANTS];
    for call in calls {
        let (i, answer) = call.await.expect("the invocation task ends");
        assert_from(&answer, &emulator.seeds()[i], &names[i]);
        answered[i] += 1;
    }
    let burst_time = burst.elapsed();
    emulator.clear_faults();

    assert_eq!(
        answered.iter().sum::<usize>(),
        TENANTS * PER_TENANT,
        "every invocation was answered"
    );
    assert!(answered.iter().all(|n| *n == PER_TENANT), "{answered:?}");
    let tokens = emulator.stats().token_requests;
    assert_eq!(
        tokens, TENANTS as u64,
        "one token request per tenant: concurrent first calls share it"
    );
    for name in &names {
        let stats = service.registry().get(name).unwrap().stats();
        assert_eq!(stats.invocations, PER_TENANT as u64, "{name}");
        assert_eq!(stats.failures, 0, "{name}");
        assert_eq!(stats.token_fetches, 1, "{name}");
        assert_eq!((stats.in_flight, stats.queued), (0, 0), "{name}");
    }

    // A tenant's key cannot reach its neighbour: the neighbour answers as
    // a tenant that does not exist.
    let neighbour = pool
        .with_key(Some(&keys[0]))
        .invoke(
            &names[1],
            PINGONE,
            CAPABILITY,
            &policy_input(&emulator.seeds()[1]),
        )
        .await;
    assert_eq!(
        (neighbour.status, neighbour.kind()),
        (404, Some("unknownTenant"))
    );

    drop(pool);
    served.stop().await;
    emulator.shutdown().await;
    eprintln!(
        "{} invocations over {TENANTS} tenants: burst {burst_time:?}, test {:?}, {tokens} token requests",
        TENANTS * PER_TENANT,
        started.elapsed()
    );
}

/// A TCP proxy in front of the emulator that holds every request until it
/// is opened: what the invocations in flight during a reload are held by.
/// A delay at the emulator would leave it to the clock whether they are
/// still in flight when the reload happens; held here, they certainly are,
/// and the test decides when they finish.
struct Gate {
    /// `http://127.0.0.1:PORT/v1`, an `apiUrl` through the proxy.
    api_url: String,
    open: watch::Sender<bool>,
    /// Requests the proxy has received (answered or held).
    requests: Arc<AtomicUsize>,
}

impl Gate {
    async fn start(target: SocketAddr) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let (open, opened) = watch::channel(false);
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let opened = opened.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    let upstream = pump(client_read, server_write, Some((opened, counter)));
                    let downstream = pump(server_read, client_write, None);
                    let _ = tokio::join!(upstream, downstream);
                });
            }
        });
        Gate {
            api_url,
            open,
            requests,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn open(&self) {
        self.open.send_replace(true);
    }
}

/// Copies `from` to `to` until `from` ends. Upstream (`gate` given), each
/// request line is counted and nothing is passed on while the gate is
/// closed. The copy uses the readiness API so the test needs no tokio
/// feature beyond the ones the workspace declares.
async fn pump(
    from: tokio::net::tcp::OwnedReadHalf,
    to: tokio::net::tcp::OwnedWriteHalf,
    mut gate: Option<(watch::Receiver<bool>, Arc<AtomicUsize>)>,
) -> std::io::Result<()> {
    // The host's requests are GETs without a body: each one carries this
    // exactly once, at the end of its request line.
    const REQUEST_LINE_END: &[u8] = b" HTTP/1.1\r\n";
    let mut buffer = vec![0u8; 16 * 1024];
    // The end of the previous read, so a request line split over two
    // reads is still counted once.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        from.readable().await?;
        let n = match from.try_read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        if let Some((opened, counter)) = gate.as_mut() {
            tail.extend_from_slice(&buffer[..n]);
            let seen = tail
                .windows(REQUEST_LINE_END.len())
                .filter(|w| *w == REQUEST_LINE_END)
                .count();
            counter.fetch_add(seen, Ordering::SeqCst);
            let keep = REQUEST_LINE_END.len() - 1;
            tail.drain(..tail.len().saturating_sub(keep));
            // A kept tail can never hold a whole request line, so nothing
            // is counted twice.
            if opened.wait_for(|open| *open).await.is_err() {
                return Ok(());
            }
        }
        let mut sent = 0;
        while sent < n {
            to.writable().await?;
            match to.try_write(&buffer[sent..n]) {
                Ok(written) => sent += written,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// A tenant's section of a tenants file: `seed`'s credentials, the API
/// reached at `api_url`, and `limits` (TOML lines).
fn tenant_section(
    name: &str,
    emulator: &Emulator,
    seed: &Seed,
    api_url: &str,
    limits: &str,
) -> String {
    format!(
        "[tenants.{name}]\n\
         environmentId = \"{}\"\n\
         clientId = \"{}\"\n\
         clientSecret = \"{}\"\n\
         policyId = \"{}\"\n\
         apiUrl = \"{api_url}\"\n\
         authUrl = \"{}\"\n\n\
         [tenants.{name}.limits]\n\
         wallTimeMs = 120000\n\
         firstByteTimeoutMs = 60000\n\
         requestTimeoutMs = 60000\n\
         {limits}\n\n",
        seed.environment_id,
        seed.client_id,
        seed.client_secret,
        seed.policy_id,
        emulator.auth_url(),
    )
}

/// A folder of its own under the system's temporary folder, removed when
/// dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_loses_nothing_and_applies_the_new_settings() {
    let started = Instant::now();
    let emulator = Emulator::start(EmulatorConfig {
        environments: 2,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let (a, b) = (&emulator.seeds()[0], &emulator.seeds()[1]);
    let gate = Gate::start(SocketAddr::from(([127, 0, 0, 1], emulator.port()))).await;
    let direct = emulator.api_url();

    // `moving` starts in environment A behind the gate, with room for all
    // the invocations at once; `doomed` is in the file only until the
    // first reload.
    let dir = TempDir::new("serve-load-reload");
    let file = dir.0.join("tenants.toml");
    let all_at_once = format!("maxConcurrent = {IN_FLIGHT}\nmaxQueued = 0");
    std::fs::write(
        &file,
        tenant_section("moving", &emulator, a, &gate.api_url, &all_at_once)
            + &tenant_section("doomed", &emulator, b, &direct, ""),
    )
    .unwrap();

    let config = RuntimeConfig {
        max_instances: 2 * IN_FLIGHT as u32,
        ..test_config()
    };
    let runtime = connector_testkit::runtime(config).await;
    let serve = ServeConfig {
        tenants_file: Some(file.clone()),
        default_connector: Some(PINGONE.into()),
        server: server_limits(),
        ..ServeConfig::default()
    };
    let flows_key = "reload-flows-0123456789abcdef";
    let admin_key = "reload-admin-0123456789abcdef";
    let keys = Keys::from_config(&[
        KeyConfig {
            name: "flows".into(),
            sha256: Some(digest_hex(flows_key)),
            key: None,
            tenants: vec!["*".into()],
            admin: false,
        },
        KeyConfig {
            name: "ops".into(),
            sha256: Some(digest_hex(admin_key)),
            key: None,
            tenants: vec![],
            admin: true,
        },
    ])
    .unwrap();
    let service = Service::new(runtime, &serve, keys).unwrap();
    let served = Served::start(service.clone()).await;
    let flows = served.client(Some(flows_key));
    let admin = flows.with_key(Some(admin_key));

    // A tenant the admin API creates is the tenant's own: its settings
    // may not name the loopback emulator, so it gets PingOne's real URLs
    // and is only ever invoked with an input the contract refuses before
    // any request leaves the host.
    let created = admin
        .send(
            "PUT",
            "/v1/admin/tenants/self-served/connections/pingone-mfa",
            json!({
                "environmentId": b.environment_id,
                "clientId": b.client_id,
                "clientSecret": b.client_secret,
            })
            .to_string(),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);

    // The load: every invocation reaches the gate and is held there.
    let before = service.registry().get("moving").unwrap();
    let calls: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let client = flows.clone();
            let input = policy_input(a);
            tokio::spawn(async move { client.invoke("moving", PINGONE, CAPABILITY, &input).await })
        })
        .collect();
    until("every invocation is held at the gate", || {
        gate.requests() == IN_FLIGHT
    })
    .await;
    assert_eq!(before.stats().in_flight, IN_FLIGHT);

    // First reload, the SIGHUP way: `moving` moves to environment B,
    // straight to the emulator; `doomed` is gone.
    std::fs::write(
        &file,
        tenant_section("moving", &emulator, b, &direct, &all_at_once),
    )
    .unwrap();
    assert_eq!(service.reload().unwrap(), 1);
    let moved = flows
        .invoke("moving", PINGONE, CAPABILITY, &policy_input(b))
        .await;
    assert_from(&moved, b, "moving, after the first reload");
    let old_policy = flows
        .invoke("moving", PINGONE, CAPABILITY, &policy_input(a))
        .await;
    assert_ne!(
        old_policy.status, 200,
        "environment A's policy is not in environment B: {}",
        old_policy.text
    );
    let doomed = flows
        .invoke("doomed", PINGONE, CAPABILITY, &policy_input(b))
        .await;
    assert_eq!((doomed.status, doomed.kind()), (404, Some("unknownTenant")));

    // Second reload, through the admin API: `moving` gets one slot and no
    // queue, and goes back behind the gate, so one invocation held there
    // makes the next one a refusal, which only the new limit explains.
    std::fs::write(
        &file,
        tenant_section(
            "moving",
            &emulator,
            b,
            &gate.api_url,
            "maxConcurrent = 1\nmaxQueued = 0",
        ),
    )
    .unwrap();
    let reloaded = admin.send("POST", "/v1/admin/reload", "").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text);
    assert_eq!(reloaded.json["tenantsFromFile"], 1);
    let held = {
        let client = flows.clone();
        let input = policy_input(b);
        tokio::spawn(async move { client.invoke("moving", PINGONE, CAPABILITY, &input).await })
    };
    until("the new tenant's invocation is held at the gate", || {
        gate.requests() == IN_FLIGHT + 1
    })
    .await;
    let refused = flows
        .invoke("moving", PINGONE, CAPABILITY, &policy_input(b))
        .await;
    assert_eq!(
        (refused.status, refused.kind()),
        (429, Some("limit")),
        "{}",
        refused.text
    );

    // The admin API's tenant outlived both reloads, and the file's
    // removed tenant stays removed.
    let survivor = admin.get("/v1/admin/tenants/self-served").await;
    assert_eq!(survivor.status, 200, "{}", survivor.text);
    assert_eq!(survivor.json["connections"][0]["trust"], "tenant");
    let refused_input = flows
        .invoke("self-served", PINGONE, CAPABILITY, &json!({}))
        .await;
    assert_eq!(
        (refused_input.status, refused_input.kind()),
        (400, Some("invalidInput")),
        "the tenant is there: {}",
        refused_input.text
    );
    assert_eq!(admin.get("/v1/admin/tenants/doomed").await.status, 404);

    // Let everything through: the two hundred finish with the settings
    // they started with (environment A), none failed, none was lost.
    assert_eq!(before.stats().in_flight, IN_FLIGHT, "still held");
    gate.open();
    let mut finished = 0;
    for call in calls {
        let answer = call.await.expect("the invocation task ends");
        assert_from(&answer, a, "an invocation in flight during the reloads");
        finished += 1;
    }
    assert_eq!(finished, IN_FLIGHT);
    assert_from(&held.await.unwrap(), b, "moving, after the second reload");
    // A reload's tenants continue their predecessors' counters, so these
    // count the tenant's every invocation: the 200, the one answered from B
    // after the first reload, the one held and the one refused (the only
    // failure) after the second.
    let stats = before.stats();
    assert_eq!(
        (stats.invocations, stats.failures, stats.in_flight),
        (IN_FLIGHT as u64 + 3, 1, 0)
    );
    assert_eq!(
        before.token_fetches(),
        1,
        "the in-flight invocations shared one token"
    );

    // One token per credential: A's, then B's. The second reload changed
    // only the limit and the API base (back through the proxy), so its
    // connection kept B's token; a refused request fetches none.
    let tokens = emulator.stats().token_requests;
    assert_eq!(tokens, 2);

    drop((flows, admin));
    served.stop().await;
    emulator.shutdown().await;
    eprintln!(
        "{IN_FLIGHT} invocations held through two reloads: test {:?}, {tokens} token requests",
        started.elapsed(),
    );
}
