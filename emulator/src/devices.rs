//! MFA devices: `/v1/environments/{envId}/users/{userId}/devices...`.
//!
//! Create, read, list (with SCIM filter and `expand=order`), delete,
//! nickname, activation (OTP, TOTP, OATH, FIDO2 attestation), resending the
//! pairing OTP, and device order (set / remove).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::body::{self, opt_str};
use crate::error::{ApiError, ApiResult, Detail};
use crate::filter::{self, Attr, Filterable};
use crate::state::{AppState, Environment, Store};
use crate::time::rfc3339_ms;
use crate::{fido, oath, otp, policies, SentMessage};

pub const NICKNAME_MAX: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceType {
    Sms,
    Voice,
    Email,
    Totp,
    Mobile,
    Fido2,
    Platform,
    SecurityKey,
    OathToken,
    /// PingID (workforce) YubiKey: a hardware token typing 44-character
    /// modhex OTPs (see [`crate::otp::is_yubikey_otp`]).
    Yubikey,
}

impl DeviceType {
    pub const ALL: [DeviceType; 10] = [
        DeviceType::Email,
        DeviceType::Sms,
        DeviceType::Voice,
        DeviceType::Totp,
        DeviceType::Mobile,
        DeviceType::Fido2,
        DeviceType::Platform,
        DeviceType::SecurityKey,
        DeviceType::OathToken,
        DeviceType::Yubikey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Sms => "SMS",
            DeviceType::Voice => "VOICE",
            DeviceType::Email => "EMAIL",
            DeviceType::Totp => "TOTP",
            DeviceType::Mobile => "MOBILE",
            DeviceType::Fido2 => "FIDO2",
            DeviceType::Platform => "PLATFORM",
            DeviceType::SecurityKey => "SECURITY_KEY",
            DeviceType::OathToken => "OATH_TOKEN",
            DeviceType::Yubikey => "YUBIKEY",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceType> {
        DeviceType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// SMS, VOICE and EMAIL: PingOne sends the OTP.
    pub fn is_offline(self) -> bool {
        matches!(
            self,
            DeviceType::Sms | DeviceType::Voice | DeviceType::Email
        )
    }

    /// FIDO2 and the deprecated PLATFORM / SECURITY_KEY types.
    pub fn is_fido(self) -> bool {
        matches!(
            self,
            DeviceType::Fido2 | DeviceType::Platform | DeviceType::SecurityKey
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    Active,
    ActivationRequired,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Active => "ACTIVE",
            DeviceStatus::ActivationRequired => "ACTIVATION_REQUIRED",
        }
    }
}

/// A pairing OTP sent to an SMS/VOICE/EMAIL device.
#[derive(Clone, Debug)]
pub struct PendingOtp {
    pub code: String,
    pub issued_at: i64,
    pub failures: u32,
    /// Set once `otp.failure.count` wrong tries were made: a new OTP must be sent.
    pub exhausted: bool,
}

#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub user_id: String,
    pub environment_id: String,
    pub device_type: DeviceType,
    pub status: DeviceStatus,
    pub nickname: Option<String>,
    pub phone: Option<String>,
    pub extension: Option<String>,
    pub email: Option<String>,
    pub serial_number: Option<String>,
    pub rp_id: Option<String>,
    pub rp_name: Option<String>,
    pub platform: Option<String>,
    pub test_mode: bool,
    pub policy_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Creation sequence (stable "no particular order").
    pub seq: u64,
    pub pairing_otp: Option<PendingOtp>,
    pub totp_secret: Option<Vec<u8>>,
    pub key_uri: Option<String>,
    /// Wrong activation codes for TOTP / OATH_TOKEN since the last lock.
    pub code_failures: u32,
    /// TOTP / OATH_TOKEN activation is refused until then (policy coolDown).
    pub locked_until: i64,
    pub fido_challenge: Option<Vec<u8>>,
    pub creation_options: Option<String>,
    /// The FIDO credential ID, base64url without padding.
    pub credential_id: Option<String>,
    /// The FIDO credential public key (SEC1 uncompressed P-256 point).
    pub public_key: Option<Vec<u8>>,
    /// The FIDO signature counter last seen.
    pub sign_count: u32,
    /// The WebAuthn user handle (`user.id` of the creation options).
    pub user_handle: Option<Vec<u8>>,
    /// Authentication lock (too many wrong OTPs in device authentications):
    /// the device is unusable until then (emulator clock).
    pub lock_expires_at: i64,
    /// `OTP` (or `PUSH`) while locked.
    pub lock_reason: Option<String>,
    /// MOBILE devices: the extra fields (`application`, `os`, `model`,
    /// `pushEnabled`, `otpEnabled`, `usableStatus`, ...) merged into the JSON.
    pub mobile: Option<Map<String, Value>>,
    /// YUBIKEY devices: the key's public ID (the first 12 modhex characters
    /// of its OTPs), fixed by the OTP that activated the device.
    pub yubikey_public_id: Option<String>,
    /// YUBIKEY devices: OTPs already accepted (a YubiKey never repeats one;
    /// a replayed OTP is refused as INVALID_OTP).
    pub yubikey_used_otps: Vec<String>,
}

impl Filterable for Device {
    fn attr(&self, a: Attr) -> Option<&str> {
        match a {
            Attr::Status => Some(self.status.as_str()),
            Attr::Type => Some(self.device_type.as_str()),
            Attr::MobilePayload => None,
        }
    }
}

impl Device {
    /// A new device with every optional field empty.
    pub fn new(
        id: String,
        environment_id: &str,
        user_id: &str,
        device_type: DeviceType,
        status: DeviceStatus,
        policy_id: String,
        now: i64,
    ) -> Device {
        Device {
            id,
            user_id: user_id.to_string(),
            environment_id: environment_id.to_string(),
            device_type,
            status,
            nickname: None,
            phone: None,
            extension: None,
            email: None,
            serial_number: None,
            rp_id: None,
            rp_name: None,
            platform: None,
            test_mode: false,
            policy_id,
            created_at: now,
            updated_at: now,
            seq: 0,
            pairing_otp: None,
            totp_secret: None,
            key_uri: None,
            code_failures: 0,
            locked_until: 0,
            fido_challenge: None,
            creation_options: None,
            credential_id: None,
            public_key: None,
            sign_count: 0,
            user_handle: None,
            lock_expires_at: 0,
            lock_reason: None,
            mobile: None,
            yubikey_public_id: None,
            yubikey_used_otps: Vec::new(),
        }
    }

    /// Locked by too many wrong authentication OTPs (until the cool-down ends).
    pub fn is_locked(&self, now: i64) -> bool {
        now < self.lock_expires_at
    }

    /// The management-API representation (targets unmasked).
    pub fn to_json(&self, state: &AppState) -> Value {
        let user_href = state.user_href(&self.environment_id, &self.user_id);
        let self_href = format!("{user_href}/devices/{}", self.id);
        let mut links = json!({
            "self": {"href": self_href},
            "environment": {"href": state.env_href(&self.environment_id)},
            "user": {"href": user_href}
        });
        if self.status == DeviceStatus::ActivationRequired {
            links["activate"] = json!({"href": self_href});
        }
        let mut m = Map::new();
        m.insert("_links".into(), links);
        m.insert("id".into(), json!(self.id));
        m.insert("environment".into(), json!({"id": self.environment_id}));
        m.insert("user".into(), json!({"id": self.user_id}));
        m.insert("policy".into(), json!({"id": self.policy_id}));
        m.insert("type".into(), json!(self.device_type.as_str()));
        m.insert("status".into(), json!(self.status.as_str()));
        if let Some(n) = &self.nickname {
            m.insert("nickname".into(), json!(n));
        }
        if let Some(p) = &self.phone {
            m.insert("phone".into(), json!(p));
        }
        if let Some(x) = &self.extension {
            m.insert("extension".into(), json!(x));
        }
        if let Some(e) = &self.email {
            m.insert("email".into(), json!(e));
        }
        if let Some(s) = &self.serial_number {
            m.insert("serialNumber".into(), json!(s));
        }
        if self.device_type.is_fido() {
            if let Some(id) = &self.rp_id {
                m.insert(
                    "rp".into(),
                    json!({"id": id, "name": self.rp_name.clone().unwrap_or_default()}),
                );
            }
        }
        if let Some(p) = &self.platform {
            m.insert("platform".into(), json!(p));
        }
        if self.status == DeviceStatus::ActivationRequired {
            // TOTP secret / keyUri and FIDO creation options are only shown
            // until the device is activated.
            if let (Some(secret), Some(uri)) = (&self.totp_secret, &self.key_uri) {
                m.insert("secret".into(), json!(otp::base32(secret)));
                m.insert("keyUri".into(), json!(uri));
            }
            if let Some(o) = &self.creation_options {
                m.insert("publicKeyCredentialCreationOptions".into(), json!(o));
            }
        }
        if self.device_type == DeviceType::Fido2 {
            m.insert("attributes".into(), json!({"isCrossPlatform": false}));
        }
        if let Some(extra) = &self.mobile {
            for (k, v) in extra {
                m.insert(k.clone(), v.clone());
            }
        }
        if self.is_locked(state.now_ms()) {
            m.insert(
                "lock".into(),
                json!({
                    "status": "LOCKED",
                    "reason": self.lock_reason.clone().unwrap_or_else(|| "OTP".into()),
                    "expiresAt": rfc3339_ms(self.lock_expires_at)
                }),
            );
        }
        m.insert("createdAt".into(), json!(rfc3339_ms(self.created_at)));
        m.insert("updatedAt".into(), json!(rfc3339_ms(self.updated_at)));
        Value::Object(m)
    }
}

// ---------------------------------------------------------------------------
// Device order

/// The user's devices as GET lists them: active devices in order (default
/// first), then ACTIVATION_REQUIRED ones by creation.
pub fn ordered_devices<'a>(env: &'a Environment, user_id: &str) -> Vec<&'a Device> {
    let Some(user) = env.users.get(user_id) else {
        return Vec::new();
    };
    let mut all: Vec<&Device> = env
        .devices
        .values()
        .filter(|d| d.user_id == user_id)
        .collect();
    all.sort_by_key(|d| d.seq);
    let mut out: Vec<&Device> = Vec::new();
    if user.ordered {
        for id in &user.device_order {
            if let Some(d) = env.devices.get(id) {
                if d.status == DeviceStatus::Active && d.user_id == user_id {
                    out.push(d);
                }
            }
        }
    }
    for d in &all {
        if d.status == DeviceStatus::Active && !out.iter().any(|o| o.id == d.id) {
            out.push(d);
        }
    }
    for d in &all {
        if d.status == DeviceStatus::ActivationRequired {
            out.push(d);
        }
    }
    out
}

/// Appends a newly active device to the user's order (if the user's devices
/// are ordered).
pub fn append_to_order(env: &mut Environment, user_id: &str, device_id: &str, now: i64) {
    if let Some(u) = env.users.get_mut(user_id) {
        if u.ordered && !u.device_order.iter().any(|d| d == device_id) {
            u.device_order.push(device_id.to_string());
        }
        u.updated_at = now;
    }
}

fn list_json(
    state: &AppState,
    env: &Environment,
    user_id: &str,
    filter: Option<&filter::Filter>,
    expand_order: bool,
) -> Value {
    let devices: Vec<Value> = ordered_devices(env, user_id)
        .into_iter()
        .filter(|d| filter.is_none_or(|f| f.matches(*d)))
        .map(|d| d.to_json(state))
        .collect();
    let href = format!("{}/devices", state.user_href(&env.id, user_id));
    let n = devices.len();
    let mut embedded = json!({"devices": devices});
    if expand_order {
        let user = &env.users[user_id];
        let order: Vec<Value> = if user.ordered {
            user.device_order
                .iter()
                .filter(|id| {
                    env.devices
                        .get(*id)
                        .is_some_and(|d| d.status == DeviceStatus::Active)
                })
                .map(|id| json!({"id": id}))
                .collect()
        } else {
            Vec::new()
        };
        embedded["order"] = Value::Array(order);
    }
    json!({
        "_links": {
            "self": {"href": href},
            "devices.reorder": {"href": href}
        },
        "_embedded": embedded,
        "count": n,
        "size": n
    })
}

// ---------------------------------------------------------------------------
// Handlers

type UserPath = Path<(String, String)>;
type DevicePath = Path<(String, String, String)>;

/// `GET .../users/{userId}/devices[?expand=order][&filter=...]`
pub async fn list_devices(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id)): UserPath,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let filter = match q.get("filter") {
        Some(f) => Some(filter::parse(f).map_err(|reason| {
            ApiError::invalid_data(Detail::new(
                "INVALID_FILTER",
                Some("filter"),
                format!("Invalid filter: {reason}"),
            ))
        })?),
        None => None,
    };
    let expand_order = q
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "order"));
    let store = state.lock();
    let env = store.env(&env_id)?;
    env.user(&user_id)?;
    Ok(Json(list_json(
        &state,
        env,
        &user_id,
        filter.as_ref(),
        expand_order,
    )))
}

/// `POST .../users/{userId}/devices`: create (application/json), set order
/// (devices.reorder+json) or remove order (devices.order.remove+json).
pub async fn post_devices(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id)): UserPath,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Response> {
    match body::media_type(&headers).as_deref() {
        Some(body::JSON) => {
            let b = body::parse_object(&raw)?;
            let v = create_device(&state, &env_id, &user_id, &b)?;
            Ok((StatusCode::CREATED, Json(v)).into_response())
        }
        Some(body::DEVICES_REORDER) => {
            let b = body::parse_object(&raw)?;
            let v = set_order(&state, &env_id, &user_id, &b)?;
            Ok((StatusCode::OK, Json(v)).into_response())
        }
        Some(body::DEVICES_ORDER_REMOVE) => {
            remove_order(&state, &env_id, &user_id)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(ApiError::unsupported_media_type(
            body::content_type_raw(&headers).as_deref(),
        )),
    }
}

/// `DELETE .../users/{userId}/devices` with devices.order.remove+json (the
/// SDK's form of "remove device order").
pub async fn delete_devices(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id)): UserPath,
    headers: HeaderMap,
) -> ApiResult<Response> {
    match body::media_type(&headers).as_deref() {
        Some(body::DEVICES_ORDER_REMOVE) => {
            remove_order(&state, &env_id, &user_id)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(ApiError::unsupported_media_type(
            body::content_type_raw(&headers).as_deref(),
        )),
    }
}

/// `GET .../devices/{deviceId}`
pub async fn read_device(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id, device_id)): DevicePath,
) -> ApiResult<Json<Value>> {
    let store = state.lock();
    let env = store.env(&env_id)?;
    Ok(Json(env.device(&user_id, &device_id)?.to_json(&state)))
}

/// `POST .../devices/{deviceId}`: activate or resend the pairing OTP.
pub async fn post_device(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id, device_id)): DevicePath,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    match body::media_type(&headers).as_deref() {
        Some(body::DEVICE_ACTIVATE) => {
            let b = body::parse_object(&raw)?;
            activate(&state, &env_id, &user_id, &device_id, &b).map(Json)
        }
        Some(body::DEVICE_SEND_ACTIVATION_CODE) => {
            // The body is empty; tolerate `{}` but reject garbage.
            body::parse_object_or_empty(&raw)?;
            resend(&state, &env_id, &user_id, &device_id).map(Json)
        }
        _ => Err(ApiError::unsupported_media_type(
            body::content_type_raw(&headers).as_deref(),
        )),
    }
}

/// `DELETE .../devices/{deviceId}`: 204; the device leaves the order (if it
/// was the default, the next one becomes default).
pub async fn delete_device(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id, device_id)): DevicePath,
) -> ApiResult<StatusCode> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(&env_id)?;
    env.device(&user_id, &device_id)?;
    env.devices.remove(&device_id);
    oath::release(&mut env.oath_tokens, &device_id);
    if let Some(u) = env.users.get_mut(&user_id) {
        u.device_order.retain(|d| d != &device_id);
        u.updated_at = now;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT .../devices/{deviceId}/nickname` `{"nickname"}` → 200 device.
pub async fn update_nickname(
    State(state): State<Arc<AppState>>,
    Path((env_id, user_id, device_id)): DevicePath,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    body::require_json(&headers)?;
    let b = body::parse_object(&raw)?;
    let nickname = match b.get("nickname") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ApiError::required_value(
                "nickname",
                "nickname is required and must be a string",
            ))
        }
    };
    check_nickname(&nickname)?;
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(&env_id)?;
    let d = env.device_mut(&user_id, &device_id)?;
    d.nickname = Some(nickname);
    d.updated_at = now;
    Ok(Json(d.to_json(&state)))
}

// ---------------------------------------------------------------------------
// Validation helpers

fn check_nickname(n: &str) -> ApiResult<()> {
    if n.chars().count() > NICKNAME_MAX {
        return Err(ApiError::invalid_data(
            Detail::new(
                "INVALID_VALUE",
                Some("nickname"),
                format!("nickname must be at most {NICKNAME_MAX} characters"),
            )
            .inner(json!({"maximumValue": NICKNAME_MAX})),
        ));
    }
    Ok(())
}

/// `+`, a 1-3 digit country code and a 4-14 digit number: 5 to 17 digits in
/// all after the plus; dots, spaces, dashes and parentheses are separators.
pub fn valid_phone(p: &str) -> bool {
    let Some(rest) = p.trim().strip_prefix('+') else {
        return false;
    };
    let mut digits = 0;
    for c in rest.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' | ' ' | '-' | '(' | ')' => {}
            _ => return false,
        }
    }
    (5..=17).contains(&digits) && rest.starts_with(|c: char| c.is_ascii_digit() && c != '0')
}

pub fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.len() <= 254
}

fn valid_extension(x: &str) -> bool {
    !x.is_empty()
        && x.len() <= 50
        && x.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '#' | '*'))
}

/// The PLATFORM device's `platform`, from the user agent.
pub fn platform_from_user_agent(ua: Option<&str>) -> &'static str {
    let Some(ua) = ua else { return "BIOMETRICS" };
    if ua.contains("iPhone") || ua.contains("iPad") {
        "IPHONE"
    } else if ua.contains("Android") {
        "ANDROID"
    } else if ua.contains("Windows") {
        "WINDOWS"
    } else if ua.contains("Macintosh") || ua.contains("Mac OS X") {
        "MAC"
    } else {
        "BIOMETRICS"
    }
}

pub fn new_device_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Issues a fresh pairing OTP for an SMS/VOICE/EMAIL device. Test-mode
/// devices get it back in `test.otp`; others have it "sent" to the outbox.
pub fn issue_pairing_otp(
    store_outbox: &mut Vec<SentMessage>,
    d: &mut Device,
    now: i64,
) -> Option<String> {
    let code = otp::random_otp();
    d.pairing_otp = Some(PendingOtp {
        code: code.clone(),
        issued_at: now,
        failures: 0,
        exhausted: false,
    });
    if d.test_mode {
        return Some(code);
    }
    let to = match d.device_type {
        DeviceType::Email => d.email.clone().unwrap_or_default(),
        _ => d.phone.clone().unwrap_or_default(),
    };
    store_outbox.push(SentMessage {
        environment_id: d.environment_id.clone(),
        user_id: d.user_id.clone(),
        device_id: d.id.clone(),
        channel: d.device_type.as_str().to_string(),
        to,
        otp: code,
        purpose: "PAIRING".into(),
    });
    None
}

fn with_test_otp(mut v: Value, test_otp: Option<String>) -> Value {
    if let Some(code) = test_otp {
        v["test"] = json!({"otp": code});
    }
    v
}

// ---------------------------------------------------------------------------
// Create

fn create_device(
    state: &AppState,
    env_id: &str,
    user_id: &str,
    b: &Map<String, Value>,
) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut guard = state.lock();
    let store: &mut Store = &mut guard;
    let env = store
        .envs
        .get_mut(env_id)
        .ok_or_else(|| ApiError::environment_not_found(env_id))?;
    let user = env.user(user_id)?;
    let username = user.username.clone();

    // type
    let t = match b.get("type") {
        None | Some(Value::Null) => {
            return Err(ApiError::required_value("type", "type is required"))
        }
        Some(Value::String(s)) => DeviceType::parse(s).ok_or_else(|| {
            ApiError::invalid_data(
                Detail::new(
                    "INVALID_VALUE",
                    Some("type"),
                    format!("Unsupported device type: {s}"),
                )
                .inner(json!({"allowedValues": DeviceType::ALL
                        .iter()
                        .filter(|t| **t != DeviceType::Mobile)
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()})),
            )
        })?,
        Some(_) => return Err(ApiError::invalid_value("type", "type must be a string")),
    };
    if t == DeviceType::Mobile {
        return Err(ApiError::invalid_value(
            "type",
            "MOBILE devices cannot be created with this request; pair them with a pairing key",
        ));
    }

    // policy
    let policy = match b.get("policy") {
        None | Some(Value::Null) => env.default_policy().clone(),
        Some(Value::Object(p)) => match p.get("id") {
            None | Some(Value::Null) => env.default_policy().clone(),
            Some(Value::String(id)) => env.policy(id).cloned().ok_or_else(|| {
                ApiError::invalid_value(
                    "policy.id",
                    format!("Unable to find device authentication policy with ID: {id}"),
                )
            })?,
            Some(_) => {
                return Err(ApiError::invalid_value(
                    "policy.id",
                    "policy.id must be a string",
                ))
            }
        },
        Some(_) => {
            return Err(ApiError::invalid_value(
                "policy",
                "policy must be an object",
            ))
        }
    };
    if !policies::type_allowed(&policy, t) {
        return Err(ApiError::invalid_value(
            "type",
            format!(
                "Device type {} is not allowed by the device authentication policy",
                t.as_str()
            ),
        ));
    }
    let policy_id = policy["id"].as_str().unwrap_or_default().to_string();

    // status
    // YUBIKEY (inferred, PingID): like TOTP, created ACTIVATION_REQUIRED and
    // activated with an OTP the key types.
    let requires_activation = matches!(t, DeviceType::Totp | DeviceType::Yubikey) || t.is_fido();
    let status = match opt_str(b, "status", "status")? {
        None => {
            if requires_activation {
                DeviceStatus::ActivationRequired
            } else {
                DeviceStatus::Active
            }
        }
        Some("ACTIVE") if requires_activation => {
            return Err(ApiError::invalid_value(
                "status",
                format!(
                    "A {} device must be created with status ACTIVATION_REQUIRED",
                    t.as_str()
                ),
            ))
        }
        Some("ACTIVE") => DeviceStatus::Active,
        Some("ACTIVATION_REQUIRED") => DeviceStatus::ActivationRequired,
        Some(other) => {
            return Err(ApiError::invalid_data(
                Detail::new(
                    "INVALID_VALUE",
                    Some("status"),
                    format!("Invalid status: {other}"),
                )
                .inner(json!({"allowedValues": ["ACTIVE", "ACTIVATION_REQUIRED"]})),
            ))
        }
    };

    // nickname
    let nickname = opt_str(b, "nickname", "nickname")?.map(str::to_string);
    if let Some(n) = &nickname {
        check_nickname(n)?;
    }

    // testMode
    let test_mode = match b.get("testMode") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(v)) => *v,
        Some(_) => {
            return Err(ApiError::invalid_value(
                "testMode",
                "testMode must be a boolean",
            ))
        }
    };

    // notification: SMS/VOICE/EMAIL only, ACTIVATION_REQUIRED only; never stored.
    match b.get("notification") {
        None | Some(Value::Null) => {}
        Some(Value::Object(n)) => {
            if !t.is_offline() {
                return Err(ApiError::invalid_value(
                    "notification",
                    "notification is supported only for SMS, VOICE and EMAIL devices",
                ));
            }
            if status != DeviceStatus::ActivationRequired {
                return Err(ApiError::invalid_value(
                    "notification",
                    "notification requires status ACTIVATION_REQUIRED",
                ));
            }
            if let Some(p) = n.get("policy") {
                if !(p.is_object() && p.get("id").is_none_or(Value::is_string)) {
                    return Err(ApiError::invalid_value(
                        "notification.policy.id",
                        "notification.policy.id must be a string",
                    ));
                }
            }
            if let Some(tpl) = n.get("template") {
                let ok = tpl.as_object().is_some_and(|tpl| {
                    tpl.get("variant").is_none_or(Value::is_string)
                        && tpl.get("locale").is_none_or(Value::is_string)
                        && tpl.get("variables").is_none_or(|v| {
                            v.as_object()
                                .is_some_and(|m| m.values().all(|x| x.is_string() || x.is_number()))
                        })
                });
                if !ok {
                    return Err(ApiError::invalid_value(
                        "notification.template",
                        "notification.template must be {variant, locale, variables}",
                    ));
                }
            }
        }
        Some(_) => {
            return Err(ApiError::invalid_value(
                "notification",
                "notification must be an object",
            ))
        }
    }

    let mut device = Device::new(new_device_id(), env_id, user_id, t, status, policy_id, now);
    device.nickname = nickname;
    device.test_mode = test_mode;

    // type-specific fields
    match t {
        DeviceType::Email => {
            let email = opt_str(b, "email", "email")?.ok_or_else(|| {
                ApiError::required_value("email", "email is required for EMAIL devices")
            })?;
            if !valid_email(email) {
                return Err(ApiError::invalid_value(
                    "email",
                    "email must be a valid email address",
                ));
            }
            device.email = Some(email.to_string());
        }
        DeviceType::Sms | DeviceType::Voice => {
            let phone = opt_str(b, "phone", "phone")?.ok_or_else(|| {
                ApiError::required_value("phone", "phone is required for SMS and VOICE devices")
            })?;
            if !valid_phone(phone) {
                return Err(ApiError::invalid_data(
                    Detail::new(
                        "INVALID_VALUE",
                        Some("phone"),
                        "phone must be a valid phone number: a leading +, the country code and the number",
                    )
                    .inner(json!({"allowedPattern": "^\\+[1-9][0-9 .\\-()]{4,30}$"})),
                ));
            }
            device.phone = Some(phone.to_string());
            if let Some(x) = opt_str(b, "extension", "extension")? {
                if t != DeviceType::Voice {
                    return Err(ApiError::invalid_value(
                        "extension",
                        "extension is supported only for VOICE devices",
                    ));
                }
                if !valid_extension(x) {
                    return Err(ApiError::invalid_value(
                        "extension",
                        "extension may contain only digits, commas, # and *",
                    ));
                }
                device.extension = Some(x.to_string());
            }
        }
        DeviceType::Totp => {
            let secret = otp::random_secret();
            device.key_uri = Some(format!(
                "otpauth://totp/PingOne:{}?secret={}&issuer=PingOne",
                body::percent_encode(&username),
                otp::base32(&secret)
            ));
            device.totp_secret = Some(secret);
        }
        DeviceType::OathToken => {
            device.serial_number = Some(oath::serial_for_new_device(&env.oath_tokens, b)?);
        }
        DeviceType::Fido2 | DeviceType::Platform | DeviceType::SecurityKey => {
            let (rp_id, rp_name) = match b.get("rp") {
                None | Some(Value::Null) => (
                    fido::DEFAULT_RP_ID.to_string(),
                    fido::DEFAULT_RP_NAME.to_string(),
                ),
                Some(Value::Object(rp)) => {
                    let id = match rp.get("id") {
                        None | Some(Value::Null) => fido::DEFAULT_RP_ID.to_string(),
                        Some(Value::String(s))
                            if !s.is_empty()
                                && !s.contains(['/', ':', ' '])
                                && s.to_ascii_lowercase() == *s =>
                        {
                            s.clone()
                        }
                        Some(_) => {
                            return Err(ApiError::invalid_value(
                                "rp.id",
                                "rp.id must be a lower-case domain name",
                            ))
                        }
                    };
                    let name = match rp.get("name") {
                        None | Some(Value::Null) => fido::DEFAULT_RP_NAME.to_string(),
                        Some(Value::String(s)) => s.clone(),
                        Some(_) => {
                            return Err(ApiError::invalid_value(
                                "rp.name",
                                "rp.name must be a string",
                            ))
                        }
                    };
                    (id, name)
                }
                Some(_) => return Err(ApiError::invalid_value("rp", "rp must be an object")),
            };
            let ua = opt_str(b, "userAgent", "userAgent")?;
            if t == DeviceType::Platform {
                device.platform = Some(platform_from_user_agent(ua).to_string());
            }
            let challenge = match opt_str(b, "challenge", "challenge")? {
                Some(c) => {
                    use base64::Engine;
                    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(c.trim_end_matches('='))
                        .ok()
                        .filter(|b| b.len() >= 32)
                        .ok_or_else(|| {
                            ApiError::invalid_value(
                                "challenge",
                                "challenge must be base64url of at least 32 bytes",
                            )
                        })?;
                    bytes
                }
                None => fido::random_challenge(),
            };
            let attachment = match t {
                DeviceType::Platform => Some("platform"),
                DeviceType::SecurityKey => Some("cross-platform"),
                _ => None,
            };
            device.creation_options = Some(fido::creation_options(
                &challenge, &rp_id, &rp_name, user_id, &username, &username, attachment,
            ));
            device.fido_challenge = Some(challenge);
            device.rp_id = Some(rp_id);
            device.rp_name = Some(rp_name);
        }
        // Nothing to give: the public ID comes with the activating OTP.
        DeviceType::Yubikey => {}
        DeviceType::Mobile => unreachable!("rejected above"),
    }

    // pairing.maxAllowedDevices
    let max = env.mfa_settings.max_allowed_devices;
    let count = env
        .devices
        .values()
        .filter(|d| d.user_id == user_id)
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

    store.seq += 1;
    device.seq = store.seq;
    let env = store.envs.get_mut(env_id).expect("checked above");
    let test_otp = if t.is_offline() && status == DeviceStatus::ActivationRequired {
        issue_pairing_otp(&mut store.outbox, &mut device, now)
    } else {
        None
    };
    let id = device.id.clone();
    let v = with_test_otp(device.to_json(state), test_otp);
    if let Some(serial) = device.serial_number.as_deref() {
        oath::bind(&mut env.oath_tokens, serial, &id);
    }
    env.devices.insert(id.clone(), device);
    if status == DeviceStatus::Active {
        append_to_order(env, user_id, &id, now);
    }
    Ok(v)
}

// ---------------------------------------------------------------------------
// Activation

pub fn invalid_otp(remaining: u32) -> ApiError {
    ApiError::invalid_data(
        Detail::new("INVALID_OTP", Some("otp"), "Invalid OTP")
            .inner(json!({"remainingAttempts": remaining})),
    )
}

fn otp_exhausted() -> ApiError {
    ApiError::invalid_data(Detail::new(
        "INVALID_OTP",
        Some("otp"),
        "OTP expired or exhausted; resend",
    ))
}

fn activate(
    state: &AppState,
    env_id: &str,
    user_id: &str,
    device_id: &str,
    b: &Map<String, Value>,
) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(env_id)?;
    let device = env.device(user_id, device_id)?;
    if device.status == DeviceStatus::Active {
        return Err(ApiError::request_failed(Detail::new(
            "INVALID_VALUE",
            Some("status"),
            "The device is already active",
        )));
    }
    let t = device.device_type;
    let policy = env
        .policy(&device.policy_id)
        .unwrap_or_else(|| env.default_policy())
        .clone();

    let result: ApiResult<Option<fido::RegisteredCredential>> = if t.is_fido() {
        let attestation = b
            .get("attestation")
            .filter(|v| !v.is_null())
            .ok_or_else(|| ApiError::required_value("attestation", "attestation is required"))?;
        let origin = opt_str(b, "origin", "origin")?
            .ok_or_else(|| ApiError::required_value("origin", "origin is required"))?;
        let challenge = device.fido_challenge.clone().unwrap_or_default();
        let rp_id = device
            .rp_id
            .clone()
            .unwrap_or_else(|| fido::DEFAULT_RP_ID.into());
        fido::check_attestation(attestation, origin, &challenge, &rp_id).map(Some)
    } else {
        let code = match b.get("otp") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(ApiError::required_value("otp", "otp is required")),
        };
        let max_failures = policies::otp_failure_count(&policy, t).max(1);
        match t {
            DeviceType::Sms | DeviceType::Voice | DeviceType::Email => {
                let device = env.device_mut(user_id, device_id)?;
                let lifetime = policies::otp_lifetime_ms(&policy, t);
                let Some(p) = device.pairing_otp.as_mut() else {
                    return Err(otp_exhausted());
                };
                if p.exhausted || now - p.issued_at > lifetime {
                    return Err(otp_exhausted());
                }
                if otp::constant_eq(&p.code, code.trim()) {
                    Ok(None)
                } else {
                    p.failures += 1;
                    if p.failures >= max_failures {
                        p.exhausted = true;
                    }
                    device.updated_at = now;
                    return Err(invalid_otp(max_failures.saturating_sub(p.failures)));
                }
            }
            DeviceType::Totp | DeviceType::OathToken | DeviceType::Yubikey => {
                let device = env.device(user_id, device_id)?;
                if now < device.locked_until {
                    return Err(otp_exhausted());
                }
                let ok = match t {
                    DeviceType::Totp => device
                        .totp_secret
                        .as_deref()
                        .is_some_and(|s| otp::totp_matches(s, now, code.trim())),
                    // YUBIKEY (inferred): any well-formed YubiKey OTP (44
                    // modhex characters); its first 12 characters become the
                    // key's public ID. The AES part is not modelled.
                    DeviceType::Yubikey => otp::is_yubikey_otp(code.trim()),
                    // OATH tokens: the code of the bound token (see `oath`).
                    _ => {
                        let resync = oath::resync_flag(b)?;
                        let serial = device.serial_number.clone().unwrap_or_default();
                        match env.oath_tokens.get_mut(&serial) {
                            // Every OATH_TOKEN device is bound to a token of
                            // the inventory; without one no code can match.
                            None => false,
                            Some(token) if !resync => token.check(code.trim(), now),
                            Some(token) => match token.check_with_resync(code.trim(), now) {
                                oath::Verdict::Accepted => true,
                                oath::Verdict::Rejected => false,
                                oath::Verdict::ResyncNext => return Err(oath::resync_next_error()),
                            },
                        }
                    }
                };
                let device = env.device_mut(user_id, device_id)?;
                if ok {
                    if t == DeviceType::Yubikey {
                        let code = code.trim();
                        device.yubikey_public_id =
                            Some(code[..otp::YUBIKEY_PUBLIC_ID_LEN].to_string());
                        device.yubikey_used_otps.push(code.to_string());
                    }
                    Ok(None)
                } else {
                    device.code_failures += 1;
                    let remaining = max_failures.saturating_sub(device.code_failures);
                    if remaining == 0 {
                        device.code_failures = 0;
                        device.locked_until = now + policies::otp_cooldown_ms(&policy, t);
                    }
                    device.updated_at = now;
                    return Err(invalid_otp(remaining));
                }
            }
            _ => Err(ApiError::request_failed(Detail::new(
                "INVALID_VALUE",
                Some("type"),
                format!(
                    "{} devices cannot be activated with this request",
                    t.as_str()
                ),
            ))),
        }
    };
    let credential = result?;

    let device = env.device_mut(user_id, device_id)?;
    device.status = DeviceStatus::Active;
    device.updated_at = now;
    device.pairing_otp = None;
    device.code_failures = 0;
    device.locked_until = 0;
    device.key_uri = None;
    device.creation_options = None;
    device.fido_challenge = None;
    if let Some(c) = credential {
        use base64::Engine;
        device.credential_id = Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&c.id));
        device.public_key = Some(c.public_key);
        device.sign_count = c.sign_count;
        // The creation options carry user.id = the user ID's bytes.
        device.user_handle = Some(user_id.as_bytes().to_vec());
    }
    // The TOTP secret is kept (for later authentication) but no longer shown.
    let v = device.to_json(state);
    append_to_order(env, user_id, device_id, now);
    Ok(v)
}

fn resend(state: &AppState, env_id: &str, user_id: &str, device_id: &str) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut guard = state.lock();
    let store: &mut Store = &mut guard;
    let env = store
        .envs
        .get_mut(env_id)
        .ok_or_else(|| ApiError::environment_not_found(env_id))?;
    let device = env.device_mut(user_id, device_id)?;
    if !device.device_type.is_offline() {
        return Err(ApiError::request_failed(Detail::new(
            "INVALID_VALUE",
            Some("type"),
            format!(
                "A pairing OTP cannot be sent to a {} device",
                device.device_type.as_str()
            ),
        )));
    }
    if device.status != DeviceStatus::ActivationRequired {
        return Err(ApiError::request_failed(Detail::new(
            "INVALID_VALUE",
            Some("status"),
            "The device is already active",
        )));
    }
    let test_otp = issue_pairing_otp(&mut store.outbox, device, now);
    device.updated_at = now;
    Ok(with_test_otp(device.to_json(state), test_otp))
}

// ---------------------------------------------------------------------------
// Order

/// Sets the order. The response body of the real API is unverified
/// (reference §3.22); the emulator answers 200 with the same body as
/// `GET .../devices?expand=order`, which carries both the devices and the
/// resulting order.
fn set_order(
    state: &AppState,
    env_id: &str,
    user_id: &str,
    b: &Map<String, Value>,
) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(env_id)?;
    env.user(user_id)?;
    let items = match b.get("order") {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => {
            return Err(ApiError::required_value("order", "order is required"))
        }
        Some(_) => return Err(ApiError::invalid_value("order", "order must be an array")),
    };
    let mut listed: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let target = format!("order[{i}].id");
        let id = match item.get("id") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(ApiError::required_value(
                    &target,
                    format!("{target} is required"),
                ))
            }
        };
        let ok = env
            .devices
            .get(&id)
            .is_some_and(|d| d.user_id == user_id && d.status == DeviceStatus::Active);
        if !ok {
            return Err(ApiError::invalid_value(
                &target,
                format!("{id} is not an active device of the user"),
            ));
        }
        if listed.contains(&id) {
            return Err(ApiError::invalid_value(
                &target,
                format!("{id} is listed more than once"),
            ));
        }
        listed.push(id);
    }
    // Listed devices first; other active devices keep their relative order.
    let current: Vec<String> = ordered_devices(env, user_id)
        .into_iter()
        .filter(|d| d.status == DeviceStatus::Active)
        .map(|d| d.id.clone())
        .collect();
    let mut order = listed.clone();
    order.extend(current.into_iter().filter(|id| !listed.contains(id)));
    let u = env.user_mut(user_id)?;
    u.ordered = true;
    u.device_order = order;
    u.updated_at = now;
    Ok(list_json(state, env, user_id, None, true))
}

fn remove_order(state: &AppState, env_id: &str, user_id: &str) -> ApiResult<()> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(env_id)?;
    let u = env.user_mut(user_id)?;
    u.ordered = false;
    u.device_order.clear();
    u.updated_at = now;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        for ok in [
            "+15125201234",
            "+1.5125201234",
            "+972 52-888-8888",
            "+44 (20) 7946 0958",
            "+4912345",
        ] {
            assert!(valid_phone(ok), "{ok}");
        }
        for bad in [
            "15125201234",
            "+1",
            "+1234",
            "+1512520123456789012",
            "+1abc5551234",
            "",
            "+0123456789",
        ] {
            assert!(!valid_phone(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(valid_email("alice@example.com"));
        assert!(!valid_email("alice"));
        assert!(!valid_email("alice@example"));
        assert!(!valid_email("a b@example.com"));
        assert!(!valid_email("@example.com"));
    }

    #[test]
    fn platforms() {
        assert_eq!(platform_from_user_agent(None), "BIOMETRICS");
        assert_eq!(
            platform_from_user_agent(Some(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"
            )),
            "IPHONE"
        );
        assert_eq!(
            platform_from_user_agent(Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")),
            "WINDOWS"
        );
        assert_eq!(
            platform_from_user_agent(Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)")),
            "MAC"
        );
        assert_eq!(
            platform_from_user_agent(Some("Mozilla/5.0 (Linux; Android 14)")),
            "ANDROID"
        );
    }
}
