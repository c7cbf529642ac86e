//! PingOne MFA emulator: an in-memory HTTP server that behaves like PingOne's
//! management API (`/v1/environments/{envId}/...`) and auth API
//! (`/{envId}/as/token`, ...) for offline tests and demos.
//!
//! Both base URLs live on one listener:
//! * API base: `http://127.0.0.1:{port}/v1`
//! * Auth base: `http://127.0.0.1:{port}`
//!
//! Modules are organised by resource: `devices`, `device_auth`,
//! `pairing_keys`, `auth_codes`, `policies`, `users`, `token`, `oath` (the
//! environment's OATH token inventory); `fido`,
//! `cbor` and `authenticator` (a software WebAuthn authenticator for tests
//! and demos) hold the WebAuthn parts.
//!
//! Endpoints (`{env}` = environment ID):
//! * `POST /{env}/as/token` (client_credentials; Basic or form client auth)
//! * under `/v1/environments/{env}` (bearer token required):
//!   * `GET /users/{userId}`, `GET|PUT /users/{userId}/mfaEnabled`
//!   * `GET /users/{userId}/devices[?expand=order][&filter=...]`
//!   * `POST /users/{userId}/devices`: `application/json` (create),
//!     `...devices.reorder+json` (set order), `...devices.order.remove+json`
//!     (remove order; also accepted with `DELETE`)
//!   * `GET|DELETE /users/{userId}/devices/{deviceId}`
//!   * `POST /users/{userId}/devices/{deviceId}`: `...device.activate+json`,
//!     `...device.sendActivationCode+json`
//!   * `PUT /users/{userId}/devices/{deviceId}/nickname`
//!   * `POST /users/{userId}/pairingKeys`,
//!     `GET|DELETE /users/{userId}/pairingKeys/{pairingKeyId}`
//!   * `GET /deviceAuthenticationPolicies[/{policyId}]`
//!   * `GET|PUT /mfaSettings`
//! * auth host (bearer token required):
//!   * `POST /{env}/deviceAuthentications` (application/json) → 201
//!   * `GET /{env}/deviceAuthentications/{id}`
//!   * `POST /{env}/deviceAuthentications/{id}`: `...device.select+json`,
//!     `...otp.check+json`, `...assertion.check+json`,
//!     `...cancel.push.authentication+json`
//!   * `POST /{env}/authenticationCodes` (application/json) → 201,
//!     `GET /{env}/authenticationCodes/{id}`
//! * control (not PingOne, no token): `GET /_emulator/outbox`,
//!   `GET /_emulator/stats`, `GET /_emulator/info`,
//!   `POST /_emulator/clock {"advanceSeconds": n}`, and what a mobile app
//!   does, under `/_emulator/environments/{env}`:
//!   * `POST /pairingKeys/claim {code, os?, model?, applicationId?}` → the
//!     new MOBILE device
//!   * `POST /deviceAuthentications/{id}/push {action: approve|deny|timeout}`
//!   * `POST /authenticationCodes/claim {code, userId, deviceId?}`
//!   * `POST /authenticationCodes/{id}/approve {approve: bool}`

pub mod auth_codes;
pub mod authenticator;
pub mod body;
pub mod cbor;
pub mod control;
pub mod device_auth;
pub mod devices;
pub mod error;
pub mod faults;
pub mod fido;
pub mod filter;
pub mod oath;
pub mod otp;
pub mod pairing_keys;
pub mod policies;
pub mod state;
pub mod time;
pub mod token;
pub mod users;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use error::{ApiError, Detail};
pub use oath::SeedOathToken;
pub use state::AppState;

/// Emulator settings.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// 0 = ephemeral.
    pub port: u16,
    /// Number of seeded environments (default 1). Environment i (0-based)
    /// has deterministic IDs derived from i.
    pub environments: usize,
    /// Access token lifetime (default 3600 s).
    pub token_lifetime: Duration,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            port: 0,
            environments: 1,
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// A seeded environment: its worker app credentials, default policy and users.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Seed {
    pub environment_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub policy_id: String,
    /// The seeded native (mobile) application: pairing keys, MOBILE devices
    /// and authentication codes use it.
    pub application_id: String,
    pub users: Vec<SeedUser>,
    /// The OATH tokens imported into the environment (serial numbers and
    /// secrets), for OATH_TOKEN devices.
    pub oath_tokens: Vec<SeedOathToken>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct SeedUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub phone: String,
}

/// Request counters since start.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Stats {
    pub token_requests: u64,
    pub api_requests: u64,
}

/// A message PingOne "sent" (pairing or authentication OTP by SMS, voice
/// or email).
#[derive(Clone, Debug, serde::Serialize)]
pub struct SentMessage {
    pub environment_id: String,
    pub user_id: String,
    pub device_id: String,
    /// SMS | VOICE | EMAIL
    pub channel: String,
    pub to: String,
    pub otp: String,
    /// `PAIRING` (device activation) or `AUTHENTICATION` (device
    /// authentication; `device_id` is empty for one-time devices).
    pub purpose: String,
}

/// The HTTP routes over a shared state.
pub fn router(state: Arc<AppState>) -> Router {
    const ENV: &str = "/v1/environments/{env_id}";
    let user = format!("{ENV}/users/{{user_id}}");
    let device = format!("{user}/devices/{{device_id}}");
    let api = Router::new()
        .route(&user, get(users::read_user))
        .route(
            &format!("{user}/mfaEnabled"),
            get(users::read_mfa_enabled).put(users::update_mfa_enabled),
        )
        .route(
            &format!("{user}/devices"),
            get(devices::list_devices)
                .post(devices::post_devices)
                .delete(devices::delete_devices),
        )
        .route(
            &device,
            get(devices::read_device)
                .post(devices::post_device)
                .delete(devices::delete_device),
        )
        .route(&format!("{device}/nickname"), put(devices::update_nickname))
        .route(
            &format!("{user}/pairingKeys"),
            post(pairing_keys::create_handler),
        )
        .route(
            &format!("{user}/pairingKeys/{{key_id}}"),
            get(pairing_keys::read_handler).delete(pairing_keys::delete_handler),
        )
        .route(
            &format!("{ENV}/deviceAuthenticationPolicies"),
            get(policies::list_policies),
        )
        .route(
            &format!("{ENV}/deviceAuthenticationPolicies/{{policy_id}}"),
            get(policies::read_policy),
        )
        .route(
            &format!("{ENV}/mfaSettings"),
            get(policies::read_mfa_settings).put(policies::update_mfa_settings),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            token::require_bearer,
        ));

    let auth = Router::new()
        .route(
            "/{env_id}/deviceAuthentications",
            post(device_auth::create_handler),
        )
        .route(
            "/{env_id}/deviceAuthentications/{da_id}",
            get(device_auth::read_handler).post(device_auth::action_handler),
        )
        .route(
            "/{env_id}/authenticationCodes",
            post(auth_codes::create_handler),
        )
        .route(
            "/{env_id}/authenticationCodes/{code_id}",
            get(auth_codes::read_handler),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            token::require_bearer,
        ));

    const CTL: &str = "/_emulator/environments/{env_id}";
    Router::new()
        .route("/{env_id}/as/token", post(token::token))
        .route(
            &format!("{CTL}/pairingKeys/claim"),
            post(control::claim_pairing_key),
        )
        .route(
            &format!("{CTL}/deviceAuthentications/{{da_id}}/push"),
            post(control::push),
        )
        .route(
            &format!("{CTL}/authenticationCodes/claim"),
            post(control::claim_authentication_code),
        )
        .route(
            &format!("{CTL}/authenticationCodes/{{code_id}}/approve"),
            post(control::approve_authentication_code),
        )
        .route("/_emulator/outbox", get(control::outbox))
        .route("/_emulator/stats", get(control::stats))
        .route("/_emulator/info", get(control::info))
        .route("/_emulator/clock", post(control::advance_clock))
        .merge(api)
        .merge(auth)
        .fallback(|| async { ApiError::route_not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state)
}

/// A running emulator. Dropping it aborts the server task.
pub struct Emulator {
    state: Arc<AppState>,
    faults: Arc<faults::Faults>,
    port: u16,
    handle: Option<JoinHandle<()>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Emulator {
    /// Binds 127.0.0.1:{port} and serves in a tokio task. Returns once listening.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port)))
                .await?;
        let port = listener.local_addr()?.port();
        let auth_url = format!("http://127.0.0.1:{port}");
        let api_url = format!("{auth_url}/v1");
        let state = Arc::new(AppState::new(api_url, auth_url, &config));
        let faults = Arc::new(faults::Faults::default());
        let app = router(state.clone())
            .merge(
                Router::new()
                    .route("/_emulator/faults", post(faults::add).delete(faults::clear))
                    .with_state(faults.clone()),
            )
            .layer(axum::middleware::from_fn_with_state(
                faults.clone(),
                faults::inject,
            ));
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("emulator server stopped: {e}");
            }
        });
        tracing::info!(port, "PingOne emulator listening on 127.0.0.1:{port}");
        Ok(Emulator {
            state,
            faults,
            port,
            handle: Some(handle),
            shutdown: Some(tx),
        })
    }

    /// Makes matching requests fail as `fault` says (see [`faults`]).
    pub fn inject(&self, fault: faults::Fault) {
        self.faults.inject(fault);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    /// How many requests an injected fault was applied to since start.
    pub fn fault_hits(&self) -> u64 {
        self.faults.hits()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:{port}/v1`
    pub fn api_url(&self) -> String {
        self.state.api_url.clone()
    }

    /// `http://127.0.0.1:{port}`
    pub fn auth_url(&self) -> String {
        self.state.auth_url.clone()
    }

    /// The first seeded environment.
    pub fn seed(&self) -> &Seed {
        &self.state.seeds()[0]
    }

    pub fn seeds(&self) -> &[Seed] {
        self.state.seeds()
    }

    /// `{"apiUrl","authUrl","environmentId","clientId","clientSecret",
    /// "policyId","users":[{"id","username"}],
    /// "oathTokens":[{"serialNumber","type","digits","secret"}],
    /// "environments":[...]}`
    pub fn startup_info(&self) -> Value {
        startup_info_for(&self.state)
    }

    /// Counters since start.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// Every access token the token endpoint issued, oldest first.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.lock().issued_tokens.clone()
    }

    /// Rotates the worker app's client secret of environment `env_id`, as an
    /// administrator would in PingOne; false when there is no such environment.
    pub fn set_client_secret(&self, env_id: &str, secret: &str) -> bool {
        match self.state.lock().envs.get_mut(env_id) {
            Some(env) => {
                env.client_secret = secret.to_owned();
                true
            }
            None => false,
        }
    }

    /// Messages "sent" by PingOne, newest last.
    pub fn outbox(&self) -> Vec<SentMessage> {
        self.state.outbox()
    }

    /// A reader of the outbox that outlives no one: it keeps the state,
    /// not the server (for `serve --dev`, which shows the outbox in its
    /// playground while it owns the emulator).
    pub fn outbox_reader(&self) -> impl Fn() -> Vec<SentMessage> + Send + Sync + 'static {
        let state = self.state.clone();
        move || state.outbox()
    }

    /// Moves the emulator clock forward (expires tokens, OTPs, device locks,
    /// device authentications, pairing keys, authentication codes; shifts
    /// TOTP).
    pub fn advance_clock(&self, by: Duration) {
        self.state.advance_clock(by)
    }

    /// Claims a pairing key as the mobile SDK would (default os / model /
    /// application): the key becomes CLAIMED and its user gets an ACTIVE
    /// MOBILE device, returned as the management API shows it.
    pub fn claim_pairing_key(&self, env_id: &str, code: &str) -> Result<Value, String> {
        let mut b = serde_json::Map::new();
        b.insert("code".into(), json!(code));
        pairing_keys::claim(&self.state, env_id, &b).map_err(err_string)
    }

    /// Answers the push of a device authentication in
    /// PUSH_CONFIRMATION_REQUIRED: `"approve"`, `"deny"` or `"timeout"`.
    pub fn push(
        &self,
        env_id: &str,
        device_authentication_id: &str,
        action: &str,
    ) -> Result<Value, String> {
        device_auth::push(&self.state, env_id, device_authentication_id, action).map_err(err_string)
    }

    /// Claims an authentication code for a user on their MOBILE device
    /// (`device_id`, or their first one).
    pub fn claim_authentication_code(
        &self,
        env_id: &str,
        code: &str,
        user_id: &str,
        device_id: Option<&str>,
    ) -> Result<Value, String> {
        auth_codes::claim(&self.state, env_id, code, user_id, device_id).map_err(err_string)
    }

    /// Approves (or denies) a CLAIMED authentication code.
    pub fn approve_authentication_code(
        &self,
        env_id: &str,
        authentication_code_id: &str,
        approve: bool,
    ) -> Result<Value, String> {
        auth_codes::approve(&self.state, env_id, authentication_code_id, approve)
            .map_err(err_string)
    }

    /// The shared state (for in-process inspection).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Graceful stop: stops accepting, lets in-flight requests finish (at
    /// most 5 s), then aborts whatever is left.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut handle) = self.handle.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut handle)
                .await
                .is_err()
            {
                handle.abort();
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

/// `"400 INVALID_DATA: {error body JSON}"`
fn err_string(e: ApiError) -> String {
    format!("{} {}: {}", e.status.as_u16(), e.code, e.to_json())
}

fn seed_info(seed: &Seed) -> Value {
    json!({
        "environmentId": seed.environment_id,
        "clientId": seed.client_id,
        "clientSecret": seed.client_secret,
        "policyId": seed.policy_id,
        "applicationId": seed.application_id,
        "users": seed.users.iter().map(|u| json!({"id": u.id, "username": u.username})).collect::<Vec<_>>(),
        "oathTokens": seed.oath_tokens.iter().map(|t| json!({
            "serialNumber": t.serial_number,
            "type": t.kind.as_str(),
            "digits": t.digits,
            "secret": t.secret
        })).collect::<Vec<_>>()
    })
}

pub(crate) fn startup_info_for(state: &AppState) -> Value {
    let seeds = state.seeds();
    let mut v = seed_info(&seeds[0]);
    v["apiUrl"] = json!(state.api_url);
    v["authUrl"] = json!(state.auth_url);
    v["environments"] = Value::Array(
        seeds
            .iter()
            .map(|s| {
                let mut e = seed_info(s);
                e["apiUrl"] = json!(state.api_url);
                e["authUrl"] = json!(state.auth_url);
                e
            })
            .collect(),
    );
    v
}
