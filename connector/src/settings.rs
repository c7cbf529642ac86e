//! The tenant settings the component reads from `wasi:config/store`.
//!
//! The host resolves the region into base URLs (or applies overrides) and
//! hands over only what the guest needs to build URLs. The client ID and
//! secret stay in the host: the guest never authenticates by itself.

use crate::error::ConnectorError;

/// `wasi:config` key of the PingOne environment ID.
pub const KEY_ENVIRONMENT_ID: &str = "environmentId";
/// `wasi:config` key of the device authentication policy ID.
pub const KEY_POLICY_ID: &str = "policyId";
/// `wasi:config` key of the management API base URL, e.g. `https://api.pingone.eu/v1`.
pub const KEY_API_URL: &str = "apiUrl";
/// `wasi:config` key of the auth base URL, e.g. `https://auth.pingone.eu`.
pub const KEY_AUTH_URL: &str = "authUrl";

/// What the guest knows about its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// PingOne environment ID.
    pub environment_id: String,
    /// Device authentication policy ID from the connection settings; may be empty.
    pub policy_id: String,
    /// Management API base URL, without trailing slash.
    pub api_url: String,
    /// Auth base URL, without trailing slash.
    pub auth_url: String,
}

impl Settings {
    /// Reads the settings through `get`, which looks a key up in the config store.
    pub fn load(
        get: impl Fn(&str) -> Result<Option<String>, String>,
    ) -> Result<Settings, ConnectorError> {
        let required = |key: &str| -> Result<String, ConnectorError> {
            match get(key) {
                Ok(Some(v)) if !v.trim().is_empty() => Ok(v),
                Ok(_) => Err(ConnectorError::Internal(format!(
                    "connector setting '{key}' is not configured"
                ))),
                Err(e) => Err(ConnectorError::Internal(format!(
                    "connector setting '{key}' could not be read: {e}"
                ))),
            }
        };
        Ok(Settings {
            environment_id: required(KEY_ENVIRONMENT_ID)?,
            policy_id: get(KEY_POLICY_ID).ok().flatten().unwrap_or_default(),
            api_url: required(KEY_API_URL)?,
            auth_url: required(KEY_AUTH_URL)?,
        })
    }
}
