//! OATH hardware tokens: the environment's inventory of tokens that
//! OATH_TOKEN devices are bound to, and the check of their codes.
//!
//! In PingOne an administrator imports OATH tokens (serial number, secret,
//! HOTP or TOTP) into the environment; a user's OATH_TOKEN device names one
//! of them by `serialNumber`. The emulator seeds each environment with
//! [`SEED_TOKENS`] instead of offering the import API.
//!
//! Emulator choices (inferred; the reference documents only the device
//! side, `serialNumber` at creation and `oathResync` at activation):
//! * An unknown serial number is 400 INVALID_DATA / INVALID_VALUE on
//!   `serialNumber`; a token already bound to a device is 400 INVALID_DATA /
//!   UNIQUENESS_VIOLATION on `serialNumber`. Deleting the device releases
//!   the token, which keeps its counter.
//! * HOTP (RFC 4226): a code is accepted if it is the code of the next
//!   expected counter or of one of the [`HOTP_LOOK_AHEAD`] counters after it;
//!   the counter then moves past the accepted value, so a code is never
//!   accepted twice.
//! * TOTP (RFC 6238, 30 s steps, emulator clock): a code of the current
//!   step, the one before or the one after is accepted, but only for a step
//!   later than the last accepted one (no reuse within the window).
//! * `oathResync: true` at activation (HOTP): a code up to
//!   [`RESYNC_LOOK_AHEAD`] counters ahead is answered with 400 INVALID_DATA /
//!   INVALID_OTP asking for the next code (it is not counted as a failure);
//!   the next call with the code of the following counter activates the
//!   device and resynchronises the counter. For TOTP tokens `oathResync`
//!   changes nothing (their drift is the ±1 step window).

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::body::opt_str;
use crate::error::{ApiError, ApiResult, Detail};
use crate::otp;

/// How many counters past the expected one an HOTP code may be.
pub const HOTP_LOOK_AHEAD: u64 = 10;
/// How far ahead a resynchronisation (`oathResync`) looks.
pub const RESYNC_LOOK_AHEAD: u64 = 100;
/// Digits of every seeded token's codes.
pub const DIGITS: u32 = 6;
/// The seeded inventory of every environment: serial numbers and kinds.
/// The secrets differ per environment (see [`seed_tokens`]).
pub const SEED_TOKENS: [(&str, OathKind); 4] = [
    ("OATH-0001", OathKind::Hotp),
    ("OATH-0002", OathKind::Hotp),
    ("OATH-0003", OathKind::Totp),
    ("OATH-0004", OathKind::Totp),
];

/// Counter-based (HOTP) or time-based (TOTP) token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OathKind {
    /// RFC 4226: each code belongs to a counter value.
    Hotp,
    /// RFC 6238: each code belongs to a 30-second time step.
    Totp,
}

impl OathKind {
    /// `HOTP` or `TOTP`.
    pub fn as_str(self) -> &'static str {
        match self {
            OathKind::Hotp => "HOTP",
            OathKind::Totp => "TOTP",
        }
    }
}

/// A seeded OATH token as tests and demos see it: enough to compute codes.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SeedOathToken {
    /// The serial number an OATH_TOKEN device names (`serialNumber`).
    pub serial_number: String,
    /// HOTP or TOTP.
    pub kind: OathKind,
    /// Digits per code (6).
    pub digits: u32,
    /// The token's secret, base32 without padding.
    pub secret: String,
}

impl SeedOathToken {
    /// The secret's bytes.
    pub fn secret_bytes(&self) -> Vec<u8> {
        otp::base32_decode(&self.secret).expect("seeded secrets are base32")
    }

    /// The HOTP code for `counter` (HOTP tokens start at counter 0).
    pub fn hotp(&self, counter: u64) -> String {
        otp::hotp(&self.secret_bytes(), counter)
    }

    /// The TOTP code at `unix_ms` (use the emulator clock).
    pub fn totp(&self, unix_ms: i64) -> String {
        otp::totp(&self.secret_bytes(), unix_ms)
    }
}

/// An OATH token of an environment's inventory.
#[derive(Clone, Debug)]
pub struct OathToken {
    /// The token's serial number (the inventory's key).
    pub serial_number: String,
    /// HOTP or TOTP.
    pub kind: OathKind,
    /// The shared secret (HMAC-SHA-1 key).
    pub secret: Vec<u8>,
    /// HOTP: the counter of the next expected code.
    pub counter: u64,
    /// TOTP: the last time step accepted; codes of it or earlier are refused.
    pub last_step: Option<i64>,
    /// The OATH_TOKEN device the token is bound to.
    pub device_id: Option<String>,
    /// HOTP resynchronisation in progress: the counter whose code must come
    /// next to complete it.
    pub resync_next: Option<u64>,
}

/// Where an accepted code moves the token to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// The HOTP counter of the accepted code.
    Counter(u64),
    /// The TOTP time step of the accepted code.
    Step(i64),
}

/// The outcome of an activation code with `oathResync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The code is good; the device may be activated.
    Accepted,
    /// The code was far ahead: the next code completes the resync.
    ResyncNext,
    /// A wrong code (counted as a failure).
    Rejected,
}

impl OathToken {
    /// Whether `code` is acceptable now, and what accepting it would mean
    /// (nothing changes until [`OathToken::accept`]).
    pub fn verify(&self, code: &str, now_ms: i64) -> Option<Accepted> {
        match self.kind {
            OathKind::Hotp => otp::hotp_find(&self.secret, self.counter, HOTP_LOOK_AHEAD, code)
                .map(Accepted::Counter),
            OathKind::Totp => otp::totp_find(&self.secret, now_ms, code)
                .filter(|s| self.last_step.is_none_or(|last| *s > last))
                .map(Accepted::Step),
        }
    }

    /// Moves the token past an accepted code.
    pub fn accept(&mut self, a: Accepted) {
        match a {
            Accepted::Counter(c) => self.counter = c + 1,
            Accepted::Step(s) => self.last_step = Some(s),
        }
        self.resync_next = None;
    }

    /// Checks and, if good, accepts `code`.
    pub fn check(&mut self, code: &str, now_ms: i64) -> bool {
        match self.verify(code, now_ms) {
            Some(a) => {
                self.accept(a);
                true
            }
            None => false,
        }
    }

    /// Checks an activation code sent with `oathResync: true`.
    pub fn check_with_resync(&mut self, code: &str, now_ms: i64) -> Verdict {
        if self.check(code, now_ms) {
            return Verdict::Accepted;
        }
        if self.kind == OathKind::Totp {
            return Verdict::Rejected;
        }
        if let Some(next) = self.resync_next.take() {
            if otp::constant_eq(&otp::hotp(&self.secret, next), code) {
                self.accept(Accepted::Counter(next));
                return Verdict::Accepted;
            }
        }
        match otp::hotp_find(&self.secret, self.counter, RESYNC_LOOK_AHEAD, code) {
            Some(c) => {
                self.resync_next = Some(c + 1);
                Verdict::ResyncNext
            }
            None => Verdict::Rejected,
        }
    }
}

/// The secret of seeded token `serial` in environment `index`:
/// deterministic, like the other seeded values, and different per
/// environment.
fn seed_secret(index: usize, serial: &str) -> Vec<u8> {
    Sha256::digest(format!("pingone-emulator:oath:{index}:{serial}"))[..20].to_vec()
}

/// The inventory of environment `index`: the tokens by serial number, and
/// their seed view.
pub fn seed_tokens(index: usize) -> (HashMap<String, OathToken>, Vec<SeedOathToken>) {
    let mut tokens = HashMap::new();
    let mut seeds = Vec::new();
    for (serial, kind) in SEED_TOKENS {
        let secret = seed_secret(index, serial);
        seeds.push(SeedOathToken {
            serial_number: serial.to_string(),
            kind,
            digits: DIGITS,
            secret: otp::base32(&secret),
        });
        tokens.insert(
            serial.to_string(),
            OathToken {
                serial_number: serial.to_string(),
                kind,
                secret,
                counter: 0,
                last_step: None,
                device_id: None,
                resync_next: None,
            },
        );
    }
    (tokens, seeds)
}

/// The `serialNumber` of a new OATH_TOKEN device, checked against the
/// inventory: required, known, and not bound to another device.
pub fn serial_for_new_device(
    tokens: &HashMap<String, OathToken>,
    b: &Map<String, Value>,
) -> ApiResult<String> {
    let serial = opt_str(b, "serialNumber", "serialNumber")?.ok_or_else(|| {
        ApiError::required_value(
            "serialNumber",
            "serialNumber is required for OATH_TOKEN devices",
        )
    })?;
    if serial.trim().is_empty() {
        return Err(ApiError::invalid_value(
            "serialNumber",
            "serialNumber must not be empty",
        ));
    }
    let token = tokens.get(serial).ok_or_else(|| {
        ApiError::invalid_value(
            "serialNumber",
            format!("Unable to find OATH token with serial number: {serial}"),
        )
    })?;
    if token.device_id.is_some() {
        return Err(ApiError::invalid_data(Detail::new(
            "UNIQUENESS_VIOLATION",
            Some("serialNumber"),
            format!("The OATH token with serial number {serial} is already paired with a device"),
        )));
    }
    Ok(serial.to_string())
}

/// Binds the token `serial` to a newly created device.
pub fn bind(tokens: &mut HashMap<String, OathToken>, serial: &str, device_id: &str) {
    if let Some(t) = tokens.get_mut(serial) {
        t.device_id = Some(device_id.to_string());
    }
}

/// Releases the token bound to a deleted device (its counter is kept: the
/// hardware token's counter does not go back).
pub fn release(tokens: &mut HashMap<String, OathToken>, device_id: &str) {
    for t in tokens.values_mut() {
        if t.device_id.as_deref() == Some(device_id) {
            t.device_id = None;
            t.resync_next = None;
        }
    }
}

/// The activation body's `oathResync` flag (default false).
pub fn resync_flag(b: &Map<String, Value>) -> ApiResult<bool> {
    match b.get("oathResync") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(v)) => Ok(*v),
        Some(_) => Err(ApiError::invalid_value(
            "oathResync",
            "oathResync must be a boolean",
        )),
    }
}

/// The answer to the first code of a resynchronisation: the caller must
/// send the token's next code (with `oathResync` again).
pub fn resync_next_error() -> ApiError {
    ApiError::invalid_data(
        Detail::new(
            "INVALID_OTP",
            Some("otp"),
            "The OATH token is out of sync; send its next OTP with oathResync to resynchronize it",
        )
        .inner(json!({"resyncRequired": true})),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(kind: OathKind) -> OathToken {
        let (mut tokens, _) = seed_tokens(0);
        let serial = SEED_TOKENS.iter().find(|(_, k)| *k == kind).unwrap().0;
        tokens.remove(serial).unwrap()
    }

    #[test]
    fn seeds_are_deterministic_per_environment() {
        let (_, a) = seed_tokens(0);
        let (_, again) = seed_tokens(0);
        let (_, b) = seed_tokens(1);
        assert_eq!(a.len(), SEED_TOKENS.len());
        assert_eq!(a[0].serial_number, "OATH-0001");
        assert_eq!(a[0].secret, again[0].secret);
        assert_ne!(a[0].secret, b[0].secret);
        assert_eq!(a[0].secret_bytes().len(), 20);
    }

    #[test]
    fn hotp_window_advances_and_refuses_reuse() {
        let mut t = token(OathKind::Hotp);
        let s = t.secret.clone();
        let (c0, c3, c20) = (
            otp::hotp(&s, 0),
            otp::hotp(&s, 3),
            otp::hotp(&s, HOTP_LOOK_AHEAD + 20),
        );
        assert!(t.check(&c3, 0), "within the look-ahead window");
        assert_eq!(t.counter, 4);
        assert!(!t.check(&c3, 0), "reuse");
        assert!(!t.check(&c0, 0), "behind the counter");
        assert!(!t.check(&c20, 0), "beyond the window");
    }

    #[test]
    fn hotp_resync_needs_two_consecutive_codes() {
        let mut t = token(OathKind::Hotp);
        let s = t.secret.clone();
        assert_eq!(
            t.check_with_resync(&otp::hotp(&s, 50), 0),
            Verdict::ResyncNext
        );
        assert_eq!(t.counter, 0, "nothing accepted yet");
        // Not the next code: the resync starts over.
        assert_eq!(
            t.check_with_resync(&otp::hotp(&s, 52), 0),
            Verdict::ResyncNext
        );
        assert_eq!(
            t.check_with_resync(&otp::hotp(&s, 53), 0),
            Verdict::Accepted
        );
        assert_eq!(t.counter, 54);
        assert_eq!(
            t.check_with_resync(&otp::hotp(&s, 54 + RESYNC_LOOK_AHEAD + 1), 0),
            Verdict::Rejected
        );
    }

    #[test]
    fn totp_window_and_no_reuse() {
        let mut t = token(OathKind::Totp);
        let s = t.secret.clone();
        let now = 1_700_000_000_000;
        assert!(!t.check(&otp::totp(&s, now + 90_000), now), "too far ahead");
        assert!(t.check(&otp::totp(&s, now), now));
        assert!(!t.check(&otp::totp(&s, now), now), "reuse");
        assert!(
            !t.check(&otp::totp(&s, now - 30_000), now),
            "within the window but before the last accepted step"
        );
        assert!(t.check(&otp::totp(&s, now + 30_000), now), "one step ahead");
        let mut fresh = token(OathKind::Totp);
        assert!(
            fresh.check(&otp::totp(&s, now - 30_000), now),
            "one step behind"
        );
        assert_eq!(t.check_with_resync("000000", now), Verdict::Rejected);
    }
}
