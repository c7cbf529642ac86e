//! A connector's view of HTTP: a request described as data, a response as
//! status, headers and JSON, and a [`Transport`] that sends one.
//!
//! Keeping requests as data lets the capability table stay declarative and
//! lets native unit tests run the pipeline against a fake transport.

use serde_json::{Map, Value};

use crate::error::ConnectorError;
use crate::settings::Settings;

/// Where a request goes: the guest setting that holds a base URL, and the
/// path segments every request under it starts with. A `{key}` segment is
/// the guest setting `key`. PingOne's management API, for example, is
/// `Base { url: "apiUrl", prefix: &["environments", "{environmentId}"] }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Base {
    /// The guest setting with the base URL (the manifest's `guest` entry
    /// for an outbound base).
    pub url: &'static str,
    /// Segments before the request's own; `{key}` reads a guest setting.
    pub prefix: &'static [&'static str],
}

/// HTTP methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// JSON, serialised when sent.
    Json(Value),
    /// Text, sent as it is.
    Text(String),
}

/// What a successful answer's body may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accept {
    /// JSON (or nothing); anything else is the server's fault.
    #[default]
    Json,
    /// JSON when it parses, else the text as a JSON string.
    Any,
}

/// JSON media type for plain create and update calls.
pub const JSON: &str = "application/json";

/// One HTTP call, as data.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// The base the path is relative to.
    pub base: Base,
    /// Path segments after the environment prefix; each is percent-encoded
    /// when the URL is built, so user input can never climb out of its slot.
    pub segments: Vec<String>,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// Extra request headers. The host refuses credentials here: it
    /// authenticates requests itself.
    pub headers: Vec<(String, String)>,
    /// The `Content-Type`; some APIs (PingOne) select the action by it on shared URLs.
    pub content_type: Option<String>,
    /// The body; `None` sends none.
    pub body: Option<Body>,
    /// What the answer's body may be.
    pub accept: Accept,
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
            headers: Vec::new(),
            content_type: None,
            body: None,
            accept: Accept::Json,
        }
    }

    /// Adds a JSON body sent with `content_type`.
    pub fn with_body(mut self, content_type: &str, body: Value) -> Self {
        self.content_type = Some(content_type.to_owned());
        self.body = Some(Body::Json(body));
        self
    }

    /// Adds a text body sent with `content_type`.
    pub fn with_text(mut self, content_type: &str, text: impl Into<String>) -> Self {
        self.content_type = Some(content_type.to_owned());
        self.body = Some(Body::Text(text.into()));
        self
    }

    /// Sets a `Content-Type` for a request without body (PingOne's actions
    /// such as "resend pairing code" are selected by media type alone).
    pub fn with_media_type(mut self, content_type: &str) -> Self {
        self.content_type = Some(content_type.to_owned());
        self
    }

    /// Adds a request header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets what the answer's body may be.
    pub fn accepting(mut self, accept: Accept) -> Self {
        self.accept = accept;
        self
    }

    /// Adds a query parameter.
    pub fn with_query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    /// The absolute URL for the tenant in `settings`.
    pub fn url(&self, settings: &Settings) -> String {
        let mut url = settings.get(self.base.url).trim_end_matches('/').to_owned();
        for segment in self.base.prefix {
            let value = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(key) => settings.get(key),
                None => segment,
            };
            url.push('/');
            url.push_str(&encode_segment(value));
        }
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

/// An answer with a success status.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers, lower-case names, repeated values joined by `", "`.
    pub headers: Map<String, Value>,
    /// The JSON body; `{}` when the server sent none (204).
    pub body: Value,
}

/// Sends requests. A component uses `wasi:http` ([`crate::wasm`]); tests use a fake.
pub trait Transport {
    /// Sends `request` and returns the response when the server answered
    /// 2xx, [`ConnectorError::Api`] for an error status, and
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

    const API: Base = Base {
        url: "apiUrl",
        prefix: &["environments", "{environmentId}"],
    };
    const AUTH: Base = Base {
        url: "authUrl",
        prefix: &["{environmentId}"],
    };

    fn settings() -> Settings {
        Settings::default()
            .with("environmentId", "env-1")
            .with("apiUrl", "https://api.pingone.com/v1")
            .with("authUrl", "https://auth.pingone.com")
    }

    #[test]
    fn url_encodes_user_input_so_it_cannot_change_the_path() {
        let req = ApiRequest::new(Method::Get, API, ["users", "../../x?y", "devices"]);
        assert_eq!(
            req.url(&settings()),
            "https://api.pingone.com/v1/environments/env-1/users/..%2F..%2Fx%3Fy/devices"
        );
    }

    #[test]
    fn auth_base_has_no_v1_and_query_is_encoded() {
        let req = ApiRequest::new(Method::Get, AUTH, ["deviceAuthentications"])
            .with_query("filter", "a eq \"b\"");
        assert_eq!(
            req.url(&settings()),
            "https://auth.pingone.com/env-1/deviceAuthentications?filter=a%20eq%20%22b%22"
        );
    }
}
