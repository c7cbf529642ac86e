//! Contract tests of pairing keys (create, read, delete) and authentication
//! codes (create, read): a happy path through emulator -> host -> component
//! -> host with what the phone does in between (claim, approve), a
//! schema-invalid input with its JSON pointer, and the usual PingOne error.

use contract_tests::{assert_api_error, assert_invalid_input, id_at, Harness};
use serde_json::{json, Value};
use std::time::Duration;

const TOO_LONG: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

fn envelope_ok(out: &Value, status: u64) {
    assert_eq!(out["statusCode"], status, "{out}");
    assert!(out["headers"].is_object(), "{out}");
    assert!(out["rawResponse"].is_object(), "{out}");
}

fn status(out: &Value) -> &str {
    out["rawResponse"]["status"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn create_pairing_key() {
    let h = Harness::start().await;
    let user = h.user();
    let app = h.emulator.seed().application_id.clone();
    let out = h.ok("createPairingKey", json!({ "userId": user })).await;
    envelope_ok(&out, 201);
    let raw = &out["rawResponse"];
    assert_eq!(raw["status"], "UNCLAIMED");
    let code = raw["code"].as_str().unwrap();
    assert_eq!(code.len(), 14);
    assert!(code.bytes().all(|c| c.is_ascii_digit()));
    assert!(raw["expiresAt"].is_string());
    assert_eq!(
        raw["applications"][0]["id"],
        app.as_str(),
        "every native app by default"
    );

    let scoped = h
        .ok(
            "createPairingKey",
            json!({ "userId": user, "applicationIds": [app, " "] }),
        )
        .await;
    assert_eq!(
        scoped["rawResponse"]["applications"],
        json!([{ "id": app }])
    );
    // The app claims the key: the user gets an ACTIVE MOBILE device.
    let device = h
        .emulator
        .claim_pairing_key(&h.env_id(), code)
        .expect("claimed");
    let all = h.ok("readAllDevices", json!({ "userId": user })).await;
    assert_eq!(all["devices"][0]["id"], device["id"]);
    assert_eq!(all["devices"][0]["type"], "MOBILE");
    assert_eq!(all["devices"][0]["status"], "ACTIVE");

    assert_invalid_input(
        h.call(
            "createPairingKey",
            json!({ "userId": user, "applicationIds": "all" }),
        )
        .await,
        "createPairingKey",
        "/applicationIds",
    );
    assert_invalid_input(
        h.call("createPairingKey", json!({ "userId": TOO_LONG }))
            .await,
        "createPairingKey",
        "/userId",
    );
    let details = assert_api_error(
        h.call(
            "createPairingKey",
            json!({ "userId": user, "applicationIds": ["no-such-app"] }),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].target.as_deref(), Some("applications[0].id"));
    assert_api_error(
        h.call("createPairingKey", json!({ "userId": "no-such-user" }))
            .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn read_pairing_key_until_claimed_or_expired() {
    let h = Harness::start().await;
    let user = h.user_n(1);
    let key = h.ok("createPairingKey", json!({ "userId": user })).await;
    let id = id_at(&key, "/rawResponse/id");
    let read = h
        .ok(
            "readPairingKey",
            json!({ "userId": user, "pairingKeyId": id }),
        )
        .await;
    envelope_ok(&read, 200);
    assert_eq!(status(&read), "UNCLAIMED");
    assert_eq!(read["rawResponse"]["code"], key["rawResponse"]["code"]);
    h.emulator
        .claim_pairing_key(&h.env_id(), key["rawResponse"]["code"].as_str().unwrap())
        .unwrap();
    let read = h
        .ok(
            "readPairingKey",
            json!({ "userId": user, "pairingKeyId": id }),
        )
        .await;
    assert_eq!(status(&read), "CLAIMED");

    assert_invalid_input(
        h.call("readPairingKey", json!({ "userId": user })).await,
        "readPairingKey",
        "/pairingKeyId",
    );
    assert_invalid_input(
        h.call(
            "readPairingKey",
            json!({ "userId": user, "pairingKeyId": TOO_LONG }),
        )
        .await,
        "readPairingKey",
        "/pairingKeyId",
    );
    // An unclaimed key expires (10 minutes by the policy) and is gone.
    let fresh = id_at(
        &h.ok("createPairingKey", json!({ "userId": user })).await,
        "/rawResponse/id",
    );
    h.emulator.advance_clock(Duration::from_secs(11 * 60));
    assert_api_error(
        h.call(
            "readPairingKey",
            json!({ "userId": user, "pairingKeyId": fresh }),
        )
        .await,
        404,
        "NOT_FOUND",
    );
    // Claimed keys do not expire.
    let read = h
        .ok(
            "readPairingKey",
            json!({ "userId": user, "pairingKeyId": id }),
        )
        .await;
    assert_eq!(status(&read), "CLAIMED");
}

#[tokio::test]
async fn delete_pairing_key() {
    let h = Harness::start().await;
    let user = h.user_n(2);
    let id = id_at(
        &h.ok("createPairingKey", json!({ "userId": user })).await,
        "/rawResponse/id",
    );
    let out = h
        .ok(
            "deletePairingKey",
            json!({ "userId": user, "pairingKeyId": id }),
        )
        .await;
    assert_eq!(out["statusCode"], 204);
    assert_eq!(out["rawResponse"], json!({}));
    assert_api_error(
        h.call(
            "readPairingKey",
            json!({ "userId": user, "pairingKeyId": id }),
        )
        .await,
        404,
        "NOT_FOUND",
    );

    assert_invalid_input(
        h.call(
            "deletePairingKey",
            json!({ "userId": user, "pairingKeyId": 5 }),
        )
        .await,
        "deletePairingKey",
        "/pairingKeyId",
    );
    // A claimed key is the phone's now: it cannot be deleted.
    let claimed = h.ok("createPairingKey", json!({ "userId": user })).await;
    h.emulator
        .claim_pairing_key(
            &h.env_id(),
            claimed["rawResponse"]["code"].as_str().unwrap(),
        )
        .unwrap();
    let details = assert_api_error(
        h.call(
            "deletePairingKey",
            json!({ "userId": user, "pairingKeyId": id_at(&claimed, "/rawResponse/id") }),
        )
        .await,
        400,
        "REQUEST_FAILED",
    );
    assert_eq!(details[0].target.as_deref(), Some("status"));
    assert_api_error(
        h.call(
            "deletePairingKey",
            json!({ "userId": user, "pairingKeyId": id }),
        )
        .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn create_authentication_code() {
    let h = Harness::start().await;
    let app = h.emulator.seed().application_id.clone();
    let out = h
        .ok(
            "createAuthenticationCode",
            json!({ "authenticatingApplicationId": app, "duration": "2", "timeUnit": "MINUTES",
                    "userApproval": "REQUIRED (Default)",
                    "clientContext": [ { "name": "terminal", "value": "kiosk-7" } ] }),
        )
        .await;
    envelope_ok(&out, 201);
    let raw = &out["rawResponse"];
    assert_eq!(raw["status"], "UNCLAIMED");
    let code = raw["code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert_eq!(raw["uri"], format!("pingonesdk?authentication_code={code}"));
    assert_eq!(
        raw["lifeTime"],
        json!({ "duration": 2, "timeUnit": "MINUTES" })
    );
    assert_eq!(raw["userApproval"], "REQUIRED");
    assert_eq!(raw["clientContext"], json!({ "terminal": "kiosk-7" }));
    assert_eq!(
        out["authenticationCode"], *raw,
        "the convenience field is the code"
    );

    // The application typed by hand; seconds by default.
    let custom = h
        .ok(
            "createAuthenticationCode",
            json!({ "authenticatingApplicationId": "Enter Application ID",
                    "customAuthenticatingApplicationId": { "value": app },
                    "duration": "90", "userApproval": "NOT_REQUIRED" }),
        )
        .await;
    assert_eq!(
        custom["rawResponse"]["lifeTime"],
        json!({ "duration": 90, "timeUnit": "SECONDS" })
    );

    let base =
        json!({ "authenticatingApplicationId": app, "duration": "60", "userApproval": "REQUIRED" });
    let with = |k: &str, v: Value| {
        let mut input = base.clone();
        input[k] = v;
        input
    };
    assert_invalid_input(
        h.call(
            "createAuthenticationCode",
            with("userApproval", json!("MAYBE")),
        )
        .await,
        "createAuthenticationCode",
        "/userApproval",
    );
    assert_invalid_input(
        h.call("createAuthenticationCode", with("timeUnit", json!("HOURS")))
            .await,
        "createAuthenticationCode",
        "/timeUnit",
    );
    assert_invalid_input(
        h.call("createAuthenticationCode", with("duration", json!("5")))
            .await,
        "createAuthenticationCode",
        "/duration",
    );
    assert_invalid_input(
        h.call("createAuthenticationCode", with("duration", json!("ten")))
            .await,
        "createAuthenticationCode",
        "/duration",
    );
    assert_invalid_input(
        h.call(
            "createAuthenticationCode",
            json!({ "authenticatingApplicationId": app, "userApproval": "REQUIRED" }),
        )
        .await,
        "createAuthenticationCode",
        "/duration",
    );
    assert_invalid_input(
        h.call(
            "createAuthenticationCode",
            with("authenticatingApplicationId", json!("Enter Application ID")),
        )
        .await,
        "createAuthenticationCode",
        "/customAuthenticatingApplicationId",
    );
    let details = assert_api_error(
        h.call(
            "createAuthenticationCode",
            with("authenticatingApplicationId", json!("no-such-app")),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(details[0].target.as_deref(), Some("application.id"));
}

#[tokio::test]
async fn read_authentication_code_through_claim_and_approval() {
    let h = Harness::start().await;
    let env = h.env_id();
    let app = h.emulator.seed().application_id.clone();
    let user = h.user();
    let phone = h.mobile_device(&user).await;
    let create = |approval: &str| {
        json!({ "authenticatingApplicationId": app, "duration": "5", "timeUnit": "MINUTES",
                "userApproval": approval })
    };

    let out = h.ok("createAuthenticationCode", create("REQUIRED")).await;
    let id = id_at(&out, "/rawResponse/id");
    let code = id_at(&out, "/rawResponse/code");
    let read = |id: &str| json!({ "authenticationCodeId": id });
    let unclaimed = h.ok("readAuthenticationCode", read(&id)).await;
    envelope_ok(&unclaimed, 200);
    assert_eq!(status(&unclaimed), "UNCLAIMED");
    assert_eq!(unclaimed["authenticationCode"]["status"], "UNCLAIMED");

    h.emulator
        .claim_authentication_code(&env, &code, &user, None)
        .expect("the phone scans the code");
    let claimed = h.ok("readAuthenticationCode", read(&id)).await;
    assert_eq!(status(&claimed), "CLAIMED");
    assert_eq!(claimed["rawResponse"]["user"]["id"], user.as_str());
    assert_eq!(
        claimed["rawResponse"]["_embedded"]["device"]["id"],
        phone.as_str()
    );
    h.emulator
        .approve_authentication_code(&env, &id, true)
        .expect("the user approves");
    let done = h.ok("readAuthenticationCode", read(&id)).await;
    assert_eq!(status(&done), "COMPLETED");
    assert_eq!(done["authenticationCode"]["user"]["id"], user.as_str());

    // Denied on the phone.
    let out = h.ok("createAuthenticationCode", create("REQUIRED")).await;
    let denied = id_at(&out, "/rawResponse/id");
    h.emulator
        .claim_authentication_code(&env, &id_at(&out, "/rawResponse/code"), &user, Some(&phone))
        .unwrap();
    h.emulator
        .approve_authentication_code(&env, &denied, false)
        .unwrap();
    assert_eq!(
        status(&h.ok("readAuthenticationCode", read(&denied)).await),
        "DENIED"
    );
    // No approval needed: scanning completes it.
    let out = h
        .ok("createAuthenticationCode", create("NOT_REQUIRED"))
        .await;
    h.emulator
        .claim_authentication_code(&env, &id_at(&out, "/rawResponse/code"), &user, None)
        .unwrap();
    assert_eq!(
        status(
            &h.ok(
                "readAuthenticationCode",
                read(&id_at(&out, "/rawResponse/id"))
            )
            .await
        ),
        "COMPLETED"
    );
    // Nobody scanned it in time.
    let out = h.ok("createAuthenticationCode", create("REQUIRED")).await;
    h.emulator.advance_clock(Duration::from_secs(6 * 60));
    assert_eq!(
        status(
            &h.ok(
                "readAuthenticationCode",
                read(&id_at(&out, "/rawResponse/id"))
            )
            .await
        ),
        "EXPIRED"
    );

    assert_invalid_input(
        h.call("readAuthenticationCode", json!({})).await,
        "readAuthenticationCode",
        "/authenticationCodeId",
    );
    assert_invalid_input(
        h.call(
            "readAuthenticationCode",
            json!({ "authenticationCodeId": TOO_LONG }),
        )
        .await,
        "readAuthenticationCode",
        "/authenticationCodeId",
    );
    assert_api_error(
        h.call(
            "readAuthenticationCode",
            json!({ "authenticationCodeId": "no-such-code" }),
        )
        .await,
        404,
        "NOT_FOUND",
    );
}
