//! `connector-executions`: seed 002's MFA enrollment step as flow
//! executions, in PingOne's HAL style. An execution starts with the flow's
//! input, shows a state with its properties and one link per action valid
//! in it, and moves on when the client posts an action with its media type
//! (`application/vnd.pingidentity.<action>+json`) or polls it.
//!
//! Modules: `step` (the step: configuration, input, results, states and
//! actions on the PingOne MFA connector's capabilities), `store` (where
//! executions are kept: an embedded file that survives a restart, or
//! PostgreSQL shared by several instances (`postgres`); one action at a
//! time per execution).

pub mod postgres;
pub mod step;
pub mod store;

use std::collections::BTreeMap;
use std::time::Duration;

use connector_runtime::{Runtime, Tenant};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub use step::{Progress, StepConfig, StepInput};
pub use store::{Store, StoreError};

/// The default lifetime of an idle execution.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The media type prefix and suffix of an action.
const MEDIA_PREFIX: &str = "application/vnd.pingidentity.";
const MEDIA_SUFFIX: &str = "+json";

/// Why an execution request failed; each has PingOne's error shape.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// The request is invalid (400): an action not valid in this state,
    /// an unknown media type, a missing or wrong parameter.
    #[error("{target}: {message}")]
    Invalid {
        /// What is wrong (a parameter, `Content-Type`).
        target: String,
        /// Why.
        message: String,
    },
    /// No such execution for this tenant, or it expired (404).
    #[error("no execution '{0}'")]
    NotFound(String),
    /// No such flow (404).
    #[error("no flow '{0}'")]
    UnknownFlow(String),
    /// Another action on the same execution is running (409).
    #[error("another action on this execution is in progress")]
    Conflict,
    /// A capability failed (PingOne refused, or could not be reached).
    #[error("{0}")]
    Capability(Box<connector_runtime::Error>),
    /// The step cannot run here (its connector is not loaded).
    #[error("{0}")]
    Unavailable(String),
    /// The store failed.
    #[error("the execution store failed: {0}")]
    Store(#[from] StoreError),
}

impl ExecutionError {
    pub(crate) fn invalid(target: &str, message: &str) -> ExecutionError {
        ExecutionError::Invalid {
            target: target.to_owned(),
            message: message.to_owned(),
        }
    }

    /// The HTTP status: 400, 404, 409; a capability's error keeps the
    /// status PingOne answered (4xx) or is 502; others 500 or 503.
    pub fn status(&self) -> u16 {
        match self {
            ExecutionError::Invalid { .. } => 400,
            ExecutionError::NotFound(_) | ExecutionError::UnknownFlow(_) => 404,
            ExecutionError::Conflict => 409,
            ExecutionError::Capability(e) => match e.as_ref() {
                connector_runtime::Error::Api { status, .. } if (400..500).contains(status) => {
                    *status
                }
                connector_runtime::Error::InvalidInput { .. } => 400,
                _ => 502,
            },
            ExecutionError::Unavailable(_) => 503,
            ExecutionError::Store(_) => 500,
        }
    }

    /// The body, in PingOne's error shape (`id`, `code`, `message`,
    /// `details`); PingOne's own error keeps its code, message and details.
    pub fn body(&self) -> Value {
        let id = format!("{:032x}", rand::random::<u128>());
        let (code, message, details) = match self {
            ExecutionError::Invalid { target, message } => (
                "INVALID_DATA".to_owned(),
                "The request could not be completed. One or more validation errors were in the request.".to_owned(),
                json!([{ "code": "INVALID_VALUE", "target": target, "message": message }]),
            ),
            ExecutionError::NotFound(_) | ExecutionError::UnknownFlow(_) => {
                ("NOT_FOUND".to_owned(), self.to_string(), json!([]))
            }
            ExecutionError::Conflict => ("REQUEST_CONFLICT".to_owned(), self.to_string(), json!([])),
            ExecutionError::Capability(e) => {
                let error = e.to_json()["error"].clone();
                (
                    error["code"].as_str().unwrap_or(error["kind"].as_str().unwrap_or("UNEXPECTED_ERROR")).to_owned(),
                    error["message"].as_str().or(error["summary"].as_str()).unwrap_or_default().to_owned(),
                    error.get("details").cloned().unwrap_or_else(|| json!([])),
                )
            }
            ExecutionError::Unavailable(_) => ("SERVICE_UNAVAILABLE".to_owned(), self.to_string(), json!([])),
            ExecutionError::Store(_) => ("UNEXPECTED_ERROR".to_owned(), self.to_string(), json!([])),
        };
        json!({ "id": id, "code": code, "message": message, "details": details })
    }
}

/// One execution as the store keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// Its id.
    pub id: String,
    /// The tenant it runs for.
    pub tenant: String,
    /// The flow it runs.
    pub flow: String,
    /// The step's configuration (the flow's, with the execution's overrides).
    pub config: StepConfig,
    /// The input it started with.
    pub input: StepInput,
    /// Where it is.
    pub progress: Progress,
    /// When it last changed, ms since the Unix epoch.
    pub updated_ms: u64,
    /// Bumped on every change.
    pub version: u64,
}

impl Execution {
    /// The HAL resource: `id`, `status`, the state's properties, `result`
    /// once completed, and `_links` (`self` and one per valid action).
    pub fn resource(&self) -> Value {
        let href = format!("/v1/tenants/{}/flowExecutions/{}", self.tenant, self.id);
        let mut links = Map::new();
        links.insert("self".into(), json!({ "href": href }));
        for action in self.progress.actions(&self.config) {
            links.insert(action.into(), json!({ "href": href }));
        }
        let mut body = Map::new();
        body.insert("id".into(), json!(self.id));
        body.insert("flow".into(), json!({ "id": self.flow }));
        body.insert("status".into(), json!(self.progress.status));
        for (k, v) in &self.progress.properties {
            body.insert(k.clone(), v.clone());
        }
        if let Some(result) = &self.progress.result {
            body.insert("result".into(), result.clone());
        }
        body.insert("_links".into(), Value::Object(links));
        Value::Object(body)
    }
}

/// The executions of a service: its flows (each a configuration of the
/// step), its store and the idle lifetime.
pub struct Executions {
    runtime: Runtime,
    store: Store,
    flows: BTreeMap<String, StepConfig>,
    lifetime: Duration,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The action named by a media type, if it is one of the step's.
pub fn action_of(media_type: &str) -> Option<&'static str> {
    let essence = media_type.split(';').next()?.trim().to_ascii_lowercase();
    let name = essence
        .strip_prefix(MEDIA_PREFIX)?
        .strip_suffix(MEDIA_SUFFIX)?;
    step::ACTIONS
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(name))
}

impl Executions {
    /// Executions on `runtime` kept in `store`, idle at most `lifetime`.
    pub fn new(runtime: Runtime, store: Store, lifetime: Duration) -> Executions {
        Executions {
            runtime,
            store,
            flows: BTreeMap::new(),
            lifetime,
        }
    }

    /// Serves the step as flow `name` with `config`.
    pub fn with_flow(mut self, name: &str, config: StepConfig) -> Executions {
        self.flows.insert(name.to_owned(), config);
        self
    }

    /// The flows served.
    pub fn flows(&self) -> impl Iterator<Item = &str> {
        self.flows.keys().map(String::as_str)
    }

    /// Starts flow `flow` for `tenant` with `input`.
    pub async fn start(
        &self,
        tenant_name: &str,
        tenant: &Tenant,
        flow: &str,
        input: Value,
    ) -> Result<Execution, ExecutionError> {
        let mut config = self
            .flows
            .get(flow)
            .cloned()
            .ok_or_else(|| ExecutionError::UnknownFlow(flow.chars().take(64).collect()))?;
        let validator = jsonschema::validator_for(
            &serde_json::to_value(schemars::schema_for!(StepInput)).expect("a schema"),
        )
        .expect("the input schema compiles");
        if let Some(error) = validator.iter_errors(&input).next() {
            return Err(ExecutionError::invalid(
                &error.instance_path().to_string(),
                &error.to_string().chars().take(300).collect::<String>(),
            ));
        }
        let input: StepInput = serde_json::from_value(input)
            .map_err(|e| ExecutionError::invalid("", &e.to_string()))?;
        if let Some(overrides) = &input.configuration {
            config = overrides.clone();
        }
        let progress = step::Step::new(&self.runtime, tenant, &config, &input)?
            .start()
            .await?;
        let execution = Execution {
            id: format!("{:032x}", rand::random::<u128>()),
            tenant: tenant_name.to_owned(),
            flow: flow.to_owned(),
            config,
            input,
            progress,
            updated_ms: now_ms(),
            version: 1,
        };
        self.store.insert(execution.clone()).await?;
        Ok(execution)
    }

    /// Reads (polls) execution `id` of `tenant`: in PAIRING_REQUIRED this
    /// checks whether the phone has paired.
    pub async fn read(
        &self,
        tenant_name: &str,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Execution, ExecutionError> {
        // Only pairing changes by polling; other states are read as they
        // are, even while an action runs.
        let current = self.get(tenant_name, id).await?;
        if current.progress.status != step::state::PAIRING {
            return Ok(current);
        }
        let execution = self.claim(tenant_name, id).await?;
        let result = async {
            let step = step::Step::new(&self.runtime, tenant, &execution.config, &execution.input)?;
            step.poll(&execution.progress).await
        }
        .await;
        self.finish(execution, result).await
    }

    /// Runs the action of `media_type` with `body` on execution `id`.
    pub async fn act(
        &self,
        tenant_name: &str,
        tenant: &Tenant,
        id: &str,
        media_type: &str,
        body: Value,
    ) -> Result<Execution, ExecutionError> {
        let Some(action) = action_of(media_type) else {
            // An unknown media type is refused before the execution is
            // looked at, as PingOne does.
            self.get(tenant_name, id).await?;
            return Err(ExecutionError::invalid(
                "Content-Type",
                "not an action of this step (application/vnd.pingidentity.<action>+json)",
            ));
        };
        let body = match body {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(ExecutionError::invalid("body", "must be a JSON object")),
        };
        let execution = self.claim(tenant_name, id).await?;
        let result = async {
            let step = step::Step::new(&self.runtime, tenant, &execution.config, &execution.input)?;
            step.act(&execution.progress, action, &body).await
        }
        .await;
        self.finish(execution, result).await
    }

    /// The execution, unexpired, without claiming it.
    async fn get(&self, tenant_name: &str, id: &str) -> Result<Execution, ExecutionError> {
        let execution = self
            .store
            .get(id)
            .await?
            .filter(|e| e.tenant == tenant_name)
            .ok_or_else(|| ExecutionError::NotFound(id.chars().take(64).collect()))?;
        if now_ms().saturating_sub(execution.updated_ms) > self.lifetime.as_millis() as u64 {
            self.store.remove(id).await?;
            return Err(ExecutionError::NotFound(id.chars().take(64).collect()));
        }
        Ok(execution)
    }

    /// Claims the execution for one action (409 when another holds it).
    async fn claim(&self, tenant_name: &str, id: &str) -> Result<Execution, ExecutionError> {
        self.get(tenant_name, id).await?;
        if !self.store.claim(id).await? {
            return Err(ExecutionError::Conflict);
        }
        // Read again under the claim: another instance sharing the store
        // may have acted between the first read and the claim.
        match self.get(tenant_name, id).await {
            Ok(execution) => Ok(execution),
            Err(e) => {
                self.store.release(id).await;
                Err(e)
            }
        }
    }

    /// Stores the outcome of a claimed action and releases the claim; on an
    /// error nothing changes.
    async fn finish(
        &self,
        mut execution: Execution,
        result: Result<Progress, ExecutionError>,
    ) -> Result<Execution, ExecutionError> {
        let id = execution.id.clone();
        let outcome = match result {
            Ok(progress) => {
                if progress != execution.progress {
                    execution.progress = progress;
                    execution.version += 1;
                }
                execution.updated_ms = now_ms();
                self.store
                    .update(execution.clone())
                    .await
                    .map(|()| execution)
                    .map_err(ExecutionError::from)
            }
            Err(e) => Err(e),
        };
        self.store.release(&id).await;
        outcome
    }
}

/// A step flow file (`flows/steps/*.json`): the flow id the step is
/// served as, and its configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepFlow {
    /// The flow's id.
    pub flow_id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// The step type: `MFA_ENROLLMENT`.
    pub step_type: String,
    /// The step's configuration.
    pub configuration: StepConfig,
}

impl StepFlow {
    /// Reads a step flow file's text.
    pub fn from_json(text: &str) -> Result<StepFlow, ExecutionError> {
        let flow: StepFlow = serde_json::from_str(text).map_err(|e| {
            ExecutionError::invalid(
                "step flow",
                &format!(
                    "line {}: {}",
                    e.line(),
                    e.to_string().chars().take(200).collect::<String>()
                ),
            )
        })?;
        if flow.step_type != "MFA_ENROLLMENT" {
            return Err(ExecutionError::invalid(
                "stepType",
                "the only step type is MFA_ENROLLMENT",
            ));
        }
        Ok(flow)
    }
}
