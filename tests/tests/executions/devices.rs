//! Every device kind to ENROLLED over HTTP: TOTP (the code from the
//! device's secret), SECURITY_KEY and PLATFORM (a software authenticator's
//! attestation), MOBILE (the phone claims the pairing key while the client
//! polls), and MOBILE_PAIRING_FAILURE when the key expires.

use std::time::Duration;

use contract_tests::Harness;
use pingone_emulator::authenticator::{AttestationFormat, SoftAuthenticator};
use pingone_emulator::otp::{base32_decode, totp};
use serde_json::json;

use crate::{act, actions, input_for, poll, serve, start, KEY};

const ORIGIN: &str = "https://login.example.com";
const RP_ID: &str = "example.com";

/// `device.create` MOBILE for the seeded application on `execution`; the
/// answer, which must be PAIRING_REQUIRED, and its pairing key code.
async fn pair_mobile(
    client: &connector_testkit::service::ApiClient,
    h: &Harness,
    execution: &connector_testkit::service::Answer,
) -> (connector_testkit::service::Answer, String) {
    let application = h.emulator.seed().application_id.clone();
    let pairing = act(
        client,
        execution,
        "device.create",
        json!({ "type": "MOBILE", "application": { "id": application } }),
    )
    .await;
    assert_eq!(
        (pairing.status, pairing.json["status"].as_str()),
        (200, Some("PAIRING_REQUIRED")),
        "{}",
        pairing.text
    );
    let code = pairing.json["pairingKey"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("a pairing key code: {}", pairing.text))
        .to_owned();
    (pairing, code)
}

#[tokio::test]
async fn totp_enrolls_with_the_code_from_its_secret() {
    let h = Harness::start().await;
    let served = serve(&h, None, None).await;
    let client = served.client(Some(KEY));
    let started = start(&client, input_for(&h.user_n(0))).await;
    assert_eq!(started.status, 201, "{}", started.text);

    let created = act(
        &client,
        &started,
        "device.create",
        json!({ "type": "TOTP" }),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(created.json["status"], "ACTIVATION_REQUIRED");
    // No OTP is sent for TOTP: nothing to resend.
    assert_eq!(actions(&created), ["device.activate", "device.delete"]);
    let secret = created.json["device"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("the TOTP secret: {}", created.text));
    let secret = base32_decode(secret).expect("a base32 secret");
    let code = totp(&secret, h.emulator.state().now_ms());

    let activated = act(&client, &created, "device.activate", json!({ "otp": code })).await;
    assert_eq!(activated.status, 200, "{}", activated.text);
    assert_eq!(activated.json["status"], "COMPLETED");
    assert_eq!(activated.json["result"]["type"], "ENROLLED");
    let device = &activated.json["result"]["output"]["device"];
    assert_eq!(device["type"], "TOTP");
    assert_eq!(device["id"], created.json["device"]["id"]);
}

#[tokio::test]
async fn security_key_and_platform_enroll_with_an_attestation() {
    let h = Harness::start().await;
    let served = serve(&h, None, None).await;
    let client = served.client(Some(KEY));
    let mut authenticator = SoftAuthenticator::new(2);
    for (i, kind) in ["SECURITY_KEY", "PLATFORM"].into_iter().enumerate() {
        let user = h.user_n(i);
        let started = start(&client, input_for(&user)).await;
        let created = act(
            &client,
            &started,
            "device.create",
            json!({ "type": kind, "rp": { "id": RP_ID, "name": "Example" } }),
        )
        .await;
        assert_eq!(created.status, 200, "{kind}: {}", created.text);
        assert_eq!(created.json["status"], "ACTIVATION_REQUIRED");
        let options = created.json["device"]["publicKeyCredentialCreationOptions"]
            .as_str()
            .unwrap_or_else(|| panic!("{kind}: creation options: {}", created.text));
        let attestation = authenticator
            .create(options, ORIGIN, AttestationFormat::PackedSelf)
            .expect("the soft authenticator registers");

        let activated = act(
            &client,
            &created,
            "device.activate",
            json!({ "attestation": attestation, "origin": ORIGIN }),
        )
        .await;
        assert_eq!(activated.status, 200, "{kind}: {}", activated.text);
        assert_eq!(activated.json["status"], "COMPLETED", "{}", activated.text);
        assert_eq!(activated.json["result"]["type"], "ENROLLED");
        let device = &activated.json["result"]["output"]["device"];
        assert_eq!(device["type"], kind);
        assert_eq!(device["id"], created.json["device"]["id"]);
        let read = h
            .call(
                "readDevice",
                json!({ "userId": user, "deviceId": device["id"] }),
            )
            .await
            .expect("the enrolled device");
        assert_eq!(read["rawResponse"]["status"], "ACTIVE", "{read}");
    }
}

#[tokio::test]
async fn mobile_pairs_when_the_phone_claims_the_key() {
    let h = Harness::start().await;
    let served = serve(&h, None, None).await;
    let client = served.client(Some(KEY));
    let seed = h.emulator.seed().clone();
    let user = h.user_n(0);
    // A phone paired before: the execution completes with the new one.
    let earlier = h.mobile_device(&user).await;
    let started = start(&client, input_for(&user)).await;

    // application.id is required for MOBILE.
    let refused = act(
        &client,
        &started,
        "device.create",
        json!({ "type": "MOBILE" }),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.json["code"], "INVALID_DATA");
    assert_eq!(refused.json["details"][0]["target"], "application.id");

    let (pairing, code) = pair_mobile(&client, &h, &started).await;
    assert_eq!(pairing.json["device"]["type"], "MOBILE");
    assert_eq!(actions(&pairing), ["device.delete"]);

    // Until the phone claims the key, polling changes nothing.
    let waiting = poll(&client, &pairing).await;
    assert_eq!(waiting.status, 200, "{}", waiting.text);
    assert_eq!(waiting.json["status"], "PAIRING_REQUIRED");
    assert_eq!(waiting.json["pairingKey"]["code"], code.as_str());

    let phone = h
        .emulator
        .claim_pairing_key(&seed.environment_id, &code)
        .expect("the phone claims the key");
    let paired = poll(&client, &pairing).await;
    assert_eq!(paired.status, 200, "{}", paired.text);
    assert_eq!(paired.json["status"], "COMPLETED", "{}", paired.text);
    assert_eq!(paired.json["result"]["type"], "ENROLLED");
    let device = &paired.json["result"]["output"]["device"];
    assert_eq!(device["type"], "MOBILE");
    assert_eq!(device["id"], phone["id"], "the phone's device: {phone}");
    assert_ne!(device["id"], earlier.as_str());
    assert!(actions(&paired).is_empty());
}

#[tokio::test]
async fn an_expired_pairing_key_is_a_pairing_failure_and_delete_starts_over() {
    let h = Harness::start().await;
    let served = serve(&h, None, None).await;
    let client = served.client(Some(KEY));
    let seed = h.emulator.seed().clone();
    let user = h.user_n(1);
    let started = start(&client, input_for(&user)).await;
    let (pairing, code) = pair_mobile(&client, &h, &started).await;

    // Past the key's lifetime (10 minutes in the seeded policy).
    h.emulator.advance_clock(Duration::from_secs(11 * 60));
    let failed = poll(&client, &pairing).await;
    assert_eq!(failed.status, 200, "{}", failed.text);
    assert_eq!(
        failed.json["status"], "MOBILE_PAIRING_FAILURE",
        "{}",
        failed.text
    );
    assert!(
        failed.json["error"]["code"].is_string() && failed.json["error"]["message"].is_string(),
        "{}",
        failed.text
    );
    assert_eq!(actions(&failed), ["device.delete"]);
    // The failure stays; the phone cannot claim the expired key either.
    assert_eq!(
        poll(&client, &failed).await.json["status"],
        "MOBILE_PAIRING_FAILURE"
    );
    assert!(h
        .emulator
        .claim_pairing_key(&seed.environment_id, &code)
        .is_err());

    let again = act(&client, &failed, "device.delete", json!({})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["status"], "DEVICE_ENROLLMENT_REQUIRED");
    assert!(actions(&again).contains(&"device.create".to_owned()));
    assert!(again.json["allowedtypes"]
        .as_array()
        .unwrap()
        .contains(&json!("MOBILE")));

    // Deleting in PAIRING_REQUIRED deletes the unclaimed key.
    let (pairing, code) = pair_mobile(&client, &h, &again).await;
    let deleted = act(&client, &pairing, "device.delete", json!({})).await;
    assert_eq!(
        deleted.json["status"], "DEVICE_ENROLLMENT_REQUIRED",
        "{}",
        deleted.text
    );
    assert!(h
        .emulator
        .claim_pairing_key(&seed.environment_id, &code)
        .is_err());
}
