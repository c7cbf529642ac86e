//! The device authentication itself: its status, the device it runs on,
//! the transitions every action shares (reset, complete, fail) and its
//! storage in the environment (lifetime, purge, look-up by ID).
//!
//! Every read of and action on an existing authentication goes through
//! [`with_da`], so that expiry, the 404 for an unknown ID and storing the
//! authentication back are handled in one place.

use serde_json::Value;

use crate::devices::DeviceType;
use crate::error::{ApiError, ApiResult, Detail};
use crate::state::{AppState, Environment, Store};
use crate::SentMessage;

/// How long a device authentication lives (emulator clock).
pub const LIFETIME_MS: i64 = 10 * 60_000;

/// A device authentication's state.
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
    /// PingOne's name of the state.
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

    pub(super) fn is_terminal(self) -> bool {
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

/// One device authentication, as the emulator keeps it.
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

impl DeviceAuth {
    pub(super) fn reset_challenge(&mut self) {
        self.otp = None;
        self.otp_failures = 0;
        self.test_otp = None;
        self.challenge = None;
        self.rp_id = None;
        self.request_options = None;
    }

    pub(super) fn fail(&mut self, error: Value, now: i64) {
        self.reset_challenge();
        self.status = DaStatus::Failed;
        self.error = Some(error);
        self.updated_at = now;
    }

    pub(super) fn complete(&mut self, method: &str, now: i64) {
        self.reset_challenge();
        self.status = DaStatus::Completed;
        self.authenticators = vec![method.to_string()];
        self.updated_at = now;
    }
}

pub(super) fn wrong_status(da: &DeviceAuth, action: &str) -> ApiError {
    ApiError::request_failed(Detail::new(
        "INVALID_VALUE",
        Some("status"),
        format!(
            "{action} is not allowed while the device authentication is {}",
            da.status.as_str()
        ),
    ))
}

pub(super) fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Unable to find device authentication with ID: {id}"
    ))
}

/// Drops expired device authentications.
pub(super) fn purge(env: &mut Environment, now: i64) {
    env.device_auths.retain(|_, d| d.expires_at > now);
}

/// Runs `f` on the device authentication `id` (404 if unknown or expired);
/// the authentication is stored back whatever `f` returns, so failures that
/// change state (wrong OTPs) stick.
pub(super) fn with_da<T>(
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
