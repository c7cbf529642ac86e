//! PingOne error bodies (reference §2.3):
//! `{"id","code","message","details":[{"code","target","message","innerError"}]}`.
//! The token endpoint uses RFC 6749 bodies instead, see [`OAuthError`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

pub const MSG_INVALID_DATA: &str =
    "The request could not be completed. One or more validation errors were in the request.";
pub const MSG_REQUEST_FAILED: &str =
    "The request could not be completed. There was an issue processing the request.";
pub const MSG_ACCESS_FAILED: &str =
    "The request could not be completed. You do not have access to this resource.";
pub const MSG_FORBIDDEN: &str =
    "The request could not be completed. You do not have permissions or are not licensed to make this request.";

/// One entry of `details`.
#[derive(Debug, Clone)]
pub struct Detail {
    pub code: &'static str,
    pub target: Option<String>,
    pub message: String,
    pub inner_error: Option<Value>,
}

impl Detail {
    pub fn new(code: &'static str, target: Option<&str>, message: impl Into<String>) -> Self {
        Detail {
            code,
            target: target.map(str::to_owned),
            message: message.into(),
            inner_error: None,
        }
    }

    pub fn inner(mut self, inner: Value) -> Self {
        self.inner_error = Some(inner);
        self
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("code".into(), json!(self.code));
        if let Some(t) = &self.target {
            m.insert("target".into(), json!(t));
        }
        m.insert("message".into(), json!(self.message));
        if let Some(i) = &self.inner_error {
            m.insert("innerError".into(), i.clone());
        }
        Value::Object(m)
    }
}

/// A PingOne API error response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<Detail>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn detail(mut self, d: Detail) -> Self {
        self.details.push(d);
        self
    }

    /// 400 INVALID_DATA with one detail.
    pub fn invalid_data(d: Detail) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_DATA", MSG_INVALID_DATA).detail(d)
    }

    /// 400 INVALID_DATA / INVALID_VALUE on `target`.
    pub fn invalid_value(target: &str, message: impl Into<String>) -> Self {
        Self::invalid_data(Detail::new("INVALID_VALUE", Some(target), message))
    }

    /// 400 INVALID_DATA / REQUIRED_VALUE on `target`.
    pub fn required_value(target: &str, message: impl Into<String>) -> Self {
        Self::invalid_data(Detail::new("REQUIRED_VALUE", Some(target), message))
    }

    /// 400 REQUEST_FAILED with one detail.
    pub fn request_failed(d: Detail) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "REQUEST_FAILED",
            MSG_REQUEST_FAILED,
        )
        .detail(d)
    }

    /// 400 INVALID_DATA for a body that is not JSON (or not an object).
    pub fn malformed_json(reason: impl Into<String>) -> Self {
        Self::invalid_data(Detail::new(
            "INVALID_VALUE",
            Some("body"),
            format!("The request body is not valid JSON: {}", reason.into()),
        ))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub fn route_not_found() -> Self {
        Self::not_found("The requested resource was not found.")
    }

    pub fn user_not_found(user_id: &str) -> Self {
        Self::not_found(format!("Unable to find user with ID: {user_id}"))
    }

    pub fn device_not_found(device_id: &str) -> Self {
        Self::not_found(format!("Unable to find device with ID: {device_id}"))
    }

    pub fn environment_not_found(env_id: &str) -> Self {
        Self::not_found(format!("Unable to find environment with ID: {env_id}"))
    }

    /// 415 INVALID_REQUEST for a Content-Type the URL does not accept.
    pub fn unsupported_media_type(content_type: Option<&str>) -> Self {
        let msg = match content_type {
            Some(ct) => format!(
                "The request could not be completed. The Content-Type '{ct}' is not supported for this request."
            ),
            None => "The request could not be completed. A Content-Type header is required for this request.".to_string(),
        };
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "INVALID_REQUEST", msg)
    }

    /// 401 ACCESS_FAILED / INVALID_TOKEN.
    pub fn invalid_token(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "ACCESS_FAILED", MSG_ACCESS_FAILED)
            .detail(Detail::new("INVALID_TOKEN", None, message))
    }

    /// 403 ACCESS_FAILED / INSUFFICIENT_PERMISSIONS.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "ACCESS_FAILED", MSG_FORBIDDEN).detail(Detail::new(
            "INSUFFICIENT_PERMISSIONS",
            None,
            message,
        ))
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "The request could not be completed. The HTTP method is not supported for this resource.",
        )
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("code".into(), json!(self.code));
        m.insert("message".into(), json!(self.message));
        if !self.details.is_empty() {
            m.insert(
                "details".into(),
                Value::Array(self.details.iter().map(Detail::to_json).collect()),
            );
        }
        Value::Object(m)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.to_json())).into_response()
    }
}

/// RFC 6749 §5.2 error from the token endpoint.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"PingOne\""),
            );
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
