//! PingOne - Registration and MFA Enrollment (with the Device Registration sub-flow) and Registration and MFA Auto-Enrollment.

use contract_tests::Harness;
use serde_json::{json, Value};

use crate::run_flow;

/// The user's active devices as PingOne lists them (in order, default first).
async fn active_devices(h: &Harness, user: &str) -> Vec<Value> {
    let listed = h
        .ok(
            "readAllDevices",
            json!({ "userId": user, "setFilterFlag": true, "statusFilter": "ACTIVE" }),
        )
        .await;
    listed["devices"].as_array().cloned().unwrap_or_default()
}

/// `(id, type)` of each device, in order.
fn ids_and_types(devices: &[Value]) -> Vec<(String, String)> {
    devices
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap_or_default().to_owned(),
                d["type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn mfa_enabled(h: &Harness, user: &str) -> Value {
    h.ok("readUserMFAEnabled", json!({ "userId": user })).await["mfaEnabled"].clone()
}

/// Runs Device Registration for `input`; checks the result against what
/// PingOne holds (the one device, ACTIVE, of `pingone_type`); returns the
/// run's steps' node ids and the log.
async fn register(
    h: &Harness,
    input: Value,
    pingone_type: &str,
    configure: impl FnOnce(
        connector_testkit::end_user::EmulatorUser<'_>,
    ) -> connector_testkit::end_user::EmulatorUser<'_>,
) -> (Vec<String>, String) {
    let user = input["userId"].as_str().unwrap().to_owned();
    let (run, log) = run_flow(h, "device-registration", input.clone(), configure).await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "ACTIVE", "{log}");
    assert_eq!(run.result["deviceType"], input["deviceType"], "{log}");
    let devices = active_devices(h, &user).await;
    assert_eq!(
        ids_and_types(&devices),
        [(
            run.result["deviceId"].as_str().unwrap().to_owned(),
            pingone_type.to_owned()
        )],
        "{log}"
    );
    let nodes = run.steps.iter().map(|s| s.node_id.clone()).collect();
    (nodes, log)
}

#[tokio::test]
async fn device_registration_sms_asks_again_after_wrong_codes() {
    let h = Harness::start().await;
    let input = json!({ "userId": h.user_n(0), "deviceType": "SMS", "phone": "+15125550140", "nickname": "Phone" });
    let (nodes, log) = register(&h, input, "SMS", |u| u.mistyping("askOtp", 2)).await;
    let asked = nodes.iter().filter(|n| *n == "askOtp").count();
    assert_eq!(asked, 3, "asked again after each wrong code:\n{log}");
    assert!(log.contains("[inbox] SMS to +15125550140"), "{log}");
    let devices = active_devices(&h, &h.user_n(0)).await;
    assert_eq!(devices[0]["nickname"], "Phone", "{log}");
}

#[tokio::test]
async fn device_registration_email_and_voice_read_the_code_where_it_was_sent() {
    let h = Harness::start().await;
    let input =
        json!({ "userId": h.user_n(1), "deviceType": "Email", "email": "bob.new@example.com" });
    let (_, log) = register(&h, input, "EMAIL", |u| u).await;
    assert!(
        log.contains("[inbox] EMAIL to bob.new@example.com"),
        "{log}"
    );

    let input = json!({ "userId": h.user_n(2), "deviceType": "Voice", "phone": "+15125550141" });
    register(&h, input, "VOICE", |u| u).await;
}

#[tokio::test]
async fn device_registration_totp_uses_the_created_secret() {
    let h = Harness::start().await;
    let input = json!({ "userId": h.user_n(3), "deviceType": "TOTP" });
    let (_, log) = register(&h, input, "TOTP", |u| u.mistyping("askOtp", 1)).await;
    assert!(log.contains("the authenticator app shows"), "{log}");
}

#[tokio::test]
async fn device_registration_fido2_registers_the_security_key() {
    let h = Harness::start().await;
    let input = json!({ "userId": h.user_n(4), "deviceType": "FIDO2", "nickname": "Key" });
    let (nodes, log) = register(&h, input, "FIDO2", |u| u).await;
    assert!(nodes.iter().any(|n| n == "askKey"), "{log}");
    assert!(log.contains("navigator.credentials.create"), "{log}");
}

#[tokio::test]
async fn device_registration_fails_when_the_attempts_are_used_up() {
    let h = Harness::start().await;
    let user = h.user_n(0);
    let (run, log) = run_flow(
        &h,
        "device-registration",
        json!({ "userId": user, "deviceType": "SMS", "phone": "+15125550142" }),
        |u| u.mistyping("askOtp", 5),
    )
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "FAILED", "{log}");
    assert!(run.result["deviceId"].is_string(), "{log}");
    assert!(active_devices(&h, &user).await.is_empty(), "{log}");
}

#[tokio::test]
async fn registration_and_mfa_enrollment_enrolls_the_chosen_devices_in_order() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    assert_eq!(mfa_enabled(&h, &user).await, json!(false));
    let (run, log) = run_flow(
        &h,
        "registration-mfa-enrollment",
        json!({ "userId": user, "phone": "+15125550150" }),
        |u| {
            // Email first: no address was registered, so it is asked again.
            u.picking_in_turn("chooseDevice", [json!("Email"), json!("SMS")])
                .picking_in_turn("chooseMore", [json!("TOTP"), json!("FIDO2"), json!("done")])
                .mistyping("askOtp", 1)
        },
    )
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{log}");
    assert_eq!(run.result["mfaEnabled"], true, "{log}");
    assert_eq!(mfa_enabled(&h, &user).await, json!(true), "{log}");
    let chosen = run
        .steps
        .iter()
        .filter(|s| s.node_id == "chooseDevice")
        .count();
    assert_eq!(chosen, 2, "Email without an address is refused:\n{log}");

    let devices = active_devices(&h, &user).await;
    let types: Vec<String> = ids_and_types(&devices)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(types, ["SMS", "TOTP", "FIDO2"], "{log}");
    assert_eq!(
        run.result["firstDevice"]["deviceId"], devices[0]["id"],
        "{log}"
    );
    let listed: Vec<Value> = run.result["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    let read: Vec<Value> = devices.iter().map(|d| d["id"].clone()).collect();
    assert_eq!(
        listed, read,
        "the result lists the devices in order:\n{log}"
    );
    assert!(devices.iter().all(|d| d["status"] == "ACTIVE"), "{log}");
}

#[tokio::test]
async fn registration_and_mfa_auto_enrollment_creates_active_devices_and_the_default() {
    let h = Harness::start().await;
    let user = h.user_n(2);
    let sent_before = h.emulator.outbox().len();
    let (run, log) = run_flow(
        &h,
        "registration-mfa-auto-enrollment",
        json!({ "userId": user, "devices": { "sms": "+15125550160", "email": "carol.new@example.com" },
                "defaultDevice": "email" }),
        |u| u,
    )
    .await;
    let log = log.join("\n");
    assert_eq!(run.result["status"], "COMPLETED", "{log}");
    assert!(
        run.steps.iter().all(|s| s.node_type != "WAIT"),
        "no user interaction:\n{log}"
    );
    assert_eq!(
        h.emulator.outbox().len(),
        sent_before,
        "nothing was sent:\n{log}"
    );
    assert_eq!(run.result["mfaEnabled"], true, "{log}");
    assert_eq!(mfa_enabled(&h, &user).await, json!(true), "{log}");

    let devices = active_devices(&h, &user).await;
    let types: Vec<String> = ids_and_types(&devices)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(
        types,
        ["EMAIL", "SMS"],
        "the email device is the default:\n{log}"
    );
    assert_eq!(run.result["defaultDeviceId"], devices[0]["id"], "{log}");
    assert_eq!(devices[1]["phone"], "+15125550160", "{log}");

    // Without a chosen default, the first selected (SMS) is the default.
    let user = h.user_n(3);
    let (run, log) = run_flow(
        &h,
        "registration-mfa-auto-enrollment",
        json!({ "userId": user, "devices": { "voice": "+15125550161", "sms": "+15125550162" } }),
        |u| u,
    )
    .await;
    let devices = active_devices(&h, &user).await;
    let types: Vec<String> = ids_and_types(&devices)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(types, ["SMS", "VOICE"], "{}", log.join("\n"));
    assert_eq!(run.result["defaultDeviceId"], devices[0]["id"]);
}
