//! The flow definition format: DaVinci's export shape (`graphData.elements`
//! with `nodes` and `edges`, each wrapped in `data`; connector nodes with
//! `connectorId`, `capabilityName` and `properties`) with the node types
//! this engine runs. Its JSON Schema is generated from these types and
//! committed as `schemas/flow.schema.json`; [`FlowDefinition::from_json`]
//! checks a file against it and then checks the graph, and every error
//! points into the file.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::FlowError;

/// A flow: its id, what it is, what it takes, and its graph.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowDefinition {
    /// The schema this file follows (editors use it); ignored by the engine.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The flow's id: what sub-flow nodes and `flow run` name it by.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]{0,63}$"))]
    pub flow_id: String,
    /// The flow's name as DaVinci's library shows it.
    pub name: String,
    /// What the flow does.
    #[serde(default)]
    pub description: String,
    /// What the flow cannot do as the template does, and why (a gap no
    /// connector fills, a stand-in for one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The JSON Schema of the flow's input (`{{global.parameters.*}}`).
    #[serde(default = "any_object")]
    pub input_schema: Value,
    /// The node the flow starts at (default: the first node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_node_id: Option<String>,
    /// The graph.
    pub graph_data: GraphData,
}

fn any_object() -> Value {
    serde_json::json!({ "type": "object" })
}

/// DaVinci's `graphData`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GraphData {
    /// The nodes and edges.
    pub elements: Elements,
}

/// The nodes and the edges between them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Elements {
    /// The nodes.
    #[schemars(length(min = 1))]
    pub nodes: Vec<NodeElement>,
    /// The edges: where each node goes next.
    #[serde(default)]
    pub edges: Vec<EdgeElement>,
}

/// A node, wrapped as DaVinci wraps it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeElement {
    /// The node.
    pub data: Node,
}

/// An edge, wrapped as DaVinci wraps it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeElement {
    /// The edge.
    pub data: Edge,
}

/// `source` goes on to `target`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edge {
    /// The edge's id (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The node it leaves.
    pub source: String,
    /// The node it reaches.
    pub target: String,
}

/// A node: its id, a title, and what it does. (Unknown fields are refused
/// by each node type's own fields: serde cannot do it here, beside
/// `flatten`.)
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// Unique in the flow; outputs are `{{local.<id>.payload.output...}}`.
    #[schemars(regex(pattern = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"))]
    pub id: String,
    /// What the node is for, as the canvas shows it.
    #[serde(default)]
    pub title: String,
    /// What it does.
    #[serde(flatten)]
    pub kind: NodeKind,
}

/// The node types.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "nodeType", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NodeKind {
    /// Invokes a connector's capability (DaVinci's connector node).
    Connection(ConnectionNode),
    /// Chooses the next node from conditions on earlier outputs.
    Eval(EvalNode),
    /// Waits for the end user: an OTP, a WebAuthn ceremony, a choice, an
    /// approval on the phone, or any value.
    Wait(WaitNode),
    /// Runs another flow with an input; its result is this node's output.
    Subflow(SubflowNode),
    /// Ends the flow with an output.
    Result(ResultNode),
}

/// A connector node.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionNode {
    /// The connector's name (its manifest's `name`, e.g. `pingone-mfa`).
    pub connector_id: String,
    /// The capability's id (e.g. `createDevice`).
    pub capability_name: String,
    /// The capability's input; string values may hold `{{...}}` references.
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// Where to go when the capability fails (its error is
    /// `{{local.<id>.payload.error...}}`); without it a failure ends the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<String>,
}

/// An evaluation node: the first condition that holds picks the next node.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvalNode {
    /// The branches, in order.
    pub conditions: Vec<Branch>,
    /// Where to go when none holds; without it that ends the flow in error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otherwise: Option<String>,
}

/// One branch of an evaluation node.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Branch {
    /// The condition.
    pub when: Condition,
    /// The node to go to when it holds.
    pub target: String,
}

/// A condition on values (which may be `{{...}}` references).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", untagged)]
pub enum Condition {
    /// Every one holds.
    All {
        /// The conditions.
        all: Vec<Condition>,
    },
    /// At least one holds.
    Any {
        /// The conditions.
        any: Vec<Condition>,
    },
    /// It does not hold.
    Not {
        /// The condition.
        not: Box<Condition>,
    },
    /// A test of one value.
    Test(Test),
}

/// A test of one value: exactly one of `equals`, `notEquals`, `in`,
/// `exists`, `empty`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Test {
    /// The value tested (usually a `{{...}}` reference).
    pub value: Value,
    /// Equal to this (strings compare case-insensitively, as DaVinci's
    /// choices do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// Not equal to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Value>,
    /// Equal to one of these.
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// Present and not null (true), or absent or null (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// An empty string, array or object, or absent (true); or not (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty: Option<bool>,
}

/// What a wait node waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum WaitKind {
    /// A one-time passcode the user received or reads from an app.
    Otp,
    /// A WebAuthn registration (the answer to `publicKeyCredentialCreationOptions`).
    Attestation,
    /// A WebAuthn authentication (the answer to `publicKeyCredentialRequestOptions`).
    Assertion,
    /// One of `choices`.
    Choice,
    /// The user acts on another device (approves a push, scans a QR code,
    /// pairs the app); the answer says what happened.
    Approval,
    /// Any value the flow asks for (a username, a phone number).
    Input,
}

/// A node that waits for the end user.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitNode {
    /// What it waits for.
    pub wait_for: WaitKind,
    /// What the user is asked.
    pub prompt: String,
    /// What the user's side needs to answer (a device, the WebAuthn
    /// options, where the OTP was sent); values may be `{{...}}` references.
    #[serde(default)]
    pub context: Map<String, Value>,
    /// The choices, for `choice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Value>,
}

/// A node that runs another flow.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubflowNode {
    /// The flow to run (its `flowId`).
    pub flow_id: String,
    /// Its input; values may be `{{...}}` references.
    #[serde(default)]
    pub input: Map<String, Value>,
}

/// The node that ends the flow.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultNode {
    /// The flow's output; values may be `{{...}}` references.
    #[serde(default)]
    pub output: Value,
}

/// The JSON Schema of a flow file (what `schemas/flow.schema.json` holds).
pub fn schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(FlowDefinition)).expect("a schema is JSON");
    // A node's fields are its own and its type's (flattened), which
    // schemars leaves open; unevaluatedProperties closes the union, so an
    // unknown field is refused with the node's pointer.
    schema["$defs"]["Node"]["unevaluatedProperties"] = Value::Bool(false);
    schema
}

impl FlowDefinition {
    /// Reads a flow file: JSON, valid against [`schema`], then a sound graph
    /// (unique node ids, edges and targets that name nodes, one way on from
    /// every node but a result). Each error has the JSON pointer of what is
    /// wrong.
    pub fn from_json(text: &str) -> Result<FlowDefinition, FlowError> {
        let value: Value = serde_json::from_str(text).map_err(|e| FlowError::Definition {
            pointer: String::new(),
            message: format!("not JSON (line {}, column {})", e.line(), e.column()),
        })?;
        let validator = jsonschema::validator_for(&schema()).expect("the flow schema compiles");
        if let Some(error) = validator.iter_errors(&value).next() {
            let message: String = error.to_string().chars().take(300).collect();
            return Err(FlowError::Definition {
                pointer: error.instance_path().to_string(),
                message,
            });
        }
        let flow: FlowDefinition =
            serde_json::from_value(value).map_err(|e| FlowError::Definition {
                pointer: String::new(),
                message: e.to_string().chars().take(300).collect(),
            })?;
        flow.check()?;
        Ok(flow)
    }

    /// The node with `id`.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes().find(|n| n.id == id)
    }

    /// The nodes, in file order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.graph_data.elements.nodes.iter().map(|n| &n.data)
    }

    /// The node the flow starts at.
    pub fn start(&self) -> &Node {
        self.start_node_id
            .as_deref()
            .and_then(|id| self.node(id))
            .unwrap_or(&self.graph_data.elements.nodes[0].data)
    }

    /// The one node `id` goes on to along its edges, if it has one.
    pub fn next_of(&self, id: &str) -> Option<&str> {
        self.graph_data
            .elements
            .edges
            .iter()
            .find(|e| e.data.source == id)
            .map(|e| e.data.target.as_str())
    }

    /// The graph's rules, which a schema cannot state.
    fn check(&self) -> Result<(), FlowError> {
        let bad = |pointer: String, message: String| FlowError::Definition { pointer, message };
        let mut ids = BTreeMap::new();
        for (i, node) in self.nodes().enumerate() {
            if ids.insert(node.id.as_str(), i).is_some() {
                return Err(bad(
                    format!("/graphData/elements/nodes/{i}/data/id"),
                    format!("node id '{}' is used twice", node.id),
                ));
            }
        }
        let node_at = |id: &str| ids.get(id).copied();
        if let Some(start) = &self.start_node_id {
            if node_at(start).is_none() {
                return Err(bad("/startNodeId".into(), format!("no node '{start}'")));
            }
        }
        let mut outgoing: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (i, edge) in self.graph_data.elements.edges.iter().enumerate() {
            for (end, id) in [("source", &edge.data.source), ("target", &edge.data.target)] {
                if node_at(id).is_none() {
                    return Err(bad(
                        format!("/graphData/elements/edges/{i}/data/{end}"),
                        format!("no node '{id}'"),
                    ));
                }
            }
            outgoing
                .entry(edge.data.source.as_str())
                .or_default()
                .insert(edge.data.target.as_str());
        }
        for (i, node) in self.nodes().enumerate() {
            let at = |field: &str| format!("/graphData/elements/nodes/{i}/data/{field}");
            let out = outgoing.get(node.id.as_str()).cloned().unwrap_or_default();
            // An evaluation node's and an error route's targets must be
            // drawn as edges too, so the canvas shows every way on.
            let mut targets: Vec<(String, &str)> = Vec::new();
            match &node.kind {
                NodeKind::Result(_) => {
                    if !out.is_empty() {
                        return Err(bad(
                            at("id"),
                            "a result node ends the flow: it has no edge on".into(),
                        ));
                    }
                }
                NodeKind::Eval(eval) => {
                    for (b, branch) in eval.conditions.iter().enumerate() {
                        targets.push((at(&format!("conditions/{b}/target")), &branch.target));
                    }
                    if let Some(otherwise) = &eval.otherwise {
                        targets.push((at("otherwise"), otherwise));
                    }
                }
                NodeKind::Connection(c) => {
                    if let Some(on_error) = &c.on_error {
                        targets.push((at("onError"), on_error));
                    }
                    let plain = out
                        .iter()
                        .filter(|t| Some(**t) != c.on_error.as_deref())
                        .count();
                    if plain != 1 {
                        return Err(bad(at("id"), format!("node '{}' needs exactly one edge on besides onError (it has {plain})", node.id)));
                    }
                }
                NodeKind::Wait(_) | NodeKind::Subflow(_) => {
                    if out.len() != 1 {
                        return Err(bad(
                            at("id"),
                            format!(
                                "node '{}' needs exactly one edge on (it has {})",
                                node.id,
                                out.len()
                            ),
                        ));
                    }
                }
            }
            for (pointer, target) in targets {
                if node_at(target).is_none() {
                    return Err(bad(pointer, format!("no node '{target}'")));
                }
                if !out.contains(target) {
                    return Err(bad(
                        pointer,
                        format!("no edge from '{}' to '{target}'", node.id),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flow(nodes: Value, edges: Value) -> String {
        json!({
            "flowId": "t", "name": "T",
            "graphData": { "elements": { "nodes": nodes, "edges": edges } }
        })
        .to_string()
    }

    fn error_of(text: &str) -> (String, String) {
        match FlowDefinition::from_json(text) {
            Err(FlowError::Definition { pointer, message }) => (pointer, message),
            other => panic!("expected a definition error, got {other:?}"),
        }
    }

    #[test]
    fn a_small_flow_loads_with_every_node_type() {
        let text = flow(
            json!([
                { "data": { "id": "read", "nodeType": "CONNECTION", "connectorId": "pingone-mfa",
                            "capabilityName": "readUserMFAEnabled",
                            "properties": { "userId": "{{global.parameters.userId}}" }, "onError": "failed" } },
                { "data": { "id": "check", "nodeType": "EVAL",
                            "conditions": [ { "when": { "value": "{{local.read.payload.output.mfaEnabled}}", "equals": true }, "target": "ask" } ],
                            "otherwise": "done" } },
                { "data": { "id": "ask", "nodeType": "WAIT", "waitFor": "otp", "prompt": "The code?" } },
                { "data": { "id": "sub", "nodeType": "SUBFLOW", "flowId": "other" } },
                { "data": { "id": "done", "nodeType": "RESULT", "output": { "ok": true } } },
                { "data": { "id": "failed", "nodeType": "RESULT" } }
            ]),
            json!([
                { "data": { "source": "read", "target": "check" } },
                { "data": { "source": "read", "target": "failed" } },
                { "data": { "source": "check", "target": "ask" } },
                { "data": { "source": "check", "target": "done" } },
                { "data": { "source": "ask", "target": "sub" } },
                { "data": { "source": "sub", "target": "done" } }
            ]),
        );
        let f = FlowDefinition::from_json(&text).unwrap();
        assert_eq!(f.start().id, "read");
        assert_eq!(f.nodes().count(), 6);
    }

    #[test]
    fn errors_point_into_the_file() {
        let result = json!({ "data": { "id": "done", "nodeType": "RESULT" } });
        // An unknown field of a node.
        let (pointer, _) = error_of(&flow(
            json!([{ "data": { "id": "done", "nodeType": "RESULT", "colour": "red" } }]),
            json!([]),
        ));
        assert!(
            pointer.starts_with("/graphData/elements/nodes/0/data"),
            "{pointer}"
        );
        // An unknown node type.
        let (pointer, _) = error_of(&flow(
            json!([{ "data": { "id": "x", "nodeType": "TELEPORT" } }]),
            json!([]),
        ));
        assert!(
            pointer.starts_with("/graphData/elements/nodes/0/data"),
            "{pointer}"
        );
        // An edge to nowhere.
        let (pointer, message) = error_of(&flow(
            json!([result]),
            json!([{ "data": { "source": "done", "target": "nowhere" } }]),
        ));
        assert_eq!(
            pointer, "/graphData/elements/edges/0/data/target",
            "{message}"
        );
        // The same id twice.
        let (pointer, _) = error_of(&flow(json!([result, result]), json!([])));
        assert_eq!(pointer, "/graphData/elements/nodes/1/data/id");
        // A branch without its edge.
        let (pointer, message) = error_of(&flow(
            json!([
                { "data": { "id": "check", "nodeType": "EVAL", "conditions": [ { "when": { "value": 1, "equals": 1 }, "target": "done" } ] } },
                result
            ]),
            json!([]),
        ));
        assert_eq!(
            pointer, "/graphData/elements/nodes/0/data/conditions/0/target",
            "{message}"
        );
        // A connector node going nowhere.
        let (pointer, message) = error_of(&flow(
            json!([{ "data": { "id": "a", "nodeType": "CONNECTION", "connectorId": "x", "capabilityName": "y" } }]),
            json!([]),
        ));
        assert_eq!(pointer, "/graphData/elements/nodes/0/data/id", "{message}");
        // Not JSON at all.
        let (_, message) = error_of("{ nope");
        assert!(message.contains("line 1"), "{message}");
    }
}
