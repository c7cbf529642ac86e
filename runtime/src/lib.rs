//! `connector-runtime`: runs identity connectors compiled to WebAssembly
//! components, one sandbox per invocation, on behalf of many tenants.
//!
//! The host knows connectors only through their manifests (the
//! `connector-manifest` crate): what settings a connection has, which are
//! secret, which bases the guest may reach, what the guest may read, and how
//! the host authenticates its requests.
//!
//! ```no_run
//! # async fn demo(component: &[u8]) -> Result<(), connector_runtime::Error> {
//! use connector_runtime::{Limits, Runtime, RuntimeConfig, Tenant, Trust};
//! let runtime = Runtime::new(RuntimeConfig::default())?;
//! let connector = runtime.load(component).await?;
//! let settings = serde_json::json!({ "environmentId": "...", "clientId": "...", "clientSecret": "env:SECRET" });
//! // The operator's own settings (a tenants file, the environment):
//! let tenant = Tenant::connected(&connector, settings.as_object().unwrap().clone(), Trust::Operator, Limits::default())?;
//! let out = runtime.invoke(&tenant, "readUserMFAEnabled", r#"{"userId":"..."}"#).await?;
//! println!("{out}");
//! # Ok(()) }
//! ```
//!
//! Settings a tenant's administrator supplied are connected with
//! [`Trust::Tenant`]: literal data, bounded by the runtime's
//! [`NetworkPolicy`]. See ARCHITECTURE.md for the data flow of one
//! invocation and SECURITY.md for the trust model.

mod cache;
mod connection;
mod connector;
mod contract;
mod deadline;
mod error;
mod limits;
mod outbound;
mod policy;
mod registry;
mod resolver;
mod runtime;
mod scrub;
mod secret;
mod settings;
mod store;
mod tenant;
mod token;

/// Host bindings of the shared `identity:connector` world, generated once:
/// the error type every capability returns and the manifest function.
mod bindings {
    wasmtime::component::bindgen!({
        path: ["../wit/deps/config", "../wit/connector"],
        world: "identity:connector/connector",
        exports: { default: async },
    });
}

pub use connector::Connector;
pub use connector_manifest::{Auth, ClientAuth, Manifest, ManifestError};
pub use contract::check as schema_violation;
pub use contract::CapabilityInfo;
pub use error::{
    ApiErrorDetail, Error, Limit, MAX_DETAILS, MAX_DETAIL_MESSAGE_BYTES, MAX_FIELD_BYTES,
    MAX_INNER_ERROR_BYTES, MAX_MESSAGE_BYTES, MAX_SUMMARY_BYTES,
};
pub use limits::{Limits, LimitsConfig};
pub use outbound::HttpLimits;
pub use policy::{classify, AddressClass, NetworkPolicy, OriginPattern};
pub use registry::TenantRegistry;
pub use runtime::{default_cache_dir, Runtime, RuntimeConfig, EPOCH_TICK};
pub use secret::{Secret, MAX_SECRET_BYTES};
pub use settings::{settings_from_toml, toml_error};
pub use tenant::{Tenant, TenantBuilder, TenantStats, Trust};
pub use token::MAX_TOKEN_LIFETIME;
