//! Contract tests of the device-management capabilities: for each, a happy
//! path through emulator -> host -> component -> host, a schema-invalid
//! input rejected before the guest runs (with the JSON pointer of the bad
//! field), and a PingOne error surfaced with status, code and message.

use contract_tests::{assert_api_error, assert_invalid_input, Harness};
use serde_json::{json, Value};

const TOO_LONG: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

fn envelope_ok(out: &Value, status: u64) {
    assert_eq!(out["statusCode"], status, "{out}");
    assert!(out["headers"].is_object(), "{out}");
    assert!(
        out["headers"]["content-type"].is_string() || status == 204,
        "{out}"
    );
    assert!(out["rawResponse"].is_object(), "{out}");
}

#[tokio::test]
async fn read_device() {
    let h = Harness::start().await;
    let user = h.user();
    let id = h.active_sms(&user, "+15125550111").await;
    let out = h
        .ok("readDevice", json!({ "userId": user, "deviceId": id }))
        .await;
    envelope_ok(&out, 200);
    assert_eq!(out["device"]["id"], id.as_str());
    assert_eq!(out["device"]["phone"], "+15125550111");
    assert_eq!(out["rawResponse"]["status"], "ACTIVE");

    assert_eq!(TOO_LONG.len(), 101);
    assert_invalid_input(
        h.call("readDevice", json!({ "userId": TOO_LONG, "deviceId": id }))
            .await,
        "readDevice",
        "/userId",
    );
    assert_invalid_input(
        h.call("readDevice", json!({ "userId": user })).await,
        "readDevice",
        "/deviceId",
    );
    assert_api_error(
        h.call(
            "readDevice",
            json!({ "userId": user, "deviceId": "no-such-device" }),
        )
        .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn read_all_devices_with_filters() {
    let h = Harness::start().await;
    let user = h.user();
    let sms = h.active_sms(&user, "+15125550112").await;
    let (pending, _) = h.pending_sms(&user).await;
    h.ok("createDevice", json!({ "userId": user, "deviceType": "Email", "status": "ACTIVE", "email": "alice@example.com" })).await;

    let all = h.ok("readAllDevices", json!({ "userId": user })).await;
    envelope_ok(&all, 200);
    assert_eq!(all["devices"].as_array().unwrap().len(), 3);
    assert_eq!(
        all["order"][0]["id"],
        sms.as_str(),
        "first activated device is the default"
    );
    assert_eq!(all["mfaSettings"]["pairing"]["maxAllowedDevices"], 5);
    assert_eq!(
        all["mfaPolicy"]["authentication"]["deviceSelection"],
        "DEFAULT_TO_FIRST"
    );
    assert!(all["allowedtypes"]
        .as_array()
        .unwrap()
        .contains(&json!("SMS")));

    let active = h
        .ok(
            "readAllDevices",
            json!({ "userId": user, "setFilterFlag": true, "statusFilter": "active" }),
        )
        .await;
    assert_eq!(active["devices"].as_array().unwrap().len(), 2);
    let pending_only = h
        .ok(
            "readAllDevices",
            json!({ "userId": user, "setFilterFlag": true, "statusFilter": "ACTIVATION REQUIRED" }),
        )
        .await;
    assert_eq!(pending_only["devices"][0]["id"], pending.as_str());
    let emails = h
        .ok(
            "readAllDevices",
            json!({ "userId": user, "setFilterFlag": true, "deviceTypes": ["Email"] }),
        )
        .await;
    assert_eq!(emails["devices"].as_array().unwrap().len(), 1);
    assert_eq!(emails["devices"][0]["type"], "EMAIL");
    // The filter is off unless the flag is set.
    let unfiltered = h
        .ok(
            "readAllDevices",
            json!({ "userId": user, "deviceTypes": ["Email"] }),
        )
        .await;
    assert_eq!(unfiltered["devices"].as_array().unwrap().len(), 3);

    assert_invalid_input(
        h.call(
            "readAllDevices",
            json!({ "userId": user, "deviceTypes": ["SMS", "SMS"] }),
        )
        .await,
        "readAllDevices",
        "/deviceTypes",
    );
    assert_invalid_input(
        h.call(
            "readAllDevices",
            json!({ "userId": user, "statusFilter": "LOCKED" }),
        )
        .await,
        "readAllDevices",
        "/statusFilter",
    );
    assert_api_error(
        h.call("readAllDevices", json!({ "userId": "no-such-user" }))
            .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn create_device_of_every_seed_type() {
    let h = Harness::start().await;
    let user = h.user();
    let cases = [
        json!({ "deviceType": "Email", "status": "ACTIVE", "email": "alice@example.com" }),
        json!({ "deviceType": "SMS", "status": "ACTIVE", "phone": "+15125550113" }),
        json!({ "deviceType": "Voice", "status": "ACTIVE", "phone": "+15125550114", "extension": "1,#2" }),
        json!({ "deviceType": "Authenticator App", "status": "ACTIVATION REQUIRED" }),
        json!({ "deviceType": "Fido2 Biometrics", "status": "ACTIVATION_REQUIRED", "rpId": "localhost", "rpName": "Demo" }),
    ];
    let mut ids = Vec::new();
    for case in cases {
        let mut input = case.clone();
        input["userId"] = json!(user);
        let out = h.ok("createDevice", input).await;
        envelope_ok(&out, 201);
        assert!(out["device"]["id"].is_string(), "{out}");
        ids.push(out["device"]["type"].as_str().unwrap().to_owned());
        match out["device"]["type"].as_str().unwrap() {
            "TOTP" => {
                assert!(out["device"]["secret"].is_string());
                assert!(out["device"]["keyUri"]
                    .as_str()
                    .unwrap()
                    .starts_with("otpauth://totp/"));
            }
            "FIDO2" => assert!(out["device"]["publicKeyCredentialCreationOptions"].is_string()),
            _ => {}
        }
    }
    assert_eq!(ids, ["EMAIL", "SMS", "VOICE", "TOTP", "FIDO2"]);

    // Security Key devices count against the same limit of five: use another user.
    let bob = h.user_n(1);
    let key = h
        .ok(
            "createDevice",
            json!({ "userId": bob, "deviceType": "Security Key", "status": "ACTIVATION_REQUIRED" }),
        )
        .await;
    assert_eq!(key["device"]["type"], "SECURITY_KEY");
    // A custom type typed by hand.
    let custom = h
        .ok(
            "createDevice",
            json!({ "userId": bob, "deviceType": "Enter Device Type", "customDeviceType": "email",
                    "status": "ACTIVE", "email": "bob@example.com" }),
        )
        .await;
    assert_eq!(custom["device"]["type"], "EMAIL");
    // Mobile devices are paired with pairing keys; PingOne refuses them here.
    assert_api_error(
        h.call(
            "createDevice",
            json!({ "userId": bob, "deviceType": "Mobile Applications", "status": "ACTIVE" }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
}

#[tokio::test]
async fn create_device_test_mode_and_notification() {
    let h = Harness::start().await;
    let user = h.user();
    let out = h
        .ok(
            "createDevice",
            json!({
                "userId": user, "deviceType": "SMS", "status": "ACTIVATION REQUIRED", "phone": "+15125550115",
                "nickname": "Work phone", "createDeviceTestMode": "TRUE",
                "notificationPolicyId": "Enter Notification Policy ID", "customNotificationPolicyId": { "value": "np-1" },
                "templateVariant": "variant_B", "templateLocale": "en",
                "templateVariables": [ { "name": "sum", "value": "1,000" } ],
            }),
        )
        .await;
    let otp = out["rawResponse"]["test"]["otp"]
        .as_str()
        .expect("test-mode OTP");
    assert_eq!(otp.len(), 6);
    assert!(
        out["device"].get("test").is_none(),
        "the device view has no test data"
    );
    assert_eq!(out["device"]["nickname"], "Work phone");
    assert_eq!(out["device"]["status"], "ACTIVATION_REQUIRED");
    // Not in test mode: no OTP in the response; it went to the outbox.
    let quiet = h
        .ok("createDevice", json!({ "userId": user, "deviceType": "sms", "status": "activation_required", "phone": "+15125550116", "createDeviceTestMode": "false" }))
        .await;
    assert!(quiet["rawResponse"].get("test").is_none());
    assert!(h
        .emulator
        .outbox()
        .iter()
        .any(|m| m.device_id == quiet["device"]["id"].as_str().unwrap()));

    assert_invalid_input(
        h.call("createDevice", json!({ "userId": user, "deviceType": "SMS", "status": "PAUSED", "phone": "+15125550117" })).await,
        "createDevice",
        "/status",
    );
    assert_invalid_input(
        h.call(
            "createDevice",
            json!({ "userId": user, "deviceType": "Carrier pigeon", "status": "ACTIVE" }),
        )
        .await,
        "createDevice",
        "/deviceType",
    );
    assert_invalid_input(
        h.call("createDevice", json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVE", "phone": "+15125550117", "createDeviceTestMode": "maybe" })).await,
        "createDevice",
        "/createDeviceTestMode",
    );
    // Semantic check inside the connector: SMS needs a phone.
    assert_invalid_input(
        h.call(
            "createDevice",
            json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVE" }),
        )
        .await,
        "createDevice",
        "/phone",
    );
    let details = assert_api_error(
        h.call(
            "createDevice",
            json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVE", "phone": "12" }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].target.as_deref(), Some("phone"));
}

#[tokio::test]
async fn max_devices_limit_keeps_inner_error() {
    let h = Harness::start().await;
    let user = h.user();
    for i in 0..5 {
        h.active_sms(&user, &format!("+1512555020{i}")).await;
    }
    let details = assert_api_error(
        h.call("createDevice", json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVE", "phone": "+15125550299" })).await,
        400,
        "REQUEST_FAILED",
    );
    assert_eq!(details[0].code, "LIMIT_EXCEEDED");
    assert_eq!(
        details[0].inner_error.as_ref().unwrap()["maximumAllowed"],
        5
    );
}

#[tokio::test]
async fn activate_device() {
    let h = Harness::start().await;
    let user = h.user();
    let (id, otp) = h.pending_sms(&user).await;
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let details = assert_api_error(
        h.call(
            "activateDevice",
            json!({ "userId": user, "deviceId": id, "otp": wrong }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].code, "INVALID_OTP");
    let out = h
        .ok(
            "activateDevice",
            json!({ "userId": user, "deviceId": id, "otp": otp }),
        )
        .await;
    envelope_ok(&out, 200);
    assert_eq!(out["device"]["status"], "ACTIVE");

    assert_invalid_input(
        h.call("activateDevice", json!({ "userId": user, "otp": otp }))
            .await,
        "activateDevice",
        "/deviceId",
    );
    assert_invalid_input(
        h.call("activateDevice", json!({ "userId": user, "deviceId": id }))
            .await,
        "activateDevice",
        "/otp",
    );
    assert_invalid_input(
        h.call(
            "activateDevice",
            json!({ "userId": user, "deviceId": id, "attestation": "{}" }),
        )
        .await,
        "activateDevice",
        "/origin",
    );
    assert_api_error(
        h.call(
            "activateDevice",
            json!({ "userId": user, "deviceId": id, "otp": otp }),
        )
        .await,
        400,
        "REQUEST_FAILED",
    );
}

#[tokio::test]
async fn delete_device_promotes_the_next_default() {
    let h = Harness::start().await;
    let user = h.user();
    let first = h.active_sms(&user, "+15125550121").await;
    let second = h.active_sms(&user, "+15125550122").await;
    let out = h
        .ok("deleteDevice", json!({ "userId": user, "deviceId": first }))
        .await;
    assert_eq!(out["statusCode"], 204);
    assert_eq!(out["rawResponse"], json!({}));
    let all = h.ok("readAllDevices", json!({ "userId": user })).await;
    assert_eq!(all["order"][0]["id"], second.as_str());

    assert_invalid_input(
        h.call("deleteDevice", json!({ "userId": user, "deviceId": 7 }))
            .await,
        "deleteDevice",
        "/deviceId",
    );
    assert_api_error(
        h.call("deleteDevice", json!({ "userId": user, "deviceId": first }))
            .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn resend_otp_for_pairing() {
    let h = Harness::start().await;
    let user = h.user();
    let (id, first_otp) = h.pending_sms(&user).await;
    let out = h
        .ok(
            "resendOTPForPairing",
            json!({ "userId": user, "deviceId": id }),
        )
        .await;
    envelope_ok(&out, 200);
    let fresh = out["rawResponse"]["test"]["otp"]
        .as_str()
        .expect("a fresh test OTP")
        .to_owned();
    assert_eq!(fresh.len(), 6);
    let _ = first_otp;
    h.ok(
        "activateDevice",
        json!({ "userId": user, "deviceId": id, "otp": fresh }),
    )
    .await;

    assert_invalid_input(
        h.call("resendOTPForPairing", json!({ "deviceId": id }))
            .await,
        "resendOTPForPairing",
        "/userId",
    );
    // An ACTIVE device has nothing to pair.
    assert_api_error(
        h.call(
            "resendOTPForPairing",
            json!({ "userId": user, "deviceId": id }),
        )
        .await,
        400,
        "REQUEST_FAILED",
    );
}

#[tokio::test]
async fn update_device_nickname() {
    let h = Harness::start().await;
    let user = h.user();
    let id = h.active_sms(&user, "+15125550131").await;
    let out = h
        .ok(
            "updateDeviceNickname",
            json!({ "userId": user, "deviceId": id, "nickname": "Desk phone" }),
        )
        .await;
    envelope_ok(&out, 200);
    assert_eq!(out["nickname"], "Desk phone");
    let read = h
        .ok("readDevice", json!({ "userId": user, "deviceId": id }))
        .await;
    assert_eq!(read["device"]["nickname"], "Desk phone");

    assert_invalid_input(
        h.call(
            "updateDeviceNickname",
            json!({ "userId": user, "deviceId": id }),
        )
        .await,
        "updateDeviceNickname",
        "/nickname",
    );
    let details = assert_api_error(
        h.call(
            "updateDeviceNickname",
            json!({ "userId": user, "deviceId": id, "nickname": TOO_LONG }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].target.as_deref(), Some("nickname"));
}

#[tokio::test]
async fn set_device_order_three_ways() {
    let h = Harness::start().await;
    let user = h.user();
    let a = h.active_sms(&user, "+15125550141").await;
    let b = h.active_sms(&user, "+15125550142").await;
    let c = h.active_sms(&user, "+15125550143").await;
    let order = |out: &Value| -> Vec<String> {
        out["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let out = h
        .ok(
            "setDeviceOrder",
            json!({ "userId": user, "setDeviceOrder": "Set default device", "defaultDeviceId": c }),
        )
        .await;
    envelope_ok(&out, 200);
    assert_eq!(order(&out), [c.clone(), a.clone(), b.clone()]);
    assert_eq!(out["devices"][0]["id"], c.as_str());

    let out = h
        .ok("setDeviceOrder", json!({ "userId": user, "setDeviceOrder": "Set device order", "deviceOrderList": [ { "id": b }, { "id": a }, { "id": c } ] }))
        .await;
    assert_eq!(order(&out), [b.clone(), a.clone(), c.clone()]);

    let text = json!({ "order": [ { "id": a }, { "id": c }, { "id": b } ] }).to_string();
    let out = h
        .ok(
            "setDeviceOrder",
            json!({ "userId": user, "useDeviceOrderJsonAttributes": true, "jsonAttributes": text }),
        )
        .await;
    assert_eq!(order(&out), [a.clone(), c.clone(), b.clone()]);
    let object = json!({ "order": [ { "id": c }, { "id": b }, { "id": a } ] });
    let out = h
        .ok("setDeviceOrder", json!({ "userId": user, "useDeviceOrderJsonAttributes": true, "jsonAttributes": object }))
        .await;
    assert_eq!(order(&out), [c.clone(), b.clone(), a.clone()]);

    assert_invalid_input(
        h.call(
            "setDeviceOrder",
            json!({ "userId": user, "setDeviceOrder": "Shuffle" }),
        )
        .await,
        "setDeviceOrder",
        "/setDeviceOrder",
    );
    assert_invalid_input(
        h.call("setDeviceOrder", json!({ "userId": user, "useDeviceOrderJsonAttributes": true, "jsonAttributes": "{\"order\": [{}]}" })).await,
        "setDeviceOrder",
        "/jsonAttributes/order/0/id",
    );
    let details = assert_api_error(
        h.call("setDeviceOrder", json!({ "userId": user, "setDeviceOrder": "Set device order", "deviceOrderList": [ { "id": "no-such-device" } ] })).await,
        400,
        "INVALID_DATA",
    );
    assert!(details[0]
        .target
        .as_deref()
        .unwrap_or_default()
        .starts_with("order"));
}
