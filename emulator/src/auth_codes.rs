//! Authentication codes (auth host): `POST /{envId}/authenticationCodes`,
//! `GET /{envId}/authenticationCodes/{id}` (reference §3.20–3.21), plus the
//! claim and approval a mobile app makes (emulator control endpoints).
//!
//! Emulator choices (the statuses after UNCLAIMED are not documented):
//! * `UNCLAIMED` → `CLAIMED` (the mobile app scanned the code: `user.id` and
//!   `_embedded.device` are set) → `COMPLETED` once the user approves, or
//!   `DENIED` when they refuse. With `userApproval: NOT_REQUIRED` the claim
//!   goes straight to `COMPLETED`.
//! * A code that is still UNCLAIMED or CLAIMED at `expiresAt` reads as
//!   `EXPIRED` (it is kept, not purged) and can no longer be claimed.
//! * `application.id` must be a native application of the environment (the
//!   seed's `application_id`); otherwise 400 INVALID_VALUE.
//! * The claim needs an ACTIVE MOBILE device of the user (`deviceId`, or the
//!   user's first one); without one it is 400 REQUEST_FAILED.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::body::{self, opt_str};
use crate::devices::{self, DeviceStatus, DeviceType};
use crate::error::{ApiError, ApiResult, Detail};
use crate::state::AppState;
use crate::time::rfc3339_ms;

pub const MIN_LIFETIME_MS: i64 = 10_000;
pub const MAX_LIFETIME_MS: i64 = 30 * 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthCodeStatus {
    Unclaimed,
    Claimed,
    Completed,
    Denied,
}

#[derive(Clone, Debug)]
pub struct AuthCode {
    pub id: String,
    pub environment_id: String,
    pub code: String,
    pub application_id: String,
    pub client_context: Option<Value>,
    pub duration: u64,
    pub time_unit: String,
    pub user_approval: String,
    pub status: AuthCodeStatus,
    pub user_id: Option<String>,
    /// `{id, os{version,type}, model{name,marketingName},
    /// application{nativeName,version}}` after the claim.
    pub device: Option<Value>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

impl AuthCode {
    /// The status as read at `now` (UNCLAIMED / CLAIMED become EXPIRED after
    /// `expiresAt`).
    pub fn status_at(&self, now: i64) -> &'static str {
        match self.status {
            AuthCodeStatus::Unclaimed | AuthCodeStatus::Claimed if now >= self.expires_at => {
                "EXPIRED"
            }
            AuthCodeStatus::Unclaimed => "UNCLAIMED",
            AuthCodeStatus::Claimed => "CLAIMED",
            AuthCodeStatus::Completed => "COMPLETED",
            AuthCodeStatus::Denied => "DENIED",
        }
    }

    pub fn to_json(&self, state: &AppState, now: i64) -> Value {
        let mut m = Map::new();
        m.insert(
            "_links".into(),
            json!({"self": {"href": format!(
                "{}/{}/authenticationCodes/{}",
                state.auth_url, self.environment_id, self.id
            )}}),
        );
        m.insert("id".into(), json!(self.id));
        m.insert("environment".into(), json!({"id": self.environment_id}));
        m.insert("code".into(), json!(self.code));
        m.insert(
            "uri".into(),
            json!(format!("pingonesdk?authentication_code={}", self.code)),
        );
        m.insert("application".into(), json!({"id": self.application_id}));
        if let Some(c) = &self.client_context {
            m.insert("clientContext".into(), c.clone());
        }
        m.insert(
            "lifeTime".into(),
            json!({"duration": self.duration, "timeUnit": self.time_unit}),
        );
        m.insert("userApproval".into(), json!(self.user_approval));
        m.insert("status".into(), json!(self.status_at(now)));
        if let Some(u) = &self.user_id {
            m.insert("user".into(), json!({"id": u}));
        }
        if let Some(d) = &self.device {
            m.insert("_embedded".into(), json!({"device": d}));
        }
        m.insert("createdAt".into(), json!(rfc3339_ms(self.created_at)));
        m.insert("updatedAt".into(), json!(rfc3339_ms(self.updated_at)));
        m.insert("expiresAt".into(), json!(rfc3339_ms(self.expires_at)));
        Value::Object(m)
    }
}

/// 8 characters, digits and upper-case letters.
fn random_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut r = rand::thread_rng();
    (0..8)
        .map(|_| ALPHABET[r.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Unable to find authentication code with ID: {id}"))
}

fn lifetime_error(msg: &str) -> ApiError {
    ApiError::invalid_data(
        Detail::new("INVALID_VALUE", Some("lifeTime.duration"), msg)
            .inner(json!({"rangeMinimumValue": "10 SECONDS", "rangeMaximumValue": "30 MINUTES"})),
    )
}

fn create(state: &AppState, env_id: &str, b: &Map<String, Value>) -> ApiResult<Value> {
    let application_id = match b.get("application") {
        Some(Value::Object(a)) => match a.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            None | Some(Value::Null) => {
                return Err(ApiError::required_value(
                    "application.id",
                    "application.id is required",
                ))
            }
            Some(_) => {
                return Err(ApiError::invalid_value(
                    "application.id",
                    "application.id must be a string",
                ))
            }
        },
        None | Some(Value::Null) => {
            return Err(ApiError::required_value(
                "application.id",
                "application.id is required",
            ))
        }
        Some(_) => {
            return Err(ApiError::invalid_value(
                "application",
                "application must be an object",
            ))
        }
    };
    let client_context = crate::body::opt_object(b, "clientContext")?;
    let (duration, time_unit) = match b.get("lifeTime") {
        None | Some(Value::Null) => (1u64, "MINUTES".to_string()),
        Some(Value::Object(lt)) => {
            let d = lt.get("duration").filter(|v| !v.is_null());
            let u = lt.get("timeUnit").filter(|v| !v.is_null());
            match (d, u) {
                (None, None) => (1, "MINUTES".to_string()),
                (Some(d), Some(u)) => {
                    let d = d.as_u64().ok_or_else(|| {
                        lifetime_error("lifeTime.duration must be a positive integer")
                    })?;
                    let u = match u.as_str() {
                        Some(s @ ("SECONDS" | "MINUTES")) => s.to_string(),
                        _ => {
                            return Err(ApiError::invalid_data(
                                Detail::new(
                                    "INVALID_VALUE",
                                    Some("lifeTime.timeUnit"),
                                    "lifeTime.timeUnit must be SECONDS or MINUTES",
                                )
                                .inner(json!({"allowedValues": ["SECONDS", "MINUTES"]})),
                            ))
                        }
                    };
                    (d, u)
                }
                _ => {
                    return Err(lifetime_error(
                        "lifeTime.duration and lifeTime.timeUnit must be sent together",
                    ))
                }
            }
        }
        Some(_) => {
            return Err(ApiError::invalid_value(
                "lifeTime",
                "lifeTime must be an object",
            ))
        }
    };
    let unit_ms: i64 = if time_unit == "SECONDS" {
        1_000
    } else {
        60_000
    };
    let lifetime = (duration.min(i64::MAX as u64 / 60_000) as i64) * unit_ms;
    if !(MIN_LIFETIME_MS..=MAX_LIFETIME_MS).contains(&lifetime) {
        return Err(lifetime_error(
            "lifeTime must be between 10 seconds and 30 minutes",
        ));
    }
    let user_approval = match opt_str(b, "userApproval", "userApproval")? {
        None => "REQUIRED".to_string(),
        Some(s @ ("REQUIRED" | "NOT_REQUIRED")) => s.to_string(),
        Some(_) => {
            return Err(ApiError::invalid_data(
                Detail::new(
                    "INVALID_VALUE",
                    Some("userApproval"),
                    "userApproval must be REQUIRED or NOT_REQUIRED",
                )
                .inner(json!({"allowedValues": ["REQUIRED", "NOT_REQUIRED"]})),
            ))
        }
    };

    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(env_id)?;
    if application_id != env.mobile_app_id {
        return Err(ApiError::invalid_value(
            "application.id",
            format!("Unable to find native application with ID: {application_id}"),
        ));
    }
    let ac = AuthCode {
        id: uuid::Uuid::new_v4().to_string(),
        environment_id: env_id.to_string(),
        code: random_code(),
        application_id,
        client_context,
        duration,
        time_unit,
        user_approval,
        status: AuthCodeStatus::Unclaimed,
        user_id: None,
        device: None,
        created_at: now,
        updated_at: now,
        expires_at: now + lifetime,
    };
    let v = ac.to_json(state, now);
    env.auth_codes.insert(ac.id.clone(), ac);
    Ok(v)
}

/// The mobile app claims (scans) the code for `user_id` on its MOBILE
/// device: UNCLAIMED → CLAIMED (→ COMPLETED at once when userApproval is
/// NOT_REQUIRED). Unknown code → 404; expired or already claimed → 400.
pub fn claim(
    state: &AppState,
    env_id: &str,
    code: &str,
    user_id: &str,
    device_id: Option<&str>,
) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(env_id)?;
    let id = env
        .auth_codes
        .values()
        .find(|c| c.code.eq_ignore_ascii_case(code))
        .map(|c| c.id.clone())
        .ok_or_else(|| {
            ApiError::not_found("Unable to find an authentication code with this code")
        })?;
    env.user(user_id)?;
    let mobile = devices::ordered_devices(env, user_id)
        .into_iter()
        .filter(|d| d.device_type == DeviceType::Mobile && d.status == DeviceStatus::Active)
        .find(|d| device_id.is_none_or(|id| id == d.id))
        .cloned()
        .ok_or_else(|| {
            ApiError::request_failed(Detail::new(
                "INVALID_VALUE",
                Some("deviceId"),
                "The user has no such ACTIVE MOBILE device",
            ))
        })?;
    let ac = env.auth_codes.get_mut(&id).expect("found above");
    match ac.status_at(now) {
        "UNCLAIMED" => {}
        other => {
            return Err(ApiError::request_failed(Detail::new(
                "INVALID_VALUE",
                Some("code"),
                format!("The authentication code cannot be claimed: it is {other}"),
            )))
        }
    }
    let extra = mobile.mobile.clone().unwrap_or_default();
    let app = extra.get("application").cloned().unwrap_or(Value::Null);
    ac.user_id = Some(user_id.to_string());
    ac.device = Some(json!({
        "id": mobile.id,
        "os": extra.get("os").cloned().unwrap_or(Value::Null),
        "model": extra.get("model").cloned().unwrap_or(Value::Null),
        "application": {"nativeName": app["nativeName"], "version": app["version"]}
    }));
    ac.status = if ac.user_approval == "NOT_REQUIRED" {
        AuthCodeStatus::Completed
    } else {
        AuthCodeStatus::Claimed
    };
    ac.updated_at = now;
    Ok(ac.to_json(state, now))
}

/// The user answers on the phone: CLAIMED → COMPLETED (`approve`) or DENIED.
pub fn approve(state: &AppState, env_id: &str, id: &str, approve: bool) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(env_id)?;
    let ac = env.auth_codes.get_mut(id).ok_or_else(|| not_found(id))?;
    let status = ac.status_at(now);
    if status != "CLAIMED" {
        return Err(ApiError::request_failed(Detail::new(
            "INVALID_VALUE",
            Some("status"),
            format!("The authentication code cannot be approved: it is {status}"),
        )));
    }
    ac.status = if approve {
        AuthCodeStatus::Completed
    } else {
        AuthCodeStatus::Denied
    };
    ac.updated_at = now;
    Ok(ac.to_json(state, now))
}

/// `POST /{envId}/authenticationCodes` (application/json) → 201.
pub async fn create_handler(
    State(state): State<Arc<AppState>>,
    Path(env_id): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Response> {
    body::require_json(&headers)?;
    let b = body::parse_object(&raw)?;
    let v = create(&state, &env_id, &b)?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `GET /{envId}/authenticationCodes/{id}` → 200.
pub async fn read_handler(
    State(state): State<Arc<AppState>>,
    Path((env_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let now = state.now_ms();
    let store = state.lock();
    let env = store.env(&env_id)?;
    env.auth_codes
        .get(&id)
        .map(|c| Json(c.to_json(&state, now)))
        .ok_or_else(|| not_found(&id))
}
