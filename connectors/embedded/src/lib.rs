//! The connector components of this workspace, compiled to WASI 0.2 by the
//! build script and embedded as bytes: what `connector-host` loads by
//! default, and what the tests and the benchmark run.

/// The PingOne MFA connector component.
pub const PINGONE_MFA: &[u8] = include_bytes!(env!("PINGONE_MFA_COMPONENT"));

/// The HTTP connector component.
pub const HTTP: &[u8] = include_bytes!(env!("HTTP_COMPONENT"));

/// Every embedded component, PingOne MFA first.
pub const ALL: &[&[u8]] = &[PINGONE_MFA, HTTP];
