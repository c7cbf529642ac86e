//! Tenants: the limits and counters a flow engine's customer runs within,
//! and its connections, one per connector, each with the trust level its
//! settings were supplied at.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::connection::Connection;
use crate::connector::Connector;
use crate::error::{Error, Limit};
use crate::limits::Limits;

/// Who supplied a connection's settings; it decides what they may do (see
/// SECURITY.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Trust {
    /// The operator (runtime configuration, the tenants file named on the
    /// command line, the CLI's environment): secret references
    /// (`env:`, `file:`) are resolved and URL settings may name any public
    /// or loopback address.
    Operator,
    /// A tenant's administrator (a flow engine's connection settings, the
    /// service's admin API): every value is literal, and URL settings must
    /// match the operator's [`crate::NetworkPolicy::tenant_origins`] and
    /// never name loopback or an internal address.
    Tenant,
}

/// A tenant the runtime can invoke capabilities for. Cheap to clone.
#[derive(Clone)]
pub struct Tenant {
    pub(crate) inner: Arc<TenantInner>,
}

pub(crate) struct TenantInner {
    pub limits: Limits,
    pub gate: tokio::sync::Semaphore,
    pub waiting: Arc<AtomicUsize>,
    /// Shared with the tenant this one was rebuilt from, so an update keeps
    /// the counts.
    pub stats: Arc<Counters>,
    /// By connector name.
    pub connections: BTreeMap<String, Arc<Connection>>,
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant")
            .field("connections", &self.inner.connections)
            .finish_non_exhaustive()
    }
}

/// Builds a tenant: its limits, then a connection per connector.
pub struct TenantBuilder {
    limits: Limits,
    connections: BTreeMap<String, Arc<Connection>>,
    stats: Arc<Counters>,
}

impl TenantBuilder {
    /// Adds (or replaces) the connection to `connector` with `settings`,
    /// supplied at `trust`. The settings are validated against the
    /// connector's settings schema and resolved against its manifest; the
    /// error names the setting and never shows its value.
    pub fn connect(
        mut self,
        connector: &Connector,
        settings: Map<String, Value>,
        trust: Trust,
    ) -> Result<TenantBuilder, Error> {
        let connection = connector.connect(&settings, trust)?;
        self.connections
            .insert(connector.name().to_owned(), Arc::new(connection));
        Ok(self)
    }

    /// Removes the connection to `connector`, if there is one.
    pub fn disconnect(mut self, connector: &str) -> TenantBuilder {
        self.connections.remove(connector);
        self
    }

    /// The tenant.
    pub fn build(self) -> Tenant {
        Tenant {
            inner: Arc::new(TenantInner {
                gate: tokio::sync::Semaphore::new(self.limits.max_concurrent),
                waiting: Arc::default(),
                stats: self.stats,
                connections: self.connections,
                limits: self.limits,
            }),
        }
    }
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
    /// Failures where the guest broke (trap, its own limits, bad output).
    pub guest_faults: u64,
    /// Invocations refused because the tenant's queue was full.
    pub rejected: u64,
    /// Invocations running now.
    pub in_flight: usize,
    /// Invocations waiting for a slot now.
    pub queued: usize,
    /// Access tokens fetched, over every connection.
    pub token_fetches: u64,
}

/// Holds one of the tenant's concurrency slots.
pub(crate) struct Slot<'a> {
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Tenant {
    /// Starts a tenant with `limits`, which are checked against their ranges.
    pub fn builder(limits: Limits) -> Result<TenantBuilder, Error> {
        limits.validate()?;
        Ok(TenantBuilder {
            limits,
            connections: BTreeMap::new(),
            stats: Arc::default(),
        })
    }

    /// A builder with this tenant's limits, connections (their token caches
    /// included) and counters, to make an updated tenant from. Invocations
    /// running on this one finish with it.
    pub fn to_builder(&self) -> TenantBuilder {
        TenantBuilder {
            limits: self.inner.limits,
            connections: self.inner.connections.clone(),
            stats: self.inner.stats.clone(),
        }
    }

    /// This freshly built tenant as the successor of `previous` (the same
    /// tenant's earlier settings, e.g. before a tenants file was reloaded):
    /// it keeps `previous`'s counters, and each connection whose OAuth 2
    /// grant is unchanged keeps `previous`'s token cache, so a reload fetches
    /// no token it does not need. Invocations running on `previous` finish
    /// with it. A tenant already shared (cloned) is returned unchanged.
    pub fn succeeding(self, previous: &Tenant) -> Tenant {
        let mut inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => return Tenant { inner: shared },
        };
        for (name, connection) in inner.connections.iter_mut() {
            if let (Some(mine), Some(theirs)) = (
                Arc::get_mut(connection),
                previous.inner.connections.get(name),
            ) {
                mine.adopt_tokens(theirs);
            }
        }
        inner.stats = previous.inner.stats.clone();
        Tenant {
            inner: Arc::new(inner),
        }
    }

    /// A tenant with one connection.
    pub fn connected(
        connector: &Connector,
        settings: Map<String, Value>,
        trust: Trust,
        limits: Limits,
    ) -> Result<Tenant, Error> {
        Ok(Tenant::builder(limits)?
            .connect(connector, settings, trust)?
            .build())
    }

    /// The connectors this tenant has connections to.
    pub fn connectors(&self) -> impl Iterator<Item = &str> {
        self.inner.connections.keys().map(String::as_str)
    }

    /// Who supplied the settings of the connection to `connector`.
    pub fn trust(&self, connector: &str) -> Option<Trust> {
        self.inner.connections.get(connector).map(|c| c.trust)
    }

    /// The resolved URL of base `base` of the connection to `connector`.
    pub fn base_url(&self, connector: &str, base: &str) -> Option<&str> {
        self.inner.connections.get(connector)?.base_url(base)
    }

    pub(crate) fn connection(&self, connector: &str) -> Result<&Arc<Connection>, Error> {
        self.inner
            .connections
            .get(connector)
            .ok_or_else(|| Error::Tenant {
                field: format!("connections.{connector}"),
                message: format!("this tenant has no connection to the {connector} connector"),
            })
    }

    /// How many access tokens this tenant has fetched, over every connection.
    pub fn token_fetches(&self) -> u64 {
        self.inner
            .connections
            .values()
            .map(|c| c.token_fetches())
            .sum()
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
            queued: self.inner.waiting.load(Ordering::Relaxed),
            token_fetches: self.token_fetches(),
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
}
