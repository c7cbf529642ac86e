//! The connector's view of HTTP: a request described as data, a response
//! as status, headers and JSON, and a [`Transport`] that sends one.
//!
//! Keeping requests as data lets the capability table stay declarative and
//! lets native unit tests run the pipeline against a fake transport.

use serde_json::{Map, Value};

use crate::error::ConnectorError;
use crate::settings::Settings;

/// Which PingOne host a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The management API, `https://api.pingone.{tld}/v1`, under `/environments/{envId}`.
    Api,
    /// The auth host, `https://auth.pingone.{tld}`, under `/{envId}`.
    Auth,
}

/// HTTP methods the connector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

/// JSON media type for plain create and update calls.
pub const JSON: &str = "application/json";

/// One PingOne call, as data.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// The host the path is relative to.
    pub base: Base,
    /// Path segments after the environment prefix; each is percent-encoded
    /// when the URL is built, so user input can never climb out of its slot.
    pub segments: Vec<String>,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// The `Content-Type`; PingOne selects the action by it on shared URLs.
    pub content_type: Option<&'static str>,
    /// The JSON body; `None` sends no body.
    pub body: Option<Value>,
}

impl ApiRequest {
    /// A request without body or query.
    pub fn new<S: Into<String>>(
        method: Method,
        base: Base,
        segments: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            method,
            base,
            segments: segments.into_iter().map(Into::into).collect(),
            query: Vec::new(),
            content_type: None,
            body: None,
        }
    }

    /// Adds a JSON body sent with `content_type`.
    pub fn with_body(mut self, content_type: &'static str, body: Value) -> Self {
        self.content_type = Some(content_type);
        self.body = Some(body);
        self
    }

    /// Sets a `Content-Type` for a request without body (PingOne actions
    /// such as "resend pairing code" are selected by media type alone).
    pub fn with_media_type(mut self, content_type: &'static str) -> Self {
        self.content_type = Some(content_type);
        self
    }

    /// Adds a query parameter.
    pub fn with_query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    /// The absolute URL for the tenant in `settings`.
    pub fn url(&self, settings: &Settings) -> String {
        let mut url = match self.base {
            Base::Api => format!(
                "{}/environments/{}",
                settings.api_url.trim_end_matches('/'),
                encode_segment(&settings.environment_id)
            ),
            Base::Auth => format!(
                "{}/{}",
                settings.auth_url.trim_end_matches('/'),
                encode_segment(&settings.environment_id)
            ),
        };
        for segment in &self.segments {
            url.push('/');
            url.push_str(&encode_segment(segment));
        }
        for (i, (key, value)) in self.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&encode_segment(key));
            url.push('=');
            url.push_str(&encode_segment(value));
        }
        url
    }
}

/// A PingOne answer with a success status.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers, lower-case names, repeated values joined by `", "`.
    pub headers: Map<String, Value>,
    /// The JSON body; `{}` when PingOne sent none (204).
    pub body: Value,
}

/// Sends requests. The component uses `wasi:http`; tests use a fake.
pub trait Transport {
    /// Sends `request` and returns the response when PingOne answered 2xx,
    /// [`ConnectorError::Api`] for an error status, and
    /// [`ConnectorError::Transport`] when no answer came.
    fn send(
        &self,
        settings: &Settings,
        request: &ApiRequest,
    ) -> Result<ApiResponse, ConnectorError>;
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            environment_id: "env-1".into(),
            policy_id: String::new(),
            api_url: "https://api.pingone.com/v1".into(),
            auth_url: "https://auth.pingone.com".into(),
        }
    }

    #[test]
    fn url_encodes_user_input_so_it_cannot_change_the_path() {
        let req = ApiRequest::new(Method::Get, Base::Api, ["users", "../../x?y", "devices"]);
        assert_eq!(
            req.url(&settings()),
            "https://api.pingone.com/v1/environments/env-1/users/..%2F..%2Fx%3Fy/devices"
        );
    }

    #[test]
    fn auth_base_has_no_v1_and_query_is_encoded() {
        let req = ApiRequest::new(Method::Get, Base::Auth, ["deviceAuthentications"])
            .with_query("filter", "a eq \"b\"");
        assert_eq!(
            req.url(&settings()),
            "https://auth.pingone.com/env-1/deviceAuthentications?filter=a%20eq%20%22b%22"
        );
    }
}
