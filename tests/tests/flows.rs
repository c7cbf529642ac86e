//! The seed's flows, run by `connector_runtime::demo::run` against the
//! emulator (the same code as `connector-host demo`), with their final
//! state asserted.

use connector_testkit::demo::{self, FlowContext, FlowOutcome};
use contract_tests::Harness;
use serde_json::{json, Value};

/// Runs `flow` for its default user; returns the outcome and the log.
async fn run(h: &Harness, flow: &str) -> (FlowOutcome, Vec<String>, String) {
    let user = h.user_n(demo::default_user(flow));
    let mut lines = Vec::new();
    let mut log = |line: &str| lines.push(line.to_owned());
    let mut ctx = FlowContext {
        runtime: &h.runtime,
        tenant: &h.tenant,
        emulator: &h.emulator,
        user_id: user.clone(),
        log: &mut log,
    };
    let outcome = demo::run(flow, &mut ctx)
        .await
        .unwrap_or_else(|e| panic!("flow {flow} failed: {e}"));
    assert_eq!(outcome.flow, flow);
    (outcome, lines, user)
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn enrollment() {
    let h = Harness::start().await;
    let (outcome, log, user) = run(&h, "enrollment").await;
    let s = &outcome.state;
    let enrolled = &s["enrolled"];
    let (sms, email, totp, fido2) = (
        enrolled["sms"].as_str().unwrap(),
        enrolled["email"].as_str().unwrap(),
        enrolled["totp"].as_str().unwrap(),
        enrolled["fido2"].as_str().unwrap(),
    );
    // The authenticator app was made the default; the others keep their
    // activation order.
    assert_eq!(ids(&s["order"]), [totp, sms, email, fido2]);
    assert_eq!(ids(&s["devices"]), [totp, sms, email, fido2]);
    let types: Vec<&str> = s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["TOTP", "SMS", "EMAIL", "FIDO2"]);
    assert!(s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["status"] == "ACTIVE"));
    assert_eq!(s["mfaEnabled"], true);
    let mfa = h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    assert_eq!(mfa["rawResponse"]["mfaEnabled"], true);
    assert!(log.iter().any(|l| l.contains("[browser]")), "{log:?}");
    assert!(log.iter().all(|l| !l.contains("FAILED")), "{log:?}");
}

#[tokio::test]
async fn sign_on() {
    let h = Harness::start().await;
    let (outcome, log, user) = run(&h, "sign-on").await;
    let s = &outcome.state;
    let devices = s["devices"].as_array().unwrap();
    assert_eq!(
        s["defaultDevice"], devices[0],
        "the first device is the default"
    );
    assert_eq!(s["firstError"], "INVALID_OTP");
    assert_eq!(s["default"]["status"], "COMPLETED");
    assert_eq!(s["default"]["authenticators"], json!(["sms"]));
    assert_eq!(s["selected"]["status"], "COMPLETED");
    assert_eq!(s["selected"]["deviceId"], devices[1]);
    assert_eq!(s["selected"]["authenticators"], json!(["email"]));
    assert_eq!(s["offered"].as_array().unwrap().len(), 2);
    assert_eq!(s["userId"], user.as_str());
    // The mistyped OTP is logged as a refusal, the rest succeeded.
    assert_eq!(log.iter().filter(|l| l.contains("FAILED")).count(), 1);
    let read = h
        .ok(
            "readDeviceAuthentication",
            json!({ "deviceAuthenticationId": s["selected"]["id"] }),
        )
        .await;
    assert_eq!(read["rawResponse"]["status"], "COMPLETED");
}

#[tokio::test]
async fn one_time() {
    let h = Harness::start().await;
    let (outcome, log, _) = run(&h, "one-time").await;
    let s = &outcome.state;
    assert_eq!(s["sms"]["status"], "COMPLETED");
    assert_eq!(s["sms"]["authenticators"], json!(["sms"]));
    assert_eq!(s["email"]["status"], "COMPLETED");
    assert_eq!(s["email"]["authenticators"], json!(["email"]));
    assert_eq!(s["storedDevices"], 0, "one-time devices are not stored");
    assert!(
        log.iter().any(|l| l.contains("[inbox]")),
        "the email OTP came from the inbox: {log:?}"
    );
}

#[tokio::test]
async fn passwordless() {
    let h = Harness::start().await;
    let (outcome, _, user) = run(&h, "passwordless").await;
    let s = &outcome.state;
    let device = s["deviceId"].as_str().unwrap();
    assert_eq!(s["withUsername"]["status"], "COMPLETED");
    assert_eq!(s["withUsername"]["deviceId"], device);
    assert_eq!(s["usernameless"]["status"], "COMPLETED");
    assert_eq!(s["usernameless"]["userId"], user.as_str());
    assert_eq!(s["usernameless"]["deviceId"], device);
}

#[tokio::test]
async fn qr_code() {
    let h = Harness::start().await;
    let (outcome, _, user) = run(&h, "qr-code").await;
    let s = &outcome.state;
    assert_eq!(s["status"], "COMPLETED");
    assert_eq!(s["userId"], user.as_str());
    assert_eq!(s["claimedBy"], s["phoneId"]);
    assert_eq!(s["polled"], json!(["UNCLAIMED", "CLAIMED", "COMPLETED"]));
    let read = h
        .ok(
            "readAuthenticationCode",
            json!({ "authenticationCodeId": s["codeId"] }),
        )
        .await;
    assert_eq!(read["authenticationCode"]["status"], "COMPLETED");
}

/// All five in one emulator, in the order `connector-host demo` runs them
/// (users are shared between flows there).
#[tokio::test]
async fn every_flow_in_one_environment() {
    let h = Harness::start().await;
    for (flow, _) in demo::FLOWS {
        run(&h, flow).await;
    }
    let mut log = |_: &str| {};
    let mut ctx = FlowContext {
        runtime: &h.runtime,
        tenant: &h.tenant,
        emulator: &h.emulator,
        user_id: h.user(),
        log: &mut log,
    };
    assert!(matches!(
        demo::run("no-such-flow", &mut ctx).await,
        Err(connector_runtime::Error::UnknownCapability { .. })
    ));
}
