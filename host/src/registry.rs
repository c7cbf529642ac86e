//! The tenant registry: the tenants a flow engine serves, added, updated and
//! removed while invocations run. Each tenant keeps its own token cache,
//! allowlist, limits and counters; an update makes a new tenant, so
//! invocations already running finish with the settings they started with.
//!
//! The registry holds tenants of both trust levels; how a tenant was built
//! ([`Tenant::from_operator`] or [`Tenant::from_tenant`]) decided what its
//! settings could do. A tenants file is the operator's, so its tenants are
//! operator tenants.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use serde::Deserialize;

use crate::error::Error;
use crate::limits::{Limits, LimitsConfig};
use crate::settings::{toml_error, TenantSettings};
use crate::tenant::Tenant;

/// Tenants by name.
#[derive(Default)]
pub struct TenantRegistry {
    tenants: RwLock<HashMap<String, Tenant>>,
}

/// A tenants file (TOML):
///
/// ```toml
/// [defaults]            # limits every tenant starts from (optional)
/// maxConcurrent = 16
///
/// [tenants.acme]
/// environmentId = "…"
/// clientId = "…"
/// clientSecret = "env:ACME_SECRET"   # or "file:/run/secrets/acme", or inline
/// region = "EU"
/// policyId = "…"
///
/// [tenants.acme.limits] # this tenant's own limits (optional)
/// cpuTimeMs = 500
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantsFile {
    /// Limits every tenant starts from.
    #[serde(default)]
    pub defaults: LimitsConfig,
    /// The tenants, by name.
    pub tenants: BTreeMap<String, TenantEntry>,
}

/// One tenant of a tenants file.
#[derive(Debug, Deserialize)]
#[serde(from = "EntryFields")]
pub struct TenantEntry {
    /// The connection settings.
    pub settings: TenantSettings,
    /// Limits of this tenant, over the file's defaults.
    pub limits: LimitsConfig,
}

/// A tenants-file entry as written: the settings' keys and `limits` side by
/// side. Spelled out rather than `#[serde(flatten)]`, because flattening
/// makes the TOML parser lose the position of a bad value, and errors must
/// name the key and line (they may not quote the value).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EntryFields {
    environment_id: String,
    #[serde(default)]
    policy_id: String,
    client_id: String,
    client_secret: crate::Secret,
    #[serde(default)]
    region: crate::Region,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    auth_url: Option<String>,
    #[serde(default)]
    limits: LimitsConfig,
}

impl From<EntryFields> for TenantEntry {
    fn from(f: EntryFields) -> TenantEntry {
        TenantEntry {
            settings: TenantSettings {
                environment_id: f.environment_id,
                policy_id: f.policy_id,
                client_id: f.client_id,
                client_secret: f.client_secret,
                region: f.region,
                api_url: f.api_url,
                auth_url: f.auth_url,
            },
            limits: f.limits,
        }
    }
}

impl TenantRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a tenants file's text (operator configuration: secret
    /// references resolve); every tenant and every limit is validated, and
    /// errors name the tenant and key without quoting the file.
    pub fn from_toml(text: &str) -> Result<TenantRegistry, Error> {
        let file: TenantsFile =
            toml::from_str(text).map_err(|e| toml_error("tenants file", text, &e))?;
        let prefixed = |prefix: &str, e: Error| match e {
            Error::Tenant { field, message } => Error::Tenant {
                field: format!("{prefix}.{field}"),
                message,
            },
            other => other,
        };
        let base = file.defaults.apply(Limits::default());
        base.validate().map_err(|e| match e {
            Error::Tenant { field, message } => Error::Tenant {
                field: field.replacen("limits.", "defaults.", 1),
                message,
            },
            other => other,
        })?;
        let registry = TenantRegistry::new();
        for (name, entry) in file.tenants {
            let limits = entry.limits.apply(base);
            let tenant =
                Tenant::from_operator(entry.settings, limits).map_err(|e| prefixed(&name, e))?;
            registry.insert(&name, tenant);
        }
        Ok(registry)
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

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[defaults]
maxConcurrent = 4

[tenants.acme]
environmentId = "11111111-2222-3333-4444-555555555555"
clientId = "aaaaaaaa-2222-3333-4444-555555555555"
clientSecret = "env:REGISTRY_TEST_SECRET"
region = "EU"

[tenants.acme.limits]
cpuTimeMs = 500

[tenants.globex]
environmentId = "22222222-2222-3333-4444-555555555555"
clientId = "bbbbbbbb-2222-3333-4444-555555555555"
clientSecret = "inline-secret-value"
"#;

    #[test]
    fn tenants_file_resolves_secrets_and_layers_limits() {
        std::env::set_var("REGISTRY_TEST_SECRET", "from-env");
        let registry = TenantRegistry::from_toml(FILE).unwrap();
        assert_eq!(registry.names(), ["acme", "globex"]);
        let acme = registry.get("acme").unwrap();
        assert_eq!(acme.inner.settings.client_secret.expose(), "from-env");
        assert_eq!(acme.limits().max_concurrent, 4);
        assert_eq!(
            acme.limits().cpu_time,
            std::time::Duration::from_millis(500)
        );
        assert_eq!(acme.api_url(), "https://api.pingone.eu/v1");
        let globex = registry.get("globex").unwrap();
        assert_eq!(globex.limits().cpu_time, Limits::default().cpu_time);
        assert!(registry.remove("acme").is_some());
        assert!(registry.get("acme").is_none());
    }

    #[test]
    fn bad_entries_name_the_tenant_and_field() {
        let text = FILE
            .replace("region = \"EU\"", "region = \"MARS\"")
            .replace("env:REGISTRY_TEST_SECRET", "inline-secret-value");
        match TenantRegistry::from_toml(&text) {
            Err(Error::Tenant { field, message }) => {
                assert_eq!(field, "tenants.acme.region");
                assert!(message.contains("line 9"), "{message}");
                assert!(message.contains("expected one of NA"), "{message}");
            }
            other => panic!(
                "expected a tenant error, got {:?}",
                other.map(|r| r.names())
            ),
        }
        let text = FILE
            .replace("cpuTimeMs = 500", "maxConcurrent = 9223372036854775807")
            .replace("env:REGISTRY_TEST_SECRET", "inline-secret-value");
        match TenantRegistry::from_toml(&text) {
            Err(Error::Tenant { field, .. }) => assert_eq!(field, "acme.limits.maxConcurrent"),
            other => panic!(
                "expected a tenant error, got {:?}",
                other.map(|r| r.names())
            ),
        }
        let text = FILE.replace("maxConcurrent = 4", "maxConcurrent = 0");
        match TenantRegistry::from_toml(&text) {
            Err(Error::Tenant { field, .. }) => assert_eq!(field, "defaults.maxConcurrent"),
            other => panic!(
                "expected a tenant error, got {:?}",
                other.map(|r| r.names())
            ),
        }
        let text = FILE.replace("env:REGISTRY_TEST_SECRET", "env:REGISTRY_TEST_MISSING");
        match TenantRegistry::from_toml(&text) {
            Err(Error::Tenant { field, message }) => {
                assert_eq!(field, "acme.clientSecret");
                assert!(message.contains("REGISTRY_TEST_MISSING"));
            }
            other => panic!(
                "expected a tenant error, got {:?}",
                other.map(|r| r.names())
            ),
        }
    }
}
