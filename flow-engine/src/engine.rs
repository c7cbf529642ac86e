//! The engine: runs a flow node by node for one tenant, through the
//! runtime's public API only (`Runtime::connector`, `Connector::invoke`).
//! What happens outside the flow (the end user's answers) comes from a
//! [`Driver`], which also sees every step as it happens.

use std::future::Future;

use connector_runtime::{Runtime, Tenant};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::definition::{Condition, FlowDefinition, NodeKind, Test, WaitKind};
use crate::library::FlowLibrary;
use crate::template::Scope;
use crate::FlowError;

/// How deep sub-flows may nest (a flow that runs itself ends here).
pub const MAX_DEPTH: usize = 8;
/// How many nodes one run may pass through, loops included.
pub const MAX_STEPS: usize = 500;
/// How many bytes of step inputs and outputs (as JSON) one run may hold.
/// A run keeps every output, since later nodes may refer to it; without a
/// budget, 500 steps of the tenant's largest outputs would be gigabytes.
pub const MAX_RUN_BYTES: usize = 16 << 20;

/// What a wait node asks the end user.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitRequest {
    /// The flow the node is in.
    pub flow_id: String,
    /// The node.
    pub node_id: String,
    /// What it waits for.
    pub wait_for: WaitKind,
    /// What the user is asked.
    pub prompt: String,
    /// What the user's side needs to answer, references resolved.
    pub context: Map<String, Value>,
    /// The choices, for `choice`, references resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choices: Option<Value>,
}

/// One node a run passed through.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// The flow the node is in.
    pub flow_id: String,
    /// The node.
    pub node_id: String,
    /// Its type (`CONNECTION`, `EVAL`, `WAIT`, `SUBFLOW`, `RESULT`).
    pub node_type: &'static str,
    /// Its title.
    pub title: String,
    /// For a connector node, `connector/capability`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
    /// How deep in sub-flows (0 for the flow that was run).
    pub depth: usize,
    /// What it was given: a capability's input, a wait's request, a
    /// sub-flow's input.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub input: Value,
    /// What it produced: a capability's output, the user's answer, a
    /// sub-flow's or the flow's result.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub output: Value,
    /// The error of a capability that failed (its `error` object).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub error: Value,
    /// The node it went on to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// What drives a run from outside: the end user's answers, and a view of
/// each step as it ends.
pub trait Driver: Send {
    /// The answer to a wait node (the OTP, the WebAuthn credential, the
    /// choice); an `Err` ends the flow with that message.
    fn answer(
        &mut self,
        request: &WaitRequest,
    ) -> impl Future<Output = Result<Value, String>> + Send;

    /// A step ended.
    fn step(&mut self, _step: &Step) {}
}

/// A run's end: the result node's output and every step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowRun {
    /// The flow that ran.
    pub flow_id: String,
    /// `COMPLETED`.
    pub status: &'static str,
    /// The result node's output.
    pub result: Value,
    /// Every node it passed through, in order, sub-flows included.
    pub steps: Vec<Step>,
}

/// Runs flows of a library for one tenant.
pub struct Engine<'a> {
    runtime: &'a Runtime,
    tenant: &'a Tenant,
    library: &'a FlowLibrary,
}

impl<'a> Engine<'a> {
    /// An engine running `library`'s flows for `tenant` on `runtime`.
    pub fn new(runtime: &'a Runtime, tenant: &'a Tenant, library: &'a FlowLibrary) -> Engine<'a> {
        Engine {
            runtime,
            tenant,
            library,
        }
    }

    /// Runs flow `flow_id` with `input` (checked against its input schema).
    pub async fn run<D: Driver>(
        &self,
        flow_id: &str,
        input: Value,
        driver: &mut D,
    ) -> Result<FlowRun, FlowError> {
        let mut trail = Trail::default();
        let result = self.run_at(flow_id, input, 0, driver, &mut trail).await?;
        let steps = trail.steps;
        Ok(FlowRun {
            flow_id: flow_id.to_owned(),
            status: "COMPLETED",
            result,
            steps,
        })
    }

    /// One flow at `depth`; its steps go to `trail`. Boxed: sub-flows recurse.
    fn run_at<'s, D: Driver>(
        &'s self,
        flow_id: &'s str,
        input: Value,
        depth: usize,
        driver: &'s mut D,
        trail: &'s mut Trail,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Value, FlowError>> + Send + 's>> {
        Box::pin(async move {
            let flow = self
                .library
                .get(flow_id)
                .ok_or_else(|| FlowError::UnknownFlow {
                    flow_id: flow_id.to_owned(),
                })?;
            check_input(flow, &input)?;
            let mut scope = Scope {
                parameters: input,
                local: Map::new(),
            };
            let mut node = flow.start();
            let mut taken = 0;
            loop {
                taken += 1;
                if taken > MAX_STEPS {
                    return Err(node_error(
                        flow,
                        &node.id,
                        format!("the run passed {MAX_STEPS} nodes; a loop without an end?"),
                    ));
                }
                let mut step = Step {
                    flow_id: flow.flow_id.clone(),
                    node_id: node.id.clone(),
                    node_type: node_type(&node.kind),
                    title: node.title.clone(),
                    capability: match &node.kind {
                        NodeKind::Connection(c) => {
                            Some(format!("{}/{}", c.connector_id, c.capability_name))
                        }
                        _ => None,
                    },
                    depth,
                    input: Value::Null,
                    output: Value::Null,
                    error: Value::Null,
                    next: None,
                };
                let resolve = |scope: &Scope, value: &Value, what: &str| {
                    scope.resolve(value).map_err(|u| {
                        node_error(
                            flow,
                            &node.id,
                            format!(
                                "{what}: {{{{{}}}}} does not resolve: {}",
                                u.reference, u.message
                            ),
                        )
                    })
                };
                let next: String = match &node.kind {
                    NodeKind::Connection(c) => {
                        let mut input =
                            resolve(&scope, &Value::Object(c.properties.clone()), "properties")?;
                        // A property whose value is empty (null: a reference
                        // that found nothing) is not sent, as DaVinci sends
                        // no empty field.
                        if let Value::Object(map) = &mut input {
                            map.retain(|_, v| !v.is_null());
                        }
                        step.input = input.clone();
                        let connector =
                            self.runtime.connector(&c.connector_id).ok_or_else(|| {
                                node_error(
                                    flow,
                                    &node.id,
                                    format!("no connector '{}' is loaded", c.connector_id),
                                )
                            })?;
                        match connector
                            .invoke(self.tenant, &c.capability_name, &input.to_string())
                            .await
                        {
                            Ok(output) => {
                                step.output = output.clone();
                                scope.local.insert(
                                    node.id.clone(),
                                    json!({ "payload": { "output": output } }),
                                );
                                next_plain(flow, &node.id, c.on_error.as_deref())?
                            }
                            Err(e) => {
                                let error = e.to_json()["error"].clone();
                                step.error = error.clone();
                                let Some(on_error) = &c.on_error else {
                                    driver.step(&step);
                                    trail.steps.push(step);
                                    return Err(FlowError::Invocation {
                                        flow_id: flow.flow_id.clone(),
                                        node_id: node.id.clone(),
                                        error: Box::new(e),
                                    });
                                };
                                scope.local.insert(
                                    node.id.clone(),
                                    json!({ "payload": { "error": error } }),
                                );
                                on_error.clone()
                            }
                        }
                    }
                    NodeKind::Eval(eval) => {
                        let mut chosen = None;
                        for branch in &eval.conditions {
                            if holds(&scope, &branch.when)
                                .map_err(|m| node_error(flow, &node.id, m))?
                            {
                                chosen = Some(branch.target.clone());
                                break;
                            }
                        }
                        chosen.or_else(|| eval.otherwise.clone()).ok_or_else(|| {
                            node_error(
                                flow,
                                &node.id,
                                "no condition holds and there is no otherwise".into(),
                            )
                        })?
                    }
                    NodeKind::Wait(wait) => {
                        let context =
                            match resolve(&scope, &Value::Object(wait.context.clone()), "context")?
                            {
                                Value::Object(map) => map,
                                _ => Map::new(),
                            };
                        let choices = match &wait.choices {
                            Some(c) => Some(resolve(&scope, c, "choices")?),
                            None => None,
                        };
                        let request = WaitRequest {
                            flow_id: flow.flow_id.clone(),
                            node_id: node.id.clone(),
                            wait_for: wait.wait_for,
                            prompt: wait.prompt.clone(),
                            context,
                            choices,
                        };
                        step.input = serde_json::to_value(&request).unwrap_or_default();
                        let answer = driver.answer(&request).await.map_err(|m| {
                            node_error(flow, &node.id, format!("the end user did not answer: {m}"))
                        })?;
                        step.output = answer.clone();
                        scope
                            .local
                            .insert(node.id.clone(), json!({ "payload": { "output": answer } }));
                        next_plain(flow, &node.id, None)?
                    }
                    NodeKind::Subflow(sub) => {
                        if depth + 1 >= MAX_DEPTH {
                            return Err(node_error(
                                flow,
                                &node.id,
                                format!("sub-flows nest deeper than {MAX_DEPTH}"),
                            ));
                        }
                        let input = resolve(&scope, &Value::Object(sub.input.clone()), "input")?;
                        step.input = input.clone();
                        // The sub-flow's own steps come before this one's end.
                        let output = self
                            .run_at(&sub.flow_id, input, depth + 1, driver, trail)
                            .await?;
                        step.output = output.clone();
                        scope
                            .local
                            .insert(node.id.clone(), json!({ "payload": { "output": output } }));
                        next_plain(flow, &node.id, None)?
                    }
                    NodeKind::Result(result) => {
                        let output = resolve(&scope, &result.output, "output")?;
                        step.output = output.clone();
                        trail.keep(step, flow, driver)?;
                        return Ok(output);
                    }
                };
                step.next = Some(next.clone());
                trail.keep(step, flow, driver)?;
                node = flow.node(&next).expect("targets are checked on load");
            }
        })
    }
}

/// The steps of a run so far, and the bytes of their inputs and outputs.
#[derive(Default)]
struct Trail {
    steps: Vec<Step>,
    bytes: usize,
}

impl Trail {
    /// Keeps `step` (the driver sees it first), unless the run would hold
    /// more than [`MAX_RUN_BYTES`]: then the run ends at its node.
    fn keep<D: Driver>(
        &mut self,
        step: Step,
        flow: &FlowDefinition,
        driver: &mut D,
    ) -> Result<(), FlowError> {
        let size = |v: &Value| if v.is_null() { 0 } else { v.to_string().len() };
        self.bytes += size(&step.input) + size(&step.output);
        if self.bytes > MAX_RUN_BYTES {
            return Err(node_error(
                flow,
                &step.node_id,
                format!("the run's step inputs and outputs passed {MAX_RUN_BYTES} bytes"),
            ));
        }
        driver.step(&step);
        self.steps.push(step);
        Ok(())
    }
}

fn node_type(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Connection(_) => "CONNECTION",
        NodeKind::Eval(_) => "EVAL",
        NodeKind::Wait(_) => "WAIT",
        NodeKind::Subflow(_) => "SUBFLOW",
        NodeKind::Result(_) => "RESULT",
    }
}

fn node_error(flow: &FlowDefinition, node: &str, message: String) -> FlowError {
    FlowError::Node {
        flow_id: flow.flow_id.clone(),
        node_id: node.to_owned(),
        message,
    }
}

/// The one edge on from `id` that is not its error route.
fn next_plain(
    flow: &FlowDefinition,
    id: &str,
    on_error: Option<&str>,
) -> Result<String, FlowError> {
    flow.graph_data
        .elements
        .edges
        .iter()
        .map(|e| &e.data)
        .find(|e| e.source == id && Some(e.target.as_str()) != on_error)
        .map(|e| e.target.clone())
        .ok_or_else(|| node_error(flow, id, "no edge on".into()))
}

/// Checks `input` against `flow`'s input schema.
pub(crate) fn check_input(flow: &FlowDefinition, input: &Value) -> Result<(), FlowError> {
    let validator =
        jsonschema::validator_for(&flow.input_schema).map_err(|e| FlowError::Definition {
            pointer: "/inputSchema".into(),
            message: e.to_string().chars().take(300).collect(),
        })?;
    connector_runtime::schema_violation(&validator, input).map_err(|(pointer, message)| {
        FlowError::Input {
            flow_id: flow.flow_id.clone(),
            pointer,
            message: message.chars().take(300).collect(),
        }
    })
}

/// Whether `condition` holds in `scope`.
fn holds(scope: &Scope, condition: &Condition) -> Result<bool, String> {
    Ok(match condition {
        Condition::All { all } => {
            for c in all {
                if !holds(scope, c)? {
                    return Ok(false);
                }
            }
            true
        }
        Condition::Any { any } => {
            for c in any {
                if holds(scope, c)? {
                    return Ok(true);
                }
            }
            false
        }
        Condition::Not { not } => !holds(scope, not)?,
        Condition::Test(test) => test_holds(scope, test)?,
    })
}

fn test_holds(scope: &Scope, test: &Test) -> Result<bool, String> {
    let resolve = |v: &Value| {
        scope
            .resolve(v)
            .map_err(|u| format!("{{{{{}}}}} does not resolve: {}", u.reference, u.message))
    };
    let value = resolve(&test.value)?;
    if let Some(expected) = &test.equals {
        return Ok(same(&value, &resolve(expected)?));
    }
    if let Some(other) = &test.not_equals {
        return Ok(!same(&value, &resolve(other)?));
    }
    if let Some(options) = &test.one_of {
        for option in options {
            if same(&value, &resolve(option)?) {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(exists) = test.exists {
        return Ok(exists != value.is_null());
    }
    if let Some(empty) = test.empty {
        let is_empty = match &value {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        return Ok(empty == is_empty);
    }
    Err("a test needs one of equals, notEquals, in, exists, empty".into())
}

/// Equal, with strings compared case-insensitively (DaVinci's choices are).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        _ => a == b,
    }
}
