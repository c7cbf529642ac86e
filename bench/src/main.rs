//! `connector-bench`: what one invocation costs through the wasmtime host,
//! side by side with the same HTTP request from a native Rust client with
//! keep-alive, against the in-process PingOne emulator on loopback.
//!
//! Run: `cargo run --release -p connector-bench` (a few minutes at most).
//! See BENCHMARKS.md for what each figure means and the recorded results.
//!
//! Internal modes (the bench spawns itself in them):
//! * `--cold-start precompiled|raw`: load the runtime in this fresh process
//!   and run one invocation against the parent's emulator (settings from
//!   `BENCH_*` environment variables); prints one JSON line.
//! * `--rss host|native N`: start a world, hold N invocations in flight with
//!   an emulator delay, print the resident memory as one JSON line.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use connector_runtime::{Connector, Limits, Runtime, RuntimeConfig, Tenant, Trust};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use pingone_emulator::faults::{Fault, FaultAction};
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

const OTP_CHECK: &str = "application/vnd.pingidentity.otp.check+json";

/// The capabilities measured.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cap {
    ReadDevice,
    CreateAuthentication,
    Passcode,
}

impl Cap {
    const ALL: [Cap; 3] = [Cap::ReadDevice, Cap::CreateAuthentication, Cap::Passcode];

    fn id(self) -> &'static str {
        match self {
            Cap::ReadDevice => "readDevice",
            Cap::CreateAuthentication => "createDeviceAuthentication",
            Cap::Passcode => "validateOtpDeviceAuthentication",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Cap::ReadDevice => "Read Device",
            Cap::CreateAuthentication => "Create Device Authentication",
            Cap::Passcode => "Device Passcode",
        }
    }
}

// ---------------------------------------------------------------- numbers

/// (p10, median, p90) of `samples`.
fn spread(samples: &mut [f64]) -> (f64, f64, f64) {
    assert!(!samples.is_empty());
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.10), at(0.50), at(0.90))
}

fn fmt3((p10, p50, p90): (f64, f64, f64)) -> String {
    format!("{} [{} .. {}]", num(p50), num(p10), num(p90))
}

fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// User + system CPU time of this process.
fn cpu_now() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Resident memory of this process, in bytes (/proc/self/statm).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

// ---------------------------------------------------------------- the world

type NativeClient = Client<HttpConnector, Full<Bytes>>;

/// The floor: the same requests from native Rust, keep-alive, with the
/// response parsed into JSON.
#[derive(Clone)]
struct Native {
    client: NativeClient,
    bearer: http::HeaderValue,
}

impl Native {
    async fn new(emulator: &Emulator) -> Native {
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
    async fn send(&self, req: &NativeRequest) -> (u16, Value) {
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

#[derive(Clone)]
struct NativeRequest {
    method: http::Method,
    uri: http::Uri,
    content_type: Option<&'static str>,
    body: Bytes,
}

struct World {
    emulator: Emulator,
    runtime: Runtime,
    tenant: Tenant,
    native: Native,
    user: String,
    device: String,
}

fn bench_limits() -> Limits {
    Limits {
        max_concurrent: 2048,
        max_queued: 4096,
        ..Limits::default()
    }
}

/// A runtime with the PingOne MFA connector only, as every figure compares
/// like with like across versions.
async fn load(config: RuntimeConfig) -> Runtime {
    Runtime::with_connectors(config, &[connector_testkit::PINGONE_MFA])
        .await
        .expect("component loads")
}

fn pingone(runtime: &Runtime) -> Connector {
    runtime
        .connector(connector_testkit::PINGONE)
        .expect("PingOne MFA is loaded")
}

fn runtime_config(cache_dir: Option<std::path::PathBuf>) -> RuntimeConfig {
    // BENCH_MAX_INSTANCES: pool size (default 1100, enough for 1,000 in flight).
    let max_instances = std::env::var("BENCH_MAX_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1100);
    RuntimeConfig {
        cache_dir,
        max_instances,
        ..RuntimeConfig::default()
    }
}

impl World {
    fn pingone(&self) -> Connector {
        pingone(&self.runtime)
    }

    async fn start(cache_dir: Option<std::path::PathBuf>) -> World {
        let emulator = Emulator::start(EmulatorConfig::default())
            .await
            .expect("emulator starts");
        let runtime = load(runtime_config(cache_dir)).await;
        let seed = emulator.seed().clone();
        let tenant = connector_testkit::pingone_tenant(&runtime, &emulator, &seed, bench_limits());
        let user = seed.users[0].id.clone();
        let created = runtime
            .invoke(
                &tenant,
                "createDevice",
                &json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVE",
                         "createDeviceTestMode": "true", "phone": "+15125550101" })
                .to_string(),
            )
            .await
            .expect("createDevice");
        let device = created["device"]["id"]
            .as_str()
            .expect("device id")
            .to_owned();
        let native = Native::new(&emulator).await;
        World {
            emulator,
            runtime,
            tenant,
            native,
            user,
            device,
        }
    }

    fn env(&self) -> &str {
        &self.emulator.seed().environment_id
    }

    /// `n` fresh device authentications awaiting their OTP: (id, otp).
    async fn pending_authentications(&self, n: usize) -> Vec<(String, String)> {
        let request = self.native_create();
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (status, body) = self.native.send(&request).await;
            assert_eq!(status, 201, "{body}");
            out.push((
                body["id"].as_str().expect("id").to_owned(),
                body["test"]["otp"].as_str().expect("test otp").to_owned(),
            ));
        }
        out
    }

    fn native_create(&self) -> NativeRequest {
        NativeRequest {
            method: http::Method::POST,
            uri: format!("{}/{}/deviceAuthentications", self.emulator.auth_url(), self.env())
                .parse()
                .unwrap(),
            content_type: Some("application/json"),
            body: Bytes::from(
                json!({ "user": { "id": self.user }, "policy": { "id": self.emulator.seed().policy_id } })
                    .to_string(),
            ),
        }
    }

    /// `n` inputs (host) or requests (native) for `cap`.
    async fn workload(&self, cap: Cap, n: usize) -> Workload {
        let pending = if cap == Cap::Passcode {
            self.pending_authentications(n).await
        } else {
            Vec::new()
        };
        let host = (0..n)
            .map(|i| match cap {
                Cap::ReadDevice => json!({ "userId": self.user, "deviceId": self.device }),
                Cap::CreateAuthentication => json!({ "userId": self.user }),
                Cap::Passcode => {
                    json!({ "deviceAuthenticationId": pending[i].0, "otp": pending[i].1 })
                }
            })
            .map(|v| v.to_string())
            .collect();
        let pending = if cap == Cap::Passcode {
            self.pending_authentications(n).await
        } else {
            Vec::new()
        };
        let native = (0..n)
            .map(|i| match cap {
                Cap::ReadDevice => NativeRequest {
                    method: http::Method::GET,
                    uri: format!(
                        "{}/environments/{}/users/{}/devices/{}",
                        self.emulator.api_url(),
                        self.env(),
                        self.user,
                        self.device
                    )
                    .parse()
                    .unwrap(),
                    content_type: None,
                    body: Bytes::new(),
                },
                Cap::CreateAuthentication => self.native_create(),
                Cap::Passcode => NativeRequest {
                    method: http::Method::POST,
                    uri: format!(
                        "{}/{}/deviceAuthentications/{}",
                        self.emulator.auth_url(),
                        self.env(),
                        pending[i].0
                    )
                    .parse()
                    .unwrap(),
                    content_type: Some(OTP_CHECK),
                    body: Bytes::from(json!({ "otp": pending[i].1 }).to_string()),
                },
            })
            .collect();
        Workload { host, native }
    }

    async fn host_call(&self, cap: Cap, input: &str) -> Value {
        match self.runtime.invoke(&self.tenant, cap.id(), input).await {
            Ok(v) => v,
            Err(e) => panic!("{} failed: {e}", cap.id()),
        }
    }

    async fn native_call(&self, req: &NativeRequest) -> Value {
        let (status, body) = self.native.send(req).await;
        assert!((200..300).contains(&status), "native {status}: {body}");
        body
    }
}

struct Workload {
    host: Vec<String>,
    native: Vec<NativeRequest>,
}

#[derive(Clone, Copy, PartialEq)]
enum Path {
    Host,
    Native,
}

// ---------------------------------------------------------------- measurements

struct Sequential {
    latency_us: Vec<f64>,
    cpu_us_per_call: Vec<f64>,
}

/// Sequential invocations: per-call latency, and CPU per call per round.
async fn sequential(world: &World, cap: Cap, rounds: usize, per_round: usize) -> [Sequential; 2] {
    let mut out = [
        Sequential {
            latency_us: vec![],
            cpu_us_per_call: vec![],
        },
        Sequential {
            latency_us: vec![],
            cpu_us_per_call: vec![],
        },
    ];
    // Warm up both paths (connections, token, caches, pool slots).
    let warm = world.workload(cap, 100).await;
    for input in &warm.host {
        world.host_call(cap, input).await;
    }
    for req in &warm.native {
        world.native_call(req).await;
    }
    for _ in 0..rounds {
        let load = world.workload(cap, per_round).await;
        for path in [Path::Host, Path::Native] {
            let slot = &mut out[path as usize];
            let cpu0 = cpu_now();
            for i in 0..per_round {
                let t = Instant::now();
                match path {
                    Path::Host => drop(world.host_call(cap, &load.host[i]).await),
                    Path::Native => drop(world.native_call(&load.native[i]).await),
                }
                slot.latency_us.push(us(t.elapsed()));
            }
            slot.cpu_us_per_call
                .push(us(cpu_now() - cpu0) / per_round as f64);
        }
    }
    out
}

/// Invocations per second with `concurrency` tasks over `load`.
async fn throughput(
    world: &Arc<World>,
    cap: Cap,
    path: Path,
    load: Workload,
    concurrency: usize,
) -> f64 {
    let load = Arc::new(load);
    let n = match path {
        Path::Host => load.host.len(),
        Path::Native => load.native.len(),
    };
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (world, load, next) = (world.clone(), load.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    match path {
                        Path::Host => drop(world.host_call(cap, &load.host[i]).await),
                        Path::Native => drop(world.native_call(&load.native[i]).await),
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

struct ThroughputResult {
    /// [cap][path] -> per-round invocations/s
    rates: Vec<[Vec<f64>; 2]>,
    token_requests: u64,
    host_invocations: u64,
}

fn run_throughput(threads: usize, cache: &std::path::Path) -> ThroughputResult {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    let cache = cache.to_owned();
    rt.block_on(async move {
        tokio::spawn(async move {
            let world = Arc::new(World::start(Some(cache)).await);
            const N: usize = 3000;
            const ROUNDS: usize = 3;
            const CONCURRENCY: usize = 32;
            let mut rates = Vec::new();
            let tokens0 = world.emulator.stats().token_requests;
            let mut host_invocations = 0;
            for cap in Cap::ALL {
                let mut r: [Vec<f64>; 2] = [vec![], vec![]];
                // One unmeasured round warms connections and pool slots.
                for round in 0..=ROUNDS {
                    for path in [Path::Host, Path::Native] {
                        let n = if round == 0 { 200 } else { N };
                        let load = world.workload(cap, n).await;
                        let rate = throughput(&world, cap, path, load, CONCURRENCY).await;
                        if path == Path::Host {
                            host_invocations += n as u64;
                        }
                        if round > 0 {
                            r[path as usize].push(rate);
                        }
                    }
                }
                rates.push(r);
            }
            ThroughputResult {
                rates,
                token_requests: world.emulator.stats().token_requests - tokens0,
                host_invocations,
            }
        })
        .await
        .unwrap()
    })
}

// ---------------------------------------------------------------- child modes

fn child_env(world: &World, cache: &std::path::Path) -> Vec<(String, String)> {
    let seed = world.emulator.seed();
    vec![
        ("BENCH_API_URL".into(), world.emulator.api_url()),
        ("BENCH_AUTH_URL".into(), world.emulator.auth_url()),
        ("BENCH_ENV".into(), seed.environment_id.clone()),
        ("BENCH_CLIENT".into(), seed.client_id.clone()),
        ("BENCH_SECRET".into(), seed.client_secret.clone()),
        ("BENCH_POLICY".into(), seed.policy_id.clone()),
        ("BENCH_USER".into(), world.user.clone()),
        ("BENCH_DEVICE".into(), world.device.clone()),
        ("BENCH_CACHE".into(), cache.display().to_string()),
    ]
}

/// Child: a fresh process loads the runtime and runs one invocation.
fn cold_start_child(mode: &str) {
    let t0 = Instant::now();
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tokio_us = us(t0.elapsed());
    rt.block_on(async {
        let cache = match mode {
            "precompiled" => Some(std::path::PathBuf::from(var("BENCH_CACHE"))),
            "raw" => None,
            other => panic!("unknown cold-start mode {other}"),
        };
        let t1 = Instant::now();
        let runtime = load(runtime_config(cache)).await;
        let load_us = us(t1.elapsed());
        let settings = json!({
            "environmentId": var("BENCH_ENV"),
            "policyId": var("BENCH_POLICY"),
            "clientId": var("BENCH_CLIENT"),
            "clientSecret": var("BENCH_SECRET"),
            "apiUrl": var("BENCH_API_URL"),
            "authUrl": var("BENCH_AUTH_URL"),
        });
        let tenant = Tenant::connected(
            &pingone(&runtime),
            settings.as_object().cloned().unwrap(),
            Trust::Operator,
            bench_limits(),
        )
        .expect("tenant");
        let input =
            json!({ "userId": var("BENCH_USER"), "deviceId": var("BENCH_DEVICE") }).to_string();
        let t2 = Instant::now();
        runtime
            .invoke(&tenant, "readDevice", &input)
            .await
            .expect("first invocation");
        let first_us = us(t2.elapsed());
        let main_to_first_us = us(t0.elapsed());
        // A second invocation: warm, for comparison.
        let t3 = Instant::now();
        runtime
            .invoke(&tenant, "readDevice", &input)
            .await
            .expect("second invocation");
        let second_us = us(t3.elapsed());
        println!(
            "{}",
            json!({ "tokioUs": tokio_us, "loadUs": load_us, "firstUs": first_us,
                    "secondUs": second_us, "mainToFirstUs": main_to_first_us })
        );
    });
}

/// Child: hold `n` invocations in flight; print resident memory.
fn rss_child(path: &str, n: usize, cache: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let path = match path {
        "host" => Path::Host,
        "native" => Path::Native,
        other => panic!("unknown path {other}"),
    };
    let cache = std::path::PathBuf::from(cache);
    rt.block_on(async move {
        let world = Arc::new(World::start(Some(cache)).await);
        let load = world.workload(Cap::ReadDevice, 1).await;
        // Warm the path: connection, token, one pool slot.
        for _ in 0..20 {
            match path {
                Path::Host => drop(world.host_call(Cap::ReadDevice, &load.host[0]).await),
                Path::Native => drop(world.native_call(&load.native[0]).await),
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = rss_bytes();
        let hold = Duration::from_millis(if n >= 500 { 5000 } else { 2500 });
        world.emulator.inject(
            Fault::new(
                world.device.clone(),
                FaultAction::Delay {
                    millis: hold.as_millis() as u64,
                },
            )
            .times(n as u32),
        );
        let api0 = world.emulator.stats().api_requests;
        let load = Arc::new(load);
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (world, load) = (world.clone(), load.clone());
                tokio::spawn(async move {
                    match path {
                        Path::Host => drop(world.host_call(Cap::ReadDevice, &load.host[0]).await),
                        Path::Native => drop(world.native_call(&load.native[0]).await),
                    }
                })
            })
            .collect();
        // Let every invocation reach the emulator, then sample while none has finished.
        tokio::time::sleep(hold / 2).await;
        let during = rss_bytes();
        let completed_early = world.emulator.stats().api_requests - api0;
        for t in tasks {
            t.await.unwrap();
        }
        let completed = world.emulator.stats().api_requests - api0;
        println!(
            "{}",
            json!({ "before": before, "during": during, "n": n,
                    "completedBeforeSample": completed_early, "completed": completed })
        );
    });
}

/// For profilers: sequential Read Device calls on one path.
fn loop_child(path: &str, n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let host = path == "host";
    rt.block_on(async move {
        tokio::spawn(async move {
            let cache = std::env::temp_dir().join("connector-bench-loop-cache");
            let world = World::start(Some(cache)).await;
            let load = world.workload(Cap::ReadDevice, 1).await;
            let cpu0 = cpu_now();
            let t = Instant::now();
            for _ in 0..n {
                if host {
                    drop(world.host_call(Cap::ReadDevice, &load.host[0]).await);
                } else {
                    drop(world.native_call(&load.native[0]).await);
                }
            }
            println!(
                "{n} calls: {:.1} us/call wall, {:.1} us/call CPU",
                us(t.elapsed()) / n as f64,
                us(cpu_now() - cpu0) / n as f64
            );
        })
        .await
        .unwrap()
    });
}

fn spawn_self(args: &[&str], env: &[(String, String)]) -> (Value, f64) {
    let exe = std::env::current_exe().unwrap();
    let t = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .envs(env.iter().cloned())
        .output()
        .expect("spawn the bench itself");
    let wall = us(t.elapsed());
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(line.trim()).expect("child JSON");
    (v, wall)
}

// ---------------------------------------------------------------- main

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--cold-start") => return cold_start_child(args.get(2).map_or("precompiled", |s| s)),
        Some("--rss") => {
            let n = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1);
            let cache = std::env::var("BENCH_CACHE").expect("BENCH_CACHE");
            return rss_child(args.get(2).map_or("host", |s| s), n, &cache);
        }
        Some("--loop") => {
            // For profilers: `--loop host|native N` runs N sequential Read Device calls.
            let n = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(20_000);
            return loop_child(args.get(2).map_or("host", |s| s), n);
        }
        Some("--help") | Some("-h") => {
            println!("usage: connector-bench   (see BENCHMARKS.md)");
            return;
        }
        _ => {}
    }
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let started = Instant::now();
    let cache = std::env::temp_dir().join(format!("connector-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);

    println!("connector-bench: host path (validate, instantiate, guest, wasi-http, validate)");
    println!("vs a native hyper client with keep-alive, both against the in-process emulator on loopback.");
    println!("Figures: median [p10 .. p90]. CPU = getrusage user+sys of the whole process (emulator included) / invocations.\n");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cache2 = cache.clone();
    let (seq_results, inst, validate, cold_env) = rt.block_on(async move {
        tokio::spawn(async move {
            let world = World::start(Some(cache2.clone())).await;
            // 1. Sequential latency and CPU per invocation.
            let (rounds, per_round) = if quick { (2, 200) } else { (5, 400) };
            let mut seq = Vec::new();
            for cap in Cap::ALL {
                seq.push((cap, sequential(&world, cap, rounds, per_round).await));
            }
            // 2. Instantiate alone.
            let mut store_us = Vec::new();
            let mut inst_us = Vec::new();
            for i in 0..3000 {
                let (s, t) = world
                    .pingone()
                    .probe_instantiate(&world.tenant)
                    .await
                    .expect("instantiate");
                if i >= 500 {
                    store_us.push(us(s));
                    inst_us.push(us(t));
                }
            }
            // 3. Schema validation alone (input + output, parse included).
            let mut validate = Vec::new();
            for cap in Cap::ALL {
                let load = world.workload(cap, 1).await;
                let output = world.host_call(cap, &load.host[0]).await.to_string();
                let load = world.workload(cap, 1).await;
                let mut samples = Vec::new();
                for i in 0..3000 {
                    let t = Instant::now();
                    world
                        .pingone()
                        .probe_validate(cap.id(), &load.host[0], &output)
                        .expect("valid");
                    if i >= 300 {
                        samples.push(us(t.elapsed()));
                    }
                }
                validate.push((cap, samples, load.host[0].len(), output.len()));
            }
            let env = child_env(&world, &cache2);
            // Keep the world alive while the children use its emulator.
            let cold = tokio::task::spawn_blocking(move || {
                let mut pre = Vec::new();
                let mut raw = Vec::new();
                for _ in 0..7 {
                    pre.push(spawn_self(&["--cold-start", "precompiled"], &env));
                }
                for _ in 0..3 {
                    raw.push(spawn_self(&["--cold-start", "raw"], &env));
                }
                (pre, raw, env)
            })
            .await
            .unwrap();
            drop(world);
            (seq, (store_us, inst_us), validate, cold)
        })
        .await
        .unwrap()
    });
    drop(rt);

    // ---- print: latency and CPU
    println!("## Per invocation, sequential (2 worker threads)\n");
    println!(
        "{:<30} {:>28} {:>28} {:>7} | {:>22} {:>22} {:>7}",
        "capability",
        "host latency us",
        "native latency us",
        "ratio",
        "host CPU us",
        "native CPU us",
        "ratio"
    );
    let mut cpu_ratios = Vec::new();
    for (cap, [host, native]) in &seq_results {
        let (mut hl, mut nl) = (host.latency_us.clone(), native.latency_us.clone());
        let (mut hc, mut nc) = (host.cpu_us_per_call.clone(), native.cpu_us_per_call.clone());
        let (hl, nl, hc, nc) = (
            spread(&mut hl),
            spread(&mut nl),
            spread(&mut hc),
            spread(&mut nc),
        );
        cpu_ratios.push(hc.1 / nc.1);
        println!(
            "{:<30} {:>28} {:>28} {:>7} | {:>22} {:>22} {:>7}",
            cap.title(),
            fmt3(hl),
            fmt3(nl),
            format!("{:.2}x", hl.1 / nl.1),
            fmt3(hc),
            fmt3(nc),
            format!("{:.2}x", hc.1 / nc.1),
        );
    }
    println!("(CPU spread is over rounds of {}; the native CPU includes the emulator's work, so it is also the emulator-only cost.)\n",
        if quick { 200 } else { 400 });

    let (store_us, inst_us) = inst;
    let (mut s, mut i) = (store_us, inst_us);
    println!("## Parts of one invocation\n");
    println!(
        "{:<46} {}",
        "Store::new (WasiCtx, limits) us",
        fmt3(spread(&mut s))
    );
    println!(
        "{:<46} {}",
        "instantiate from the pool (InstancePre) us",
        fmt3(spread(&mut i))
    );
    for (cap, mut samples, inb, outb) in validate {
        println!(
            "{:<46} {}   (input {inb} B, output {outb} B)",
            format!("schema validation in+out, {} us", cap.title()),
            fmt3(spread(&mut samples))
        );
    }
    println!();

    let (pre, raw, env) = cold_env;
    println!("## Cold start: a fresh process loads the runtime and runs one Read Device\n");
    for (name, runs) in [
        ("precompiled artifact (mmap)", &pre),
        ("raw component (Cranelift)", &raw),
    ] {
        let get =
            |k: &str| -> Vec<f64> { runs.iter().map(|(v, _)| v[k].as_f64().unwrap()).collect() };
        let mut load = get("loadUs");
        let mut first = get("firstUs");
        let mut main_to_first = get("mainToFirstUs");
        let mut wall: Vec<f64> = runs.iter().map(|(_, w)| *w).collect();
        println!("{name} ({} runs)", runs.len());
        println!("  {:<44} {}", "Runtime::new us", fmt3(spread(&mut load)));
        println!(
            "  {:<44} {}",
            "first invocation us (token fetch included)",
            fmt3(spread(&mut first))
        );
        println!(
            "  {:<44} {}",
            "main() to first result us",
            fmt3(spread(&mut main_to_first))
        );
        println!(
            "  {:<44} {}",
            "spawn to exit, whole process us",
            fmt3(spread(&mut wall))
        );
    }
    println!();

    // ---- throughput
    println!("## Throughput: 32 concurrent tasks, emulator in the same runtime\n");
    let mut tokens = (0u64, 0u64);
    let mut tp = Vec::new();
    for threads in [1usize, 2] {
        let r = run_throughput(threads, &cache);
        tokens.0 += r.token_requests;
        tokens.1 += r.host_invocations;
        tp.push((threads, r));
    }
    println!(
        "{:<30} {:>8} {:>26} {:>26} {:>7}",
        "capability", "threads", "host invocations/s", "native requests/s", "ratio"
    );
    for (threads, r) in &tp {
        for (cap, [h, n]) in Cap::ALL.iter().zip(&r.rates) {
            let (mut h, mut n) = (h.clone(), n.clone());
            let (h, n) = (spread(&mut h), spread(&mut n));
            println!(
                "{:<30} {:>8} {:>26} {:>26} {:>7}",
                cap.title(),
                threads,
                fmt3(h),
                fmt3(n),
                format!("{:.2}", h.1 / n.1)
            );
        }
    }
    println!(
        "\ntoken requests per 10,000 host invocations: {:.2} ({} token requests over {} invocations)\n",
        tokens.0 as f64 * 10_000.0 / tokens.1 as f64,
        tokens.0,
        tokens.1
    );

    // ---- memory
    println!(
        "## Resident memory with N invocations in flight (Read Device held by an emulator delay)\n"
    );
    println!(
        "{:<8} {:>8} {:>14} {:>14} {:>16} {:>10}",
        "path", "N", "RSS before MiB", "RSS during MiB", "per in-flight KiB", "completed"
    );
    for path in ["host", "native"] {
        for n in [1usize, 100, 1000] {
            let (v, _) = spawn_self(&["--rss", path, &n.to_string()], &env);
            let before = v["before"].as_f64().unwrap();
            let during = v["during"].as_f64().unwrap();
            println!(
                "{:<8} {:>8} {:>14.1} {:>14.1} {:>16.1} {:>10}",
                path,
                n,
                before / 1048576.0,
                during / 1048576.0,
                (during - before) / n as f64 / 1024.0,
                format!("{}/{}", v["completedBeforeSample"], v["completed"]),
            );
        }
    }
    println!("('completed' = requests the emulator answered before the sample / in all; the sample is valid when the first is 0.)\n");

    println!(
        "CPU ratio host/native (median): {}",
        cpu_ratios
            .iter()
            .map(|r| format!("{r:.2}x"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&cache);
}
