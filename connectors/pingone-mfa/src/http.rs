//! PingOne's two hosts, as SDK bases: every request of this connector goes
//! under its tenant's environment on one of them.

pub use connector_sdk::http::{ApiRequest, Method, JSON};
use connector_sdk::Base;

/// The guest setting with the management API base URL, e.g. `https://api.pingone.eu/v1`.
pub const KEY_API_URL: &str = "apiUrl";
/// The guest setting with the auth base URL, e.g. `https://auth.pingone.eu`.
pub const KEY_AUTH_URL: &str = "authUrl";
/// The guest setting with the PingOne environment ID.
pub const KEY_ENVIRONMENT_ID: &str = "environmentId";
/// The guest setting with the connection's device authentication policy ID (may be empty).
pub const KEY_POLICY_ID: &str = "policyId";

/// The management API: `{apiUrl}/environments/{environmentId}/...`.
pub const API: Base = Base {
    url: KEY_API_URL,
    prefix: &["environments", "{environmentId}"],
};

/// The auth host: `{authUrl}/{environmentId}/...`.
pub const AUTH: Base = Base {
    url: KEY_AUTH_URL,
    prefix: &["{environmentId}"],
};
