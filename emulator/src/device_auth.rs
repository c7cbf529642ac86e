//! Device authentications (auth host): `POST /{envId}/deviceAuthentications`,
//! `GET|POST /{envId}/deviceAuthentications/{id}` (reference §3.11–3.16, §4).
//!
//! States: `DEVICE_SELECTION_REQUIRED`, `OTP_REQUIRED`, `ASSERTION_REQUIRED`,
//! `PUSH_CONFIRMATION_REQUIRED`, `PUSH_CONFIRMATION_TIMED_OUT`, `COMPLETED`,
//! `FAILED`. Actions are dispatched on the Content-Type of the POST.
//!
//! Emulator choices where the reference says inferred / unverified:
//! * Create answers **201**, also when the authentication is born `FAILED`
//!   (`NO_USABLE_DEVICES`).
//! * An unknown `user.id` is 400 INVALID_DATA / INVALID_VALUE on `user.id`.
//! * Usable devices: the user's ACTIVE devices that are not locked and whose
//!   type the policy enables. Locked ones are listed in
//!   `error.unavailableDevices` (only when there are some).
//! * Default device (`authentication.deviceSelection` = DEFAULT_TO_FIRST):
//!   the first *usable* device of the user's order, if the user has an order.
//! * `authenticators` on COMPLETED lists the method used, AMR-like: `sms`,
//!   `voice`, `email`, `otp` (TOTP / OATH_TOKEN), `fido`, `push`.
//! * After the policy's `<method>.otp.failure.count` wrong OTPs the
//!   authentication becomes FAILED with `error.code = TOO_MANY_ATTEMPTS` and
//!   a stored device gets `lock{status: LOCKED, reason: OTP, expiresAt}` for
//!   the policy's `otp.failure.coolDown`; the last wrong try still answers
//!   400 INVALID_OTP (`remainingAttempts: 0`).
//! * A denied push is FAILED with `error.code = PUSH_DENIED`.
//! * Device authentications live [`LIFETIME_MS`] (10 min, emulator clock);
//!   afterwards they are purged and every call answers 404 NOT_FOUND.
//! * Wrong state for an action: 400 REQUEST_FAILED, detail INVALID_VALUE on
//!   `status`.
//! * Selecting a locked device: 400 INVALID_DATA / INVALID_VALUE on
//!   `device.id` (the authentication keeps its state).
//! * An `otp` given at creation is checked against the user's usable TOTP and
//!   OATH_TOKEN devices (or the `selectedDevice.id`): success creates a
//!   COMPLETED authentication (`authenticators: ["otp"]`); failure answers
//!   400 INVALID_OTP and creates nothing. An OATH_TOKEN device takes the
//!   codes of its token (HOTP look-ahead or TOTP window, see `oath`); an
//!   accepted code moves the token on, so it cannot be used again.
//! * Wrong assertions answer 400 INVALID_DATA with the detail codes listed
//!   on [`fido::assertion_error`]; the state stays ASSERTION_REQUIRED.
//! * `compatibility`: `FULL`, `SECURITY_KEY_ONLY` or `NONE`; `NONE` refuses
//!   FIDO devices, `SECURITY_KEY_ONLY` refuses PLATFORM devices.
//! * cancel `reason` must be SIGNOUT, CHANGE_DEVICE, ADD_DEVICE or DEFAULT
//!   (the connector maps other values to DEFAULT before sending).
//! * `clientContext`, `mobilePayload`, `userAgent` and `notification` are
//!   accepted and stored, not echoed; push notifications are not put in the
//!   outbox (only OTPs are).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::body::{self, opt_str};
use crate::devices::{self, Device, DeviceStatus, DeviceType};
use crate::error::{ApiError, ApiResult, Detail};
use crate::state::{AppState, Environment, Store};
use crate::time::rfc3339_ms;
use crate::{fido, otp, policies, SentMessage};

pub const DEVICE_SELECT: &str = "application/vnd.pingidentity.device.select+json";
pub const OTP_CHECK: &str = "application/vnd.pingidentity.otp.check+json";
pub const ASSERTION_CHECK: &str = "application/vnd.pingidentity.assertion.check+json";
pub const CANCEL_PUSH: &str = "application/vnd.pingidentity.cancel.push.authentication+json";

/// How long a device authentication lives (emulator clock).
pub const LIFETIME_MS: i64 = 10 * 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaStatus {
    DeviceSelectionRequired,
    OtpRequired,
    AssertionRequired,
    PushConfirmationRequired,
    PushConfirmationTimedOut,
    Completed,
    Failed,
}

impl DaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DaStatus::DeviceSelectionRequired => "DEVICE_SELECTION_REQUIRED",
            DaStatus::OtpRequired => "OTP_REQUIRED",
            DaStatus::AssertionRequired => "ASSERTION_REQUIRED",
            DaStatus::PushConfirmationRequired => "PUSH_CONFIRMATION_REQUIRED",
            DaStatus::PushConfirmationTimedOut => "PUSH_CONFIRMATION_TIMED_OUT",
            DaStatus::Completed => "COMPLETED",
            DaStatus::Failed => "FAILED",
        }
    }

    fn is_terminal(self) -> bool {
        matches!(self, DaStatus::Completed | DaStatus::Failed)
    }
}

/// The device the authentication runs on.
#[derive(Clone, Debug)]
pub enum Selected {
    None,
    Device(String),
    /// `selectedDevice.oneTime`: a device that is not stored.
    OneTime {
        device_type: DeviceType,
        target: String,
        test_mode: bool,
    },
}

#[derive(Clone, Debug)]
pub struct DeviceAuth {
    pub id: String,
    pub environment_id: String,
    /// None for usernameless FIDO2 until the assertion identifies the user.
    pub user_id: Option<String>,
    pub policy_id: String,
    pub application_id: Option<String>,
    pub status: DaStatus,
    pub selected: Selected,
    pub client_context: Option<Value>,
    pub mobile_payload: Option<String>,
    pub user_agent: Option<String>,
    pub notification: Option<Value>,
    /// `rp.id` of the request (overrides the device's RP ID).
    pub rp_id_override: Option<String>,
    /// `challenge` of the request (decoded).
    pub custom_challenge: Option<Vec<u8>>,
    /// The OTP sent to an SMS / VOICE / EMAIL (or one-time) device.
    pub otp: Option<String>,
    pub otp_failures: u32,
    /// The FIDO challenge and RP ID of the pending assertion.
    pub challenge: Option<Vec<u8>>,
    pub rp_id: Option<String>,
    pub request_options: Option<String>,
    pub authenticators: Vec<String>,
    pub error: Option<Value>,
    pub test_otp: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

// ---------------------------------------------------------------------------
// JSON

/// `a****@example.com`: the first character of the local part, then one
/// star per remaining character.
pub fn mask_email(e: &str) -> String {
    match e.split_once('@') {
        Some((local, domain)) => {
            let mut chars = local.chars();
            let first = chars.next().map(String::from).unwrap_or_default();
            format!("{first}{}@{domain}", "*".repeat(chars.count()))
        }
        None => "*".repeat(e.chars().count()),
    }
}

/// `+1512*****01`: the first 5 and last 2 characters kept.
pub fn mask_phone(p: &str) -> String {
    let c: Vec<char> = p.chars().collect();
    if c.len() <= 7 {
        return "*".repeat(c.len());
    }
    let head: String = c[..5].iter().collect();
    let tail: String = c[c.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(c.len() - 7))
}

/// A device as `_embedded.devices` shows it: targets masked, no secrets.
pub fn masked_device(d: &Device, now: i64) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(d.id));
    m.insert("type".into(), json!(d.device_type.as_str()));
    m.insert("status".into(), json!(d.status.as_str()));
    if let Some(n) = &d.nickname {
        m.insert("nickname".into(), json!(n));
    }
    if let Some(p) = &d.phone {
        m.insert("phone".into(), json!(mask_phone(p)));
    }
    if let Some(x) = &d.extension {
        m.insert("extension".into(), json!(x));
    }
    if let Some(e) = &d.email {
        m.insert("email".into(), json!(mask_email(e)));
    }
    if let Some(s) = &d.serial_number {
        m.insert("serialNumber".into(), json!(s));
    }
    if d.device_type.is_fido() {
        if let Some(id) = &d.rp_id {
            m.insert(
                "rp".into(),
                json!({"id": id, "name": d.rp_name.clone().unwrap_or_default()}),
            );
        }
    }
    if let Some(p) = &d.platform {
        m.insert("platform".into(), json!(p));
    }
    if let Some(extra) = &d.mobile {
        for (k, v) in extra {
            m.insert(k.clone(), v.clone());
        }
    }
    if d.is_locked(now) {
        m.insert(
            "lock".into(),
            json!({"status": "LOCKED", "reason": d.lock_reason, "expiresAt": rfc3339_ms(d.lock_expires_at)}),
        );
    }
    m.insert("createdAt".into(), json!(rfc3339_ms(d.created_at)));
    m.insert("updatedAt".into(), json!(rfc3339_ms(d.updated_at)));
    Value::Object(m)
}

fn type_enabled(policy: &Value, t: DeviceType) -> bool {
    policy[policies::policy_key(t)]["enabled"]
        .as_bool()
        .unwrap_or(true)
}

/// The user's usable devices in order (default first) and the IDs of the
/// ACTIVE devices that are locked.
fn usable_devices<'a>(
    env: &'a Environment,
    policy: &Value,
    user_id: &str,
    now: i64,
) -> (Vec<&'a Device>, Vec<String>) {
    let mut usable = Vec::new();
    let mut locked = Vec::new();
    for d in devices::ordered_devices(env, user_id) {
        if d.status != DeviceStatus::Active {
            continue;
        }
        if d.is_locked(now) {
            locked.push(d.id.clone());
        } else if type_enabled(policy, d.device_type) {
            usable.push(d);
        }
    }
    (usable, locked)
}

impl DeviceAuth {
    pub fn href(&self, state: &AppState) -> String {
        format!(
            "{}/{}/deviceAuthentications/{}",
            state.auth_url, self.environment_id, self.id
        )
    }

    pub fn to_json(&self, state: &AppState, env: &Environment, now: i64) -> Value {
        let href = self.href(state);
        let mut links = json!({"self": {"href": href}});
        if self.user_id.is_some()
            && matches!(
                self.status,
                DaStatus::DeviceSelectionRequired
                    | DaStatus::OtpRequired
                    | DaStatus::PushConfirmationTimedOut
            )
        {
            links["device.select"] = json!({"href": href});
        }
        if self.status == DaStatus::OtpRequired {
            links["otp.check"] = json!({"href": href});
        }
        if self.status == DaStatus::AssertionRequired {
            links["assertion.check"] = json!({"href": href});
        }
        let mut m = Map::new();
        m.insert("_links".into(), links);
        let devices: Vec<Value> = match (&self.user_id, self.status) {
            (Some(u), s) if !s.is_terminal() => {
                let policy = env.policy(&self.policy_id).unwrap_or(env.default_policy());
                usable_devices(env, policy, u, now)
                    .0
                    .into_iter()
                    .map(|d| masked_device(d, now))
                    .collect()
            }
            // Terminal: the device used (if any).
            _ => match &self.selected {
                Selected::Device(id) => env
                    .devices
                    .get(id)
                    .map(|d| vec![masked_device(d, now)])
                    .unwrap_or_default(),
                _ => Vec::new(),
            },
        };
        m.insert("_embedded".into(), json!({"devices": devices}));
        m.insert("id".into(), json!(self.id));
        m.insert("environment".into(), json!({"id": self.environment_id}));
        if let Some(u) = &self.user_id {
            m.insert("user".into(), json!({"id": u}));
        }
        m.insert("policy".into(), json!({"id": self.policy_id}));
        if let Some(a) = &self.application_id {
            m.insert("application".into(), json!({"id": a}));
        }
        m.insert("status".into(), json!(self.status.as_str()));
        match &self.selected {
            Selected::None => {}
            Selected::Device(id) => {
                m.insert("selectedDevice".into(), json!({"id": id}));
            }
            Selected::OneTime { device_type, .. } => {
                m.insert(
                    "selectedDevice".into(),
                    json!({"oneTime": {"type": device_type.as_str()}}),
                );
            }
        }
        if self.status == DaStatus::AssertionRequired {
            if let Some(o) = &self.request_options {
                m.insert("publicKeyCredentialRequestOptions".into(), json!(o));
            }
        }
        if self.status == DaStatus::Completed {
            m.insert("authenticators".into(), json!(self.authenticators));
        }
        if self.status == DaStatus::Failed {
            if let Some(e) = &self.error {
                m.insert("error".into(), e.clone());
            }
        }
        if self.status == DaStatus::OtpRequired {
            if let Some(code) = &self.test_otp {
                m.insert("test".into(), json!({"otp": code}));
            }
        }
        m.insert("createdAt".into(), json!(rfc3339_ms(self.created_at)));
        m.insert("updatedAt".into(), json!(rfc3339_ms(self.updated_at)));
        m.insert("expiresAt".into(), json!(rfc3339_ms(self.expires_at)));
        Value::Object(m)
    }

    fn reset_challenge(&mut self) {
        self.otp = None;
        self.otp_failures = 0;
        self.test_otp = None;
        self.challenge = None;
        self.rp_id = None;
        self.request_options = None;
    }

    fn fail(&mut self, error: Value, now: i64) {
        self.reset_challenge();
        self.status = DaStatus::Failed;
        self.error = Some(error);
        self.updated_at = now;
    }

    fn complete(&mut self, method: &str, now: i64) {
        self.reset_challenge();
        self.status = DaStatus::Completed;
        self.authenticators = vec![method.to_string()];
        self.updated_at = now;
    }

    /// Sends an OTP (outbox, or `test.otp` in test mode) and waits for it.
    fn send_otp(
        &mut self,
        outbox: &mut Vec<SentMessage>,
        user_id: &str,
        device_id: &str,
        t: DeviceType,
        to: &str,
        test_mode: bool,
    ) {
        let code = otp::random_otp();
        self.otp = Some(code.clone());
        if test_mode {
            self.test_otp = Some(code);
        } else {
            outbox.push(SentMessage {
                environment_id: self.environment_id.clone(),
                user_id: user_id.to_string(),
                device_id: device_id.to_string(),
                channel: t.as_str().to_string(),
                to: to.to_string(),
                otp: code,
                purpose: "AUTHENTICATION".into(),
            });
        }
        self.status = DaStatus::OtpRequired;
    }

    /// Enters the state for device `d` (OTP sent, assertion options issued,
    /// push "sent").
    fn enter_device(&mut self, d: &Device, outbox: &mut Vec<SentMessage>, now: i64) {
        self.reset_challenge();
        self.selected = Selected::Device(d.id.clone());
        self.updated_at = now;
        match d.device_type {
            DeviceType::Sms | DeviceType::Voice | DeviceType::Email => {
                let to = match d.device_type {
                    DeviceType::Email => d.email.clone().unwrap_or_default(),
                    _ => d.phone.clone().unwrap_or_default(),
                };
                self.send_otp(outbox, &d.user_id, &d.id, d.device_type, &to, d.test_mode);
            }
            DeviceType::Totp | DeviceType::OathToken | DeviceType::Yubikey => {
                self.status = DaStatus::OtpRequired
            }
            DeviceType::Fido2 | DeviceType::Platform | DeviceType::SecurityKey => {
                let rp_id = self
                    .rp_id_override
                    .clone()
                    .or_else(|| d.rp_id.clone())
                    .unwrap_or_else(|| fido::DEFAULT_RP_ID.to_string());
                let allow: Vec<Vec<u8>> = d
                    .credential_id
                    .as_deref()
                    .and_then(fido::b64url_decode)
                    .into_iter()
                    .collect();
                self.start_assertion(rp_id, &allow);
            }
            DeviceType::Mobile => self.status = DaStatus::PushConfirmationRequired,
        }
    }

    fn start_assertion(&mut self, rp_id: String, allow: &[Vec<u8>]) {
        let challenge = self
            .custom_challenge
            .clone()
            .unwrap_or_else(fido::random_challenge);
        self.request_options = Some(fido::request_options(&challenge, &rp_id, allow));
        self.challenge = Some(challenge);
        self.rp_id = Some(rp_id);
        self.status = DaStatus::AssertionRequired;
    }
}

fn no_usable_devices(user_id: &str, locked: &[String]) -> Value {
    let mut e = json!({
        "code": "NO_USABLE_DEVICES",
        "message": format!("Couldn't find authenticating device for user: {user_id}")
    });
    if !locked.is_empty() {
        e["unavailableDevices"] = Value::Array(locked.iter().map(|id| json!({"id": id})).collect());
    }
    e
}

fn wrong_status(da: &DeviceAuth, action: &str) -> ApiError {
    ApiError::request_failed(Detail::new(
        "INVALID_VALUE",
        Some("status"),
        format!(
            "{action} is not allowed while the device authentication is {}",
            da.status.as_str()
        ),
    ))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Unable to find device authentication with ID: {id}"
    ))
}

/// Drops expired device authentications.
fn purge(env: &mut Environment, now: i64) {
    env.device_auths.retain(|_, d| d.expires_at > now);
}

fn method_of(t: DeviceType) -> &'static str {
    match t {
        DeviceType::Sms => "sms",
        DeviceType::Voice => "voice",
        DeviceType::Email => "email",
        DeviceType::Totp | DeviceType::OathToken | DeviceType::Yubikey => "otp",
        DeviceType::Fido2 | DeviceType::Platform | DeviceType::SecurityKey => "fido",
        DeviceType::Mobile => "push",
    }
}

/// Whether `code` is a valid OTP of a TOTP / OATH_TOKEN / YUBIKEY device
/// now (nothing is consumed: see [`record_code_use`]).
fn device_code_matches(env: &Environment, d: &Device, code: &str, now: i64) -> bool {
    match d.device_type {
        DeviceType::Totp => d
            .totp_secret
            .as_deref()
            .is_some_and(|s| otp::totp_matches(s, now, code)),
        // The code of the device's OATH token (see `oath`).
        DeviceType::OathToken => d
            .serial_number
            .as_deref()
            .and_then(|s| env.oath_tokens.get(s))
            .is_some_and(|t| t.verify(code, now).is_some()),
        // YUBIKEY (inferred): a well-formed OTP of the key that activated
        // the device (same public ID), never seen before (no replay).
        DeviceType::Yubikey => {
            otp::is_yubikey_otp(code)
                && d.yubikey_public_id.as_deref() == otp::yubikey_public_id(code)
                && !d.yubikey_used_otps.iter().any(|u| u == code)
        }
        _ => false,
    }
}

/// Consumes an accepted code so that it cannot be replayed: a YubiKey OTP
/// is remembered, an OATH token moves past the code's counter or time step.
fn record_code_use(env: &mut Environment, device_id: &str, code: &str, now: i64) {
    let Some(d) = env.devices.get_mut(device_id) else {
        return;
    };
    match d.device_type {
        DeviceType::Yubikey => d.yubikey_used_otps.push(code.to_string()),
        DeviceType::OathToken => {
            let token = d
                .serial_number
                .as_deref()
                .and_then(|s| env.oath_tokens.get_mut(s));
            if let Some(t) = token {
                t.check(code, now);
            }
        }
        _ => {}
    }
}

fn otp_value(b: &Map<String, Value>) -> ApiResult<Option<String>> {
    match b.get("otp") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ApiError::invalid_value("otp", "otp must be a string")),
    }
}

fn id_of(b: &Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => match o.get("id") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid_value(
                &format!("{key}.id"),
                format!("{key}.id must be a string"),
            )),
        },
        Some(_) => Err(ApiError::invalid_value(
            key,
            format!("{key} must be an object"),
        )),
    }
}

fn check_compatibility(b: &Map<String, Value>, t: Option<DeviceType>) -> ApiResult<()> {
    let Some(c) = opt_str(b, "compatibility", "compatibility")? else {
        return Ok(());
    };
    if !matches!(c, "FULL" | "SECURITY_KEY_ONLY" | "NONE") {
        return Err(ApiError::invalid_data(
            Detail::new(
                "INVALID_VALUE",
                Some("compatibility"),
                format!("Invalid compatibility: {c}"),
            )
            .inner(json!({"allowedValues": ["FULL", "SECURITY_KEY_ONLY", "NONE"]})),
        ));
    }
    let refused = match t {
        Some(t) if t.is_fido() && c == "NONE" => true,
        Some(DeviceType::Platform) if c == "SECURITY_KEY_ONLY" => true,
        None if c == "NONE" => true,
        _ => false,
    };
    if refused {
        return Err(ApiError::invalid_value(
            "compatibility",
            format!("The device is not usable with WebAuthn compatibility {c}"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Create

fn create(state: &AppState, env_id: &str, b: &Map<String, Value>) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut guard = state.lock();
    let store: &mut Store = &mut guard;
    let outbox = &mut store.outbox;
    let env = store
        .envs
        .get_mut(env_id)
        .ok_or_else(|| ApiError::environment_not_found(env_id))?;
    purge(env, now);

    let user_id = id_of(b, "user")?;
    if let Some(u) = &user_id {
        if !env.users.contains_key(u) {
            return Err(ApiError::invalid_value(
                "user.id",
                format!("Unable to find user with ID: {u}"),
            ));
        }
    }
    let policy = match id_of(b, "policy")? {
        None => env.default_policy().clone(),
        Some(id) => env.policy(&id).cloned().ok_or_else(|| {
            ApiError::invalid_value(
                "policy.id",
                format!("Unable to find device authentication policy with ID: {id}"),
            )
        })?,
    };
    let policy_id = policy["id"].as_str().unwrap_or_default().to_string();
    let application_id = id_of(b, "application")?;
    let rp_id_override = match b.get("rp") {
        None | Some(Value::Null) => None,
        Some(Value::Object(rp)) => match rp.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s))
                if !s.is_empty()
                    && !s.contains(['/', ':', ' '])
                    && s.to_ascii_lowercase() == *s =>
            {
                Some(s.clone())
            }
            Some(_) => {
                return Err(ApiError::invalid_value(
                    "rp.id",
                    "rp.id must be a lower-case domain name",
                ))
            }
        },
        Some(_) => return Err(ApiError::invalid_value("rp", "rp must be an object")),
    };
    let custom_challenge = match opt_str(b, "challenge", "challenge")? {
        None => None,
        Some(c) => Some(
            fido::b64url_decode(c)
                .filter(|bytes| bytes.len() >= 32)
                .ok_or_else(|| {
                    ApiError::invalid_value(
                        "challenge",
                        "challenge must be base64url of at least 32 bytes",
                    )
                })?,
        ),
    };
    let client_context = match b.get("clientContext") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            return Err(ApiError::invalid_value(
                "clientContext",
                "clientContext must be an object",
            ))
        }
    };
    let notification = match b.get("notification") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            return Err(ApiError::invalid_value(
                "notification",
                "notification must be an object",
            ))
        }
    };
    let mobile_payload = opt_str(b, "mobilePayload", "mobilePayload")?.map(str::to_string);
    let user_agent = opt_str(b, "userAgent", "userAgent")?.map(str::to_string);
    let upfront_otp = otp_value(b)?;

    // selectedDevice
    let mut selected_id = None;
    let mut one_time = None;
    match b.get("selectedDevice") {
        None | Some(Value::Null) => {}
        Some(Value::Object(sd)) => {
            if let Some(ot) = sd.get("oneTime").filter(|v| !v.is_null()) {
                let ot = ot.as_object().ok_or_else(|| {
                    ApiError::invalid_value(
                        "selectedDevice.oneTime",
                        "selectedDevice.oneTime must be an object",
                    )
                })?;
                let t = match opt_str(ot, "type", "selectedDevice.oneTime.type")? {
                    Some("SMS") => DeviceType::Sms,
                    Some("VOICE") => DeviceType::Voice,
                    Some("EMAIL") => DeviceType::Email,
                    _ => {
                        return Err(ApiError::invalid_data(
                            Detail::new(
                                "INVALID_VALUE",
                                Some("selectedDevice.oneTime.type"),
                                "selectedDevice.oneTime.type must be SMS, VOICE or EMAIL",
                            )
                            .inner(json!({"allowedValues": ["SMS", "VOICE", "EMAIL"]})),
                        ))
                    }
                };
                let target = if t == DeviceType::Email {
                    let e = opt_str(ot, "email", "selectedDevice.oneTime.email")?
                        .filter(|e| devices::valid_email(e))
                        .ok_or_else(|| {
                            ApiError::invalid_value(
                                "selectedDevice.oneTime.email",
                                "a valid email is required for a one-time EMAIL device",
                            )
                        })?;
                    e.to_string()
                } else {
                    let p = opt_str(ot, "phone", "selectedDevice.oneTime.phone")?
                        .filter(|p| devices::valid_phone(p))
                        .ok_or_else(|| {
                            ApiError::invalid_value(
                                "selectedDevice.oneTime.phone",
                                "a valid phone number is required for a one-time SMS or VOICE device",
                            )
                        })?;
                    p.to_string()
                };
                let test_mode = match ot.get("testMode") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(v)) => *v,
                    Some(_) => {
                        return Err(ApiError::invalid_value(
                            "selectedDevice.oneTime.testMode",
                            "testMode must be a boolean",
                        ))
                    }
                };
                if !type_enabled(&policy, t) {
                    return Err(ApiError::invalid_value(
                        "selectedDevice.oneTime.type",
                        format!(
                            "Device type {} is not enabled by the device authentication policy",
                            t.as_str()
                        ),
                    ));
                }
                one_time = Some((t, target, test_mode));
            } else {
                selected_id = match sd.get("id") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => {
                        return Err(ApiError::invalid_value(
                            "selectedDevice.id",
                            "selectedDevice.id must be a string",
                        ))
                    }
                };
            }
        }
        Some(_) => {
            return Err(ApiError::invalid_value(
                "selectedDevice",
                "selectedDevice must be an object",
            ))
        }
    }

    let mut da = DeviceAuth {
        id: uuid::Uuid::new_v4().to_string(),
        environment_id: env_id.to_string(),
        user_id: user_id.clone(),
        policy_id,
        application_id,
        status: DaStatus::DeviceSelectionRequired,
        selected: Selected::None,
        client_context,
        mobile_payload,
        user_agent,
        notification,
        rp_id_override,
        custom_challenge,
        otp: None,
        otp_failures: 0,
        challenge: None,
        rp_id: None,
        request_options: None,
        authenticators: Vec::new(),
        error: None,
        test_otp: None,
        created_at: now,
        updated_at: now,
        expires_at: now + LIFETIME_MS,
    };

    if let Some((t, target, test_mode)) = one_time {
        let uid = user_id.clone().unwrap_or_default();
        da.selected = Selected::OneTime {
            device_type: t,
            target: target.clone(),
            test_mode,
        };
        da.send_otp(outbox, &uid, "", t, &target, test_mode);
    } else if let Some(code) = upfront_otp {
        let Some(uid) = &user_id else {
            return Err(ApiError::required_value(
                "user.id",
                "user.id is required to check an otp",
            ));
        };
        let (usable, _) = usable_devices(env, &policy, uid, now);
        let matched = usable
            .iter()
            .filter(|d| selected_id.as_ref().is_none_or(|s| *s == d.id))
            .find(|d| device_code_matches(env, d, &code, now))
            .map(|d| d.id.clone());
        let Some(device_id) = matched else {
            return Err(ApiError::invalid_data(Detail::new(
                "INVALID_OTP",
                Some("otp"),
                "Invalid OTP",
            )));
        };
        record_code_use(env, &device_id, &code, now);
        da.selected = Selected::Device(device_id);
        da.complete("otp", now);
    } else if let Some(uid) = &user_id {
        let (usable, locked) = usable_devices(env, &policy, uid, now);
        if let Some(sid) = &selected_id {
            let d = env
                .devices
                .get(sid)
                .filter(|d| &d.user_id == uid && d.status == DeviceStatus::Active)
                .ok_or_else(|| {
                    ApiError::invalid_value(
                        "selectedDevice.id",
                        format!("{sid} is not an active device of the user"),
                    )
                })?;
            if d.is_locked(now) {
                da.fail(no_usable_devices(uid, std::slice::from_ref(sid)), now);
            } else if !type_enabled(&policy, d.device_type) {
                return Err(ApiError::invalid_value(
                    "selectedDevice.id",
                    format!(
                        "Device type {} is not enabled by the device authentication policy",
                        d.device_type.as_str()
                    ),
                ));
            } else {
                let d = d.clone();
                da.enter_device(&d, outbox, now);
            }
        } else if usable.is_empty() {
            da.fail(no_usable_devices(uid, &locked), now);
        } else {
            let default_to_first = policy["authentication"]["deviceSelection"]
                .as_str()
                .unwrap_or("DEFAULT_TO_FIRST")
                == "DEFAULT_TO_FIRST";
            let ordered = env.users.get(uid).is_some_and(|u| u.ordered);
            if (default_to_first && ordered) || usable.len() == 1 {
                let d = usable[0].clone();
                da.enter_device(&d, outbox, now);
            }
        }
    } else {
        // Usernameless FIDO2: no allowCredentials; the credential in the
        // assertion identifies the user.
        if selected_id.is_some() {
            return Err(ApiError::required_value(
                "user.id",
                "user.id is required with selectedDevice.id",
            ));
        }
        let rp_id = da
            .rp_id_override
            .clone()
            .unwrap_or_else(|| fido::DEFAULT_RP_ID.to_string());
        da.start_assertion(rp_id, &[]);
    }

    let v = da.to_json(state, env, now);
    env.device_auths.insert(da.id.clone(), da);
    Ok(v)
}

// ---------------------------------------------------------------------------
// Actions

/// Runs `f` on the device authentication `id` (404 if unknown or expired);
/// the authentication is stored back whatever `f` returns, so failures that
/// change state (wrong OTPs) stick.
fn with_da<T>(
    state: &AppState,
    env_id: &str,
    id: &str,
    f: impl FnOnce(&mut DeviceAuth, &mut Environment, &mut Vec<SentMessage>, i64) -> ApiResult<T>,
) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut guard = state.lock();
    let store: &mut Store = &mut guard;
    let outbox = &mut store.outbox;
    let env = store
        .envs
        .get_mut(env_id)
        .ok_or_else(|| ApiError::environment_not_found(env_id))?;
    purge(env, now);
    let mut da = env.device_auths.remove(id).ok_or_else(|| not_found(id))?;
    let r = f(&mut da, env, outbox, now);
    let v = da.to_json(state, env, now);
    env.device_auths.insert(da.id.clone(), da);
    r.map(|_| v)
}

fn select_device(
    da: &mut DeviceAuth,
    env: &mut Environment,
    outbox: &mut Vec<SentMessage>,
    b: &Map<String, Value>,
    now: i64,
) -> ApiResult<()> {
    if !matches!(
        da.status,
        DaStatus::DeviceSelectionRequired
            | DaStatus::OtpRequired
            | DaStatus::PushConfirmationTimedOut
    ) {
        return Err(wrong_status(da, "Device selection"));
    }
    let Some(uid) = da.user_id.clone() else {
        return Err(wrong_status(da, "Device selection"));
    };
    let device_id = id_of(b, "device")?
        .ok_or_else(|| ApiError::required_value("device.id", "device.id is required"))?;
    let d = env
        .devices
        .get(&device_id)
        .filter(|d| d.user_id == uid && d.status == DeviceStatus::Active)
        .ok_or_else(|| {
            ApiError::invalid_value(
                "device.id",
                format!("{device_id} is not an active device of the user"),
            )
        })?;
    if d.is_locked(now) {
        return Err(ApiError::invalid_data(
            Detail::new(
                "INVALID_VALUE",
                Some("device.id"),
                format!("The device {device_id} is locked"),
            )
            .inner(json!({"lockExpiresAt": rfc3339_ms(d.lock_expires_at)})),
        ));
    }
    let policy = env.policy(&da.policy_id).unwrap_or(env.default_policy());
    if !type_enabled(policy, d.device_type) {
        return Err(ApiError::invalid_value(
            "device.id",
            format!(
                "Device type {} is not enabled by the device authentication policy",
                d.device_type.as_str()
            ),
        ));
    }
    check_compatibility(b, Some(d.device_type))?;
    let d = d.clone();
    da.enter_device(&d, outbox, now);
    Ok(())
}

fn check_otp(
    da: &mut DeviceAuth,
    env: &mut Environment,
    b: &Map<String, Value>,
    now: i64,
) -> ApiResult<()> {
    if da.status != DaStatus::OtpRequired {
        return Err(wrong_status(da, "OTP check"));
    }
    let code = otp_value(b)?.ok_or_else(|| ApiError::required_value("otp", "otp is required"))?;
    let (t, device_id, ok) = match &da.selected {
        Selected::Device(id) => {
            let d = env
                .devices
                .get(id)
                .ok_or_else(|| ApiError::device_not_found(id))?;
            let ok = if d.device_type.is_offline() {
                da.otp
                    .as_deref()
                    .is_some_and(|o| otp::constant_eq(o, &code))
            } else {
                device_code_matches(env, d, &code, now)
            };
            (d.device_type, Some(id.clone()), ok)
        }
        Selected::OneTime { device_type, .. } => (
            *device_type,
            None,
            da.otp
                .as_deref()
                .is_some_and(|o| otp::constant_eq(o, &code)),
        ),
        Selected::None => return Err(wrong_status(da, "OTP check")),
    };
    if ok {
        if let Some(id) = &device_id {
            record_code_use(env, id, &code, now);
        }
        da.complete(method_of(t), now);
        return Ok(());
    }
    let policy = env
        .policy(&da.policy_id)
        .unwrap_or(env.default_policy())
        .clone();
    let max = policies::otp_failure_count(&policy, t).max(1);
    da.otp_failures += 1;
    da.updated_at = now;
    let remaining = max.saturating_sub(da.otp_failures);
    if remaining == 0 {
        if let Some(id) = &device_id {
            if let Some(d) = env.devices.get_mut(id) {
                d.lock_expires_at = now + policies::otp_cooldown_ms(&policy, t);
                d.lock_reason = Some("OTP".into());
                d.updated_at = now;
            }
        }
        da.fail(
            json!({
                "code": "TOO_MANY_ATTEMPTS",
                "message": format!("Too many invalid OTP attempts ({max}); the device is locked")
            }),
            now,
        );
    }
    Err(devices::invalid_otp(remaining))
}

fn check_assertion(
    da: &mut DeviceAuth,
    env: &mut Environment,
    b: &Map<String, Value>,
    now: i64,
) -> ApiResult<()> {
    if da.status != DaStatus::AssertionRequired {
        return Err(wrong_status(da, "Assertion check"));
    }
    let origin = opt_str(b, "origin", "origin")?
        .ok_or_else(|| ApiError::required_value("origin", "origin is required"))?;
    let assertion = b
        .get("assertion")
        .filter(|v| !v.is_null())
        .ok_or_else(|| ApiError::required_value("assertion", "assertion is required"))?;
    check_compatibility(b, None)?;
    let parsed = fido::parse_assertion(assertion)?;
    let cred_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&parsed.credential_id);
    let unknown = || {
        fido::assertion_error(
            "INVALID_CREDENTIAL",
            "assertion",
            "The credential is not allowed for this authentication",
        )
    };
    let device_id = match (&da.selected, &da.user_id) {
        (Selected::Device(id), _) => {
            let d = env.devices.get(id).ok_or_else(unknown)?;
            if d.credential_id.as_deref() != Some(cred_b64.as_str()) {
                return Err(unknown());
            }
            id.clone()
        }
        (_, user) => env
            .devices
            .values()
            .filter(|d| {
                d.device_type.is_fido()
                    && d.status == DeviceStatus::Active
                    && user.as_ref().is_none_or(|u| *u == d.user_id)
                    && d.credential_id.as_deref() == Some(cred_b64.as_str())
            })
            .map(|d| d.id.clone())
            .next()
            .ok_or_else(unknown)?,
    };
    let d = env.devices.get_mut(&device_id).ok_or_else(unknown)?;
    if d.is_locked(now) {
        return Err(fido::assertion_error(
            "INVALID_CREDENTIAL",
            "assertion",
            "The device is locked",
        ));
    }
    let challenge = da.challenge.clone().unwrap_or_default();
    let rp_id = da
        .rp_id
        .clone()
        .unwrap_or_else(|| fido::DEFAULT_RP_ID.to_string());
    let public_key = d.public_key.clone().ok_or_else(unknown)?;
    let count = fido::verify_assertion(
        &parsed,
        origin,
        &challenge,
        &rp_id,
        &public_key,
        d.sign_count,
        d.user_handle.as_deref(),
    )?;
    d.sign_count = count;
    d.updated_at = now;
    da.user_id = Some(d.user_id.clone());
    da.selected = Selected::Device(device_id);
    da.complete("fido", now);
    Ok(())
}

fn cancel(da: &mut DeviceAuth, b: &Map<String, Value>, now: i64) -> ApiResult<()> {
    match opt_str(b, "reason", "reason")? {
        None => return Err(ApiError::required_value("reason", "reason is required")),
        Some("SIGNOUT" | "CHANGE_DEVICE" | "ADD_DEVICE" | "DEFAULT") => {}
        Some(other) => {
            return Err(ApiError::invalid_data(
                Detail::new(
                    "INVALID_VALUE",
                    Some("reason"),
                    format!("Invalid reason: {other}"),
                )
                .inner(
                    json!({"allowedValues": ["SIGNOUT", "CHANGE_DEVICE", "ADD_DEVICE", "DEFAULT"]}),
                ),
            ))
        }
    }
    if da.status.is_terminal() {
        return Err(wrong_status(da, "Cancel"));
    }
    da.reset_challenge();
    da.selected = Selected::None;
    da.status = DaStatus::DeviceSelectionRequired;
    da.updated_at = now;
    Ok(())
}

/// What the mobile app does with a push: `approve` → COMPLETED
/// (`authenticators: ["push"]`), `deny` → FAILED (`PUSH_DENIED`), `timeout`
/// → PUSH_CONFIRMATION_TIMED_OUT. Only in PUSH_CONFIRMATION_REQUIRED.
pub fn push(state: &AppState, env_id: &str, id: &str, action: &str) -> ApiResult<Value> {
    with_da(state, env_id, id, |da, _env, _outbox, now| {
        if !matches!(action, "approve" | "deny" | "timeout") {
            return Err(ApiError::invalid_data(
                Detail::new(
                    "INVALID_VALUE",
                    Some("action"),
                    format!("Invalid action: {action}"),
                )
                .inner(json!({"allowedValues": ["approve", "deny", "timeout"]})),
            ));
        }
        if da.status != DaStatus::PushConfirmationRequired {
            return Err(wrong_status(da, "A push response"));
        }
        match action {
            "approve" => da.complete("push", now),
            "deny" => da.fail(
                json!({"code": "PUSH_DENIED", "message": "The user denied the push notification"}),
                now,
            ),
            _ => {
                da.status = DaStatus::PushConfirmationTimedOut;
                da.updated_at = now;
            }
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Handlers

/// `POST /{envId}/deviceAuthentications` (application/json) → 201.
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

/// `GET /{envId}/deviceAuthentications/{id}` → 200 (404 unknown / expired).
pub async fn read_handler(
    State(state): State<Arc<AppState>>,
    Path((env_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    with_da(&state, &env_id, &id, |_, _, _, _| Ok(())).map(Json)
}

/// `POST /{envId}/deviceAuthentications/{id}`: device.select, otp.check,
/// assertion.check or cancel.push.authentication (by Content-Type).
pub async fn action_handler(
    State(state): State<Arc<AppState>>,
    Path((env_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> ApiResult<Json<Value>> {
    let mt = body::media_type(&headers);
    let action = match mt.as_deref() {
        Some(DEVICE_SELECT) | Some(OTP_CHECK) | Some(ASSERTION_CHECK) | Some(CANCEL_PUSH) => {
            mt.clone().unwrap_or_default()
        }
        _ => {
            return Err(ApiError::unsupported_media_type(
                body::content_type_raw(&headers).as_deref(),
            ))
        }
    };
    let b = body::parse_object(&raw)?;
    with_da(&state, &env_id, &id, |da, env, outbox, now| {
        match action.as_str() {
            DEVICE_SELECT => select_device(da, env, outbox, &b, now),
            OTP_CHECK => check_otp(da, env, &b, now),
            ASSERTION_CHECK => check_assertion(da, env, &b, now),
            _ => cancel(da, &b, now),
        }
    })
    .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_email("alice@example.com"), "a****@example.com");
        assert_eq!(mask_phone("+15125550101"), "+1512*****01");
        assert_eq!(mask_phone("+1234"), "*****");
    }
}
