//! `connector-service`: the connector runtime as an HTTP service any flow
//! engine can call, in any language (`connector-host serve`).
//!
//! The service owns one [`connector_runtime::Runtime`] with its loaded
//! connectors and one [`connector_runtime::TenantRegistry`]: tenants from
//! the operator's tenants file (reloaded on SIGHUP) and connections added
//! through the admin API, which are tenant-supplied settings
//! ([`connector_runtime::Trust::Tenant`]). Every route is declared once in
//! [`routes::ROUTES`]; the router and the OpenAPI document are both built
//! from that table, so they cannot drift.
//!
//! Modules: `config` (serve.toml), `keys` (API keys as digests, scopes),
//! `context` (authentication, request ids, `traceparent`, logs), `routes`
//! (the table, the public handlers), `admin` (the admin handlers),
//! `errors` (errors as HTTP answers), `executions` (flow executions),
//! `flow_runs` (runs of flow templates, watched step by step), `logs` (the JSON log subscriber),
//! `metrics` (Prometheus text),
//! `openapi` (the document), `server` (listener, TLS, connection bounds,
//! graceful shutdown).

pub mod admin;
pub mod config;
pub mod context;
pub mod errors;
pub mod executions;
pub mod flow_runs;
pub mod keys;
pub mod logs;
pub mod metrics;
pub mod openapi;
pub mod playground;
pub mod routes;
pub mod server;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use connector_flows::{BoxedDriver, FlowLibrary, Runs};
use connector_runtime::{Error, Limits, Runtime, TenantRegistry, TenantStats};

pub use config::{ConfigError, ExecutionsSection, FlowsSection, ServeConfig, ServerLimits};
pub use keys::{digest_hex, Keys, Scope};

/// The service: the runtime, the tenants, the keys and the counters. Clone
/// it freely; clones share everything.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Runtime,
    registry: TenantRegistry,
    /// The tenants that came from the tenants file; a reload replaces these
    /// and leaves those the admin API created.
    from_file: Mutex<BTreeSet<String>>,
    tenants_file: Option<PathBuf>,
    default_connector: Option<String>,
    keys: Keys,
    metrics: metrics::Metrics,
    tenant_limits: Limits,
    server: ServerLimits,
    ready: AtomicBool,
    /// Seed 002's step as flow executions, when step flows are configured.
    executions: Option<connector_executions::Executions>,
    /// What the development emulator sent (`serve --dev` only).
    dev_outbox: std::sync::OnceLock<DevOutbox>,
    /// The flow templates the playground shows and `flowRuns` run.
    flows: Arc<FlowLibrary>,
    /// The runs of those flows.
    flow_runs: Runs,
    /// The end user a run may ask to answer its waits (`serve --dev` only).
    dev_end_user: std::sync::OnceLock<DevEndUser>,
}

/// Reads the messages a development emulator "sent" (OTPs), as JSON.
pub type DevOutbox = Box<dyn Fn() -> serde_json::Value + Send + Sync>;

/// Makes the end user of one flow run: in `serve --dev`, the emulator's,
/// who reads the OTPs it sent, holds a security key and approves pushes.
pub type DevEndUser = Box<dyn Fn() -> Box<dyn BoxedDriver> + Send + Sync>;

impl Service {
    /// A service over `runtime` (its connectors loaded) with `keys`; reads
    /// the tenants file of `config`, if any.
    pub fn new(runtime: Runtime, config: &ServeConfig, keys: Keys) -> Result<Service, Error> {
        let tenant_limits = config.tenant_limits.apply(Limits::default());
        tenant_limits.validate().map_err(|e| match e {
            Error::Tenant { field, message } => Error::Tenant {
                field: field.replacen("limits.", "tenantLimits.", 1),
                message,
            },
            other => other,
        })?;
        let executions = executions_of(&runtime, config)?;
        let flows = match &config.flows.dir {
            Some(dir) => flows_of(&runtime, dir)?,
            None => FlowLibrary::new(),
        };
        let service = Service {
            inner: Arc::new(Inner {
                executions,
                runtime,
                registry: TenantRegistry::new(),
                from_file: Mutex::default(),
                tenants_file: config.tenants_file.clone(),
                default_connector: config.default_connector.clone(),
                keys,
                metrics: metrics::Metrics::default(),
                tenant_limits,
                server: config.server.clone(),
                ready: AtomicBool::new(false),
                dev_outbox: std::sync::OnceLock::new(),
                flows: Arc::new(flows),
                flow_runs: Runs::new(config.flows.run_limits()),
                dev_end_user: std::sync::OnceLock::new(),
            }),
        };
        service.reload()?;
        service.inner.ready.store(true, Ordering::Relaxed);
        Ok(service)
    }

    /// Reads the tenants file again: its tenants replace the ones it held
    /// before (invocations running on those finish with them; a connection
    /// whose credential did not change keeps its token, and the counters
    /// continue), tenants it no longer has are removed, tenants the admin
    /// API created stay. On an error nothing changes. Returns how many
    /// tenants the file holds.
    pub fn reload(&self) -> Result<usize, Error> {
        let Some(path) = &self.inner.tenants_file else {
            return Ok(0);
        };
        // Held from reading to applying, so two reloads at once apply in
        // order and the later file wins.
        let mut from_file = self.inner.from_file.lock().unwrap();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Tenant {
            field: "tenants file".into(),
            message: format!("{}: cannot be read ({})", path.display(), e.kind()),
        })?;
        let fresh = TenantRegistry::from_toml(
            &text,
            &self.inner.runtime,
            self.inner.default_connector.as_deref(),
        )?;
        let names: BTreeSet<String> = fresh.names().into_iter().collect();
        for gone in from_file.difference(&names) {
            self.inner.registry.remove(gone);
        }
        for name in &names {
            let Some(tenant) = fresh.remove(name) else {
                continue;
            };
            // Unchanged credentials keep their tokens; counters continue.
            let tenant = match self.inner.registry.get(name) {
                Some(previous) => tenant.succeeding(&previous),
                None => tenant,
            };
            self.inner.registry.insert(name, tenant);
        }
        *from_file = names;
        tracing::info!(tenants = from_file.len(), "tenants file loaded");
        Ok(from_file.len())
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// The tenants.
    pub fn registry(&self) -> &TenantRegistry {
        &self.inner.registry
    }

    /// The server's bounds.
    pub fn server_limits(&self) -> &ServerLimits {
        &self.inner.server
    }

    /// Every tenant's name and counters.
    pub fn tenant_stats(&self) -> Vec<(String, TenantStats)> {
        self.inner
            .registry
            .names()
            .into_iter()
            .filter_map(|n| self.inner.registry.get(&n).map(|t| (n, t.stats())))
            .collect()
    }

    /// Whether the service is ready to serve (connectors and tenants loaded).
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed) && !self.inner.runtime.connectors().is_empty()
    }

    /// The router of every route of [`routes::ROUTES`].
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Serves `outbox` at `GET /v1/dev/outbox` (admin keys only), for the
    /// playground to read the OTPs a development emulator sent. Only
    /// `serve --dev` sets it; elsewhere the route answers 404. A second
    /// call changes nothing.
    pub fn set_dev_outbox(&self, outbox: DevOutbox) {
        let _ = self.inner.dev_outbox.set(outbox);
    }

    pub(crate) fn dev_outbox(&self) -> Option<&DevOutbox> {
        self.inner.dev_outbox.get()
    }

    /// The flow templates `GET /v1/flows` lists and
    /// `POST .../flows/{flow}/runs` runs: `[flows] dir`'s, checked against
    /// this service's runtime.
    pub fn flow_library(&self) -> Arc<FlowLibrary> {
        self.inner.flows.clone()
    }

    pub(crate) fn flow_runs(&self) -> &Runs {
        &self.inner.flow_runs
    }

    /// Lets a flow run ask for `end_user` to answer its waits
    /// (`"answeredBy": "endUser"`). Only `serve --dev` sets it, with the
    /// emulator's end user; elsewhere the caller answers. A second call
    /// changes nothing.
    pub fn set_dev_end_user(&self, end_user: DevEndUser) {
        let _ = self.inner.dev_end_user.set(end_user);
    }

    pub(crate) fn dev_end_user(&self) -> Option<&DevEndUser> {
        self.inner.dev_end_user.get()
    }

    /// The flow executions, when step flows are configured.
    pub fn executions(&self) -> Option<&connector_executions::Executions> {
        self.inner.executions.as_ref()
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    pub(crate) fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    pub(crate) fn tenant_limits(&self) -> Limits {
        self.inner.tenant_limits
    }
}

/// The flow templates of `dir`, checked against `runtime`'s connectors.
fn flows_of(runtime: &Runtime, dir: &std::path::Path) -> Result<FlowLibrary, Error> {
    let mut library = FlowLibrary::new();
    library
        .add_dir(dir)
        .and_then(|_| library.check(runtime))
        .map_err(|e| Error::Tenant {
            field: "flows.dir".into(),
            message: e.to_string().chars().take(1024).collect(),
        })?;
    Ok(library)
}

/// The executions `config` asks for: its step flows, in its store.
fn executions_of(
    runtime: &Runtime,
    config: &ServeConfig,
) -> Result<Option<connector_executions::Executions>, Error> {
    use connector_executions::{Executions, StepFlow, Store, DEFAULT_LIFETIME};
    let section = &config.executions;
    if section.steps.is_empty() {
        return Ok(None);
    }
    let load = |message: String| Error::Tenant {
        field: "executions".into(),
        message,
    };
    let store = match (&section.store, &section.database) {
        (_, Some(database)) => {
            // The operator's: an env: reference keeps a password out of the file.
            let url = match database.strip_prefix("env:") {
                Some(name) => std::env::var(name).map_err(|_| Error::Tenant {
                    field: "executions.database".into(),
                    message: format!("environment variable {name} is not set"),
                })?,
                None => database.clone(),
            };
            Store::Postgres(Box::new(
                connector_executions::postgres::PgStore::new(&url)
                    .map_err(|e| load(e.to_string()))?,
            ))
        }
        (Some(path), None) => Store::file(path).map_err(|e| load(e.to_string()))?,
        (None, None) => Store::memory(),
    };
    let lifetime = section
        .lifetime_ms
        .map_or(DEFAULT_LIFETIME, std::time::Duration::from_millis);
    let mut executions = Executions::new(runtime.clone(), store, lifetime);
    for path in &section.steps {
        let text = std::fs::read_to_string(path)
            .map_err(|e| load(format!("{}: cannot be read ({})", path.display(), e.kind())))?;
        let flow =
            StepFlow::from_json(&text).map_err(|e| load(format!("{}: {e}", path.display())))?;
        executions = executions.with_flow(&flow.flow_id, flow.configuration);
    }
    Ok(Some(executions))
}
