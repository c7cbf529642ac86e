//! The `connector-host` binary as a user runs it: list, describe, invoke
//! against an emulator (settings from the PINGONE_* variables), and JSON
//! errors with a non-zero exit.

use std::process::{Command, Output};

use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

fn cli(args: &[&str], env: &[(&str, String)]) -> Output {
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
    command.output().expect("the binary runs")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn list_and_describe() {
    let listed = cli(&["list", "--json"], &[]);
    assert!(listed.status.success());
    assert_eq!(json(&listed)["capabilities"].as_array().unwrap().len(), 26);
    let plain = cli(&["list"], &[]);
    assert!(String::from_utf8_lossy(&plain.stdout).contains("read-all-devices-ping-id"));
    let described = cli(&["describe", "createDevice", "--json"], &[]);
    assert!(described.status.success());
    assert_eq!(json(&described)["inputSchema"]["required"][0], "userId");
    let unknown = cli(&["describe", "launchRockets"], &[]);
    assert!(!unknown.status.success());
    assert_eq!(json(&unknown)["error"]["kind"], "unknownCapability");
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
