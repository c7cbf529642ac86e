//! Usernameless sign-on with biometrics, Passwordless authentication, Passwordless sign-on with biometrics, QR code passwordless sign-on.
//!
//! A FIDO2 device that must exist before a run is registered with the
//! harness (`active_fido2`) on a `SoftAuthenticator` of the test's own,
//! which the end user then holds (`EmulatorUser::with_authenticator`).

use connector_flows::FlowRun;
use contract_tests::{id_at, Harness};
use pingone_emulator::authenticator::SoftAuthenticator;
use serde_json::{json, Value};

use crate::run_flow;

/// The nodes of the run's top flow, in order.
fn path(run: &FlowRun) -> Vec<&str> {
    run.steps
        .iter()
        .filter(|s| s.depth == 0)
        .map(|s| s.node_id.as_str())
        .collect()
}

/// A FIDO2 device of RP example.com for `user`, on a key the test keeps.
async fn enrolled_key(h: &Harness, user: &str) -> (String, SoftAuthenticator) {
    let mut key = SoftAuthenticator::new(11);
    let device = h.active_fido2(user, &mut key).await;
    (device, key)
}

/// The user's active devices of `device_type`.
async fn devices(h: &Harness, user: &str, device_type: &str) -> Vec<Value> {
    let out = h
        .ok(
            "readAllDevices",
            json!({ "userId": user, "setFilterFlag": true, "deviceTypes": [device_type], "statusFilter": "ACTIVE" }),
        )
        .await;
    out["devices"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn usernameless_sign_on_names_the_user_of_the_credential() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    let (device, key) = enrolled_key(&h, &user).await;
    let (run, log) = run_flow(&h, "usernameless-sign-on-with-biometrics", json!({}), |u| {
        u.with_authenticator(key)
    })
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{log}");
    assert_eq!(run.result["userId"], user.as_str(), "{log}");
    assert_eq!(run.result["deviceId"], device.as_str(), "{log}");
    assert_eq!(
        path(&run),
        ["start", "askKey", "check", "signedOn"],
        "{log}"
    );
    // No username went in: the authentication was started without one.
    assert_eq!(run.steps[0].input["usernameLess"], true);
    assert_eq!(
        run.steps[0].output["rawResponse"]["status"], "ASSERTION_REQUIRED",
        "{log}"
    );
}

#[tokio::test]
async fn passwordless_authentication_without_a_key_verifies_then_registers_one() {
    let h = Harness::start().await;
    let user = h.user_n(2);
    assert!(devices(&h, &user, "FIDO2").await.is_empty());
    let (run, log) = run_flow(
        &h,
        "passwordless-authentication",
        json!({ "userId": user, "deviceType": "SMS", "phone": "+15125550142" }),
        |u| u,
    )
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{log}");
    assert_eq!(run.result["method"], "ONE_TIME_DEVICE", "{log}");
    assert_eq!(run.result["userId"], user.as_str(), "{log}");
    assert_eq!(run.result["registeredDeviceStatus"], "ACTIVE", "{log}");
    assert_eq!(
        path(&run),
        [
            "findKeys",
            "hasKey",
            "howToVerify",
            "verifyByPhone",
            "phoneVerified",
            "register",
            "askNewKey",
            "activate",
            "registered"
        ],
        "{log}"
    );
    // The one-time sub-flow ran inside (its OTP read from the SMS outbox).
    let sub = run
        .steps
        .iter()
        .find(|s| s.node_id == "verifyByPhone")
        .unwrap();
    assert_eq!(sub.output["status"], "COMPLETED", "{log}");
    assert!(
        run.steps
            .iter()
            .any(|s| s.depth == 1 && s.node_id == "check"),
        "{log}"
    );
    // The registered key is the user's active FIDO2 device now.
    let keys = devices(&h, &user, "FIDO2").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["id"], run.result["registeredDeviceId"], "{log}");

    // No key and no one-time device: nothing to verify with.
    let other = h.user_n(3);
    let (run, log) = run_flow(
        &h,
        "passwordless-authentication",
        json!({ "userId": other }),
        |u| u,
    )
    .await;
    assert_eq!(run.result["status"], "FAILED", "{}", log.join("\n"));
    assert_eq!(path(&run).last(), Some(&"noOneTimeDevice"));
}

#[tokio::test]
async fn passwordless_authentication_with_a_key_signs_on_with_it() {
    let h = Harness::start().await;
    let user = h.user_n(0);
    h.active_sms(&user, "+15125550143").await; // another device: the key is still picked
    let (device, key) = enrolled_key(&h, &user).await;
    let sent = h.emulator.outbox().len();
    let (run, log) = run_flow(
        &h,
        "passwordless-authentication",
        json!({ "userId": user }),
        |u| u.with_authenticator(key),
    )
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{log}");
    assert_eq!(run.result["method"], "FIDO2", "{log}");
    assert_eq!(run.result["userId"], user.as_str(), "{log}");
    assert_eq!(run.result["deviceId"], device.as_str(), "{log}");
    assert_eq!(
        path(&run),
        [
            "findKeys",
            "hasKey",
            "startFido2",
            "askKey",
            "checkKey",
            "signedOn"
        ],
        "{log}"
    );
    assert_eq!(h.emulator.outbox().len(), sent, "no OTP was sent:\n{log}");
}

#[tokio::test]
async fn passwordless_sign_on_with_biometrics_or_the_password() {
    let h = Harness::start().await;
    let user = h.user_n(4);
    let (device, key) = enrolled_key(&h, &user).await;

    // Biometrics (the first choice).
    let (run, log) = run_flow(
        &h,
        "passwordless-sign-on-with-biometrics",
        json!({ "userId": user }),
        |u| u.with_authenticator(key),
    )
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{log}");
    assert_eq!(run.result["method"], "BIOMETRICS", "{log}");
    assert_eq!(run.result["userId"], user.as_str(), "{log}");
    assert_eq!(run.result["deviceId"], device.as_str(), "{log}");
    assert!(path(&run).contains(&"checkKey"), "{log}");

    // The password: asked for, not checked (the stated gap).
    let (run, log) = run_flow(
        &h,
        "passwordless-sign-on-with-biometrics",
        json!({ "userId": user }),
        |u| {
            u.picking("chooseMethod", json!("Password"))
                .with_input("password", json!("correct horse"))
        },
    )
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "PASSWORD_NOT_CHECKED", "{log}");
    assert_eq!(run.result["userId"], user.as_str(), "{log}");
    assert_eq!(
        path(&run),
        [
            "chooseMethod",
            "whichMethod",
            "askPassword",
            "passwordNotChecked"
        ],
        "{log}"
    );
    assert!(
        !run.result.to_string().contains("correct horse"),
        "the password is not echoed"
    );

    // Biometrics without a FIDO2 device: the password is asked for instead.
    let other = h.user_n(1);
    let (run, log) = run_flow(
        &h,
        "passwordless-sign-on-with-biometrics",
        json!({ "userId": other }),
        |u| u.with_input("password", json!("x")),
    )
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "PASSWORD_NOT_CHECKED", "{log}");
    assert_eq!(
        path(&run),
        [
            "chooseMethod",
            "whichMethod",
            "findKeys",
            "hasKey",
            "askPassword",
            "passwordNotChecked"
        ],
        "{log}"
    );
}

#[tokio::test]
async fn qr_code_sign_on_pairs_the_phone_once_then_signs_on_by_scanning() {
    let h = Harness::start().await;
    let user = h.user_n(2);
    let app = h.emulator.seed().application_id.clone();
    let input = json!({ "userId": user, "applicationId": app });

    // First time: no phone yet, so the app is paired first.
    let (run, log) = run_flow(&h, "qr-code-passwordless-sign-on", input.clone(), |u| u).await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{log}");
    assert_eq!(run.result["userId"], user.as_str(), "{log}");
    let paired = run
        .steps
        .iter()
        .find(|s| s.node_id == "pairPhone")
        .expect("paired");
    let phone = id_at(&paired.output, "/deviceId");
    assert_eq!(run.result["deviceId"], phone.as_str(), "{log}");
    let status = |node: &str| -> Vec<Value> {
        run.steps
            .iter()
            .filter(|s| s.node_id == node)
            .map(|s| s.output["rawResponse"]["status"].clone())
            .collect()
    };
    assert_eq!(status("readKey"), [json!("CLAIMED")], "{log}");
    assert_eq!(status("pollShown"), [json!("UNCLAIMED")], "{log}");
    assert_eq!(status("poll").last(), Some(&json!("COMPLETED")), "{log}");
    let phones = devices(&h, &user, "MOBILE").await;
    assert_eq!(phones.len(), 1);
    assert_eq!(phones[0]["id"], phone.as_str());

    // Next time: the phone is paired, the QR code alone signs on.
    let (run, log) = run_flow(&h, "qr-code-passwordless-sign-on", input, |u| u).await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{log}");
    assert_eq!(run.result["userId"], user.as_str(), "{log}");
    assert_eq!(run.result["deviceId"], phone.as_str(), "{log}");
    assert!(!path(&run).contains(&"createKey"), "{log}");
    assert_eq!(devices(&h, &user, "MOBILE").await.len(), 1);
}
