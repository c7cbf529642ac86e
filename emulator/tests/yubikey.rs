//! PingID YubiKey devices over real HTTP: created ACTIVATION_REQUIRED,
//! activated with a YubiKey OTP (which fixes the key's public ID), then
//! used in device authentications with later OTPs of the same key.

mod common;

use common::*;
use pingone_emulator::otp;
use serde_json::json;

const OTP_CHECK: &str = "application/vnd.pingidentity.otp.check+json";
const KEY: &str = "cccccbdefghi";
const OTHER_KEY: &str = "ccccclnrtuvv";

#[tokio::test]
async fn yubikey_activation_and_authentication() {
    let ctx = start().await;
    let u = ctx.user(0);

    // ACTIVE at creation is refused: the key must type an OTP first.
    let r = ctx
        .post(
            &ctx.p(&format!("/users/{u}/devices")),
            "application/json",
            &json!({"type": "YUBIKEY", "status": "ACTIVE"}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "status"
    );
    let d = ctx.create(&u, json!({"type": "YUBIKEY"})).await;
    assert_eq!(d["type"], "YUBIKEY");
    assert_eq!(d["status"], "ACTIVATION_REQUIRED");
    let id = d["id"].as_str().unwrap();

    // Not a YubiKey OTP: a 6-digit code, or 44 characters outside modhex.
    for bad in [
        "123456".to_string(),
        "a".repeat(44),
        otp::yubikey_otp(KEY, 0)[..43].to_string(),
    ] {
        let r = ctx.activate(&u, id, json!({"otp": bad})).await;
        assert_eq!(
            assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
            "INVALID_OTP"
        );
    }
    // Three wrong codes lock activation for the cool-down; move past it.
    ctx.emu
        .advance_clock(std::time::Duration::from_secs(3 * 60));
    let r = ctx
        .activate(&u, id, json!({"otp": otp::yubikey_otp(KEY, 1)}))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "ACTIVE");
    let list = ctx.list(&u, "?expand=order").await;
    assert_eq!(order_ids(&list), [id.to_string()]);

    // Authentication: OTP_REQUIRED, nothing sent.
    let path = format!("/{}/deviceAuthentications", ctx.env);
    let r = ctx
        .post(&path, "application/json", &json!({"user": {"id": u}}))
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let a = r.json();
    assert_eq!(a["status"], "OTP_REQUIRED");
    assert_eq!(a["selectedDevice"]["id"], id);
    assert!(a.get("test").is_none());
    let da = format!("{path}/{}", a["id"].as_str().unwrap());
    // Another key's OTP, and the activation OTP replayed, are refused.
    for bad in [otp::yubikey_otp(OTHER_KEY, 2), otp::yubikey_otp(KEY, 1)] {
        let r = ctx.post(&da, OTP_CHECK, &json!({"otp": bad})).await;
        assert_eq!(
            assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
            "INVALID_OTP"
        );
    }
    let fresh = otp::yubikey_otp(KEY, 2);
    let r = ctx.post(&da, OTP_CHECK, &json!({"otp": fresh})).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "COMPLETED");
    assert_eq!(r.json()["authenticators"], json!(["otp"]));

    // An OTP given up front completes at once; it cannot be used twice.
    let upfront = otp::yubikey_otp(KEY, 3);
    let r = ctx
        .post(
            &path,
            "application/json",
            &json!({"user": {"id": u}, "otp": upfront}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "COMPLETED");
    let r = ctx
        .post(
            &path,
            "application/json",
            &json!({"user": {"id": u}, "otp": upfront}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    ctx.stop().await;
}
