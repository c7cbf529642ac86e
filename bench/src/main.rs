//! `connector-bench`: what one invocation costs through the wasmtime host,
//! side by side with the same HTTP request from a native Rust client with
//! keep-alive, against the in-process PingOne emulator on loopback.
//!
//! Run: `cargo run --release -p connector-bench` (a few minutes at most).
//! See BENCHMARKS.md for what each figure means and the recorded results.
//!
//! This file dispatches the command line and runs the sections of the report
//! in order; each measurement lives in its own module (`sequential`,
//! `parts`, `cold_start`, `throughput`, `memory`, `service`, `node`), on the world set up in
//! `world` and the native client in `native`.
//!
//! Internal modes (the bench spawns itself in them):
//! * `--cold-start precompiled|raw`: load the runtime in this fresh process
//!   and run one invocation against the parent's emulator (settings from
//!   `BENCH_*` environment variables); prints one JSON line.
//! * `--rss host|native N`: start a world, hold N invocations in flight with
//!   an emulator delay, print the resident memory as one JSON line.
//!
//! And one for profilers: `--loop host|native N` runs N sequential Read
//! Device calls on one path and prints their mean wall and CPU time.
//!
//! `--only service` runs the service section alone (library vs
//! `connector-host serve` over HTTP), for a quick figure or a profiler;
//! with `BENCH_CACHE=DIR` it keeps the artifact cache in DIR between runs,
//! and `BENCH_SERVICE_PATH=library|serve` keeps one path only.
//!
//! `--only node` runs the Node.js peer alone (the same Read Device from a
//! `node` process, when `node` is on PATH), beside the host and native Read
//! Device CPU measured quickly on the same world.

mod child;
mod cold_start;
mod memory;
mod native;
mod node;
mod parts;
mod sequential;
mod service;
mod stats;
mod throughput;
mod world;

use std::time::Instant;

use world::World;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--cold-start") => {
            return cold_start::cold_start_child(args.get(2).map_or("precompiled", |s| s))
        }
        Some("--rss") => {
            let n = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1);
            let cache = std::env::var("BENCH_CACHE").expect("BENCH_CACHE");
            return memory::rss_child(args.get(2).map_or("host", |s| s), n, &cache);
        }
        Some("--loop") => {
            // For profilers: `--loop host|native N` runs N sequential Read Device calls.
            let n = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(20_000);
            return sequential::loop_child(args.get(2).map_or("host", |s| s), n);
        }
        Some("--help") | Some("-h") => {
            println!(
                "usage: connector-bench [--only service|node|throughput|cold-start]   (see BENCHMARKS.md)"
            );
            return;
        }
        _ => {}
    }
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let started = Instant::now();
    let cache = std::env::temp_dir().join(format!("connector-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    match (
        args.get(1).map(String::as_str),
        args.get(2).map(String::as_str),
    ) {
        (Some("--only"), Some("service")) => {
            // A profiler run names a kept cache (BENCH_CACHE), so that the
            // one-off Cranelift compile stays out of its profile.
            let kept = std::env::var_os("BENCH_CACHE").map(std::path::PathBuf::from);
            service::run_and_print(kept.as_deref().unwrap_or(&cache), quick);
            println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
            let _ = std::fs::remove_dir_all(&cache);
            return;
        }
        (Some("--only"), Some("node")) => {
            node::run_and_print(&cache, quick);
            println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
            let _ = std::fs::remove_dir_all(&cache);
            return;
        }
        (Some("--only"), Some("cold-start")) => {
            let rt = crate::world::executor(2);
            let (pre, raw) = rt.block_on(async {
                let world = World::start(Some(cache.clone())).await;
                let env = child::child_env(&world, &cache);
                // The children use the world's emulator: keep it running.
                tokio::task::spawn_blocking(move || cold_start::runs(&env))
                    .await
                    .unwrap()
            });
            cold_start::print(&pre, &raw);
            println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
            let _ = std::fs::remove_dir_all(&cache);
            return;
        }
        (Some("--only"), Some("throughput")) => {
            throughput::run_and_print(&cache);
            println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
            let _ = std::fs::remove_dir_all(&cache);
            return;
        }
        (Some("--only"), other) => {
            eprintln!(
                "--only takes one section: service, node, throughput or cold-start (not {other:?})"
            );
            std::process::exit(2);
        }
        _ => {}
    }

    println!("connector-bench: host path (validate, instantiate, guest, wasi-http, validate)");
    println!("vs a native hyper client with keep-alive, both against the in-process emulator on loopback.");
    println!("Figures: median [p10 .. p90]. CPU = getrusage user+sys of the whole process (emulator included) / invocations.\n");

    // The sequential, parts, cold-start and Node.js figures share one world,
    // and all of them are taken before the first of their sections is
    // printed.
    let rt = crate::world::executor(2);
    let cache2 = cache.clone();
    let (seq_results, inst, validate, cold_env, node_peer) = rt.block_on(async move {
        tokio::spawn(async move {
            let world = World::start(Some(cache2.clone())).await;
            // 1. Sequential latency and CPU per invocation.
            let seq = sequential::run(&world, quick).await;
            // 2. Instantiate alone.
            let inst = parts::instantiate(&world).await;
            // 3. Schema validation alone (input + output, parse included).
            let validate = parts::validation(&world).await;
            let env = child::child_env(&world, &cache2);
            // Keep the world alive while the children use its emulator.
            let cold = tokio::task::spawn_blocking(move || {
                let (pre, raw) = cold_start::runs(&env);
                (pre, raw, env)
            })
            .await
            .unwrap();
            // 4. The Node.js peer's Read Device, when node is on PATH.
            let node_peer = node::run(&world, quick).await;
            drop(world);
            (seq, inst, validate, cold, node_peer)
        })
        .await
        .unwrap()
    });
    drop(rt);

    let cpu_ratios = sequential::print(&seq_results, quick, "2 worker threads");
    node::print(&node_peer, &seq_results);
    let single = sequential::run_single_threaded(&cache, quick);
    let single_ratios = sequential::print(&single, quick, "single-threaded executor");
    parts::print(inst, validate);
    let (pre, raw, env) = cold_env;
    cold_start::print(&pre, &raw);

    // Throughput, memory and the service each start worlds of their own,
    // and print as they go.
    throughput::run_and_print(&cache);
    memory::run_and_print(&env);
    service::run_and_print(&cache, quick);

    let ratios = |ratios: &[f64]| {
        ratios
            .iter()
            .map(|r| format!("{r:.2}x"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "CPU ratio host/native (median): {} on 2 worker threads, {} single-threaded",
        ratios(&cpu_ratios),
        ratios(&single_ratios)
    );
    println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&cache);
}
