//! Tenants: one PingOne environment's connection, the trust level its
//! settings were supplied at, and the state kept per tenant (token cache,
//! allowlist, limits, counters, the settings handed to the guest).

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use wasmtime_wasi_config::WasiConfigVariables;

use crate::error::{Error, Limit};
use crate::limits::Limits;
use crate::policy::NetworkPolicy;
use crate::scrub::{Scrubber, MIN_SCRUBBED_LEN};
use crate::secret::MAX_SECRET_BYTES;
use crate::settings::{has_dot_segment, BaseUrl, TenantSettings};
use crate::token::TokenCache;

/// Who supplied a tenant's settings; it decides what they may do (see
/// SECURITY.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Trust {
    /// The operator (runtime configuration, the tenants file named on the
    /// command line, the CLI's environment): secret references
    /// (`env:`, `file:`) are resolved and URL overrides may name any public
    /// or loopback address.
    Operator,
    /// A tenant's administrator (a flow engine's connection settings, the
    /// service's admin API): every value is literal, and URL overrides must
    /// match the operator's [`NetworkPolicy::tenant_origins`] and never
    /// name loopback or an internal address.
    Tenant,
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
    fn new(base: &BaseUrl, path_prefix: String) -> AllowedBase {
        AllowedBase {
            scheme: base.scheme.clone(),
            host: base.host.clone(),
            port: base.port,
            path_prefix,
        }
    }

    /// Whether `uri` is under this base.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("https");
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let has_userinfo = uri.authority().is_some_and(|a| a.as_str().contains('@'));
        scheme == self.scheme
            && !has_userinfo
            && uri.host().is_some_and(|h| {
                h.trim_end_matches('.').eq_ignore_ascii_case(&self.host)
            })
            && port == self.port
            && uri.path().starts_with(&self.path_prefix)
            // A dot segment, even percent-encoded, could climb out of the
            // prefix on the server side.
            && !has_dot_segment(uri.path())
    }
}

/// A tenant the runtime can invoke capabilities for. Cheap to clone.
#[derive(Clone)]
pub struct Tenant {
    pub(crate) inner: Arc<TenantInner>,
}

pub(crate) struct TenantInner {
    pub settings: TenantSettings,
    pub trust: Trust,
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
    /// `Basic base64(clientId:clientSecret)`, marked sensitive.
    pub basic: http::HeaderValue,
    pub tokens: TokenCache,
    /// Masks the secret and the Basic credential wherever a server echoes them.
    pub scrubber: Scrubber,
    /// What the guest reads through `wasi:config/store`: no secret, no client ID.
    pub config: Arc<WasiConfigVariables>,
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant")
            .field("environment_id", &self.inner.settings.environment_id)
            .field("trust", &self.inner.trust)
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
    /// A tenant from the operator's own configuration: secret references
    /// (`env:NAME`, `file:PATH`) are resolved, and URL overrides may name any
    /// public or loopback address (internal ones only as the runtime's
    /// [`NetworkPolicy::allow_internal`] allows, checked at connect time).
    pub fn from_operator(settings: TenantSettings, limits: Limits) -> Result<Tenant, Error> {
        let mut settings = settings;
        settings.client_secret = settings.client_secret.resolve_reference("clientSecret")?;
        Self::build(settings, limits, Trust::Operator)
    }

    /// A tenant from settings a tenant's administrator supplied: every value
    /// is data (a `clientSecret` of `file:/etc/shadow` is that string), and
    /// `apiUrl` / `authUrl` overrides must match one of `policy`'s
    /// [`NetworkPolicy::tenant_origins`] and never name loopback or an
    /// internal address the operator did not allow.
    pub fn from_tenant(
        settings: TenantSettings,
        limits: Limits,
        policy: &NetworkPolicy,
    ) -> Result<Tenant, Error> {
        for (field, url) in [
            ("apiUrl", &settings.api_url),
            ("authUrl", &settings.auth_url),
        ] {
            if let Some(url) = url {
                let base = BaseUrl::parse(field, url)?;
                policy
                    .check_tenant_origin(&base.scheme, &base.host, base.port)
                    .map_err(|message| Error::Tenant {
                        field: field.into(),
                        message,
                    })?;
            }
        }
        Self::build(settings, limits, Trust::Tenant)
    }

    fn build(settings: TenantSettings, limits: Limits, trust: Trust) -> Result<Tenant, Error> {
        let bad = |field: &str, message: &str| Error::Tenant {
            field: field.into(),
            message: message.into(),
        };
        limits.validate()?;
        for (field, value) in [
            ("environmentId", &settings.environment_id),
            ("clientId", &settings.client_id),
        ] {
            if !uuid_shaped(value) {
                return Err(bad(field, "must be a UUID"));
            }
        }
        if !settings.policy_id.is_empty() && !uuid_shaped(&settings.policy_id) {
            return Err(bad("policyId", "must be a UUID"));
        }
        let secret = settings.client_secret.expose();
        if secret.trim().is_empty() {
            return Err(bad("clientSecret", "must not be empty"));
        }
        // Shorter secrets could not be masked where a server echoes them
        // (see scrub.rs); PingOne's are 64 characters.
        if secret.chars().count() < MIN_SCRUBBED_LEN {
            return Err(bad("clientSecret", "must be at least 8 characters"));
        }
        if secret.len() > MAX_SECRET_BYTES || secret.chars().any(char::is_control) {
            return Err(bad(
                "clientSecret",
                "must be at most 16 KiB of text without control characters",
            ));
        }
        let default_api = settings.region.api_url();
        let default_auth = settings.region.auth_url();
        let api = BaseUrl::parse(
            "apiUrl",
            settings.api_url.as_deref().unwrap_or(&default_api),
        )?;
        let auth = BaseUrl::parse(
            "authUrl",
            settings.auth_url.as_deref().unwrap_or(&default_auth),
        )?;
        let env = &settings.environment_id;
        let api_url = format!("{}{}", api.origin(), api.path);
        let auth_url = format!("{}{}", auth.origin(), auth.path);
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", settings.client_id, secret));
        let mut basic = http::HeaderValue::from_str(&format!("Basic {credentials}"))
            .map_err(|_| bad("clientSecret", "cannot be sent in an HTTP header"))?;
        basic.set_sensitive(true);
        let scrubber = Scrubber::for_credentials(&settings.client_id, secret, &credentials);
        let mut config = WasiConfigVariables::new();
        config
            .insert("environmentId", env.as_str())
            .insert("policyId", settings.policy_id.as_str())
            .insert("apiUrl", api_url.as_str())
            .insert("authUrl", auth_url.as_str());
        Ok(Tenant {
            inner: Arc::new(TenantInner {
                token_url: format!("{auth_url}/{env}/as/token"),
                token_path_prefix: format!("{}/{env}/as/", auth.path),
                api: AllowedBase::new(&api, format!("{}/environments/{env}/", api.path)),
                auth: AllowedBase::new(&auth, format!("{}/{env}/", auth.path)),
                api_url,
                auth_url,
                basic,
                tokens: TokenCache::default(),
                scrubber,
                config: Arc::new(config),
                settings,
                trust,
                gate: tokio::sync::Semaphore::new(limits.max_concurrent),
                waiting: AtomicUsize::new(0),
                stats: Counters::default(),
                limits,
            }),
        })
    }

    /// Who supplied this tenant's settings.
    pub fn trust(&self) -> Trust {
        self.inner.trust
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
        // Compared without case: a server with case-insensitive routing
        // would answer `/AS/token` too.
        let path = uri.path().to_ascii_lowercase();
        if path.starts_with(&t.token_path_prefix.to_ascii_lowercase()) && t.auth.allows(uri) {
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
    use crate::settings::Region;
    use crate::Secret;

    fn settings() -> TenantSettings {
        TenantSettings {
            environment_id: "11111111-2222-3333-4444-555555555555".into(),
            policy_id: String::new(),
            client_id: "aaaaaaaa-2222-3333-4444-555555555555".into(),
            client_secret: Secret::new("s3cret-value"),
            region: Region::Eu,
            api_url: None,
            auth_url: None,
        }
    }

    fn operator(s: TenantSettings) -> Result<Tenant, Error> {
        Tenant::from_operator(s, Limits::default())
    }

    #[test]
    fn regions_map_to_their_domains() {
        let t = operator(settings()).unwrap();
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
        let t = operator(settings()).unwrap();
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
        assert!(!ok(&format!("https://auth.pingone.eu/{env}/AS/token")));
        assert!(!ok(&format!(
            "https://api.pingone.eu/v1/environments/{env}/../other"
        )));
        assert!(!ok(&format!(
            "https://api.pingone.eu/v1/environments/{env}/%2e%2e/other"
        )));
        assert!(!ok(&format!(
            "https://user@api.pingone.eu/v1/environments/{env}/users"
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
        assert!(matches!(operator(s), Err(Error::Tenant { .. })));
        for short in [" ", "short"] {
            let mut s = settings();
            s.client_secret = Secret::new(short);
            assert!(operator(s).is_err(), "{short:?}");
        }
        let shown = format!("{:?} {:?}", settings(), operator(settings()).unwrap());
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn tenant_supplied_settings_are_literal_and_bounded_by_the_policy() {
        std::env::set_var("TENANT_TEST_SECRET", "from-the-operator-env");
        let mut s = settings();
        s.client_secret = Secret::new("env:TENANT_TEST_SECRET");
        let t =
            Tenant::from_tenant(s.clone(), Limits::default(), &NetworkPolicy::default()).unwrap();
        assert_eq!(t.trust(), Trust::Tenant);
        assert_eq!(
            t.inner.settings.client_secret.expose(),
            "env:TENANT_TEST_SECRET",
            "a tenant's reference is only a string"
        );
        let t = operator(s).unwrap();
        assert_eq!(
            t.inner.settings.client_secret.expose(),
            "from-the-operator-env"
        );
        let policy = NetworkPolicy {
            tenant_origins: vec!["https://proxy.example.com".parse().unwrap()],
            ..NetworkPolicy::default()
        };
        for (url, allowed) in [
            ("https://proxy.example.com/v1", true),
            ("https://other.example.com/v1", false),
            ("http://127.0.0.1:8700/v1", false),
            ("http://localhost:8700/v1", false),
            ("http://169.254.169.254/v1", false),
            ("http://[::ffff:10.0.0.1]/v1", false),
        ] {
            let mut s = settings();
            s.api_url = Some(url.into());
            let result = Tenant::from_tenant(s, Limits::default(), &policy);
            match (allowed, result) {
                (true, Ok(_)) => {}
                (false, Err(Error::Tenant { field, .. })) => assert_eq!(field, "apiUrl"),
                (_, other) => panic!("{url}: {other:?}"),
            }
        }
    }
}
