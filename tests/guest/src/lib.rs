//! A guest that implements the connector world and misbehaves on purpose:
//! each capability of its manifest is one way a broken or hostile connector
//! can behave. The contract tests run it under the real host to prove the
//! host contains every one of them. Only built for tests.

#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    path: ["../../wit/deps/config", "../../wit/connector", "wit"],
    world: "test:misbehaving/misbehaving",
    generate_all,
});

use exports::identity::connector::types::{ConnectorError, TransportError};
use exports::test::misbehaving::capabilities::Guest;
use serde_json::{json, Value};

struct Misbehaving;
export!(Misbehaving);

/// `(id, WIT function)`; inputs are unconstrained.
const CAPABILITIES: &[(&str, &str)] = &[
    ("panic", "panic"),
    ("oom", "oom"),
    ("spin", "spin"),
    ("hugeOutput", "huge-output"),
    ("notJson", "not-json"),
    ("badOutput", "bad-output"),
    ("snoop", "snoop"),
    ("fetch", "fetch"),
    ("sleep", "sleep"),
    ("echo", "echo"),
    ("residue", "residue"),
];

fn input(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

impl exports::identity::connector::describe::Guest for Misbehaving {
    /// Declares PingOne-shaped settings, bases and client-credentials auth,
    /// so the fault tests can run it against the PingOne emulator.
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
        json!({
            "name": "misbehaving",
            "version": "0",
            "interface": "test:misbehaving/capabilities@0.1.0",
            "settings": { "type": "object", "properties": {
                "environmentId": { "type": "string" },
                "policyId": { "type": "string", "default": "" },
                "clientId": { "type": "string" },
                "clientSecret": { "type": "string", "secret": true },
                "region": { "type": "string", "default": "NA" },
                "apiUrl": { "type": "string" },
                "authUrl": { "type": "string" }
            }},
            "derived": { "tld": { "from": "region", "map": { "NA": "com", "EU": "eu" }, "default": "com" } },
            "outbound": [
                { "name": "api", "url": "https://api.pingone.{tld}/v1", "override": "apiUrl", "allow": "/environments/{environmentId}/" },
                { "name": "auth", "url": "https://auth.pingone.{tld}", "override": "authUrl", "allow": "/{environmentId}/" }
            ],
            "guest": { "environmentId": "{environmentId}", "policyId": "{policyId}", "apiUrl": "{api}", "authUrl": "{auth}" },
            "auth": { "type": "oauth2ClientCredentials", "tokenUrl": "{auth}/{environmentId}/as/token",
                      "clientId": "clientId", "clientSecret": "clientSecret", "reserved": ["{auth}/{environmentId}/as/"] },
            "capabilities": caps
        })
        .to_string()
    }
}

impl Guest for Misbehaving {
    fn panic(_: String) -> Result<String, ConnectorError> {
        panic!("the misbehaving guest panics on purpose");
    }

    fn oom(_: String) -> Result<String, ConnectorError> {
        // Grow until the host's memory limit stops us.
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1u8; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }

    fn spin(_: String) -> Result<String, ConnectorError> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }

    fn huge_output(i: String) -> Result<String, ConnectorError> {
        let bytes = input(&i)["bytes"].as_u64().unwrap_or(8 << 20) as usize;
        Ok(json!({ "padding": "x".repeat(bytes) }).to_string())
    }

    fn not_json(_: String) -> Result<String, ConnectorError> {
        Ok("this is not JSON {".into())
    }

    fn bad_output(_: String) -> Result<String, ConnectorError> {
        Ok(json!({ "ok": "not a boolean" }).to_string())
    }

    fn snoop(_: String) -> Result<String, ConnectorError> {
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

    fn fetch(i: String) -> Result<String, ConnectorError> {
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

    fn sleep(i: String) -> Result<String, ConnectorError> {
        let ms = input(&i)["ms"].as_u64().unwrap_or(60_000);
        std::thread::sleep(std::time::Duration::from_millis(ms));
        Ok("{}".into())
    }

    fn residue(i: String) -> Result<String, ConnectorError> {
        // In the image's zero-initialised data: the pool slot's reset must
        // restore it. 64 KiB, 16 pages.
        static mut BUFFER: [u8; 1 << 16] = [0; 1 << 16];
        // Past the image and past the 8 MiB the host resets in place: 10 MiB
        // grown by hand, which the reset must decommit or zero.
        const GROWN_PAGES: usize = 160;
        let marker = input(&i)["marker"]
            .as_str()
            .unwrap_or("x")
            .as_bytes()
            .to_vec();
        let grown = core::arch::wasm32::memory_grow(0, GROWN_PAGES);
        if grown == usize::MAX {
            return Err(ConnectorError::Internal("memory.grow failed".into()));
        }
        // SAFETY: the instance is single-threaded and nothing else refers to
        // BUFFER; the grown pages are this call's alone (no allocator knows them).
        let (buffer, region) = unsafe {
            (
                &mut *std::ptr::addr_of_mut!(BUFFER),
                std::slice::from_raw_parts_mut((grown * 65536) as *mut u8, GROWN_PAGES * 65536),
            )
        };
        let dirty = |bytes: &[u8]| bytes.iter().any(|&b| b != 0);
        let report = json!({ "staticDirty": dirty(&buffer[..]), "grownDirty": dirty(region) });
        for chunk in buffer
            .chunks_mut(marker.len())
            .chain(region.chunks_mut(marker.len()))
        {
            chunk.copy_from_slice(&marker[..chunk.len()]);
        }
        Ok(report.to_string())
    }

    fn echo(i: String) -> Result<String, ConnectorError> {
        Ok(i)
    }
}
