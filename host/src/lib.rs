//! `connector-host`: runs identity connectors compiled to WebAssembly
//! components, one sandbox per invocation, on behalf of many tenants.
//!
//! ```no_run
//! # async fn demo() -> Result<(), connector_host::Error> {
//! use connector_host::{Limits, Runtime, RuntimeConfig, Tenant, TenantSettings};
//! let config = RuntimeConfig::default();
//! let runtime = Runtime::new(config.clone()).await?;
//! // The operator's own settings (environment variables, a tenants file):
//! let tenant = Tenant::from_operator(TenantSettings::from_env()?, Limits::default())?;
//! // Settings a tenant's administrator supplied are data, bounded by the
//! // operator's network policy:
//! # let supplied = TenantSettings::from_env()?;
//! let theirs = Tenant::from_tenant(supplied, Limits::default(), &config.network)?;
//! let out = runtime.invoke(&tenant, "readUserMFAEnabled", r#"{"userId":"..."}"#).await?;
//! println!("{out}");
//! # Ok(()) }
//! ```
//!
//! See ARCHITECTURE.md for the data flow of one invocation and SECURITY.md
//! for the trust model.

mod cache;
pub mod demo;
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
mod tenant;
mod token;

/// Host bindings of the WIT world, generated once.
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "connector",
        exports: { default: async },
    });
}

pub use error::{
    ApiErrorDetail, Error, Limit, MAX_DETAILS, MAX_DETAIL_MESSAGE_BYTES, MAX_FIELD_BYTES,
    MAX_INNER_ERROR_BYTES, MAX_MESSAGE_BYTES, MAX_SUMMARY_BYTES,
};
pub use limits::{Limits, LimitsConfig};
pub use outbound::HttpLimits;
pub use policy::{classify, AddressClass, NetworkPolicy, OriginPattern};
pub use registry::{TenantEntry, TenantRegistry, TenantsFile};
pub use runtime::{
    default_cache_dir, CapabilityInfo, Runtime, RuntimeConfig, EPOCH_TICK, PINGONE_MFA_COMPONENT,
};
pub use secret::{Secret, MAX_SECRET_BYTES};
pub use settings::{Region, TenantSettings};
pub use tenant::{Tenant, TenantStats, Trust};
pub use token::MAX_TOKEN_LIFETIME;
