//! Device authentications, FIDO2 with the software authenticator, MOBILE
//! push, pairing keys and authentication codes, end to end over real HTTP on
//! 127.0.0.1.

mod common;

use std::time::Duration;

use base64::Engine;
use common::*;
use pingone_emulator::authenticator::{AttestationFormat, SoftAuthenticator};
use pingone_emulator::{fido, otp};
use serde_json::{json, Value};

const SELECT: &str = "application/vnd.pingidentity.device.select+json";
const OTP_CHECK: &str = "application/vnd.pingidentity.otp.check+json";
const ASSERTION: &str = "application/vnd.pingidentity.assertion.check+json";
const CANCEL: &str = "application/vnd.pingidentity.cancel.push.authentication+json";
const ORIGIN: &str = "https://login.example.com";

fn body(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

impl Ctx {
    fn da_path(&self) -> String {
        format!("/{}/deviceAuthentications", self.env)
    }

    /// POST /{env}/deviceAuthentications; asserts 201.
    async fn start_da(&self, b: Value) -> Value {
        let r = self.post(&self.da_path(), "application/json", &b).await;
        assert_eq!(r.status, 201, "{}", body(&r));
        r.json()
    }

    async fn da_action(&self, id: &str, ct: &str, b: Value) -> Resp {
        self.post(&format!("{}/{id}", self.da_path()), ct, &b).await
    }

    async fn read_da(&self, id: &str) -> Resp {
        self.get(&format!("{}/{id}", self.da_path())).await
    }

    /// POST to an emulator control endpoint under /_emulator/environments/{env}.
    async fn control(&self, rest: &str, b: Value) -> Resp {
        raw_request(
            self.emu.port(),
            "POST",
            &format!("/_emulator/environments/{}{rest}", self.env),
            &[("Content-Type", "application/json")],
            b.to_string().as_bytes(),
        )
        .await
    }

    /// A FIDO2 device for `u`, registered with `authn` and activated.
    async fn fido_device(
        &self,
        u: &str,
        authn: &mut SoftAuthenticator,
        fmt: AttestationFormat,
    ) -> String {
        let d = self
            .create(
                u,
                json!({"type": "FIDO2", "rp": {"id": "example.com", "name": "Example"}}),
            )
            .await;
        let att = authn
            .create(
                d["publicKeyCredentialCreationOptions"].as_str().unwrap(),
                ORIGIN,
                fmt,
            )
            .unwrap();
        let id = d["id"].as_str().unwrap();
        let r = self
            .activate(u, id, json!({"origin": ORIGIN, "attestation": att}))
            .await;
        assert_eq!(r.status, 200, "{}", body(&r));
        assert_eq!(r.json()["status"], "ACTIVE");
        id.to_string()
    }

    /// Pairs a MOBILE device for `u` through a pairing key and the claim
    /// control endpoint.
    async fn mobile_device(&self, u: &str) -> String {
        let r = self
            .post(
                &self.p(&format!("/users/{u}/pairingKeys")),
                "application/json",
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", body(&r));
        let code = r.json()["code"].as_str().unwrap().to_string();
        let r = self
            .control("/pairingKeys/claim", json!({"code": code}))
            .await;
        assert_eq!(r.status, 200, "{}", body(&r));
        r.json()["id"].as_str().unwrap().to_string()
    }
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[tokio::test]
async fn otp_with_default_test_mode_device_and_wrong_then_right() {
    let ctx = start().await;
    let u = ctx.user(0);
    let d = ctx
        .create(
            &u,
            json!({"type": "SMS", "phone": "+15125550101", "testMode": true}),
        )
        .await;
    assert_eq!(d["status"], "ACTIVE");
    let did = d["id"].as_str().unwrap();

    // Auth host, worker token required; JSON only.
    let r = raw_request(
        ctx.emu.port(),
        "POST",
        &ctx.da_path(),
        &[("Content-Type", "application/json")],
        json!({"user": {"id": u}}).to_string().as_bytes(),
    )
    .await;
    assert_error(&r, 401, "ACCESS_FAILED");
    let r = ctx.post(&ctx.da_path(), "text/plain", &json!({})).await;
    assert_error(&r, 415, "INVALID_REQUEST");
    let r = ctx
        .post(
            &ctx.da_path(),
            "application/json",
            &json!({"user": {"id": u}, "policy": {"id": "nope"}}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "policy.id"
    );

    let a = ctx
        .start_da(json!({"user": {"id": u}, "clientContext": {"k": "v"}}))
        .await;
    assert_eq!(a["status"], "OTP_REQUIRED", "{a}");
    assert_eq!(a["selectedDevice"]["id"], did);
    assert_eq!(a["user"]["id"], u);
    assert_eq!(a["policy"]["id"], ctx.emu.seed().policy_id);
    assert_eq!(a["environment"]["id"], ctx.env);
    assert_eq!(a["_embedded"]["devices"][0]["phone"], "+1512*****01");
    let id = a["id"].as_str().unwrap();
    let href = format!(
        "{}/{}/deviceAuthentications/{id}",
        ctx.emu.auth_url(),
        ctx.env
    );
    assert_eq!(a["_links"]["self"]["href"], href);
    assert_eq!(a["_links"]["otp.check"]["href"], href);
    assert_eq!(a["_links"]["device.select"]["href"], href);
    assert!(a["expiresAt"].is_string() && a["createdAt"].is_string());
    let code = a["test"]["otp"].as_str().unwrap().to_string();
    assert!(ctx.emu.outbox().is_empty(), "test-mode OTPs are not sent");

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = ctx.da_action(id, OTP_CHECK, json!({"otp": wrong})).await;
    let e = assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(e["details"][0]["code"], "INVALID_OTP");
    assert_eq!(e["details"][0]["target"], "otp");
    assert_eq!(e["details"][0]["innerError"]["remainingAttempts"], 2);
    let r = ctx
        .da_action(id, "application/json", json!({"otp": code}))
        .await;
    assert_error(&r, 415, "INVALID_REQUEST");

    let r = ctx.da_action(id, OTP_CHECK, json!({"otp": code})).await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let c = r.json();
    assert_eq!(c["status"], "COMPLETED");
    assert_eq!(c["authenticators"], json!(["sms"]));
    assert!(c.get("test").is_none());
    assert!(c["_links"].get("otp.check").is_none());

    let r = ctx.read_da(id).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "COMPLETED");
    let r = ctx.da_action(id, OTP_CHECK, json!({"otp": code})).await;
    assert_error(&r, 400, "REQUEST_FAILED");
    assert_error(&ctx.read_da("unknown").await, 404, "NOT_FOUND");

    // Device authentications expire after 10 minutes (then 404).
    ctx.emu.advance_clock(Duration::from_secs(601));
    assert_error(&ctx.read_da(id).await, 404, "NOT_FOUND");
    ctx.stop().await;
}

#[tokio::test]
async fn device_selection_with_two_devices() {
    let ctx = start().await;
    let u = ctx.user(1);
    let email = ctx
        .create(&u, json!({"type": "EMAIL", "email": "bob@example.com"}))
        .await;
    let sms = ctx
        .create(
            &u,
            json!({"type": "SMS", "phone": "+15125550102", "testMode": true}),
        )
        .await;
    let (eid, sid) = (email["id"].as_str().unwrap(), sms["id"].as_str().unwrap());

    // With an order, the default (first) device is used at once.
    let a = ctx.start_da(json!({"user": {"id": u}})).await;
    assert_eq!(a["selectedDevice"]["id"], eid);
    assert_eq!(a["status"], "OTP_REQUIRED");
    // selectedDevice.id picks another one.
    let a = ctx
        .start_da(json!({"user": {"id": u}, "selectedDevice": {"id": sid}}))
        .await;
    assert_eq!(a["selectedDevice"]["id"], sid);
    let r = ctx
        .post(
            &ctx.da_path(),
            "application/json",
            &json!({"user": {"id": u}, "selectedDevice": {"id": "nope"}}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "selectedDevice.id"
    );

    // Without an order: DEVICE_SELECTION_REQUIRED.
    let r = ctx
        .post(
            &ctx.p(&format!("/users/{u}/devices")),
            ORDER_REMOVE,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 204);
    let a = ctx.start_da(json!({"user": {"id": u}})).await;
    assert_eq!(a["status"], "DEVICE_SELECTION_REQUIRED", "{a}");
    assert!(a.get("selectedDevice").is_none());
    assert!(a["_links"].get("otp.check").is_none());
    let devs = a["_embedded"]["devices"].as_array().unwrap();
    assert_eq!(devs.len(), 2);
    assert!(devs.iter().any(|d| d["email"] == "b**@example.com"));
    let id = a["id"].as_str().unwrap();

    let r = ctx.da_action(id, OTP_CHECK, json!({"otp": "123456"})).await;
    assert_error(&r, 400, "REQUEST_FAILED");
    let r = ctx
        .da_action(id, SELECT, json!({"device": {"id": "nope"}}))
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "device.id"
    );
    let r = ctx
        .da_action(
            id,
            SELECT,
            json!({"device": {"id": eid}, "compatibility": "BOGUS"}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");

    let r = ctx
        .da_action(id, SELECT, json!({"device": {"id": eid}}))
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let s = r.json();
    assert_eq!(s["status"], "OTP_REQUIRED");
    assert_eq!(s["selectedDevice"]["id"], eid);
    assert!(s.get("test").is_none());
    let sent = ctx.emu.outbox().last().cloned().unwrap();
    assert_eq!(sent.purpose, "AUTHENTICATION");
    assert_eq!(sent.to, "bob@example.com");
    assert_eq!(sent.channel, "EMAIL");
    assert_eq!(sent.device_id, eid);

    // Switch to the SMS device from OTP_REQUIRED, then back.
    let r = ctx
        .da_action(id, SELECT, json!({"device": {"id": sid}}))
        .await;
    assert!(r.json()["test"]["otp"].is_string());
    let r = ctx
        .da_action(id, SELECT, json!({"device": {"id": eid}}))
        .await;
    assert_eq!(r.status, 200);
    let sent = ctx.emu.outbox().last().cloned().unwrap();
    let r = ctx.da_action(id, OTP_CHECK, json!({"otp": sent.otp})).await;
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json()["authenticators"], json!(["email"]));
    let r = ctx
        .da_action(id, SELECT, json!({"device": {"id": eid}}))
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");
    ctx.stop().await;
}

#[tokio::test]
async fn failures_lock_the_device_then_no_usable_devices_until_cooldown() {
    let ctx = start().await;
    let u = ctx.user(2);
    let d = ctx
        .create(
            &u,
            json!({"type": "SMS", "phone": "+15125550103", "testMode": true}),
        )
        .await;
    let did = d["id"].as_str().unwrap();
    let a = ctx.start_da(json!({"user": {"id": u}})).await;
    let id = a["id"].as_str().unwrap();
    let code = a["test"]["otp"].as_str().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for remaining in [2, 1, 0] {
        let r = ctx.da_action(id, OTP_CHECK, json!({"otp": wrong})).await;
        let e = assert_error(&r, 400, "INVALID_DATA");
        assert_eq!(
            e["details"][0]["innerError"]["remainingAttempts"],
            remaining
        );
    }
    let f = ctx.read_da(id).await.json();
    assert_eq!(f["status"], "FAILED");
    assert_eq!(f["error"]["code"], "TOO_MANY_ATTEMPTS");
    // The right code no longer helps.
    let r = ctx.da_action(id, OTP_CHECK, json!({"otp": code})).await;
    assert_error(&r, 400, "REQUEST_FAILED");

    let dev = ctx
        .get(&ctx.p(&format!("/users/{u}/devices/{did}")))
        .await
        .json();
    assert_eq!(dev["lock"]["status"], "LOCKED");
    assert_eq!(dev["lock"]["reason"], "OTP");
    assert!(dev["lock"]["expiresAt"].is_string());

    let n = ctx.start_da(json!({"user": {"id": u}})).await;
    assert_eq!(n["status"], "FAILED");
    assert_eq!(n["error"]["code"], "NO_USABLE_DEVICES");
    assert_eq!(
        n["error"]["message"],
        format!("Couldn't find authenticating device for user: {u}")
    );
    assert_eq!(n["error"]["unavailableDevices"], json!([{"id": did}]));
    // Selecting the locked device explicitly fails the same way.
    let n = ctx
        .start_da(json!({"user": {"id": u}, "selectedDevice": {"id": did}}))
        .await;
    assert_eq!(n["error"]["code"], "NO_USABLE_DEVICES");

    // Policy coolDown is 2 minutes.
    ctx.emu.advance_clock(Duration::from_secs(60));
    assert_eq!(
        ctx.start_da(json!({"user": {"id": u}})).await["status"],
        "FAILED"
    );
    ctx.emu.advance_clock(Duration::from_secs(61));
    let dev = ctx
        .get(&ctx.p(&format!("/users/{u}/devices/{did}")))
        .await
        .json();
    assert!(dev.get("lock").is_none(), "{dev}");
    let ok = ctx.start_da(json!({"user": {"id": u}})).await;
    assert_eq!(ok["status"], "OTP_REQUIRED");

    // A user without devices: NO_USABLE_DEVICES without unavailableDevices.
    let other = ctx.user(0);
    let n = ctx.start_da(json!({"user": {"id": other}})).await;
    assert_eq!(n["error"]["code"], "NO_USABLE_DEVICES");
    assert!(n["error"].get("unavailableDevices").is_none());
    let r = ctx
        .post(
            &ctx.da_path(),
            "application/json",
            &json!({"user": {"id": "nobody"}}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "user.id"
    );
    ctx.stop().await;
}

#[tokio::test]
async fn one_time_sms_and_email_devices() {
    let ctx = start().await;
    let u = ctx.user(0);
    let a = ctx
        .start_da(json!({"user": {"id": u}, "selectedDevice": {"oneTime": {"type": "SMS", "phone": "+15125550199", "testMode": true}}}))
        .await;
    assert_eq!(a["status"], "OTP_REQUIRED");
    assert_eq!(a["selectedDevice"], json!({"oneTime": {"type": "SMS"}}));
    let r = ctx
        .da_action(
            a["id"].as_str().unwrap(),
            OTP_CHECK,
            json!({"otp": a["test"]["otp"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json()["authenticators"], json!(["sms"]));

    let a = ctx
        .start_da(json!({"user": {"id": u}, "selectedDevice": {"oneTime": {"type": "EMAIL", "email": "once@example.com"}}}))
        .await;
    assert!(a.get("test").is_none());
    let sent = ctx.emu.outbox().last().cloned().unwrap();
    assert_eq!(
        (sent.to.as_str(), sent.device_id.as_str()),
        ("once@example.com", "")
    );
    let r = ctx
        .da_action(
            a["id"].as_str().unwrap(),
            OTP_CHECK,
            json!({"otp": sent.otp}),
        )
        .await;
    assert_eq!(r.json()["authenticators"], json!(["email"]));

    for bad in [
        json!({"oneTime": {"type": "TOTP"}}),
        json!({"oneTime": {"type": "SMS", "phone": "12"}}),
        json!({"oneTime": {"type": "EMAIL"}}),
    ] {
        let r = ctx
            .post(
                &ctx.da_path(),
                "application/json",
                &json!({"user": {"id": u}, "selectedDevice": bad}),
            )
            .await;
        assert_error(&r, 400, "INVALID_DATA");
    }
    ctx.stop().await;
}

#[tokio::test]
async fn totp_authentication_and_upfront_otp() {
    let ctx = start().await;
    let u = ctx.user(1);
    let d = ctx.create(&u, json!({"type": "TOTP"})).await;
    let did = d["id"].as_str().unwrap();
    let secret = otp::base32_decode(d["secret"].as_str().unwrap()).unwrap();
    let now = || ctx.emu.state().now_ms();
    let r = ctx
        .activate(&u, did, json!({"otp": otp::totp(&secret, now())}))
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));

    let a = ctx.start_da(json!({"user": {"id": u}})).await;
    assert_eq!(a["status"], "OTP_REQUIRED");
    assert!(a.get("test").is_none());
    let id = a["id"].as_str().unwrap();
    let wrong = format!(
        "{:06}",
        (otp::totp(&secret, now()).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let r = ctx.da_action(id, OTP_CHECK, json!({"otp": wrong})).await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_OTP"
    );
    let r = ctx
        .da_action(id, OTP_CHECK, json!({"otp": otp::totp(&secret, now())}))
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json()["authenticators"], json!(["otp"]));

    // An OTP given up front completes at once...
    let a = ctx
        .start_da(json!({"user": {"id": u}, "otp": otp::totp(&secret, now())}))
        .await;
    assert_eq!(a["status"], "COMPLETED");
    assert_eq!(a["selectedDevice"]["id"], did);
    assert_eq!(a["authenticators"], json!(["otp"]));
    // ... or is refused.
    let r = ctx
        .post(
            &ctx.da_path(),
            "application/json",
            &json!({"user": {"id": u}, "otp": wrong}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_OTP"
    );
    ctx.stop().await;
}

#[tokio::test]
async fn fido2_register_and_authenticate_with_soft_authenticator() {
    let ctx = start().await;
    let u = ctx.user(2);
    let mut authn = SoftAuthenticator::new(11);
    let did = ctx
        .fido_device(&u, &mut authn, AttestationFormat::None)
        .await;
    let dev = ctx
        .get(&ctx.p(&format!("/users/{u}/devices/{did}")))
        .await
        .json();
    assert_eq!(dev["status"], "ACTIVE");

    let a = ctx.start_da(json!({"user": {"id": u}})).await;
    assert_eq!(a["status"], "ASSERTION_REQUIRED", "{a}");
    assert_eq!(a["_embedded"]["devices"][0]["rp"]["id"], "example.com");
    let id = a["id"].as_str().unwrap();
    assert!(a["_links"]["assertion.check"].is_object());
    let opts_s = a["publicKeyCredentialRequestOptions"]
        .as_str()
        .unwrap()
        .to_string();
    let opts: Value = serde_json::from_str(&opts_s).unwrap();
    assert_eq!(opts["rpId"], "example.com");
    assert_eq!(opts["timeout"], 120000);
    assert_eq!(opts["userVerification"], "preferred");
    assert_eq!(
        fido::bytes_from_signed(&opts["allowCredentials"][0]["id"]).unwrap(),
        authn.credential_ids()[0]
    );
    assert_eq!(
        fido::bytes_from_signed(&opts["challenge"]).unwrap().len(),
        32
    );

    let stale = authn.clone();
    let assertion = authn.get(&opts_s, ORIGIN).unwrap();
    // Bad signature: flip one byte of the DER signature's last integer.
    let mut tampered: Value = serde_json::from_str(&assertion).unwrap();
    let mut sig = fido::b64url_decode(tampered["response"]["signature"].as_str().unwrap()).unwrap();
    let n = sig.len();
    sig[n - 1] ^= 0x01;
    tampered["response"]["signature"] = json!(b64(&sig));
    let r = ctx
        .da_action(
            id,
            ASSERTION,
            json!({"origin": ORIGIN, "assertion": tampered.to_string()}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_SIGNATURE"
    );
    // Wrong origin.
    let evil = authn
        .clone()
        .get(&opts_s, "https://evil.example.org")
        .unwrap();
    let r = ctx
        .da_action(
            id,
            ASSERTION,
            json!({"origin": "https://evil.example.org", "assertion": evil}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_ORIGIN"
    );
    // Origin that does not match clientData.
    let r = ctx
        .da_action(
            id,
            ASSERTION,
            json!({"origin": "https://other.example.com", "assertion": assertion}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_ORIGIN"
    );
    let r = ctx
        .da_action(id, ASSERTION, json!({"origin": ORIGIN, "assertion": "{}"}))
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_ASSERTION"
    );
    let r = ctx
        .da_action(id, ASSERTION, json!({"origin": ORIGIN}))
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(ctx.read_da(id).await.json()["status"], "ASSERTION_REQUIRED");

    let r = ctx
        .da_action(
            id,
            ASSERTION,
            json!({"origin": ORIGIN, "assertion": assertion, "compatibility": "FULL"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let c = r.json();
    assert_eq!(c["status"], "COMPLETED");
    assert_eq!(c["authenticators"], json!(["fido"]));
    assert!(c.get("publicKeyCredentialRequestOptions").is_none());
    let r = ctx
        .da_action(
            id,
            ASSERTION,
            json!({"origin": ORIGIN, "assertion": assertion}),
        )
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");

    // A cloned authenticator repeats a counter: refused.
    let mut stale = stale;
    let a = ctx.start_da(json!({"user": {"id": u}})).await;
    let id = a["id"].as_str().unwrap();
    let opts_s = a["publicKeyCredentialRequestOptions"].as_str().unwrap();
    let replay = stale.get(opts_s, ORIGIN).unwrap();
    let r = ctx
        .da_action(
            id,
            ASSERTION,
            json!({"origin": ORIGIN, "assertion": replay}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_SIGN_COUNT"
    );
    // The assertion of the previous authentication (old challenge).
    let r = ctx
        .da_action(
            id,
            ASSERTION,
            json!({"origin": ORIGIN, "assertion": assertion}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_CHALLENGE"
    );
    let fresh = authn.get(opts_s, ORIGIN).unwrap();
    let r = ctx
        .da_action(id, ASSERTION, json!({"origin": ORIGIN, "assertion": fresh}))
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));

    // compatibility NONE refuses FIDO devices on selection.
    let r = ctx
        .post(
            &ctx.p(&format!("/users/{u}/devices")),
            ORDER_REMOVE,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 204);
    ctx.create(&u, json!({"type": "EMAIL", "email": "carol@example.com"}))
        .await;
    let a = ctx.start_da(json!({"user": {"id": u}})).await;
    assert_eq!(a["status"], "DEVICE_SELECTION_REQUIRED");
    let id = a["id"].as_str().unwrap();
    let r = ctx
        .da_action(
            id,
            SELECT,
            json!({"device": {"id": did}, "compatibility": "NONE"}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "compatibility"
    );
    let r = ctx
        .da_action(
            id,
            SELECT,
            json!({"device": {"id": did}, "compatibility": "FULL"}),
        )
        .await;
    assert_eq!(r.json()["status"], "ASSERTION_REQUIRED");
    ctx.stop().await;
}

#[tokio::test]
async fn fido2_packed_attestation_and_bad_attestations() {
    let ctx = start().await;
    let u = ctx.user(0);
    let mut authn = SoftAuthenticator::new(5);
    let did = ctx
        .fido_device(&u, &mut authn, AttestationFormat::PackedSelf)
        .await;
    let a = ctx
        .start_da(json!({"user": {"id": u}, "selectedDevice": {"id": did}}))
        .await;
    let opts_s = a["publicKeyCredentialRequestOptions"].as_str().unwrap();
    let assertion = authn.get(opts_s, ORIGIN).unwrap();
    let r = ctx
        .da_action(
            a["id"].as_str().unwrap(),
            ASSERTION,
            json!({"origin": ORIGIN, "assertion": assertion}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));

    // Attestations that do not verify.
    let d = ctx
        .create(
            &u,
            json!({"type": "FIDO2", "rp": {"id": "example.com", "name": "Example"}}),
        )
        .await;
    let id = d["id"].as_str().unwrap();
    let opts_s = d["publicKeyCredentialCreationOptions"].as_str().unwrap();
    let good = SoftAuthenticator::new(6)
        .create(opts_s, ORIGIN, AttestationFormat::PackedSelf)
        .unwrap();
    let good: Value = serde_json::from_str(&good).unwrap();
    // rawId that is not the credential in authData.
    let mut other_id = good.clone();
    other_id["rawId"] = json!(b64(b"another-credential"));
    // A packed attestation whose attestationObject comes from another key.
    let mut other_key = good.clone();
    let foreign: Value = serde_json::from_str(
        &SoftAuthenticator::new(7)
            .create(opts_s, ORIGIN, AttestationFormat::PackedSelf)
            .unwrap(),
    )
    .unwrap();
    other_key["response"]["attestationObject"] = foreign["response"]["attestationObject"].clone();
    // Garbage CBOR.
    let mut garbage = good.clone();
    garbage["response"]["attestationObject"] = json!(b64(&[0xa1, 0x63]));
    for bad in [other_id, other_key, garbage] {
        let r = ctx
            .activate(
                &u,
                id,
                json!({"origin": ORIGIN, "attestation": bad.to_string()}),
            )
            .await;
        let e = assert_error(&r, 400, "INVALID_DATA");
        assert_eq!(e["details"][0]["code"], "INVALID_VALUE", "{e}");
        assert_eq!(e["details"][0]["target"], "attestation", "{e}");
    }
    let r = ctx
        .activate(
            &u,
            id,
            json!({"origin": ORIGIN, "attestation": good.to_string()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    ctx.stop().await;
}

#[tokio::test]
async fn usernameless_and_custom_challenge() {
    let ctx = start().await;
    let u = ctx.user(1);
    let mut authn = SoftAuthenticator::new(21);
    let did = ctx
        .fido_device(&u, &mut authn, AttestationFormat::None)
        .await;

    let a = ctx.start_da(json!({"rp": {"id": "example.com"}})).await;
    assert_eq!(a["status"], "ASSERTION_REQUIRED", "{a}");
    assert!(a.get("user").is_none());
    assert!(a["_links"].get("device.select").is_none());
    let opts_s = a["publicKeyCredentialRequestOptions"].as_str().unwrap();
    let opts: Value = serde_json::from_str(opts_s).unwrap();
    assert!(opts.get("allowCredentials").is_none());
    assert_eq!(opts["rpId"], "example.com");
    let assertion = authn.get(opts_s, ORIGIN).unwrap();
    let v: Value = serde_json::from_str(&assertion).unwrap();
    assert_eq!(
        fido::b64url_decode(v["response"]["userHandle"].as_str().unwrap()).unwrap(),
        u.as_bytes()
    );
    let r = ctx
        .da_action(
            a["id"].as_str().unwrap(),
            ASSERTION,
            json!({"origin": ORIGIN, "assertion": assertion}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let c = r.json();
    assert_eq!(c["status"], "COMPLETED");
    assert_eq!(c["user"]["id"], u);
    assert_eq!(c["selectedDevice"]["id"], did);

    // An unknown credential (another authenticator) is refused.
    let a = ctx.start_da(json!({"rp": {"id": "example.com"}})).await;
    let opts_s = a["publicKeyCredentialRequestOptions"].as_str().unwrap();
    let mut stranger = SoftAuthenticator::new(99);
    let copts = fido::creation_options(&[1; 32], "example.com", "Ex", "x", "x", "x", None);
    stranger
        .create(&copts, ORIGIN, AttestationFormat::None)
        .unwrap();
    let r = ctx
        .da_action(
            a["id"].as_str().unwrap(),
            ASSERTION,
            json!({"origin": ORIGIN, "assertion": stranger.get(opts_s, ORIGIN).unwrap()}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_CREDENTIAL"
    );

    // Custom challenge (base64url, at least 32 bytes).
    let ch: Vec<u8> = (0..40u8).collect();
    let a = ctx
        .start_da(json!({"user": {"id": u}, "challenge": b64(&ch)}))
        .await;
    let opts: Value =
        serde_json::from_str(a["publicKeyCredentialRequestOptions"].as_str().unwrap()).unwrap();
    assert_eq!(fido::bytes_from_signed(&opts["challenge"]).unwrap(), ch);
    let assertion = authn
        .get(
            a["publicKeyCredentialRequestOptions"].as_str().unwrap(),
            ORIGIN,
        )
        .unwrap();
    let r = ctx
        .da_action(
            a["id"].as_str().unwrap(),
            ASSERTION,
            json!({"origin": ORIGIN, "assertion": assertion}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let r = ctx
        .post(
            &ctx.da_path(),
            "application/json",
            &json!({"user": {"id": u}, "challenge": b64(&[1; 16])}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "challenge"
    );
    // RP ID override that the credential was not registered for.
    let a = ctx
        .start_da(json!({"user": {"id": u}, "rp": {"id": "login.example.com"}}))
        .await;
    let opts_s = a["publicKeyCredentialRequestOptions"].as_str().unwrap();
    assert!(
        authn.get(opts_s, ORIGIN).is_err(),
        "no credential for that RP ID"
    );
    ctx.stop().await;
}

#[tokio::test]
async fn push_approve_deny_timeout_and_cancel() {
    let ctx = start().await;
    let u = ctx.user(0);
    let mid = ctx.mobile_device(&u).await;
    let dev = ctx
        .get(&ctx.p(&format!("/users/{u}/devices/{mid}")))
        .await
        .json();
    assert_eq!(dev["type"], "MOBILE");
    assert_eq!(dev["status"], "ACTIVE");
    assert_eq!(dev["pushEnabled"], true);
    assert_eq!(dev["application"]["id"], ctx.emu.seed().application_id);
    assert_eq!(dev["usableStatus"]["status"], "ENABLED");

    let a = ctx.start_da(json!({"user": {"id": u}})).await;
    assert_eq!(a["status"], "PUSH_CONFIRMATION_REQUIRED", "{a}");
    assert_eq!(a["_embedded"]["devices"][0]["os"]["type"], "iOS");
    let id = a["id"].as_str().unwrap();
    let r = ctx
        .control(
            &format!("/deviceAuthentications/{id}/push"),
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.json()["status"], "COMPLETED");
    assert_eq!(
        ctx.read_da(id).await.json()["authenticators"],
        json!(["push"])
    );
    let r = ctx
        .control(
            &format!("/deviceAuthentications/{id}/push"),
            json!({"action": "approve"}),
        )
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");
    let r = ctx
        .da_action(id, CANCEL, json!({"reason": "SIGNOUT"}))
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");

    let id = ctx.start_da(json!({"user": {"id": u}})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = ctx.emu.push(&ctx.env, &id, "deny").unwrap();
    assert_eq!(d["status"], "FAILED");
    assert_eq!(d["error"]["code"], "PUSH_DENIED");
    assert!(ctx
        .emu
        .push(&ctx.env, &id, "approve")
        .unwrap_err()
        .starts_with("400"));

    let id = ctx.start_da(json!({"user": {"id": u}})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = ctx
        .control(
            &format!("/deviceAuthentications/{id}/push"),
            json!({"action": "shrug"}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    let r = ctx
        .control(
            &format!("/deviceAuthentications/{id}/push"),
            json!({"action": "timeout"}),
        )
        .await;
    let t = r.json();
    assert_eq!(t["status"], "PUSH_CONFIRMATION_TIMED_OUT");
    assert!(t["_links"]["device.select"].is_object());
    // Select again: a new push.
    let r = ctx
        .da_action(&id, SELECT, json!({"device": {"id": mid}}))
        .await;
    assert_eq!(r.json()["status"], "PUSH_CONFIRMATION_REQUIRED");
    // Cancel: reason required and checked; back to device selection.
    let r = ctx.da_action(&id, CANCEL, json!({})).await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "REQUIRED_VALUE"
    );
    let r = ctx.da_action(&id, CANCEL, json!({"reason": "BORED"})).await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "reason"
    );
    let r = ctx
        .da_action(&id, CANCEL, json!({"reason": "CHANGE_DEVICE"}))
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let c = r.json();
    assert_eq!(c["status"], "DEVICE_SELECTION_REQUIRED");
    assert_eq!(c["_embedded"]["devices"][0]["id"], mid);
    let r = ctx
        .control(
            &format!("/deviceAuthentications/{id}/push"),
            json!({"action": "approve"}),
        )
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");
    let r = ctx
        .control(
            "/deviceAuthentications/unknown/push",
            json!({"action": "approve"}),
        )
        .await;
    assert_error(&r, 404, "NOT_FOUND");
    ctx.stop().await;
}

#[tokio::test]
async fn pairing_keys_create_read_delete_limit_expiry_claim() {
    let ctx = start().await;
    let u = ctx.user(1);
    let base = ctx.p(&format!("/users/{u}/pairingKeys"));
    let app = ctx.emu.seed().application_id.clone();
    let r = ctx
        .post(
            &base,
            "application/json",
            &json!({"applications": [{"id": app}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", body(&r));
    let k = r.json();
    let code = k["code"].as_str().unwrap();
    assert_eq!(code.len(), 14);
    assert!(code.bytes().all(|c| c.is_ascii_digit()));
    assert_eq!(k["status"], "UNCLAIMED");
    assert_eq!(k["applications"], json!([{"id": app}]));
    assert_eq!(k["user"]["id"], u);
    assert_eq!(k["environment"]["id"], ctx.env);
    assert!(k["expiresAt"].is_string() && k["_links"]["self"]["href"].is_string());
    let kid = k["id"].as_str().unwrap();

    let r = ctx.get(&format!("{base}/{kid}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["code"], code);
    let r = ctx.delete(&format!("{base}/{kid}")).await;
    assert_eq!(r.status, 204);
    assert_error(&ctx.get(&format!("{base}/{kid}")).await, 404, "NOT_FOUND");
    let r = ctx.post(&base, "text/plain", &json!({})).await;
    assert_error(&r, 415, "INVALID_REQUEST");
    let r = ctx
        .post(
            &base,
            "application/json",
            &json!({"applications": [{"id": "nope"}]}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "applications[0].id"
    );

    // At most 20 valid keys.
    let mut first = String::new();
    for i in 0..20 {
        let r = ctx.post(&base, "application/json", &json!({})).await;
        assert_eq!(r.status, 201, "{i}: {}", body(&r));
        if i == 0 {
            first = r.json()["id"].as_str().unwrap().to_string();
        }
    }
    let r = ctx.post(&base, "application/json", &json!({})).await;
    assert_eq!(
        assert_error(&r, 400, "REQUEST_FAILED")["details"][0]["code"],
        "LIMIT_EXCEEDED"
    );
    // Keys expire after 10 minutes: purged, and they no longer count.
    ctx.emu.advance_clock(Duration::from_secs(601));
    assert_error(&ctx.get(&format!("{base}/{first}")).await, 404, "NOT_FOUND");
    let r = ctx.post(&base, "application/json", &json!({})).await;
    assert_eq!(r.status, 201);
    let k = r.json();

    // Claim: a MOBILE device for the user; the key is CLAIMED.
    let r = ctx
        .control("/pairingKeys/claim", json!({"code": "00000000000000"}))
        .await;
    assert_error(&r, 404, "NOT_FOUND");
    let r = ctx
        .control(
            "/pairingKeys/claim",
            json!({"code": k["code"], "os": {"type": "Android", "version": "14"}, "model": {"name": "Pixel 8", "marketingName": "Pixel 8"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let dev = r.json();
    assert_eq!(dev["type"], "MOBILE");
    assert_eq!(dev["os"]["type"], "Android");
    assert_eq!(dev["otpEnabled"], true);
    let kid = k["id"].as_str().unwrap();
    let claimed = ctx.get(&format!("{base}/{kid}")).await.json();
    assert_eq!(claimed["status"], "CLAIMED");
    let r = ctx.delete(&format!("{base}/{kid}")).await;
    assert_error(&r, 400, "REQUEST_FAILED");
    let r = ctx
        .control("/pairingKeys/claim", json!({"code": k["code"]}))
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");
    let list = ctx.list(&u, "?expand=order").await;
    assert_eq!(
        order_ids(&list),
        vec![dev["id"].as_str().unwrap().to_string()]
    );

    // The in-process helper does the same.
    let r = ctx.post(&base, "application/json", &json!({})).await;
    let d2 = ctx
        .emu
        .claim_pairing_key(&ctx.env, r.json()["code"].as_str().unwrap())
        .unwrap();
    assert_eq!(d2["type"], "MOBILE");
    assert!(ctx
        .emu
        .claim_pairing_key(&ctx.env, "nope")
        .unwrap_err()
        .starts_with("404"));
    ctx.stop().await;
}

#[tokio::test]
async fn authentication_codes_create_read_claim_approve_expiry() {
    let ctx = start().await;
    let path = format!("/{}/authenticationCodes", ctx.env);
    let app = ctx.emu.seed().application_id.clone();
    let u = ctx.user(2);
    let mid = ctx.mobile_device(&u).await;

    let r = ctx
        .post(&path, "application/json", &json!({"application": {"id": app}, "clientContext": {"header": "Sign in", "body": "to Example"}}))
        .await;
    assert_eq!(r.status, 201, "{}", body(&r));
    let c = r.json();
    let code = c["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    assert!(code
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
    assert_eq!(c["uri"], format!("pingonesdk?authentication_code={code}"));
    assert_eq!(c["status"], "UNCLAIMED");
    assert_eq!(c["userApproval"], "REQUIRED");
    assert_eq!(c["lifeTime"], json!({"duration": 1, "timeUnit": "MINUTES"}));
    assert_eq!(c["clientContext"]["header"], "Sign in");
    assert_eq!(c["application"]["id"], app);
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(
        c["_links"]["self"]["href"],
        format!(
            "{}/{}/authenticationCodes/{id}",
            ctx.emu.auth_url(),
            ctx.env
        )
    );
    let r = ctx.get(&format!("{path}/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["code"], code);
    assert_error(&ctx.get(&format!("{path}/nope")).await, 404, "NOT_FOUND");

    // Validation.
    for (b, target) in [
        (json!({}), "application.id"),
        (json!({"application": {"id": "nope"}}), "application.id"),
        (
            json!({"application": {"id": app}, "lifeTime": {"duration": 5, "timeUnit": "SECONDS"}}),
            "lifeTime.duration",
        ),
        (
            json!({"application": {"id": app}, "lifeTime": {"duration": 31, "timeUnit": "MINUTES"}}),
            "lifeTime.duration",
        ),
        (
            json!({"application": {"id": app}, "lifeTime": {"duration": 30}}),
            "lifeTime.duration",
        ),
        (
            json!({"application": {"id": app}, "userApproval": "MAYBE"}),
            "userApproval",
        ),
    ] {
        let r = ctx.post(&path, "application/json", &b).await;
        assert_eq!(
            assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
            target,
            "{b}"
        );
    }
    let r = ctx.post(&path, "text/plain", &json!({})).await;
    assert_error(&r, 415, "INVALID_REQUEST");

    // Claim then approve.
    let r = ctx
        .control(
            "/authenticationCodes/claim",
            json!({"code": code, "userId": u}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let cl = r.json();
    assert_eq!(cl["status"], "CLAIMED");
    assert_eq!(cl["user"]["id"], u);
    assert_eq!(cl["_embedded"]["device"]["id"], mid);
    assert_eq!(cl["_embedded"]["device"]["os"]["type"], "iOS");
    assert!(cl["_embedded"]["device"]["application"]["nativeName"].is_string());
    let r = ctx
        .control(
            "/authenticationCodes/claim",
            json!({"code": code, "userId": u}),
        )
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");
    let r = ctx
        .control(
            &format!("/authenticationCodes/{id}/approve"),
            json!({"approve": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(
        ctx.get(&format!("{path}/{id}")).await.json()["status"],
        "COMPLETED"
    );
    let r = ctx
        .control(
            &format!("/authenticationCodes/{id}/approve"),
            json!({"approve": true}),
        )
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");

    // Deny (in-process helpers).
    let c2 = ctx
        .post(
            &path,
            "application/json",
            &json!({"application": {"id": app}}),
        )
        .await
        .json();
    ctx.emu
        .claim_authentication_code(&ctx.env, c2["code"].as_str().unwrap(), &u, Some(&mid))
        .unwrap();
    let d = ctx
        .emu
        .approve_authentication_code(&ctx.env, c2["id"].as_str().unwrap(), false)
        .unwrap();
    assert_eq!(d["status"], "DENIED");

    // NOT_REQUIRED completes at the claim; a user without a MOBILE device cannot claim.
    let c3 = ctx
        .post(&path, "application/json", &json!({"application": {"id": app}, "userApproval": "NOT_REQUIRED", "lifeTime": {"duration": 10, "timeUnit": "SECONDS"}}))
        .await
        .json();
    assert_eq!(
        c3["lifeTime"],
        json!({"duration": 10, "timeUnit": "SECONDS"})
    );
    let r = ctx
        .control(
            "/authenticationCodes/claim",
            json!({"code": c3["code"], "userId": ctx.user(0)}),
        )
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");
    let r = ctx
        .control(
            "/authenticationCodes/claim",
            json!({"code": c3["code"], "userId": u}),
        )
        .await;
    assert_eq!(r.json()["status"], "COMPLETED");

    // Expiry: the status reads EXPIRED and the code can no longer be claimed.
    let c4 = ctx
        .post(&path, "application/json", &json!({"application": {"id": app}, "lifeTime": {"duration": 10, "timeUnit": "SECONDS"}}))
        .await
        .json();
    ctx.emu.advance_clock(Duration::from_secs(11));
    let r = ctx
        .get(&format!("{path}/{}", c4["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.json()["status"], "EXPIRED");
    let r = ctx
        .control(
            "/authenticationCodes/claim",
            json!({"code": c4["code"], "userId": u}),
        )
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");
    // Completed codes stay COMPLETED.
    assert_eq!(
        ctx.get(&format!("{path}/{id}")).await.json()["status"],
        "COMPLETED"
    );
    let r = ctx
        .control(
            "/authenticationCodes/claim",
            json!({"code": "ZZZZZZZZ", "userId": u}),
        )
        .await;
    assert_error(&r, 404, "NOT_FOUND");
    ctx.stop().await;
}
