//! Every flow template under `flows/`, run end to end by the engine
//! against the emulator, the end user played by `EmulatorUser`. One module
//! per group of templates.

#[path = "flows/enrollment.rs"]
mod enrollment;
#[path = "flows/one_time.rs"]
mod one_time;
#[path = "flows/passwordless.rs"]
mod passwordless;
#[path = "flows/sign_on.rs"]
mod sign_on;

use std::sync::{Arc, Mutex};

use connector_flows::{FlowLibrary, FlowRun};
use connector_testkit::end_user::EmulatorUser;
use connector_testkit::templates;
use contract_tests::Harness;
use serde_json::Value;

/// The flows, loaded and checked against the harness's runtime.
pub(crate) fn library(h: &Harness) -> FlowLibrary {
    templates::library(&h.runtime, &templates::flows_dir()).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `flow` with `input` for the end user `configure` sets up; returns
/// the run and its log.
pub(crate) async fn run_flow(
    h: &Harness,
    flow: &str,
    input: Value,
    configure: impl FnOnce(EmulatorUser<'_>) -> EmulatorUser<'_>,
) -> (FlowRun, Vec<String>) {
    let library = library(h);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let mut user = configure(EmulatorUser::new(&h.emulator, 7, move |line: &str| {
        sink.lock().unwrap().push(line.to_owned())
    }));
    let engine = connector_flows::Engine::new(&h.runtime, &h.tenant, &library);
    let run = engine
        .run(flow, input, &mut user)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "flow {flow} failed: {e}\n{}",
                lines.lock().unwrap().join("\n")
            )
        });
    let log = lines.lock().unwrap().clone();
    (run, log)
}

/// `connector-host demo`'s run: every scenario in order on one emulator
/// (later ones use the devices earlier ones enrolled), each completing.
#[tokio::test]
async fn the_demo_runs_every_template_in_order() {
    let h = Harness::start().await;
    let library = library(&h);
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let mut demo = connector_testkit::scenarios::Demo::new(
        &h.emulator,
        Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
    );
    for scenario in connector_testkit::scenarios::SCENARIOS {
        let run = demo
            .run(scenario, &h.runtime, &h.tenant, &library)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e}\n{}",
                    scenario.flow_id,
                    lines.lock().unwrap().join("\n")
                )
            });
        assert_eq!(
            run.result["status"], "COMPLETED",
            "{}: {}",
            scenario.flow_id, run.result
        );
    }
    // One token for the whole demo: the tenant's connection caches it.
    assert_eq!(h.emulator.stats().token_requests, 1);
}

/// Every file under `flows/` is one of seed 000's templates the demo runs,
/// or a sub-flow one of them runs; and the demo runs every template.
#[test]
fn every_flow_file_is_a_template_or_a_sub_flow_of_one() {
    let mut library = FlowLibrary::new();
    library.add_dir(&templates::flows_dir()).unwrap();
    let scenarios: Vec<&str> = connector_testkit::scenarios::SCENARIOS
        .iter()
        .map(|s| s.flow_id)
        .collect();
    let sub_flows: Vec<String> = library
        .flows()
        .flat_map(|f| f.nodes())
        .filter_map(|n| match &n.kind {
            connector_flows::NodeKind::Subflow(s) => Some(s.flow_id.clone()),
            _ => None,
        })
        .collect();
    for flow in library.flows() {
        assert!(
            scenarios.contains(&flow.flow_id.as_str()) || sub_flows.contains(&flow.flow_id),
            "{} is neither run by the demo nor a sub-flow",
            flow.flow_id
        );
    }
    // Seed 000's ten templates: nine top-level flows and the Device
    // Registration sub-flow (MFA Authentication is the tenth's sub-flow).
    for template in [
        "registration-mfa-enrollment",
        "registration-mfa-auto-enrollment",
        "sign-on-and-mfa",
        "sign-on-and-adaptive-mfa",
        "one-time-device-authentication",
        "usernameless-sign-on-with-biometrics",
        "passwordless-authentication",
        "passwordless-sign-on-with-biometrics",
        "qr-code-passwordless-sign-on",
    ] {
        assert!(scenarios.contains(&template), "the demo runs {template}");
    }
    for sub_flow in ["device-registration", "mfa-authentication"] {
        assert!(
            sub_flows.iter().any(|s| s == sub_flow),
            "{sub_flow} is used"
        );
    }
}
