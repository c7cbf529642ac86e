//! `connector-host serve` as an operator runs it: a real process on a
//! loopback port, driven over HTTP and with signals. `--dev` announces its
//! URL, key and emulator and serves; SIGTERM lets in-flight invocations
//! finish, refuses new connections and exits 0; SIGHUP reloads the tenants
//! file and an invalid file changes nothing; configuration errors are one
//! JSON object that names the key and never a secret; the JSON logs carry
//! the request's span with the caller's trace id and never a key or a
//! client secret.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use connector_service::digest_hex;
use connector_testkit::service::{Answer, ApiClient};
use connector_testkit::PINGONE;
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

/// The artifact cache the testkit uses, so the child does not compile the
/// embedded components again.
const CACHE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-artifact-cache");

/// How long anything the tests wait for may take. It is generous because a
/// cold artifact cache makes the child compile its components first; it
/// only bounds a hang, no assertion depends on it.
const DEADLINE: Duration = Duration::from_secs(180);

/// The key the `--config` tests present (its digest is in serve.toml).
const API_KEY: &str = "serve-test-key-0123456789abcdef";

/// The capability every test invokes: one GET to PingOne's users API.
const CAPABILITY: &str = "readUserMFAEnabled";

/// Lines a thread reads from one of the child's pipes. Reading them as
/// they come keeps the pipe from filling (which would block the child) and
/// lets a test wait for a line instead of guessing how long it takes.
#[derive(Clone, Default)]
struct Lines(Arc<(Mutex<Stream>, Condvar)>);

#[derive(Default)]
struct Stream {
    lines: Vec<String>,
    ended: bool,
}

impl Lines {
    /// Starts a thread that reads `pipe` to its end.
    fn collect(pipe: impl Read + Send + 'static) -> Lines {
        let lines = Lines::default();
        let shared = lines.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            loop {
                line.clear();
                // A read error ends the stream as its end does: either way
                // no more lines come.
                let read = reader.read_until(b'\n', &mut line).unwrap_or(0);
                let (state, changed) = &*shared.0;
                let mut state = state.lock().unwrap();
                if read == 0 {
                    state.ended = true;
                    changed.notify_all();
                    return;
                }
                let text = String::from_utf8_lossy(&line);
                state
                    .lines
                    .push(text.trim_end_matches(['\r', '\n']).to_owned());
                changed.notify_all();
            }
        });
        lines
    }

    /// The first line that satisfies `wanted`, waiting for it; `None` when
    /// the stream ended (or the deadline passed) without one.
    fn wait_for(&self, wanted: impl Fn(&str) -> bool) -> Option<String> {
        self.wait_for_nth(1, wanted)
    }

    /// The `n`th line (from 1) that satisfies `wanted`, waiting for it.
    fn wait_for_nth(&self, n: usize, wanted: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + DEADLINE;
        let (state, changed) = &*self.0;
        let mut state = state.lock().unwrap();
        loop {
            if let Some(line) = state.lines.iter().filter(|l| wanted(l)).nth(n - 1) {
                return Some(line.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.ended || left.is_zero() {
                return None;
            }
            state = changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Waits for the stream's end (the child exited), then returns all of it.
    fn all_after_end(&self) -> String {
        let deadline = Instant::now() + DEADLINE;
        let (state, changed) = &*self.0;
        let mut state = state.lock().unwrap();
        while !state.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the pipe did not close after the exit");
            state = changed.wait_timeout(state, left).unwrap().0;
        }
        state.lines.join("\n")
    }

    /// Everything read so far.
    fn so_far(&self) -> String {
        self.0 .0.lock().unwrap().lines.join("\n")
    }
}

/// A `connector-host` process this test started. Dropping it (also while a
/// failed assertion unwinds) kills and reaps the child, so no test leaves a
/// server behind.
struct Proc {
    child: Child,
    stdout: Lines,
    stderr: Lines,
}

impl Proc {
    /// Starts `connector-host ARGS` with the test cache and a clean
    /// environment: the serve overrides and RUST_LOG of whoever runs the
    /// tests must not change what is tested.
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut command = Command::new(env!("CARGO_BIN_EXE_connector-host"));
        command
            .args(args)
            .env("CONNECTOR_HOST_CACHE_DIR", CACHE)
            .env_remove("RUST_LOG")
            .env_remove("CONNECTOR_HOST_LISTEN")
            .env_remove("CONNECTOR_HOST_TENANTS_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the binary starts");
        let stdout = Lines::collect(child.stdout.take().expect("a stdout pipe"));
        let stderr = Lines::collect(child.stderr.take().expect("a stderr pipe"));
        Proc {
            child,
            stdout,
            stderr,
        }
    }

    /// The first stdout line, as JSON: the service announces itself with it
    /// once it listens.
    fn announcement(&self) -> Value {
        let line = self
            .stdout
            .wait_for(|_| true)
            .unwrap_or_else(|| panic!("no first stdout line; stderr:\n{}", self.stderr.so_far()));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// The first stderr log line (JSON) that satisfies `wanted`.
    fn log_line(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        self.nth_log_line(1, what, wanted)
    }

    /// The `n`th stderr log line (JSON, from 1) that satisfies `wanted`.
    fn nth_log_line(&self, n: usize, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let line = self
            .stderr
            .wait_for_nth(n, |line| {
                serde_json::from_str::<Value>(line).is_ok_and(|v| wanted(&v))
            })
            .unwrap_or_else(|| panic!("no log line {what}; stderr:\n{}", self.stderr.so_far()));
        serde_json::from_str(&line).expect("the line parsed before")
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) with the pid of our own child, which is not yet
        // reaped (Proc reaps it only in wait or drop), so it names no
        // other process.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0, "kill({}, {signal})", self.child.id());
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits (bounded) for the exit.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit; stderr:\n{}",
                self.stderr.so_far()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit and says it was status 0, not a signal or 1.
    fn assert_exits_zero(&mut self) {
        let status = self.wait();
        assert_eq!(
            status.code(),
            Some(0),
            "exit {status:?} (signal {:?}); stderr:\n{}",
            status.signal(),
            self.stderr.all_after_end()
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A fresh scratch folder for one test, removed when the test ends. Its
/// name holds the process id, so two runs of this binary at once (two
/// checkouts sharing a target folder) never write each other's files.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `text` to `path` through a rename, so the service never reads a
/// half-written file.
fn write_atomically(path: &Path, text: &str) {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text).expect("write");
    std::fs::rename(&partial, path).expect("rename");
}

/// A tenants-file section for tenant `name` connected to the emulator's
/// first environment, its API reached at `api_url`.
fn tenant_section(name: &str, emulator: &Emulator, api_url: &str) -> String {
    let seed = emulator.seed();
    format!(
        "[tenants.{name}]\nenvironmentId = \"{}\"\nclientId = \"{}\"\nclientSecret = \"{}\"\n\
         policyId = \"{}\"\napiUrl = \"{api_url}\"\nauthUrl = \"{}\"\n\n",
        seed.environment_id,
        seed.client_id,
        seed.client_secret,
        seed.policy_id,
        emulator.auth_url()
    )
}

/// A serve.toml in `dir` on a free loopback port with the test's key (as
/// its digest), the tenants file `tenants.toml` next to it, and `extra`
/// appended (more sections).
fn serve_toml(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("serve.toml");
    let text = format!(
        "listen = \"127.0.0.1:0\"\ntenantsFile = \"tenants.toml\"\ndefaultConnector = \"{PINGONE}\"\n\n\
         [[keys]]\nname = \"flows\"\nsha256 = \"{}\"\ntenants = [\"*\"]\n\n\
         [runtime]\nmaxInstances = 64\ncacheDir = \"{CACHE}\"\n\n{extra}",
        digest_hex(API_KEY)
    );
    std::fs::write(&path, text).expect("write serve.toml");
    path
}

/// `serve --config CONFIG`, started: its announcement read, its URL checked.
fn serve_config(config: &Path) -> (Proc, String) {
    serve_config_with(config, &[])
}

/// `serve --config` with extra environment variables.
fn serve_config_with(config: &Path, env: &[(&str, &str)]) -> (Proc, String) {
    let proc = Proc::spawn(&["serve", "--config", config.to_str().unwrap()], env);
    let announced = proc.announcement();
    let url = announced["url"].as_str().expect("a url").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{announced}");
    (proc, url)
}

fn user_input(emulator: &Emulator) -> Value {
    json!({ "userId": emulator.seed().users[0].id })
}

async fn invoke(client: &ApiClient, tenant: &str, input: &Value) -> Answer {
    client.invoke(tenant, PINGONE, CAPABILITY, input).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_prints_its_url_key_and_emulator_then_serves() {
    let mut proc = Proc::spawn(&["serve", "--dev", "--port", "0"], &[]);
    let announced = proc.announcement();
    let url = announced["url"].as_str().expect("url").to_owned();
    let key = announced["apiKey"].as_str().expect("apiKey").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{announced}");
    assert!(
        !url.ends_with(":0") && !url.ends_with(":8080"),
        "--port 0 picks a free port: {url}"
    );
    // 24 random bytes in hex behind the prefix: not a guessable key.
    assert!(key.starts_with("dev-") && key.len() == 4 + 48, "{key}");
    assert_eq!(announced["tenant"], "dev");
    let emulator = &announced["emulator"];
    for field in ["apiUrl", "authUrl", "environmentId", "clientId"] {
        assert!(
            emulator[field].as_str().is_some_and(|v| !v.is_empty()),
            "emulator.{field} in {announced}"
        );
    }
    let user = emulator["users"][0]["id"].as_str().expect("a seeded user");

    let client = ApiClient::new(&url, Some(&key));
    let invoked = invoke(&client, "dev", &json!({ "userId": user })).await;
    assert_eq!(invoked.status, 200, "{}", invoked.text);
    assert!(invoked.json.is_object(), "{}", invoked.text);
    let other = invoke(&client, "acme", &json!({ "userId": user })).await;
    assert_eq!(other.status, 404, "only tenant dev exists: {}", other.text);
    assert_eq!(client.with_key(None).get("/readyz").await.status, 200);
    let wrong = client
        .with_key(Some("dev-not-the-key"))
        .invoke("dev", PINGONE, CAPABILITY, &json!({ "userId": user }))
        .await;
    assert_eq!((wrong.status, wrong.kind()), (401, Some("unauthorized")));
    drop(client);

    proc.signal(libc::SIGTERM);
    proc.assert_exits_zero();
    // Besides stdout, the key is only in the human line that shows the
    // playground's URL to the developer: never in a log line, which more
    // people read than the developer.
    let stderr = proc.stderr.all_after_end();
    let with_key: Vec<&str> = stderr.lines().filter(|l| l.contains(&key)).collect();
    assert_eq!(with_key.len(), 1, "{stderr}");
    assert!(
        with_key[0].starts_with("connector-host serve --dev: ")
            && with_key[0].contains(&format!("/#key={key}")),
        "{}",
        with_key[0]
    );
    assert_eq!(
        announced["page"],
        json!(format!("{}/#key={key}", announced["url"].as_str().unwrap()))
    );
}

/// A loopback TCP relay in front of the emulator that holds every answer
/// until it is opened: invocations through it stay in flight exactly as
/// long as the test wants, and the test knows when they are (each held
/// answer is counted), with no guess of how long anything takes.
struct Gate {
    addr: SocketAddr,
    state: Arc<(Mutex<GateState>, Condvar)>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct GateState {
    open: bool,
    closing: bool,
    /// Connections whose answer arrived while the gate was shut.
    held: usize,
    /// Every socket, to shut down when the gate goes away.
    sockets: Vec<TcpStream>,
}

impl Gate {
    /// A shut gate in front of `upstream`.
    fn start(upstream: SocketAddr) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new((Mutex::new(GateState::default()), Condvar::new()));
        let shared = state.clone();
        let acceptor = std::thread::spawn(move || {
            for down in listener.incoming() {
                let Ok(down) = down else { continue };
                if shared.0.lock().unwrap().closing {
                    return;
                }
                let Ok(up) = TcpStream::connect(upstream) else {
                    continue;
                };
                relay(down, up, shared.clone());
            }
        });
        Gate {
            addr,
            state,
            acceptor: Some(acceptor),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn held(&self) -> usize {
        self.state.0.lock().unwrap().held
    }

    fn open(&self) {
        self.state.0.lock().unwrap().open = true;
        self.state.1.notify_all();
    }
}

/// Copies requests from `down` to `up` as they come, and answers from `up`
/// to `down` once the gate is open.
fn relay(down: TcpStream, up: TcpStream, state: Arc<(Mutex<GateState>, Condvar)>) {
    let clones = || (down.try_clone().unwrap(), up.try_clone().unwrap());
    {
        let mut gate = state.0.lock().unwrap();
        let (d, u) = clones();
        gate.sockets.extend([d, u]);
    }
    let (mut down_read, mut up_write) = clones();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut down_read, &mut up_write);
        let _ = up_write.shutdown(Shutdown::Write);
    });
    let (mut down_write, mut up_read) = (down, up);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 << 10];
        loop {
            let n = match up_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            {
                let (gate, opened) = &*state;
                let mut gate = gate.lock().unwrap();
                if !gate.open {
                    gate.held += 1;
                    while !gate.open {
                        gate = opened.wait(gate).unwrap();
                    }
                }
            }
            if down_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = down_write.shutdown(Shutdown::Write);
    });
}

impl Drop for Gate {
    fn drop(&mut self) {
        let sockets = {
            let mut gate = self.state.0.lock().unwrap();
            gate.closing = true;
            gate.open = true;
            std::mem::take(&mut gate.sockets)
        };
        self.state.1.notify_all();
        // Shutting the sockets down ends every relay thread; one more
        // connection wakes the acceptor so it sees `closing`.
        for socket in sockets {
            let _ = socket.shutdown(Shutdown::Both);
        }
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_lets_in_flight_invocations_finish_then_exits_zero() {
    const IN_FLIGHT: usize = 8;
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let gate = Gate::start(([127, 0, 0, 1], emulator.port()).into());
    let dir = Scratch::new("sigterm");
    // The token comes straight from the emulator; the users API goes
    // through the gate, so each invocation waits there for its answer.
    let tenants = tenant_section("acme", &emulator, &format!("{}/v1", gate.url()));
    std::fs::write(dir.join("tenants.toml"), tenants).unwrap();
    let config = serve_toml(&dir, "[server]\nshutdownGraceMs = 600000\n");
    let (mut proc, url) = serve_config(&config);
    let addr: SocketAddr = url.trim_start_matches("http://").parse().unwrap();

    let client = ApiClient::new(&url, Some(API_KEY));
    let input = user_input(&emulator);
    let invocations: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (client, input) = (client.clone(), input.clone());
            tokio::spawn(async move { invoke(&client, "acme", &input).await })
        })
        .collect();
    // Every invocation is in flight once its PingOne answer is held.
    let deadline = Instant::now() + DEADLINE;
    while gate.held() < IN_FLIGHT {
        assert!(
            Instant::now() < deadline,
            "{} of {IN_FLIGHT} invocations reached PingOne; stderr:\n{}",
            gate.held(),
            proc.stderr.so_far()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    proc.signal(libc::SIGTERM);
    proc.log_line("about the drain", |l| {
        l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutting down"))
    });
    // The listener is closed while the answers are still held: the
    // refusal is the drain's, not that of a process that is gone.
    let refused = TcpStream::connect(addr).expect_err("a new connection during the drain");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(proc.running(), "the process waits for its invocations");
    assert!(invocations.iter().all(|i| !i.is_finished()));

    gate.open();
    for invocation in invocations {
        let answer = invocation.await.expect("the invocation task");
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(answer.json.is_object(), "{}", answer.text);
    }
    drop(client);
    proc.assert_exits_zero();
    let stderr = proc.stderr.all_after_end();
    assert!(
        stderr.contains("every in-flight request finished"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_tenants_file() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = Scratch::new("sighup");
    let tenants = dir.join("tenants.toml");
    let section = |name: &str| tenant_section(name, &emulator, &emulator.api_url());
    write_atomically(
        &tenants,
        &format!("{}{}", section("acme"), section("globex")),
    );
    let config = serve_toml(&dir, "");
    let (mut proc, url) = serve_config(&config);
    let client = ApiClient::new(&url, Some(API_KEY));
    let input = user_input(&emulator);
    for tenant in ["acme", "globex"] {
        let answer = invoke(&client, tenant, &input).await;
        assert_eq!(answer.status, 200, "{tenant}: {}", answer.text);
    }
    let unknown = invoke(&client, "initech", &input).await;
    assert_eq!(
        (unknown.status, unknown.kind()),
        (404, Some("unknownTenant"))
    );

    // initech comes, globex goes.
    write_atomically(
        &tenants,
        &format!("{}{}", section("acme"), section("initech")),
    );
    proc.signal(libc::SIGHUP);
    let deadline = Instant::now() + DEADLINE;
    loop {
        let answer = invoke(&client, "initech", &input).await;
        if answer.status == 200 {
            break;
        }
        assert_eq!(answer.status, 404, "{}", answer.text);
        assert!(Instant::now() < deadline, "initech never appeared");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let reloaded = proc.log_line("about the reload", |l| {
        l["fields"]["message"] == "tenants file reloaded (SIGHUP)"
    });
    assert_eq!(reloaded["fields"]["tenants"], 2, "{reloaded}");
    // The reload removes before it adds: once initech answers, globex is gone.
    let gone = invoke(&client, "globex", &input).await;
    assert_eq!((gone.status, gone.kind()), (404, Some("unknownTenant")));

    // A file that does not validate changes nothing, and its secret stays
    // out of the error.
    let secret = "reload-secret-never-logged";
    write_atomically(
        &tenants,
        &format!(
            "{}[tenants.broken]\nenvironmentId = \"not-a-uuid\"\nclientId = \"x\"\n\
             clientSecret = \"{secret}\"\n",
            section("acme")
        ),
    );
    proc.signal(libc::SIGHUP);
    let not_reloaded = |l: &Value| {
        l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("tenants file not reloaded"))
    };
    let failed = proc.log_line("about the failed reload", not_reloaded);
    assert_eq!(failed["level"], "ERROR", "{failed}");
    // The error is the host's own structured one, naming the tenant's key.
    let error: Value = failed["fields"]["error"]
        .as_str()
        .and_then(|e| serde_json::from_str(e).ok())
        .unwrap_or_else(|| panic!("a JSON error in {failed}"));
    assert_eq!(error["error"]["kind"], "tenant", "{failed}");
    assert!(
        error["error"]["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("broken.")),
        "{failed}"
    );
    for tenant in ["acme", "initech"] {
        let answer = invoke(&client, tenant, &input).await;
        assert_eq!(answer.status, 200, "{tenant} after the failed reload");
    }
    let still_gone = invoke(&client, "globex", &input).await;
    assert_eq!(still_gone.status, 404);
    let broken = invoke(&client, "broken", &input).await;
    assert_eq!(broken.status, 404);
    // Text that is not TOML at all is refused the same way.
    write_atomically(&tenants, "[tenants.acme\nthis is not toml");
    proc.signal(libc::SIGHUP);
    proc.nth_log_line(2, "about the second failed reload", not_reloaded);
    assert_eq!(invoke(&client, "initech", &input).await.status, 200);
    drop(client);

    proc.signal(libc::SIGTERM);
    proc.assert_exits_zero();
    assert!(!proc.stderr.all_after_end().contains(secret));
}

/// What a `serve --config` that must not start says: exit 1, and stdout is
/// exactly one JSON object (its error) of kind `config`.
fn config_error(config: &Path, env: &[(&str, &str)]) -> (Value, String) {
    let mut proc = Proc::spawn(&["serve", "--config", config.to_str().unwrap()], env);
    let status = proc.wait();
    let stdout = proc.stdout.all_after_end();
    let stderr = proc.stderr.all_after_end();
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    let error: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stdout}"));
    assert_eq!(error["error"]["kind"], "config", "{error}");
    (error["error"].clone(), format!("{stdout}\n{stderr}"))
}

/// The 1-based line of `text` that contains `marker`.
fn line_of(text: &str, marker: &str) -> usize {
    text.lines()
        .position(|l| l.contains(marker))
        .expect("the marker is in the text")
        + 1
}

/// One configuration that must not start, and the error it must give.
struct Case<'a> {
    what: &'a str,
    /// serve.toml.
    text: String,
    /// A variable set for this run only.
    env: Option<(&'a str, &'a str)>,
    /// The key (or file) the error must name.
    field: &'a str,
    /// What its summary must say.
    summary: &'a str,
}

#[test]
fn config_errors_are_structured_and_name_the_key() {
    let dir = Scratch::new("config-errors");
    let config = dir.join("serve.toml");
    let path = config.display().to_string();
    // Set for every run: whatever goes wrong, this value must not show.
    let admin_secret = "admin-secret-from-the-environment-42";
    let env = [("SERVE_TEST_ADMIN_KEY", admin_secret)];
    let pasted = "a-pasted-key-instead-of-its-digest-0123";
    let admin_key = "[[keys]]\nname = \"ops\"\nkey = \"env:SERVE_TEST_ADMIN_KEY\"\nadmin = true\n";
    // A port that is taken for as long as the cases run.
    let taken = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let taken = taken.local_addr().map(|addr| (taken, addr)).unwrap();
    let in_use = format!("cannot listen on {}", taken.1);
    let cases = [
        Case {
            what: "a key's digest that is not one",
            text: format!("[[keys]]\nname = \"flows\"\nsha256 = \"{pasted}\"\ntenants = [\"*\"]\n"),
            env: None,
            field: "keys[0]",
            summary: "sha256 must be 64 hex digits",
        },
        Case {
            what: "a key given in clear",
            text: format!(
                "{admin_key}\n[[keys]]\nname = \"flows\"\nkey = \"{pasted}\"\ntenants = [\"*\"]\n"
            ),
            env: None,
            field: "keys[1]",
            summary: "must be a reference",
        },
        // The first key's variable resolves (to the secret) before the
        // second one's is found missing.
        Case {
            what: "a key whose variable is not set",
            text: format!(
                "{admin_key}\n[[keys]]\nname = \"flows\"\nkey = \"env:SERVE_TEST_UNSET_KEY_1f\"\n\
                 tenants = [\"*\"]\n"
            ),
            env: None,
            field: "keys[1]",
            summary: "SERVE_TEST_UNSET_KEY_1f is not set",
        },
        Case {
            what: "a listen address that is not one",
            text: format!("listen = \"localhost-without-a-port\"\n{admin_key}"),
            env: None,
            field: "listen",
            summary: "line 1",
        },
        Case {
            what: "a listen address in use",
            text: format!("listen = \"{}\"\n{admin_key}", taken.1),
            env: None,
            field: "listen",
            summary: &in_use,
        },
        Case {
            what: "a listen override that is not an address",
            text: admin_key.to_owned(),
            env: Some(("CONNECTOR_HOST_LISTEN", "nowhere")),
            field: "CONNECTOR_HOST_LISTEN",
            summary: "is not an address:port",
        },
        Case {
            what: "a server bound out of range",
            text: format!("{admin_key}\n[server]\nshutdownGraceMs = 99999999\n"),
            env: None,
            field: "server.shutdownGraceMs",
            summary: "at most 3600000",
        },
    ];
    for case in cases {
        let what = case.what;
        std::fs::write(&config, &case.text).unwrap();
        let env: Vec<(&str, &str)> = env.iter().copied().chain(case.env).collect();
        let (error, output) = config_error(&config, &env);
        assert_eq!(error["field"], case.field, "{what}: {error}");
        let said = error["summary"].as_str().unwrap_or_default();
        assert!(said.contains(case.summary), "{what}: {error}");
        assert!(!output.contains(pasted), "{what}: {output}");
        assert!(!output.contains(admin_secret), "{what}: {output}");
    }

    // Where the file itself does not parse, the error names the key and the
    // line, never the text there (which may be a key).
    for (what, text, marker, field) in [
        (
            "an unknown key",
            format!("{admin_key}\n[server]\nmaxBodyByte = 2048\n"),
            "maxBodyByte",
            "server.maxBodyByte",
        ),
        (
            "a value of the wrong type",
            format!("[[keys]]\nname = \"ops\"\nkey = \"env:SERVE_TEST_ADMIN_KEY\"\nadmin = \"{pasted}\"\n"),
            "admin =",
            "keys.admin",
        ),
    ] {
        std::fs::write(&config, &text).unwrap();
        let (error, output) = config_error(&config, &env);
        assert_eq!(error["field"], field, "{what}: {error}");
        let line = format!("line {}", line_of(&text, marker));
        assert!(
            error["summary"]
                .as_str()
                .is_some_and(|s| s.contains(&line) && s.contains(&path)),
            "{what}: {error} should name the file and say {line}"
        );
        assert!(!output.contains(pasted), "{what}: {output}");
        assert!(!output.contains(admin_secret), "{what}: {output}");
    }

    // --dev on a taken port says which argument to change.
    let port = taken.1.port().to_string();
    let mut dev = Proc::spawn(&["serve", "--dev", "--port", &port], &[]);
    let status = dev.wait();
    let stdout = dev.stdout.all_after_end();
    assert_eq!(status.code(), Some(1), "{stdout}");
    let error: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(error["error"]["kind"], "cli", "{error}");
    let summary = error["error"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("--port") && summary.contains(&port),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_span_and_trace_id() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = Scratch::new("logs");
    let tenants = tenant_section("acme", &emulator, &emulator.api_url());
    std::fs::write(dir.join("tenants.toml"), tenants).unwrap();
    let config = serve_toml(&dir, "");
    // A successful request's line is at debug (failures are at info and
    // warn), so this run asks for every request's line.
    let (mut proc, url) =
        serve_config_with(&config, &[("RUST_LOG", "info,connector_service=debug")]);
    let client = ApiClient::new(&url, Some(API_KEY));
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let traceparent = format!("00-{trace_id}-b7ad6b7169203331-01");
    let path = format!("/v1/tenants/acme/connectors/{PINGONE}/capabilities/{CAPABILITY}");
    let answer = client
        .send_with(
            "POST",
            &path,
            &[("traceparent", traceparent.as_str())],
            user_input(&emulator).to_string(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let request_id = answer
        .header("x-request-id")
        .expect("an x-request-id")
        .to_owned();
    let wrong_key = "wrong-key-that-must-not-be-logged-7";
    let refused = client
        .with_key(Some(wrong_key))
        .invoke("acme", PINGONE, CAPABILITY, &user_input(&emulator))
        .await;
    assert_eq!(refused.status, 401);

    let request_span = |line: &Value| -> Option<Value> {
        line["spans"]
            .as_array()?
            .iter()
            .find(|s| s["name"] == "request" && s["id"] == request_id.as_str())
            .cloned()
    };
    let answered = proc.log_line("answering the traced request", |l| {
        l["fields"]["message"] == "answered" && request_span(l).is_some()
    });
    assert_eq!(answered["fields"]["status"], 200, "{answered}");
    let span = request_span(&answered).unwrap();
    assert_eq!(span["trace_id"], trace_id, "{answered}");
    // The span names the key by its configured name.
    assert_eq!(span["key"], "flows", "{answered}");
    assert_eq!(span["method"], "POST", "{answered}");
    // Inside the request's span, the invocation's own names what it is for
    // and carries the trace id too.
    let finished = proc.log_line("the traced invocation finishing", |l| {
        l["fields"]["message"] == "invocation finished" && request_span(l).is_some()
    });
    let invocation = finished["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == "invocation"))
        .cloned()
        .unwrap_or_else(|| panic!("an invocation span: {finished}"));
    assert_eq!(
        (
            &invocation["tenant"],
            &invocation["connector"],
            &invocation["capability"],
            &invocation["trace_id"]
        ),
        (
            &json!("acme"),
            &json!(PINGONE),
            &json!(CAPABILITY),
            &json!(trace_id)
        ),
        "{finished}"
    );
    assert_eq!(finished["fields"]["outcome"], "ok", "{finished}");
    drop(client);

    proc.signal(libc::SIGTERM);
    proc.assert_exits_zero();
    let stderr = proc.stderr.all_after_end();
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()),
            "every stderr line is a JSON object: {line}"
        );
    }
    for secret in [API_KEY, wrong_key, emulator.seed().client_secret.as_str()] {
        assert!(!stderr.contains(secret), "{secret} on stderr:\n{stderr}");
    }
}
