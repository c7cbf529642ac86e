//! The connector SDK: write an identity connector as a WASI 0.2 component.
//!
//! A connector is a table of capabilities. Each capability is a
//! [`Capability`] impl (ids, title, input and output types whose schemars
//! schemas are the contract, the request to send, the convenience fields of
//! the output); the one [`pipeline`] runs all of them. The [`connector!`]
//! macro binds each WIT function of the connector's interface to its entry,
//! builds the capability list of the [`Manifest`], and on `wasm32` exports
//! the component (the shared `identity:connector` interfaces and the
//! connector's own).
//!
//! The host does what a connector must not: it holds the secrets, adds the
//! credentials, and decides where requests may go, from what the
//! connector's manifest declares (see the `connector-manifest` crate).
//! `docs/writing-a-connector.md` walks through a connector from
//! `cargo new` to a tested component.

pub mod choice;
pub mod error;
pub mod http;
pub mod pipeline;
pub mod schema;
pub mod settings;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use connector_manifest as manifest;
pub use connector_manifest::{Auth, CapabilityDescriptor, ClientAuth, Derived, Manifest, Outbound};
pub use error::{ApiError, ApiErrorDetail, ConnectorError, InputError};
pub use http::{Accept, ApiRequest, ApiResponse, Base, Body, Method, Transport, JSON};
pub use pipeline::{run, Capability, Ctx};
pub use settings::Settings;

#[doc(hidden)]
#[cfg(target_arch = "wasm32")]
pub use wit_bindgen as __wit_bindgen;

/// The manifest as the JSON text `describe.manifest` returns.
pub fn manifest_json(manifest: &Manifest) -> String {
    serde_json::to_string(manifest).expect("a manifest always serialises")
}

/// Declares a connector: its WIT world, its manifest function, and the
/// capability table (`wit_function_in_snake_case => EntryType`).
///
/// Natively this defines `capability_list()` (the manifest's capability
/// entries, checked against the table's bindings) and `invoke(id, ctx,
/// input)` (run one capability against any [`Transport`]). On `wasm32` it
/// also generates the WIT bindings (`wit` lists the WIT package folders,
/// dependencies first) and exports the component: `manifest()` from
/// `manifest`, every capability through [`pipeline::run`] with the
/// settings from `wasi:config`, and errors converted to the WIT
/// `connector-error` in this one place.
///
/// ```ignore
/// connector_sdk::connector! {
///     world: "identity:pingone-mfa/pingone-mfa",
///     wit: ["../../wit/deps/config", "../../wit/connector", "../../wit/pingone-mfa"],
///     interface: exports::identity::pingone_mfa::capabilities,
///     manifest: crate::manifest,
///     capabilities: {
///         read_device => devices::ReadDevice,
///     }
/// }
/// ```
#[macro_export]
macro_rules! connector {
    (
        world: $world:literal,
        wit: [$($path:literal),* $(,)?],
        interface: $($iface:ident)::+,
        manifest: $manifest:path,
        capabilities: { $($wit_fn:ident => $cap:ty),* $(,)? } $(,)?
    ) => {
        /// Every capability's manifest entry, in table order.
        pub fn capability_list() -> Vec<$crate::CapabilityDescriptor> {
            vec![$($crate::schema::describe::<$cap>(stringify!($wit_fn))),*]
        }

        /// Runs the capability with DaVinci id `id`; `None` if there is none.
        pub fn invoke(
            id: &str,
            ctx: &$crate::Ctx,
            input: &str,
        ) -> Option<Result<String, $crate::ConnectorError>> {
            $(if id == <$cap as $crate::Capability>::ID {
                return Some($crate::run::<$cap>(ctx, input));
            })*
            None
        }

        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        mod __component {
            #[allow(unused_imports)]
            use super::*;

            $crate::__wit_bindgen::generate!({
                path: [$($path),*],
                world: $world,
                runtime_path: "connector_sdk::__wit_bindgen::rt",
                generate_all,
            });

            use exports::identity::connector::types as wit;

            /// The component.
            pub struct Component;
            export!(Component);

            /// The one conversion from the SDK's error to the WIT error.
            fn to_wit(e: $crate::ConnectorError) -> wit::ConnectorError {
                use $crate::ConnectorError as E;
                match e {
                    E::InvalidInput(i) => wit::ConnectorError::InvalidInput(wit::InputError {
                        pointer: i.pointer,
                        message: i.message,
                    }),
                    E::Api(a) => wit::ConnectorError::Api(wit::ApiError {
                        status: a.status,
                        id: a.id,
                        code: a.code,
                        message: a.message,
                        details: a
                            .details
                            .into_iter()
                            .map(|d| wit::ApiErrorDetail {
                                code: d.code,
                                target: d.target,
                                message: d.message,
                                inner_error: d.inner_error,
                            })
                            .collect(),
                    }),
                    E::Transport { code, message } => {
                        wit::ConnectorError::Transport(wit::TransportError { code, message })
                    }
                    E::Internal(m) => wit::ConnectorError::Internal(m),
                }
            }

            impl exports::identity::connector::describe::Guest for Component {
                fn manifest() -> String {
                    $crate::manifest_json(&$manifest())
                }
            }

            impl $($iface)::+::Guest for Component {
                $(fn $wit_fn(input: String) -> Result<String, wit::ConnectorError> {
                    $crate::wasm::invoke::<$cap, _>(&input, wasi::config::store::get_all)
                        .map_err(to_wit)
                })*
            }
        }
    };
}
