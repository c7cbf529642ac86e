//! Per-invocation latency and CPU, one call at a time: each capability runs
//! in rounds on both paths, every call is timed on its own, and the CPU of
//! the whole process (`getrusage`, emulator included) is read over each round
//! and divided by its calls. Also the `--loop` mode, the same sequential Read
//! Device calls on one path, for running under a profiler.

use std::time::Instant;

use crate::stats::{cpu_now, fmt3, spread, us};
use crate::world::{Cap, Path, World};

pub struct Sequential {
    latency_us: Vec<f64>,
    cpu_us_per_call: Vec<f64>,
}

impl Sequential {
    /// The CPU per call of each round, in the order the rounds ran.
    pub fn cpu_us_per_call(&self) -> &[f64] {
        &self.cpu_us_per_call
    }
}

/// (rounds, calls per round): a quick run keeps fewer of both.
fn rounds(quick: bool) -> (usize, usize) {
    if quick {
        (2, 200)
    } else {
        (5, 400)
    }
}

/// Every capability in turn: `[host, native]` for each.
pub async fn run(world: &World, quick: bool) -> Vec<(Cap, [Sequential; 2])> {
    let (rounds, per_round) = rounds(quick);
    let mut seq = Vec::new();
    for cap in Cap::ALL {
        seq.push((cap, sequential(world, cap, rounds, per_round).await));
    }
    seq
}

/// Read Device alone, measured as [`run`] measures it: `[host, native]`;
/// for a section run on its own that needs the host's figures
/// (`--only node`).
pub async fn read_device(world: &World, quick: bool) -> [Sequential; 2] {
    let (rounds, per_round) = rounds(quick);
    sequential(world, Cap::ReadDevice, rounds, per_round).await
}

/// [`run`] again in a world of its own on a single-threaded executor
/// (emulator included): the same work with no hand-off between threads.
/// On the 2-worker executor every task the host spawns or wakes can wake
/// the idle worker, which then parks again; the difference between the two
/// tables is that cost, which the embedder's choice of executor decides.
pub fn run_single_threaded(cache: &std::path::Path, quick: bool) -> Vec<(Cap, [Sequential; 2])> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let world = World::start(Some(cache.to_owned())).await;
        run(&world, quick).await
    })
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

/// Prints the latency and CPU table; returns the median CPU ratio
/// host/native of each capability, which the report repeats at its end.
pub fn print(seq_results: &[(Cap, [Sequential; 2])], quick: bool, executor: &str) -> Vec<f64> {
    println!("## Per invocation, sequential ({executor})\n");
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
    for (cap, [host, native]) in seq_results {
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
        rounds(quick).1);
    cpu_ratios
}

/// For profilers: sequential Read Device calls on one path.
pub fn loop_child(path: &str, n: usize) {
    // BENCH_EXECUTOR=current-thread runs the loop (and the emulator) on one
    // thread, as `run_single_threaded` does.
    let rt = if std::env::var("BENCH_EXECUTOR").as_deref() == Ok("current-thread") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    } else {
        crate::world::executor(2)
    };
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
