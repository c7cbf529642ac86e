//! Secrets never appear in logs or errors: a full flow runs with every
//! crate logging at TRACE level into a buffer, including a token refresh,
//! a server that echoes the Authorization header, a token endpoint that
//! quotes the credentials, and a refused secret; neither the client secret,
//! nor its Basic encoding, nor any access token the emulator issued may
//! show up in the logs, the errors or the outputs.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;

use contract_tests::Harness;
use pingone_emulator::faults::{Fault, FaultAction};
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_or_token_in_logs_or_errors() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let h = Harness::start().await;
    let user = h.user();
    let mut shown = Vec::new();
    let seed = h.emulator.seed().clone();
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", seed.client_id, seed.client_secret));
    // A whole enrollment, then the errors a flow meets.
    let (device, otp) = h.pending_sms(&user).await;
    h.ok(
        "activateDevice",
        json!({ "userId": user, "deviceId": device, "otp": otp }),
    )
    .await;
    h.ok("setDeviceOrder", json!({ "userId": user, "setDeviceOrder": "Set default device", "defaultDeviceId": device })).await;
    h.ok("readAllDevices", json!({ "userId": user })).await;
    for result in [
        h.call(
            "readDevice",
            json!({ "userId": user, "deviceId": "missing" }),
        )
        .await,
        h.call("readDevice", json!({ "userId": 7 })).await,
    ] {
        let e = result.unwrap_err();
        shown.push(e.to_string());
        shown.push(e.to_json().to_string());
    }
    // The token expires on PingOne's side: a 401, a refresh, a retry.
    h.emulator.advance_clock(Duration::from_secs(7200));
    h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    // A server that echoes the request's Authorization header.
    h.emulator
        .inject(Fault::new("/mfaEnabled", FaultAction::Reflect).times(1));
    let echoed = h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    shown.push(echoed.to_string());
    // A token endpoint that quotes the credentials it was sent (the cached
    // token is dropped first so the host asks again).
    h.emulator.advance_clock(Duration::from_secs(7200));
    h.emulator.inject(
        Fault::new(
            "/as/token",
            FaultAction::Respond {
                status: 401,
                body: Some(json!({
                    "error": "invalid_client",
                    "error_description": format!("Basic {basic} / {}", seed.client_secret),
                })),
                retry_after: None,
            },
        )
        .times(1),
    );
    let e = h
        .call("readUserMFAEnabled", json!({ "userId": user }))
        .await
        .unwrap_err();
    shown.push(e.to_string());
    shown.push(e.to_json().to_string());
    h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    // A tenant whose secret PingOne refuses.
    let wrong = "wrong-secret-that-must-not-leak";
    let mut settings = h.settings();
    settings.insert("clientSecret".into(), json!(wrong));
    let bad = h.operator_tenant(settings, connector_runtime::Limits::default());
    let e = h
        .runtime
        .invoke(
            &bad,
            "readUserMFAEnabled",
            &json!({ "userId": user }).to_string(),
        )
        .await
        .unwrap_err();
    shown.push(e.to_string());
    shown.push(e.to_json().to_string());
    shown.push(format!("{bad:?} {e:?}"));
    let tokens = h.emulator.issued_tokens();
    assert!(
        tokens.len() >= 3,
        "the flow used several tokens: {}",
        tokens.len()
    );
    drop(h);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.len() > 1000,
        "the capture saw the flow ({} bytes)",
        logs.len()
    );
    let everything = format!("{logs}\n{}", shown.join("\n"));
    let mut needles = vec![
        ("client secret", seed.client_secret.as_str()),
        ("refused secret", wrong),
        ("Basic credentials", basic.as_str()),
    ];
    needles.extend(tokens.iter().map(|t| ("access token", t.as_str())));
    for (what, needle) in needles {
        assert!(
            !everything.contains(needle),
            "the {what} appears in logs, errors or outputs"
        );
    }
}
