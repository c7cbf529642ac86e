//! Contract tests of the PingID (workforce) variants: Create Device,
//! Create Device Authentication, Create Pairing Key and Read All Devices,
//! including the YubiKey device type.

use contract_tests::{assert_api_error, assert_invalid_input, id_at, Harness, ORIGIN, RP_ID};
use pingone_emulator::authenticator::{AttestationFormat, SoftAuthenticator};
use pingone_emulator::otp;
use serde_json::{json, Value};

const KEY: &str = "cccccbdefghi";
const OTHER_KEY: &str = "ccccclnrtuvv";

fn status(out: &Value) -> &str {
    out["rawResponse"]["status"].as_str().unwrap_or_default()
}

/// Creates a YUBIKEY device for `user` and activates it with the key's
/// first OTP; returns its ID.
async fn active_yubikey(h: &Harness, user: &str) -> String {
    let out = h
        .ok(
            "createDevicePingID",
            json!({ "userId": user, "workforceDeviceType": "YUBIKEY", "status": "ACTIVATION_REQUIRED",
                    "nickname": "Blue key" }),
        )
        .await;
    let id = id_at(&out, "/device/id");
    let active = h
        .ok(
            "activateDevice",
            json!({ "userId": user, "deviceId": id, "otp": otp::yubikey_otp(KEY, 1) }),
        )
        .await;
    assert_eq!(active["device"]["status"], "ACTIVE");
    id
}

#[tokio::test]
async fn create_device_ping_id_of_every_type() {
    let h = Harness::start().await;
    let alice = h.user();
    let bob = h.user_n(1);

    // SMS pairing: the OTP is texted (no test mode in the PingID variant).
    let sms = h
        .ok(
            "createDevicePingID",
            json!({ "userId": alice, "workforceDeviceType": "SMS", "status": "ACTIVATION REQUIRED",
                    "phone": "+15125550101", "nickname": "Work phone" }),
        )
        .await;
    assert_eq!(sms["statusCode"], 201);
    assert_eq!(sms["device"]["type"], "SMS");
    assert_eq!(sms["device"]["status"], "ACTIVATION_REQUIRED");
    assert!(sms["rawResponse"].get("test").is_none());
    let sms_id = id_at(&sms, "/device/id");
    let texted = h
        .emulator
        .outbox()
        .into_iter()
        .find(|m| m.device_id == sms_id)
        .expect("the pairing OTP was texted");
    assert_eq!(texted.purpose, "PAIRING");
    let active = h
        .ok(
            "activateDevice",
            json!({ "userId": alice, "deviceId": sms_id, "otp": texted.otp }),
        )
        .await;
    assert_eq!(active["device"]["status"], "ACTIVE");

    let email = h
        .ok(
            "createDevicePingID",
            json!({ "userId": alice, "workforceDeviceType": "EMAIL", "status": "ACTIVE", "email": "alice@example.com" }),
        )
        .await;
    assert_eq!(email["device"]["status"], "ACTIVE");
    let voice = h
        .ok(
            "createDevicePingID",
            json!({ "userId": alice, "workforceDeviceType": "voice", "status": "ACTIVE", "phone": "+15125550111" }),
        )
        .await;
    assert_eq!(voice["device"]["type"], "VOICE");
    let totp = h
        .ok(
            "createDevicePingID",
            json!({ "userId": alice, "workforceDeviceType": "TOTP", "status": "ACTIVATION_REQUIRED" }),
        )
        .await;
    assert!(totp["device"]["keyUri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    let secret = otp::base32_decode(totp["device"]["secret"].as_str().unwrap()).unwrap();
    let active = h
        .ok(
            "activateDevice",
            json!({ "userId": alice, "deviceId": id_at(&totp, "/device/id"), "otp": h.totp_now(&secret) }),
        )
        .await;
    assert_eq!(active["device"]["status"], "ACTIVE");
    let yubikey = active_yubikey(&h, &alice).await;

    // FIDO types (on bob: five devices per user at most).
    for (kind, expected) in [
        ("FIDO2", "FIDO2"),
        ("SECURITY_KEY", "SECURITY_KEY"),
        ("PLATFORM", "PLATFORM"),
    ] {
        let out = h
            .ok(
                "createDevicePingID",
                json!({ "userId": bob, "workforceDeviceType": kind, "status": "ACTIVATION_REQUIRED",
                        "rpId": RP_ID, "rpName": "Example", "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)" }),
            )
            .await;
        assert_eq!(out["device"]["type"], expected);
        assert!(out["device"]["publicKeyCredentialCreationOptions"].is_string());
    }
    let fido = h
        .ok(
            "readAllDevicesPingID",
            json!({ "userId": bob, "setFilterFlag": true, "workforceDeviceTypes": ["FIDO2"] }),
        )
        .await;
    let options = fido["devices"][0]["publicKeyCredentialCreationOptions"]
        .as_str()
        .unwrap();
    let attestation = SoftAuthenticator::new(3)
        .create(options, ORIGIN, AttestationFormat::PackedSelf)
        .unwrap();
    let activated = h
        .ok(
            "activateDevice",
            json!({ "userId": bob, "deviceId": fido["devices"][0]["id"], "attestation": attestation, "origin": ORIGIN }),
        )
        .await;
    assert_eq!(activated["device"]["status"], "ACTIVE");

    let all = h
        .ok("readAllDevicesPingID", json!({ "userId": alice }))
        .await;
    let types: Vec<&str> = all["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["SMS", "EMAIL", "VOICE", "TOTP", "YUBIKEY"]);
    assert_eq!(all["order"][4]["id"], yubikey.as_str());

    assert_invalid_input(
        h.call(
            "createDevicePingID",
            json!({ "userId": alice, "workforceDeviceType": "MOBILE", "status": "ACTIVE" }),
        )
        .await,
        "createDevicePingID",
        "/workforceDeviceType",
    );
    assert_invalid_input(
        h.call(
            "createDevicePingID",
            json!({ "userId": alice, "workforceDeviceType": "SMS", "status": "PAUSED", "phone": "+15125550101" }),
        )
        .await,
        "createDevicePingID",
        "/status",
    );
    assert_invalid_input(
        h.call(
            "createDevicePingID",
            json!({ "userId": alice, "workforceDeviceType": "EMAIL", "status": "ACTIVE" }),
        )
        .await,
        "createDevicePingID",
        "/email",
    );
    assert_invalid_input(
        h.call(
            "createDevicePingID",
            json!({ "userId": alice, "status": "ACTIVE" }),
        )
        .await,
        "createDevicePingID",
        "/workforceDeviceType",
    );
    // A sixth device is over the limit.
    let details = assert_api_error(
        h.call(
            "createDevicePingID",
            json!({ "userId": alice, "workforceDeviceType": "EMAIL", "status": "ACTIVE", "email": "alice@example.com" }),
        )
        .await,
        400,
        "REQUEST_FAILED",
    );
    assert_eq!(details[0].code, "LIMIT_EXCEEDED");
    // A YubiKey cannot be created ACTIVE: it must type an OTP first.
    let details = assert_api_error(
        h.call(
            "createDevicePingID",
            json!({ "userId": h.user_n(2), "workforceDeviceType": "YubiKey", "status": "ACTIVE" }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].target.as_deref(), Some("status"));
    // OATH tokens need their serial number; the connector says so before
    // PingOne is asked, and creates them when it is given.
    assert_invalid_input(
        h.call(
            "createDevicePingID",
            json!({ "userId": h.user_n(2), "workforceDeviceType": "OATH_TOKEN", "status": "ACTIVE" }),
        )
        .await,
        "createDevicePingID",
        "/serialNumber",
    );
    let oath = h
        .ok(
            "createDevicePingID",
            json!({ "userId": h.user_n(2), "workforceDeviceType": "OATH_TOKEN", "status": "ACTIVE", "serialNumber": "OATH-0001" }),
        )
        .await;
    assert_eq!(oath["device"]["type"], "OATH_TOKEN");
}

#[tokio::test]
async fn yubikey_activation_rules() {
    let h = Harness::start().await;
    let user = h.user_n(2);
    let out = h
        .ok(
            "createDevicePingID",
            json!({ "userId": user, "workforceDeviceType": "YUBIKEY", "status": "ACTIVATION_REQUIRED" }),
        )
        .await;
    assert_eq!(out["device"]["status"], "ACTIVATION_REQUIRED");
    let id = id_at(&out, "/device/id");
    // A 6-digit code is not a YubiKey OTP.
    let details = assert_api_error(
        h.call(
            "activateDevice",
            json!({ "userId": user, "deviceId": id, "otp": "123456" }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].code, "INVALID_OTP");
    let active = h
        .ok(
            "activateDevice",
            json!({ "userId": user, "deviceId": id, "otp": otp::yubikey_otp(KEY, 1) }),
        )
        .await;
    assert_eq!(active["device"]["status"], "ACTIVE");
    assert_eq!(active["device"]["type"], "YUBIKEY");
}

#[tokio::test]
async fn create_device_authentication_ping_id() {
    let h = Harness::start().await;
    let user = h.user();
    let key = active_yubikey(&h, &user).await;

    let out = h
        .ok(
            "createDeviceAuthenticationPingID",
            json!({ "userId": user, "fidoCompatibility": "FULL", "authTemplateName": "Transaction" }),
        )
        .await;
    assert_eq!(out["statusCode"], 201);
    assert_eq!(status(&out), "OTP_REQUIRED");
    assert_eq!(out["rawResponse"]["selectedDevice"]["id"], key.as_str());
    assert_eq!(
        out["rawResponse"]["_embedded"]["devices"][0]["type"],
        "YUBIKEY"
    );
    let id = id_at(&out, "/rawResponse/id");
    // Another key's OTP, then the activating OTP replayed: both refused.
    for bad in [otp::yubikey_otp(OTHER_KEY, 2), otp::yubikey_otp(KEY, 1)] {
        let details = assert_api_error(
            h.call(
                "validateOtpDeviceAuthentication",
                json!({ "deviceAuthenticationId": id, "otp": bad }),
            )
            .await,
            400,
            "INVALID_DATA",
        );
        assert_eq!(details[0].code, "INVALID_OTP");
    }
    let done = h
        .ok(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "otp": otp::yubikey_otp(KEY, 2) }),
        )
        .await;
    assert_eq!(status(&done), "COMPLETED");
    assert_eq!(done["rawResponse"]["authenticators"], json!(["otp"]));

    // The policy evaluation is sent as the authentication's policy.
    let policy = h.emulator.seed().policy_id.clone();
    let out = h
        .ok(
            "createDeviceAuthenticationPingID",
            json!({ "userId": user, "workforcePolicyMfaPolicyId": policy, "selectedDeviceId": key }),
        )
        .await;
    assert_eq!(out["rawResponse"]["policy"]["id"], policy.as_str());
    assert_eq!(status(&out), "OTP_REQUIRED");

    assert_invalid_input(
        h.call(
            "createDeviceAuthenticationPingID",
            json!({ "userId": user, "fidoCompatibility": "PARTIAL" }),
        )
        .await,
        "createDeviceAuthenticationPingID",
        "/fidoCompatibility",
    );
    assert_invalid_input(
        h.call(
            "createDeviceAuthenticationPingID",
            json!({ "workforcePolicyMfaPolicyId": policy }),
        )
        .await,
        "createDeviceAuthenticationPingID",
        "/userId",
    );
    let details = assert_api_error(
        h.call(
            "createDeviceAuthenticationPingID",
            json!({ "userId": user, "workforcePolicyMfaPolicyId": "no-such-policy" }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].target.as_deref(), Some("policy.id"));
}

#[tokio::test]
async fn create_device_authentication_ping_id_fido2_and_one_time() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    let mut authenticator = SoftAuthenticator::new(17);
    h.active_fido2(&user, &mut authenticator).await;
    let out = h
        .ok(
            "createDeviceAuthenticationPingID",
            json!({ "userId": user, "compatibility": "SECURITY_KEY_ONLY", "rpId": RP_ID }),
        )
        .await;
    assert_eq!(status(&out), "ASSERTION_REQUIRED");
    let options = id_at(&out, "/rawResponse/publicKeyCredentialRequestOptions");
    let done = h
        .ok(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": id_at(&out, "/rawResponse/id"), "origin": ORIGIN,
                    "assertion": authenticator.get(&options, ORIGIN).unwrap() }),
        )
        .await;
    assert_eq!(status(&done), "COMPLETED");

    let out = h
        .ok(
            "createDeviceAuthenticationPingID",
            json!({ "userId": user, "selectedDevice": "One-Time Device", "oneTimeDeviceType": "Email",
                    "oneTimeEmailDevice": "bob.once@example.com", "oneTimeDeviceTestMode": "TRUE" }),
        )
        .await;
    assert_eq!(status(&out), "OTP_REQUIRED");
    let done = h
        .ok(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id_at(&out, "/rawResponse/id"),
                    "otp": id_at(&out, "/rawResponse/test/otp") }),
        )
        .await;
    assert_eq!(status(&done), "COMPLETED");
}

#[tokio::test]
async fn create_pairing_key_ping_id() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    let out = h
        .ok("createPairingKeyPingID", json!({ "userId": user }))
        .await;
    assert_eq!(out["statusCode"], 201);
    assert_eq!(status(&out), "UNCLAIMED");
    let code = id_at(&out, "/rawResponse/code");
    assert_eq!(code.len(), 14);
    let device = h
        .emulator
        .claim_pairing_key(&h.env_id(), &code)
        .expect("the PingID app claims the key");
    assert_eq!(device["type"], "MOBILE");
    let read = h
        .ok(
            "readPairingKey",
            json!({ "userId": user, "pairingKeyId": id_at(&out, "/rawResponse/id") }),
        )
        .await;
    assert_eq!(status(&read), "CLAIMED");

    assert_invalid_input(
        h.call("createPairingKeyPingID", json!({})).await,
        "createPairingKeyPingID",
        "/userId",
    );
    assert_invalid_input(
        h.call("createPairingKeyPingID", json!({ "userId": ["bob"] }))
            .await,
        "createPairingKeyPingID",
        "/userId",
    );
    assert_api_error(
        h.call(
            "createPairingKeyPingID",
            json!({ "userId": "no-such-user" }),
        )
        .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn read_all_devices_ping_id_with_workforce_filters() {
    let h = Harness::start().await;
    let user = h.user_n(2);
    let key = active_yubikey(&h, &user).await;
    let sms = h.active_sms(&user, "+15125550103").await;
    let pending = h
        .ok(
            "createDevicePingID",
            json!({ "userId": user, "workforceDeviceType": "TOTP", "status": "ACTIVATION_REQUIRED" }),
        )
        .await;

    let all = h
        .ok("readAllDevicesPingID", json!({ "userId": user }))
        .await;
    assert_eq!(all["statusCode"], 200);
    assert_eq!(all["devices"].as_array().unwrap().len(), 3);
    assert_eq!(all["order"], json!([{ "id": key }, { "id": sms }]));
    assert_eq!(all["mfaSettings"]["pairing"]["maxAllowedDevices"], 5);

    let keys = h
        .ok(
            "readAllDevicesPingID",
            json!({ "userId": user, "setFilterFlag": true, "workforceDeviceTypes": ["YubiKey"] }),
        )
        .await;
    assert_eq!(keys["devices"].as_array().unwrap().len(), 1);
    assert_eq!(keys["devices"][0]["id"], key.as_str());
    assert_eq!(keys["devices"][0]["nickname"], "Blue key");
    let apps = h
        .ok(
            "readAllDevicesPingID",
            json!({ "userId": user, "setFilterFlag": true,
                    "workforceDeviceTypes": ["PingID Mobile app", "Desktop app"] }),
        )
        .await;
    assert_eq!(
        apps["devices"],
        json!([]),
        "no PingID app devices in the emulator"
    );
    let waiting = h
        .ok(
            "readAllDevicesPingID",
            json!({ "userId": user, "setFilterFlag": true, "statusFilter": "ACTIVATION REQUIRED" }),
        )
        .await;
    assert_eq!(waiting["devices"][0]["id"], pending["device"]["id"]);
    let mixed = h
        .ok(
            "readAllDevicesPingID",
            json!({ "userId": user, "setFilterFlag": true, "statusFilter": "ACTIVE",
                    "workforceDeviceTypes": ["SMS", "YUBIKEY", "TOTP"] }),
        )
        .await;
    assert_eq!(mixed["devices"].as_array().unwrap().len(), 2);

    assert_invalid_input(
        h.call(
            "readAllDevicesPingID",
            json!({ "userId": user, "workforceDeviceTypes": ["Pager"] }),
        )
        .await,
        "readAllDevicesPingID",
        "/workforceDeviceTypes/0",
    );
    assert_invalid_input(
        h.call(
            "readAllDevicesPingID",
            json!({ "userId": user, "workforceDeviceTypes": ["YubiKey", "YubiKey"] }),
        )
        .await,
        "readAllDevicesPingID",
        "/workforceDeviceTypes",
    );
    assert_api_error(
        h.call("readAllDevicesPingID", json!({ "userId": "no-such-user" }))
            .await,
        404,
        "NOT_FOUND",
    );
}
