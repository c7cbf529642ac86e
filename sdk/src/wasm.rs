//! The WebAssembly side: capabilities run with the settings from
//! `wasi:config` and HTTP through `wasi:http` (waki). The host decides
//! where requests may go and adds the credentials.

use serde_json::{json, Map, Value};

use crate::error::{ApiError, ConnectorError};
use crate::http::{Accept, ApiRequest, ApiResponse, Body, Method, Transport};
use crate::pipeline::{run, Capability, Ctx};
use crate::settings::Settings;

/// Runs capability `C` on `input` with the guest settings `get_all` returns
/// (the connector's `wasi:config/store.get-all` binding).
pub fn invoke<C: Capability, E: std::fmt::Debug>(
    input: &str,
    get_all: impl FnOnce() -> Result<Vec<(String, String)>, E>,
) -> Result<String, ConnectorError> {
    let pairs = get_all().map_err(|e| {
        ConnectorError::Internal(format!("the connector settings could not be read: {e:?}"))
    })?;
    let settings = Settings::from_pairs(pairs);
    let ctx = Ctx {
        settings: &settings,
        transport: &WasiHttp,
        input: None,
    };
    run::<C>(&ctx, input)
}

/// Sends requests through `wasi:http/outgoing-handler` (via waki).
pub struct WasiHttp;

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
            Method::Patch => client.patch(&url),
            Method::Delete => client.delete(&url),
        }
        .header("accept", "application/json");
        if let Some(content_type) = &request.content_type {
            builder = builder.header("content-type", content_type.clone());
        }
        for (name, value) in &request.headers {
            let header = waki::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                ConnectorError::Internal(format!("'{name}' is not a valid header name"))
            })?;
            builder = builder.header(header, value.clone());
        }
        match &request.body {
            // Straight into bytes: `Value::to_string` goes through `fmt`.
            Some(Body::Json(body)) => {
                builder = builder.body(serde_json::to_vec(body).map_err(|e| {
                    ConnectorError::Internal(format!(
                        "the request body could not be serialised: {e}"
                    ))
                })?)
            }
            Some(Body::Text(text)) => builder = builder.body(text.clone()),
            None => {}
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
            match (serde_json::from_slice(&bytes), request.accept) {
                (Ok(body), _) => body,
                (Err(_), Accept::Any) => Value::String(String::from_utf8_lossy(&bytes).into()),
                (Err(e), Accept::Json) => {
                    return Err(ConnectorError::Internal(format!(
                        "the server answered {status} with a body that is not JSON: {e}"
                    )))
                }
            }
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
