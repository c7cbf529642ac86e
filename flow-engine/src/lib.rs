//! `connector-flows`: flow definitions and the small engine that runs them,
//! the reference embedding of the connector runtime.
//!
//! A flow file is DaVinci's export shape (`graphData.elements.nodes` and
//! `edges`, each in `data`) with five node types: `CONNECTION` (invoke a
//! connector's capability with `properties` that may reference the flow's
//! input and earlier outputs, `{{global.parameters.x}}` and
//! `{{local.<nodeId>.payload.output.y}}`), `EVAL` (branch on conditions),
//! `WAIT` (the end user answers: an OTP, a WebAuthn ceremony, a choice, an
//! approval), `SUBFLOW` (run another flow) and `RESULT` (end with an
//! output). The seed's templates are under `flows/` at the repository root.
//!
//! Modules: `definition` (the types, their JSON Schema, loading with
//! errors that point into the file), `template` (references), `library`
//! (flows by id, checked against a runtime), `engine` (running one, with a
//! [`Driver`] for the end user's side), `runs` (runs that outlive the call
//! that started them: watched step by step, their waits answered later).

pub mod definition;
pub mod engine;
pub mod library;
pub mod runs;
pub mod template;

pub use definition::{schema, FlowDefinition, NodeKind, WaitKind};
pub use engine::{Driver, Engine, FlowRun, Step, WaitRequest};
pub use library::FlowLibrary;
pub use runs::{Answerer, BoxedDriver, RunLimits, RunStatus, RunView, Runs};

use serde_json::{json, Value};

/// Why a flow did not load or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// A flow file is not a valid definition; `pointer` is where in it.
    #[error("invalid flow definition at '{pointer}': {message}")]
    Definition {
        /// The JSON pointer of what is wrong (empty: the whole file).
        pointer: String,
        /// What is wrong.
        message: String,
    },
    /// The input does not match the flow's input schema.
    #[error("flow '{flow_id}': invalid input at '{pointer}': {message}")]
    Input {
        /// The flow.
        flow_id: String,
        /// The JSON pointer into the input.
        pointer: String,
        /// What is wrong.
        message: String,
    },
    /// No flow has this id.
    #[error("no flow '{flow_id}'")]
    UnknownFlow {
        /// The id asked for.
        flow_id: String,
    },
    /// A node could not run (a reference that does not resolve, no branch
    /// holding, no answer from the end user, limits of the run).
    #[error("flow '{flow_id}', node '{node_id}': {message}")]
    Node {
        /// The flow.
        flow_id: String,
        /// The node.
        node_id: String,
        /// Why.
        message: String,
    },
    /// A capability failed and its node has no error route.
    #[error("flow '{flow_id}', node '{node_id}': {error}")]
    Invocation {
        /// The flow.
        flow_id: String,
        /// The node.
        node_id: String,
        /// The runtime's error, as it is (boxed: it is large, and errors
        /// travel by value).
        error: Box<connector_runtime::Error>,
    },
    /// No run has this id, or it is another owner's (the same answer, so a
    /// caller learns nothing about others' runs), or it was forgotten.
    #[error("no flow run '{run_id}'")]
    UnknownRun {
        /// The id asked for.
        run_id: String,
    },
    /// An answer came for a run that is not at a wait (or at another one).
    #[error("flow run '{run_id}' takes no answer now: {message}")]
    NotWaiting {
        /// The run.
        run_id: String,
        /// Why not.
        message: String,
    },
    /// As many runs as allowed are unfinished.
    #[error("{limit} of {whose} flow runs are unfinished, as many as allowed; retry once one ends (or cancel one)")]
    TooManyRuns {
        /// The bound.
        limit: usize,
        /// Whose runs it bounds: `this tenant's` or `all tenants'`.
        whose: &'static str,
    },
}

impl FlowError {
    /// A definition error, naming the file (or flow) it is in.
    fn in_file(self, origin: &str) -> FlowError {
        match self {
            FlowError::Definition { pointer, message } => FlowError::Definition {
                pointer,
                message: format!("{origin}: {message}"),
            },
            other => other,
        }
    }

    /// The error as JSON: `{"error": {"kind": ..., "summary": ..., ...}}`,
    /// the shape every other error of the host has.
    pub fn to_json(&self) -> Value {
        let summary: String = self.to_string().chars().take(1024).collect();
        match self {
            FlowError::Definition { pointer, .. } => {
                json!({ "error": { "kind": "flowDefinition", "pointer": pointer, "summary": summary } })
            }
            FlowError::Input {
                flow_id, pointer, ..
            } => {
                json!({ "error": { "kind": "flowInput", "flow": flow_id, "pointer": pointer, "summary": summary } })
            }
            FlowError::UnknownFlow { flow_id } => {
                json!({ "error": { "kind": "unknownFlow", "flow": flow_id, "summary": summary } })
            }
            FlowError::Node {
                flow_id, node_id, ..
            } => {
                json!({ "error": { "kind": "flowNode", "flow": flow_id, "node": node_id, "summary": summary } })
            }
            FlowError::UnknownRun { run_id } => {
                json!({ "error": { "kind": "unknownRun", "run": run_id, "summary": summary } })
            }
            FlowError::NotWaiting { run_id, .. } => {
                json!({ "error": { "kind": "notWaiting", "run": run_id, "summary": summary } })
            }
            FlowError::TooManyRuns { limit, .. } => {
                json!({ "error": { "kind": "tooManyRuns", "limit": limit, "summary": summary } })
            }
            FlowError::Invocation {
                flow_id,
                node_id,
                error,
            } => {
                let mut body = error.to_json();
                body["error"]["flow"] = json!(flow_id);
                body["error"]["node"] = json!(node_id);
                body
            }
        }
    }
}
