//! Pairing keys (management API):
//! `POST /v1/environments/{envId}/users/{userId}/pairingKeys`,
//! `GET|DELETE .../pairingKeys/{pairingKeyId}` (reference §3.17–3.19), and
//! the claim a mobile app makes with a key (emulator control endpoint).
//!
//! Emulator choices (inferred):
//! * The code follows `mfaSettings.pairing.pairingKeyFormat`: NUMERIC (the
//!   seeded default) gives 14 random digits, like the key in PingOne's
//!   published example (`01552143316127`; the SDK document's enum
//!   description says 12 digits, the example wins), ALPHANUMERIC gives 16
//!   upper-case letters and digits (the SDK document's description). Keys
//!   live the shortest
//!   `pairingKeyLifetime` of their applications in the policy (default
//!   10 minutes).
//! * At most [`MAX_VALID_KEYS`] valid (unexpired, unclaimed) keys per user:
//!   the next create answers 400 REQUEST_FAILED / LIMIT_EXCEEDED.
//! * Expired unclaimed keys are purged: reads and deletes answer 404.
//!   Claimed keys do not expire.
//! * Only unclaimed keys can be deleted: deleting a CLAIMED key answers
//!   400 REQUEST_FAILED.
//! * No `applications` (or an empty list) means every native application of
//!   the environment (the emulator has one, the seed's `application_id`);
//!   unknown application IDs are 400 INVALID_VALUE.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde_json::{json, Map, Value};

use crate::body::{self, opt_str};
use crate::devices::{self, Device, DeviceStatus, DeviceType};
use crate::error::{ApiError, ApiResult, Detail};
use crate::policies;
use crate::state::{AppState, Environment};
use crate::time::rfc3339_ms;

pub const MAX_VALID_KEYS: usize = 20;
pub const DEFAULT_LIFETIME_MS: i64 = 10 * 60_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PairingKeyStatus {
    Unclaimed,
    Claimed,
}

#[derive(Clone, Debug)]
pub struct PairingKey {
    pub id: String,
    pub environment_id: String,
    pub user_id: String,
    pub code: String,
    pub status: PairingKeyStatus,
    pub applications: Vec<String>,
    pub policy_id: String,
    /// The MOBILE device created by the claim.
    pub device_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

impl PairingKey {
    pub fn to_json(&self, state: &AppState) -> Value {
        let user_href = state.user_href(&self.environment_id, &self.user_id);
        json!({
            "_links": {
                "self": {"href": format!("{user_href}/pairingKeys/{}", self.id)},
                "environment": {"href": state.env_href(&self.environment_id)},
                "user": {"href": user_href}
            },
            "id": self.id,
            "environment": {"id": self.environment_id},
            "code": self.code,
            "status": match self.status {
                PairingKeyStatus::Unclaimed => "UNCLAIMED",
                PairingKeyStatus::Claimed => "CLAIMED",
            },
            "applications": self.applications.iter().map(|a| json!({"id": a})).collect::<Vec<_>>(),
            "user": {"id": self.user_id},
            "createdAt": rfc3339_ms(self.created_at),
            "updatedAt": rfc3339_ms(self.updated_at),
            "expiresAt": rfc3339_ms(self.expires_at)
        })
    }

    fn valid(&self, now: i64) -> bool {
        self.status == PairingKeyStatus::Unclaimed && now < self.expires_at
    }
}

fn purge(env: &mut Environment, now: i64) {
    env.pairing_keys
        .retain(|_, k| k.status == PairingKeyStatus::Claimed || now < k.expires_at);
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Unable to find pairing key with ID: {id}"))
}

/// A new key code in the environment's `pairingKeyFormat` (see the module
/// comment).
fn random_code(format: &str) -> String {
    const DIGITS: &[u8] = b"0123456789";
    const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let (alphabet, len) = if format == "ALPHANUMERIC" {
        (ALPHANUMERIC, 16)
    } else {
        (DIGITS, 14)
    };
    let mut r = rand::thread_rng();
    (0..len)
        .map(|_| char::from(alphabet[r.gen_range(0..alphabet.len())]))
        .collect()
}

/// The key lifetime: the shortest `pairingKeyLifetime` of the key's
/// applications in the policy.
fn lifetime_ms(policy: &Value, apps: &[String]) -> i64 {
    policy["mobile"]["applications"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| {
            a["id"]
                .as_str()
                .is_some_and(|id| apps.iter().any(|x| x == id))
        })
        .filter_map(|a| policies::duration_ms(&a["pairingKeyLifetime"]))
        .min()
        .unwrap_or(DEFAULT_LIFETIME_MS)
}

fn create(
    state: &AppState,
    env_id: &str,
    user_id: &str,
    b: &Map<String, Value>,
) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(env_id)?;
    env.user(user_id)?;
    purge(env, now);
    let policy = env.requested_policy(b)?;
    let mut apps = Vec::new();
    match b.get("applications") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for (i, item) in a.iter().enumerate() {
                let target = format!("applications[{i}].id");
                let id = item["id"].as_str().ok_or_else(|| {
                    ApiError::required_value(&target, format!("{target} is required"))
                })?;
                if id != env.mobile_app_id {
                    return Err(ApiError::invalid_value(
                        &target,
                        format!("Unable to find native application with ID: {id}"),
                    ));
                }
                if !apps.iter().any(|x| x == id) {
                    apps.push(id.to_string());
                }
            }
        }
        Some(_) => {
            return Err(ApiError::invalid_value(
                "applications",
                "applications must be an array",
            ))
        }
    }
    if apps.is_empty() {
        apps.push(env.mobile_app_id.clone());
    }
    let valid = env
        .pairing_keys
        .values()
        .filter(|k| k.user_id == user_id && k.valid(now))
        .count();
    if valid >= MAX_VALID_KEYS {
        return Err(ApiError::request_failed(
            Detail::new(
                "LIMIT_EXCEEDED",
                None,
                format!("A user can have at most {MAX_VALID_KEYS} valid pairing keys"),
            )
            .inner(json!({"maximumAllowed": MAX_VALID_KEYS})),
        ));
    }
    let key = PairingKey {
        id: uuid::Uuid::new_v4().to_string(),
        environment_id: env_id.to_string(),
        user_id: user_id.to_string(),
        code: random_code(&env.mfa_settings.pairing_key_format),
        status: PairingKeyStatus::Unclaimed,
        expires_at: now + lifetime_ms(&policy, &apps),
        applications: apps,
        policy_id: policy["id"].as_str().unwrap_or_default().to_string(),
        device_id: None,
        created_at: now,
        updated_at: now,
    };
    let v = key.to_json(state);
    env.pairing_keys.insert(key.id.clone(), key);
    Ok(v)
}

/// What the PingOne MFA mobile SDK does with a pairing key: the key becomes
/// CLAIMED and its user gets an ACTIVE MOBILE device (appended to the
/// order). Body fields: `code` (required), `os{type,version}`,
/// `model{name,marketingName}`, `applicationId` (default: the key's first
/// application), `nativeName`, `version`. Unknown code → 404; claimed or
/// expired → 400 REQUEST_FAILED.
pub fn claim(state: &AppState, env_id: &str, b: &Map<String, Value>) -> ApiResult<Value> {
    let code = opt_str(b, "code", "code")?
        .ok_or_else(|| ApiError::required_value("code", "code is required"))?
        .to_string();
    let os = match b.get("os") {
        None | Some(Value::Null) => json!({"type": "iOS", "version": "17.4"}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Err(ApiError::invalid_value("os", "os must be an object")),
    };
    let model = match b.get("model") {
        None | Some(Value::Null) => json!({"name": "iPhone15,2", "marketingName": "iPhone 14 Pro"}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Err(ApiError::invalid_value("model", "model must be an object")),
    };
    let app_id = opt_str(b, "applicationId", "applicationId")?.map(str::to_string);
    let native_name = opt_str(b, "nativeName", "nativeName")?
        .unwrap_or("PingOne MFA Emulator App")
        .to_string();
    let version = opt_str(b, "version", "version")?
        .unwrap_or("1.0.0")
        .to_string();

    let now = state.now_ms();
    let mut store = state.lock();
    let seq = store.next_seq();
    let env = store.env_mut(env_id)?;
    let key = env
        .pairing_keys
        .values()
        .find(|k| k.code == code)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Unable to find a pairing key with this code"))?;
    if key.status == PairingKeyStatus::Claimed {
        return Err(ApiError::request_failed(Detail::new(
            "INVALID_VALUE",
            Some("code"),
            "The pairing key was already claimed",
        )));
    }
    if now >= key.expires_at {
        return Err(ApiError::request_failed(Detail::new(
            "INVALID_VALUE",
            Some("code"),
            "The pairing key has expired",
        )));
    }
    let app_id = match app_id {
        Some(a) if key.applications.contains(&a) => a,
        Some(a) => {
            return Err(ApiError::invalid_value(
                "applicationId",
                format!("The pairing key is not valid for application {a}"),
            ))
        }
        None => key.applications[0].clone(),
    };
    let max = env.mfa_settings.max_allowed_devices;
    let count = env
        .devices
        .values()
        .filter(|d| d.user_id == key.user_id)
        .count() as u64;
    if count >= max {
        return Err(ApiError::request_failed(
            Detail::new(
                "LIMIT_EXCEEDED",
                None,
                "Maximum allowed devices has been reached",
            )
            .inner(json!({"maximumAllowed": max})),
        ));
    }
    let mut d = Device::new(
        devices::new_device_id(),
        env_id,
        &key.user_id,
        DeviceType::Mobile,
        DeviceStatus::Active,
        key.policy_id.clone(),
        now,
    );
    d.seq = seq;
    let mut extra = Map::new();
    extra.insert(
        "application".into(),
        json!({"id": app_id, "nativeName": native_name, "version": version}),
    );
    extra.insert("os".into(), os);
    extra.insert("model".into(), model);
    extra.insert("pushEnabled".into(), json!(true));
    extra.insert("otpEnabled".into(), json!(true));
    extra.insert("usableStatus".into(), json!({"status": "ENABLED"}));
    extra.insert("pushStatus".into(), json!({"status": "ENABLED"}));
    extra.insert("otpStatus".into(), json!({"status": "ENABLED"}));
    d.mobile = Some(extra);
    let device_id = d.id.clone();
    let v = d.to_json(state);
    env.devices.insert(device_id.clone(), d);
    devices::append_to_order(env, &key.user_id, &device_id, now);
    if let Some(k) = env.pairing_keys.get_mut(&key.id) {
        k.status = PairingKeyStatus::Claimed;
        k.device_id = Some(device_id);
        k.updated_at = now;
    }
    Ok(v)
}

type KeyPath = Path<(String, String, String)>;

/// `POST .../users/{userId}/pairingKeys` (application/json) → 201.
pub async fn create_handler(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Response> {
    body::require_json(&headers)?;
    let b = body::parse_object_or_empty(&raw)?;
    let v = create(&state, &env_id, &user_id, &b)?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `GET .../users/{userId}/pairingKeys/{id}` → 200 (404 unknown / expired).
pub async fn read_handler(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id, id)): KeyPath,
) -> ApiResult<Json<Value>> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(&env_id)?;
    env.user(&user_id)?;
    purge(env, now);
    env.pairing_keys
        .get(&id)
        .filter(|k| k.user_id == user_id)
        .map(|k| Json(k.to_json(&state)))
        .ok_or_else(|| not_found(&id))
}

/// `DELETE .../users/{userId}/pairingKeys/{id}` → 204 (unclaimed keys only).
pub async fn delete_handler(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id, id)): KeyPath,
) -> ApiResult<StatusCode> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(&env_id)?;
    env.user(&user_id)?;
    purge(env, now);
    let k = env
        .pairing_keys
        .get(&id)
        .filter(|k| k.user_id == user_id)
        .ok_or_else(|| not_found(&id))?;
    if k.status == PairingKeyStatus::Claimed {
        return Err(ApiError::request_failed(Detail::new(
            "INVALID_VALUE",
            Some("status"),
            "Only unclaimed pairing keys can be deleted",
        )));
    }
    env.pairing_keys.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}
