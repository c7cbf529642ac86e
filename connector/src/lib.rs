//! The PingOne MFA connector, compiled to a WASI 0.2 component.
//!
//! Each DaVinci capability is one row of the table in [`capabilities`]; the
//! generic [`pipeline`] runs every one of them. On `wasm32` the
//! `capabilities!` list below becomes the WIT exports (see `component.rs`);
//! natively the crate exposes [`manifest`] and [`invoke`] so schemas can be
//! generated and the pipeline unit-tested without a WebAssembly runtime.

pub mod capabilities;
pub mod choice;
pub mod error;
pub mod http;
pub mod model;
pub mod pipeline;
pub mod settings;

#[cfg(target_arch = "wasm32")]
mod component;

use schemars::generate::SchemaSettings;
use serde_json::{json, Value};

use capabilities::{authentications, codes, devices, pairing, policies, users};
pub use error::ConnectorError;
use pipeline::{run, Capability, Ctx};

/// The connector's name in the manifest.
pub const NAME: &str = "pingone-mfa";

/// Declares the capability table: WIT function => capability entry.
macro_rules! capabilities {
    ($($wit_fn:ident => $cap:ty),* $(,)?) => {
        /// Every capability's self-description, in table order.
        fn capability_list() -> Vec<Value> {
            vec![$(describe::<$cap>(stringify!($wit_fn))),*]
        }

        /// Runs the capability with DaVinci id `id`; `None` if there is none.
        pub fn invoke(id: &str, ctx: &Ctx, input: &str) -> Option<Result<String, ConnectorError>> {
            $(if id == <$cap as Capability>::ID {
                return Some(run::<$cap>(ctx, input));
            })*
            None
        }

        #[cfg(target_arch = "wasm32")]
        impl component::Guest for component::Component {
            fn manifest() -> String {
                crate::manifest().to_string()
            }
            $(fn $wit_fn(input: String) -> Result<String, component::WitError> {
                component::invoke::<$cap>(&input)
            })*
        }
    };
}

capabilities! {
    read_device => devices::ReadDevice,
    read_all_devices => devices::ReadAllDevices,
    create_device => devices::CreateDevice,
    activate_device => devices::ActivateDevice,
    delete_device => devices::DeleteDevice,
    resend_otp_for_pairing => devices::ResendOtpForPairing,
    update_device_nickname => devices::UpdateDeviceNickname,
    set_device_order => devices::SetDeviceOrder,
    read_user_mfa_enabled => users::ReadUserMfaEnabled,
    update_user_mfa_enabled => users::UpdateUserMfaEnabled,
    read_device_authentication_policy => policies::ReadDeviceAuthenticationPolicy,
    create_device_authentication => authentications::CreateDeviceAuthentication,
    read_device_authentication => authentications::ReadDeviceAuthentication,
    device_select_device_authentication => authentications::DeviceSelectDeviceAuthentication,
    validate_otp_device_authentication => authentications::ValidateOtpDeviceAuthentication,
    validate_assertion_device_authentication => authentications::ValidateAssertionDeviceAuthentication,
    cancel_device_authentication_ping_id => authentications::CancelDeviceAuthentication,
    create_pairing_key => pairing::CreatePairingKey,
    read_pairing_key => pairing::ReadPairingKey,
    delete_pairing_key => pairing::DeletePairingKey,
    create_authentication_code => codes::CreateAuthenticationCode,
    read_authentication_code => codes::ReadAuthenticationCode,
    create_device_ping_id => devices::CreateDevicePingId,
    create_device_authentication_ping_id => authentications::CreateDeviceAuthenticationPingId,
    create_pairing_key_ping_id => pairing::CreatePairingKeyPingId,
    read_all_devices_ping_id => devices::ReadAllDevicesPingId,
}

/// One capability's manifest entry. `wit_fn` is the Rust name of the export
/// the table binds it to; a mismatch with [`Capability::WIT`] is a bug that
/// would make the host call the wrong function, so it fails loudly.
fn describe<C: Capability>(wit_fn: &str) -> Value {
    assert_eq!(
        wit_fn.replace('_', "-"),
        C::WIT,
        "capability {} is bound to the wrong WIT export",
        C::ID
    );
    json!({
        "id": C::ID,
        "witFunction": C::WIT,
        "title": C::TITLE,
        "description": C::DESCRIPTION,
        "inputSchema": schema_of::<C::Input>(&format!("{} input", C::ID)),
        "outputSchema": schema_of::<C::Output>(&format!("{} output", C::ID)),
    })
}

/// The JSON Schema (2020-12) of `T`, titled `title`.
fn schema_of<T: schemars::JsonSchema>(title: &str) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings
        .transforms
        .push(Box::new(schemars::transform::RecursiveTransform(
            optional_is_not_nullable,
        )));
    let generator = settings.into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    schema["title"] = json!(title);
    schema
}

/// Makes `Option<T>` fields plain `T`, not required, as the seed types
/// them: an optional field is absent, not `null`. schemars appends `null`
/// last (`["string", "null"]`, or a trailing `{"type": "null"}` branch);
/// the seed's genuinely nullable fields are written with `null` first
/// (`choice::nullable_string_schema`) and are left alone.
fn optional_is_not_nullable(schema: &mut schemars::Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.get("default") == Some(&Value::Null) {
        object.remove("default");
    }
    if let Some(Value::Array(types)) = object.get("type") {
        if types.len() == 2 && types[1] == "null" {
            let only = types[0].clone();
            object.insert("type".into(), only);
        }
    }
    let single = match object.get("anyOf") {
        Some(Value::Array(branches))
            if branches.len() == 2 && branches[1] == json!({ "type": "null" }) =>
        {
            Some(branches[0].clone())
        }
        _ => None,
    };
    if let Some(Value::Object(inner)) = single {
        object.remove("anyOf");
        for (k, v) in inner {
            object.entry(k).or_insert(v);
        }
    }
}

/// The connection settings DaVinci asks for, as a JSON Schema.
fn settings_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "PingOne MFA connection settings",
        "type": "object",
        "required": ["envId", "clientId", "clientSecret", "region"],
        "properties": {
            "envId": { "type": "string", "title": "Environment ID", "description": "Your PingOne Environment ID." },
            "policyId": { "type": "string", "title": "Policy ID", "description": "The unique identifier for the device authentication policy." },
            "clientId": { "type": "string", "title": "Client ID", "description": "The Client ID for your PingOne Worker application." },
            "clientSecret": { "type": "string", "title": "Client Secret", "secret": true, "description": "The Client Secret for your PingOne Worker application. Held by the host; never passed to the component." },
            "region": { "type": "string", "title": "Region", "enum": ["NA", "CA", "EU", "AU", "SG", "AP"], "description": "Your PingOne environment region." }
        }
    })
}

/// The connector's self-description, as exported through WIT `manifest`.
pub fn manifest() -> Value {
    json!({
        "name": NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "settings": settings_schema(),
        "capabilities": capability_list(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_lists_every_capability_with_kebab_wit_names() {
        let manifest = super::manifest();
        let caps = manifest["capabilities"].as_array().unwrap();
        assert_eq!(caps.len(), 26);
        for cap in caps {
            let id = cap["id"].as_str().unwrap();
            let mut kebab = String::new();
            let chars: Vec<char> = id.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                // An upper-case letter starts a word unless it continues an acronym.
                let starts_word = c.is_ascii_uppercase()
                    && i > 0
                    && (chars[i - 1].is_ascii_lowercase()
                        || chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase()));
                if starts_word {
                    kebab.push('-');
                }
                kebab.push(c.to_ascii_lowercase());
            }
            assert_eq!(cap["witFunction"], kebab.as_str(), "{id}");
        }
    }
}
