//! A connection: one tenant's settings for one connector, resolved once
//! against the connector's manifest into what every invocation needs: the
//! bases the guest may reach, the credential the host adds, the values the
//! guest reads, and the scrubber that keeps the secrets out of its sight.
//!
//! Resolution follows the manifest's declarations only (settings schema,
//! derived tables, outbound templates, guest templates, auth), so the host
//! has no knowledge of any one connector. Who supplied the settings
//! ([`Trust`]) decides whether secret references resolve and which URLs
//! they may name.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use connector_manifest::{Auth, ClientAuth, Manifest, Template};
use serde_json::{Map, Value};
use wasmtime_wasi_config::WasiConfigVariables;

use crate::error::Error;
use crate::policy::NetworkPolicy;
use crate::scrub::{Scrubber, MIN_SCRUBBED_LEN};
use crate::secret::{Secret, MAX_SECRET_BYTES};
use crate::settings::{has_dot_segment, BaseUrl};
use crate::tenant::Trust;
use crate::token::TokenCache;

/// An origin (scheme, host, port) and a path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlPrefix {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// Requests must stay under this path, e.g. `/v1/environments/{envId}/`.
    pub path: String,
}

impl UrlPrefix {
    fn new(base: &BaseUrl, path: String) -> UrlPrefix {
        UrlPrefix {
            scheme: base.scheme.clone(),
            host: base.host.clone(),
            port: base.port,
            path,
        }
    }

    /// Whether `uri` is under this prefix. Paths compare exactly unless
    /// `fold_case`: a reserved prefix must also catch `/AS/token` on a
    /// server whose routing ignores case.
    pub fn covers(&self, uri: &http::Uri, fold_case: bool) -> bool {
        let scheme = uri.scheme_str().unwrap_or("https");
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let has_userinfo = uri.authority().is_some_and(|a| a.as_str().contains('@'));
        let path_ok = if fold_case {
            uri.path()
                .to_ascii_lowercase()
                .starts_with(&self.path.to_ascii_lowercase())
        } else {
            uri.path().starts_with(&self.path)
        };
        scheme == self.scheme
            && !has_userinfo
            && uri
                .host()
                .is_some_and(|h| h.trim_end_matches('.').eq_ignore_ascii_case(&self.host))
            && port == self.port
            && path_ok
            // A dot segment, even percent-encoded, could climb out of the
            // prefix on the server side.
            && !has_dot_segment(uri.path())
    }

    fn shown(&self) -> String {
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default {
            format!("{}://{}{}", self.scheme, self.host, self.path)
        } else {
            format!("{}://{}:{}{}", self.scheme, self.host, self.port, self.path)
        }
    }
}

/// What the host adds to the guest's requests for this connection.
pub(crate) enum Credential {
    None,
    OAuth2(OAuth2),
    Header {
        name: http::HeaderName,
        value: http::HeaderValue,
    },
}

/// An OAuth 2 client-credentials grant, ready to send.
pub(crate) struct OAuth2 {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub method: ClientAuth,
    pub scope: Option<String>,
    /// `Basic base64(clientId:clientSecret)`, marked sensitive.
    pub basic: http::HeaderValue,
    /// Shared with the connection this one succeeded when the grant is the
    /// same (see [`Connection::adopt_tokens`]).
    pub tokens: Arc<TokenCache>,
}

impl OAuth2 {
    /// Whether `other` asks the same endpoint for a token with the same
    /// credential, so a token either one fetched serves both.
    fn same_grant(&self, other: &OAuth2) -> bool {
        self.token_url == other.token_url
            && self.client_id == other.client_id
            && self.client_secret.expose() == other.client_secret.expose()
            && self.method == other.method
            && self.scope == other.scope
    }
}

/// One tenant's resolved connection to one connector.
pub(crate) struct Connection {
    pub connector: String,
    pub trust: Trust,
    pub bases: Vec<UrlPrefix>,
    /// Prefixes the guest may never request (the token endpoint).
    pub reserved: Vec<UrlPrefix>,
    pub credential: Credential,
    /// Masks the connection's secrets wherever a server echoes them.
    pub scrubber: Scrubber,
    /// What the guest reads through `wasi:config/store`: never a secret.
    pub config: Arc<WasiConfigVariables>,
    /// The resolved values, for `{name}` lookups (the non-secret ones).
    pub values: BTreeMap<String, String>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("connector", &self.connector)
            .field("trust", &self.trust)
            .field(
                "bases",
                &self.bases.iter().map(UrlPrefix::shown).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn bad(field: &str, message: impl Into<String>) -> Error {
    Error::Tenant {
        field: field.into(),
        message: message.into(),
    }
}

/// A setting's value as text (the schema decides the JSON type).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl Connection {
    /// Resolves `settings` for the connector described by `manifest`, whose
    /// settings schema `validator` checks them first.
    pub fn resolve(
        manifest: &Manifest,
        validator: &jsonschema::Validator,
        settings: &Map<String, Value>,
        trust: Trust,
        policy: &NetworkPolicy,
    ) -> Result<Connection, Error> {
        let object = Value::Object(settings.clone());
        if let Some(error) = validator.iter_errors(&object).next() {
            let mut field = error
                .instance_path()
                .as_str()
                .trim_start_matches('/')
                .replace('/', ".");
            use jsonschema::error::ValidationErrorKind as Kind;
            match error.kind() {
                Kind::Required {
                    property: Value::String(name),
                } => field = name.clone(),
                Kind::AdditionalProperties { unexpected } if !unexpected.is_empty() => {
                    field = unexpected[0].clone()
                }
                _ => {}
            }
            if field.is_empty() {
                field = "settings".into();
            }
            // The masked message never shows the value: it may be a secret.
            return Err(bad(&field, error.masked().to_string()));
        }
        let mut values = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        for name in manifest.setting_names() {
            let given = settings.get(name).and_then(text_of);
            let Some(value) = given.or_else(|| manifest.default_of(name)) else {
                continue;
            };
            if manifest.is_secret(name) {
                let secret = match trust {
                    Trust::Operator => Secret::new(value).resolve_reference(name)?,
                    Trust::Tenant => Secret::new(value),
                };
                check_secret(name, secret.expose())?;
                secrets.insert(name.to_owned(), secret);
            } else {
                values.insert(name.to_owned(), value);
            }
        }
        for (name, derived) in &manifest.derived {
            let from = values.get(&derived.from).map(String::as_str).unwrap_or("");
            let value = if from.is_empty() {
                derived.default.clone()
            } else {
                derived
                    .map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(from))
                    .map(|(_, v)| v.clone())
            };
            let value = value.ok_or_else(|| {
                let known: Vec<&str> = derived.map.keys().map(String::as_str).collect();
                bad(
                    &derived.from,
                    format!("must be one of {}", known.join(", ")),
                )
            })?;
            values.insert(name.clone(), value);
        }
        let lookup = |values: &BTreeMap<String, String>, name: &str| -> Option<String> {
            values.get(name).cloned()
        };
        let render = |values: &BTreeMap<String, String>, at: &str, text: &str| {
            let template = Template::parse(text).map_err(|m| bad(at, m))?;
            template
                .render(|name| lookup(values, name).map(Cow::Owned))
                .map_err(|missing| bad(&missing, format!("is needed by {at} but not set")))
        };
        // Whether a template's origin comes from a free setting (not from
        // the manifest's own text, a derived table or a base already checked).
        let free_origin = |text: &str| {
            Template::parse(text).is_ok_and(|t| {
                t.origin_vars()
                    .iter()
                    .any(|v| manifest.setting_names().contains(v))
            })
        };
        let check_origin = |field: &str, base: &BaseUrl| -> Result<(), Error> {
            match trust {
                Trust::Operator => Ok(()),
                Trust::Tenant => policy
                    .check_tenant_origin(&base.scheme, &base.host, base.port)
                    .map_err(|m| bad(field, m)),
            }
        };
        let mut bases = Vec::new();
        for base in &manifest.outbound {
            let overridden = base.url_override.as_ref().and_then(|setting| {
                values
                    .get(setting)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (setting.clone(), v.clone()))
            });
            let used_override = overridden.is_some();
            // An error names the setting the URL came from, when it came from one.
            let from_setting = Template::parse(&base.url).ok().and_then(|t| {
                t.origin_vars()
                    .into_iter()
                    .find(|v| manifest.setting_names().contains(v))
                    .map(str::to_owned)
            });
            let (field, root) = match overridden {
                Some(pair) => pair,
                None => (
                    from_setting.unwrap_or_else(|| base.name.clone()),
                    render(&values, &base.name, &base.url)?,
                ),
            };
            let parsed = BaseUrl::parse(&field, &root)?;
            if used_override || free_origin(&base.url) {
                check_origin(&field, &parsed)?;
            }
            let allow = render(&values, &format!("{}.allow", base.name), &base.allow)?;
            let resolved = format!("{}{}", parsed.origin(), parsed.path);
            bases.push(UrlPrefix::new(&parsed, format!("{}{allow}", parsed.path)));
            values.insert(base.name.clone(), resolved);
        }
        let mut config = WasiConfigVariables::new();
        for (key, template) in &manifest.guest {
            config.insert(key, render(&values, &format!("guest.{key}"), template)?);
        }
        let mut scrubber = Scrubber::default();
        for secret in secrets.values() {
            scrubber.add_secret(secret.expose());
        }
        let mut reserved = Vec::new();
        let credential = match select(manifest, &manifest.auth, &values)? {
            Auth::None | Auth::Select { .. } => Credential::None,
            Auth::OAuth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                method,
                scope,
                reserved: reserved_templates,
            } => {
                let url = render(&values, "auth.tokenUrl", token_url)?;
                let parsed = BaseUrl::parse("tokenUrl", &url)?;
                if free_origin(token_url) {
                    check_origin("tokenUrl", &parsed)?;
                }
                for (i, template) in reserved_templates.iter().enumerate() {
                    let text = render(&values, &format!("auth.reserved[{i}]"), template)?;
                    let prefix = BaseUrl::parse("auth.reserved", &text)?;
                    let path = if text.ends_with('/') {
                        format!("{}/", prefix.path)
                    } else {
                        prefix.path.clone()
                    };
                    reserved.push(UrlPrefix::new(&prefix, path));
                }
                // The token endpoint itself is always reserved.
                reserved.push(UrlPrefix::new(&parsed, parsed.path.clone()));
                let client_id = values
                    .get(client_id)
                    .cloned()
                    .ok_or_else(|| bad(client_id, "is required"))?;
                let secret = secrets
                    .get(client_secret)
                    .cloned()
                    .ok_or_else(|| bad(client_secret, "is required"))?;
                let credentials = base64::engine::general_purpose::STANDARD
                    .encode(format!("{client_id}:{}", secret.expose()));
                let mut basic = http::HeaderValue::from_str(&format!("Basic {credentials}"))
                    .map_err(|_| bad(client_secret, "cannot be sent in an HTTP header"))?;
                basic.set_sensitive(true);
                scrubber.add_literal(credentials.as_bytes());
                scrubber.add_literal(format!("{client_id}:{}", secret.expose()).as_bytes());
                let scope = match scope {
                    Some(t) => Some(render(&values, "auth.scope", t)?).filter(|s| !s.is_empty()),
                    None => None,
                };
                Credential::OAuth2(OAuth2 {
                    token_url: url,
                    client_id,
                    client_secret: secret,
                    method: *method,
                    scope,
                    basic,
                    tokens: Arc::default(),
                })
            }
            Auth::Header { name, value } => {
                let name_text = render(&values, "auth.name", name)?;
                let mut with_secrets = values.clone();
                for (k, v) in &secrets {
                    with_secrets.insert(k.clone(), v.expose().to_owned());
                }
                // The header value is the one template that may read secrets;
                // it is inserted as written (no path encoding).
                let template = Template::parse(value).map_err(|m| bad("auth.value", m))?;
                let mut text = String::new();
                for part in template.parts() {
                    match part {
                        connector_manifest::Part::Text(t) => text.push_str(t),
                        connector_manifest::Part::Var(v) => {
                            text.push_str(with_secrets.get(v).ok_or_else(|| {
                                bad(v, "is needed by the authentication header but not set")
                            })?)
                        }
                    }
                }
                let header = http::HeaderName::from_bytes(name_text.as_bytes())
                    .map_err(|_| bad("auth.name", "is not a valid header name"))?;
                let mut header_value = http::HeaderValue::from_str(&text)
                    .map_err(|_| bad("auth.value", "cannot be sent in an HTTP header"))?;
                header_value.set_sensitive(true);
                scrubber.add_literal(text.as_bytes());
                Credential::Header {
                    name: header,
                    value: header_value,
                }
            }
        };
        Ok(Connection {
            connector: manifest.name.clone(),
            trust,
            bases,
            reserved,
            credential,
            scrubber,
            config: Arc::new(config),
            values,
        })
    }

    /// Why `uri` may not be requested by the guest, or `None` if it may.
    pub fn deny_reason(&self, uri: &http::Uri) -> Option<String> {
        if self.reserved.iter().any(|r| r.covers(uri, true)) {
            return Some("the authentication endpoint is reserved to the host".into());
        }
        if self.bases.iter().any(|b| b.covers(uri, false)) {
            None
        } else {
            let allowed: Vec<String> = self.bases.iter().map(UrlPrefix::shown).collect();
            Some(format!(
                "only {} {} allowed for this connection",
                allowed.join(" and "),
                if allowed.len() == 1 { "is" } else { "are" }
            ))
        }
    }

    /// The resolved root URL of base `name` (origin and path).
    pub fn base_url(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Takes over `previous`'s token cache when both use the same OAuth 2
    /// grant: settings rebuilt with an unchanged credential (a reload that
    /// changed something else) need no new token.
    pub fn adopt_tokens(&mut self, previous: &Connection) {
        if let (Credential::OAuth2(mine), Credential::OAuth2(theirs)) =
            (&mut self.credential, &previous.credential)
        {
            if mine.same_grant(theirs) {
                mine.tokens = theirs.tokens.clone();
            }
        }
    }

    /// How many access tokens this connection fetched.
    pub fn token_fetches(&self) -> u64 {
        match &self.credential {
            Credential::OAuth2(o) => o.tokens.fetches(),
            _ => 0,
        }
    }
}

/// The scheme `auth` stands for with these values (a `select` resolved).
fn select<'a>(
    manifest: &'a Manifest,
    auth: &'a Auth,
    values: &BTreeMap<String, String>,
) -> Result<&'a Auth, Error> {
    match auth {
        Auth::Select { setting, options } => {
            let chosen = values
                .get(setting)
                .cloned()
                .or_else(|| manifest.default_of(setting))
                .unwrap_or_default();
            options
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&chosen))
                .map(|(_, a)| a)
                .ok_or_else(|| {
                    let known: Vec<&str> = options.keys().map(String::as_str).collect();
                    bad(setting, format!("must be one of {}", known.join(", ")))
                })
        }
        other => Ok(other),
    }
}

/// Every secret must be maskable (see scrub.rs) and sendable.
fn check_secret(name: &str, secret: &str) -> Result<(), Error> {
    if secret.trim().is_empty() {
        return Err(bad(name, "must not be empty"));
    }
    if secret.chars().count() < MIN_SCRUBBED_LEN {
        return Err(bad(name, "must be at least 8 characters"));
    }
    if secret.len() > MAX_SECRET_BYTES || secret.chars().any(char::is_control) {
        return Err(bad(
            name,
            "must be at most 16 KiB of text without control characters",
        ));
    }
    Ok(())
}
