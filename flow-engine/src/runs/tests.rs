//! Runs without a connector: a flow of a wait and a result, on a runtime
//! with nothing loaded.

use super::*;
use connector_runtime::{Limits, RuntimeConfig};
use serde_json::json;

/// A flow that asks for a code and ends with it: no connector runs, so
/// the runtime under it needs none.
const ASK: &str = r#"{
  "flowId": "ask", "name": "Ask",
  "inputSchema": { "type": "object", "required": ["who"], "properties": { "who": { "type": "string" } } },
  "graphData": { "elements": {
    "nodes": [
      { "data": { "id": "askCode", "nodeType": "WAIT", "title": "Ask", "waitFor": "otp",
                  "prompt": "The code", "context": { "who": "{{global.parameters.who}}" } } },
      { "data": { "id": "done", "nodeType": "RESULT", "title": "Done",
                  "output": { "code": "{{local.askCode.payload.output}}" } } }
    ],
    "edges": [ { "data": { "source": "askCode", "target": "done" } } ] } }
}"#;

struct World {
    runtime: Runtime,
    tenant: Tenant,
    library: Arc<FlowLibrary>,
}

fn world() -> World {
    let mut library = FlowLibrary::new();
    library.add_json("ask.json", ASK).unwrap();
    let config = RuntimeConfig {
        max_instances: 4,
        ..RuntimeConfig::default()
    };
    World {
        runtime: Runtime::new(config).unwrap(),
        tenant: Tenant::builder(Limits::default()).unwrap().build(),
        library: Arc::new(library),
    }
}

fn start(runs: &Runs, w: &World, owner: &str) -> Result<RunView, FlowError> {
    runs.start(
        owner,
        &w.runtime,
        &w.tenant,
        &w.library,
        "ask",
        json!({ "who": "alice" }),
        Answerer::Watcher,
    )
}

/// Watches `id` of owner `a` until it is in `status`.
async fn until(runs: &Runs, id: &str, status: RunStatus) -> RunView {
    until_of(runs, "a", id, status).await
}

/// Watches `id` of `owner` until it is in `status` (ten seconds at most).
async fn until_of(runs: &Runs, owner: &str, id: &str, status: RunStatus) -> RunView {
    let mut since = 0;
    for _ in 0..100 {
        let view = runs
            .watch(owner, id, 0, since, Duration::from_millis(100))
            .await
            .unwrap();
        if view.status == status {
            return view;
        }
        since = view.version;
    }
    panic!("run {id} never reached {status:?}");
}

#[tokio::test]
async fn a_wait_is_answered_by_the_watcher_and_the_run_completes() {
    let w = world();
    let runs = Runs::new(RunLimits::default());
    let started = start(&runs, &w, "a").unwrap();
    assert_eq!(started.status, RunStatus::Running);
    let waiting = until(&runs, &started.id, RunStatus::Waiting).await;
    let wait = waiting.wait.expect("the wait's request");
    assert_eq!(
        (wait.node_id.as_str(), &wait.context["who"]),
        ("askCode", &json!("alice"))
    );

    // Another owner sees no run; an answer for another node is refused.
    assert!(matches!(
        runs.answer("b", &started.id, None, json!("1")),
        Err(FlowError::UnknownRun { .. })
    ));
    assert!(matches!(
        runs.answer("a", &started.id, Some("done"), json!("1")),
        Err(FlowError::NotWaiting { .. })
    ));
    runs.answer("a", &started.id, Some("askCode"), json!("123456"))
        .unwrap();
    let done = until(&runs, &started.id, RunStatus::Completed).await;
    assert_eq!(done.result, Some(json!({ "code": "123456" })));
    let nodes: Vec<&str> = done.steps.iter().map(|s| s.node_id.as_str()).collect();
    assert_eq!(nodes, ["askCode", "done"]);
    assert_eq!(done.steps[0].output, json!("123456"));
    // The steps come from `after` on.
    let tail = runs
        .watch("a", &started.id, 1, 0, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!((tail.after, tail.steps.len(), tail.step_count), (1, 1, 2));
    assert!(matches!(
        runs.answer("a", &started.id, None, json!("1")),
        Err(FlowError::NotWaiting { .. })
    ));
}

#[tokio::test]
async fn an_unanswered_wait_fails_the_run_and_bad_starts_are_refused() {
    let w = world();
    let runs = Runs::new(RunLimits {
        answer_timeout: Duration::from_millis(50),
        max_live: 1,
        ..RunLimits::default()
    });
    let started = start(&runs, &w, "a").unwrap();
    // One run is unfinished: the second is refused until it ends.
    assert!(matches!(
        start(&runs, &w, "a"),
        Err(FlowError::TooManyRuns { limit: 1, .. })
    ));
    let failed = until(&runs, &started.id, RunStatus::Failed).await;
    let error = failed.error.expect("the error");
    assert_eq!(
        (error["kind"].as_str(), error["node"].as_str()),
        (Some("flowNode"), Some("askCode"))
    );
    assert!(
        error["summary"]
            .as_str()
            .unwrap()
            .contains("no answer within"),
        "{error}"
    );
    assert!(failed.wait.is_none());
    start(&runs, &w, "a").expect("the finished run no longer counts");

    let refused = runs.start(
        "a",
        &w.runtime,
        &w.tenant,
        &w.library,
        "ask",
        json!({}),
        Answerer::Watcher,
    );
    assert!(
        matches!(refused, Err(FlowError::Input { .. })),
        "{refused:?}"
    );
    let refused = runs.start(
        "a",
        &w.runtime,
        &w.tenant,
        &w.library,
        "nope",
        json!({}),
        Answerer::Watcher,
    );
    assert!(matches!(refused, Err(FlowError::UnknownFlow { .. })));
}

#[tokio::test]
async fn one_owners_runs_never_keep_anothers_from_starting_and_a_cancelled_run_frees_its_place() {
    let w = world();
    let runs = Runs::new(RunLimits {
        max_live: 2,
        max_live_total: 3,
        ..RunLimits::default()
    });
    let first = start(&runs, &w, "a").unwrap();
    start(&runs, &w, "a").unwrap();
    assert!(matches!(
        start(&runs, &w, "a"),
        Err(FlowError::TooManyRuns {
            limit: 2,
            whose: "this tenant's"
        })
    ));
    start(&runs, &w, "b").expect("another owner still starts");
    assert!(matches!(
        start(&runs, &w, "b"),
        Err(FlowError::TooManyRuns {
            limit: 3,
            whose: "all tenants'"
        })
    ));
    // Another owner cannot cancel it; its owner can, and it stays
    // readable, no longer waiting, and no longer counted.
    until(&runs, &first.id, RunStatus::Waiting).await;
    assert!(matches!(
        runs.cancel("b", &first.id),
        Err(FlowError::UnknownRun { .. })
    ));
    let cancelled = runs.cancel("a", &first.id).unwrap();
    assert_eq!(
        (cancelled.status, cancelled.wait.is_none()),
        (RunStatus::Cancelled, true)
    );
    assert!(matches!(
        runs.answer("a", &first.id, None, json!("1")),
        Err(FlowError::NotWaiting { .. })
    ));
    start(&runs, &w, "a").expect("the cancelled run's place is free");
    // Cancelling again changes nothing.
    assert_eq!(
        runs.cancel("a", &first.id).unwrap().version,
        cancelled.version
    );
}

#[tokio::test]
async fn finished_runs_past_the_count_kept_are_forgotten_oldest_first() {
    let w = world();
    let runs = Runs::new(RunLimits {
        answer_timeout: Duration::from_millis(10),
        keep_finished: 2,
        ..RunLimits::default()
    });
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = start(&runs, &w, "a").unwrap().id;
        until(&runs, &id, RunStatus::Failed).await;
        ids.push(id);
    }
    // Another owner's finished run does not count against these.
    let theirs = start(&runs, &w, "b").unwrap().id;
    until_of(&runs, "b", &theirs, RunStatus::Failed).await;
    // Forgetting happens as the next run starts.
    start(&runs, &w, "a").unwrap();
    runs.watch("b", &theirs, 0, 0, Duration::ZERO)
        .await
        .expect("kept");
    let first = runs.watch("a", &ids[0], 0, 0, Duration::ZERO).await;
    assert!(matches!(first, Err(FlowError::UnknownRun { .. })));
    for id in &ids[1..] {
        runs.watch("a", id, 0, 0, Duration::ZERO)
            .await
            .expect("kept");
    }
}

#[tokio::test]
async fn a_run_holding_more_than_its_byte_budget_fails_at_that_node() {
    let w = world();
    let runs = Runs::new(RunLimits::default());
    let id = start(&runs, &w, "a").unwrap().id;
    until(&runs, &id, RunStatus::Waiting).await;
    let huge = "7".repeat(crate::engine::MAX_RUN_BYTES + 1);
    runs.answer("a", &id, Some("askCode"), json!(huge)).unwrap();
    let failed = until(&runs, &id, RunStatus::Failed).await;
    let error = failed.error.expect("the error");
    assert_eq!(error["node"], "askCode", "{error}");
    assert!(
        error["summary"].as_str().unwrap().contains("bytes"),
        "{error}"
    );
    assert_eq!(failed.step_count, 0, "the step past the budget is not kept");
}
