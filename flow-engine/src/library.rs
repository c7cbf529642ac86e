//! A set of flows by id, as sub-flow nodes find them: loaded from JSON
//! texts or a folder, then checked as a whole (every sub-flow exists, and,
//! against a runtime, every connector node names a loaded capability).

use std::collections::BTreeMap;
use std::path::Path;

use connector_runtime::Runtime;

use crate::definition::{FlowDefinition, NodeKind};
use crate::FlowError;

/// The largest flow file read.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Flows by `flowId`.
#[derive(Debug, Clone, Default)]
pub struct FlowLibrary {
    flows: BTreeMap<String, FlowDefinition>,
}

impl FlowLibrary {
    /// An empty library.
    pub fn new() -> FlowLibrary {
        FlowLibrary::default()
    }

    /// Adds the flow in `text` (`origin` names it in errors, e.g. its file);
    /// returns its id.
    pub fn add_json(&mut self, origin: &str, text: &str) -> Result<String, FlowError> {
        let flow = FlowDefinition::from_json(text).map_err(|e| e.in_file(origin))?;
        let id = flow.flow_id.clone();
        if self.flows.contains_key(&id) {
            return Err(FlowError::Definition {
                pointer: "/flowId".into(),
                message: format!("flow '{id}' is defined twice"),
            }
            .in_file(origin));
        }
        self.flows.insert(id.clone(), flow);
        Ok(id)
    }

    /// Adds the flow in the file `path`; returns its id.
    pub fn add_file(&mut self, path: &Path) -> Result<String, FlowError> {
        let origin = path.display().to_string();
        let unreadable = |message: String| {
            FlowError::Definition {
                pointer: String::new(),
                message,
            }
            .in_file(&origin)
        };
        let size = std::fs::metadata(path)
            .map_err(|e| unreadable(format!("cannot be read ({})", e.kind())))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(unreadable(format!("is larger than {MAX_FILE_BYTES} bytes")));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| unreadable(format!("cannot be read ({})", e.kind())))?;
        self.add_json(&origin, &text)
    }

    /// Adds every `*.json` file of `dir`, in name order.
    pub fn add_dir(&mut self, dir: &Path) -> Result<Vec<String>, FlowError> {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| FlowError::Definition {
                pointer: String::new(),
                message: format!("{}: cannot be read ({})", dir.display(), e.kind()),
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths.iter().map(|p| self.add_file(p)).collect()
    }

    /// The flow with `flow_id`.
    pub fn get(&self, flow_id: &str) -> Option<&FlowDefinition> {
        self.flows.get(flow_id)
    }

    /// Every flow, by id.
    pub fn flows(&self) -> impl Iterator<Item = &FlowDefinition> {
        self.flows.values()
    }

    /// Checks the library as a whole: every sub-flow node names a flow in
    /// it, and every connector node a capability `runtime` has loaded.
    pub fn check(&self, runtime: &Runtime) -> Result<(), FlowError> {
        for flow in self.flows.values() {
            for (i, node) in flow.nodes().enumerate() {
                let at = |field: &str| format!("/graphData/elements/nodes/{i}/data/{field}");
                let bad = |pointer: String, message: String| {
                    FlowError::Definition { pointer, message }.in_file(&flow.flow_id)
                };
                match &node.kind {
                    NodeKind::Subflow(sub) if self.get(&sub.flow_id).is_none() => {
                        return Err(bad(at("flowId"), format!("no flow '{}'", sub.flow_id)));
                    }
                    NodeKind::Connection(c) => {
                        let Some(connector) = runtime.connector(&c.connector_id) else {
                            return Err(bad(
                                at("connectorId"),
                                format!("no connector '{}' is loaded", c.connector_id),
                            ));
                        };
                        if connector.capability(&c.capability_name).is_none() {
                            return Err(bad(
                                at("capabilityName"),
                                format!(
                                    "the {} connector has no capability '{}'",
                                    c.connector_id, c.capability_name
                                ),
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}
