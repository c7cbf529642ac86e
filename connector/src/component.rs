//! The WebAssembly glue: WIT bindings, the `wasi:http` transport, and the
//! single conversion from [`ConnectorError`] to the WIT error.

use serde_json::{json, Map, Value};

use crate::error::{ApiError, ConnectorError};
use crate::http::{ApiRequest, ApiResponse, Method, Transport};
use crate::pipeline::{run, Capability, Ctx};
use crate::settings::Settings;

wit_bindgen::generate!({
    path: "../wit",
    world: "connector",
    with: { "wasi:config/store@0.2.0-rc.1": generate },
});

use exports::identity::pingone_mfa::capabilities as wit;
pub use wit::Guest;
/// The WIT error type.
pub type WitError = wit::ConnectorError;

/// The component.
pub struct Component;
export!(Component);

/// Runs capability `C` with the tenant settings from `wasi:config`.
pub fn invoke<C: Capability>(input: &str) -> Result<String, WitError> {
    let settings =
        Settings::load(|key| wasi::config::store::get(key).map_err(|e| format!("{e:?}")))?;
    let ctx = Ctx {
        settings: &settings,
        transport: &WasiHttp,
        input: None,
    };
    Ok(run::<C>(&ctx, input)?)
}

impl From<ConnectorError> for WitError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::InvalidInput(i) => WitError::InvalidInput(wit::InputError {
                pointer: i.pointer,
                message: i.message,
            }),
            ConnectorError::Api(a) => WitError::Api(wit::ApiError {
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
            ConnectorError::Transport { code, message } => {
                WitError::Transport(wit::TransportError { code, message })
            }
            ConnectorError::Internal(m) => WitError::Internal(m),
        }
    }
}

/// Sends requests through `wasi:http/outgoing-handler` (via waki). The host
/// decides where they may go and adds the credentials.
struct WasiHttp;

impl Transport for WasiHttp {
    fn send(
        &self,
        settings: &Settings,
        request: &ApiRequest,
    ) -> Result<ApiResponse, ConnectorError> {
        let client = waki::Client::new();
        let url = request.url(settings);
        let mut builder = match request.method {
            Method::Get => client.get(&url),
            Method::Post => client.post(&url),
            Method::Put => client.put(&url),
            Method::Delete => client.delete(&url),
        }
        .header("accept", "application/json");
        if let Some(content_type) = request.content_type {
            builder = builder.header("content-type", content_type);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.to_string());
        }
        let response = builder.send().map_err(transport_error)?;
        let status = response.status_code();
        let mut headers = Map::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.get_mut(name.as_str()) {
                Some(Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(&value);
                }
                _ => {
                    headers.insert(name.as_str().to_owned(), Value::String(value));
                }
            }
        }
        let bytes = response.body().map_err(transport_error)?;
        if !(200..300).contains(&status) {
            return Err(ConnectorError::Api(ApiError::from_response(status, &bytes)));
        }
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                ConnectorError::Internal(format!(
                    "PingOne answered {status} with a body that is not JSON: {e}"
                ))
            })?
        };
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }
}

/// Maps a waki error to a transport error named by its `wasi:http` code.
fn transport_error(e: anyhow::Error) -> ConnectorError {
    let code = match e.downcast_ref::<waki::ErrorCode>() {
        Some(code) => kebab(
            format!("{code:?}")
                .trim_start_matches("ErrorCode::")
                .split(['(', ' ', '{'])
                .next()
                .unwrap_or("unknown"),
        ),
        None => "internal-error".to_owned(),
    };
    ConnectorError::Transport {
        code,
        message: e.to_string(),
    }
}

fn kebab(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
