//! In-memory state shared by all handlers: environments, users, devices,
//! policies, tokens, the outbox and the request counters.
//!
//! Everything lives behind one `std::sync::Mutex`; handlers lock, work and
//! unlock without awaiting in between.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::devices::Device;
use crate::error::{ApiError, ApiResult};
use crate::{policies, time, Seed, SeedUser, SentMessage, Stats};

/// Shared state of one running emulator.
pub struct AppState {
    /// `http://127.0.0.1:{port}/v1`
    pub api_url: String,
    /// `http://127.0.0.1:{port}`
    pub auth_url: String,
    pub token_lifetime: Duration,
    clock_offset_ms: AtomicI64,
    pub token_requests: AtomicU64,
    pub api_requests: AtomicU64,
    store: Mutex<Store>,
    seeds: Vec<Seed>,
}

/// How many issued tokens [`Store::issued_tokens`] remembers.
pub const MAX_ISSUED_TOKENS: usize = 10_000;

/// The mutable part of the state.
#[derive(Default)]
pub struct Store {
    pub envs: HashMap<String, Environment>,
    pub tokens: HashMap<String, TokenInfo>,
    /// Every access token issued, oldest first (the newest
    /// [`MAX_ISSUED_TOKENS`]): tests look for them where they must not be.
    pub issued_tokens: Vec<String>,
    pub outbox: Vec<SentMessage>,
    /// Monotonic sequence used to order devices by creation.
    pub seq: u64,
}

pub struct TokenInfo {
    pub environment_id: String,
    pub client_id: String,
    pub expires_at_ms: i64,
}

pub struct Environment {
    pub id: String,
    pub client_id: String,
    pub client_secret: String,
    pub users: HashMap<String, User>,
    pub devices: HashMap<String, Device>,
    /// Device authentication policies, in creation order.
    pub policies: Vec<Value>,
    pub mfa_settings: MfaSettings,
    /// The seeded native (mobile) application's ID.
    pub mobile_app_id: String,
    pub device_auths: HashMap<String, crate::device_auth::DeviceAuth>,
    pub pairing_keys: HashMap<String, crate::pairing_keys::PairingKey>,
    pub auth_codes: HashMap<String, crate::auth_codes::AuthCode>,
    /// The OATH tokens imported into the environment, by serial number.
    pub oath_tokens: HashMap<String, crate::oath::OathToken>,
}

pub struct User {
    pub id: String,
    pub username: String,
    pub email: String,
    pub phone: String,
    pub mfa_enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Whether the user's active devices have an order (a default device).
    /// True for new users (PingOne orders by activation time by default);
    /// false after "remove device order".
    pub ordered: bool,
    /// IDs of ACTIVE devices in order (meaningful while `ordered`).
    pub device_order: Vec<String>,
}

pub struct MfaSettings {
    pub max_allowed_devices: u64,
    pub pairing_key_format: String,
    pub lockout_failure_count: u64,
    pub lockout_duration_seconds: u64,
    pub device_selection: String,
    pub updated_at: i64,
}

impl AppState {
    pub fn new(api_url: String, auth_url: String, config: &crate::EmulatorConfig) -> AppState {
        let now = time::wall_ms();
        let mut store = Store::default();
        let mut seeds = Vec::new();
        for i in 0..config.environments.max(1) {
            let (env, seed) = seed_environment(i, now, &api_url);
            store.envs.insert(env.id.clone(), env);
            seeds.push(seed);
        }
        AppState {
            api_url,
            auth_url,
            token_lifetime: config.token_lifetime,
            clock_offset_ms: AtomicI64::new(0),
            token_requests: AtomicU64::new(0),
            api_requests: AtomicU64::new(0),
            store: Mutex::new(store),
            seeds,
        }
    }

    /// The emulator clock, in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        time::wall_ms() + self.clock_offset_ms.load(Ordering::Relaxed)
    }

    /// Moves the emulator clock forward (tokens, OTPs and TOTP use it).
    pub fn advance_clock(&self, by: Duration) {
        self.clock_offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }

    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn seeds(&self) -> &[Seed] {
        &self.seeds
    }

    pub fn stats(&self) -> Stats {
        Stats {
            token_requests: self.token_requests.load(Ordering::Relaxed),
            api_requests: self.api_requests.load(Ordering::Relaxed),
        }
    }

    pub fn outbox(&self) -> Vec<SentMessage> {
        self.lock().outbox.clone()
    }

    /// `{api}/environments/{envId}`
    pub fn env_href(&self, env_id: &str) -> String {
        format!("{}/environments/{env_id}", self.api_url)
    }

    /// `{api}/environments/{envId}/users/{userId}`
    pub fn user_href(&self, env_id: &str, user_id: &str) -> String {
        format!("{}/users/{user_id}", self.env_href(env_id))
    }
}

impl Store {
    pub fn env(&self, env_id: &str) -> ApiResult<&Environment> {
        self.envs
            .get(env_id)
            .ok_or_else(|| ApiError::environment_not_found(env_id))
    }

    pub fn env_mut(&mut self, env_id: &str) -> ApiResult<&mut Environment> {
        self.envs
            .get_mut(env_id)
            .ok_or_else(|| ApiError::environment_not_found(env_id))
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

impl Environment {
    pub fn user(&self, user_id: &str) -> ApiResult<&User> {
        self.users
            .get(user_id)
            .ok_or_else(|| ApiError::user_not_found(user_id))
    }

    pub fn user_mut(&mut self, user_id: &str) -> ApiResult<&mut User> {
        self.users
            .get_mut(user_id)
            .ok_or_else(|| ApiError::user_not_found(user_id))
    }

    /// The device `device_id` of `user_id` (404 if either is unknown).
    pub fn device(&self, user_id: &str, device_id: &str) -> ApiResult<&Device> {
        self.user(user_id)?;
        self.devices
            .get(device_id)
            .filter(|d| d.user_id == user_id)
            .ok_or_else(|| ApiError::device_not_found(device_id))
    }

    pub fn device_mut(&mut self, user_id: &str, device_id: &str) -> ApiResult<&mut Device> {
        self.user(user_id)?;
        self.devices
            .get_mut(device_id)
            .filter(|d| d.user_id == user_id)
            .ok_or_else(|| ApiError::device_not_found(device_id))
    }

    pub fn policy(&self, policy_id: &str) -> Option<&Value> {
        self.policies
            .iter()
            .find(|p| p.get("id").and_then(Value::as_str) == Some(policy_id))
    }

    /// The device authentication policy a request's `policy` field names
    /// (`{"id": ...}`), or the default one when it names none.
    pub fn requested_policy(&self, body: &serde_json::Map<String, Value>) -> ApiResult<Value> {
        match crate::body::id_of(body, "policy")? {
            None => Ok(self.default_policy().clone()),
            Some(id) => self.policy(&id).cloned().ok_or_else(|| {
                ApiError::invalid_value(
                    "policy.id",
                    format!("Unable to find device authentication policy with ID: {id}"),
                )
            }),
        }
    }

    pub fn default_policy(&self) -> &Value {
        self.policies
            .iter()
            .find(|p| p.get("default").and_then(Value::as_bool) == Some(true))
            .unwrap_or(&self.policies[0])
    }
}

/// A UUID-shaped (version 4 layout) ID derived deterministically from a label.
pub fn derived_uuid(label: &str) -> String {
    let h = Sha256::digest(format!("pingone-emulator:{label}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

const SEED_USERS: [(&str, &str); 5] = [
    ("alice", "01"),
    ("bob", "02"),
    ("carol", "03"),
    ("dave", "04"),
    ("erin", "05"),
];

fn seed_environment(i: usize, now: i64, api_url: &str) -> (Environment, Seed) {
    let env_id = derived_uuid(&format!("env:{i}"));
    let client_id = derived_uuid(&format!("client:{i}"));
    let client_secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(
        format!("pingone-emulator:client-secret:{i}"),
    ));
    let policy_id = derived_uuid(&format!("policy:{i}:default"));
    let sms_off_policy_id = derived_uuid(&format!("policy:{i}:sms-disabled"));
    let app_id = derived_uuid(&format!("application:{i}:mobile"));

    let mut users = HashMap::new();
    let mut seed_users = Vec::new();
    for (name, suffix) in SEED_USERS {
        let id = derived_uuid(&format!("user:{i}:{name}"));
        let email = format!("{name}@example.com");
        let phone = format!("+151255501{suffix}");
        users.insert(
            id.clone(),
            User {
                id: id.clone(),
                username: name.to_string(),
                email: email.clone(),
                phone: phone.clone(),
                mfa_enabled: false,
                created_at: now,
                updated_at: now,
                ordered: true,
                device_order: Vec::new(),
            },
        );
        seed_users.push(SeedUser {
            id,
            username: name.to_string(),
            email,
            phone,
        });
    }

    let policies = vec![
        policies::seed_policy(
            api_url,
            &env_id,
            &policy_id,
            "Default MFA Policy",
            true,
            true,
            &app_id,
            now,
        ),
        policies::seed_policy(
            api_url,
            &env_id,
            &sms_off_policy_id,
            "No SMS Policy",
            false,
            false,
            &app_id,
            now,
        ),
    ];

    let (oath_tokens, seed_oath_tokens) = crate::oath::seed_tokens(i);
    let env = Environment {
        id: env_id.clone(),
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
        users,
        devices: HashMap::new(),
        policies,
        mfa_settings: MfaSettings {
            max_allowed_devices: 5,
            // NUMERIC: the format of the 14-digit keys PingOne's examples
            // show (see `pairing_keys`).
            pairing_key_format: "NUMERIC".into(),
            lockout_failure_count: 5,
            lockout_duration_seconds: 600,
            device_selection: "DEFAULT_TO_FIRST".into(),
            updated_at: now,
        },
        mobile_app_id: app_id.clone(),
        device_auths: HashMap::new(),
        pairing_keys: HashMap::new(),
        auth_codes: HashMap::new(),
        oath_tokens,
    };
    let seed = Seed {
        environment_id: env_id,
        client_id,
        client_secret,
        policy_id,
        application_id: app_id,
        users: seed_users,
        oath_tokens: seed_oath_tokens,
    };
    (env, seed)
}
