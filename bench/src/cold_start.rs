//! Cold start: what a fresh process pays before its first result. The parent
//! spawns the bench itself with `--cold-start precompiled` (7 runs; the
//! artifact cache the parent's world has just filled, so the component is
//! mapped from disk) and `--cold-start raw` (3 runs; no cache, so Cranelift
//! compiles it). Each child times building tokio, `Runtime::new`, and its
//! first Read Device against the parent's emulator (token fetch included),
//! then a second, warm one for comparison, and prints them as one JSON line;
//! the parent also times the whole process from spawn to exit.

use std::time::Instant;

use connector_runtime::{Tenant, Trust};
use serde_json::{json, Value};

use crate::child::spawn_self;
use crate::stats::{fmt3, spread, us};
use crate::world::{bench_limits, load, pingone, runtime_config};

/// One child's JSON line and its spawn-to-exit wall time in microseconds.
pub type Run = (Value, f64);

/// Parent: the precompiled runs, then the raw ones. Blocks until every child
/// has exited, so the caller keeps the emulator the children use alive.
pub fn runs(env: &[(String, String)]) -> (Vec<Run>, Vec<Run>) {
    let mut pre = Vec::new();
    let mut raw = Vec::new();
    for _ in 0..7 {
        pre.push(spawn_self(&["--cold-start", "precompiled"], env));
    }
    for _ in 0..3 {
        raw.push(spawn_self(&["--cold-start", "raw"], env));
    }
    (pre, raw)
}

/// Parent: the cold-start section of the report.
pub fn print(pre: &[Run], raw: &[Run]) {
    println!("## Cold start: a fresh process loads the runtime and runs one Read Device\n");
    for (name, runs) in [
        ("precompiled artifact (mmap)", pre),
        ("raw component (Cranelift)", raw),
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
}

/// Child: a fresh process loads the runtime and runs one invocation.
pub fn cold_start_child(mode: &str) {
    let t0 = Instant::now();
    // RUST_LOG=connector_runtime=debug logs the load phases to stderr.
    if std::env::var_os("RUST_LOG").is_some() {
        let subscriber = connector_service::logs::json_subscriber(std::io::stderr);
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let rt = crate::world::executor(2);
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
