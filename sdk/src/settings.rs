//! The values a connector reads from `wasi:config/store`: exactly the
//! `guest` entries of its manifest, resolved by the host from the tenant's
//! connection. Secrets are never among them: the host authenticates every
//! outgoing request itself.

use std::collections::BTreeMap;

use crate::error::ConnectorError;

/// What the guest knows about its tenant's connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    values: BTreeMap<String, String>,
}

impl Settings {
    /// Settings from key/value pairs (what `wasi:config/store.get-all` returns).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Settings {
        Settings {
            values: pairs.into_iter().collect(),
        }
    }

    /// The value of `key`; empty when the host gave none.
    pub fn get(&self, key: &str) -> &str {
        self.values.get(key).map_or("", String::as_str)
    }

    /// The value of `key`, which must be set and not blank.
    pub fn require(&self, key: &str) -> Result<&str, ConnectorError> {
        match self.values.get(key) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ConnectorError::Internal(format!(
                "connector setting '{key}' is not configured"
            ))),
        }
    }

    /// Sets `key` (tests and native runs).
    pub fn with(mut self, key: &str, value: &str) -> Settings {
        self.values.insert(key.to_owned(), value.to_owned());
        self
    }
}
