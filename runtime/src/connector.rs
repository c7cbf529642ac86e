//! A loaded connector: its component pre-instantiated, its manifest
//! checked, its capabilities resolved to exports, its settings schema
//! compiled; and one invocation, from the tenant's slot to the checked
//! output.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use connector_manifest::Manifest;
use serde_json::{Map, Value};
use wasmtime::component::{Component, InstancePre};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::bindings::exports::identity::connector::types::{
    ConnectorError as GuestError, InputError,
};
use crate::bindings::ConnectorPre;
use crate::connection::Connection;
use crate::contract::{check_input, check_output, CapabilityInfo, Entry};
use crate::deadline::within;
use crate::error::{ApiErrorDetail, Error, Limit};
use crate::limits::Limits;
use crate::outbound::OutboundReport;
use crate::runtime::HostInner;
use crate::store::{new_store, State};
use crate::tenant::{Tenant, Trust};

/// A connector loaded into a [`crate::Runtime`]. Clone it freely; clones
/// share everything.
#[derive(Clone)]
pub struct Connector {
    inner: Arc<ConnectorInner>,
}

struct ConnectorInner {
    host: Arc<HostInner>,
    pre: InstancePre<State>,
    manifest: Manifest,
    manifest_json: Value,
    entries: HashMap<String, Entry>,
    order: Vec<String>,
    settings: jsonschema::Validator,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("name", &self.inner.manifest.name)
            .field("version", &self.inner.manifest.version)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// Prepares `component` (already compiled for `host`'s engine) with the
    /// manifest it reported (`manifest_json`, read or cached by the caller).
    pub(crate) fn new(
        host: Arc<HostInner>,
        component: &Component,
        pre: InstancePre<State>,
        manifest_json: Value,
    ) -> Result<Connector, Error> {
        // Read from the value by reference: the manifest is tens of
        // kilobytes of schemas, and a clone of it is a millisecond at start.
        let manifest = <Manifest as serde::Deserialize>::deserialize(&manifest_json)
            .map_err(|e| Error::load(format!("the manifest does not fit the contract: {e}")))?;
        manifest
            .check()
            .map_err(|e| Error::load(format!("the manifest of {}: {e}", manifest.name)))?;
        let settings = jsonschema::validator_for(&manifest.settings)
            .map_err(|e| Error::load(format!("{}: the settings schema: {e}", manifest.name)))?;
        // The host finds the capability interface from the manifest: no
        // connector's package name is known to it.
        let interface = component
            .get_export_index(None, &manifest.interface)
            .ok_or_else(|| {
                Error::load(format!(
                    "{}: the component does not export {}",
                    manifest.name, manifest.interface
                ))
            })?;
        let mut entries = HashMap::new();
        let mut order = Vec::new();
        for cap in &manifest.capabilities {
            let export = component
                .get_export_index(Some(&interface), &cap.wit_function)
                .ok_or_else(|| {
                    Error::load(format!(
                        "{}: capability {} has no export {}",
                        manifest.name, cap.id, cap.wit_function
                    ))
                })?;
            let info = CapabilityInfo {
                connector: manifest.name.clone(),
                id: cap.id.clone(),
                wit_function: cap.wit_function.clone(),
                title: cap.title.clone(),
                description: cap.description.clone(),
                input_schema: cap.input_schema.clone(),
                output_schema: cap.output_schema.clone(),
            };
            order.push(info.id.clone());
            entries.insert(
                info.id.clone(),
                Entry {
                    info,
                    export,
                    input: OnceLock::new(),
                    output: OnceLock::new(),
                },
            );
        }
        Ok(Connector {
            inner: Arc::new(ConnectorInner {
                host,
                pre,
                manifest,
                manifest_json,
                entries,
                order,
                settings,
            }),
        })
    }

    /// The connector's name, e.g. `pingone-mfa`.
    pub fn name(&self) -> &str {
        &self.inner.manifest.name
    }

    /// The manifest, parsed and checked.
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// The manifest as the component reported it.
    pub fn manifest_json(&self) -> &Value {
        &self.inner.manifest_json
    }

    /// The capabilities, in manifest order.
    pub fn capabilities(&self) -> impl Iterator<Item = &CapabilityInfo> {
        self.inner
            .order
            .iter()
            .map(|id| &self.inner.entries[id].info)
    }

    /// One capability's description.
    pub fn capability(&self, id: &str) -> Option<&CapabilityInfo> {
        self.inner.entries.get(id).map(|e| &e.info)
    }

    /// Compiles every capability's input and output schema now instead of
    /// at first use, for embedders that want a bad schema to fail at deploy.
    pub fn compile_schemas(&self) -> Result<(), Error> {
        for entry in self.inner.entries.values() {
            entry.input()?;
            entry.output()?;
        }
        Ok(())
    }

    /// Resolves a tenant's settings for this connector (see
    /// [`crate::TenantBuilder::connect`]).
    pub(crate) fn connect(
        &self,
        settings: &Map<String, Value>,
        trust: Trust,
    ) -> Result<Connection, Error> {
        Connection::resolve(
            &self.inner.manifest,
            &self.inner.settings,
            settings,
            trust,
            &self.inner.host.network,
        )
    }

    /// Invokes capability `id` for `tenant` with the JSON text `input`;
    /// returns the output JSON. Runs within the tenant's limits, after
    /// waiting for one of its concurrency slots, with the tenant's
    /// connection to this connector.
    pub async fn invoke(&self, tenant: &Tenant, id: &str, input: &str) -> Result<Value, Error> {
        let connection = tenant.connection(self.name())?.clone();
        let _slot = tenant.acquire(id).await?;
        let mut limits = *tenant.limits();
        limits.memory_bytes = limits.memory_bytes.min(self.inner.host.max_memory_bytes);
        let result = self
            .run(&connection, id, input, &limits)
            .await
            .map_err(|e| e.bounded(limits.max_output_bytes));
        tenant.record(&result);
        result
    }

    fn entry(&self, id: &str) -> Result<&Entry, Error> {
        self.inner
            .entries
            .get(id)
            .ok_or_else(|| Error::UnknownCapability {
                capability: id.to_owned(),
            })
    }

    async fn run(
        &self,
        connection: &Arc<Connection>,
        id: &str,
        input: &str,
        limits: &Limits,
    ) -> Result<Value, Error> {
        let entry = self.entry(id)?;
        check_input(entry, id, input, limits)?;
        let capability = || id.to_owned();

        let report = Arc::new(Mutex::new(OutboundReport::default()));
        let stderr = MemoryOutputPipe::new(4096);
        let host = &self.inner.host;
        let mut store = new_store(
            &host.engine,
            &host.deadlines,
            &host.client,
            Some(connection),
            report.clone(),
            stderr.clone(),
            limits,
        );
        let outcome = within(host.deadlines.after(limits.wall_time), async {
            let instance = self.inner.pre.instantiate_async(&mut store).await?;
            let func = instance.get_typed_func::<(&str,), (Result<String, GuestError>,)>(
                &mut store,
                &entry.export,
            )?;
            let (result,) = func.call_async(&mut store, (input,)).await?;
            Ok::<_, wasmtime::Error>(result)
        })
        .await;

        let report = std::mem::take(&mut *report.lock().unwrap());
        let state = store.data();
        let guest_result = match outcome {
            Err(_) => {
                return Err(Error::Limit {
                    capability: capability(),
                    limit: Limit::WallClock,
                    message: format!(
                        "the invocation took longer than {} ms (wallTimeMs)",
                        limits.wall_time.as_millis()
                    ),
                })
            }
            Ok(Err(trap)) => return Err(trap_error(id, trap, state, &report, &stderr, limits)),
            Ok(Ok(result)) => result,
        };
        // What the host saw below the guest is the real cause, whatever the
        // guest made of the error it was handed.
        if let Some((url, reason)) = report.denied {
            return Err(Error::Denied {
                capability: capability(),
                url,
                reason,
            });
        }
        if let Some(e) = report.token_error {
            return Err(Error::Token {
                capability: capability(),
                status: e.status,
                code: e.code,
                message: e.message,
            });
        }
        if let Some((limit, message)) = report.limit {
            return Err(Error::Limit {
                capability: capability(),
                limit,
                message,
            });
        }
        let output = guest_result.map_err(|e| match report.transport {
            // The guest only got a wasi:http code; the host knows the cause.
            Some(failure) => Error::Transport {
                capability: capability(),
                code: failure.code.to_owned(),
                message: failure.message,
            },
            None => guest_error(id, e),
        })?;
        check_output(entry, id, &output, limits)
    }

    /// Benchmark probe, not part of the API: what an invocation spends
    /// before the guest runs, alone: creating the store and instantiating
    /// the component from the pool. Returns (store, instantiate) times.
    #[doc(hidden)]
    pub async fn probe_instantiate(
        &self,
        tenant: &Tenant,
    ) -> Result<(std::time::Duration, std::time::Duration), Error> {
        let connection = tenant.connection(self.name())?.clone();
        let limits = *tenant.limits();
        let report = Arc::new(Mutex::new(OutboundReport::default()));
        let start = std::time::Instant::now();
        let mut store = new_store(
            &self.inner.host.engine,
            &self.inner.host.deadlines,
            &self.inner.host.client,
            Some(&connection),
            report,
            MemoryOutputPipe::new(4096),
            &limits,
        );
        let stored = start.elapsed();
        self.inner
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(Error::load)?;
        Ok((stored, start.elapsed() - stored))
    }

    /// Benchmark probe, not part of the API: the input and output checks
    /// of capability `id` (size, parse, JSON Schema), as an invocation runs them.
    #[doc(hidden)]
    pub fn probe_validate(&self, id: &str, input: &str, output: &str) -> Result<(), Error> {
        let entry = self.entry(id)?;
        let limits = Limits::default();
        check_input(entry, id, input, &limits)?;
        check_output(entry, id, output, &limits).map(drop)
    }
}

/// Calls the component's `describe.manifest` in a sandbox without network.
pub(crate) async fn read_manifest(
    host: &HostInner,
    pre: &InstancePre<State>,
) -> Result<Value, Error> {
    let report = Arc::new(Mutex::new(OutboundReport::default()));
    let mut store = new_store(
        &host.engine,
        &host.deadlines,
        &host.client,
        None,
        report,
        MemoryOutputPipe::new(4096),
        &Limits::default(),
    );
    let pre = ConnectorPre::new(pre.clone()).map_err(|e| {
        Error::load(format!(
            "the component does not fit the identity:connector world: {e}"
        ))
    })?;
    let connector = pre
        .instantiate_async(&mut store)
        .await
        .map_err(Error::load)?;
    let text = connector
        .identity_connector_describe()
        .call_manifest(&mut store)
        .await
        .map_err(|e| Error::load(format!("manifest() failed: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Error::load(format!("the manifest is not JSON: {e}")))
}

fn trap_error(
    id: &str,
    trap: wasmtime::Error,
    state: &State,
    report: &OutboundReport,
    stderr: &MemoryOutputPipe,
    limits: &Limits,
) -> Error {
    let capability = id.to_owned();
    if state.cpu_exceeded {
        return Error::Limit {
            capability,
            limit: Limit::Cpu,
            message: format!(
                "the guest ran for more than {} ms of CPU time (cpuTimeMs)",
                limits.cpu_time.as_millis()
            ),
        };
    }
    if state.limiter.hit {
        return Error::Limit {
            capability,
            limit: Limit::Memory,
            message: format!(
                "the guest tried to grow its memory beyond {} bytes (memoryBytes)",
                limits.memory_bytes
            ),
        };
    }
    if let Some((limit, message)) = &report.limit {
        return Error::Limit {
            capability,
            limit: *limit,
            message: message.clone(),
        };
    }
    let text = format!("{trap:#}");
    if text.contains("pooling allocator") || text.contains("maximum concurrent") {
        return Error::Limit {
            capability,
            limit: Limit::Instances,
            message: "no free instance slot; too many invocations in flight".into(),
        };
    }
    let code = trap.downcast_ref::<wasmtime::Trap>().map(|t| t.to_string());
    let guest_said = String::from_utf8_lossy(&stderr.contents())
        .trim()
        .to_owned();
    let mut message =
        code.unwrap_or_else(|| text.lines().next().unwrap_or("unknown trap").to_owned());
    if !guest_said.is_empty() {
        message.push_str("; guest stderr: ");
        message.push_str(&guest_said);
    }
    Error::Trap {
        capability,
        message,
    }
}

/// The one conversion from the WIT error to the host error.
fn guest_error(capability: &str, e: GuestError) -> Error {
    let capability = capability.to_owned();
    match e {
        GuestError::InvalidInput(InputError { pointer, message }) => Error::InvalidInput {
            capability,
            pointer,
            message,
        },
        GuestError::Api(a) => Error::Api {
            capability,
            status: a.status,
            id: a.id.map(Into::into),
            code: a.code,
            message: a.message,
            details: a
                .details
                .into_iter()
                .map(|d| ApiErrorDetail {
                    code: d.code,
                    target: d.target,
                    message: d.message,
                    inner_error: d.inner_error.and_then(|i| serde_json::from_str(&i).ok()),
                })
                .collect(),
            omitted_details: 0,
        },
        GuestError::Transport(t) => Error::Transport {
            capability,
            code: t.code,
            message: t.message,
        },
        GuestError::Internal(message) => Error::Internal {
            capability,
            message,
        },
    }
}
