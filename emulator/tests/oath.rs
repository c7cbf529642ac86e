//! OATH_TOKEN devices over real HTTP: bound to the environment's seeded
//! OATH tokens by serial number, activated and used with the token's real
//! HOTP / TOTP codes.

mod common;

use std::time::Duration;

use common::*;
use pingone_emulator::oath::{OathKind, HOTP_LOOK_AHEAD};
use pingone_emulator::{Emulator, EmulatorConfig, SeedOathToken};
use serde_json::{json, Value};

const OTP_CHECK: &str = "application/vnd.pingidentity.otp.check+json";

fn token(emu: &Emulator, kind: OathKind) -> SeedOathToken {
    emu.seed()
        .oath_tokens
        .iter()
        .find(|t| t.kind == kind)
        .expect("a seeded token of each kind")
        .clone()
}

/// A 6-digit code that is not `code`.
fn other_than(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

fn detail(r: &Resp) -> Value {
    assert_error(r, 400, "INVALID_DATA")["details"][0].clone()
}

impl Ctx {
    async fn create_oath(&self, u: &str, serial: &str, status: &str) -> String {
        let d = self
            .create(
                u,
                json!({"type": "OATH_TOKEN", "serialNumber": serial, "status": status}),
            )
            .await;
        assert_eq!(d["serialNumber"], serial);
        assert_eq!(d["status"], status);
        d["id"].as_str().unwrap().to_string()
    }

    /// Starts a device authentication for `u` and returns its ID.
    async fn start_otp_auth(&self, u: &str) -> String {
        let r = self
            .post(
                &format!("/{}/deviceAuthentications", self.env),
                "application/json",
                &json!({"user": {"id": u}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let a = r.json();
        assert_eq!(a["status"], "OTP_REQUIRED", "{a}");
        a["id"].as_str().unwrap().to_string()
    }

    async fn check_otp(&self, da: &str, code: &str) -> Resp {
        self.post(
            &format!("/{}/deviceAuthentications/{da}", self.env),
            OTP_CHECK,
            &json!({"otp": code}),
        )
        .await
    }
}

#[tokio::test]
async fn seeded_tokens_are_listed_and_deterministic() {
    let emu = Emulator::start(EmulatorConfig {
        environments: 2,
        ..Default::default()
    })
    .await
    .unwrap();
    let seeds = emu.seeds();
    assert_eq!(seeds[0].oath_tokens[0].serial_number, "OATH-0001");
    assert!(seeds[0]
        .oath_tokens
        .iter()
        .any(|t| t.kind == OathKind::Hotp));
    assert!(seeds[0]
        .oath_tokens
        .iter()
        .any(|t| t.kind == OathKind::Totp));
    assert_ne!(
        seeds[0].oath_tokens[0].secret, seeds[1].oath_tokens[0].secret,
        "each environment has its own secrets"
    );
    let info = emu.startup_info();
    let listed = &info["oathTokens"][0];
    assert_eq!(listed["serialNumber"], "OATH-0001");
    assert_eq!(listed["type"], "HOTP");
    assert_eq!(listed["digits"], 6);
    assert_eq!(listed["secret"], seeds[0].oath_tokens[0].secret.as_str());
    assert_eq!(
        info["environments"][1]["oathTokens"][0]["secret"],
        seeds[1].oath_tokens[0].secret.as_str()
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_or_bound_serials_are_refused_and_deleting_releases() {
    let ctx = start().await;
    let (alice, bob) = (ctx.user(0), ctx.user(1));
    let devices = ctx.p(&format!("/users/{alice}/devices"));
    let r = ctx
        .post(
            &devices,
            "application/json",
            &json!({"type": "OATH_TOKEN", "serialNumber": "NOT-IMPORTED"}),
        )
        .await;
    let d = detail(&r);
    assert_eq!(d["code"], "INVALID_VALUE");
    assert_eq!(d["target"], "serialNumber");

    let serial = token(&ctx.emu, OathKind::Hotp).serial_number;
    let id = ctx.create_oath(&alice, &serial, "ACTIVE").await;
    // The same token for another user (or the same one) is refused.
    for u in [&bob, &alice] {
        let r = ctx
            .post(
                &ctx.p(&format!("/users/{u}/devices")),
                "application/json",
                &json!({"type": "OATH_TOKEN", "serialNumber": serial}),
            )
            .await;
        let d = detail(&r);
        assert_eq!(d["code"], "UNIQUENESS_VIOLATION");
        assert_eq!(d["target"], "serialNumber");
    }
    // Deleting the device releases the token.
    let r = ctx
        .delete(&ctx.p(&format!("/users/{alice}/devices/{id}")))
        .await;
    assert_eq!(r.status, 204);
    ctx.create_oath(&bob, &serial, "ACTIVE").await;
    ctx.stop().await;
}

#[tokio::test]
async fn hotp_activation_checks_the_code_and_counts_failures() {
    let ctx = start().await;
    let u = ctx.user(0);
    let t = token(&ctx.emu, OathKind::Hotp);
    let id = ctx
        .create_oath(&u, &t.serial_number, "ACTIVATION_REQUIRED")
        .await;

    // A wrong code: INVALID_OTP with the attempts left (policy count 3).
    let r = ctx
        .activate(&u, &id, json!({"otp": other_than(&t.hotp(0))}))
        .await;
    let d = detail(&r);
    assert_eq!(d["code"], "INVALID_OTP");
    assert_eq!(d["target"], "otp");
    assert_eq!(d["innerError"]["remainingAttempts"], 2);
    // Any six digits are no longer enough.
    let r = ctx.activate(&u, &id, json!({"otp": "123456"})).await;
    assert_eq!(detail(&r)["innerError"]["remainingAttempts"], 1);

    // The right code activates the device.
    let r = ctx.activate(&u, &id, json!({"otp": t.hotp(0)})).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "ACTIVE");

    // Authentication: the activation code cannot be used again; the next
    // counter's code completes.
    let da = ctx.start_otp_auth(&u).await;
    let r = ctx.check_otp(&da, &t.hotp(0)).await;
    let d = detail(&r);
    assert_eq!(d["code"], "INVALID_OTP");
    assert_eq!(d["innerError"]["remainingAttempts"], 2);
    let r = ctx.check_otp(&da, &t.hotp(1)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "COMPLETED");
    assert_eq!(r.json()["authenticators"], json!(["otp"]));

    // The same code in a new authentication: refused (reuse).
    let da = ctx.start_otp_auth(&u).await;
    assert_eq!(
        detail(&ctx.check_otp(&da, &t.hotp(1)).await)["code"],
        "INVALID_OTP"
    );
    ctx.stop().await;
}

#[tokio::test]
async fn hotp_look_ahead_and_resync() {
    let ctx = start().await;
    let u = ctx.user(0);
    let t = token(&ctx.emu, OathKind::Hotp);
    let id = ctx
        .create_oath(&u, &t.serial_number, "ACTIVATION_REQUIRED")
        .await;

    // Far ahead of the counter (button pressed many times): refused
    // without oathResync ...
    let far = 40;
    let r = ctx.activate(&u, &id, json!({"otp": t.hotp(far)})).await;
    assert_eq!(detail(&r)["code"], "INVALID_OTP");
    // oathResync is a boolean.
    let r = ctx
        .activate(&u, &id, json!({"otp": t.hotp(far), "oathResync": "yes"}))
        .await;
    assert_eq!(detail(&r)["target"], "oathResync");
    // ... and with oathResync the first code asks for the next one, which
    // activates the device and moves the counter.
    let r = ctx
        .activate(&u, &id, json!({"otp": t.hotp(far), "oathResync": true}))
        .await;
    let d = detail(&r);
    assert_eq!(d["code"], "INVALID_OTP");
    assert_eq!(d["innerError"]["resyncRequired"], true);
    let r = ctx
        .activate(&u, &id, json!({"otp": t.hotp(far + 1), "oathResync": true}))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "ACTIVE");

    // A few presses lost (within the look-ahead window): accepted.
    let da = ctx.start_otp_auth(&u).await;
    let skipped = far + 2 + HOTP_LOOK_AHEAD;
    let r = ctx.check_otp(&da, &t.hotp(skipped)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "COMPLETED");
    // Codes before the one accepted are now behind the counter.
    let da = ctx.start_otp_auth(&u).await;
    assert_eq!(
        detail(&ctx.check_otp(&da, &t.hotp(skipped - 1)).await)["code"],
        "INVALID_OTP"
    );
    // An OTP given up front is checked the same way.
    let r = ctx
        .post(
            &format!("/{}/deviceAuthentications", ctx.env),
            "application/json",
            &json!({"user": {"id": u}, "otp": t.hotp(skipped + 1)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "COMPLETED");
    ctx.stop().await;
}

#[tokio::test]
async fn totp_token_follows_the_emulator_clock() {
    let ctx = start().await;
    let u = ctx.user(0);
    let t = token(&ctx.emu, OathKind::Totp);
    let id = ctx
        .create_oath(&u, &t.serial_number, "ACTIVATION_REQUIRED")
        .await;
    let now = ctx.emu.state().now_ms();
    // Two steps away is outside the ±1 step window.
    let r = ctx
        .activate(&u, &id, json!({"otp": t.totp(now + 65_000)}))
        .await;
    assert_eq!(detail(&r)["code"], "INVALID_OTP");
    let r = ctx.activate(&u, &id, json!({"otp": t.totp(now)})).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // The activation code cannot be reused in the same step.
    let da = ctx.start_otp_auth(&u).await;
    assert_eq!(
        detail(&ctx.check_otp(&da, &t.totp(now)).await)["code"],
        "INVALID_OTP"
    );
    // A later step's code works once the clock gets there.
    ctx.emu.advance_clock(Duration::from_secs(30));
    let later = ctx.emu.state().now_ms();
    let r = ctx.check_otp(&da, &t.totp(later)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "COMPLETED");
    ctx.stop().await;
}

#[tokio::test]
async fn wrong_oath_codes_at_authentication_lock_the_device() {
    let ctx = start().await;
    let u = ctx.user(0);
    let t = token(&ctx.emu, OathKind::Hotp);
    let id = ctx.create_oath(&u, &t.serial_number, "ACTIVE").await;
    let da = ctx.start_otp_auth(&u).await;
    let wrong = other_than(&t.hotp(0));
    for remaining in [2, 1, 0] {
        let d = detail(&ctx.check_otp(&da, &wrong).await);
        assert_eq!(d["code"], "INVALID_OTP");
        assert_eq!(d["innerError"]["remainingAttempts"], remaining);
    }
    let r = ctx
        .get(&format!("/{}/deviceAuthentications/{da}", ctx.env))
        .await;
    assert_eq!(r.json()["status"], "FAILED");
    let device = ctx
        .get(&ctx.p(&format!("/users/{u}/devices/{id}")))
        .await
        .json();
    assert_eq!(device["lock"]["status"], "LOCKED");
    ctx.stop().await;
}
