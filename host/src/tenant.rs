//! Tenants: one PingOne environment's connection settings, the secret that
//! never leaves the host, and the state kept per tenant (token cache,
//! allowlist, the settings handed to the guest).

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use serde::Deserialize;
use wasmtime_wasi_config::WasiConfigVariables;

use crate::error::{Error, Limit};
use crate::limits::Limits;
use crate::token::TokenCache;

/// A secret string: shown as `***` by `Debug` and `Display`, so it cannot
/// slip into logs or errors by accident.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Resolves a reference: `env:NAME` reads the variable NAME, `file:PATH`
    /// reads the file (trailing newline dropped); anything else is the
    /// secret itself.
    pub fn resolve(&self) -> Result<Secret, Error> {
        let bad = |message: String| Error::Tenant {
            field: "clientSecret".into(),
            message,
        };
        if let Some(name) = self.0.strip_prefix("env:") {
            std::env::var(name)
                .map(Secret)
                .map_err(|_| bad(format!("environment variable {name} is not set")))
        } else if let Some(path) = self.0.strip_prefix("file:") {
            std::fs::read_to_string(path)
                .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_owned()))
                .map_err(|e| bad(format!("cannot read {path}: {}", e.kind())))
        } else {
            Ok(self.clone())
        }
    }

    /// The secret itself; call sites are the only places that may see it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// PingOne regions and their top-level domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(try_from = "String")]
pub enum Region {
    /// North America (excluding Canada): `.com`.
    #[default]
    Na,
    /// Canada: `.ca`.
    Ca,
    /// Europe: `.eu`.
    Eu,
    /// Australia: `.com.au`.
    Au,
    /// Singapore: `.sg`.
    Sg,
    /// Asia-Pacific: `.asia`.
    Ap,
}

impl TryFrom<String> for Region {
    type Error = String;
    fn try_from(code: String) -> Result<Region, String> {
        Region::parse(&code).map_err(|e| e.to_string())
    }
}

impl Region {
    /// Parses a region code (`NA`, `CA`, `EU`, `AU`, `SG`, `AP`), any case.
    pub fn parse(code: &str) -> Result<Region, Error> {
        Ok(match code.trim().to_ascii_uppercase().as_str() {
            "NA" | "" => Region::Na,
            "CA" => Region::Ca,
            "EU" => Region::Eu,
            "AU" => Region::Au,
            "SG" => Region::Sg,
            "AP" => Region::Ap,
            other => {
                return Err(Error::Tenant {
                    field: "region".into(),
                    message: format!("'{other}' is not one of NA, CA, EU, AU, SG, AP"),
                })
            }
        })
    }

    /// The region's top-level domain.
    pub fn tld(self) -> &'static str {
        match self {
            Region::Na => "com",
            Region::Ca => "ca",
            Region::Eu => "eu",
            Region::Au => "com.au",
            Region::Sg => "sg",
            Region::Ap => "asia",
        }
    }

    /// `https://api.pingone.{tld}/v1`.
    pub fn api_url(self) -> String {
        format!("https://api.pingone.{}/v1", self.tld())
    }

    /// `https://auth.pingone.{tld}`.
    pub fn auth_url(self) -> String {
        format!("https://auth.pingone.{}", self.tld())
    }
}

/// A tenant's connection settings, as DaVinci holds them.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSettings {
    /// PingOne environment ID.
    pub environment_id: String,
    /// Device authentication policy ID (optional).
    #[serde(default)]
    pub policy_id: String,
    /// Worker application client ID.
    pub client_id: String,
    /// Worker application client secret.
    pub client_secret: Secret,
    /// Region code.
    #[serde(default)]
    pub region: Region,
    /// Override of the management API base URL (the emulator, a proxy).
    #[serde(default)]
    pub api_url: Option<String>,
    /// Override of the auth base URL.
    #[serde(default)]
    pub auth_url: Option<String>,
}

impl TenantSettings {
    /// Reads settings from the environment, with the PingOne Terraform
    /// provider's variable names: `PINGONE_ENVIRONMENT_ID`,
    /// `PINGONE_CLIENT_ID`, `PINGONE_CLIENT_SECRET`, `PINGONE_REGION_CODE`
    /// (default NA), `PINGONE_POLICY_ID`, and the overrides
    /// `PINGONE_API_URL` / `PINGONE_AUTH_URL`.
    pub fn from_env() -> Result<TenantSettings, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let required = |name: &str| {
            var(name).ok_or_else(|| Error::Tenant {
                field: name.into(),
                message: "is not set".into(),
            })
        };
        Ok(TenantSettings {
            environment_id: required("PINGONE_ENVIRONMENT_ID")?,
            policy_id: var("PINGONE_POLICY_ID").unwrap_or_default(),
            client_id: required("PINGONE_CLIENT_ID")?,
            client_secret: Secret::new(required("PINGONE_CLIENT_SECRET")?),
            region: Region::parse(&var("PINGONE_REGION_CODE").unwrap_or_default())?,
            api_url: var("PINGONE_API_URL"),
            auth_url: var("PINGONE_AUTH_URL"),
        })
    }
}

/// An origin (scheme, host, port) and the path prefix a base URL allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AllowedBase {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// Requests must stay under this path, e.g. `/v1/environments/{envId}/`.
    pub path_prefix: String,
}

impl AllowedBase {
    fn parse(field: &str, base: &str, path_prefix: String) -> Result<AllowedBase, Error> {
        let bad = |message: String| Error::Tenant {
            field: field.into(),
            message,
        };
        let uri: http::Uri = base
            .parse()
            .map_err(|e| bad(format!("'{base}' is not a URL: {e}")))?;
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| bad(format!("'{base}' has no scheme")))?;
        if scheme != "https" && scheme != "http" {
            return Err(bad(format!("'{base}' must be http or https")));
        }
        let host = uri
            .host()
            .ok_or_else(|| bad(format!("'{base}' has no host")))?;
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        Ok(AllowedBase {
            scheme: scheme.to_owned(),
            host: host.to_ascii_lowercase(),
            port,
            path_prefix,
        })
    }

    /// Whether `uri` is under this base.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("https");
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        scheme == self.scheme
            && uri.host().is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && port == self.port
            && uri.path().starts_with(&self.path_prefix)
            // A dot segment could climb out of the prefix on the server side.
            && !uri.path().split('/').any(|s| s == ".." || s == ".")
    }
}

/// A tenant the runtime can invoke capabilities for. Cheap to clone.
#[derive(Clone)]
pub struct Tenant {
    pub(crate) inner: Arc<TenantInner>,
}

pub(crate) struct TenantInner {
    pub settings: TenantSettings,
    pub limits: Limits,
    pub gate: tokio::sync::Semaphore,
    pub waiting: AtomicUsize,
    pub stats: Counters,
    pub api_url: String,
    pub auth_url: String,
    pub api: AllowedBase,
    pub auth: AllowedBase,
    /// `{auth}/{envId}/as/token`: the host's, never the guest's.
    pub token_url: String,
    pub token_path_prefix: String,
    pub tokens: TokenCache,
    /// What the guest reads through `wasi:config/store`: no secret, no client ID.
    pub config: Arc<WasiConfigVariables>,
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant")
            .field("environment_id", &self.inner.settings.environment_id)
            .field("api_url", &self.inner.api_url)
            .finish_non_exhaustive()
    }
}

fn uuid_shaped(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n)
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A tenant's counters since it was added.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub invocations: AtomicU64,
    pub failures: AtomicU64,
    pub guest_faults: AtomicU64,
    pub rejected: AtomicU64,
}

/// A snapshot of a tenant's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantStats {
    /// Invocations that ran (succeeded or failed).
    pub invocations: u64,
    /// Invocations that ended in an error.
    pub failures: u64,
    /// Failures where the guest broke (trap, limit, bad output).
    pub guest_faults: u64,
    /// Invocations refused because the tenant's queue was full.
    pub rejected: u64,
    /// Invocations running now.
    pub in_flight: usize,
    /// Access tokens fetched.
    pub token_fetches: u64,
}

/// Holds one of the tenant's concurrency slots.
pub(crate) struct Slot<'a> {
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Tenant {
    /// Validates `settings` and prepares the tenant's state, with default limits.
    pub fn new(settings: TenantSettings) -> Result<Tenant, Error> {
        Self::with_limits(settings, Limits::default())
    }

    /// [`Tenant::new`] with limits of its own.
    pub fn with_limits(settings: TenantSettings, limits: Limits) -> Result<Tenant, Error> {
        let mut settings = settings;
        settings.client_secret = settings.client_secret.resolve()?;
        if limits.max_concurrent == 0 {
            return Err(Error::Tenant {
                field: "limits.maxConcurrent".into(),
                message: "must be at least 1".into(),
            });
        }
        for (field, value) in [
            ("environmentId", &settings.environment_id),
            ("clientId", &settings.client_id),
        ] {
            if !uuid_shaped(value) {
                return Err(Error::Tenant {
                    field: field.into(),
                    message: "must be a UUID".into(),
                });
            }
        }
        if !settings.policy_id.is_empty() && !uuid_shaped(&settings.policy_id) {
            return Err(Error::Tenant {
                field: "policyId".into(),
                message: "must be a UUID".into(),
            });
        }
        if settings.client_secret.expose().trim().is_empty() {
            return Err(Error::Tenant {
                field: "clientSecret".into(),
                message: "must not be empty".into(),
            });
        }
        let api_url = settings
            .api_url
            .clone()
            .unwrap_or_else(|| settings.region.api_url())
            .trim_end_matches('/')
            .to_owned();
        let auth_url = settings
            .auth_url
            .clone()
            .unwrap_or_else(|| settings.region.auth_url())
            .trim_end_matches('/')
            .to_owned();
        let env = &settings.environment_id;
        let api_path = http::Uri::try_from(api_url.as_str())
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let auth_path = http::Uri::try_from(auth_url.as_str())
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let api = AllowedBase::parse(
            "apiUrl",
            &api_url,
            format!("{api_path}/environments/{env}/"),
        )?;
        let auth = AllowedBase::parse("authUrl", &auth_url, format!("{auth_path}/{env}/"))?;
        let mut config = WasiConfigVariables::new();
        config
            .insert("environmentId", env.as_str())
            .insert("policyId", settings.policy_id.as_str())
            .insert("apiUrl", api_url.as_str())
            .insert("authUrl", auth_url.as_str());
        Ok(Tenant {
            inner: Arc::new(TenantInner {
                token_url: format!("{auth_url}/{env}/as/token"),
                token_path_prefix: format!("{auth_path}/{env}/as/"),
                api_url,
                auth_url,
                api,
                auth,
                tokens: TokenCache::default(),
                config: Arc::new(config),
                settings,
                gate: tokio::sync::Semaphore::new(limits.max_concurrent),
                waiting: AtomicUsize::new(0),
                stats: Counters::default(),
                limits,
            }),
        })
    }

    /// The PingOne environment ID.
    pub fn environment_id(&self) -> &str {
        &self.inner.settings.environment_id
    }

    /// The management API base URL in use.
    pub fn api_url(&self) -> &str {
        &self.inner.api_url
    }

    /// The auth base URL in use.
    pub fn auth_url(&self) -> &str {
        &self.inner.auth_url
    }

    /// How many access tokens this tenant has fetched.
    pub fn token_fetches(&self) -> u64 {
        self.inner.tokens.fetches()
    }

    /// The tenant's limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The tenant's counters.
    pub fn stats(&self) -> TenantStats {
        let c = &self.inner.stats;
        TenantStats {
            invocations: c.invocations.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            guest_faults: c.guest_faults.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            in_flight: self.inner.limits.max_concurrent - self.inner.gate.available_permits(),
            token_fetches: self.inner.tokens.fetches(),
        }
    }

    /// Waits for one of the tenant's concurrency slots; refuses at once when
    /// `max_queued` invocations already wait, so a flood from one tenant
    /// queues only against itself and never grows without bound.
    pub(crate) async fn acquire(&self, capability: &str) -> Result<Slot<'_>, Error> {
        let inner = &self.inner;
        if let Ok(permit) = inner.gate.try_acquire() {
            return Ok(Slot { _permit: permit });
        }
        if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.limits.max_queued {
            inner.waiting.fetch_sub(1, Ordering::AcqRel);
            inner.stats.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(Error::Limit {
                capability: capability.to_owned(),
                limit: Limit::Concurrency,
                message: format!(
                    "{} invocations of this tenant are running and {} are queued",
                    inner.limits.max_concurrent, inner.limits.max_queued
                ),
            });
        }
        let permit = inner.gate.acquire().await;
        inner.waiting.fetch_sub(1, Ordering::AcqRel);
        let permit = permit.expect("the tenant's semaphore is never closed");
        Ok(Slot { _permit: permit })
    }

    /// Records how an invocation ended.
    pub(crate) fn record(&self, result: &Result<serde_json::Value, Error>) {
        let c = &self.inner.stats;
        c.invocations.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = result {
            c.failures.fetch_add(1, Ordering::Relaxed);
            if e.is_guest_fault() {
                c.guest_faults.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Why `uri` may not be requested by the guest, or `None` if it may.
    pub(crate) fn deny_reason(&self, uri: &http::Uri) -> Option<String> {
        let t = &self.inner;
        if uri.path().starts_with(&t.token_path_prefix) && t.auth.allows(uri) {
            return Some("the token endpoint is reserved to the host".into());
        }
        if t.api.allows(uri) || t.auth.allows(uri) {
            None
        } else {
            Some(format!(
                "only {}/environments/{env}/ and {}/{env}/ are allowed for this tenant",
                t.api_url,
                t.auth_url,
                env = t.settings.environment_id
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TenantSettings {
        TenantSettings {
            environment_id: "11111111-2222-3333-4444-555555555555".into(),
            policy_id: String::new(),
            client_id: "aaaaaaaa-2222-3333-4444-555555555555".into(),
            client_secret: Secret::new("s3cret"),
            region: Region::Eu,
            api_url: None,
            auth_url: None,
        }
    }

    #[test]
    fn regions_map_to_their_domains() {
        let t = Tenant::new(settings()).unwrap();
        assert_eq!(t.api_url(), "https://api.pingone.eu/v1");
        assert_eq!(t.auth_url(), "https://auth.pingone.eu");
        assert_eq!(
            Region::parse("ap").unwrap().auth_url(),
            "https://auth.pingone.asia"
        );
        assert_eq!(
            Region::parse("AU").unwrap().api_url(),
            "https://api.pingone.com.au/v1"
        );
        assert!(Region::parse("XX").is_err());
    }

    #[test]
    fn allowlist_pins_host_and_environment() {
        let t = Tenant::new(settings()).unwrap();
        let env = "11111111-2222-3333-4444-555555555555";
        let ok = |u: &str| t.deny_reason(&u.parse().unwrap()).is_none();
        assert!(ok(&format!(
            "https://api.pingone.eu/v1/environments/{env}/users/u/devices"
        )));
        assert!(ok(&format!(
            "https://auth.pingone.eu/{env}/deviceAuthentications"
        )));
        assert!(!ok(&format!(
            "https://api.pingone.com/v1/environments/{env}/users"
        )));
        assert!(!ok("https://api.pingone.eu/v1/environments/other/users"));
        assert!(!ok(&format!("https://auth.pingone.eu/{env}/as/token")));
        assert!(!ok(&format!(
            "https://api.pingone.eu/v1/environments/{env}/../other"
        )));
        assert!(!ok(&format!(
            "http://api.pingone.eu/v1/environments/{env}/users"
        )));
        assert!(!ok("http://169.254.169.254/latest/meta-data"));
    }

    #[test]
    fn settings_are_validated_and_the_secret_is_hidden() {
        let mut s = settings();
        s.environment_id = "not-a-uuid".into();
        assert!(matches!(Tenant::new(s), Err(Error::Tenant { .. })));
        let mut s = settings();
        s.client_secret = Secret::new(" ");
        assert!(Tenant::new(s).is_err());
        let shown = format!("{:?}", settings());
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
