//! API keys: who may call the service. The configuration holds their
//! SHA-256 digests (or a reference the operator resolves at start), never
//! the keys; a presented key is hashed and compared with every digest in
//! constant time, so neither the comparison nor the order of the keys tells
//! anything about a stored one.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;

use crate::config::ConfigError;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// One key as `serve.toml` declares it:
///
/// ```toml
/// [[keys]]
/// name = "acme-flows"                  # shown in logs instead of the key
/// sha256 = "9f86d081884c7d65..."       # hex digest of the key (or key = "env:NAME")
/// tenants = ["acme"]                   # the tenants it may invoke for; ["*"] for all
///
/// [[keys]]
/// name = "ops"
/// key = "file:/run/secrets/ops-key"
/// admin = true                         # the admin API (and every tenant)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyConfig {
    /// A name for logs and metrics.
    pub name: String,
    /// The key's SHA-256, lower-case hex.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The key as an operator's reference (`env:NAME` or `file:PATH`).
    #[serde(default)]
    pub key: Option<String>,
    /// The tenants this key may invoke for (`*` for every tenant).
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Whether the key may use the admin API.
    #[serde(default)]
    pub admin: bool,
}

impl KeyConfig {
    /// Exactly one of `sha256` and `key`, a scope, a plain name.
    pub fn check(&self) -> Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err("name must be letters, digits, '-', '_' or '.'".into());
        }
        match (&self.sha256, &self.key) {
            (Some(hex), None) if parse_hex(hex).is_some() => {}
            (Some(_), None) => return Err("sha256 must be 64 hex digits".into()),
            (None, Some(r)) if r.starts_with("env:") || r.starts_with("file:") => {}
            (None, Some(_)) => {
                return Err(
                    "key must be a reference (env:NAME or file:PATH); store a digest with sha256"
                        .into(),
                )
            }
            _ => return Err("give exactly one of sha256 and key".into()),
        }
        if !self.admin && self.tenants.is_empty() {
            return Err("a key needs tenants or admin".into());
        }
        Ok(())
    }
}

fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

/// The SHA-256 of `key`, lower-case hex (what `sha256` in `serve.toml` holds).
pub fn digest_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The key's name.
    pub name: String,
    /// The admin API and every tenant.
    pub admin: bool,
    /// Every tenant.
    pub all_tenants: bool,
    /// These tenants.
    pub tenants: BTreeSet<String>,
}

impl Scope {
    /// Whether the key may invoke for `tenant`.
    pub fn allows(&self, tenant: &str) -> bool {
        self.admin || self.all_tenants || self.tenants.contains(tenant)
    }
}

/// The service's keys, as digests.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// Shared, so a verified request holds its scope without a copy.
    entries: Vec<([u8; 32], Arc<Scope>)>,
}

impl Keys {
    /// The keys of the configuration; references resolve here (bounded,
    /// as every operator secret: see the runtime's `Secret`).
    /// An error names the key as `keys[i]`.
    pub fn from_config(keys: &[KeyConfig]) -> Result<Keys, ConfigError> {
        let mut entries = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let digest = match (&key.sha256, &key.key) {
                (Some(hex), _) => parse_hex(hex).ok_or_else(|| ConfigError {
                    at: format!("keys[{i}]"),
                    message: "sha256 must be 64 hex digits".into(),
                })?,
                (None, Some(reference)) => {
                    let value = resolve(reference).map_err(|message| ConfigError {
                        at: format!("keys[{i}]"),
                        message,
                    })?;
                    Sha256::digest(value.as_bytes()).into()
                }
                (None, None) => {
                    return Err(ConfigError {
                        at: format!("keys[{i}]"),
                        message: "give exactly one of sha256 and key".into(),
                    })
                }
            };
            entries.push((
                digest,
                Arc::new(Scope {
                    name: key.name.clone(),
                    admin: key.admin,
                    all_tenants: key.tenants.iter().any(|t| t == "*"),
                    tenants: key.tenants.iter().filter(|t| *t != "*").cloned().collect(),
                }),
            ));
        }
        Ok(Keys { entries })
    }

    /// One key, given in clear (the `--dev` key, tests).
    pub fn single(name: &str, key: &str, scope_admin: bool, tenants: &[&str]) -> Keys {
        Keys {
            entries: vec![(
                Sha256::digest(key.as_bytes()).into(),
                Arc::new(Scope {
                    name: name.into(),
                    admin: scope_admin,
                    all_tenants: tenants.contains(&"*"),
                    tenants: tenants
                        .iter()
                        .filter(|t| **t != "*")
                        .map(|t| t.to_string())
                        .collect(),
                }),
            )],
        }
    }

    /// The scope of `presented`, comparing with every key in constant time.
    pub fn verify(&self, presented: &str) -> Option<Arc<Scope>> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for (stored, scope) in &self.entries {
            if bool::from(stored.ct_eq(&digest)) && found.is_none() {
                found = Some(scope.clone());
            }
        }
        found
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Resolves an operator's `env:` / `file:` reference (at most 16 KiB, one line).
fn resolve(reference: &str) -> Result<String, String> {
    if let Some(name) = reference.strip_prefix("env:") {
        return std::env::var(name).map_err(|_| format!("environment variable {name} is not set"));
    }
    let path = reference.strip_prefix("file:").ok_or("not a reference")?;
    let bytes =
        std::fs::read(path).map_err(|e| format!("{path}: cannot be read ({})", e.kind()))?;
    if bytes.len() > 16 * 1024 {
        return Err(format!("{path}: larger than 16 KiB"));
    }
    String::from_utf8(bytes)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
        .map_err(|_| format!("{path}: not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_verify_by_digest_and_scope_their_tenants() {
        std::env::set_var("KEYS_TEST_OPS", "ops-key-value");
        let keys = Keys::from_config(&[
            KeyConfig {
                name: "acme".into(),
                sha256: Some(digest_hex("acme-key")),
                key: None,
                tenants: vec!["acme".into()],
                admin: false,
            },
            KeyConfig {
                name: "ops".into(),
                sha256: None,
                key: Some("env:KEYS_TEST_OPS".into()),
                tenants: vec![],
                admin: true,
            },
        ])
        .unwrap();
        let acme = keys.verify("acme-key").unwrap();
        assert!(acme.allows("acme") && !acme.allows("globex") && !acme.admin);
        let ops = keys.verify("ops-key-value").unwrap();
        assert!(ops.admin && ops.allows("globex"));
        assert!(keys.verify("acme-key ").is_none());
        assert!(keys.verify("").is_none());
        let bad = KeyConfig {
            name: "x".into(),
            sha256: None,
            key: Some("plain-key-in-the-file".into()),
            tenants: vec!["*".into()],
            admin: false,
        };
        assert!(bad.check().is_err(), "keys are never stored in clear");
    }
}
