//! A connector's one error type.
//!
//! Every failure of a capability is a [`ConnectorError`]; the component
//! glue converts it to the WIT `connector-error` of
//! `identity:connector/types` in exactly one place
//! ([`crate::export_connector`]).

use serde::Serialize;

/// A field of the input that broke the capability's contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// JSON pointer (RFC 6901) to the offending field; empty for the whole input.
    pub pointer: String,
    /// Why the value was rejected.
    pub message: String,
}

impl InputError {
    /// An error about the field at `pointer`.
    pub fn at(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// One entry of an error body's `details` (PingOne's shape, which other
/// APIs' errors are mapped onto).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiErrorDetail {
    /// The detail code, e.g. `INVALID_OTP`.
    pub code: String,
    /// The request field the server blames, if any.
    pub target: Option<String>,
    /// The server's message.
    pub message: String,
    /// The `innerError` object as JSON text.
    pub inner_error: Option<String>,
}

/// An error status from the server, with everything it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The server's error id.
    pub id: Option<String>,
    /// The top-level code.
    pub code: String,
    /// The server's message.
    pub message: String,
    /// The details, in order.
    pub details: Vec<ApiErrorDetail>,
}

/// Why a capability failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The input did not satisfy the capability's contract.
    #[error("invalid input at '{}': {}", .0.pointer, .0.message)]
    InvalidInput(InputError),
    /// The server answered with an error status.
    #[error("the server returned {} {}: {}", .0.status, .0.code, .0.message)]
    Api(ApiError),
    /// The request got no HTTP answer.
    #[error("transport error ({code}): {message}")]
    Transport {
        /// The `wasi:http` error code in kebab case.
        code: String,
        /// What happened.
        message: String,
    },
    /// A state the connector cannot handle.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<InputError> for ConnectorError {
    fn from(e: InputError) -> Self {
        ConnectorError::InvalidInput(e)
    }
}

impl ApiError {
    /// Builds the error from an error response: PingOne's shape (`id`,
    /// `code`, `message`, `details`) and OAuth's (`error`,
    /// `error_description`) are read; any other body (a proxy's HTML page)
    /// still gives a code and a message.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
        match parsed {
            Some(v) if v.get("code").is_some() || v.get("error").is_some() => {
                let details = v
                    .get("details")
                    .and_then(|d| d.as_array())
                    .map(|items| {
                        items
                            .iter()
                            .map(|d| ApiErrorDetail {
                                code: text(d.get("code")).unwrap_or_default(),
                                target: text(d.get("target")),
                                message: text(d.get("message")).unwrap_or_default(),
                                inner_error: d.get("innerError").map(|i| i.to_string()),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                ApiError {
                    status,
                    id: text(v.get("id")),
                    // OAuth endpoints answer `{error, error_description}`.
                    code: text(v.get("code"))
                        .or_else(|| text(v.get("error")))
                        .unwrap_or_default(),
                    message: text(v.get("message"))
                        .or_else(|| text(v.get("error_description")))
                        .unwrap_or_default(),
                    details,
                }
            }
            _ => {
                let snippet: String = String::from_utf8_lossy(body).chars().take(200).collect();
                ApiError {
                    status,
                    id: None,
                    code: format!("HTTP_{status}"),
                    message: if snippet.is_empty() {
                        format!("the server answered HTTP {status} without a body")
                    } else {
                        snippet
                    },
                    details: Vec::new(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pingone_error_body_keeps_every_field() {
        let body = br#"{"id":"e1","code":"INVALID_DATA","message":"bad","details":[{"code":"INVALID_OTP","target":"otp","message":"Invalid OTP","innerError":{"remainingAttempts":2}}]}"#;
        let e = ApiError::from_response(400, body);
        assert_eq!(e.status, 400);
        assert_eq!(e.id.as_deref(), Some("e1"));
        assert_eq!(e.code, "INVALID_DATA");
        assert_eq!(e.details[0].code, "INVALID_OTP");
        assert_eq!(e.details[0].target.as_deref(), Some("otp"));
        assert_eq!(
            e.details[0].inner_error.as_deref(),
            Some(r#"{"remainingAttempts":2}"#)
        );
    }

    #[test]
    fn non_json_error_body_becomes_http_code() {
        let e = ApiError::from_response(502, b"<html>bad gateway</html>");
        assert_eq!(e.code, "HTTP_502");
        assert!(e.message.contains("bad gateway"));
    }
}
