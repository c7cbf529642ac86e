//! The host's one error type.
//!
//! Variants keep three families apart: the caller's mistakes (unknown
//! capability, invalid input, bad tenant settings), the API's answers
//! (`Api`, `Token`), and a broken or misbehaving guest (`Trap`, `Limit`,
//! `InvalidOutput`). Every variant names the capability it happened in, and
//! none carries a secret: tokens and client secrets never reach an error.
//! Every error is bounded ([`Error::bounded`]): whatever the API or the
//! guest said, the texts are cut to documented lengths.

use serde::Serialize;

/// One entry of an API error body's `details` (PingOne's shape, onto which
/// connectors map other APIs' errors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorDetail {
    /// The detail code, e.g. `INVALID_OTP`.
    pub code: String,
    /// The field the API blames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The API's message.
    pub message: String,
    /// The `innerError`, as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_error: Option<serde_json::Value>,
}

/// Which per-invocation limit was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Limit {
    /// Linear memory beyond the cap.
    Memory,
    /// Guest CPU time beyond the epoch deadline.
    Cpu,
    /// Wall-clock time beyond the invocation deadline.
    WallClock,
    /// More outgoing requests than allowed.
    Requests,
    /// Input JSON larger than allowed.
    InputSize,
    /// Output JSON larger than allowed.
    OutputSize,
    /// A response body larger than allowed.
    ResponseSize,
    /// A request body larger than allowed.
    RequestSize,
    /// No instance slot free in the pool.
    Instances,
    /// The tenant's queue of waiting invocations is full.
    Concurrency,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Limit::Memory => "memory",
            Limit::Cpu => "CPU time",
            Limit::WallClock => "wall-clock time",
            Limit::Requests => "outgoing request count",
            Limit::InputSize => "input size",
            Limit::OutputSize => "output size",
            Limit::ResponseSize => "response body size",
            Limit::RequestSize => "request body size",
            Limit::Instances => "concurrent instance",
            Limit::Concurrency => "tenant concurrency",
        };
        f.write_str(name)
    }
}

/// Why an invocation (or loading a connector) failed.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Error {
    /// No loaded connector has such a capability.
    #[error("unknown capability '{capability}'")]
    UnknownCapability {
        /// The id asked for.
        capability: String,
    },
    /// Several loaded connectors have a capability of this id; name it as
    /// `connector/id`.
    #[error("capability '{capability}' is offered by {}: name it as connector/{capability}", connectors.join(" and "))]
    AmbiguousCapability {
        /// The id asked for.
        capability: String,
        /// The connectors that have it.
        connectors: Vec<String>,
    },
    /// The input broke the capability's contract (schema or semantic check).
    #[error("{capability}: invalid input at '{pointer}': {message}")]
    InvalidInput {
        /// Capability id.
        capability: String,
        /// JSON pointer of the offending field ("" for the whole input).
        pointer: String,
        /// Why.
        message: String,
    },
    /// The API answered with an error status.
    #[error("{capability}: the API returned {status} {code}: {message}")]
    Api {
        /// Capability id.
        capability: String,
        /// HTTP status.
        status: u16,
        /// The API's error id.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<Box<str>>,
        /// The API's code.
        code: String,
        /// The API's message.
        message: String,
        /// The API's details (at most [`MAX_DETAILS`]).
        details: Vec<ApiErrorDetail>,
        /// How many of the API's details were left out to keep the error bounded.
        #[serde(skip_serializing_if = "is_zero")]
        omitted_details: u32,
    },
    /// The request got no HTTP answer.
    #[error("{capability}: transport error ({code}): {message}")]
    Transport {
        /// Capability id.
        capability: String,
        /// `wasi:http` error code.
        code: String,
        /// What happened.
        message: String,
    },
    /// The guest asked for a URL outside the tenant's allowlist.
    #[error("{capability}: request to {url} denied: {reason}")]
    Denied {
        /// Capability id.
        capability: String,
        /// The URL, without query.
        url: String,
        /// Why it is not allowed.
        reason: String,
    },
    /// The host could not get a worker-app access token.
    #[error("{capability}: could not obtain an access token: {message}")]
    Token {
        /// Capability id.
        capability: String,
        /// HTTP status of the token endpoint, if it answered.
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// OAuth error code or transport code.
        code: String,
        /// What happened.
        message: String,
    },
    /// The guest trapped (panic, out of memory, bad instruction).
    #[error("{capability}: the connector trapped: {message}")]
    Trap {
        /// Capability id.
        capability: String,
        /// The trap and what the guest wrote to stderr.
        message: String,
    },
    /// A per-invocation limit was hit.
    #[error("{capability}: {limit} limit exceeded: {message}")]
    Limit {
        /// Capability id.
        capability: String,
        /// Which limit.
        limit: Limit,
        /// Details (the configured limit).
        message: String,
    },
    /// The guest's output is not what its schema promises.
    #[error("{capability}: the connector's output is invalid at '{pointer}': {message}")]
    InvalidOutput {
        /// Capability id.
        capability: String,
        /// JSON pointer into the output.
        pointer: String,
        /// Why.
        message: String,
    },
    /// The connector reported an internal error.
    #[error("{capability}: connector error: {message}")]
    Internal {
        /// Capability id.
        capability: String,
        /// The connector's message.
        message: String,
    },
    /// A tenant's limits or connection settings are unusable.
    #[error("invalid tenant settings: {field}: {message}")]
    Tenant {
        /// The setting.
        field: String,
        /// Why.
        message: String,
    },
    /// A component could not be loaded or does not fit the host.
    #[error("cannot load the connector component: {message}")]
    Load {
        /// Why.
        message: String,
    },
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Longest `message` an error carries (the API's, the guest's, a trap's).
pub const MAX_MESSAGE_BYTES: usize = 2048;
/// Most API `details` an error carries; the rest are counted in `omittedDetails`.
pub const MAX_DETAILS: usize = 32;
/// Longest message of one detail.
pub const MAX_DETAIL_MESSAGE_BYTES: usize = 512;
/// Longest code, id, target, pointer or URL.
pub const MAX_FIELD_BYTES: usize = 256;
/// Longest `innerError`, as JSON text; a longer one is dropped.
pub const MAX_INNER_ERROR_BYTES: usize = 2048;
/// Longest `summary`.
pub const MAX_SUMMARY_BYTES: usize = 1024;

/// Cuts `text` to at most `max` bytes at a character boundary, marking the cut.
fn truncate(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
}

/// `text` on one line: line breaks and other control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl Error {
    /// The error as the JSON object the CLI prints: `{"error": {...}}`, with
    /// a `summary` of one line and at most [`MAX_SUMMARY_BYTES`].
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = body.as_object_mut() {
            map.insert("summary".into(), serde_json::Value::String(self.summary()));
        }
        serde_json::json!({ "error": body })
    }

    /// One line that says what happened, at most [`MAX_SUMMARY_BYTES`].
    pub fn summary(&self) -> String {
        let mut summary = one_line(&self.to_string());
        truncate(&mut summary, MAX_SUMMARY_BYTES);
        summary
    }

    /// Whether the guest itself broke: it trapped, produced output that is
    /// not its schema's, or exceeded a limit on what it does (memory, CPU,
    /// wall-clock time, output size, requests sent and their bodies). Limits
    /// on what others do (the caller's input size, the tenant's queue,
    /// the API's response size, the host's instance pool) are not its fault.
    pub fn is_guest_fault(&self) -> bool {
        match self {
            Error::Trap { .. } | Error::InvalidOutput { .. } => true,
            Error::Limit { limit, .. } => matches!(
                limit,
                Limit::Memory
                    | Limit::Cpu
                    | Limit::WallClock
                    | Limit::OutputSize
                    | Limit::Requests
                    | Limit::RequestSize
            ),
            _ => false,
        }
    }

    /// This error with every text cut to its bound (the `MAX_*` constants),
    /// and as a whole no larger than `max_bytes` of JSON: details are left
    /// out from the end, then the message is shortened, until it fits. A
    /// server (or an impostor) that answers with a megabyte of message and ten
    /// thousand details still produces a small error.
    pub fn bounded(mut self, max_bytes: usize) -> Error {
        self.truncate_fields();
        while self.to_json().to_string().len() > max_bytes {
            match &mut self {
                Error::Api {
                    details,
                    omitted_details,
                    ..
                } if !details.is_empty() => {
                    details.pop();
                    *omitted_details += 1;
                }
                _ => {
                    let Some(message) = self.message_mut() else {
                        break;
                    };
                    if message.len() <= 64 {
                        break;
                    }
                    let half = message.len() / 2;
                    truncate(message, half);
                }
            }
        }
        self
    }

    fn message_mut(&mut self) -> Option<&mut String> {
        match self {
            Error::InvalidInput { message, .. }
            | Error::Api { message, .. }
            | Error::Transport { message, .. }
            | Error::Denied {
                reason: message, ..
            }
            | Error::Token { message, .. }
            | Error::Trap { message, .. }
            | Error::Limit { message, .. }
            | Error::InvalidOutput { message, .. }
            | Error::Internal { message, .. }
            | Error::Tenant { message, .. }
            | Error::Load { message } => Some(message),
            Error::UnknownCapability { .. } | Error::AmbiguousCapability { .. } => None,
        }
    }

    fn truncate_fields(&mut self) {
        if let Some(message) = self.message_mut() {
            truncate(message, MAX_MESSAGE_BYTES);
        }
        match self {
            Error::UnknownCapability { capability }
            | Error::AmbiguousCapability { capability, .. } => {
                truncate(capability, MAX_FIELD_BYTES)
            }
            Error::InvalidInput { pointer, .. } | Error::InvalidOutput { pointer, .. } => {
                truncate(pointer, MAX_FIELD_BYTES)
            }
            Error::Api {
                id,
                code,
                details,
                omitted_details,
                ..
            } => {
                truncate(code, MAX_FIELD_BYTES);
                if let Some(text) = id {
                    let mut cut = text.to_string();
                    truncate(&mut cut, MAX_FIELD_BYTES);
                    *text = cut.into();
                }
                if details.len() > MAX_DETAILS {
                    let omitted = details.len() - MAX_DETAILS;
                    *omitted_details += u32::try_from(omitted).unwrap_or(u32::MAX);
                    details.truncate(MAX_DETAILS);
                }
                for d in details {
                    truncate(&mut d.code, MAX_FIELD_BYTES);
                    truncate(&mut d.message, MAX_DETAIL_MESSAGE_BYTES);
                    if let Some(target) = &mut d.target {
                        truncate(target, MAX_FIELD_BYTES);
                    }
                    if d.inner_error
                        .as_ref()
                        .is_some_and(|i| i.to_string().len() > MAX_INNER_ERROR_BYTES)
                    {
                        d.inner_error = None;
                    }
                }
            }
            Error::Transport { code, .. } | Error::Token { code, .. } => {
                truncate(code, MAX_FIELD_BYTES)
            }
            Error::Denied { url, .. } => truncate(url, MAX_FIELD_BYTES),
            Error::Tenant { field, .. } => truncate(field, MAX_FIELD_BYTES),
            _ => {}
        }
    }

    pub(crate) fn load(message: impl std::fmt::Display) -> Self {
        Error::Load {
            message: message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_api_error_is_cut_to_its_bounds() {
        let detail = |i: usize| ApiErrorDetail {
            code: format!("CODE_{i}"),
            target: Some("otp".into()),
            message: "m".repeat(10_000),
            inner_error: Some(serde_json::json!({ "blob": "x".repeat(10_000) })),
        };
        let huge = Error::Api {
            capability: "readDevice".into(),
            status: 400,
            id: Some("e".repeat(10_000).into()),
            code: "INVALID_DATA".into(),
            message: "line one\nline two ".repeat(60_000),
            details: (0..10_000).map(detail).collect(),
            omitted_details: 0,
        };
        let bounded = huge.bounded(4 << 20);
        let json = bounded.to_json().to_string();
        assert!(json.len() < 64 * 1024, "{} bytes", json.len());
        let Error::Api {
            message,
            details,
            omitted_details,
            ..
        } = &bounded
        else {
            panic!("still an API error")
        };
        assert!(message.len() <= MAX_MESSAGE_BYTES && message.ends_with('…'));
        assert_eq!(details.len(), MAX_DETAILS);
        assert_eq!(*omitted_details as usize, 10_000 - MAX_DETAILS);
        assert!(details[0].inner_error.is_none());
        let summary = bounded.summary();
        assert!(summary.len() <= MAX_SUMMARY_BYTES && !summary.contains('\n'));

        let tight = bounded.bounded(1024);
        assert!(tight.to_json().to_string().len() <= 1024);
    }
}
