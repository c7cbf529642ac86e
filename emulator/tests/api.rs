//! End-to-end tests over real HTTP on 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;
use pingone_emulator::authenticator::{AttestationFormat, SoftAuthenticator};
use pingone_emulator::{fido, otp, Emulator, EmulatorConfig};
use serde_json::{json, Value};

#[tokio::test]
async fn token_success_and_client_errors() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let s = emu.seed().clone();
    let port = emu.port();
    let path = format!("/{}/as/token", s.environment_id);
    let form = ("Content-Type", "application/x-www-form-urlencoded");

    // client_secret_basic
    let r = raw_request(
        port,
        "POST",
        &path,
        &[
            ("Authorization", &basic(&s.client_id, &s.client_secret)),
            form,
        ],
        b"grant_type=client_credentials",
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert!(v["access_token"].as_str().unwrap().len() > 20);
    assert!(v["scope"].is_string());

    // client_secret_post
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        s.client_id,
        percent(&s.client_secret)
    );
    let r = raw_request(port, "POST", &path, &[form], body.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // wrong secret
    let r = raw_request(
        port,
        "POST",
        &path,
        &[("Authorization", &basic(&s.client_id, "nope")), form],
        b"grant_type=client_credentials",
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(r.json()["error_description"].is_string());

    // no client authentication at all
    let r = raw_request(
        port,
        "POST",
        &path,
        &[form],
        b"grant_type=client_credentials",
    )
    .await;
    assert_eq!(r.status, 401);

    // wrong grant type
    let r = raw_request(
        port,
        "POST",
        &path,
        &[
            ("Authorization", &basic(&s.client_id, &s.client_secret)),
            form,
        ],
        b"grant_type=password",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "unsupported_grant_type");

    // unknown environment
    let r = raw_request(
        port,
        "POST",
        "/00000000-0000-4000-8000-000000000000/as/token",
        &[
            ("Authorization", &basic(&s.client_id, &s.client_secret)),
            form,
        ],
        b"grant_type=client_credentials",
    )
    .await;
    assert_error(&r, 404, "NOT_FOUND");

    assert_eq!(emu.stats().token_requests, 6);
    emu.shutdown().await;
}

#[tokio::test]
async fn bearer_token_is_required_and_scoped() {
    let ctx = start_with(EmulatorConfig {
        environments: 2,
        ..Default::default()
    })
    .await;
    let port = ctx.emu.port();
    let u = ctx.user(0);
    let path = ctx.p(&format!("/users/{u}/devices"));

    let r = raw_request(port, "GET", &path, &[], b"").await;
    let v = assert_error(&r, 401, "ACCESS_FAILED");
    assert_eq!(
        v["message"],
        "The request could not be completed. You do not have access to this resource."
    );
    assert_eq!(v["details"][0]["code"], "INVALID_TOKEN");

    let r = raw_request(
        port,
        "GET",
        &path,
        &[("Authorization", "Bearer not-a-token")],
        b"",
    )
    .await;
    assert_eq!(
        assert_error(&r, 401, "ACCESS_FAILED")["details"][0]["code"],
        "INVALID_TOKEN"
    );

    // A token of the second environment used on the first: 403.
    let s2 = ctx.emu.seeds()[1].clone();
    assert_ne!(s2.environment_id, ctx.env);
    let t2 = get_token(port, &s2.environment_id, &s2.client_id, &s2.client_secret).await;
    let r = raw_request(
        port,
        "GET",
        &path,
        &[("Authorization", &format!("Bearer {t2}"))],
        b"",
    )
    .await;
    assert_eq!(
        assert_error(&r, 403, "ACCESS_FAILED")["details"][0]["code"],
        "INSUFFICIENT_PERMISSIONS"
    );

    // The first environment's client secret does not work on the second.
    let r = raw_request(
        port,
        "POST",
        &format!("/{}/as/token", s2.environment_id),
        &[(
            "Authorization",
            &basic(&ctx.emu.seed().client_id, &ctx.emu.seed().client_secret),
        )],
        b"grant_type=client_credentials",
    )
    .await;
    assert_eq!(r.status, 401);

    assert_eq!(ctx.get(&path).await.status, 200);
    // Expired token.
    ctx.emu.advance_clock(Duration::from_secs(3601));
    let r = ctx.get(&path).await;
    assert_eq!(
        assert_error(&r, 401, "ACCESS_FAILED")["details"][0]["code"],
        "INVALID_TOKEN"
    );

    assert_eq!(ctx.emu.stats().api_requests, 5);
    ctx.stop().await;
}

#[tokio::test]
async fn sms_test_mode_pairing_activates_and_joins_order() {
    let ctx = start().await;
    let u = ctx.user(0);
    let d = ctx
        .create(&u, json!({"type": "SMS", "phone": "+1.5125201234", "status": "ACTIVATION_REQUIRED", "testMode": true, "nickname": "Work"}))
        .await;
    assert_eq!(d["status"], "ACTIVATION_REQUIRED");
    assert_eq!(d["type"], "SMS");
    assert_eq!(d["phone"], "+1.5125201234");
    assert_eq!(d["nickname"], "Work");
    assert_eq!(d["environment"]["id"], ctx.env.as_str());
    assert_eq!(d["user"]["id"], u.as_str());
    assert!(d["_links"]["activate"]["href"].is_string());
    assert!(d["createdAt"].as_str().unwrap().ends_with('Z'));
    let code = d["test"]["otp"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 6);
    assert!(ctx.emu.outbox().is_empty(), "test-mode OTPs are not sent");
    let id = d["id"].as_str().unwrap();

    // Not yet in the order.
    let l = ctx.list(&u, "?expand=order").await;
    assert_eq!(order_ids(&l), Vec::<String>::new());

    let r = ctx.activate(&u, id, json!({"otp": code})).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let a = r.json();
    assert_eq!(a["status"], "ACTIVE");
    assert!(a["_links"].get("activate").is_none());
    assert!(a.get("test").is_none());

    let l = ctx.list(&u, "?expand=order").await;
    assert_eq!(order_ids(&l), vec![id.to_string()]);
    assert_eq!(l["count"], 1);
    assert_eq!(l["size"], 1);
    assert!(l["_links"]["devices.reorder"]["href"].is_string());

    // Activating again: REQUEST_FAILED.
    let r = ctx.activate(&u, id, json!({"otp": code})).await;
    assert_error(&r, 400, "REQUEST_FAILED");

    // GET one device.
    let r = ctx.get(&ctx.p(&format!("/users/{u}/devices/{id}"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ACTIVE");
    ctx.stop().await;
}

#[tokio::test]
async fn wrong_otp_counts_down_then_exhausts_and_resend_recovers() {
    let ctx = start().await;
    let u = ctx.user(1);
    let d = ctx
        .create(
            &u,
            json!({"type": "EMAIL", "email": "bob@example.com", "status": "ACTIVATION_REQUIRED"}),
        )
        .await;
    assert!(d.get("test").is_none());
    let id = d["id"].as_str().unwrap().to_string();
    let sent = ctx.emu.outbox();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].channel, "EMAIL");
    assert_eq!(sent[0].to, "bob@example.com");
    assert_eq!(sent[0].device_id, id);
    let good = sent[0].otp.clone();
    let bad = if good == "000000" { "111111" } else { "000000" };

    for remaining in [2, 1, 0] {
        let r = ctx.activate(&u, &id, json!({"otp": bad})).await;
        let v = assert_error(&r, 400, "INVALID_DATA");
        assert_eq!(v["details"][0]["code"], "INVALID_OTP");
        assert_eq!(v["details"][0]["target"], "otp");
        assert_eq!(v["details"][0]["message"], "Invalid OTP");
        assert_eq!(
            v["details"][0]["innerError"]["remainingAttempts"],
            remaining
        );
    }
    // Exhausted: even the right OTP fails.
    let r = ctx.activate(&u, &id, json!({"otp": good})).await;
    let v = assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(v["details"][0]["code"], "INVALID_OTP");
    assert_eq!(
        v["details"][0]["message"],
        "OTP expired or exhausted; resend"
    );

    // Resend: a new OTP goes to the outbox and works.
    let r = ctx
        .post(
            &ctx.p(&format!("/users/{u}/devices/{id}")),
            RESEND,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sent = ctx.emu.outbox();
    assert_eq!(sent.len(), 2);
    let r = ctx.activate(&u, &id, json!({"otp": sent[1].otp})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ACTIVE");

    // Resend on an active device: REQUEST_FAILED.
    let r = ctx
        .call(
            "POST",
            &ctx.p(&format!("/users/{u}/devices/{id}")),
            Some(RESEND),
            "",
        )
        .await;
    assert_error(&r, 400, "REQUEST_FAILED");

    // The outbox is also served over HTTP.
    let r = raw_request(ctx.emu.port(), "GET", "/_emulator/outbox", &[], b"").await;
    assert_eq!(r.json().as_array().unwrap().len(), 2);
    ctx.stop().await;
}

#[tokio::test]
async fn pairing_otp_expires_after_policy_lifetime() {
    let ctx = start().await;
    let u = ctx.user(0);
    let d = ctx
        .create(&u, json!({"type": "VOICE", "phone": "+15125550199", "extension": "12#", "status": "ACTIVATION_REQUIRED", "testMode": true}))
        .await;
    assert_eq!(d["extension"], "12#");
    let code = d["test"]["otp"].as_str().unwrap().to_string();
    ctx.emu.advance_clock(Duration::from_secs(31 * 60));
    // 31 minutes later: past the 30-minute OTP lifetime, but the 1-hour token still works.
    let r = ctx
        .activate(&u, d["id"].as_str().unwrap(), json!({"otp": code}))
        .await;
    let v = assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(
        v["details"][0]["message"],
        "OTP expired or exhausted; resend"
    );
    ctx.stop().await;
}

#[tokio::test]
async fn totp_activation_with_computed_code() {
    let ctx = start().await;
    let u = ctx.user(0);

    let r = ctx
        .post(
            &ctx.p(&format!("/users/{u}/devices")),
            "application/json",
            &json!({"type": "TOTP", "status": "ACTIVE"}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "status"
    );

    let d = ctx.create(&u, json!({"type": "TOTP"})).await;
    assert_eq!(d["status"], "ACTIVATION_REQUIRED");
    let secret = d["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(
        d["keyUri"].as_str().unwrap(),
        format!("otpauth://totp/PingOne:alice?secret={secret}&issuer=PingOne")
    );
    let id = d["id"].as_str().unwrap();
    let key = otp::base32_decode(secret).unwrap();
    assert_eq!(key.len(), 20);

    let now_ms = ctx.emu.state().now_ms();
    let good = otp::totp(&key, now_ms);
    let wrong = format!("{:06}", (good.parse::<u32>().unwrap() + 1) % 1_000_000);
    let r = ctx.activate(&u, id, json!({"otp": wrong})).await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_OTP"
    );

    let r = ctx.activate(&u, id, json!({"otp": good})).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let a = r.json();
    assert_eq!(a["status"], "ACTIVE");
    assert!(
        a.get("secret").is_none(),
        "secret is shown only before activation"
    );
    let l = ctx.list(&u, "?expand=order").await;
    assert_eq!(order_ids(&l), vec![id.to_string()]);
    ctx.stop().await;
}

#[tokio::test]
async fn fido2_registration_and_activation() {
    let ctx = start().await;
    let u = ctx.user(2);
    let d = ctx
        .create(
            &u,
            json!({"type": "FIDO2", "rp": {"id": "example.com", "name": "Example"}}),
        )
        .await;
    assert_eq!(d["status"], "ACTIVATION_REQUIRED");
    assert_eq!(d["rp"]["id"], "example.com");
    let opts: Value =
        serde_json::from_str(d["publicKeyCredentialCreationOptions"].as_str().unwrap()).unwrap();
    assert_eq!(opts["rp"]["id"], "example.com");
    assert_eq!(opts["user"]["name"], "carol");
    assert_eq!(opts["pubKeyCredParams"][0]["alg"], -7);
    assert_eq!(opts["attestation"], "none");
    let challenge = fido::bytes_from_signed(&opts["challenge"]).unwrap();
    assert_eq!(challenge.len(), 32);
    let id = d["id"].as_str().unwrap();

    let opts_s = d["publicKeyCredentialCreationOptions"].as_str().unwrap();
    let mut authn = SoftAuthenticator::new(1);
    let att = authn
        .create(opts_s, "https://login.example.com", AttestationFormat::None)
        .unwrap();
    // Wrong origin (not the RP ID or a subdomain).
    let evil = SoftAuthenticator::new(2)
        .create(opts_s, "https://example.org", AttestationFormat::None)
        .unwrap();
    let r = ctx
        .activate(
            &u,
            id,
            json!({"attestation": evil, "origin": "https://example.org"}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "origin"
    );
    // Wrong challenge.
    let stale_opts = fido::creation_options(
        &[7u8; 32],
        "example.com",
        "Example",
        &u,
        "carol",
        "carol",
        None,
    );
    let stale = SoftAuthenticator::new(3)
        .create(
            &stale_opts,
            "https://login.example.com",
            AttestationFormat::None,
        )
        .unwrap();
    let r = ctx
        .activate(
            &u,
            id,
            json!({"attestation": stale, "origin": "https://login.example.com"}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "attestation"
    );

    let r = ctx
        .activate(
            &u,
            id,
            json!({"attestation": att, "origin": "https://login.example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let a = r.json();
    assert_eq!(a["status"], "ACTIVE");
    assert!(a.get("publicKeyCredentialCreationOptions").is_none());

    // PLATFORM takes `platform` from the user agent; FIDO devices cannot start ACTIVE.
    let p = ctx
        .create(
            &u,
            json!({"type": "PLATFORM", "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}),
        )
        .await;
    assert_eq!(p["platform"], "WINDOWS");
    let r = ctx
        .post(
            &ctx.p(&format!("/users/{u}/devices")),
            "application/json",
            &json!({"type": "SECURITY_KEY", "status": "ACTIVE"}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    ctx.stop().await;
}

#[tokio::test]
async fn unsupported_media_types_get_415() {
    let ctx = start().await;
    let u = ctx.user(0);
    let devices = ctx.p(&format!("/users/{u}/devices"));
    let r = ctx.call("POST", &devices, Some("text/plain"), "{}").await;
    assert_error(&r, 415, "INVALID_REQUEST");
    let r = ctx.call("POST", &devices, None, "{}").await;
    assert_error(&r, 415, "INVALID_REQUEST");
    let r = ctx
        .call("DELETE", &devices, Some("application/json"), "")
        .await;
    assert_error(&r, 415, "INVALID_REQUEST");

    let d = ctx
        .create(&u, json!({"type": "EMAIL", "email": "alice@example.com"}))
        .await;
    let one = ctx.p(&format!("/users/{u}/devices/{}", d["id"].as_str().unwrap()));
    let r = ctx.call("POST", &one, Some("application/json"), "{}").await;
    assert_error(&r, 415, "INVALID_REQUEST");
    let r = ctx
        .call(
            "POST",
            &one,
            Some("application/vnd.pingidentity.device.select+json"),
            "{}",
        )
        .await;
    assert_error(&r, 415, "INVALID_REQUEST");
    // Parameters on the media type are fine.
    let r = ctx
        .call(
            "POST",
            &devices,
            Some("application/json; charset=UTF-8"),
            r#"{"type":"EMAIL","email":"a@example.com"}"#,
        )
        .await;
    assert_eq!(r.status, 201);
    ctx.stop().await;
}

#[tokio::test]
async fn set_order_expand_and_remove_order() {
    let ctx = start().await;
    let u = ctx.user(0);
    let a = ctx
        .create(&u, json!({"type": "EMAIL", "email": "a@example.com"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = ctx
        .create(&u, json!({"type": "SMS", "phone": "+15125550101"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = ctx
        .create(&u, json!({"type": "VOICE", "phone": "+15125550102"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pending = ctx.create(&u, json!({"type": "TOTP"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Created ACTIVE devices joined the order in creation order.
    let l = ctx.list(&u, "?expand=order").await;
    assert_eq!(order_ids(&l), vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(
        ids(&l),
        vec![a.clone(), b.clone(), c.clone(), pending.clone()]
    );

    let devices = ctx.p(&format!("/users/{u}/devices"));
    let r = ctx
        .post(&devices, REORDER, &json!({"order": [{"id": c}, {"id": a}]}))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(order_ids(&r.json()), vec![c.clone(), a.clone(), b.clone()]);
    let l = ctx.list(&u, "?expand=order").await;
    assert_eq!(order_ids(&l), vec![c.clone(), a.clone(), b.clone()]);
    assert_eq!(
        ids(&l),
        vec![c.clone(), a.clone(), b.clone(), pending.clone()]
    );
    // Without expand there is no order array.
    assert!(ctx.list(&u, "").await["_embedded"].get("order").is_none());

    // An ACTIVATION_REQUIRED or unknown device cannot be ordered.
    let r = ctx
        .post(
            &devices,
            REORDER,
            &json!({"order": [{"id": a}, {"id": pending}]}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "order[1].id"
    );
    let r = ctx
        .post(&devices, REORDER, &json!({"order": [{"id": "nope"}]}))
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "order[0].id"
    );
    let r = ctx.post(&devices, REORDER, &json!({})).await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "REQUIRED_VALUE"
    );

    // Remove the order (POST form): no default device.
    let r = ctx.call("POST", &devices, Some(ORDER_REMOVE), "").await;
    assert_eq!(r.status, 204);
    assert_eq!(
        order_ids(&ctx.list(&u, "?expand=order").await),
        Vec::<String>::new()
    );
    // Devices activated while unordered are not ordered either.
    ctx.create(&u, json!({"type": "EMAIL", "email": "d@example.com"}))
        .await;
    assert_eq!(
        order_ids(&ctx.list(&u, "?expand=order").await),
        Vec::<String>::new()
    );

    // Setting an order again orders all active devices.
    let r = ctx
        .post(&devices, REORDER, &json!({"order": [{"id": b}]}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(order_ids(&r.json()).len(), 4);
    assert_eq!(order_ids(&r.json())[0], b);

    // Remove the order (DELETE form).
    let r = ctx.call("DELETE", &devices, Some(ORDER_REMOVE), "").await;
    assert_eq!(r.status, 204);
    assert_eq!(
        order_ids(&ctx.list(&u, "?expand=order").await),
        Vec::<String>::new()
    );
    ctx.stop().await;
}

#[tokio::test]
async fn deleting_the_default_device_promotes_the_next() {
    let ctx = start().await;
    let u = ctx.user(1);
    let a = ctx
        .create(&u, json!({"type": "EMAIL", "email": "a@example.com"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = ctx
        .create(&u, json!({"type": "EMAIL", "email": "b@example.com"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = ctx.delete(&ctx.p(&format!("/users/{u}/devices/{a}"))).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let l = ctx.list(&u, "?expand=order").await;
    assert_eq!(order_ids(&l), vec![b.clone()]);
    assert_eq!(ids(&l), vec![b.clone()]);
    let r = ctx.get(&ctx.p(&format!("/users/{u}/devices/{a}"))).await;
    assert_error(&r, 404, "NOT_FOUND");
    let r = ctx.delete(&ctx.p(&format!("/users/{u}/devices/{a}"))).await;
    assert_error(&r, 404, "NOT_FOUND");
    ctx.stop().await;
}

#[tokio::test]
async fn max_allowed_devices_limit() {
    let ctx = start().await;
    let u = ctx.user(2);
    for i in 0..5 {
        ctx.create(
            &u,
            json!({"type": "EMAIL", "email": format!("c{i}@example.com")}),
        )
        .await;
    }
    let r = ctx
        .post(
            &ctx.p(&format!("/users/{u}/devices")),
            "application/json",
            &json!({"type": "EMAIL", "email": "c5@example.com"}),
        )
        .await;
    let v = assert_error(&r, 400, "REQUEST_FAILED");
    assert_eq!(
        v["message"],
        "The request could not be completed. There was an issue processing the request."
    );
    assert_eq!(v["details"][0]["code"], "LIMIT_EXCEEDED");
    assert_eq!(
        v["details"][0]["message"],
        "Maximum allowed devices has been reached"
    );
    assert_eq!(v["details"][0]["innerError"], json!({"maximumAllowed": 5}));

    // Raise the limit through mfaSettings.
    let r = ctx
        .put(
            &ctx.p("/mfaSettings"),
            &json!({"pairing": {"maxAllowedDevices": 6}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["pairing"]["maxAllowedDevices"], 6);
    ctx.create(&u, json!({"type": "EMAIL", "email": "c5@example.com"}))
        .await;
    let r = ctx
        .put(
            &ctx.p("/mfaSettings"),
            &json!({"pairing": {"maxAllowedDevices": 16}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");

    let s = ctx.get(&ctx.p("/mfaSettings")).await.json();
    assert_eq!(s["environment"]["id"], ctx.env.as_str());
    assert_eq!(s["pairing"]["pairingKeyFormat"], "NUMERIC");
    assert_eq!(
        s["lockout"],
        json!({"failureCount": 5, "durationSeconds": 600})
    );
    assert_eq!(s["authentication"]["deviceSelection"], "DEFAULT_TO_FIRST");
    ctx.stop().await;
}

#[tokio::test]
async fn mfa_enabled_round_trip() {
    let ctx = start().await;
    let u = ctx.user(0);
    let path = ctx.p(&format!("/users/{u}/mfaEnabled"));
    let r = ctx.get(&path).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["mfaEnabled"], false);
    assert!(r.json()["_links"]["self"]["href"].is_string());
    let r = ctx.put(&path, &json!({"mfaEnabled": true})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["mfaEnabled"], true);
    assert_eq!(ctx.get(&path).await.json()["mfaEnabled"], true);
    assert_eq!(
        ctx.get(&ctx.p(&format!("/users/{u}"))).await.json()["mfaEnabled"],
        true
    );
    let r = ctx.put(&path, &json!({"mfaEnabled": "yes"})).await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "mfaEnabled"
    );
    let r = ctx
        .get(&ctx.p("/users/00000000-0000-4000-8000-000000000000/mfaEnabled"))
        .await;
    let v = assert_error(&r, 404, "NOT_FOUND");
    assert!(v["message"]
        .as_str()
        .unwrap()
        .starts_with("Unable to find user with ID"));
    ctx.stop().await;
}

#[tokio::test]
async fn device_authentication_policies() {
    let ctx = start().await;
    let pid = ctx.emu.seed().policy_id.clone();
    let r = ctx
        .get(&ctx.p(&format!("/deviceAuthenticationPolicies/{pid}")))
        .await;
    assert_eq!(r.status, 200);
    let p = r.json();
    assert_eq!(p["id"], pid.as_str());
    assert_eq!(p["default"], true);
    assert_eq!(p["forSignOnPolicy"], false);
    assert_eq!(p["authentication"]["deviceSelection"], "DEFAULT_TO_FIRST");
    for k in ["sms", "voice", "email"] {
        assert_eq!(p[k]["enabled"], true);
        assert_eq!(p[k]["otp"]["failure"]["count"], 3);
        assert_eq!(
            p[k]["otp"]["failure"]["coolDown"],
            json!({"duration": 2, "timeUnit": "MINUTES"})
        );
        assert_eq!(
            p[k]["otp"]["lifeTime"],
            json!({"duration": 30, "timeUnit": "MINUTES"})
        );
    }
    assert_eq!(
        p["mobile"]["otp"]["window"]["stepSize"],
        json!({"duration": 30, "timeUnit": "SECONDS"})
    );
    assert!(p["mobile"]["applications"][0]["id"].is_string());
    assert_eq!(p["totp"]["otp"]["failure"]["count"], 3);
    assert_eq!(p["fido2"]["enabled"], true);
    for k in ["platform", "securityKey", "oathToken"] {
        assert!(p[k]["enabled"].is_boolean());
    }
    assert!(p["createdAt"].is_string() && p["updatedAt"].is_string());

    let l = ctx
        .get(&ctx.p("/deviceAuthenticationPolicies"))
        .await
        .json();
    let all = l["_embedded"]["deviceAuthenticationPolicies"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), 2);
    let no_sms = all.iter().find(|p| p["default"] == false).unwrap();
    assert_eq!(no_sms["sms"]["enabled"], false);

    let u = ctx.user(0);
    let devices = ctx.p(&format!("/users/{u}/devices"));
    let r = ctx
        .post(
            &devices,
            "application/json",
            &json!({"type": "SMS", "phone": "+15125550101", "policy": {"id": no_sms["id"]}}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "type"
    );
    let r = ctx
        .post(
            &devices,
            "application/json",
            &json!({"type": "SMS", "phone": "+15125550101", "policy": {"id": "unknown"}}),
        )
        .await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["target"],
        "policy.id"
    );
    // EMAIL is allowed by the second policy.
    let d = ctx
        .create(
            &u,
            json!({"type": "EMAIL", "email": "a@example.com", "policy": {"id": no_sms["id"]}}),
        )
        .await;
    assert_eq!(d["policy"]["id"], no_sms["id"]);

    let r = ctx.get(&ctx.p("/deviceAuthenticationPolicies/nope")).await;
    assert_error(&r, 404, "NOT_FOUND");
    ctx.stop().await;
}

#[tokio::test]
async fn list_filters() {
    let ctx = start().await;
    let u = ctx.user(0);
    let sms = ctx
        .create(&u, json!({"type": "SMS", "phone": "+15125550101"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sms_pending = ctx.create(&u, json!({"type": "SMS", "phone": "+15125550101", "status": "ACTIVATION_REQUIRED", "testMode": true})).await["id"].as_str().unwrap().to_string();
    let email = ctx
        .create(&u, json!({"type": "EMAIL", "email": "a@example.com"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let q = |f: &str| format!("?filter={}", percent(f));
    assert_eq!(
        ids(&ctx.list(&u, &q(r#"status eq "ACTIVE""#)).await),
        vec![sms.clone(), email.clone()]
    );
    assert_eq!(
        ids(&ctx
            .list(
                &u,
                &q(r#"(status eq "ACTIVATION_REQUIRED") and (type eq "SMS")"#)
            )
            .await),
        vec![sms_pending.clone()]
    );
    let l = ctx
        .list(
            &u,
            &q(r#"type eq "EMAIL" or type eq "SMS" and status eq "ACTIVE""#),
        )
        .await;
    assert_eq!(ids(&l), vec![sms.clone(), email.clone()]);
    assert_eq!(l["count"], 2);
    assert_eq!(
        ids(&ctx.list(&u, &q(r#"type eq "TOTP""#)).await),
        Vec::<String>::new()
    );
    let l = ctx
        .list(&u, &format!("{}&expand=order", q(r#"type eq "SMS""#)))
        .await;
    assert_eq!(ids(&l).len(), 2);
    assert_eq!(order_ids(&l), vec![sms.clone(), email.clone()]);

    for bad in [
        r#"status eq ACTIVE"#,
        r#"nickname eq "x""#,
        r#"(type eq "SMS""#,
        "status ne \"ACTIVE\"",
    ] {
        let r = ctx
            .get(&ctx.p(&format!("/users/{u}/devices{}", q(bad))))
            .await;
        let v = assert_error(&r, 400, "INVALID_DATA");
        assert_eq!(v["details"][0]["code"], "INVALID_FILTER", "{bad}");
    }
    ctx.stop().await;
}

#[tokio::test]
async fn create_validation_errors() {
    let ctx = start().await;
    let u = ctx.user(0);
    let devices = ctx.p(&format!("/users/{u}/devices"));
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"type": "SMS", "phone": "5125550101"}),
            "INVALID_VALUE",
            "phone",
        ),
        (json!({"type": "SMS"}), "REQUIRED_VALUE", "phone"),
        (
            json!({"type": "VOICE", "phone": "+15125550101", "extension": "12a"}),
            "INVALID_VALUE",
            "extension",
        ),
        (
            json!({"type": "EMAIL", "email": "not-an-email"}),
            "INVALID_VALUE",
            "email",
        ),
        (json!({"type": "EMAIL"}), "REQUIRED_VALUE", "email"),
        (json!({"type": "CARRIER_PIGEON"}), "INVALID_VALUE", "type"),
        (json!({"type": "MOBILE"}), "INVALID_VALUE", "type"),
        (json!({}), "REQUIRED_VALUE", "type"),
        (
            json!({"type": "EMAIL", "email": "a@example.com", "nickname": "x".repeat(101)}),
            "INVALID_VALUE",
            "nickname",
        ),
        (
            json!({"type": "EMAIL", "email": "a@example.com", "status": "SLEEPING"}),
            "INVALID_VALUE",
            "status",
        ),
        (
            json!({"type": "EMAIL", "email": "a@example.com", "notification": {"template": {"variant": "B"}}}),
            "INVALID_VALUE",
            "notification",
        ),
        (
            json!({"type": "TOTP", "notification": {"template": {"variant": "B"}}}),
            "INVALID_VALUE",
            "notification",
        ),
        (
            json!({"type": "OATH_TOKEN"}),
            "REQUIRED_VALUE",
            "serialNumber",
        ),
        // Only tokens imported into the environment can be paired.
        (
            json!({"type": "OATH_TOKEN", "serialNumber": "SN123"}),
            "INVALID_VALUE",
            "serialNumber",
        ),
    ];
    for (body, code, target) in cases {
        let r = ctx.post(&devices, "application/json", &body).await;
        let v = assert_error(&r, 400, "INVALID_DATA");
        assert_eq!(v["details"][0]["code"], code, "{body} -> {v}");
        assert_eq!(v["details"][0]["target"], target, "{body} -> {v}");
    }
    // Malformed JSON.
    let r = ctx
        .call("POST", &devices, Some("application/json"), "{not json")
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    // Accepted: notification on an ACTIVATION_REQUIRED email device (never returned).
    let d = ctx
        .create(&u, json!({"type": "EMAIL", "email": "a@example.com", "status": "ACTIVATION_REQUIRED", "testMode": true,
            "notification": {"policy": {"id": "np"}, "template": {"variant": "variant_B", "locale": "en", "variables": {"sum": "1,000"}}}}))
        .await;
    assert!(d.get("notification").is_none());
    // OATH token: a seeded serial number.
    let serial = ctx.emu.seed().oath_tokens[0].serial_number.clone();
    let o = ctx
        .create(&u, json!({"type": "OATH_TOKEN", "serialNumber": serial}))
        .await;
    assert_eq!(o["serialNumber"], serial.as_str());
    assert_eq!(o["status"], "ACTIVE");
    // Unknown user, unknown route.
    let r = ctx
        .post(
            &ctx.p("/users/nobody/devices"),
            "application/json",
            &json!({"type": "TOTP"}),
        )
        .await;
    assert_error(&r, 404, "NOT_FOUND");
    let r = ctx.get(&ctx.p("/nothingHere")).await;
    assert_error(&r, 404, "NOT_FOUND");
    let r = raw_request(ctx.emu.port(), "GET", "/what", &[], b"").await;
    assert_error(&r, 404, "NOT_FOUND");
    ctx.stop().await;
}

#[tokio::test]
async fn nickname_update() {
    let ctx = start().await;
    let u = ctx.user(0);
    let d = ctx
        .create(&u, json!({"type": "EMAIL", "email": "a@example.com"}))
        .await;
    let path = ctx.p(&format!(
        "/users/{u}/devices/{}/nickname",
        d["id"].as_str().unwrap()
    ));
    let r = ctx.put(&path, &json!({"nickname": "Personal"})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["nickname"], "Personal");
    assert_eq!(r.json()["id"], d["id"]);
    let r = ctx.put(&path, &json!({})).await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "REQUIRED_VALUE"
    );
    let r = ctx.put(&path, &json!({"nickname": 5})).await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "REQUIRED_VALUE"
    );
    let r = ctx.put(&path, &json!({"nickname": "n".repeat(101)})).await;
    let v = assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(v["details"][0]["code"], "INVALID_VALUE");
    assert_eq!(v["details"][0]["target"], "nickname");
    ctx.stop().await;
}

#[tokio::test]
async fn startup_info_seeds_and_drop() {
    let emu = Emulator::start(EmulatorConfig {
        environments: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    let info = emu.startup_info();
    let port = emu.port();
    assert_eq!(info["apiUrl"], format!("http://127.0.0.1:{port}/v1"));
    assert_eq!(info["authUrl"], format!("http://127.0.0.1:{port}"));
    assert_eq!(emu.api_url(), format!("http://127.0.0.1:{port}/v1"));
    assert_eq!(info["environmentId"], emu.seed().environment_id.as_str());
    assert_eq!(info["environments"].as_array().unwrap().len(), 3);
    assert_eq!(info["users"].as_array().unwrap().len(), 5);
    assert_eq!(info["users"][0]["username"], "alice");
    assert_eq!(emu.seed().users[0].email, "alice@example.com");
    assert_eq!(emu.seed().users[0].phone, "+15125550101");
    for key in ["clientId", "clientSecret", "policyId"] {
        assert!(info[key].is_string());
    }
    // Deterministic across runs.
    let other = Emulator::start(EmulatorConfig {
        environments: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        other.seeds()[2].environment_id,
        emu.seeds()[2].environment_id
    );
    assert_eq!(other.seeds()[2].client_secret, emu.seeds()[2].client_secret);
    assert_ne!(emu.seeds()[0].environment_id, emu.seeds()[1].environment_id);
    assert!(uuid_like(&emu.seeds()[1].users[2].id));
    // Control endpoints.
    let r = raw_request(port, "GET", "/_emulator/stats", &[], b"").await;
    assert_eq!(r.json(), json!({"token_requests": 0, "api_requests": 0}));
    other.shutdown().await;

    // Dropping stops the server.
    drop(emu);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err());
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.split('-').map(str::len).collect::<Vec<_>>() == vec![8, 4, 4, 4, 12]
}

#[tokio::test]
async fn totp_failures_lock_until_cooldown() {
    let ctx = start().await;
    let u = ctx.user(1);
    let d = ctx.create(&u, json!({"type": "TOTP"})).await;
    let id = d["id"].as_str().unwrap();
    let key = otp::base32_decode(d["secret"].as_str().unwrap()).unwrap();
    let good = otp::totp(&key, ctx.emu.state().now_ms());
    let wrong = format!(
        "{:06}",
        (good.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    for remaining in [2, 1, 0] {
        let r = ctx.activate(&u, id, json!({"otp": wrong})).await;
        let v = assert_error(&r, 400, "INVALID_DATA");
        assert_eq!(
            v["details"][0]["innerError"]["remainingAttempts"],
            remaining
        );
    }
    // Locked for the policy coolDown (2 minutes), even with the right code.
    let r = ctx.activate(&u, id, json!({"otp": good})).await;
    assert_eq!(
        assert_error(&r, 400, "INVALID_DATA")["details"][0]["code"],
        "INVALID_OTP"
    );
    ctx.emu.advance_clock(Duration::from_secs(121));
    let good = otp::totp(&key, ctx.emu.state().now_ms());
    let r = ctx.activate(&u, id, json!({"otp": good})).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    ctx.stop().await;
}
