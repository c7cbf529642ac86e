//! Every flow template under `flows/`, run end to end by the engine
//! against the emulator, the end user played by `EmulatorUser`. One module
//! per group of templates.

#[path = "flow_files/enrollment.rs"]
mod enrollment;
#[path = "flow_files/one_time.rs"]
mod one_time;
#[path = "flow_files/passwordless.rs"]
mod passwordless;
#[path = "flow_files/sign_on.rs"]
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
