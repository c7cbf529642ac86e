//! The Node.js peer: the same Read Device written as a Node 20 connector
//! would write it, with nothing installed (`bench/node/read-device.mjs`,
//! embedded in the bench), against the bench's own emulator. The script
//! fetches a client-credentials token once and caches it, then makes
//! sequential calls, parses each answer with `JSON.parse` and builds and
//! serialises the connector's envelope; once with Node's global `fetch` and
//! once with `http.request` on a keep-alive `http.Agent` of one socket.
//!
//! Each round is a fresh `node` process: its warm-up calls, then the
//! measured calls, over which it reads its own `process.cpuUsage()` (user +
//! system of the Node process alone; the emulator runs in the bench's
//! process, so none of its work is in the figure) and the wall time. The
//! rounds alternate between the two modes, so that the machine's drift
//! falls on both alike; the report gives median [min .. max] over rounds.
//!
//! Beside them the section puts the host's overhead, host CPU minus native
//! CPU per Read Device from the sequential section's rounds (both include
//! the in-process emulator, so the difference is what the host adds), and
//! the native client's CPU, which includes the emulator's work.
//!
//! Node is optional: when `node` is not on PATH, or a run fails or hangs,
//! the section prints one row saying so and the bench goes on.

use std::io::ErrorKind;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::sequential::{self, Sequential};
use crate::stats::{fmt3, spread};
use crate::world::{Cap, World};

/// The script every round runs, passed to `node -e` so that the bench
/// finds it from any working directory.
const SCRIPT: &str = include_str!("../node/read-device.mjs");

/// How long one Node process may take before it is killed and the section
/// reports the hang instead.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The two ways the script sends its requests.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Fetch,
    Agent,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Fetch => "fetch",
            Mode::Agent => "agent",
        }
    }
}

/// What one Node process reported.
struct Round {
    cpu_us_per_call: f64,
    wall_us_per_call: f64,
}

/// The Node rounds of both modes, or why there are none.
pub struct Peer {
    result: Result<Runs, String>,
    sizes: (usize, usize, usize),
}

struct Runs {
    version: String,
    fetch: Vec<Round>,
    agent: Vec<Round>,
}

/// (rounds per mode, warm-up calls, measured calls per round): a quick run
/// keeps fewer calls. The warm-up is long because V8 is still compiling
/// the hot paths on its background threads after a few hundred calls, and
/// that CPU is the process's too: with 500 warm-up calls the measured CPU
/// per call came out 1.5-2.5x what it is after 2,000 or more.
fn sizes(quick: bool) -> (usize, usize, usize) {
    if quick {
        (3, 1_000, 2_000)
    } else {
        (3, 3_000, 5_000)
    }
}

/// Runs the Node rounds against `world`'s emulator. Never fails: a missing
/// or failing `node` becomes the reason the section prints.
pub async fn run(world: &World, quick: bool) -> Peer {
    let sizes = sizes(quick);
    let env = settings(world);
    // The rounds block on child processes while the emulator, on this
    // runtime, answers them.
    let result = tokio::task::spawn_blocking(move || rounds(&env, sizes))
        .await
        .unwrap_or_else(|e| Err(format!("Node.js peer skipped: its task failed: {e}")));
    Peer { result, sizes }
}

/// `connector-bench --only node`: a world of its own, the host and native
/// Read Device CPU the sequential section would measure on it, then the
/// Node rounds, and the section.
pub fn run_and_print(cache: &std::path::Path, quick: bool) {
    let rt = crate::world::executor(2);
    let cache = cache.to_owned();
    let (read_device, peer) = rt.block_on(async move {
        tokio::spawn(async move {
            let world = World::start(Some(cache)).await;
            let read_device = sequential::read_device(&world, quick).await;
            let peer = run(&world, quick).await;
            (read_device, peer)
        })
        .await
        .unwrap()
    });
    drop(rt);
    print(&peer, &[(Cap::ReadDevice, read_device)]);
}

/// The script's settings: the variables the bench's own children read
/// (emulator URLs, tenant credentials, user and device), without the
/// artifact cache, which Node has no use for.
fn settings(world: &World) -> Vec<(String, String)> {
    crate::child::child_env(world, std::path::Path::new(""))
        .into_iter()
        .filter(|(name, _)| name != "BENCH_CACHE")
        .collect()
}

/// Finds `node`, then runs the rounds, alternating the modes.
fn rounds(
    env: &[(String, String)],
    (rounds, warmup, calls): (usize, usize, usize),
) -> Result<Runs, String> {
    let version = match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => {
            return Err(format!(
                "`node --version` failed ({}): Node.js peer skipped",
                out.status
            ))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err("node not on PATH: Node.js peer skipped".into())
        }
        Err(e) => {
            return Err(format!(
                "node could not be started ({e}): Node.js peer skipped"
            ))
        }
    };
    let mut runs = Runs {
        version,
        fetch: Vec::new(),
        agent: Vec::new(),
    };
    for _ in 0..rounds {
        for mode in [Mode::Fetch, Mode::Agent] {
            let round = one(env, mode, warmup, calls)
                .map_err(|e| format!("Node.js peer failed, mode {}: {e}", mode.name()))?;
            match mode {
                Mode::Fetch => runs.fetch.push(round),
                Mode::Agent => runs.agent.push(round),
            }
        }
    }
    Ok(runs)
}

/// One Node process in `mode`: its JSON line, read into a round.
fn one(env: &[(String, String)], mode: Mode, warmup: usize, calls: usize) -> Result<Round, String> {
    let mut command = Command::new("node");
    command
        .args(["--input-type=module", "-e", SCRIPT])
        .envs(env.iter().cloned())
        .env("BENCH_NODE_MODE", mode.name())
        .env("BENCH_NODE_WARMUP", warmup.to_string())
        .env("BENCH_NODE_CALLS", calls.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = output_within(command, TIMEOUT)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "node exited with {}: {}",
            out.status,
            stderr.trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let json: Value = serde_json::from_str(line)
        .map_err(|e| format!("its output is not one JSON line ({e}): {:?}", stdout.trim()))?;
    let figure = |name: &str| {
        json[name]
            .as_f64()
            .ok_or_else(|| format!("its output has no {name}: {line}"))
    };
    Ok(Round {
        cpu_us_per_call: figure("cpuUsPerCall")?,
        wall_us_per_call: figure("wallUsPerCall")?,
    })
}

/// Runs `command` to its end, or kills it after `timeout`. The output is
/// collected on a thread of its own, so that the wait can time out.
fn output_within(mut command: Command, timeout: Duration) -> Result<Output, String> {
    let child = command
        .spawn()
        .map_err(|e| format!("node could not be started: {e}"))?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(format!("waiting for node failed: {e}")),
        Err(_) => {
            // The child is still running (the thread that owns it has not
            // reaped it), so its process id is still its own.
            // SAFETY: kill only sends a signal to the process id given.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            Err(format!(
                "node did not finish within {} s",
                timeout.as_secs()
            ))
        }
    }
}

/// (min, median, max) of `samples`, the median taken as the rest of the
/// report takes it ([`spread`]), so that the native figure here matches the
/// sequential table's; NaN for none.
fn min_median_max(mut samples: Vec<f64>) -> (f64, f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let (_, median, _) = spread(&mut samples);
    (samples[0], median, samples[samples.len() - 1])
}

/// Prints the section: the Node rows (or why there are none), then the
/// host's overhead and the native client's CPU from the sequential rounds
/// of Read Device in `seq`, and the ratios.
pub fn print(peer: &Peer, seq: &[(Cap, [Sequential; 2])]) {
    println!("## Node.js peer: Read Device, sequential\n");
    let row = |name: &str, figure: String| println!("{name:<60} {figure}");
    let runs = match &peer.result {
        Ok(runs) => Some(runs),
        Err(why) => {
            row("Node.js peer", why.clone());
            None
        }
    };
    let mut agent_median = None;
    let mut fetch_median = None;
    if let Some(runs) = runs {
        row("", format!("{:<24} {}", "CPU us/call", "wall us/call"));
        for (name, rounds, median) in [
            (
                "Node fetch CPU us/call (Node process alone)",
                &runs.fetch,
                &mut fetch_median,
            ),
            (
                "Node http keep-alive Agent CPU us/call (Node process alone)",
                &runs.agent,
                &mut agent_median,
            ),
        ] {
            let cpu = min_median_max(rounds.iter().map(|r| r.cpu_us_per_call).collect());
            let wall = min_median_max(rounds.iter().map(|r| r.wall_us_per_call).collect());
            *median = Some(cpu.1);
            row(name, format!("{:<24} {}", fmt3(cpu), fmt3(wall)));
        }
    }
    let Some((_, [host, native])) = seq.iter().find(|(cap, _)| *cap == Cap::ReadDevice) else {
        println!();
        return;
    };
    // The host's overhead of each round: its host and native halves ran
    // back to back, so their difference is taken round by round.
    let overhead = min_median_max(
        host.cpu_us_per_call()
            .iter()
            .zip(native.cpu_us_per_call())
            .map(|(h, n)| h - n)
            .collect(),
    );
    let native_cpu = min_median_max(native.cpu_us_per_call().to_vec());
    row(
        "host overhead CPU us/call (host minus native)",
        fmt3(overhead),
    );
    row(
        "native client CPU us/call (in-process emulator included)",
        fmt3(native_cpu),
    );
    if let (Some(agent), Some(fetch)) = (agent_median, fetch_median) {
        row(
            "host overhead / Node agent (median)",
            format!("{:.2}x", overhead.1 / agent),
        );
        row(
            "host overhead / Node fetch (median)",
            format!("{:.2}x", overhead.1 / fetch),
        );
    }
    let (rounds, warmup, calls) = peer.sizes;
    match runs {
        Some(runs) => println!(
            "(Node {}: {rounds} rounds per mode, each a fresh process, {calls} calls after {warmup} warm-up, CPU = process.cpuUsage() of Node alone; host and native: the sequential Read Device rounds, getrusage of the bench process, emulator included.)\n",
            runs.version
        ),
        None => println!(
            "(host and native: the sequential Read Device rounds, getrusage of the bench process, emulator included.)\n"
        ),
    }
}
