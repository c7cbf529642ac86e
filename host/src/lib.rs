//! `connector-host`: runs identity connectors compiled to WebAssembly
//! components, one sandbox per invocation, on behalf of many tenants.
//!
//! ```no_run
//! # async fn demo() -> Result<(), connector_host::Error> {
//! use connector_host::{Runtime, RuntimeConfig, Tenant, TenantSettings};
//! let runtime = Runtime::new(RuntimeConfig::default()).await?;
//! let tenant = Tenant::new(TenantSettings::from_env()?)?;
//! let out = runtime.invoke(&tenant, "readUserMFAEnabled", r#"{"userId":"..."}"#).await?;
//! println!("{out}");
//! # Ok(()) }
//! ```
//!
//! See ARCHITECTURE.md for the data flow of one invocation.

pub mod demo;
mod error;
mod limits;
mod outbound;
mod registry;
mod resolver;
mod runtime;
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

pub use error::{ApiErrorDetail, Error, Limit};
pub use limits::{Limits, LimitsConfig};
pub use outbound::HttpLimits;
pub use registry::{TenantEntry, TenantRegistry, TenantsFile};
pub use runtime::{
    default_cache_dir, CapabilityInfo, Runtime, RuntimeConfig, EPOCH_TICK, PINGONE_MFA_COMPONENT,
};
pub use tenant::{Region, Secret, Tenant, TenantSettings, TenantStats};
