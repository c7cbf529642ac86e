//! The host's one error type.
//!
//! Variants keep three families apart: the caller's mistakes (unknown
//! capability, invalid input, bad tenant settings), PingOne's answers
//! (`Api`, `Token`), and a broken or misbehaving guest (`Trap`, `Limit`,
//! `InvalidOutput`). Every variant names the capability it happened in, and
//! none carries a secret: tokens and client secrets never reach an error.

use serde::Serialize;

/// One entry of a PingOne error body's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorDetail {
    /// PingOne detail code, e.g. `INVALID_OTP`.
    pub code: String,
    /// The field PingOne blames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// PingOne's message.
    pub message: String,
    /// PingOne's `innerError`, as JSON.
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

/// Why an invocation (or loading the connector) failed.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Error {
    /// The connector has no such capability.
    #[error("unknown capability '{capability}'")]
    UnknownCapability {
        /// The id asked for.
        capability: String,
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
    /// PingOne answered with an error status.
    #[error("{capability}: PingOne returned {status} {code}: {message}")]
    Api {
        /// Capability id.
        capability: String,
        /// HTTP status.
        status: u16,
        /// PingOne error id.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// PingOne code.
        code: String,
        /// PingOne message.
        message: String,
        /// PingOne details.
        details: Vec<ApiErrorDetail>,
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
    #[error("{capability}: could not obtain a PingOne access token: {message}")]
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
    /// Tenant settings are unusable.
    #[error("invalid tenant settings: {field}: {message}")]
    Tenant {
        /// The setting.
        field: String,
        /// Why.
        message: String,
    },
    /// The component could not be loaded or does not fit the host.
    #[error("cannot load the connector component: {message}")]
    Load {
        /// Why.
        message: String,
    },
}

impl Error {
    /// The error as the JSON object the CLI prints: `{"error": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = body.as_object_mut() {
            map.insert(
                "summary".into(),
                serde_json::Value::String(self.to_string()),
            );
        }
        serde_json::json!({ "error": body })
    }

    /// Whether the guest itself broke (trap, limit, bad output), as opposed to
    /// the caller or PingOne saying no.
    pub fn is_guest_fault(&self) -> bool {
        matches!(
            self,
            Error::Trap { .. } | Error::Limit { .. } | Error::InvalidOutput { .. }
        )
    }

    pub(crate) fn load(message: impl std::fmt::Display) -> Self {
        Error::Load {
            message: message.to_string(),
        }
    }
}
