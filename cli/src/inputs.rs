//! What `invoke` reads besides its arguments: the tenant's settings (a
//! `--tenant` file, a `--tenants` file or the environment the connector's
//! manifest names) and the `--input` text, each within bounds of size and
//! time, with errors that name the file and never quote its contents.

use std::path::{Path, PathBuf};
use std::time::Duration;

use connector_runtime::{
    settings_from_toml, Connector, Error, Limit, Limits, Runtime, Tenant, TenantRegistry, Trust,
};
use serde_json::{Map, Value};

use crate::io::{read_bounded, ReadFailure};

/// The largest `--tenant` file (one tenant's settings).
const TENANT_FILE_MAX: usize = 64 << 10;
/// The largest `--tenants` file.
const TENANTS_FILE_MAX: usize = 8 << 20;
/// How long reading a settings file may take (a FIFO, a slow pipe).
const SETTINGS_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A settings file's text, read within bounds; trouble is a tenant error
/// that names the file, never its contents.
async fn read_settings(path: &Path, max: usize, what: &str) -> Result<String, Error> {
    let bad = |message: String| Error::Tenant {
        field: what.into(),
        message: format!("{}: {message}", path.display()),
    };
    match read_bounded(path, max, SETTINGS_READ_TIMEOUT).await {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| bad("is not UTF-8 text".into())),
        Err(ReadFailure::TooLarge) => Err(bad(format!("is larger than {max} bytes"))),
        Err(ReadFailure::TimedOut) => Err(bad(format!(
            "could not be read within {} s",
            SETTINGS_READ_TIMEOUT.as_secs()
        ))),
        Err(ReadFailure::Io(e)) => Err(bad(format!("cannot be read ({})", e.kind()))),
    }
}

/// The `--input` text: inline, or `@path` / `@-` read within the tenant's
/// input limit and wall-clock time.
pub async fn read_input(
    input: String,
    capability: &str,
    limits: &Limits,
) -> anyhow::Result<String> {
    let Some(path) = input.strip_prefix('@') else {
        return Ok(input);
    };
    let max = limits.max_input_bytes;
    match read_bounded(Path::new(path), max, limits.wall_time).await {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("the input in {path} is not UTF-8 text")),
        Err(ReadFailure::TooLarge) => Err(Error::Limit {
            capability: capability.to_owned(),
            limit: Limit::InputSize,
            message: format!("the input in {path} is larger than {max} bytes (maxInputBytes)"),
        }
        .into()),
        Err(ReadFailure::TimedOut) => Err(anyhow::anyhow!(
            "reading the input from {path} did not finish within {} ms (wallTimeMs)",
            limits.wall_time.as_millis()
        )),
        Err(ReadFailure::Io(e)) => Err(anyhow::anyhow!("reading {path}: {e}")),
    }
}

/// The connection settings named by the connector's manifest as
/// environment variables (`env`), e.g. PingOne's `PINGONE_*`; the process
/// environment is the operator's.
fn settings_from_env(connector: &Connector) -> Result<Map<String, Value>, Error> {
    let manifest = connector.manifest();
    let required: Vec<&str> = manifest.settings["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut settings = Map::new();
    for name in manifest.setting_names() {
        let Some(var) = manifest.env_var(name) else {
            continue;
        };
        match std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            Some(value) => {
                settings.insert(name.to_owned(), Value::String(value));
            }
            None if required.contains(&name) => {
                return Err(Error::Tenant {
                    field: var.to_owned(),
                    message: format!(
                        "is not set (the {} connector's {name}; or give --tenant or --tenants)",
                        connector.name()
                    ),
                })
            }
            None => {}
        }
    }
    Ok(settings)
}

/// The tenant `invoke` runs for, connected to `connector`: from `--tenant`,
/// `--tenants` (whose top-level settings are the connection to the
/// invoked connector) or the environment.
pub async fn load_tenant(
    runtime: &Runtime,
    connector: &Connector,
    tenant: Option<PathBuf>,
    tenants: Option<PathBuf>,
    tenant_name: Option<String>,
    supplied: bool,
) -> anyhow::Result<Tenant> {
    let trust = if supplied {
        Trust::Tenant
    } else {
        Trust::Operator
    };
    Ok(match (tenant, tenants) {
        (Some(path), _) => {
            let text = read_settings(&path, TENANT_FILE_MAX, "tenant file").await?;
            let settings = settings_from_toml(&text)?;
            Tenant::connected(connector, settings, trust, Limits::default())?
        }
        (None, Some(path)) => {
            let text = read_settings(&path, TENANTS_FILE_MAX, "tenants file").await?;
            let registry = TenantRegistry::from_toml(&text, runtime, Some(connector.name()))?;
            let names = registry.names();
            let name = match (tenant_name, names.as_slice()) {
                (Some(name), _) => name,
                (None, [only]) => only.clone(),
                (None, _) => anyhow::bail!(
                    "{} has several tenants ({}); choose one with --tenant-name",
                    path.display(),
                    names.join(", ")
                ),
            };
            registry.get(&name).ok_or_else(|| {
                anyhow::anyhow!(
                    "no tenant '{name}' in {} (known: {})",
                    path.display(),
                    names.join(", ")
                )
            })?
        }
        (None, None) => Tenant::connected(
            connector,
            settings_from_env(connector)?,
            Trust::Operator,
            Limits::default(),
        )?,
    })
}
