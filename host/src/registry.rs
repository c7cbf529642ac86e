//! The tenant registry: the tenants a flow engine serves, added, updated and
//! removed while invocations run. Each tenant keeps its own token cache,
//! allowlist, limits and counters; an update makes a new tenant, so
//! invocations already running finish with the settings they started with.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use serde::Deserialize;

use crate::error::Error;
use crate::limits::{Limits, LimitsConfig};
use crate::tenant::{Tenant, TenantSettings};

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
pub struct TenantEntry {
    /// The connection settings.
    #[serde(flatten)]
    pub settings: TenantSettings,
    /// Limits of this tenant, over the file's defaults.
    #[serde(default)]
    pub limits: LimitsConfig,
}

impl TenantRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a tenants file's text; every tenant is validated.
    pub fn from_toml(text: &str) -> Result<TenantRegistry, Error> {
        let file: TenantsFile = toml::from_str(text).map_err(|e| Error::Tenant {
            field: "tenants file".into(),
            // The display names the line and column of the bad value.
            message: e.to_string(),
        })?;
        let registry = TenantRegistry::new();
        let base = file.defaults.apply(Limits::default());
        for (name, entry) in file.tenants {
            let limits = entry.limits.apply(base);
            registry
                .insert(&name, entry.settings, limits)
                .map_err(|e| match e {
                    Error::Tenant { field, message } => Error::Tenant {
                        field: format!("{name}.{field}"),
                        message,
                    },
                    other => other,
                })?;
        }
        Ok(registry)
    }

    /// Adds or replaces the tenant `name`.
    pub fn insert(
        &self,
        name: &str,
        settings: TenantSettings,
        limits: Limits,
    ) -> Result<Tenant, Error> {
        let tenant = Tenant::with_limits(settings, limits)?;
        self.tenants
            .write()
            .unwrap()
            .insert(name.to_owned(), tenant.clone());
        Ok(tenant)
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
clientSecret = "inline-secret"
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
            .replace("env:REGISTRY_TEST_SECRET", "inline");
        match TenantRegistry::from_toml(&text) {
            Err(Error::Tenant { message, .. }) => assert!(
                message.contains("MARS") && message.contains("line"),
                "{message}"
            ),
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
