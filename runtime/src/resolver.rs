//! Where the host's HTTP client may connect: DNS resolution with a
//! rebinding guard, and a guard on literal addresses, both judged by the
//! operator's [`NetworkPolicy`].
//!
//! The allowlist checks the host *name* a guest asks for; a name that is
//! allowed could still resolve to a loopback, private or link-local address
//! (DNS rebinding, cloud metadata endpoints). [`PolicyResolver`] keeps only
//! the addresses the policy permits for that name. A URL that names an
//! address literally never reaches a resolver (hyper connects to it
//! directly), so [`GuardedConnector`] checks those before connecting. Both
//! run for every connection: the guest's requests and the token requests.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;

use crate::policy::{ip_literal, NetworkPolicy};

/// Resolves with the system resolver, keeping only permitted addresses.
#[derive(Clone, Debug)]
pub struct PolicyResolver {
    policy: Arc<NetworkPolicy>,
}

impl PolicyResolver {
    /// A resolver that judges addresses by `policy`.
    pub fn new(policy: Arc<NetworkPolicy>) -> Self {
        PolicyResolver { policy }
    }
}

type Addrs = std::vec::IntoIter<SocketAddr>;

impl tower_service::Service<Name> for PolicyResolver {
    type Response = Addrs;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str().to_owned();
        let policy = self.policy.clone();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|a| policy.check_resolved(&host, a.ip()))
                .collect();
            if allowed.is_empty() && !resolved.is_empty() {
                tracing::warn!(%host, "refusing a name that resolves only to internal addresses");
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    Refused(format!(
                        "{host} resolves only to loopback or internal addresses, which the \
                         network policy refuses for this name"
                    )),
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}

/// The TCP connector with the literal-address guard in front of it.
#[derive(Clone, Debug)]
pub struct GuardedConnector {
    inner: HttpConnector<PolicyResolver>,
    policy: Arc<NetworkPolicy>,
}

impl GuardedConnector {
    /// Guards `inner` with `policy`.
    pub fn new(inner: HttpConnector<PolicyResolver>, policy: Arc<NetworkPolicy>) -> Self {
        GuardedConnector { inner, policy }
    }
}

impl tower_service::Service<http::Uri> for GuardedConnector {
    type Response = <HttpConnector<PolicyResolver> as tower_service::Service<http::Uri>>::Response;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        if let Some(ip) = uri.host().and_then(ip_literal) {
            if let Err(reason) = self.policy.check_address(ip) {
                tracing::warn!(%ip, %reason, "refusing to connect");
                return Box::pin(async move { Err(Box::new(Refused(reason)) as Self::Error) });
            }
        }
        let connecting = self.inner.call(uri);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}

/// A connection the network policy refused; found again in hyper's error
/// chain by [`refusal`], so the runtime reports it as denied, not as a
/// network failure to retry.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The policy's reason, when `error` (or anything it was caused by) is a
/// [`Refused`] connection.
pub fn refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused.0.clone());
        }
        if let Some(refused) = e
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<Refused>())
        {
            return Some(refused.0.clone());
        }
        current = e.source();
    }
    None
}
