//! The shared store: two `serve` instances on one PostgreSQL database (a
//! real server on loopback) continue each other's executions, and two
//! actions on one execution through both at once: exactly one wins.

use connector_service::ExecutionsSection;
use connector_testkit::postgres::Postgres;
use contract_tests::Harness;
use pingone_emulator::faults::{Fault, FaultAction};
use serde_json::json;

use crate::{act, input_for, otp_sent_to, poll, serve_with, start, KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_executions_through_postgres() {
    let database = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let h = Harness::start().await;
    let section = || ExecutionsSection {
        database: Some(database.url()),
        ..ExecutionsSection::default()
    };
    let first = serve_with(&h, section()).await;
    let second = serve_with(&h, section()).await;
    let (a, b) = (first.client(Some(KEY)), second.client(Some(KEY)));
    let user = h.user_n(0);

    // Started on one, acted on through the other, finished on the first.
    let started = start(&a, input_for(&user)).await;
    assert_eq!(started.status, 201, "{}", started.text);
    let seen = poll(&b, &started).await;
    assert_eq!(
        (seen.status, &seen.json["id"]),
        (200, &started.json["id"]),
        "{}",
        seen.text
    );
    let created = act(&b, &started, "device.create", json!({ "type": "SMS" })).await;
    assert_eq!(
        created.json["status"], "ACTIVATION_REQUIRED",
        "{}",
        created.text
    );
    let otp = otp_sent_to(&h, "+15125550177");
    let done = act(&a, &started, "device.activate", json!({ "otp": otp })).await;
    assert_eq!(done.json["result"]["type"], "ENROLLED", "{}", done.text);
    assert_eq!(poll(&b, &started).await.json["status"], "COMPLETED");

    // Two actions at once through the two instances: one 200, one 409, and
    // one device created.
    let other = h.user_n(1);
    let started = start(&a, input_for(&other)).await;
    let count = |listed: serde_json::Value| listed["devices"].as_array().map_or(0, Vec::len);
    let before = count(h.ok("readAllDevices", json!({ "userId": other })).await);
    h.emulator
        .inject(Fault::new("/devices", FaultAction::Delay { millis: 400 }).times(1));
    let (one, two) = tokio::join!(
        act(&a, &started, "device.create", json!({ "type": "SMS" })),
        act(&b, &started, "device.create", json!({ "type": "EMAIL" })),
    );
    let mut statuses = [one.status, two.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", one.text, two.text);
    let loser = if one.status == 409 { &one } else { &two };
    assert_eq!(loser.json["code"], "REQUEST_CONFLICT", "{}", loser.text);
    let after = count(h.ok("readAllDevices", json!({ "userId": other })).await);
    assert_eq!(after, before + 1, "exactly one device was created");
    let winner = if one.status == 200 { &one } else { &two };
    assert_eq!(
        poll(&b, &started).await.json["device"]["id"],
        winner.json["device"]["id"]
    );

    drop((a, b));
    first.stop().await;
    second.stop().await;
}
