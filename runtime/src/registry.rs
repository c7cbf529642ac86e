//! The tenant registry: the tenants a flow engine serves, added, updated and
//! removed while invocations run. Each tenant keeps its own limits and
//! counters and a connection per connector (token cache, allowlist,
//! credential); an update makes a new tenant, so invocations already
//! running finish with the settings they started with.
//!
//! The registry holds tenants of both trust levels; how each connection was
//! made ([`crate::Trust`]) decided what its settings could do. A tenants
//! file is the operator's, so its connections are operator connections.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::limits::{Limits, LimitsConfig};
use crate::runtime::Runtime;
use crate::settings::{toml_error, toml_to_json};
use crate::tenant::{Tenant, Trust};

/// Tenants by name.
#[derive(Default)]
pub struct TenantRegistry {
    tenants: RwLock<HashMap<String, Tenant>>,
}

fn bad(field: String, message: impl Into<String>) -> Error {
    Error::Tenant {
        field,
        message: message.into(),
    }
}

fn prefixed(prefix: &str, e: Error) -> Error {
    match e {
        Error::Tenant { field, message } => Error::Tenant {
            field: format!("{prefix}.{field}"),
            message,
        },
        other => other,
    }
}

/// A limits table; a bad value is named by its key path, never quoted.
fn limits_of(at: &str, value: toml::Value) -> Result<LimitsConfig, Error> {
    serde_path_to_error::deserialize::<_, LimitsConfig>(value).map_err(|e| {
        let message = e.inner().to_string();
        let reason = match message.rfind("expected ") {
            Some(i) => format!("invalid value; {}", &message[i..]),
            None if message.starts_with("unknown field") => {
                format!(
                    "unknown key '{}'",
                    message.split('`').nth(1).unwrap_or_default()
                )
            }
            None => "invalid value".into(),
        };
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            at.to_owned()
        } else {
            format!("{at}.{path}")
        };
        bad(field, reason)
    })
}

impl TenantRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a tenants file (TOML; operator configuration: secret
    /// references resolve) for the connectors loaded in `runtime`:
    ///
    /// ```toml
    /// [defaults]                           # limits every tenant starts from
    /// maxConcurrent = 16
    ///
    /// [tenants.acme]                       # settings here connect to `default_connector`
    /// environmentId = "…"
    /// clientSecret = "env:ACME_SECRET"     # or "file:/run/secrets/acme", or inline
    ///
    /// [tenants.acme.limits]                # this tenant's own limits
    /// cpuTimeMs = 500
    ///
    /// [tenants.acme.connections.http]      # a connection to the `http` connector
    /// baseUrl = "https://api.example.com"
    /// ```
    ///
    /// Every connection and every limit is validated; errors name the
    /// tenant and key (`acme.clientSecret`,
    /// `acme.connections.http.baseUrl`) without quoting the file.
    pub fn from_toml(
        text: &str,
        runtime: &Runtime,
        default_connector: Option<&str>,
    ) -> Result<TenantRegistry, Error> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| toml_error("tenants file", text, &e))?;
        let mut defaults = LimitsConfig::default();
        let mut tenants = toml::Table::new();
        for (key, value) in table {
            match (key.as_str(), value) {
                ("defaults", value) => defaults = limits_of("defaults", value)?,
                ("tenants", toml::Value::Table(t)) => tenants = t,
                ("tenants", _) => return Err(bad("tenants".into(), "must be a table of tenants")),
                (other, _) => {
                    return Err(bad(
                        other.into(),
                        "unknown key; expected defaults or tenants",
                    ))
                }
            }
        }
        let base = defaults.apply(Limits::default());
        base.validate().map_err(|e| match e {
            Error::Tenant { field, message } => {
                bad(field.replacen("limits.", "defaults.", 1), message)
            }
            other => other,
        })?;
        let registry = TenantRegistry::new();
        for (name, entry) in tenants {
            let toml::Value::Table(entry) = entry else {
                return Err(bad(format!("tenants.{name}"), "must be a table"));
            };
            let tenant = Self::entry(&name, entry, base, runtime, default_connector)?;
            registry.insert(&name, tenant);
        }
        Ok(registry)
    }

    fn entry(
        name: &str,
        entry: toml::Table,
        base: Limits,
        runtime: &Runtime,
        default_connector: Option<&str>,
    ) -> Result<Tenant, Error> {
        let mut limits = LimitsConfig::default();
        let mut connections: BTreeMap<String, (String, Map<String, Value>)> = BTreeMap::new();
        let mut settings = toml::Table::new();
        for (key, value) in entry {
            match (key.as_str(), value) {
                ("limits", value) => limits = limits_of(&format!("{name}.limits"), value)?,
                ("connections", toml::Value::Table(sections)) => {
                    for (connector, section) in sections {
                        let toml::Value::Table(section) = section else {
                            return Err(bad(
                                format!("{name}.connections.{connector}"),
                                "must be a table of settings",
                            ));
                        };
                        let at = format!("{name}.connections.{connector}");
                        connections.insert(connector, (at, toml_to_json(section)));
                    }
                }
                ("connections", _) => {
                    return Err(bad(format!("{name}.connections"), "must be a table"))
                }
                (_, value) => {
                    settings.insert(key, value);
                }
            }
        }
        if !settings.is_empty() {
            let Some(default) = default_connector else {
                return Err(bad(
                    name.into(),
                    format!("settings belong under [tenants.{name}.connections.<connector>]"),
                ));
            };
            if connections.contains_key(default) {
                return Err(bad(
                    name.into(),
                    format!("has settings both at its top and under connections.{default}"),
                ));
            }
            connections.insert(
                default.to_owned(),
                (name.to_owned(), toml_to_json(settings)),
            );
        }
        let limits = limits.apply(base);
        let mut builder = Tenant::builder(limits).map_err(|e| prefixed(name, e))?;
        for (connector_name, (at, settings)) in connections {
            let connector = runtime.connector(&connector_name).ok_or_else(|| {
                bad(
                    at.clone(),
                    format!("no connector named {connector_name} is loaded"),
                )
            })?;
            builder = builder
                .connect(&connector, settings, Trust::Operator)
                .map_err(|e| prefixed(&at, e))?;
        }
        Ok(builder.build())
    }

    /// Adds or replaces the tenant `name`; the tenant it replaced, if any.
    /// Invocations already running for the old one finish with it.
    pub fn insert(&self, name: &str, tenant: Tenant) -> Option<Tenant> {
        self.tenants
            .write()
            .unwrap()
            .insert(name.to_owned(), tenant)
    }

    /// Removes the tenant `name`; invocations already running finish.
    pub fn remove(&self, name: &str) -> Option<Tenant> {
        self.tenants.write().unwrap().remove(name)
    }

    /// The tenant `name`.
    pub fn get(&self, name: &str) -> Option<Tenant> {
        self.tenants.read().unwrap().get(name).cloned()
    }

    /// Every tenant's name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tenants.read().unwrap().keys().cloned().collect();
        names.sort();
        names
    }

    /// How many tenants there are.
    pub fn len(&self) -> usize {
        self.tenants.read().unwrap().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
