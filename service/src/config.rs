//! The service's configuration: the operator's, read from `serve.toml`
//! (see `serve.example.toml` at the repository root) with environment
//! overrides. It names the listen address, TLS, the API keys (as hashes),
//! the tenants file, extra components, the runtime's limits and network
//! policy, the server's own bounds, flow executions, and flow templates
//! with the bounds of their runs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use connector_runtime::{LimitsConfig, NetworkPolicy, OriginPattern, RuntimeConfig};
use serde::Deserialize;

use crate::keys::KeyConfig;

/// What `serve.toml` holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServeConfig {
    /// The address to listen on (default `127.0.0.1:8080`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// TLS, when a certificate is configured.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// The API keys.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// The tenants file (the operator's; reloaded on SIGHUP).
    #[serde(default)]
    pub tenants_file: Option<PathBuf>,
    /// The connector a tenant's top-level settings in the tenants file
    /// connect to (e.g. `pingone-mfa`); without it, settings must be under
    /// `[tenants.NAME.connections.CONNECTOR]`.
    #[serde(default)]
    pub default_connector: Option<String>,
    /// Connector components to load besides the embedded ones.
    #[serde(default)]
    pub components: Vec<PathBuf>,
    /// Limits of tenants added through the admin API.
    #[serde(default)]
    pub tenant_limits: LimitsConfig,
    /// The runtime's own settings.
    #[serde(default)]
    pub runtime: RuntimeSection,
    /// The server's bounds.
    #[serde(default)]
    pub server: ServerLimits,
    /// Flow executions (seed 002's MFA enrollment step).
    #[serde(default)]
    pub executions: ExecutionsSection,
    /// Flow templates and their runs.
    #[serde(default)]
    pub flows: FlowsSection,
}

/// `[flows]`: the flow templates the service lists and runs, and the
/// bounds of their runs. Each bound left out keeps its default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FlowsSection {
    /// A folder of flow files (`flows/*.json`), checked against the loaded
    /// connectors at start (default: none, so nothing to run).
    pub dir: Option<PathBuf>,
    /// Unfinished runs of one tenant at once (default 16).
    pub max_runs_per_tenant: Option<usize>,
    /// Unfinished runs at once, all tenants together (default 256).
    pub max_runs: Option<usize>,
    /// Finished runs of one tenant kept to be read (default 32).
    pub keep_finished_per_tenant: Option<usize>,
    /// How long a finished run is kept (default 30 minutes).
    pub keep_finished_ms: Option<u64>,
    /// How long a wait stays open before its run fails (default 10 minutes).
    pub answer_timeout_ms: Option<u64>,
}

impl FlowsSection {
    /// The bounds of the runs, defaults where the section is silent.
    pub fn run_limits(&self) -> connector_flows::RunLimits {
        let defaults = connector_flows::RunLimits::default();
        connector_flows::RunLimits {
            max_live: self.max_runs_per_tenant.unwrap_or(defaults.max_live),
            max_live_total: self.max_runs.unwrap_or(defaults.max_live_total),
            keep_finished: self
                .keep_finished_per_tenant
                .unwrap_or(defaults.keep_finished),
            keep_for: self
                .keep_finished_ms
                .map_or(defaults.keep_for, Duration::from_millis),
            answer_timeout: self
                .answer_timeout_ms
                .map_or(defaults.answer_timeout, Duration::from_millis),
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let within =
            |value: Option<u64>, key: &str, range: std::ops::RangeInclusive<u64>| match value {
                Some(v) if !range.contains(&v) => Err(bad(
                    format!("flows.{key}"),
                    format!("must be between {} and {}", range.start(), range.end()),
                )),
                _ => Ok(()),
            };
        let count = |v: Option<usize>| v.map(|v| v as u64);
        within(
            count(self.max_runs_per_tenant),
            "maxRunsPerTenant",
            1..=10_000,
        )?;
        within(count(self.max_runs), "maxRuns", 1..=100_000)?;
        within(
            count(self.keep_finished_per_tenant),
            "keepFinishedPerTenant",
            0..=10_000,
        )?;
        within(self.keep_finished_ms, "keepFinishedMs", 0..=86_400_000)?;
        within(
            self.answer_timeout_ms,
            "answerTimeoutMs",
            1_000..=86_400_000,
        )?;
        let limits = self.run_limits();
        if limits.max_live > limits.max_live_total {
            return Err(bad(
                "flows.maxRunsPerTenant",
                "must be at most flows.maxRuns",
            ));
        }
        Ok(())
    }
}

/// `[executions]`: where executions are kept, how long an idle one lives,
/// and the step flows served.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ExecutionsSection {
    /// The embedded store's file (default: memory only, lost on restart).
    pub store: Option<PathBuf>,
    /// A PostgreSQL connection string (or `env:NAME` holding one): the
    /// store several instances share. Excludes `store`.
    pub database: Option<String>,
    /// The lifetime of an idle execution (default 15 minutes).
    pub lifetime_ms: Option<u64>,
    /// Step flow files (`flows/steps/*.json`) to serve.
    pub steps: Vec<PathBuf>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// A certificate chain and its key, PEM files.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// The runtime's settings in `serve.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeSection {
    /// Instances alive at once (the pool).
    pub max_instances: Option<u32>,
    /// The largest linear memory of one instance, in bytes.
    pub max_memory_bytes: Option<usize>,
    /// Internal networks the host may reach (CIDR).
    #[serde(default)]
    pub allow_internal: Vec<String>,
    /// Origins tenant-supplied URL settings may name.
    #[serde(default)]
    pub tenant_origins: Vec<String>,
    /// Where compiled artifacts are cached (default: the user's cache).
    pub cache_dir: Option<PathBuf>,
}

/// What the server bounds. Each key left out keeps its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ServerLimits {
    /// Largest request body (default 1 MiB).
    pub max_body_bytes: usize,
    /// Largest request line and headers (default 16 KiB).
    pub max_header_bytes: usize,
    /// Time to receive a request's headers (default 10 s): slow clients
    /// cannot hold connections open.
    pub header_read_timeout_ms: u64,
    /// Open connections per client address (default 64).
    pub max_connections_per_client: usize,
    /// Time in-flight invocations get to finish after SIGTERM (default 30 s).
    pub shutdown_grace_ms: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_body_bytes: 1 << 20,
            max_header_bytes: 16 << 10,
            header_read_timeout_ms: 10_000,
            max_connections_per_client: 64,
            shutdown_grace_ms: 30_000,
        }
    }
}

impl ServerLimits {
    /// The header read timeout.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    /// The shutdown grace period.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

/// Why the configuration is unusable; names the key, never a secret value.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ConfigError {
    /// The key or file.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

fn bad(at: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        at: at.into(),
        message: message.into(),
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: default_listen(),
            tls: None,
            keys: Vec::new(),
            tenants_file: None,
            default_connector: None,
            components: Vec::new(),
            tenant_limits: LimitsConfig::default(),
            runtime: RuntimeSection::default(),
            server: ServerLimits::default(),
            executions: ExecutionsSection::default(),
            flows: FlowsSection::default(),
        }
    }
}

impl ServeConfig {
    /// Reads `path`, then applies the environment overrides
    /// (`CONNECTOR_HOST_LISTEN`, `CONNECTOR_HOST_TENANTS_FILE`), and checks
    /// it. Relative paths in the file are relative to the file's folder.
    pub fn load(path: &Path) -> Result<ServeConfig, ConfigError> {
        let at = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(&at, format!("cannot be read ({})", e.kind())))?;
        let mut config: ServeConfig = toml::from_str(&text).map_err(|e| {
            // The runtime's description names the key, the line and the
            // column and never quotes the file (a line may hold a key).
            match connector_runtime::toml_error(&at, &text, &e) {
                connector_runtime::Error::Tenant { field, message } => bad(field, message),
                other => bad(&at, other.to_string()),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(file) = config.tenants_file.as_mut() {
            resolve(file);
        }
        config.components.iter_mut().for_each(resolve);
        config.executions.steps.iter_mut().for_each(resolve);
        if let Some(dir) = config.flows.dir.as_mut() {
            resolve(dir);
        }
        if let Some(store) = config.executions.store.as_mut() {
            resolve(store);
        }
        if let Some(tls) = config.tls.as_mut() {
            resolve(&mut tls.cert);
            resolve(&mut tls.key);
        }
        config.apply_env()?;
        config.check()?;
        Ok(config)
    }

    /// The environment's overrides: the deployment's, over the file's.
    pub fn apply_env(&mut self) -> Result<(), ConfigError> {
        if let Ok(listen) = std::env::var("CONNECTOR_HOST_LISTEN") {
            self.listen = listen
                .parse()
                .map_err(|_| bad("CONNECTOR_HOST_LISTEN", "is not an address:port"))?;
        }
        if let Ok(file) = std::env::var("CONNECTOR_HOST_TENANTS_FILE") {
            self.tenants_file = Some(PathBuf::from(file));
        }
        Ok(())
    }

    /// Checks what the file cannot type: the keys, the policy, the bounds.
    pub fn check(&self) -> Result<(), ConfigError> {
        for (i, key) in self.keys.iter().enumerate() {
            key.check().map_err(|m| bad(format!("keys[{i}]"), m))?;
        }
        self.network()?;
        let s = &self.server;
        if !(1024..=64 << 20).contains(&s.max_body_bytes) {
            return Err(bad(
                "server.maxBodyBytes",
                "must be between 1024 and 67108864",
            ));
        }
        if !(8192..=1 << 20).contains(&s.max_header_bytes) {
            return Err(bad(
                "server.maxHeaderBytes",
                "must be between 8192 and 1048576",
            ));
        }
        if !(100..=600_000).contains(&s.header_read_timeout_ms) {
            return Err(bad(
                "server.headerReadTimeoutMs",
                "must be between 100 and 600000",
            ));
        }
        if !(1..=100_000).contains(&s.max_connections_per_client) {
            return Err(bad(
                "server.maxConnectionsPerClient",
                "must be between 1 and 100000",
            ));
        }
        if self.executions.store.is_some() && self.executions.database.is_some() {
            return Err(bad(
                "executions.database",
                "give store or database, not both",
            ));
        }
        if let Some(ms) = self.executions.lifetime_ms {
            if !(1_000..=86_400_000).contains(&ms) {
                return Err(bad(
                    "executions.lifetimeMs",
                    "must be between 1000 and 86400000",
                ));
            }
        }
        self.flows.check()?;
        if s.shutdown_grace_ms > 3_600_000 {
            return Err(bad("server.shutdownGraceMs", "must be at most 3600000"));
        }
        Ok(())
    }

    /// The network policy the runtime enforces.
    pub fn network(&self) -> Result<NetworkPolicy, ConfigError> {
        let allow_internal = self
            .runtime
            .allow_internal
            .iter()
            .map(|c| {
                c.parse()
                    .map_err(|_| bad("runtime.allowInternal", format!("'{c}' is not a CIDR")))
            })
            .collect::<Result<_, _>>()?;
        let tenant_origins = self
            .runtime
            .tenant_origins
            .iter()
            .map(|o| {
                o.parse::<OriginPattern>()
                    .map_err(|m| bad("runtime.tenantOrigins", m))
            })
            .collect::<Result<_, _>>()?;
        Ok(NetworkPolicy {
            allow_internal,
            tenant_origins,
        })
    }

    /// The runtime's configuration.
    pub fn runtime_config(&self) -> Result<RuntimeConfig, ConfigError> {
        let mut config = RuntimeConfig {
            network: self.network()?,
            ..RuntimeConfig::default()
        };
        if let Some(n) = self.runtime.max_instances {
            config.max_instances = n;
        }
        if let Some(n) = self.runtime.max_memory_bytes {
            config.max_memory_bytes = n;
        }
        if let Some(dir) = &self.runtime.cache_dir {
            config.cache_dir = Some(dir.clone());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_configuration_loads() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../serve.example.toml"
        ));
        let config = ServeConfig::load(path).expect("serve.example.toml is valid");
        assert_eq!(config.keys.len(), 2);
        assert_eq!(config.network().unwrap().tenant_origins.len(), 2);
        assert_eq!(config.tenant_limits.max_concurrent, Some(16));
        assert!(config.tenants_file.unwrap().ends_with("tenants.toml"));
        assert!(config.flows.dir.unwrap().ends_with("flows"));
    }

    #[test]
    fn flow_run_bounds_are_checked_and_default_where_left_out() {
        let config: ServeConfig =
            toml::from_str("[flows]\nmaxRunsPerTenant = 4\nanswerTimeoutMs = 5000\n").unwrap();
        config.check().unwrap();
        let limits = config.flows.run_limits();
        assert_eq!(
            (limits.max_live, limits.answer_timeout),
            (4, Duration::from_secs(5))
        );
        assert_eq!(
            limits.max_live_total,
            connector_flows::RunLimits::default().max_live_total
        );
        for (text, key) in [
            ("[flows]\nmaxRunsPerTenant = 0\n", "flows.maxRunsPerTenant"),
            ("[flows]\nanswerTimeoutMs = 10\n", "flows.answerTimeoutMs"),
            (
                "[flows]\nmaxRunsPerTenant = 300\nmaxRuns = 200\n",
                "flows.maxRunsPerTenant",
            ),
        ] {
            let config: ServeConfig = toml::from_str(text).unwrap();
            assert_eq!(config.check().unwrap_err().at, key, "{text}");
        }
    }

    #[test]
    fn a_partial_server_section_keeps_the_other_defaults() {
        let config: ServeConfig = toml::from_str("[server]\nmaxBodyBytes = 2048\n").unwrap();
        assert_eq!(config.server.max_body_bytes, 2048);
        assert_eq!(config.server.shutdown_grace_ms, 30_000);
        config.check().unwrap();
    }
}
