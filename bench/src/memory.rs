//! Resident memory with N invocations in flight. The parent spawns the bench
//! itself with `--rss host|native N` for N = 1, 100 and 1,000 on each path;
//! the child starts its own world, warms the path with 20 calls, then holds N
//! Read Device calls in flight with an emulator `Delay` fault on the device
//! and samples its RSS (`/proc/self/statm`) at half the delay. The figure per
//! in-flight call is (during - before) / N; it includes the emulator's server
//! side of each connection, which the native row shows on its own.

use std::sync::Arc;
use std::time::Duration;

use pingone_emulator::faults::{Fault, FaultAction};
use serde_json::json;

use crate::child::spawn_self;
use crate::world::{Cap, Path, World};

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

/// Parent: one child per path and N, and the memory section of the report.
pub fn run_and_print(env: &[(String, String)]) {
    println!(
        "## Resident memory with N invocations in flight (Read Device held by an emulator delay)\n"
    );
    println!(
        "{:<8} {:>8} {:>14} {:>14} {:>16} {:>10}",
        "path", "N", "RSS before MiB", "RSS during MiB", "per in-flight KiB", "completed"
    );
    for path in ["host", "native"] {
        for n in [1usize, 100, 1000] {
            let (v, _) = spawn_self(&["--rss", path, &n.to_string()], env);
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
}

/// Child: hold `n` invocations in flight; print resident memory.
pub fn rss_child(path: &str, n: usize, cache: &str) {
    let rt = crate::world::executor(2);
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
