//! PingOne - Sign on and MFA (with the MFA Authentication sub-flow) and Sign on and Adaptive MFA.

use connector_flows::FlowRun;
use contract_tests::Harness;
use pingone_emulator::authenticator::SoftAuthenticator;
use serde_json::{json, Value};

use crate::run_flow;

/// How many times the run passed node `node` of flow `flow`.
fn visits(run: &FlowRun, flow: &str, node: &str) -> usize {
    run.steps
        .iter()
        .filter(|s| s.flow_id == flow && s.node_id == node)
        .count()
}

/// The run's steps that invoked `capability` (`pingone-mfa/<capability>`).
fn calls(run: &FlowRun, capability: &str) -> usize {
    let name = format!("pingone-mfa/{capability}");
    run.steps
        .iter()
        .filter(|s| s.capability.as_deref() == Some(name.as_str()))
        .count()
}

fn assert_completed(run: &FlowRun, log: &[String], device: &str) {
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{}\n{log}", run.result);
    assert_eq!(run.result["deviceId"], device, "{}\n{log}", run.result);
}

#[tokio::test]
async fn mfa_authentication_default_sms_device_with_a_wrong_code_then_a_chosen_device() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    // An SMS device (its OTPs go to the outbox) is the default; a test-mode
    // email device comes second.
    let sms = h.active_sms(&user, "+15125550124").await;
    let email = h
        .test_mode_device(&user, "Email", "signon.user@example.com")
        .await;

    let (run, log) = run_flow(&h, "mfa-authentication", json!({ "userId": user }), |u| {
        u.mistyping("askOtp", 1)
    })
    .await;
    assert_completed(&run, &log, &sms);
    assert_eq!(run.result["deviceType"], "SMS");
    assert_eq!(run.result["authenticators"], json!(["sms"]));
    assert_eq!(
        visits(&run, "mfa-authentication", "askOtp"),
        2,
        "asked again after the wrong code:\n{}",
        log.join("\n")
    );
    assert_eq!(calls(&run, "validateOtpDeviceAuthentication"), 2);
    assert_eq!(visits(&run, "mfa-authentication", "chooseDevice"), 0);

    // The device given in the input instead of the default one (test mode:
    // the OTP comes back in the authentication's test.otp).
    let (run, log) = run_flow(
        &h,
        "mfa-authentication",
        json!({ "userId": user, "deviceId": email }),
        |u| u,
    )
    .await;
    assert_completed(&run, &log, &email);
    assert_eq!(run.result["deviceType"], "EMAIL");
    assert_eq!(run.result["authenticators"], json!(["email"]));
}

#[tokio::test]
async fn mfa_authentication_several_devices_without_an_order_the_user_chooses() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    let sms = h.test_mode_device(&user, "SMS", "+15125550124").await;
    let (totp, _) = h.active_totp(&user).await;
    h.remove_device_order(&user);

    let (run, log) = run_flow(&h, "mfa-authentication", json!({ "userId": user }), |u| {
        u.picking("chooseDevice", json!({ "id": totp }))
    })
    .await;
    assert_completed(&run, &log, &totp);
    assert_eq!(run.result["deviceType"], "TOTP");
    assert_eq!(run.result["authenticators"], json!(["otp"]));
    // The choice offered both devices.
    let chosen = run
        .steps
        .iter()
        .find(|s| s.node_id == "chooseDevice")
        .expect("a device choice");
    let offered: Vec<&Value> = chosen.input["choices"]
        .as_array()
        .expect("choices")
        .iter()
        .map(|d| &d["id"])
        .collect();
    assert_eq!(offered, [&json!(sms), &json!(totp)], "{}", log.join("\n"));
    assert_eq!(calls(&run, "deviceSelectDeviceAuthentication"), 1);

    // Without a pick the user takes the first device offered.
    let (run, log) = run_flow(&h, "mfa-authentication", json!({ "userId": user }), |u| u).await;
    assert_completed(&run, &log, &sms);
}

#[tokio::test]
async fn mfa_authentication_fido2_assertion_and_push_approval() {
    let h = Harness::start().await;
    let user = h.user_n(3);
    let mut key = SoftAuthenticator::new(11);
    let fido2 = h.active_fido2(&user, &mut key).await;
    let mobile = h.mobile_device(&user).await;

    let (run, log) = run_flow(
        &h,
        "mfa-authentication",
        json!({ "userId": user, "deviceId": fido2 }),
        |u| u.with_authenticator(key.clone()),
    )
    .await;
    assert_completed(&run, &log, &fido2);
    assert_eq!(run.result["authenticators"], json!(["fido"]));
    assert_eq!(calls(&run, "validateAssertionDeviceAuthentication"), 1);

    let (run, log) = run_flow(
        &h,
        "mfa-authentication",
        json!({ "userId": user, "deviceId": mobile }),
        |u| u,
    )
    .await;
    assert_completed(&run, &log, &mobile);
    assert_eq!(run.result["authenticators"], json!(["push"]));
    assert_eq!(visits(&run, "mfa-authentication", "askPush"), 1);
}

#[tokio::test]
async fn mfa_authentication_fails_for_a_user_without_a_usable_device() {
    let h = Harness::start().await;
    let (run, log) = run_flow(
        &h,
        "mfa-authentication",
        json!({ "userId": h.user_n(4) }),
        |u| u,
    )
    .await;
    assert_eq!(run.result["status"], "FAILED", "{}", log.join("\n"));
    assert_eq!(
        run.result["error"]["code"], "NO_USABLE_DEVICES",
        "{}",
        run.result
    );
}

#[tokio::test]
async fn sign_on_and_mfa_with_an_existing_device() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    let sms = h.active_sms(&user, "+15125550124").await;
    let (run, log) = run_flow(&h, "sign-on-and-mfa", json!({ "userId": user }), |u| {
        u.mistyping("askOtp", 1)
    })
    .await;
    assert_completed(&run, &log, &sms);
    assert_eq!(run.result["userId"], json!(user));
    assert_eq!(run.result["registered"], false);
    assert_eq!(run.result["mfaEnabled"], false);
    assert_eq!(visits(&run, "device-registration", "create"), 0);
    assert_eq!(visits(&run, "mfa-authentication", "askOtp"), 2);
}

#[tokio::test]
async fn sign_on_and_mfa_registers_a_device_first_when_there_is_none() {
    let h = Harness::start().await;
    // SMS: the phone number is asked for; the pairing OTP and then the
    // sign-on OTP go to it.
    let user = h.user_n(2);
    let (run, log) = run_flow(&h, "sign-on-and-mfa", json!({ "userId": user }), |u| {
        u.picking("chooseType", json!("SMS"))
            .with_input("phone", json!("+15125550188"))
    })
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{}\n{log}", run.result);
    assert_eq!(run.result["registered"], true);
    assert_eq!(run.result["mfaEnabled"], true);
    assert_eq!(run.result["deviceType"], "SMS");
    let registered = run
        .steps
        .iter()
        .find(|s| s.node_id == "registerPhone")
        .expect("the registration sub-flow ran");
    assert_eq!(registered.output["status"], "ACTIVE", "{log}");
    assert_eq!(run.result["deviceId"], registered.output["deviceId"]);
    let to_phone = h
        .emulator
        .outbox()
        .into_iter()
        .filter(|m| m.to == "+15125550188")
        .count();
    assert_eq!(to_phone, 2, "the pairing OTP and the sign-on OTP:\n{log}");
    let mfa = h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    assert_eq!(mfa["mfaEnabled"], true);

    // FIDO2: the security key registers, then signs the sign-on's challenge.
    let user = h.user_n(3);
    let (run, log) = run_flow(&h, "sign-on-and-mfa", json!({ "userId": user }), |u| {
        u.picking("chooseType", json!("FIDO2"))
    })
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{}\n{log}", run.result);
    assert_eq!(run.result["registered"], true);
    assert_eq!(run.result["deviceType"], "FIDO2");
    assert_eq!(
        calls(&run, "validateAssertionDeviceAuthentication"),
        1,
        "{log}"
    );
}

#[tokio::test]
async fn adaptive_mfa_low_risk_skips_mfa_medium_uses_the_default_device() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    let sms = h.active_sms(&user, "+15125550124").await;

    let (run, log) = run_flow(
        &h,
        "sign-on-and-adaptive-mfa",
        json!({ "userId": user, "risk": "LOW" }),
        |u| u,
    )
    .await;
    assert_eq!(run.result["status"], "COMPLETED", "{}", log.join("\n"));
    assert_eq!(run.result["mfa"], "SKIPPED");
    assert_eq!(calls(&run, "createDeviceAuthentication"), 0);
    assert!(h.emulator.outbox().is_empty(), "no OTP was sent");

    let (run, log) = run_flow(
        &h,
        "sign-on-and-adaptive-mfa",
        json!({ "userId": user, "risk": "MEDIUM" }),
        |u| u,
    )
    .await;
    assert_completed(&run, &log, &sms);
    assert_eq!(run.result["mfa"], "REQUIRED");
    assert_eq!(run.result["deviceType"], "SMS");
}

#[tokio::test]
async fn adaptive_mfa_high_risk_requires_a_strong_device() {
    let h = Harness::start().await;
    // SMS is the default, but high risk takes the authenticator app.
    let user = h.user_n(1);
    let _sms = h.active_sms(&user, "+15125550124").await;
    let (totp, _) = h.active_totp(&user).await;
    let (run, log) = run_flow(
        &h,
        "sign-on-and-adaptive-mfa",
        json!({ "userId": user, "risk": "HIGH" }),
        |u| u,
    )
    .await;
    assert_completed(&run, &log, &totp);
    assert_eq!(run.result["deviceType"], "TOTP");
    assert_eq!(run.result["registered"], false);

    // Only an SMS device: a FIDO2 key is registered first, then used.
    let user = h.user_n(2);
    let _sms = h.active_sms(&user, "+15125550125").await;
    let (run, log) = run_flow(
        &h,
        "sign-on-and-adaptive-mfa",
        json!({ "userId": user, "risk": "HIGH" }),
        |u| u.picking("chooseStrongType", json!("FIDO2")),
    )
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{}\n{log}", run.result);
    assert_eq!(run.result["registered"], true);
    assert_eq!(run.result["deviceType"], "FIDO2");
    let registered = run
        .steps
        .iter()
        .find(|s| s.node_id == "registerStrong")
        .expect("the registration sub-flow ran");
    assert_eq!(
        run.result["deviceId"], registered.output["deviceId"],
        "{log}"
    );

    // No device at all, high risk: the authenticator app is registered.
    let user = h.user_n(3);
    let (run, log) = run_flow(
        &h,
        "sign-on-and-adaptive-mfa",
        json!({ "userId": user, "risk": "HIGH" }),
        |u| u.picking("chooseStrongType", json!("TOTP")),
    )
    .await;
    assert_eq!(
        run.result["status"],
        "COMPLETED",
        "{}\n{}",
        run.result,
        log.join("\n")
    );
    assert_eq!(run.result["deviceType"], "TOTP");
    assert_eq!(run.result["mfaEnabled"], true);
}
