//! Throughput: invocations per second with 32 concurrent tasks pulling calls
//! from a shared counter, for each capability and each path, in a fresh
//! tokio runtime with 1 and then 2 worker threads that also runs the
//! emulator. Each capability gets one unmeasured warm-up round of 200 calls,
//! then 3 rounds of 3,000. The emulator's token counter, read across every
//! host invocation of both runs (warm-up rounds included), gives the token
//! requests per 10,000 invocations.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::stats::{fmt3, spread};
use crate::world::{Cap, Path, Workload, World};

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
    let rt = crate::world::executor(threads);
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

/// Runs the throughput measurements with 1 and 2 worker threads and prints
/// their section of the report, token requests included.
pub fn run_and_print(cache: &std::path::Path) {
    println!("## Throughput: 32 concurrent tasks, emulator in the same runtime\n");
    let mut tokens = (0u64, 0u64);
    let mut tp = Vec::new();
    for threads in [1usize, 2] {
        let r = run_throughput(threads, cache);
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
}
