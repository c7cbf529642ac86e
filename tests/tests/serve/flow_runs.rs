//! Flow runs over HTTP: the seed's templates listed and run for a tenant,
//! watched step by step with the long poll, their waits answered by the
//! caller; and every refusal of the three routes.

use super::*;

/// The world with the seed's flow templates (`[flows] dir`).
async fn world_with_flows() -> World {
    World::start(Options {
        flows: true,
        ..Options::default()
    })
    .await
}

/// Starts `flow` for `acme` with `body`.
async fn start(w: &World, flow: &str, body: Value) -> Answer {
    w.acme
        .send(
            "POST",
            &format!("/v1/tenants/acme/flows/{flow}/runs"),
            body.to_string(),
        )
        .await
}

/// Watches run `id` of `acme` until `done` holds for it, gathering its
/// steps as they come (each watch asks only for the steps after those).
async fn watch_until(
    w: &World,
    id: &str,
    steps: &mut Vec<Value>,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut since = 0;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let path = format!(
            "/v1/tenants/acme/flowRuns/{id}?after={}&since={since}&waitMs=2000",
            steps.len()
        );
        let run = expect(w.acme.get(&path).await, 200, None).json;
        assert_eq!(run["after"].as_u64(), Some(steps.len() as u64), "{run}");
        steps.extend(run["steps"].as_array().unwrap().iter().cloned());
        assert_eq!(run["stepCount"].as_u64(), Some(steps.len() as u64), "{run}");
        if done(&run) {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never got there: {run}"
        );
        since = run["version"].as_u64().unwrap();
    }
}

fn waiting(run: &Value) -> bool {
    run["status"] == "WAITING"
}

#[tokio::test]
async fn a_template_runs_step_by_step_with_its_otp_answered_by_the_caller() {
    let w = world_with_flows().await;
    let listed = expect(w.acme.get("/v1/flows").await, 200, None);
    let ids: Vec<&str> = listed.json["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["flowId"].as_str())
        .collect();
    assert!(ids.contains(&"one-time-device-authentication"), "{ids:?}");

    let email = "runner@example.com";
    let started = expect(
        start(
            &w,
            "one-time-device-authentication",
            json!({ "input": { "userId": w.user(), "deviceType": "Email", "email": email } }),
        )
        .await,
        201,
        None,
    );
    assert_eq!(
        (
            started.json["status"].as_str(),
            started.json["answeredBy"].as_str()
        ),
        (Some("RUNNING"), Some("watcher"))
    );
    let id = started.json["id"].as_str().unwrap().to_owned();
    let mut steps = Vec::new();
    let at_wait = watch_until(&w, &id, &mut steps, waiting).await;
    assert_eq!(at_wait["wait"]["nodeId"], "askOtp", "{at_wait}");
    assert_eq!(at_wait["wait"]["context"]["to"], email);
    assert_eq!(steps[0]["nodeId"], "start");
    assert_eq!(
        steps[0]["capability"],
        "pingone-mfa/createDeviceAuthentication"
    );
    assert!(
        steps[0]["output"]["rawResponse"]["id"].is_string(),
        "{}",
        steps[0]
    );

    // An answer for another node, or one without an answer, is refused.
    let answer_path = format!("/v1/tenants/acme/flowRuns/{id}/answer");
    let wrong_node = json!({ "nodeId": "check", "answer": "1" }).to_string();
    expect(
        w.acme.send("POST", &answer_path, wrong_node).await,
        409,
        Some("notWaiting"),
    );
    let extra = json!({ "nodeId": "askOtp", "answer": "1", "otp": "1" }).to_string();
    let refused = expect(
        w.acme.send("POST", &answer_path, extra).await,
        400,
        Some("invalidRequest"),
    );
    assert_eq!(refused.json["error"]["pointer"], "/otp");
    let no_answer = json!({ "nodeId": "askOtp" }).to_string();
    let refused = expect(
        w.acme.send("POST", &answer_path, no_answer).await,
        400,
        Some("invalidRequest"),
    );
    assert_eq!(refused.json["error"]["pointer"], "/answer");

    // A wrong code first: the flow asks again, then takes the right one.
    let typo = json!({ "nodeId": "askOtp", "answer": "000000" }).to_string();
    let answered = expect(w.acme.send("POST", &answer_path, typo).await, 200, None);
    assert_eq!(answered.json["status"], "RUNNING");
    let again = watch_until(&w, &id, &mut steps, waiting).await;
    assert_eq!(again["wait"]["nodeId"], "askOtp");
    let otp = w
        .emulator
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.to == email)
        .expect("the OTP was sent")
        .otp;
    let right = json!({ "nodeId": "askOtp", "answer": otp }).to_string();
    expect(w.acme.send("POST", &answer_path, right).await, 200, None);
    let done = watch_until(&w, &id, &mut steps, |r| r["status"] == "COMPLETED").await;
    assert_eq!(done["result"]["status"], "COMPLETED", "{done}");
    let nodes: Vec<&str> = steps.iter().filter_map(|s| s["nodeId"].as_str()).collect();
    assert_eq!(
        nodes,
        ["start", "askOtp", "check", "wrongOtp", "askOtp", "check", "done"]
    );
    assert_eq!(steps[3]["next"], "askOtp");
    assert_eq!(steps[4]["output"], json!(otp));

    // Finished: no answer is taken; it can still be read, from the start.
    let late = json!({ "answer": "1" }).to_string();
    expect(
        w.acme.send("POST", &answer_path, late).await,
        409,
        Some("notWaiting"),
    );
    let whole = expect(
        w.acme.get(&format!("/v1/tenants/acme/flowRuns/{id}")).await,
        200,
        None,
    );
    assert_eq!(whole.json["steps"].as_array().unwrap().len(), steps.len());

    let metrics = expect(w.admin.get("/metrics").await, 200, None);
    assert!(
        metrics
            .text
            .contains("connector_flow_runs{tenant=\"acme\",status=\"COMPLETED\"} 1"),
        "{}",
        metrics.text
    );
    // Another tenant's path does not find it, even with a key that may
    // see that tenant; a key that may not see acme does not see acme.
    let as_globex = w
        .admin
        .get(&format!("/v1/tenants/globex/flowRuns/{id}"))
        .await;
    expect(as_globex, 404, Some("unknownRun"));
    let globex_key = w
        .acme
        .get(&format!("/v1/tenants/globex/flowRuns/{id}"))
        .await;
    expect(globex_key, 404, Some("unknownTenant"));
}

#[tokio::test]
async fn flow_run_refusals_are_structured() {
    let w = world_with_flows().await;
    let user = w.user();
    let unknown = expect(
        start(&w, "no-such-flow", json!({})).await,
        404,
        Some("unknownFlow"),
    );
    expect_in_error(&unknown, "summary", "no-such-flow");
    let bad_input = expect(
        start(&w, "sign-on-and-mfa", json!({ "input": { "userId": 7 } })).await,
        400,
        Some("flowInput"),
    );
    assert_eq!(
        bad_input.json["error"]["pointer"], "/userId",
        "{}",
        bad_input.text
    );
    // Only serve --dev has an end user of its own.
    let no_end_user = expect(
        start(
            &w,
            "sign-on-and-mfa",
            json!({ "input": { "userId": user }, "answeredBy": "endUser" }),
        )
        .await,
        400,
        Some("notDevelopment"),
    );
    assert_eq!(no_end_user.json["error"]["pointer"], "/answeredBy");
    let who = expect(
        start(
            &w,
            "sign-on-and-mfa",
            json!({ "input": { "userId": user }, "answeredBy": 1 }),
        )
        .await,
        400,
        Some("invalidRequest"),
    );
    assert_eq!(who.json["error"]["pointer"], "/answeredBy");
    let typo = expect(
        start(
            &w,
            "sign-on-and-mfa",
            json!({ "inputs": { "userId": user } }),
        )
        .await,
        400,
        Some("invalidRequest"),
    );
    assert_eq!(typo.json["error"]["pointer"], "/inputs");
    expect(
        w.acme
            .send("POST", "/v1/tenants/acme/flows/sign-on-and-mfa/runs", "{")
            .await,
        400,
        Some("invalidRequest"),
    );
    expect(
        w.acme
            .send(
                "POST",
                "/v1/tenants/globex/flows/sign-on-and-mfa/runs",
                "{}",
            )
            .await,
        404,
        Some("unknownTenant"),
    );
    let none = "/v1/tenants/acme/flowRuns/0123456789abcdef0123456789abcdef";
    expect(w.acme.get(none).await, 404, Some("unknownRun"));
    let answer = format!("{none}/answer");
    expect(
        w.acme.send("POST", &answer, r#"{"answer":"1"}"#).await,
        404,
        Some("unknownRun"),
    );
    let too_long = format!("{none}?waitMs=60000");
    expect_in_error(
        &expect(w.acme.get(&too_long).await, 400, Some("invalidRequest")),
        "summary",
        "waitMs",
    );
    let unknown_field = format!("{none}?wait=5");
    expect(
        w.acme.get(&unknown_field).await,
        400,
        Some("invalidRequest"),
    );
}

#[tokio::test]
async fn a_tenants_unfinished_runs_are_bounded_without_holding_back_another_and_a_cancel_frees_one()
{
    let w = world_with_flows().await;
    let input = json!({ "input": { "userId": w.user(), "deviceType": "Email", "email": "many@example.com" } });
    let limit = connector_flows::RunLimits::default().max_live;
    let mut ids = Vec::new();
    for _ in 0..limit {
        let started = start(&w, "one-time-device-authentication", input.clone()).await;
        ids.push(
            expect(started, 201, None).json["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let refused = expect(
        start(&w, "one-time-device-authentication", input.clone()).await,
        429,
        Some("tooManyRuns"),
    );
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.json["error"]["limit"], limit);
    expect_in_error(&refused, "summary", "this tenant's");
    // Another tenant's runs are not held back by acme's.
    let globex = w
        .admin
        .send(
            "POST",
            "/v1/tenants/globex/flows/one-time-device-authentication/runs",
            input.to_string(),
        )
        .await;
    expect(globex, 201, None);
    // A cancelled run stops, stays readable and frees its place; another
    // tenant's path cannot cancel it.
    let run = format!("/v1/tenants/acme/flowRuns/{}", ids[0]);
    let elsewhere = format!("/v1/tenants/globex/flowRuns/{}", ids[0]);
    expect(
        w.admin.send("DELETE", &elsewhere, "").await,
        404,
        Some("unknownRun"),
    );
    let cancelled = expect(w.acme.send("DELETE", &run, "").await, 200, None);
    assert_eq!(cancelled.json["status"], "CANCELLED", "{}", cancelled.text);
    let read = expect(w.acme.get(&run).await, 200, None);
    assert_eq!(read.json["status"], "CANCELLED");
    let answer = json!({ "answer": "1" }).to_string();
    expect(
        w.acme.send("POST", &format!("{run}/answer"), answer).await,
        409,
        Some("notWaiting"),
    );
    expect(
        start(&w, "one-time-device-authentication", input).await,
        201,
        None,
    );
}

#[tokio::test]
async fn a_flows_folder_that_does_not_load_stops_the_start_and_names_its_key() {
    let runtime = connector_testkit::runtime(test_config()).await;
    let folder = std::env::temp_dir().join(format!("serve-flows-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    // A template naming a capability no loaded connector has.
    let bad = std::fs::read_to_string(
        connector_testkit::templates::flows_dir().join("sign-on-and-mfa.json"),
    )
    .unwrap()
    .replace("readUserMFAEnabled", "noSuchCapability");
    std::fs::write(folder.join("bad.json"), bad).unwrap();
    let config = ServeConfig {
        flows: connector_service::FlowsSection {
            dir: Some(folder.clone()),
            ..Default::default()
        },
        ..ServeConfig::default()
    };
    let refused = Service::new(
        runtime,
        &config,
        Keys::single("k", ACME_KEY, false, &["acme"]),
    );
    let _ = std::fs::remove_dir_all(&folder);
    match refused {
        Err(connector_runtime::Error::Tenant { field, message }) => {
            assert_eq!(field, "flows.dir");
            assert!(message.contains("noSuchCapability"), "{message}");
        }
        Err(other) => panic!("not the flows error: {other}"),
        Ok(_) => panic!("a folder with a broken template must not load"),
    }
}
