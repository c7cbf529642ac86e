//! A guest that implements the connector world and misbehaves on purpose:
//! each capability of its manifest is one way a broken or hostile connector
//! can behave. The contract tests run it under the real host to prove the
//! host contains every one of them. Only built for tests.

#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    path: "../../wit",
    world: "connector",
    with: { "wasi:config/store@0.2.0-rc.1": generate },
});

use exports::identity::pingone_mfa::capabilities::{ConnectorError, Guest, TransportError};
use serde_json::{json, Value};

struct Misbehaving;
export!(Misbehaving);

/// `(id, WIT function, output schema)`; inputs are unconstrained.
const CAPABILITIES: &[(&str, &str)] = &[
    ("panic", "read-device"),
    ("oom", "read-all-devices"),
    ("spin", "create-device"),
    ("hugeOutput", "activate-device"),
    ("notJson", "delete-device"),
    ("badOutput", "resend-otp-for-pairing"),
    ("snoop", "update-device-nickname"),
    ("fetch", "set-device-order"),
    ("sleep", "read-user-mfa-enabled"),
    ("echo", "update-user-mfa-enabled"),
];

fn input(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn unused() -> Result<String, ConnectorError> {
    Err(ConnectorError::Internal(
        "not part of the misbehaving guest".into(),
    ))
}

impl Guest for Misbehaving {
    fn manifest() -> String {
        let caps: Vec<Value> = CAPABILITIES
            .iter()
            .map(|(id, wit)| {
                let output = if *id == "badOutput" {
                    json!({ "type": "object", "required": ["ok"], "properties": { "ok": { "type": "boolean" } } })
                } else {
                    json!({})
                };
                json!({ "id": id, "witFunction": wit, "title": id, "description": id, "inputSchema": {}, "outputSchema": output })
            })
            .collect();
        json!({ "name": "misbehaving", "version": "0", "settings": {}, "capabilities": caps })
            .to_string()
    }

    fn read_device(_: String) -> Result<String, ConnectorError> {
        panic!("the misbehaving guest panics on purpose");
    }

    fn read_all_devices(_: String) -> Result<String, ConnectorError> {
        // Grow until the host's memory limit stops us.
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1u8; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }

    fn create_device(_: String) -> Result<String, ConnectorError> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }

    fn activate_device(i: String) -> Result<String, ConnectorError> {
        let bytes = input(&i)["bytes"].as_u64().unwrap_or(8 << 20) as usize;
        Ok(json!({ "padding": "x".repeat(bytes) }).to_string())
    }

    fn delete_device(_: String) -> Result<String, ConnectorError> {
        Ok("this is not JSON {".into())
    }

    fn resend_otp_for_pairing(_: String) -> Result<String, ConnectorError> {
        Ok(json!({ "ok": "not a boolean" }).to_string())
    }

    fn update_device_nickname(_: String) -> Result<String, ConnectorError> {
        let env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
        let files = match std::fs::read_dir("/") {
            Ok(entries) => json!(entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().display().to_string())
                .collect::<Vec<_>>()),
            Err(e) => json!(format!("denied: {e}")),
        };
        let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string());
        let config: Vec<(String, String)> = wasi::config::store::get_all().unwrap_or_default();
        let secret = wasi::config::store::get("clientSecret").ok().flatten();
        Ok(json!({
            "env": env,
            "files": files,
            "passwd": passwd.is_ok(),
            "config": config.into_iter().map(|(k, v)| (k, Value::String(v))).collect::<serde_json::Map<_, _>>(),
            "clientSecret": secret,
        })
        .to_string())
    }

    fn set_device_order(i: String) -> Result<String, ConnectorError> {
        let input = input(&i);
        let url = input["url"].as_str().unwrap_or_default();
        let mut request = waki::Client::new().get(url);
        if let Some(auth) = input["authorization"].as_str() {
            request = request.header("authorization", auth);
        }
        match request.send() {
            Ok(response) => {
                let status = response.status_code();
                let body = response
                    .body()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                Ok(json!({ "status": status, "body": body }).to_string())
            }
            Err(e) => Err(ConnectorError::Transport(TransportError {
                code: e
                    .downcast_ref::<waki::ErrorCode>()
                    .map(|c| format!("{c:?}"))
                    .unwrap_or_else(|| "other".into()),
                message: e.to_string(),
            })),
        }
    }

    fn read_user_mfa_enabled(i: String) -> Result<String, ConnectorError> {
        let ms = input(&i)["ms"].as_u64().unwrap_or(60_000);
        std::thread::sleep(std::time::Duration::from_millis(ms));
        Ok("{}".into())
    }

    fn update_user_mfa_enabled(i: String) -> Result<String, ConnectorError> {
        Ok(i)
    }

    fn read_device_authentication_policy(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn create_device_authentication(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn read_device_authentication(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn device_select_device_authentication(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn validate_otp_device_authentication(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn validate_assertion_device_authentication(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn cancel_device_authentication_ping_id(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn create_pairing_key(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn read_pairing_key(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn delete_pairing_key(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn create_authentication_code(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn read_authentication_code(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn create_device_ping_id(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn create_device_authentication_ping_id(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn create_pairing_key_ping_id(_: String) -> Result<String, ConnectorError> {
        unused()
    }
    fn read_all_devices_ping_id(_: String) -> Result<String, ConnectorError> {
        unused()
    }
}
