//! The operator's network policy: which addresses the host may connect to
//! at all, and which origins a tenant-supplied URL override may name.
//!
//! Every connection the host opens (the guest's requests and the token
//! requests alike) is checked against [`NetworkPolicy::check_address`] right
//! before it is made, whatever trust level the settings had: public
//! addresses pass; loopback passes (operators run the emulator and local
//! proxies there; tenant-supplied settings can never name it, see
//! [`NetworkPolicy::check_tenant_origin`]); every other non-public address
//! (private, link-local, CGNAT, unique-local, `0.0.0.0`, their IPv4-mapped
//! and NAT64 forms, ...) passes only when the operator listed it in
//! [`NetworkPolicy::allow_internal`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

use crate::settings::BaseUrl;

/// What the operator allows beyond the public internet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Internal networks the host may connect to, e.g. `10.20.0.0/16` for a
    /// proxy on the operator's network. Empty by default: then only public
    /// addresses (and loopback, for operator-configured settings) are reached.
    pub allow_internal: Vec<IpNet>,
    /// Origins a tenant-supplied `apiUrl` / `authUrl` override may name, e.g.
    /// `https://proxy.example.com` or `https://*.example.com:8443`. Empty by
    /// default: tenants then cannot override URLs at all.
    pub tenant_origins: Vec<OriginPattern>,
}

/// Why an address is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A globally routable unicast address.
    Public,
    /// `127.0.0.0/8`, `::1` and their mapped forms.
    Loopback,
    /// Any other address that is not public; the text names the range.
    Internal(&'static str),
}

impl NetworkPolicy {
    /// Whether the host may open a connection to `ip`, and if not, why.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), String> {
        match classify(ip) {
            AddressClass::Public | AddressClass::Loopback => Ok(()),
            AddressClass::Internal(_) if self.allows_internal(ip) => Ok(()),
            AddressClass::Internal(range) => Err(format!(
                "{ip} is a {range} address; the operator must allow it explicitly \
                 (RuntimeConfig::network.allow_internal, or --allow-internal CIDR)"
            )),
        }
    }

    /// Whether a resolved name may connect to `ip`. A name other than
    /// `localhost` never reaches loopback unless the operator allowed it:
    /// that is how DNS rebinding reaches local services.
    pub fn check_resolved(&self, name: &str, ip: IpAddr) -> bool {
        if is_localhost_name(name) {
            return classify(ip) == AddressClass::Loopback;
        }
        classify(ip) == AddressClass::Public || self.allows_internal(ip)
    }

    /// Whether a tenant-supplied URL override may name `scheme://host:port`:
    /// it must match one of the operator's [`NetworkPolicy::tenant_origins`],
    /// and it may never be loopback or an internal address the operator did
    /// not allow, whatever the pattern says.
    pub fn check_tenant_origin(&self, scheme: &str, host: &str, port: u16) -> Result<(), String> {
        if is_localhost_name(host) {
            return Err("tenant-supplied URLs may not name localhost".into());
        }
        if let Some(ip) = ip_literal(host) {
            match classify(ip) {
                AddressClass::Public => {}
                _ if self.allows_internal(ip) => {}
                AddressClass::Loopback => {
                    return Err("tenant-supplied URLs may not name a loopback address".into())
                }
                AddressClass::Internal(range) => {
                    return Err(format!(
                        "tenant-supplied URLs may not name a {range} address"
                    ))
                }
            }
        }
        if self
            .tenant_origins
            .iter()
            .any(|o| o.matches(scheme, host, port))
        {
            Ok(())
        } else {
            Err(format!(
                "{scheme}://{host}:{port} is not among the origins the operator allows for tenant URL overrides"
            ))
        }
    }

    fn allows_internal(&self, ip: IpAddr) -> bool {
        let embedded = embedded_v4(ip).map(IpAddr::V4);
        self.allow_internal
            .iter()
            .any(|net| net.contains(&ip) || embedded.is_some_and(|v4| net.contains(&v4)))
    }
}

/// `localhost`, `LOCALHOST.`, `anything.localhost` (RFC 6761 reserves the
/// whole `.localhost` domain for loopback).
pub fn is_localhost_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// The address a URL host names literally (`10.0.0.1`, `[::1]`), if any.
pub fn ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// The IPv4 address an IPv6 address carries for routing purposes: the
/// IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) forms,
/// NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`). Connecting to any of them
/// can reach the IPv4 address, so they are judged by it.
fn embedded_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0; 6] && !matches!(u32::from(low), 0 | 1) {
        return Some(low);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Classifies an address (RFC 6890 and the IANA special-purpose registries).
pub fn classify(ip: IpAddr) -> AddressClass {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        (127, ..) => Loopback,
        (0, ..) => Internal("\"this network\" (0.0.0.0/8, which reaches the local host)"),
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => Internal("private"),
        (100, 64..=127, _) => Internal("shared (CGNAT, 100.64.0.0/10)"),
        (169, 254, _) => Internal("link-local (cloud metadata lives at 169.254.169.254)"),
        (192, 0, 0) => Internal("IETF protocol assignment (192.0.0.0/24)"),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Internal("documentation"),
        (198, 18..=19, _) => Internal("benchmarking (198.18.0.0/15)"),
        (224..=239, ..) => Internal("multicast"),
        (240..=255, ..) => Internal("reserved or broadcast"),
        _ => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    let s = ip.segments();
    if ip.is_loopback() {
        Loopback
    } else if ip.is_unspecified() {
        Internal("unspecified (::)")
    } else if s[0] & 0xfe00 == 0xfc00 {
        Internal("unique-local (fc00::/7)")
    } else if s[0] & 0xffc0 == 0xfe80 {
        Internal("link-local (fe80::/10)")
    } else if s[0] & 0xffc0 == 0xfec0 {
        Internal("site-local (fec0::/10)")
    } else if s[0] & 0xff00 == 0xff00 {
        Internal("multicast")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Internal("documentation (2001:db8::/32)")
    } else if s[0] == 0x2001 && s[1] == 0 {
        Internal("Teredo tunnel (2001::/32)")
    } else if s[..4] == [0x100, 0, 0, 0] {
        Internal("discard-only (100::/64)")
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        Internal("local-use NAT64 (64:ff9b:1::/48)")
    } else {
        Public
    }
}

/// An origin a tenant-supplied URL may name: `scheme://host[:port]`, where
/// `host` may start with `*.` to match any subdomain (not the bare domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: String,
    host: String,
    wildcard: bool,
    port: u16,
}

impl OriginPattern {
    fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host_ok = if self.wildcard {
            // `self.host` keeps its leading dot, so `api.example.eu` matches
            // `*.example.eu` and `example.eu` or `evilexample.eu` do not.
            host.strip_suffix(self.host.as_str())
                .is_some_and(|sub| !sub.is_empty())
        } else {
            host == self.host
        };
        scheme.eq_ignore_ascii_case(&self.scheme) && host_ok && port == self.port
    }
}

impl FromStr for OriginPattern {
    type Err = String;

    /// Parses `scheme://host[:port]` or `scheme://*.domain[:port]`, with the
    /// same rules as a base URL setting (no user information, a port in
    /// range, a valid host) and no path.
    fn from_str(text: &str) -> Result<Self, String> {
        let (wildcard, candidate) = match text.split_once("://*.") {
            Some((scheme, domain)) => (true, format!("{scheme}://{domain}")),
            None => (false, text.to_owned()),
        };
        let base = BaseUrl::parse("origin", &candidate).map_err(|e| match e {
            crate::Error::Tenant { message, .. } => {
                format!("'{text}' is not an origin pattern: it {message}")
            }
            other => other.to_string(),
        })?;
        if !base.path.is_empty() || candidate.contains('*') {
            return Err(format!(
                "'{text}' is not an origin pattern: only scheme://host[:port] or scheme://*.domain[:port]"
            ));
        }
        Ok(OriginPattern {
            host: if wildcard {
                format!(".{}", base.host)
            } else {
                base.host
            },
            scheme: base.scheme,
            wildcard,
            port: base.port,
        })
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let star = if self.wildcard { "*" } else { "" };
        write!(f, "{}://{star}{}:{}", self.scheme, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_internal_range_is_refused_without_an_allowance() {
        let policy = NetworkPolicy::default();
        for internal in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "192.0.0.8",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "fec0::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:a9fe:a9fe::1",
            "2001:db8::1",
            "2001:0:4136:e378::1",
        ] {
            assert!(
                policy.check_address(ip(internal)).is_err(),
                "{internal} must be refused"
            );
        }
        for allowed in [
            "8.8.8.8",
            "34.117.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "127.0.0.1",
            "::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(policy.check_address(ip(allowed)).is_ok(), "{allowed}");
        }
    }

    #[test]
    fn the_allowance_opens_exactly_its_ranges() {
        let policy = NetworkPolicy {
            allow_internal: vec!["10.20.0.0/16".parse().unwrap()],
            ..NetworkPolicy::default()
        };
        assert!(policy.check_address(ip("10.20.1.2")).is_ok());
        assert!(policy.check_address(ip("::ffff:10.20.1.2")).is_ok());
        assert!(policy.check_address(ip("10.21.0.1")).is_err());
        assert!(policy.check_resolved("proxy.internal", ip("10.20.1.2")));
        assert!(!policy.check_resolved("proxy.internal", ip("10.21.0.1")));
    }

    #[test]
    fn names_reach_loopback_only_as_localhost() {
        let policy = NetworkPolicy::default();
        assert!(policy.check_resolved("localhost", ip("127.0.0.1")));
        assert!(policy.check_resolved("LOCALHOST.", ip("::1")));
        assert!(!policy.check_resolved("localhost", ip("10.0.0.1")));
        assert!(!policy.check_resolved("api.example.com", ip("127.0.0.1")));
        assert!(!policy.check_resolved("api.example.com", ip("169.254.169.254")));
        assert!(policy.check_resolved("api.example.com", ip("34.117.0.1")));
    }

    #[test]
    fn tenant_origins_match_scheme_host_and_port() {
        let policy = NetworkPolicy {
            tenant_origins: vec![
                "https://proxy.example.com".parse().unwrap(),
                "https://*.example.eu".parse().unwrap(),
                "http://10.20.0.5:8080".parse().unwrap(),
            ],
            allow_internal: vec!["10.20.0.0/16".parse().unwrap()],
        };
        let ok = |s: &str, h: &str, p: u16| policy.check_tenant_origin(s, h, p).is_ok();
        assert!(ok("https", "proxy.example.com", 443));
        assert!(ok("https", "PROXY.example.com.", 443));
        assert!(!ok("http", "proxy.example.com", 80));
        assert!(!ok("https", "proxy.example.com", 8443));
        assert!(!ok("https", "evil-proxy.example.com", 443));
        assert!(ok("https", "api.example.eu", 443));
        assert!(!ok("https", "example.eu", 443));
        assert!(!ok("https", "api.example.eu.evil.com", 443));
        assert!(ok("http", "10.20.0.5", 8080));
        assert!(!ok("https", "localhost", 443));
        assert!(!ok("https", "127.0.0.1", 443));
        assert!(NetworkPolicy::default()
            .check_tenant_origin("https", "proxy.example.com", 443)
            .is_err());
        for bad in [
            "proxy.example.com",
            "ftp://x",
            "https://x/path",
            "https://u:p@x",
            "https://x:0",
            "https://x:99999",
            "https://*",
        ] {
            assert!(bad.parse::<OriginPattern>().is_err(), "{bad}");
        }
    }
}
