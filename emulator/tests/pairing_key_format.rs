//! `mfaSettings.pairing.pairingKeyFormat` decides the shape of new pairing
//! key codes.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn pairing_key_codes_follow_the_format_setting() {
    let ctx = start().await;
    let u = ctx.user(0);
    let keys = ctx.p(&format!("/users/{u}/pairingKeys"));
    let settings = ctx.get(&ctx.p("/mfaSettings")).await.json();
    assert_eq!(settings["pairing"]["pairingKeyFormat"], "NUMERIC");
    let code = |v: serde_json::Value| v["code"].as_str().unwrap().to_string();

    let r = ctx.post(&keys, "application/json", &json!({})).await;
    assert_eq!(r.status, 201);
    let numeric = code(r.json());
    assert_eq!(numeric.len(), 14);
    assert!(numeric.bytes().all(|b| b.is_ascii_digit()), "{numeric}");

    let r = ctx
        .put(
            &ctx.p("/mfaSettings"),
            &json!({"pairing": {"maxAllowedDevices": 5, "pairingKeyFormat": "ALPHANUMERIC"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = ctx.post(&keys, "application/json", &json!({})).await;
    assert_eq!(r.status, 201);
    let alnum = code(r.json());
    assert_eq!(alnum.len(), 16);
    assert!(
        alnum
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
        "{alnum}"
    );
    // Such a key is claimed like any other.
    let device = ctx
        .emu
        .claim_pairing_key(&ctx.env, &alnum)
        .expect("claim the alphanumeric key");
    assert_eq!(device["type"], "MOBILE");
    ctx.stop().await;
}
