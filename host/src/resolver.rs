//! DNS resolution for the host's HTTP client, with a rebinding guard.
//!
//! The allowlist checks the host *name* a guest asks for; a name that is
//! allowed could still resolve to a loopback, private or link-local address
//! (DNS rebinding, cloud metadata endpoints). This resolver drops such
//! addresses for every name except `localhost`, so a tenant reaches an
//! internal address only when its settings name that address literally
//! (an IP-literal URL never goes through the resolver) or say `localhost`,
//! as the emulator does.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;

/// Resolves with the system resolver, keeping only public addresses.
#[derive(Clone, Copy, Debug, Default)]
pub struct PublicResolver;

type Addrs = std::vec::IntoIter<SocketAddr>;

impl tower_service::Service<Name> for PublicResolver {
    type Response = Addrs;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|a| permitted(&host, a.ip()))
                .collect();
            if allowed.is_empty() && !resolved.is_empty() {
                tracing::warn!(%host, "refusing a name that resolves only to internal addresses");
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{host} resolves only to loopback, private or link-local addresses"),
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}

/// Whether `host` may connect to `ip`.
pub fn permitted(host: &str, ip: IpAddr) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return ip.is_loopback();
    }
    is_public(ip)
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_for_public_names() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            let ip: IpAddr = internal.parse().unwrap();
            assert!(!permitted("api.pingone.com", ip), "{internal}");
        }
        for public in ["8.8.8.8", "34.117.0.1", "2606:4700::1111"] {
            assert!(
                permitted("api.pingone.com", public.parse().unwrap()),
                "{public}"
            );
        }
    }

    #[test]
    fn localhost_may_only_be_loopback() {
        assert!(permitted("localhost", "127.0.0.1".parse().unwrap()));
        assert!(permitted("LOCALHOST", "::1".parse().unwrap()));
        assert!(!permitted("localhost", "10.0.0.1".parse().unwrap()));
    }
}
