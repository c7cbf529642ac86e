//! Contract tests of the device-authentication capabilities (create, read,
//! device selection, OTP check, FIDO2 assertion check, cancel): for each, a
//! happy path through emulator -> host -> component -> host that asserts
//! the state PingOne reached, a schema-invalid input rejected with its JSON
//! pointer, and the PingOne error it most often meets.

use contract_tests::{
    assert_api_error, assert_invalid_input, b64url, id_at, wrong_otp, Harness, ORIGIN, RP_ID,
};
use pingone_emulator::authenticator::SoftAuthenticator;
use pingone_emulator::fido;
use serde_json::{json, Value};
use std::time::Duration;

const TOO_LONG: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

fn envelope_ok(out: &Value, status: u64) {
    assert_eq!(out["statusCode"], status, "{out}");
    assert!(out["headers"]["content-type"].is_string(), "{out}");
    assert!(out["rawResponse"].is_object(), "{out}");
}

fn status(out: &Value) -> &str {
    out["rawResponse"]["status"].as_str().unwrap_or_default()
}

fn auth_id(out: &Value) -> String {
    id_at(out, "/rawResponse/id")
}

fn test_otp(out: &Value) -> String {
    let otp = id_at(out, "/rawResponse/test/otp");
    assert_eq!(otp.len(), 6, "{out}");
    otp
}

#[tokio::test]
async fn create_on_the_default_device_then_check_the_otp() {
    let h = Harness::start().await;
    let user = h.user();
    let sms = h.test_mode_device(&user, "SMS", "+15125550101").await;
    h.test_mode_device(&user, "Email", "alice@example.com")
        .await;

    let out = h
        .ok(
            "createDeviceAuthentication",
            json!({ "userId": user, "authTemplateName": "Strong Authentication" }),
        )
        .await;
    envelope_ok(&out, 201);
    let raw = &out["rawResponse"];
    assert_eq!(raw["status"], "OTP_REQUIRED", "{raw}");
    assert_eq!(
        raw["selectedDevice"]["id"],
        sms.as_str(),
        "the default device"
    );
    assert_eq!(raw["user"]["id"], user.as_str());
    assert_eq!(raw["policy"]["id"], h.emulator.seed().policy_id.as_str());
    let devices = raw["_embedded"]["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["phone"], "+1512*****01", "targets are masked");
    assert_eq!(devices[1]["email"], "a****@example.com");
    assert!(raw["_links"]["otp.check"].is_object());
    let otp = test_otp(&out);
    let id = auth_id(&out);

    // A wrong OTP first, then the right one.
    let details = assert_api_error(
        h.call(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "otp": wrong_otp(&otp) }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].code, "INVALID_OTP");
    assert_eq!(details[0].target.as_deref(), Some("otp"));
    assert_eq!(
        details[0].inner_error.as_ref().unwrap()["remainingAttempts"],
        2
    );
    let done = h
        .ok(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "otp": otp }),
        )
        .await;
    envelope_ok(&done, 200);
    assert_eq!(status(&done), "COMPLETED");
    assert_eq!(done["rawResponse"]["authenticators"], json!(["sms"]));

    // Schema and connector-side rejections.
    assert_invalid_input(
        h.call("createDeviceAuthentication", json!({})).await,
        "createDeviceAuthentication",
        "/userId",
    );
    assert_invalid_input(
        h.call("createDeviceAuthentication", json!({ "userId": TOO_LONG }))
            .await,
        "createDeviceAuthentication",
        "/userId",
    );
    assert_invalid_input(
        h.call("createDeviceAuthentication", json!({ "userId": " " }))
            .await,
        "createDeviceAuthentication",
        "/userId",
    );
    assert_invalid_input(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "authTemplateName": "Reminder" }),
        )
        .await,
        "createDeviceAuthentication",
        "/authTemplateName",
    );
    assert_invalid_input(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "ID" }),
        )
        .await,
        "createDeviceAuthentication",
        "/selectedDeviceId",
    );
    assert_invalid_input(
        h.call(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id }),
        )
        .await,
        "validateOtpDeviceAuthentication",
        "/otp",
    );
    assert_invalid_input(
        h.call(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "otp": "  " }),
        )
        .await,
        "validateOtpDeviceAuthentication",
        "/otp",
    );
    assert_invalid_input(
        h.call(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": TOO_LONG, "otp": "123456" }),
        )
        .await,
        "validateOtpDeviceAuthentication",
        "/deviceAuthenticationId",
    );

    // PingOne refusals.
    let details = assert_api_error(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": "no-such-user" }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].target.as_deref(), Some("user.id"));
    let details = assert_api_error(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "mfaPolicyId": "no-such-policy" }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].target.as_deref(), Some("policy.id"));
    // The authentication is over: no more OTP checks.
    assert_api_error(
        h.call(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "otp": otp }),
        )
        .await,
        400,
        "REQUEST_FAILED",
    );
}

#[tokio::test]
async fn read_device_authentication() {
    let h = Harness::start().await;
    let user = h.user();
    h.test_mode_device(&user, "Email", "alice@example.com")
        .await;
    let created = h
        .ok("createDeviceAuthentication", json!({ "userId": user }))
        .await;
    let id = auth_id(&created);
    let read = h
        .ok(
            "readDeviceAuthentication",
            json!({ "deviceAuthenticationId": id }),
        )
        .await;
    envelope_ok(&read, 200);
    assert_eq!(read["rawResponse"]["id"], id.as_str());
    assert_eq!(status(&read), "OTP_REQUIRED");
    assert_eq!(
        read["rawResponse"]["_embedded"]["devices"][0]["email"],
        "a****@example.com"
    );
    h.ok(
        "validateOtpDeviceAuthentication",
        json!({ "deviceAuthenticationId": id, "otp": test_otp(&created) }),
    )
    .await;
    let read = h
        .ok(
            "readDeviceAuthentication",
            json!({ "deviceAuthenticationId": id }),
        )
        .await;
    assert_eq!(status(&read), "COMPLETED");
    assert_eq!(read["rawResponse"]["authenticators"], json!(["email"]));

    assert_invalid_input(
        h.call("readDeviceAuthentication", json!({})).await,
        "readDeviceAuthentication",
        "/deviceAuthenticationId",
    );
    assert_invalid_input(
        h.call(
            "readDeviceAuthentication",
            json!({ "deviceAuthenticationId": 7 }),
        )
        .await,
        "readDeviceAuthentication",
        "/deviceAuthenticationId",
    );
    assert_api_error(
        h.call(
            "readDeviceAuthentication",
            json!({ "deviceAuthenticationId": "no-such-authentication" }),
        )
        .await,
        404,
        "NOT_FOUND",
    );
    // Device authentications expire (10 minutes in the emulator).
    h.emulator.advance_clock(Duration::from_secs(11 * 60));
    assert_api_error(
        h.call(
            "readDeviceAuthentication",
            json!({ "deviceAuthenticationId": id }),
        )
        .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn device_selection_among_several() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    let sms = h.test_mode_device(&user, "SMS", "+15125550102").await;
    let email = h.test_mode_device(&user, "Email", "bob@example.com").await;

    // Without a device order PingOne asks which device to use.
    h.remove_device_order(&user);
    let out = h
        .ok("createDeviceAuthentication", json!({ "userId": user }))
        .await;
    assert_eq!(status(&out), "DEVICE_SELECTION_REQUIRED");
    assert!(out["rawResponse"].get("selectedDevice").is_none());
    assert!(out["rawResponse"]["_links"]["device.select"].is_object());
    assert_eq!(
        out["rawResponse"]["_embedded"]["devices"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let id = auth_id(&out);
    let selected = h
        .ok(
            "deviceSelectDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "deviceId": email, "compatibility": "FULL" }),
        )
        .await;
    envelope_ok(&selected, 200);
    assert_eq!(status(&selected), "OTP_REQUIRED");
    assert_eq!(
        selected["rawResponse"]["selectedDevice"]["id"],
        email.as_str()
    );
    let done = h
        .ok(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "otp": test_otp(&selected) }),
        )
        .await;
    assert_eq!(status(&done), "COMPLETED");
    assert_eq!(done["rawResponse"]["authenticators"], json!(["email"]));

    // A device chosen up front.
    let out = h
        .ok(
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "ID", "selectedDeviceId": sms }),
        )
        .await;
    assert_eq!(status(&out), "OTP_REQUIRED");
    assert_eq!(out["rawResponse"]["selectedDevice"]["id"], sms.as_str());
    let pending = auth_id(&out);

    assert_invalid_input(
        h.call(
            "deviceSelectDeviceAuthentication",
            json!({ "deviceAuthenticationId": pending }),
        )
        .await,
        "deviceSelectDeviceAuthentication",
        "/deviceId",
    );
    assert_invalid_input(
        h.call(
            "deviceSelectDeviceAuthentication",
            json!({ "deviceAuthenticationId": pending, "deviceId": sms, "compatibility": "SOME" }),
        )
        .await,
        "deviceSelectDeviceAuthentication",
        "/compatibility",
    );
    let details = assert_api_error(
        h.call(
            "deviceSelectDeviceAuthentication",
            json!({ "deviceAuthenticationId": pending, "deviceId": "no-such-device" }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].target.as_deref(), Some("device.id"));
    // No selection once the authentication is over.
    assert_api_error(
        h.call(
            "deviceSelectDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "deviceId": sms }),
        )
        .await,
        400,
        "REQUEST_FAILED",
    );
}

#[tokio::test]
async fn too_many_wrong_otps_fail_and_lock_the_device() {
    let h = Harness::start().await;
    let user = h.user_n(2);
    let sms = h.test_mode_device(&user, "SMS", "+15125550103").await;
    let out = h
        .ok("createDeviceAuthentication", json!({ "userId": user }))
        .await;
    let id = auth_id(&out);
    let wrong = wrong_otp(&test_otp(&out));
    for remaining in [2, 1, 0] {
        let details = assert_api_error(
            h.call(
                "validateOtpDeviceAuthentication",
                json!({ "deviceAuthenticationId": id, "otp": wrong }),
            )
            .await,
            400,
            "INVALID_DATA",
        );
        assert_eq!(details[0].code, "INVALID_OTP");
        assert_eq!(
            details[0].inner_error.as_ref().unwrap()["remainingAttempts"],
            remaining
        );
    }
    let failed = h
        .ok(
            "readDeviceAuthentication",
            json!({ "deviceAuthenticationId": id }),
        )
        .await;
    assert_eq!(status(&failed), "FAILED");
    assert_eq!(failed["rawResponse"]["error"]["code"], "TOO_MANY_ATTEMPTS");
    let device = h
        .ok("readDevice", json!({ "userId": user, "deviceId": sms }))
        .await;
    assert_eq!(device["rawResponse"]["lock"]["status"], "LOCKED");

    // The only device is locked: the next authentication fails at once.
    let next = h
        .ok("createDeviceAuthentication", json!({ "userId": user }))
        .await;
    assert_eq!(status(&next), "FAILED");
    assert_eq!(next["rawResponse"]["error"]["code"], "NO_USABLE_DEVICES");
    assert_eq!(
        next["rawResponse"]["error"]["unavailableDevices"][0]["id"],
        sms.as_str()
    );
    // After the policy's cool-down (2 minutes) the device is usable again.
    h.emulator.advance_clock(Duration::from_secs(121));
    let again = h
        .ok("createDeviceAuthentication", json!({ "userId": user }))
        .await;
    assert_eq!(status(&again), "OTP_REQUIRED");
}

#[tokio::test]
async fn one_time_sms_and_email_devices() {
    let h = Harness::start().await;
    let user = h.user_n(2);
    let out = h
        .ok(
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "One-Time Device", "oneTimeDeviceType": "SMS",
                    "oneTimeSmsDevice": "+15125550177", "oneTimeDeviceTestMode": "true" }),
        )
        .await;
    envelope_ok(&out, 201);
    assert_eq!(status(&out), "OTP_REQUIRED");
    assert_eq!(
        out["rawResponse"]["selectedDevice"]["oneTime"]["type"],
        "SMS"
    );
    let done = h
        .ok(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": auth_id(&out), "otp": test_otp(&out) }),
        )
        .await;
    assert_eq!(status(&done), "COMPLETED");
    assert_eq!(done["rawResponse"]["authenticators"], json!(["sms"]));

    // Not in test mode: the OTP goes to the inbox.
    let out = h
        .ok(
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "ONE_TIME", "oneTimeDeviceType": "Email",
                    "oneTimeEmailDevice": "carol.once@example.com", "oneTimeDeviceTestMode": "false" }),
        )
        .await;
    assert!(out["rawResponse"].get("test").is_none());
    let sent = h
        .emulator
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.to == "carol.once@example.com")
        .expect("the OTP was mailed");
    assert_eq!(
        (sent.channel.as_str(), sent.purpose.as_str()),
        ("EMAIL", "AUTHENTICATION")
    );
    let done = h
        .ok(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": auth_id(&out), "otp": sent.otp }),
        )
        .await;
    assert_eq!(done["rawResponse"]["authenticators"], json!(["email"]));

    assert_invalid_input(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "One-Time Device" }),
        )
        .await,
        "createDeviceAuthentication",
        "/oneTimeDeviceType",
    );
    assert_invalid_input(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "One-Time Device", "oneTimeDeviceType": "Fax" }),
        )
        .await,
        "createDeviceAuthentication",
        "/oneTimeDeviceType",
    );
    assert_invalid_input(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "One-Time Device", "oneTimeDeviceType": "SMS",
                    "oneTimeSmsDevice": "+15125550177", "oneTimeDeviceTestMode": "yes" }),
        )
        .await,
        "createDeviceAuthentication",
        "/oneTimeDeviceTestMode",
    );
    assert_invalid_input(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "One-Time Device", "oneTimeDeviceType": "Voice" }),
        )
        .await,
        "createDeviceAuthentication",
        "/oneTimeVoiceDevice",
    );
    let details = assert_api_error(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "One-Time Device", "oneTimeDeviceType": "SMS",
                    "oneTimeSmsDevice": "12" }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(
        details[0].target.as_deref(),
        Some("selectedDevice.oneTime.phone")
    );
}

#[tokio::test]
async fn totp_with_a_computed_code_and_up_front() {
    let h = Harness::start().await;
    let user = h.user();
    let (totp, secret) = h.active_totp(&user).await;
    let out = h
        .ok("createDeviceAuthentication", json!({ "userId": user }))
        .await;
    assert_eq!(status(&out), "OTP_REQUIRED");
    assert_eq!(out["rawResponse"]["selectedDevice"]["id"], totp.as_str());
    assert!(
        out["rawResponse"].get("test").is_none(),
        "nothing is sent for TOTP"
    );
    let id = auth_id(&out);
    let code = h.totp_now(&secret);
    let details = assert_api_error(
        h.call(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "otp": wrong_otp(&code) }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].code, "INVALID_OTP");
    let done = h
        .ok(
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "otp": code }),
        )
        .await;
    assert_eq!(status(&done), "COMPLETED");
    assert_eq!(done["rawResponse"]["authenticators"], json!(["otp"]));

    // The code given with the creation completes it at once.
    let upfront = h
        .ok(
            "createDeviceAuthentication",
            json!({ "userId": user, "otp": h.totp_now(&secret) }),
        )
        .await;
    assert_eq!(status(&upfront), "COMPLETED");
    assert_eq!(
        upfront["rawResponse"]["selectedDevice"]["id"],
        totp.as_str()
    );
    let details = assert_api_error(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "otp": wrong_otp(&h.totp_now(&secret)) }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].code, "INVALID_OTP");
}

#[tokio::test]
async fn push_approve_deny_timeout_with_polling() {
    let h = Harness::start().await;
    let user = h.user();
    let env = h.env_id();
    let phone = h.mobile_device(&user).await;

    let out = h
        .ok("createDeviceAuthentication", json!({ "userId": user }))
        .await;
    assert_eq!(status(&out), "PUSH_CONFIRMATION_REQUIRED");
    assert_eq!(out["rawResponse"]["selectedDevice"]["id"], phone.as_str());
    let id = auth_id(&out);
    let poll = json!({ "deviceAuthenticationId": id });
    assert_eq!(
        status(&h.ok("readDeviceAuthentication", poll.clone()).await),
        "PUSH_CONFIRMATION_REQUIRED"
    );
    h.emulator.push(&env, &id, "approve").expect("approve");
    let done = h.ok("readDeviceAuthentication", poll).await;
    assert_eq!(status(&done), "COMPLETED");
    assert_eq!(done["rawResponse"]["authenticators"], json!(["push"]));

    let denied = auth_id(
        &h.ok("createDeviceAuthentication", json!({ "userId": user }))
            .await,
    );
    h.emulator.push(&env, &denied, "deny").expect("deny");
    let read = h
        .ok(
            "readDeviceAuthentication",
            json!({ "deviceAuthenticationId": denied }),
        )
        .await;
    assert_eq!(status(&read), "FAILED");
    assert_eq!(read["rawResponse"]["error"]["code"], "PUSH_DENIED");

    let timed_out = auth_id(
        &h.ok("createDeviceAuthentication", json!({ "userId": user }))
            .await,
    );
    h.emulator
        .push(&env, &timed_out, "timeout")
        .expect("timeout");
    let read = h
        .ok(
            "readDeviceAuthentication",
            json!({ "deviceAuthenticationId": timed_out }),
        )
        .await;
    assert_eq!(status(&read), "PUSH_CONFIRMATION_TIMED_OUT");
    // Selecting the phone again sends a new push.
    let again = h
        .ok(
            "deviceSelectDeviceAuthentication",
            json!({ "deviceAuthenticationId": timed_out, "deviceId": phone }),
        )
        .await;
    assert_eq!(status(&again), "PUSH_CONFIRMATION_REQUIRED");
}

#[tokio::test]
async fn cancel_device_authentication() {
    let h = Harness::start().await;
    let user = h.user();
    let phone = h.mobile_device(&user).await;
    let sms = h.test_mode_device(&user, "SMS", "+15125550101").await;
    let out = h
        .ok("createDeviceAuthentication", json!({ "userId": user }))
        .await;
    assert_eq!(out["rawResponse"]["selectedDevice"]["id"], phone.as_str());
    let id = auth_id(&out);

    // "Use another device": cancel the push and pick the SMS device.
    let cancelled = h
        .ok(
            "cancelDeviceAuthenticationPingID",
            json!({ "deviceAuthenticationId": id, "reason": "CHANGE_DEVICE" }),
        )
        .await;
    envelope_ok(&cancelled, 200);
    assert_eq!(status(&cancelled), "DEVICE_SELECTION_REQUIRED");
    assert!(cancelled["rawResponse"].get("selectedDevice").is_none());
    let selected = h
        .ok(
            "deviceSelectDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "deviceId": sms }),
        )
        .await;
    assert_eq!(status(&selected), "OTP_REQUIRED");
    // Any other reason is sent as DEFAULT.
    let cancelled = h
        .ok(
            "cancelDeviceAuthenticationPingID",
            json!({ "deviceAuthenticationId": id, "reason": "user walked away" }),
        )
        .await;
    assert_eq!(status(&cancelled), "DEVICE_SELECTION_REQUIRED");
    let selected = h
        .ok(
            "deviceSelectDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "deviceId": sms }),
        )
        .await;
    h.ok(
        "validateOtpDeviceAuthentication",
        json!({ "deviceAuthenticationId": id, "otp": test_otp(&selected) }),
    )
    .await;

    assert_invalid_input(
        h.call(
            "cancelDeviceAuthenticationPingID",
            json!({ "reason": "SIGNOUT" }),
        )
        .await,
        "cancelDeviceAuthenticationPingID",
        "/deviceAuthenticationId",
    );
    assert_invalid_input(
        h.call(
            "cancelDeviceAuthenticationPingID",
            json!({ "deviceAuthenticationId": id, "reason": 3 }),
        )
        .await,
        "cancelDeviceAuthenticationPingID",
        "/reason",
    );
    // A finished authentication cannot be cancelled.
    let details = assert_api_error(
        h.call(
            "cancelDeviceAuthenticationPingID",
            json!({ "deviceAuthenticationId": id, "reason": "SIGNOUT" }),
        )
        .await,
        400,
        "REQUEST_FAILED",
    );
    assert_eq!(details[0].target.as_deref(), Some("status"));
}

/// Flips one bit of the DER signature of an assertion.
fn tamper(assertion: &str) -> String {
    let mut v: Value = serde_json::from_str(assertion).unwrap();
    let mut sig = fido::b64url_decode(v["response"]["signature"].as_str().unwrap()).unwrap();
    let n = sig.len();
    sig[n - 1] ^= 0x01;
    v["response"]["signature"] = json!(b64url(&sig));
    v.to_string()
}

#[tokio::test]
async fn fido2_register_then_assert() {
    let h = Harness::start().await;
    let user = h.user();
    let mut authenticator = SoftAuthenticator::new(7);
    let device = h.active_fido2(&user, &mut authenticator).await;

    let out = h
        .ok("createDeviceAuthentication", json!({ "userId": user }))
        .await;
    assert_eq!(status(&out), "ASSERTION_REQUIRED");
    assert_eq!(out["rawResponse"]["selectedDevice"]["id"], device.as_str());
    assert!(out["rawResponse"]["_links"]["assertion.check"].is_object());
    let options = id_at(&out, "/rawResponse/publicKeyCredentialRequestOptions");
    let parsed: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(parsed["rpId"], RP_ID);
    let id = auth_id(&out);
    let assertion = authenticator.get(&options, ORIGIN).unwrap();

    let details = assert_api_error(
        h.call(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "origin": ORIGIN, "assertion": tamper(&assertion) }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].code, "INVALID_SIGNATURE");
    let details = assert_api_error(
        h.call(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "origin": "https://evil.example.org", "assertion": assertion }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].code, "INVALID_ORIGIN");
    let read = h
        .ok(
            "readDeviceAuthentication",
            json!({ "deviceAuthenticationId": id }),
        )
        .await;
    assert_eq!(
        status(&read),
        "ASSERTION_REQUIRED",
        "a bad assertion changes nothing"
    );

    let done = h
        .ok(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "origin": ORIGIN, "assertion": assertion }),
        )
        .await;
    envelope_ok(&done, 200);
    assert_eq!(status(&done), "COMPLETED");
    assert_eq!(done["rawResponse"]["authenticators"], json!(["fido"]));

    assert_invalid_input(
        h.call(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "assertion": assertion }),
        )
        .await,
        "validateAssertionDeviceAuthentication",
        "/origin",
    );
    assert_invalid_input(
        h.call(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "origin": ORIGIN, "assertion": "not json" }),
        )
        .await,
        "validateAssertionDeviceAuthentication",
        "/assertion",
    );
    assert_invalid_input(
        h.call(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "origin": "login.example.com", "assertion": assertion }),
        )
        .await,
        "validateAssertionDeviceAuthentication",
        "/origin",
    );
    // Replaying the assertion on the finished authentication.
    assert_api_error(
        h.call(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "origin": ORIGIN, "assertion": assertion }),
        )
        .await,
        400,
        "REQUEST_FAILED",
    );
}

#[tokio::test]
async fn custom_fido2_challenge() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    let mut authenticator = SoftAuthenticator::new(8);
    h.active_fido2(&user, &mut authenticator).await;

    let challenge: Vec<u8> = (0..40u8).collect();
    let out = h
        .ok(
            "createDeviceAuthentication",
            json!({ "userId": user, "challenge": b64url(&challenge) }),
        )
        .await;
    let options = id_at(&out, "/rawResponse/publicKeyCredentialRequestOptions");
    let parsed: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(
        fido::bytes_from_signed(&parsed["challenge"]).unwrap(),
        challenge
    );
    let assertion = authenticator.get(&options, ORIGIN).unwrap();
    let done = h
        .ok(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": auth_id(&out), "origin": ORIGIN, "assertion": assertion }),
        )
        .await;
    assert_eq!(status(&done), "COMPLETED");

    // Too short: refused by the connector before any request.
    let before = h.api_requests();
    assert_invalid_input(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "challenge": b64url(&[1; 16]) }),
        )
        .await,
        "createDeviceAuthentication",
        "/challenge",
    );
    assert_invalid_input(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": user, "challenge": "not base64url!" }),
        )
        .await,
        "createDeviceAuthentication",
        "/challenge",
    );
    assert_eq!(h.api_requests(), before, "nothing reached PingOne");
}

#[tokio::test]
async fn usernameless_fido2() {
    let h = Harness::start().await;
    let user = h.user_n(2);
    let mut authenticator = SoftAuthenticator::new(9);
    let device = h.active_fido2(&user, &mut authenticator).await;

    // The schema requires the userId member; it is ignored when usernameLess is true.
    let out = h
        .ok(
            "createDeviceAuthentication",
            json!({ "userId": "", "usernameLess": true, "deviceAuthenRpId": RP_ID }),
        )
        .await;
    assert_eq!(status(&out), "ASSERTION_REQUIRED");
    assert!(out["rawResponse"].get("user").is_none());
    let options = id_at(&out, "/rawResponse/publicKeyCredentialRequestOptions");
    let parsed: Value = serde_json::from_str(&options).unwrap();
    assert!(parsed.get("allowCredentials").is_none());
    let assertion = authenticator.get(&options, ORIGIN).unwrap();
    let done = h
        .ok(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": auth_id(&out), "origin": ORIGIN, "assertion": assertion }),
        )
        .await;
    assert_eq!(status(&done), "COMPLETED");
    assert_eq!(
        done["rawResponse"]["user"]["id"],
        user.as_str(),
        "the credential named the user"
    );
    assert_eq!(done["rawResponse"]["selectedDevice"]["id"], device.as_str());

    // A credential PingOne does not know.
    let out = h
        .ok(
            "createDeviceAuthentication",
            json!({ "userId": "", "usernameLess": true, "rpId": RP_ID }),
        )
        .await;
    let options = id_at(&out, "/rawResponse/publicKeyCredentialRequestOptions");
    let mut stranger = SoftAuthenticator::new(99);
    let creation = fido::creation_options(&[1; 32], RP_ID, "Ex", "x", "x", "x", None);
    stranger
        .create(
            &creation,
            ORIGIN,
            pingone_emulator::authenticator::AttestationFormat::None,
        )
        .unwrap();
    let details = assert_api_error(
        h.call(
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": auth_id(&out), "origin": ORIGIN,
                    "assertion": stranger.get(&options, ORIGIN).unwrap() }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].code, "INVALID_CREDENTIAL");
    assert_invalid_input(
        h.call(
            "createDeviceAuthentication",
            json!({ "userId": "", "usernameLess": "yes" }),
        )
        .await,
        "createDeviceAuthentication",
        "/usernameLess",
    );
}
