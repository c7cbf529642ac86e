//! The `connector-host` binary as a user runs it: list, describe, invoke
//! against an emulator (settings from the PINGONE_* variables), and JSON
//! errors with a non-zero exit; then the tenant boundary as the CLI meets
//! it (SECURITY.md): bad arguments, closed pipes and full disks, unbounded
//! inputs, settings that must not be echoed, internal addresses,
//! tenant-supplied settings, out-of-range limits, a huge PingOne error, a
//! corrupted artifact cache.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

fn cli(args: &[&str], env: &[(&str, String)]) -> Output {
    command(args, env).output().expect("the binary runs")
}

fn command(args: &[&str], env: &[(&str, String)]) -> Command {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    let mut command = Command::new(env!("CARGO_BIN_EXE_connector-host"));
    command
        .args(args)
        .env("CONNECTOR_HOST_CACHE_DIR", cache)
        .env_remove("RUST_LOG");
    for name in [
        "PINGONE_ENVIRONMENT_ID",
        "PINGONE_CLIENT_ID",
        "PINGONE_CLIENT_SECRET",
        "PINGONE_REGION_CODE",
        "PINGONE_POLICY_ID",
        "PINGONE_API_URL",
        "PINGONE_AUTH_URL",
    ] {
        command.env_remove(name);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// How many listed capabilities belong to `connector`.
fn count_of(listed: &Value, connector: &str) -> usize {
    listed["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["connector"] == connector)
        .count()
}

#[test]
fn list_and_describe() {
    let listed = cli(&["list", "--json"], &[]);
    assert!(listed.status.success());
    let listed = json(&listed);
    assert_eq!(count_of(&listed, "pingone-mfa"), 26);
    assert_eq!(count_of(&listed, "http"), 1);
    let names: Vec<&str> = listed["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pingone-mfa", "http"]);
    // Each entry keeps its manifest shape, and names its connector.
    let first = &listed["capabilities"][0];
    for key in [
        "connector",
        "id",
        "witFunction",
        "title",
        "description",
        "inputSchema",
        "outputSchema",
    ] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    let plain = cli(&["list"], &[]);
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(plain.contains("read-all-devices-ping-id") && plain.contains("make-rest-api-call"));
    for argv in [
        vec!["describe", "createDevice", "--json"],
        vec!["describe", "pingone-mfa/createDevice", "--json"],
        vec![
            "describe",
            "createDevice",
            "--connector",
            "pingone-mfa",
            "--json",
        ],
    ] {
        let described = cli(&argv, &[]);
        assert!(described.status.success(), "{argv:?}");
        let described = json(&described);
        assert_eq!(described["inputSchema"]["required"][0], "userId");
        assert_eq!(described["connector"], "pingone-mfa");
    }
    for argv in [
        vec!["describe", "launchRockets"],
        vec!["describe", "http/createDevice"],
        vec!["describe", "createDevice", "--connector", "http"],
    ] {
        let unknown = cli(&argv, &[]);
        assert!(!unknown.status.success());
        assert_eq!(
            json(&unknown)["error"]["kind"],
            "unknownCapability",
            "{argv:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn invoke_against_the_emulator() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let seed = emulator.seed().clone();
    let env = vec![
        ("PINGONE_ENVIRONMENT_ID", seed.environment_id.clone()),
        ("PINGONE_CLIENT_ID", seed.client_id.clone()),
        ("PINGONE_CLIENT_SECRET", seed.client_secret.clone()),
        ("PINGONE_POLICY_ID", seed.policy_id.clone()),
        ("PINGONE_API_URL", emulator.api_url()),
        ("PINGONE_AUTH_URL", emulator.auth_url()),
    ];
    let user = seed.users[0].id.clone();
    let input = format!(r#"{{"userId":"{user}"}}"#);
    let run = |args: Vec<String>, env: Vec<(&'static str, String)>| {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cli(&args, &env)
        })
    };
    let ok = run(
        vec![
            "invoke".into(),
            "readUserMFAEnabled".into(),
            "--input".into(),
            input.clone(),
        ],
        env.clone(),
    )
    .await
    .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert_eq!(json(&ok)["mfaEnabled"], false);

    let bad = run(
        vec![
            "invoke".into(),
            "readDevice".into(),
            "--input".into(),
            input.clone(),
        ],
        env.clone(),
    )
    .await
    .unwrap();
    assert!(!bad.status.success());
    let error = json(&bad);
    assert_eq!(error["error"]["kind"], "invalidInput");
    assert_eq!(error["error"]["pointer"], "/deviceId");

    let no_tenant = run(
        vec![
            "invoke".into(),
            "readUserMFAEnabled".into(),
            "--input".into(),
            input,
        ],
        Vec::new(),
    )
    .await
    .unwrap();
    assert!(!no_tenant.status.success());
    assert_eq!(json(&no_tenant)["error"]["kind"], "tenant");
    emulator.shutdown().await;
}

/// A scratch directory of its own for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The error object of a failed run, which must be the only thing on stdout.
#[track_caller]
fn error_of(output: &Output) -> Value {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let value = json(output);
    let summary = value["error"]["summary"].as_str().expect("a summary");
    assert!(
        !summary.contains(['\n', '\r']) && summary.len() <= 1024,
        "one bounded line: {summary}"
    );
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("panicked"),
        "no panic: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    value["error"].clone()
}

/// Runs the CLI on a blocking thread, so an in-process emulator keeps serving.
async fn run(args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&args, &env)
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `invoke readUserMFAEnabled <flags> --input <input>`.
async fn invoke_mfa(flags: &[&str], input: &str, env: Vec<(&'static str, String)>) -> Output {
    let mut argv = args(&["invoke", "readUserMFAEnabled"]);
    argv.extend(args(flags));
    argv.extend(args(&["--input", input]));
    run(argv, env).await
}

fn emulator_env(emulator: &Emulator) -> Vec<(&'static str, String)> {
    let seed = emulator.seed();
    vec![
        ("PINGONE_ENVIRONMENT_ID", seed.environment_id.clone()),
        ("PINGONE_CLIENT_ID", seed.client_id.clone()),
        ("PINGONE_CLIENT_SECRET", seed.client_secret.clone()),
        ("PINGONE_POLICY_ID", seed.policy_id.clone()),
        ("PINGONE_API_URL", emulator.api_url()),
        ("PINGONE_AUTH_URL", emulator.auth_url()),
    ]
}

/// A `--tenant` file for the emulator's first environment, with `secret`.
fn tenant_file(dir: &Path, emulator: &Emulator, secret: &str) -> PathBuf {
    let seed = emulator.seed();
    let path = dir.join("tenant.toml");
    std::fs::write(
        &path,
        format!(
            "environmentId = \"{}\"\nclientId = \"{}\"\nclientSecret = \"{secret}\"\napiUrl = \"{}\"\nauthUrl = \"{}\"\n",
            seed.environment_id,
            seed.client_id,
            emulator.api_url(),
            emulator.auth_url()
        ),
    )
    .unwrap();
    path
}

#[test]
fn argument_errors_are_one_json_object() {
    use std::os::unix::ffi::OsStrExt;
    for (argv, argument) in [
        (vec!["invoke", "readDevice"], Some("--input <INPUT>")),
        (vec!["launch-rockets"], None),
        (vec![], None),
        (
            vec![
                "invoke",
                "readDevice",
                "--input",
                "{}",
                "--tenant-name",
                "acme",
            ],
            Some("--tenants <TENANTS>"),
        ),
        (
            vec![
                "invoke",
                "readDevice",
                "--input",
                "{}",
                "--allow-internal",
                "not-a-cidr",
            ],
            Some("--allow-internal <CIDR>"),
        ),
    ] {
        let error = error_of(&cli(&argv, &[]));
        assert_eq!(error["kind"], "cli", "{argv:?}: {error}");
        if let Some(argument) = argument {
            assert_eq!(error["argument"], argument, "{argv:?}: {error}");
        }
        assert!(
            !error["summary"].as_str().unwrap().is_empty(),
            "{argv:?}: {error}"
        );
    }
    let mut non_utf8 = command(&["invoke"], &[]);
    non_utf8.arg(std::ffi::OsStr::from_bytes(b"read\xffDevice"));
    let error = error_of(&non_utf8.output().unwrap());
    assert!(
        error["summary"].as_str().unwrap().contains("UTF-8"),
        "{error}"
    );
    // Help and version stay as they are.
    for flag in ["--help", "--version"] {
        let shown = cli(&[flag], &[]);
        assert!(shown.status.success(), "{flag}");
        assert!(String::from_utf8_lossy(&shown.stdout).contains("connector-host"));
    }
}

#[test]
fn a_closed_pipe_or_a_full_disk_ends_without_a_panic() {
    // The reader goes away before the first line: `| head -0`, `| true`.
    for argv in [
        vec!["list"],
        vec!["list", "--json"],
        vec!["describe", "createDevice"],
    ] {
        let mut child = command(&argv, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{argv:?}: {output:?}");
        assert!(output.stderr.is_empty(), "{argv:?}: quiet, {output:?}");
    }
    // A full disk: the error goes to stderr, as one JSON line.
    let full = std::fs::File::create("/dev/full").unwrap();
    let output = command(&["list", "--json"], &[])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    let error: Value = serde_json::from_str(line).expect("one JSON line on stderr");
    assert_eq!(error["error"]["kind"], "cli");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_read_is_bounded() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let env = emulator_env(&emulator);
    let dir = scratch("bounded");
    let user = emulator.seed().users[0].id.clone();
    // An input that never ends, from a device or a FIFO with a busy writer.
    let fifo = dir.join("input-fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&fifo) {
                let chunk = vec![b' '; 1 << 16];
                while f.write_all(&chunk).is_ok() {}
            }
        })
    };
    for source in [
        "/dev/zero".to_owned(),
        "/dev/urandom".to_owned(),
        fifo.display().to_string(),
    ] {
        let input = format!("@{source}");
        let output = invoke_mfa(&[], &input, env.clone()).await;
        let error = error_of(&output);
        assert_eq!(
            (error["kind"].as_str(), error["limit"].as_str()),
            (Some("limit"), Some("inputSize")),
            "{source}: {error}"
        );
    }
    writer.join().unwrap();
    // A FIFO nobody writes to: the read gives up at the tenant's wall time.
    let silent = dir.join("silent-fifo");
    assert!(Command::new("mkfifo")
        .arg(&silent)
        .status()
        .unwrap()
        .success());
    let seed = emulator.seed();
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!(
            "[tenants.acme]\nenvironmentId = \"{}\"\nclientId = \"{}\"\nclientSecret = \"{}\"\napiUrl = \"{}\"\nauthUrl = \"{}\"\n\n[tenants.acme.limits]\nwallTimeMs = 300\n",
            seed.environment_id, seed.client_id, seed.client_secret, emulator.api_url(), emulator.auth_url()
        ),
    )
    .unwrap();
    let input = format!("@{}", silent.display());
    let output = invoke_mfa(
        &["--tenants", tenants.to_str().unwrap()],
        &input,
        Vec::new(),
    )
    .await;
    let error = error_of(&output);
    assert_eq!(error["kind"], "cli", "{error}");
    assert!(
        error["summary"].as_str().unwrap().contains("wallTimeMs"),
        "{error}"
    );
    // Settings files and secret files.
    let secret_from_zero = tenant_file(&dir, &emulator, "file:/dev/zero");
    for (tenant, field) in [
        (PathBuf::from("/dev/zero"), "tenant file"),
        (PathBuf::from("/dev/urandom"), "tenant file"),
        (secret_from_zero, "clientSecret"),
    ] {
        let input = format!(r#"{{"userId":"{user}"}}"#);
        let output = invoke_mfa(&["--tenant", tenant.to_str().unwrap()], &input, Vec::new()).await;
        let error = error_of(&output);
        assert_eq!(
            (error["kind"].as_str(), error["field"].as_str()),
            (Some("tenant"), Some(field)),
            "{error}"
        );
    }
    // The same command with a sane input works.
    let input = format!(r#"{{"userId":"{user}"}}"#);
    let ok = invoke_mfa(&[], &input, env).await;
    assert!(ok.status.success(), "{ok:?}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_errors_never_quote_the_secret() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = scratch("quotes");
    let user = emulator.seed().users[0].id.clone();
    let input = format!(r#"{{"userId":"{user}"}}"#);
    let secret = "hunter2-the-secret-value";
    // A syntax error on the secret's line, in --tenant and in --tenants.
    let broken = dir.join("broken.toml");
    std::fs::write(
        &broken,
        format!("environmentId = \"x\"\nclientId = \"y\"\nclientSecret = \"{secret}\n"),
    )
    .unwrap();
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!("[tenants.acme]\nclientSecret = {secret}\n"),
    )
    .unwrap();
    for (flag, path, line) in [
        ("--tenant", &broken, "line 3"),
        ("--tenants", &tenants, "line 2"),
    ] {
        let output = invoke_mfa(&[flag, path.to_str().unwrap()], &input, Vec::new()).await;
        let error = error_of(&output);
        let text = String::from_utf8_lossy(&output.stdout);
        assert_eq!(error["kind"], "tenant", "{text}");
        assert!(error["message"].as_str().unwrap().contains(line), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
    // A password in a URL.
    let mut env = emulator_env(&emulator);
    env.retain(|(k, _)| *k != "PINGONE_API_URL");
    env.push((
        "PINGONE_API_URL",
        format!("http://admin:{secret}@127.0.0.1:{}/v1", emulator.port()),
    ));
    let output = invoke_mfa(&[], &input, env).await;
    let error = error_of(&output);
    assert_eq!(
        (error["kind"].as_str(), error["field"].as_str()),
        (Some("tenant"), Some("apiUrl"))
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("hunter2"));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn internal_addresses_need_the_operators_allowance() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let user = emulator.seed().users[0].id.clone();
    let input = format!(r#"{{"userId":"{user}"}}"#);
    // 0.0.0.0 reaches the emulator's loopback listener if it is let through.
    let zero = format!("http://0.0.0.0:{}", emulator.port());
    let mut env = emulator_env(&emulator);
    env.retain(|(k, _)| !k.ends_with("_URL"));
    env.push(("PINGONE_API_URL", format!("{zero}/v1")));
    env.push(("PINGONE_AUTH_URL", zero));
    let refused = invoke_mfa(&[], &input, env.clone()).await;
    let error = error_of(&refused);
    assert_eq!(error["kind"], "denied", "{error}");
    assert_eq!(emulator.stats().token_requests, 0, "no connection was made");
    let allowed = invoke_mfa(&["--allow-internal", "0.0.0.0/32"], &input, env).await;
    assert!(allowed.status.success(), "{allowed:?}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_supplied_settings_are_literal_and_bounded_by_the_policy() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = scratch("supplied");
    let user = emulator.seed().users[0].id.clone();
    let input = format!(r#"{{"userId":"{user}"}}"#);
    let secret_env = vec![(
        "CLI_TEST_TENANT_SECRET",
        emulator.seed().client_secret.clone(),
    )];
    let file = tenant_file(&dir, &emulator, "env:CLI_TEST_TENANT_SECRET");
    let file = file.to_str().unwrap();
    let origin = format!("http://127.0.0.1:{}", emulator.port());
    // As the operator's file, the reference resolves.
    let operator = invoke_mfa(&["--tenant", file], &input, secret_env.clone()).await;
    assert!(operator.status.success(), "{operator:?}");
    // As a tenant's, it is the secret itself, and PingOne refuses it.
    let supplied = invoke_mfa(
        &[
            "--tenant",
            file,
            "--tenant-supplied",
            "--tenant-origin",
            &origin,
            "--allow-internal",
            "127.0.0.1/32",
        ],
        &input,
        secret_env.clone(),
    )
    .await;
    let error = error_of(&supplied);
    assert_eq!(
        (error["kind"].as_str(), error["code"].as_str()),
        (Some("token"), Some("invalid_client")),
        "{error}"
    );
    // Without the operator naming the origin, a tenant may not point at it.
    let unlisted = invoke_mfa(&["--tenant", file, "--tenant-supplied"], &input, secret_env).await;
    let error = error_of(&unlisted);
    assert_eq!(
        (error["kind"].as_str(), error["field"].as_str()),
        (Some("tenant"), Some("apiUrl")),
        "{error}"
    );
    emulator.shutdown().await;
}

#[test]
fn limits_out_of_range_are_tenant_errors() {
    let dir = scratch("limits");
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        "[tenants.acme]\nenvironmentId = \"11111111-2222-3333-4444-555555555555\"\nclientId = \"aaaaaaaa-2222-3333-4444-555555555555\"\nclientSecret = \"a-long-enough-secret\"\n\n[tenants.acme.limits]\nmaxConcurrent = 9223372036854775807\n",
    )
    .unwrap();
    let output = cli(
        &[
            "invoke",
            "readDevice",
            "--tenants",
            tenants.to_str().unwrap(),
            "--input",
            "{}",
        ],
        &[],
    );
    let error = error_of(&output);
    assert_eq!(
        (error["kind"].as_str(), error["field"].as_str()),
        (Some("tenant"), Some("acme.limits.maxConcurrent")),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_pingone_error_and_an_absurd_token_lifetime() {
    use pingone_emulator::faults::{Fault, FaultAction};
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let user = emulator.seed().users[0].id.clone();
    let input = format!(r#"{{"userId":"{user}"}}"#);
    let env = emulator_env(&emulator);
    emulator.inject(
        Fault::new(
            "/as/token",
            FaultAction::Respond {
                status: 200,
                body: Some(serde_json::json!({ "access_token": "a-forged-token-value", "expires_in": u64::MAX })),
                retry_after: None,
            },
        )
        .times(1),
    );
    let details: Vec<Value> = (0..10_000)
        .map(|i| serde_json::json!({ "code": "INVALID_VALUE", "message": format!("detail {i}") }))
        .collect();
    emulator.inject(
        Fault::new(
            "/mfaEnabled",
            FaultAction::Respond {
                status: 400,
                body: Some(serde_json::json!({ "id": "e-1", "code": "INVALID_DATA", "message": "x\n".repeat(500_000), "details": details })),
                retry_after: None,
            },
        )
        .times(1),
    );
    let output = invoke_mfa(&[], &input, env.clone()).await;
    assert!(
        output.stdout.len() < 64 * 1024,
        "{} bytes",
        output.stdout.len()
    );
    let error = error_of(&output);
    assert_eq!(
        (error["kind"].as_str(), error["status"].as_u64()),
        (Some("api"), Some(400)),
        "{error}"
    );
    assert_eq!(error["omittedDetails"], 10_000 - 32);
    let ok = invoke_mfa(&[], &input, env).await;
    assert!(ok.status.success(), "{ok:?}");
    emulator.shutdown().await;
}

#[test]
fn a_corrupted_artifact_cache_is_rebuilt() {
    let dir = scratch("corrupt-cache");
    let env = vec![("CONNECTOR_HOST_CACHE_DIR", dir.display().to_string())];
    assert!(cli(&["list"], &env).status.success());
    let artifact = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .expect("an artifact");
    let mut bytes = std::fs::read(&artifact).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 4096] {
        *b = !*b;
    }
    std::fs::write(&artifact, &bytes).unwrap();
    let listed = cli(&["list", "--json"], &env);
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(count_of(&json(&listed), "pingone-mfa"), 26);
    assert_ne!(std::fs::read(&artifact).unwrap(), bytes, "rebuilt");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_connector_and_a_component_from_a_file() {
    use connector_testkit::http_server::{Credentials, TestServer};
    let server = TestServer::start(Credentials::default()).await;
    let dir = scratch("http");
    let tenant = dir.join("http.toml");
    std::fs::write(
        &tenant,
        format!(
            "baseUrl = \"{}/key\"\nauthType = \"apiKey\"\napiKey = \"env:CLI_TEST_HTTP_KEY\"\n",
            server.url()
        ),
    )
    .unwrap();
    let env = vec![("CLI_TEST_HTTP_KEY", server.credentials().api_key.clone())];
    let tenant = tenant.to_str().unwrap().to_owned();
    let invoke = |name: &str| {
        args(&[
            "invoke",
            name,
            "--tenant",
            &tenant,
            "--input",
            r#"{"method":"POST","path":"items","body":{"a":1}}"#,
        ])
    };
    for name in ["makeRestApiCall", "http/makeRestApiCall"] {
        let output = run(invoke(name), env.clone()).await;
        assert!(output.status.success(), "{name}: {output:?}");
        let out = json(&output);
        assert_eq!(out["statusCode"], 200);
        assert_eq!(out["rawResponse"]["path"], "/key/items");
        assert!(!String::from_utf8_lossy(&output.stdout).contains(&server.credentials().api_key));
    }
    let mut with_connector = invoke("makeRestApiCall");
    with_connector.extend(args(&["--connector", "http"]));
    assert!(run(with_connector, env.clone()).await.status.success());
    // The same connector loaded from a .wasm file (it replaces the embedded one).
    let wasm = dir.join("http.wasm");
    std::fs::write(&wasm, embedded_connectors::HTTP).unwrap();
    let mut from_file = invoke("makeRestApiCall");
    from_file.extend(args(&["--component", wasm.to_str().unwrap()]));
    let output = run(from_file, env).await;
    assert!(output.status.success(), "{output:?}");
    let missing = cli(&["list", "--component", "/nonexistent/x.wasm"], &[]);
    assert_eq!(error_of(&missing)["kind"], "load");
    let not_wasm = dir.join("not.wasm");
    std::fs::write(&not_wasm, b"not a component").unwrap();
    let broken = cli(&["list", "--component", not_wasm.to_str().unwrap()], &[]);
    assert_eq!(error_of(&broken)["kind"], "load");
}

/// `flow run` without `--emulator` asks the terminal: the wait's request as
/// a JSON line on stderr, the answer as a line on stdin (here the OTP the
/// emulator "emailed"); a flow file whose graph is wrong is a
/// `flowDefinition` error with the pointer into the file.
#[tokio::test(flavor = "multi_thread")]
async fn flow_run_asks_the_terminal_and_points_into_a_bad_file() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let dir = scratch("flow-run");
    let flow = dir.join("one-time.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../flows/one-time-device-authentication.json"),
        &flow,
    )
    .unwrap();
    let address = "terminal.user@example.com";
    let input = serde_json::json!({
        "userId": emulator.seed().users[0].id, "deviceType": "Email", "email": address,
    })
    .to_string();
    let env = emulator_env(&emulator);
    let mut child = command(
        &["flow", "run", flow.to_str().unwrap(), "--input", &input],
        &env.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>(),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // The flow waits on stdin once the code has been sent.
    let mut otp = None;
    for _ in 0..600 {
        if let Some(m) = emulator.outbox().into_iter().find(|m| m.to == address) {
            otp = Some(m.otp);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let otp = otp.expect("the emulator sent the code");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{otp}").unwrap();
    drop(stdin);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let finished = json(&output);
    assert_eq!(finished["result"]["status"], "COMPLETED", "{finished}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let asked: Value = stderr
        .lines()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .expect("the wait request as a JSON line");
    assert_eq!(
        (&asked["waitFor"], &asked["nodeId"]),
        (&serde_json::json!("otp"), &serde_json::json!("askOtp"))
    );
    assert_eq!(asked["context"]["to"], address);

    let broken = dir.join("broken.json");
    std::fs::write(
        &broken,
        r#"{"flowId": "broken", "name": "Broken", "graphData": {"elements": {
            "nodes": [{"data": {"id": "done", "nodeType": "RESULT"}}],
            "edges": [{"data": {"source": "done", "target": "nowhere"}}]}}}"#,
    )
    .unwrap();
    let output = run(
        args(&["flow", "run", broken.to_str().unwrap(), "--emulator"]),
        vec![],
    )
    .await;
    let error = error_of(&output);
    assert_eq!(
        (&error["kind"], &error["pointer"]),
        (
            &serde_json::json!("flowDefinition"),
            &serde_json::json!("/graphData/elements/edges/0/data/target")
        ),
        "{error}"
    );
}
