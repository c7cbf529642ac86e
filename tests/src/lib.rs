//! Shared harness of the contract tests: an in-process PingOne emulator on
//! loopback, a runtime loading the real components (the test kit's), and a
//! tenant pointed at the emulator. Everything is dropped (and the emulator
//! stopped) at the end of each test.

use connector_runtime::{Error, Limits, Runtime, RuntimeConfig, Tenant};
use pingone_emulator::authenticator::{AttestationFormat, SoftAuthenticator};
use pingone_emulator::{otp, Emulator, EmulatorConfig, Seed};
use serde_json::{json, Map, Value};

pub use connector_testkit::{pingone_settings, test_config, PINGONE};

/// The web origin FIDO2 ceremonies run at in the tests.
pub const ORIGIN: &str = "https://login.example.com";
/// The relying party ID of FIDO2 devices in the tests.
pub const RP_ID: &str = "example.com";

/// One test's world.
pub struct Harness {
    /// The emulator (stopped on drop).
    pub emulator: Emulator,
    /// The runtime with the real connector components.
    pub runtime: Runtime,
    /// A tenant for the emulator's first environment.
    pub tenant: Tenant,
}

/// The operator's PingOne settings for `seed` on `emulator` (URL overrides
/// on loopback, which only the operator may use).
pub fn settings_for(emulator: &Emulator, seed: &Seed) -> Map<String, Value> {
    pingone_settings(emulator, seed)
}

/// An operator tenant for `seed` on `emulator`, with `limits`, connected
/// to `runtime`'s PingOne MFA connector.
pub fn tenant_with_limits(
    runtime: &Runtime,
    emulator: &Emulator,
    seed: &Seed,
    limits: Limits,
) -> Tenant {
    connector_testkit::pingone_tenant(runtime, emulator, seed, limits)
}

impl Harness {
    /// Starts an emulator and loads the component.
    pub async fn start() -> Harness {
        Self::with_config(test_config()).await
    }

    /// [`Harness::start`] with runtime settings of its own.
    pub async fn with_config(config: RuntimeConfig) -> Harness {
        let emulator = Emulator::start(EmulatorConfig::default())
            .await
            .expect("emulator starts");
        let runtime = connector_testkit::runtime(config).await;
        let tenant = tenant_with_limits(&runtime, &emulator, emulator.seed(), Limits::default());
        Harness {
            emulator,
            runtime,
            tenant,
        }
    }

    /// The first seeded user's ID.
    pub fn user(&self) -> String {
        self.emulator.seed().users[0].id.clone()
    }

    /// The n-th seeded user's ID.
    pub fn user_n(&self, n: usize) -> String {
        self.emulator.seed().users[n].id.clone()
    }

    /// Invokes `capability` with `input`.
    pub async fn call(&self, capability: &str, input: Value) -> Result<Value, Error> {
        self.runtime
            .invoke(&self.tenant, capability, &input.to_string())
            .await
    }

    /// Invokes and expects success.
    pub async fn ok(&self, capability: &str, input: Value) -> Value {
        match self.call(capability, input).await {
            Ok(out) => out,
            Err(e) => panic!("{capability} failed: {e}"),
        }
    }

    /// Creates an ACTIVE SMS device for `user`; returns its ID.
    pub async fn active_sms(&self, user: &str, phone: &str) -> String {
        let out = self
            .ok(
                "createDevice",
                json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVE", "phone": phone }),
            )
            .await;
        out["device"]["id"].as_str().expect("device id").to_owned()
    }

    /// Creates a test-mode SMS device awaiting activation; returns (ID, OTP).
    pub async fn pending_sms(&self, user: &str) -> (String, String) {
        let out = self
            .ok(
                "createDevice",
                json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVATION_REQUIRED",
                        "phone": "+15125550199", "createDeviceTestMode": "true" }),
            )
            .await;
        (
            out["device"]["id"].as_str().expect("device id").to_owned(),
            out["rawResponse"]["test"]["otp"]
                .as_str()
                .expect("test otp")
                .to_owned(),
        )
    }
}

impl Harness {
    /// The PingOne MFA connector.
    pub fn pingone(&self) -> connector_runtime::Connector {
        self.runtime
            .connector(PINGONE)
            .expect("PingOne MFA is loaded")
    }

    /// The operator's settings for the first environment.
    pub fn settings(&self) -> Map<String, Value> {
        pingone_settings(&self.emulator, self.emulator.seed())
    }

    /// An operator tenant connected to PingOne MFA with `settings` and `limits`.
    pub fn operator_tenant(&self, settings: Map<String, Value>, limits: Limits) -> Tenant {
        Tenant::connected(
            &self.pingone(),
            settings,
            connector_runtime::Trust::Operator,
            limits,
        )
        .expect("valid settings")
    }

    /// The seeded environment's ID.
    pub fn env_id(&self) -> String {
        self.emulator.seed().environment_id.clone()
    }

    /// The emulator clock (epoch milliseconds).
    pub fn now_ms(&self) -> i64 {
        self.emulator.state().now_ms()
    }

    /// PingOne API calls the emulator has answered so far.
    pub fn api_requests(&self) -> u64 {
        self.emulator.stats().api_requests
    }

    /// Creates an ACTIVE test-mode device (`SMS`, `Voice` or `Email`) whose
    /// authentication OTPs come back in `test.otp`; returns its ID.
    pub async fn test_mode_device(&self, user: &str, device_type: &str, target: &str) -> String {
        let mut input = json!({ "userId": user, "deviceType": device_type, "status": "ACTIVE",
                                "createDeviceTestMode": "true" });
        let field = if device_type.eq_ignore_ascii_case("email") {
            "email"
        } else {
            "phone"
        };
        input[field] = json!(target);
        let out = self.ok("createDevice", input).await;
        id_at(&out, "/device/id")
    }

    /// Creates a TOTP device and activates it with a code computed from its
    /// secret, as an authenticator app would; returns (ID, secret).
    pub async fn active_totp(&self, user: &str) -> (String, Vec<u8>) {
        let out = self
            .ok(
                "createDevice",
                json!({ "userId": user, "deviceType": "Authenticator App", "status": "ACTIVATION_REQUIRED" }),
            )
            .await;
        let id = id_at(&out, "/device/id");
        let secret = otp::base32_decode(out["device"]["secret"].as_str().expect("TOTP secret"))
            .expect("base32 secret");
        self.ok(
            "activateDevice",
            json!({ "userId": user, "deviceId": id, "otp": self.totp_now(&secret) }),
        )
        .await;
        (id, secret)
    }

    /// The TOTP code of `secret` at the emulator's current time.
    pub fn totp_now(&self, secret: &[u8]) -> String {
        otp::totp(secret, self.now_ms())
    }

    /// Creates a FIDO2 device for RP [`RP_ID`], registers `authenticator`
    /// with its creation options and activates it; returns its ID.
    pub async fn active_fido2(&self, user: &str, authenticator: &mut SoftAuthenticator) -> String {
        let out = self
            .ok(
                "createDevice",
                json!({ "userId": user, "deviceType": "Fido2 Biometrics", "status": "ACTIVATION_REQUIRED",
                        "rpId": RP_ID, "rpName": "Example" }),
            )
            .await;
        let id = id_at(&out, "/device/id");
        let options = out["device"]["publicKeyCredentialCreationOptions"]
            .as_str()
            .expect("creation options");
        let attestation = authenticator
            .create(options, ORIGIN, AttestationFormat::None)
            .expect("the soft authenticator registers");
        let activated = self
            .ok(
                "activateDevice",
                json!({ "userId": user, "deviceId": id, "attestation": attestation, "origin": ORIGIN }),
            )
            .await;
        assert_eq!(activated["device"]["status"], "ACTIVE", "{activated}");
        id
    }

    /// Pairs a MOBILE device: createPairingKey, then the "app" claims the key.
    pub async fn mobile_device(&self, user: &str) -> String {
        let key = self.ok("createPairingKey", json!({ "userId": user })).await;
        let code = key["rawResponse"]["code"].as_str().expect("pairing code");
        let device = self
            .emulator
            .claim_pairing_key(&self.env_id(), code)
            .expect("the app claims the key");
        id_at(&device, "/id")
    }

    /// Removes the user's device order (what "remove device order" does in
    /// PingOne): authentications then ask for a device when there are several.
    pub fn remove_device_order(&self, user: &str) {
        let mut store = self.emulator.state().lock();
        let env = store
            .envs
            .get_mut(&self.env_id())
            .expect("seeded environment");
        let u = env.users.get_mut(user).expect("seeded user");
        u.ordered = false;
        u.device_order.clear();
    }
}

/// The string at `pointer` in `value`.
pub fn id_at(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {value}"))
        .to_owned()
}

/// A 6-digit OTP that is not `otp`.
pub fn wrong_otp(otp: &str) -> &'static str {
    if otp == "000000" {
        "111111"
    } else {
        "000000"
    }
}

/// Base64url without padding (custom FIDO2 challenges).
pub fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Asserts `result` is a schema rejection of `capability`'s input at `pointer`.
#[track_caller]
pub fn assert_invalid_input(result: Result<Value, Error>, capability: &str, pointer: &str) {
    match result {
        Err(Error::InvalidInput {
            capability: c,
            pointer: p,
            message,
        }) => {
            assert_eq!(c, capability);
            assert_eq!(p, pointer, "wrong pointer; message: {message}");
            assert!(!message.is_empty());
        }
        other => panic!("expected invalid input at {pointer}, got {other:?}"),
    }
}

/// Asserts `result` is a PingOne error with `status` and `code`; returns its details.
#[track_caller]
pub fn assert_api_error(
    result: Result<Value, Error>,
    status: u16,
    code: &str,
) -> Vec<connector_runtime::ApiErrorDetail> {
    match result {
        Err(Error::Api {
            status: s,
            code: c,
            message,
            details,
            id,
            ..
        }) => {
            assert_eq!((s, c.as_str()), (status, code), "message: {message}");
            assert!(!message.is_empty(), "PingOne's message is kept");
            assert!(id.is_some(), "PingOne's error id is kept");
            details
        }
        other => panic!("expected PingOne {status} {code}, got {other:?}"),
    }
}
