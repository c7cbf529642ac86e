//! The PingOne MFA connector, compiled to a WASI 0.2 component with the
//! connector SDK.
//!
//! Each DaVinci capability is one row of the table below, an entry in
//! [`capabilities`]; the SDK's pipeline runs every one of them. On `wasm32`
//! the table becomes the WIT exports of `identity:pingone-mfa/capabilities`;
//! natively the crate exposes [`manifest`] and [`invoke`] so schemas can be
//! generated and capabilities unit-tested without a WebAssembly runtime.
//! Only what is PingOne's lives here: the capabilities, PingOne's data
//! model, its two bases and the manifest that declares its settings,
//! regions, reach and client-credentials authentication.

pub mod capabilities;
pub mod http;
pub mod model;

pub use connector_sdk::{choice, error, pipeline};

use connector_sdk::manifest::{Auth, ClientAuth, Derived, Manifest, Outbound};
use serde_json::{json, Value};

use capabilities::{authentications, codes, devices, pairing, policies, users};
pub use connector_sdk::ConnectorError;

/// The connector's name in the manifest.
pub const NAME: &str = "pingone-mfa";

/// The WIT interface that exports the capabilities.
pub const INTERFACE: &str = "identity:pingone-mfa/capabilities@0.2.0";

connector_sdk::connector! {
    world: "identity:pingone-mfa/pingone-mfa",
    wit: ["../../wit/deps/config", "../../wit/connector", "../../wit/pingone-mfa"],
    interface: exports::identity::pingone_mfa::capabilities,
    manifest: crate::manifest,
    capabilities: {
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
}

/// A UUID, as PingOne's IDs are.
const UUID: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// The connection settings DaVinci asks for, as a JSON Schema, with the
/// PingOne Terraform provider's environment variable names. The keys are
/// the ones the tenants file uses (`environmentId`; DaVinci's own export
/// calls it `envId`).
fn settings_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "PingOne MFA connection settings",
        "type": "object",
        "required": ["environmentId", "clientId", "clientSecret"],
        "additionalProperties": false,
        "properties": {
            "environmentId": { "type": "string", "title": "Environment ID", "description": "Your PingOne Environment ID.", "pattern": UUID, "env": "PINGONE_ENVIRONMENT_ID" },
            "policyId": { "type": "string", "title": "Policy ID", "description": "The unique identifier for the device authentication policy (optional).", "pattern": format!("^$|{}", UUID.trim_start_matches('^')), "default": "", "env": "PINGONE_POLICY_ID" },
            "clientId": { "type": "string", "title": "Client ID", "description": "The Client ID for your PingOne Worker application.", "pattern": UUID, "env": "PINGONE_CLIENT_ID" },
            "clientSecret": { "type": "string", "title": "Client Secret", "secret": true, "minLength": 8, "maxLength": 16384, "description": "The Client Secret for your PingOne Worker application (client_secret_basic). Held by the host; never passed to the component.", "env": "PINGONE_CLIENT_SECRET" },
            "region": { "type": "string", "title": "Region", "pattern": "^(?i:NA|CA|EU|AU|SG|AP)$", "default": "NA", "description": "Your PingOne environment region: NA, CA, EU, AU, SG or AP.", "env": "PINGONE_REGION_CODE" },
            "apiUrl": { "type": "string", "title": "API URL", "description": "Override of https://api.pingone.{tld}/v1 (a proxy, the emulator).", "env": "PINGONE_API_URL" },
            "authUrl": { "type": "string", "title": "Auth URL", "description": "Override of https://auth.pingone.{tld}.", "env": "PINGONE_AUTH_URL" }
        }
    })
}

/// The connector's self-description, as exported through WIT
/// `identity:connector/describe.manifest`: PingOne's regions as a table,
/// its API and auth hosts (overridable), the environment prefix the guest
/// stays under, what the guest reads, and the worker app's client
/// credentials the host uses to fetch tokens.
pub fn manifest() -> Manifest {
    let tld = [
        ("NA", "com"),
        ("CA", "ca"),
        ("EU", "eu"),
        ("AU", "com.au"),
        ("SG", "sg"),
        ("AP", "asia"),
    ];
    Manifest {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        title: "PingOne MFA".into(),
        interface: INTERFACE.into(),
        settings: settings_schema(),
        derived: [(
            "tld".to_owned(),
            Derived {
                from: "region".into(),
                map: tld
                    .iter()
                    .map(|(r, t)| (r.to_string(), t.to_string()))
                    .collect(),
                default: Some("com".into()),
            },
        )]
        .into(),
        outbound: vec![
            Outbound {
                name: "api".into(),
                url: "https://api.pingone.{tld}/v1".into(),
                url_override: Some("apiUrl".into()),
                allow: "/environments/{environmentId}/".into(),
            },
            Outbound {
                name: "auth".into(),
                url: "https://auth.pingone.{tld}".into(),
                url_override: Some("authUrl".into()),
                allow: "/{environmentId}/".into(),
            },
        ],
        guest: [
            (http::KEY_ENVIRONMENT_ID, "{environmentId}"),
            (http::KEY_POLICY_ID, "{policyId}"),
            (http::KEY_API_URL, "{api}"),
            (http::KEY_AUTH_URL, "{auth}"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        auth: Auth::OAuth2ClientCredentials {
            token_url: "{auth}/{environmentId}/as/token".into(),
            client_id: "clientId".into(),
            client_secret: "clientSecret".into(),
            method: ClientAuth::ClientSecretBasic,
            scope: None,
            reserved: vec!["{auth}/{environmentId}/as/".into()],
        },
        capabilities: capability_list(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_lists_every_capability_with_kebab_wit_names_and_checks() {
        let manifest = super::manifest();
        manifest.check().unwrap();
        assert_eq!(manifest.capabilities.len(), 26);
        for cap in &manifest.capabilities {
            assert_eq!(
                cap.wit_function,
                connector_sdk::schema::kebab(&cap.id),
                "{}",
                cap.id
            );
        }
    }
}
