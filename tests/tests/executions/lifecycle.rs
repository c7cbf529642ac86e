//! Restart, expiry, concurrency, tenants.

use std::path::PathBuf;
use std::time::Duration;

use connector_service::keys::KeyConfig;
use connector_service::{digest_hex, ExecutionsSection, Keys, ServeConfig, Service};
use connector_testkit::service::{Answer, Served};
use connector_testkit::{pingone_tenant, templates};
use contract_tests::{test_config, Harness};
use pingone_emulator::faults::{Fault, FaultAction};
use serde_json::json;

use crate::{act, input_for, otp_sent_to, poll, serve, start, KEY};

/// A key for both `acme` and `globex`.
const BOTH: &str = "executions-test-key-both-0123456789";

/// PingOne's error shape with `code`.
fn assert_pingone_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.json["code"], code, "{}", answer.text);
    assert!(
        answer.json["id"].is_string() && answer.json["message"].is_string(),
        "{}",
        answer.text
    );
}

/// The number of devices `user` has.
async fn devices_of(h: &Harness, user: &str) -> usize {
    let listed = h
        .call("readAllDevices", json!({ "userId": user }))
        .await
        .expect("the user's devices");
    listed["devices"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn an_execution_continues_after_a_restart_on_the_same_file() {
    let h = Harness::start().await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "executions-restart-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("executions.json");

    let served = serve(&h, Some(store.clone()), None).await;
    let client = served.client(Some(KEY));
    // The notification template reaches PingOne for an SMS device.
    let mut input = input_for(&h.user_n(0));
    input["template"] = json!({ "locale": "en", "variables": { "company": "Acme" } });
    let started = start(&client, input).await;
    assert_eq!(started.status, 201, "{}", started.text);
    let created = act(&client, &started, "device.create", json!({ "type": "SMS" })).await;
    assert_eq!(
        created.json["status"], "ACTIVATION_REQUIRED",
        "{}",
        created.text
    );
    served.stop().await;
    assert!(store.exists(), "the store's file is written");

    let restarted = serve(&h, Some(store.clone()), None).await;
    let client = restarted.client(Some(KEY));
    let read = poll(&client, &created).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json["status"], "ACTIVATION_REQUIRED");
    assert_eq!(read.json["device"]["id"], created.json["device"]["id"]);
    let otp = otp_sent_to(&h, "+15125550177");
    let activated = act(&client, &read, "device.activate", json!({ "otp": otp })).await;
    assert_eq!(activated.status, 200, "{}", activated.text);
    assert_eq!(
        activated.json["result"]["type"], "ENROLLED",
        "{}",
        activated.text
    );
    assert_eq!(
        activated.json["result"]["output"]["device"]["id"],
        created.json["device"]["id"]
    );
    restarted.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[tokio::test]
async fn an_idle_execution_expires_to_404() {
    let h = Harness::start().await;
    let served = serve(&h, None, Some(1000)).await;
    let client = served.client(Some(KEY));
    let started = start(&client, input_for(&h.user_n(0))).await;
    assert_eq!(started.status, 201, "{}", started.text);

    // Each wait doubles, so one is longer than the lifetime whether or
    // not a read counts as activity.
    let mut wait = Duration::from_millis(250);
    let mut read = poll(&client, &started).await;
    for _ in 0..6 {
        if read.status == 404 {
            break;
        }
        assert_eq!(read.status, 200, "{}", read.text);
        tokio::time::sleep(wait).await;
        wait *= 2;
        read = poll(&client, &started).await;
    }
    assert_pingone_error(&read, 404, "NOT_FOUND");
    let late = act(&client, &started, "device.create", json!({ "type": "SMS" })).await;
    assert_pingone_error(&late, 404, "NOT_FOUND");
}

#[tokio::test]
async fn two_actions_at_once_one_wins_the_other_is_409() {
    let h = Harness::start().await;
    let served = serve(&h, None, None).await;
    let (first, second) = (served.client(Some(KEY)), served.client(Some(KEY)));
    let user = h.user_n(3);
    let before = devices_of(&h, &user).await;
    let started = start(&first, input_for(&user)).await;
    assert_eq!(started.status, 201, "{}", started.text);

    // The device creation stays in flight while the second action arrives.
    h.emulator
        .inject(Fault::new("/devices", FaultAction::Delay { millis: 400 }).method("POST"));
    let (a, b) = tokio::join!(
        act(&first, &started, "device.create", json!({ "type": "SMS" })),
        act(
            &second,
            &started,
            "device.create",
            json!({ "type": "EMAIL" })
        ),
    );
    h.emulator.clear_faults();
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.text, b.text);
    let (winner, loser) = if a.status == 200 { (a, b) } else { (b, a) };
    assert_pingone_error(&loser, 409, "REQUEST_CONFLICT");
    assert_eq!(
        winner.json["status"], "ACTIVATION_REQUIRED",
        "{}",
        winner.text
    );

    assert_eq!(
        devices_of(&h, &user).await,
        before + 1,
        "exactly one device"
    );
    let now = poll(&first, &started).await;
    assert_eq!(now.json["status"], "ACTIVATION_REQUIRED");
    assert_eq!(now.json["device"]["id"], winner.json["device"]["id"]);
    assert_eq!(now.json["device"]["type"], winner.json["device"]["type"]);
    // The claim is released: the next action goes through.
    let deleted = act(&second, &now, "device.delete", json!({})).await;
    assert_eq!(
        deleted.json["status"], "DEVICE_ENROLLMENT_REQUIRED",
        "{}",
        deleted.text
    );
}

/// The service for `acme` and `globex`: [`KEY`] for acme only, [`BOTH`]
/// for both.
async fn serve_two_tenants(h: &Harness) -> Served {
    let config = ServeConfig {
        executions: ExecutionsSection {
            steps: vec![templates::flows_dir().join("steps/mfa-enrollment.json")],
            ..ExecutionsSection::default()
        },
        ..ServeConfig::default()
    };
    let key = |name: &str, key: &str, tenants: &[&str]| KeyConfig {
        name: name.into(),
        sha256: Some(digest_hex(key)),
        key: None,
        tenants: tenants.iter().map(|t| t.to_string()).collect(),
        admin: false,
    };
    let keys = Keys::from_config(&[
        key("acme", KEY, &["acme"]),
        key("both", BOTH, &["acme", "globex"]),
    ])
    .unwrap();
    let runtime = connector_testkit::runtime(test_config()).await;
    let seed = h.emulator.seed();
    let acme = pingone_tenant(&runtime, &h.emulator, seed, Default::default());
    let globex = pingone_tenant(&runtime, &h.emulator, seed, Default::default());
    let service = Service::new(runtime, &config, keys).unwrap();
    service.registry().insert("acme", acme);
    service.registry().insert("globex", globex);
    Served::start(service).await
}

#[tokio::test]
async fn tenants_keys_and_flows_are_kept_apart() {
    let h = Harness::start().await;
    let served = serve_two_tenants(&h).await;
    let acme_only = served.client(Some(KEY));
    let both = served.client(Some(BOTH));
    let input = input_for(&h.user_n(0)).to_string();
    let start_in = |tenant: &str| format!("/v1/tenants/{tenant}/flows/mfa-enrollment/executions");

    // The acme key sees no globex.
    let refused = acme_only
        .send("POST", &start_in("globex"), input.clone())
        .await;
    assert_eq!(refused.status, 404, "{}", refused.text);
    let started = acme_only
        .send("POST", &start_in("acme"), input.clone())
        .await;
    assert_eq!(started.status, 201, "{}", started.text);
    let id = started.json["id"].as_str().unwrap().to_owned();
    let under_globex = format!("/v1/tenants/globex/flowExecutions/{id}");
    assert_eq!(acme_only.get(&under_globex).await.status, 404);

    // A key for both still finds acme's execution only under acme.
    let read = both.get(&under_globex).await;
    assert_pingone_error(&read, 404, "NOT_FOUND");
    let acted = both
        .send_with(
            "POST",
            &under_globex,
            &[(
                "content-type",
                "application/vnd.pingidentity.device.skipEnrollment+json",
            )],
            "{}",
        )
        .await;
    assert_pingone_error(&acted, 404, "NOT_FOUND");
    let own = both
        .get(&format!("/v1/tenants/acme/flowExecutions/{id}"))
        .await;
    assert_eq!(
        (own.status, own.json["id"].as_str()),
        (200, Some(id.as_str()))
    );
    let theirs = both.send("POST", &start_in("globex"), input.clone()).await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    assert!(theirs.json["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .starts_with("/v1/tenants/globex/flowExecutions/"));
    let crossed = acme_only
        .get(theirs.json["_links"]["self"]["href"].as_str().unwrap())
        .await;
    assert_eq!(crossed.status, 404, "{}", crossed.text);

    // An unknown flow, an unknown execution, and no key.
    let unknown = both
        .send(
            "POST",
            "/v1/tenants/acme/flows/no-such-flow/executions",
            input.clone(),
        )
        .await;
    assert_pingone_error(&unknown, 404, "NOT_FOUND");
    let missing = both
        .get("/v1/tenants/acme/flowExecutions/0123456789abcdef")
        .await;
    assert_pingone_error(&missing, 404, "NOT_FOUND");
    let anonymous = served.client(None);
    let no_key = anonymous.send("POST", &start_in("acme"), input).await;
    assert_eq!(no_key.status, 401, "{}", no_key.text);
    let no_key = anonymous
        .get(&format!("/v1/tenants/acme/flowExecutions/{id}"))
        .await;
    assert_eq!(no_key.status, 401, "{}", no_key.text);
}
