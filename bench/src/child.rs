//! How the bench runs itself as a child process, for the figures that need a
//! fresh process (cold start, resident memory): the environment that tells
//! the child where the parent's emulator and artifact cache are, and the
//! protocol back, one JSON line on stdout.

use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use crate::stats::us;
use crate::world::World;

/// The `BENCH_*` variables a child reads: the parent's emulator, its seeded
/// tenant, the device to read and the artifact cache.
pub fn child_env(world: &World, cache: &std::path::Path) -> Vec<(String, String)> {
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

/// Runs this executable with `args` and `env`; the child's JSON line, and the
/// wall time from spawn to exit in microseconds.
pub fn spawn_self(args: &[&str], env: &[(String, String)]) -> (Value, f64) {
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
    // With RUST_LOG set the child logs (its load phases, for instance).
    if std::env::var_os("RUST_LOG").is_some() {
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(line.trim()).expect("child JSON");
    (v, wall)
}
