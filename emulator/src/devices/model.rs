//! The device itself: its type, its status, the state kept for pairing and
//! authentication, and its management-API JSON.
//!
//! These types are shared by every other part of the module (and by device
//! authentications, pairing keys and policies), so they live apart from the
//! code that creates, activates or lists devices.

use serde_json::{json, Map, Value};

use crate::filter::{Attr, Filterable};
use crate::otp;
use crate::state::AppState;
use crate::time::rfc3339_ms;

/// An MFA device type, as PingOne names it.
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

    /// PingOne's name of the value.
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

    /// The type PingOne's name `s` stands for.
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

/// A device's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    Active,
    ActivationRequired,
}

impl DeviceStatus {
    /// PingOne's name of the value.
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

/// One MFA device of a user, as the emulator keeps it.
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

/// A fresh device ID (a UUID, as PingOne's are).
pub fn new_device_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
