//! The connector manifest: everything the host needs to run a connector for
//! a tenant, declared by the connector as data.
//!
//! A connector component returns its manifest as JSON from the shared WIT
//! function `identity:connector/describe.manifest`. The guest SDK builds it
//! from these types; the host parses it with them, checks it once at load
//! ([`Manifest::check`]) and then knows the connector only through it:
//!
//! - `settings`: a JSON Schema of a tenant's connection settings (what
//!   DaVinci calls a connection); properties marked `"secret": true` are
//!   held by the host and never reach the guest, `"env": "NAME"` names the
//!   environment variable a command line may read the setting from;
//! - `derived`: values computed from a setting through a table (a region
//!   code to a top-level domain);
//! - `outbound`: the bases the guest may reach, as URL templates over the
//!   settings, with an optional override setting and the path prefix under
//!   which requests are allowed;
//! - `guest`: the values the guest reads through `wasi:config`, as
//!   templates (never over a secret setting);
//! - `auth`: what the host adds to the guest's requests (OAuth 2 client
//!   credentials, a header built from a secret, nothing, or a choice of
//!   these made by a setting);
//! - `capabilities`: one entry per WIT function of `interface`.
//!
//! Templates are text with `{name}` placeholders; a name is a setting, a
//! derived value or an outbound base (its resolved URL).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod template;

pub use template::{Part, Template};

/// A connector's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// The connector's name, e.g. `pingone-mfa`: lower-case letters, digits, `-`.
    pub name: String,
    /// The connector's version.
    pub version: String,
    /// What users call it, e.g. `PingOne MFA`.
    #[serde(default)]
    pub title: String,
    /// The WIT interface that exports the capabilities, e.g.
    /// `identity:pingone-mfa/capabilities@0.2.0`.
    pub interface: String,
    /// The connection settings, as a JSON Schema of an object.
    pub settings: Value,
    /// Values derived from settings through tables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub derived: BTreeMap<String, Derived>,
    /// The bases the guest may reach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound: Vec<Outbound>,
    /// What the guest reads from `wasi:config`: key to template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub guest: BTreeMap<String, String>,
    /// The authentication the host performs on the guest's behalf.
    #[serde(default)]
    pub auth: Auth,
    /// The capabilities, in the order the connector lists them.
    pub capabilities: Vec<CapabilityDescriptor>,
}

/// A value computed from a setting through a table, e.g. `tld` from
/// `region`: `{"from": "region", "map": {"NA": "com", "EU": "eu"}}`.
/// Keys compare without regard to ASCII case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Derived {
    /// The setting it is derived from.
    pub from: String,
    /// Setting value to derived value.
    pub map: BTreeMap<String, String>,
    /// The value when the setting is absent or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A base URL the guest may reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Outbound {
    /// The base's name; templates refer to its resolved URL as `{name}`.
    pub name: String,
    /// The URL template, e.g. `https://api.pingone.{tld}/v1`.
    pub url: String,
    /// A setting that, when set, replaces `url` (e.g. `apiUrl`, to point at
    /// a proxy or an emulator); the host's network policy decides whether
    /// the value may be used.
    #[serde(default, rename = "override", skip_serializing_if = "Option::is_none")]
    pub url_override: Option<String>,
    /// The path under the base the guest may request, e.g.
    /// `/environments/{environmentId}/`; `/` allows the whole base.
    #[serde(default = "root")]
    pub allow: String,
}

fn root() -> String {
    "/".into()
}

/// How the host authenticates the guest's requests. The guest never sees
/// the credential, whatever the scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum Auth {
    /// Requests go out as the guest made them.
    #[default]
    None,
    /// OAuth 2 client credentials (RFC 6749 section 4.4): the host fetches
    /// a token from `tokenUrl`, caches it per connection (one request at a
    /// time, refreshed before it expires and after a 401) and adds
    /// `Authorization: Bearer <token>`.
    #[serde(rename = "oauth2ClientCredentials", rename_all = "camelCase")]
    OAuth2ClientCredentials {
        /// The token endpoint, a template.
        token_url: String,
        /// The setting that holds the client ID.
        client_id: String,
        /// The (secret) setting that holds the client secret.
        client_secret: String,
        /// How the client authenticates at the token endpoint.
        #[serde(default)]
        method: ClientAuth,
        /// The `scope` to ask for, a template; none when absent or empty.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// Path prefixes (templates) the guest may never request, even under
        /// an allowed base: the token endpoint and its siblings.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reserved: Vec<String>,
    },
    /// A header whose value comes from a secret setting, e.g.
    /// `{"name": "Authorization", "value": "Bearer {token}"}` or
    /// `{"name": "{apiKeyHeader}", "value": "{apiKey}"}`.
    #[serde(rename_all = "camelCase")]
    Header {
        /// The header name, a template over non-secret settings.
        name: String,
        /// The header value, a template that uses at least one secret setting.
        value: String,
    },
    /// One of several schemes, chosen by a setting's value.
    #[serde(rename_all = "camelCase")]
    Select {
        /// The (non-secret) setting whose value picks the option.
        setting: String,
        /// The schemes by setting value; the setting's default applies when
        /// it is absent.
        options: BTreeMap<String, Auth>,
    },
}

/// Client authentication at an OAuth 2 token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the client ID and secret.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// One capability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapabilityDescriptor {
    /// The DaVinci id, e.g. `readDevice`.
    pub id: String,
    /// The WIT function of the manifest's `interface`, e.g. `read-device`.
    pub wit_function: String,
    /// The title DaVinci shows.
    pub title: String,
    /// What it does.
    pub description: String,
    /// The input's JSON Schema.
    pub input_schema: Value,
    /// The output's JSON Schema.
    pub output_schema: Value,
}

/// What is wrong with a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ManifestError {
    /// Where, e.g. `outbound[0].url` or `auth.clientSecret`.
    pub at: String,
    /// What.
    pub message: String,
}

fn bad(at: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError {
        at: at.into(),
        message: message.into(),
    }
}

impl Manifest {
    /// Parses a manifest's JSON text.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        serde_json::from_str(text).map_err(|e| bad("manifest", e.to_string()))
    }

    /// The settings schema's property names, in schema order.
    pub fn setting_names(&self) -> Vec<&str> {
        self.settings["properties"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether setting `name` is marked `"secret": true`.
    pub fn is_secret(&self, name: &str) -> bool {
        self.settings["properties"][name]["secret"] == Value::Bool(true)
    }

    /// The environment variable a command line may read setting `name` from.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.settings["properties"][name]["env"].as_str()
    }

    /// A setting's declared default, as text.
    pub fn default_of(&self, name: &str) -> Option<String> {
        match &self.settings["properties"][name]["default"] {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// Checks everything the host relies on, once, at load: names are
    /// unique, every template parses and names only known values, the guest
    /// reads no secret, credentials come from secret settings, and the
    /// capability list is consistent.
    pub fn check(&self) -> Result<(), ManifestError> {
        let valid_name = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_name {
            return Err(bad("name", "must be lower-case letters, digits and '-'"));
        }
        if self.interface.trim().is_empty() {
            return Err(bad("interface", "must name the capabilities interface"));
        }
        if !self.settings["properties"].is_object() {
            return Err(bad("settings", "must be a JSON Schema with properties"));
        }
        let settings: BTreeSet<&str> = self.setting_names().into_iter().collect();
        let mut known: BTreeSet<String> = settings.iter().map(|s| s.to_string()).collect();
        for (name, derived) in &self.derived {
            let at = format!("derived.{name}");
            if !settings.contains(derived.from.as_str()) {
                return Err(bad(
                    at,
                    format!("derives from unknown setting '{}'", derived.from),
                ));
            }
            if self.is_secret(&derived.from) {
                return Err(bad(at, "may not derive from a secret setting"));
            }
            if !known.insert(name.clone()) {
                return Err(bad(at, "the name is already a setting"));
            }
        }
        for (i, base) in self.outbound.iter().enumerate() {
            let at = format!("outbound[{i}]");
            self.check_template(&format!("{at}.url"), &base.url, &known, false)?;
            self.check_template(&format!("{at}.allow"), &base.allow, &known, false)?;
            if !base.allow.starts_with('/') || !base.allow.ends_with('/') {
                return Err(bad(format!("{at}.allow"), "must start and end with '/'"));
            }
            if let Some(setting) = &base.url_override {
                if !settings.contains(setting.as_str()) || self.is_secret(setting) {
                    return Err(bad(
                        format!("{at}.override"),
                        format!("'{setting}' is not a non-secret setting"),
                    ));
                }
            }
            if !known.insert(base.name.clone()) {
                return Err(bad(format!("{at}.name"), "the name is already taken"));
            }
        }
        for (key, template) in &self.guest {
            self.check_template(&format!("guest.{key}"), template, &known, false)?;
        }
        self.check_auth("auth", &self.auth, &known)?;
        let mut ids = BTreeSet::new();
        let mut functions = BTreeSet::new();
        for (i, cap) in self.capabilities.iter().enumerate() {
            if !ids.insert(cap.id.as_str()) || !functions.insert(cap.wit_function.as_str()) {
                return Err(bad(
                    format!("capabilities[{i}]"),
                    format!("'{}' / '{}' is listed twice", cap.id, cap.wit_function),
                ));
            }
        }
        if self.capabilities.is_empty() {
            return Err(bad("capabilities", "the manifest lists no capabilities"));
        }
        Ok(())
    }

    /// A template must parse and name only `known` values; unless
    /// `secrets_allowed`, none of them may be a secret setting.
    fn check_template(
        &self,
        at: &str,
        text: &str,
        known: &BTreeSet<String>,
        secrets_allowed: bool,
    ) -> Result<Template, ManifestError> {
        let template = Template::parse(text).map_err(|m| bad(at, m))?;
        for var in template.vars() {
            if !known.contains(var) {
                return Err(bad(at, format!("names unknown value '{{{var}}}'")));
            }
            if !secrets_allowed && self.is_secret(var) {
                return Err(bad(at, format!("may not use the secret setting '{var}'")));
            }
        }
        Ok(template)
    }

    fn check_auth(
        &self,
        at: &str,
        auth: &Auth,
        known: &BTreeSet<String>,
    ) -> Result<(), ManifestError> {
        match auth {
            Auth::None => Ok(()),
            Auth::OAuth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
                reserved,
                ..
            } => {
                self.check_template(&format!("{at}.tokenUrl"), token_url, known, false)?;
                if !known.contains(client_id) || self.is_secret(client_id) {
                    return Err(bad(
                        format!("{at}.clientId"),
                        "must be a non-secret setting",
                    ));
                }
                if !known.contains(client_secret) || !self.is_secret(client_secret) {
                    return Err(bad(
                        format!("{at}.clientSecret"),
                        "must be a secret setting",
                    ));
                }
                if let Some(scope) = scope {
                    self.check_template(&format!("{at}.scope"), scope, known, false)?;
                }
                for (i, r) in reserved.iter().enumerate() {
                    self.check_template(&format!("{at}.reserved[{i}]"), r, known, false)?;
                }
                Ok(())
            }
            Auth::Header { name, value } => {
                self.check_template(&format!("{at}.name"), name, known, false)?;
                let value = self.check_template(&format!("{at}.value"), value, known, true)?;
                if !value.vars().any(|v| self.is_secret(v)) {
                    return Err(bad(format!("{at}.value"), "must use a secret setting"));
                }
                Ok(())
            }
            Auth::Select { setting, options } => {
                if !known.contains(setting) || self.is_secret(setting) {
                    return Err(bad(format!("{at}.setting"), "must be a non-secret setting"));
                }
                for (key, option) in options {
                    if matches!(option, Auth::Select { .. }) {
                        return Err(bad(format!("{at}.options.{key}"), "may not nest a choice"));
                    }
                    self.check_auth(&format!("{at}.options.{key}"), option, known)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest() -> Manifest {
        serde_json::from_value(json!({
            "name": "example",
            "version": "1",
            "interface": "example:x/capabilities@1.0.0",
            "settings": { "type": "object", "properties": {
                "region": { "type": "string" },
                "tenantId": { "type": "string" },
                "clientId": { "type": "string" },
                "clientSecret": { "type": "string", "secret": true, "env": "EXAMPLE_SECRET" },
                "apiUrl": { "type": "string" }
            }},
            "derived": { "tld": { "from": "region", "map": { "NA": "com" }, "default": "com" } },
            "outbound": [{ "name": "api", "url": "https://api.example.{tld}", "override": "apiUrl", "allow": "/t/{tenantId}/" }],
            "guest": { "apiUrl": "{api}", "tenantId": "{tenantId}" },
            "auth": { "type": "oauth2ClientCredentials", "tokenUrl": "{api}/token",
                      "clientId": "clientId", "clientSecret": "clientSecret", "reserved": ["{api}/token"] },
            "capabilities": [{ "id": "a", "witFunction": "a", "title": "A", "description": "",
                               "inputSchema": {}, "outputSchema": {} }]
        }))
        .unwrap()
    }

    #[test]
    fn a_consistent_manifest_passes_and_round_trips() {
        let m = manifest();
        m.check().unwrap();
        assert!(m.is_secret("clientSecret") && !m.is_secret("clientId"));
        assert_eq!(m.env_var("clientSecret"), Some("EXAMPLE_SECRET"));
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(Manifest::from_json(&text).unwrap(), m);
    }

    #[test]
    fn inconsistencies_are_named() {
        type Breakage = Box<dyn Fn(&mut Manifest)>;
        let cases: Vec<(Breakage, &str)> = vec![
            (
                Box::new(|m| {
                    m.guest.insert("leak".into(), "{clientSecret}".into());
                }),
                "guest.leak",
            ),
            (
                Box::new(|m| m.outbound[0].url = "https://{nowhere}".into()),
                "outbound[0].url",
            ),
            (
                Box::new(|m| m.outbound[0].allow = "t/".into()),
                "outbound[0].allow",
            ),
            (Box::new(|m| m.name = "Not Valid".into()), "name"),
            (
                Box::new(|m| m.capabilities.push(m.capabilities[0].clone())),
                "capabilities[1]",
            ),
            (
                Box::new(|m| {
                    if let Auth::OAuth2ClientCredentials { client_secret, .. } = &mut m.auth {
                        *client_secret = "clientId".into();
                    }
                }),
                "auth.clientSecret",
            ),
            (
                Box::new(|m| {
                    m.auth = Auth::Header {
                        name: "X-Key".into(),
                        value: "{tenantId}".into(),
                    }
                }),
                "auth.value",
            ),
        ];
        for (break_it, at) in cases {
            let mut m = manifest();
            break_it(&mut m);
            assert_eq!(m.check().unwrap_err().at, at);
        }
    }
}
