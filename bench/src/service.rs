//! The service (`connector-host serve`) next to the library it wraps: Read
//! Device with 32 invocations in flight, (a) through the library
//! (`Connector::invoke`, as an embedding flow engine would call it) and (b)
//! over HTTP/1.1 keep-alive through a `connector_service::Service` on a
//! loopback listener. Both paths share one runtime, one tenant and one
//! emulator in this process, and their rounds alternate so that the
//! machine's drift falls on both alike.
//!
//! Where things run: the emulator, the runtime and the service run on a
//! tokio runtime with 2 worker threads. The library path's 32 tasks run
//! there too, since they are the invocations. The HTTP client of the service
//! path runs on a current-thread runtime on the bench's main thread, so
//! that its CPU (building requests, parsing answers), which a flow engine
//! pays in its own process, can be read on its own with
//! `getrusage(RUSAGE_THREAD)` and taken out of the service's figure.
//!
//! The client is a plain hyper client (like `native.rs`) rather than the
//! testkit's `ApiClient`: it sends a prepared request with the same input
//! text the library path gets, and parses the answer into JSON as a flow
//! engine would, without `ApiClient`'s extra copies (its header map clone
//! and the body kept as text too).
//!
//! Run it alone with `connector-bench --only service`; for a profiler,
//! `BENCH_SERVICE_PATH=library` or `=serve` keeps one path only.
//!
//! Logs are on, as in a deployment: the service's JSON subscriber
//! (`connector_service::logs`, at its default level, `RUST_LOG` unset)
//! writes to a sink, so the request spans are built and formatted and a
//! refused or failed request would write its line; the bench's calls all
//! succeed, whose lines are at debug. Both paths run under it.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use connector_runtime::{Connector, Tenant};
use connector_service::{Keys, ServeConfig, Service};
use connector_testkit::service::Served;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use crate::stats::{cpu_now, fmt3, spread, us};
use crate::world::{Cap, World};

/// The one API key of the service, scoped to the one tenant.
const KEY: &str = "connector-bench-service-key";
const TENANT: &str = "bench";
const CONCURRENCY: usize = 32;
const ROUNDS: usize = 3;
/// The target: the service costs at most this much the library's CPU per
/// invocation.
const TARGET: f64 = 1.25;

/// (warm-up calls, calls per measured round) for each path: a few seconds
/// per round on the 2-core machine, fewer in a quick run.
fn sizes(quick: bool) -> (usize, usize) {
    if quick {
        (300, 3_000)
    } else {
        (1_000, 12_000)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Library,
    Serve,
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::Library => "library",
            Way::Serve => "serve",
        }
    }
}

/// What the library path calls: the connector, the tenant and the input,
/// shared by its tasks.
struct Library {
    connector: Connector,
    tenant: Tenant,
    input: String,
}

impl Library {
    async fn call(&self) {
        let output = self
            .connector
            .invoke(&self.tenant, Cap::ReadDevice.id(), &self.input)
            .await;
        if let Err(e) = output {
            panic!("library readDevice failed: {e}");
        }
    }
}

/// What the service path sends: the same input, to the invoke route, with
/// the key; the client's pool keeps one connection per task alive.
#[derive(Clone)]
struct Caller {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: http::Uri,
    auth: http::HeaderValue,
    body: Bytes,
}

impl Caller {
    fn new(base: &str, input: &str) -> Caller {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let path = format!(
            "/v1/tenants/{TENANT}/connectors/{}/capabilities/{}",
            connector_testkit::PINGONE,
            Cap::ReadDevice.id()
        );
        Caller {
            client: Client::builder(TokioExecutor::new()).build(connector),
            uri: format!("{base}{path}").parse().expect("a valid URI"),
            auth: http::HeaderValue::from_str(&format!("Bearer {KEY}")).unwrap(),
            body: Bytes::from(input.to_owned()),
        }
    }

    async fn call(&self) {
        let request = http::Request::post(self.uri.clone())
            .header(http::header::AUTHORIZATION, self.auth.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(self.body.clone()))
            .unwrap();
        let response = self.client.request(request).await.expect("serve answers");
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        // A flow engine parses the answer, so the figure includes that.
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(status, 200, "serve readDevice: {answer}");
    }
}

/// One measured round of one path.
struct Round {
    wall: Duration,
    /// Process CPU over the round.
    cpu: Duration,
    /// CPU of the client's thread over the round (service path only).
    client_cpu: Duration,
    latencies_us: Vec<f64>,
}

/// `n` calls by `CONCURRENCY` tasks pulling from a shared counter, each
/// call timed on its own; on whichever runtime this future runs in.
async fn drive<F, Fut>(n: usize, call: F) -> (Duration, Vec<f64>)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (next, call) = (next.clone(), call.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(n / CONCURRENCY + 1);
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let t = Instant::now();
                    call().await;
                    latencies.push(us(t.elapsed()));
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    (started.elapsed(), latencies)
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu_now() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The bench's world (the emulator, a runtime with PingOne MFA, a tenant
/// connected to the emulator with one SMS device) and the service over that
/// runtime and tenant, listening on loopback. Runs inside the 2-thread
/// runtime.
async fn start(cache: std::path::PathBuf) -> (World, Arc<Library>, Served) {
    let world = World::start(Some(cache)).await;
    // The same input the rest of the bench reads a device with.
    let input = json!({ "userId": world.user, "deviceId": world.device }).to_string();
    let keys = Keys::single("bench", KEY, false, &[TENANT]);
    let service = Service::new(world.runtime().clone(), &ServeConfig::default(), keys)
        .expect("service starts");
    // The same tenant (clones share its token cache and counters) on both
    // paths, so neither fetches tokens the other does not.
    service.registry().insert(TENANT, world.tenant.clone());
    let served = Served::start(service).await;
    let library = Arc::new(Library {
        connector: world.pingone(),
        tenant: world.tenant.clone(),
        input,
    });
    (world, library, served)
}

/// Runs the service section and prints it.
pub fn run_and_print(cache: &std::path::Path, quick: bool) {
    let (warm, per_round) = sizes(quick);
    // The section runs last, so the subscriber changes no other figure.
    let _ = tracing::subscriber::set_global_default(connector_service::logs::json_subscriber(
        std::io::sink,
    ));
    println!(
        "## The service (`connector-host serve`): Read Device, {CONCURRENCY} in flight, library vs HTTP/1.1 keep-alive\n"
    );
    let server_rt = crate::world::executor(2);
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cache = cache.to_owned();
    let (emulator, library, served) =
        server_rt.block_on(async { tokio::spawn(start(cache)).await.unwrap() });
    let caller = Caller::new(&served.base, &library.input);

    let round = |way: Way, n: usize| -> Round {
        let cpu0 = cpu_now();
        let (wall, latencies_us, client_cpu) = match way {
            Way::Library => {
                let library = library.clone();
                let (wall, lat) = server_rt.block_on(drive(n, move || {
                    let library = library.clone();
                    async move { library.call().await }
                }));
                (wall, lat, Duration::ZERO)
            }
            Way::Serve => {
                let caller = caller.clone();
                // On this thread: the current-thread runtime runs the
                // client's tasks and connections here and nowhere else.
                let thread0 = thread_cpu_now();
                let (wall, lat) = client_rt.block_on(drive(n, move || {
                    let caller = caller.clone();
                    async move { caller.call().await }
                }));
                (wall, lat, thread_cpu_now() - thread0)
            }
        };
        Round {
            wall,
            cpu: cpu_now() - cpu0,
            client_cpu,
            latencies_us,
        }
    };

    // For a profiler, BENCH_SERVICE_PATH=library|serve runs one path only,
    // so that two profiles set side by side show what the HTTP layer adds.
    let only = std::env::var("BENCH_SERVICE_PATH").ok();
    let ways: Vec<Way> = [Way::Library, Way::Serve]
        .into_iter()
        .filter(|w| only.as_deref().is_none_or(|o| o == w.name()))
        .collect();
    // One unmeasured round per path warms the pool, the token and the
    // connections; then the measured rounds alternate which path goes first.
    for &way in &ways {
        round(way, warm);
    }
    let mut rounds: [Vec<Round>; 2] = [Vec::new(), Vec::new()];
    for r in 0..ROUNDS {
        let mut order = ways.clone();
        if r % 2 == 1 {
            order.reverse();
        }
        for way in order {
            rounds[way as usize].push(round(way, per_round));
        }
    }

    drop(client_rt);
    server_rt.block_on(async move {
        served.stop().await;
        drop(emulator);
    });
    print(&rounds, per_round);
}

/// The `q` quantile of sorted samples.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn print(rounds: &[Vec<Round>; 2], per_round: usize) {
    let per_call = |d: Duration| us(d) / per_round as f64;
    println!(
        "{:<8} {:>24} {:>8} {:>8} {:>8} {:>22} {:>22} {:>22}",
        "path",
        "requests/s",
        "p50 us",
        "p90 us",
        "p99 us",
        "CPU us/inv (process)",
        "of which client thread",
        "CPU us/inv w/o client"
    );
    for way in [Way::Library, Way::Serve] {
        let rs = &rounds[way as usize];
        if rs.is_empty() {
            continue;
        }
        let mut rate: Vec<f64> = rs
            .iter()
            .map(|r| per_round as f64 / r.wall.as_secs_f64())
            .collect();
        let mut cpu: Vec<f64> = rs.iter().map(|r| per_call(r.cpu)).collect();
        let mut client: Vec<f64> = rs.iter().map(|r| per_call(r.client_cpu)).collect();
        let mut server: Vec<f64> = rs
            .iter()
            .map(|r| per_call(r.cpu.saturating_sub(r.client_cpu)))
            .collect();
        let mut latencies: Vec<f64> = rs.iter().flat_map(|r| r.latencies_us.clone()).collect();
        latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{:<8} {:>24} {:>8.0} {:>8.0} {:>8.0} {:>22} {:>22} {:>22}",
            way.name(),
            fmt3(spread(&mut rate)),
            quantile(&latencies, 0.50),
            quantile(&latencies, 0.90),
            quantile(&latencies, 0.99),
            fmt3(spread(&mut cpu)),
            fmt3(spread(&mut client)),
            fmt3(spread(&mut server)),
        );
    }
    // Each measured service round is set against the library round next to
    // it in time, so that the ratio cancels the machine's drift.
    let pair = |f: &dyn Fn(&Round) -> Duration| -> (f64, f64, f64) {
        let mut ratios: Vec<f64> = rounds[Way::Serve as usize]
            .iter()
            .zip(&rounds[Way::Library as usize])
            .map(|(s, l)| us(f(s)) / us(f(l)))
            .collect();
        spread(&mut ratios)
    };
    if rounds.iter().any(Vec::is_empty) {
        println!("(one path only: BENCH_SERVICE_PATH is set)\n");
        return;
    }
    let process = pair(&|r| r.cpu);
    let server = pair(&|r| r.cpu.saturating_sub(r.client_cpu));
    let verdict = |r: f64| if r <= TARGET { "met" } else { "NOT met" };
    println!(
        "\nCPU ratio serve/library per invocation, by round pair: process {:.2}x [{:.2} .. {:.2}] \
         (target <= {TARGET}x: {}); without the client thread {:.2}x [{:.2} .. {:.2}] ({})",
        process.1,
        process.0,
        process.2,
        verdict(process.1),
        server.1,
        server.0,
        server.2,
        verdict(server.1),
    );
    println!(
        "({ROUNDS} interleaved rounds of {per_round} per path after a warm-up round each; latency \
         percentiles over every measured call. The emulator runs in this process on both paths, \
         so both CPU figures include it; the service path's process figure also includes its \
         HTTP client (on its own thread, shown apart). Logs on, as deployed: the service's JSON \
         subscriber at its default level, to a sink.)\n"
    );
}
