//! States and actions: SMS to ENROLLED with the emailed/texted OTP, a wrong
//! OTP, resend, delete, skip, the allowed types and WebAuthn compatibility.

use contract_tests::Harness;
use serde_json::json;

use crate::{act, actions, input_for, otp_sent_to, serve, start, KEY};

#[tokio::test]
async fn sms_enrollment_with_a_wrong_otp_then_the_right_one() {
    let h = Harness::start().await;
    let served = serve(&h, None, None).await;
    let client = served.client(Some(KEY));
    let user = h.user_n(0);

    let started = start(&client, input_for(&user)).await;
    assert_eq!(started.status, 201, "{}", started.text);
    assert_eq!(started.json["status"], "DEVICE_ENROLLMENT_REQUIRED");
    assert_eq!(started.json["email"], "enrolling@example.com");
    assert_eq!(started.json["mobilePhone"], "+15125550177");
    assert!(started.json["allowedtypes"]
        .as_array()
        .unwrap()
        .contains(&json!("SMS")));
    assert!(started.json["mfaSettings"].is_object(), "{}", started.text);
    assert!(started.json["applications"].is_array(), "{}", started.text);
    assert_eq!(
        actions(&started),
        ["device.create", "device.skipEnrollment"]
    );
    assert!(started.json["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .starts_with("/v1/tenants/acme/flowExecutions/"));

    let created = act(
        &client,
        &started,
        "device.create",
        json!({ "type": "SMS", "nickname": "Work phone" }),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(created.json["status"], "ACTIVATION_REQUIRED");
    assert_eq!(created.json["device"]["type"], "SMS");
    assert_eq!(
        actions(&created),
        ["device.activate", "device.delete", "otp.resend"]
    );

    let wrong = act(
        &client,
        &created,
        "device.activate",
        json!({ "otp": "000000" }),
    )
    .await;
    assert_eq!(wrong.status, 400, "PingOne's own 400: {}", wrong.text);
    assert!(
        wrong.json["code"].is_string() && wrong.json["id"].is_string(),
        "{}",
        wrong.text
    );

    let resent = act(&client, &created, "otp.resend", json!({})).await;
    assert_eq!(
        (resent.status, resent.json["status"].as_str()),
        (200, Some("ACTIVATION_REQUIRED")),
        "{}",
        resent.text
    );
    let otp = otp_sent_to(&h, "+15125550177");
    let activated = act(&client, &created, "device.activate", json!({ "otp": otp })).await;
    assert_eq!(activated.status, 200, "{}", activated.text);
    assert_eq!(activated.json["status"], "COMPLETED");
    assert_eq!(activated.json["result"]["type"], "ENROLLED");
    let device = &activated.json["result"]["output"]["device"];
    assert_eq!(device["type"], "SMS");
    assert_eq!(device["id"], created.json["device"]["id"]);
    assert!(actions(&activated).is_empty());
    // Nothing is valid once completed: PingOne's 400.
    let late = act(&client, &activated, "device.delete", json!({})).await;
    assert_eq!(
        (late.status, late.json["code"].as_str()),
        (400, Some("INVALID_DATA")),
        "{}",
        late.text
    );
}

#[tokio::test]
async fn skip_delete_and_the_actions_each_state_allows() {
    let h = Harness::start().await;
    let served = serve(&h, None, None).await;
    let client = served.client(Some(KEY));
    let user = h.user_n(1);

    let started = start(&client, input_for(&user)).await;
    // An action not valid in this state, and a media type that is no action.
    let early = act(
        &client,
        &started,
        "device.activate",
        json!({ "otp": "123456" }),
    )
    .await;
    assert_eq!(
        (early.status, early.json["code"].as_str()),
        (400, Some("INVALID_DATA")),
        "{}",
        early.text
    );
    assert_eq!(
        early.json["details"][0]["target"], "Content-Type",
        "{}",
        early.text
    );
    let href = started.json["_links"]["self"]["href"].as_str().unwrap();
    let unknown = client
        .send_with(
            "POST",
            href,
            &[(
                "content-type",
                "application/vnd.pingidentity.device.teleport+json",
            )],
            "{}",
        )
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    let plain = client
        .send_with("POST", href, &[("content-type", "application/json")], "{}")
        .await;
    assert_eq!(plain.status, 400, "{}", plain.text);
    // A type the policy does not allow, and a type without its parameter.
    let refused = act(
        &client,
        &started,
        "device.create",
        json!({ "type": "TELEGRAPH" }),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text);

    let created = act(
        &client,
        &started,
        "device.create",
        json!({ "type": "EMAIL" }),
    )
    .await;
    assert_eq!(
        created.json["status"], "ACTIVATION_REQUIRED",
        "{}",
        created.text
    );
    let device = created.json["device"]["id"].as_str().unwrap().to_owned();
    let deleted = act(&client, &created, "device.delete", json!({})).await;
    assert_eq!(
        deleted.json["status"], "DEVICE_ENROLLMENT_REQUIRED",
        "{}",
        deleted.text
    );
    let gone = h
        .call("readDevice", json!({ "userId": user, "deviceId": device }))
        .await;
    assert!(gone.is_err(), "the pending device was deleted");

    let skipped = act(&client, &deleted, "device.skipEnrollment", json!({})).await;
    assert_eq!(skipped.json["status"], "COMPLETED", "{}", skipped.text);
    assert_eq!(
        skipped.json["result"],
        json!({ "type": "SKIPPED", "output": {} })
    );

    // Without allowSkip (overridden per execution), skipping is no action.
    let mut input = input_for(&user);
    input["configuration"] = json!({ "useDefaultPolicy": true, "allowSkip": false });
    let strict = start(&client, input).await;
    assert_eq!(actions(&strict), ["device.create"]);
    let refused = act(&client, &strict, "device.skipEnrollment", json!({})).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
}

#[tokio::test]
async fn webauthn_compatibility_narrows_the_allowed_types() {
    let h = Harness::start().await;
    let served = serve(&h, None, None).await;
    let client = served.client(Some(KEY));
    let user = h.user_n(2);
    let types = |compatibility: &str| {
        let mut input = input_for(&user);
        input["webauthn"] = json!({ "compatibility": compatibility });
        input
    };
    let full = start(&client, types("FULL")).await;
    let full: Vec<&str> = full.json["allowedtypes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        full.contains(&"PLATFORM") && full.contains(&"SECURITY_KEY"),
        "{full:?}"
    );
    let keys = start(&client, types("SECURITY_KEY_ONLY")).await;
    let keys = keys.json["allowedtypes"].as_array().unwrap().clone();
    assert!(
        keys.contains(&json!("SECURITY_KEY")) && !keys.contains(&json!("PLATFORM")),
        "{keys:?}"
    );
    let none = start(&client, types("NONE")).await;
    let none = none.json["allowedtypes"].as_array().unwrap().clone();
    assert!(
        !none.contains(&json!("SECURITY_KEY")) && !none.contains(&json!("PLATFORM")),
        "{none:?}"
    );
    // A bad compatibility or a missing user id is PingOne's 400 with the field.
    let bad = start(&client, types("SOMETIMES")).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    let missing = start(&client, json!({ "user": {} })).await;
    assert_eq!(missing.status, 400, "{}", missing.text);
    assert!(
        missing.json["details"][0]["target"]
            .as_str()
            .unwrap()
            .contains("user"),
        "{}",
        missing.text
    );
    // useDefaultPolicy false needs the policy id.
    let mut input = input_for(&user);
    input["configuration"] = json!({ "useDefaultPolicy": false });
    let no_policy = start(&client, input).await;
    assert_eq!(no_policy.status, 400, "{}", no_policy.text);
    let mut input = input_for(&user);
    input["configuration"] = json!({ "useDefaultPolicy": false, "deviceAuthenticationPolicy": { "id": h.emulator.seed().policy_id } });
    let with_policy = start(&client, input).await;
    assert_eq!(with_policy.status, 201, "{}", with_policy.text);
    assert!(with_policy.json["allowedtypes"]
        .as_array()
        .unwrap()
        .contains(&json!("SMS")));
}

#[tokio::test]
async fn email_and_voice_activate_with_the_code_sent_there() {
    let h = Harness::start().await;
    let served = serve(&h, None, None).await;
    let client = served.client(Some(KEY));
    for (user, device_type, to) in [
        (h.user_n(3), "EMAIL", "enrolling@example.com"),
        (h.user_n(4), "VOICE", "+15125550177"),
    ] {
        let started = start(&client, input_for(&user)).await;
        // The address and number come from the input when the action
        // names none.
        let created = act(
            &client,
            &started,
            "device.create",
            json!({ "type": device_type }),
        )
        .await;
        assert_eq!(
            created.json["status"], "ACTIVATION_REQUIRED",
            "{}",
            created.text
        );
        assert_eq!(created.json["device"]["type"], device_type);
        let otp = otp_sent_to(&h, to);
        let done = act(&client, &created, "device.activate", json!({ "otp": otp })).await;
        assert_eq!(
            done.json["result"]["type"], "ENROLLED",
            "{device_type}: {}",
            done.text
        );
        assert_eq!(done.json["result"]["output"]["device"]["type"], device_type);
    }
}
