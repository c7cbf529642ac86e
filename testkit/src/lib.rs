//! Shared test setup for every crate that runs connectors against their
//! test servers: the runtime with the workspace's connectors, tenants for
//! the PingOne emulator, and the HTTP connector's test server
//! ([`http_server`]), the service on a loopback listener with its client
//! ([`service`]). The contract tests, the CLI's demo and the benchmark
//! all build their worlds from here.

pub mod end_user;
pub mod http_server;
pub mod postgres;
pub mod scenarios;
pub mod service;
pub mod templates;
pub mod webdriver;

use connector_runtime::{Limits, Runtime, RuntimeConfig, Tenant, Trust};
use pingone_emulator::{Emulator, Seed};
use serde_json::{json, Map, Value};

pub use embedded_connectors::{HTTP, PINGONE_MFA};

/// The PingOne MFA connector's name.
pub const PINGONE: &str = "pingone-mfa";
/// The HTTP connector's name.
pub const HTTP_CONNECTOR: &str = "http";

/// Runtime settings for tests: the artifact cache lives in the target dir,
/// the pool is small.
pub fn test_config() -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: Some(std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/test-artifact-cache"
        ))),
        max_instances: 64,
        ..RuntimeConfig::default()
    }
}

/// A runtime with every embedded connector loaded.
pub async fn runtime(config: RuntimeConfig) -> Runtime {
    Runtime::with_connectors(config, embedded_connectors::ALL)
        .await
        .expect("the embedded connectors load")
}

/// The operator's PingOne settings for `seed` on `emulator` (URL overrides
/// on loopback, which only the operator may use).
pub fn pingone_settings(emulator: &Emulator, seed: &Seed) -> Map<String, Value> {
    let settings = json!({
        "environmentId": seed.environment_id,
        "policyId": seed.policy_id,
        "clientId": seed.client_id,
        "clientSecret": seed.client_secret,
        "apiUrl": emulator.api_url(),
        "authUrl": emulator.auth_url(),
    });
    settings.as_object().cloned().expect("an object")
}

/// An operator tenant connected to PingOne MFA for `seed` on `emulator`.
pub fn pingone_tenant(
    runtime: &Runtime,
    emulator: &Emulator,
    seed: &Seed,
    limits: Limits,
) -> Tenant {
    let connector = runtime.connector(PINGONE).expect("PingOne MFA is loaded");
    Tenant::connected(
        &connector,
        pingone_settings(emulator, seed),
        Trust::Operator,
        limits,
    )
    .expect("seeded settings are valid")
}
