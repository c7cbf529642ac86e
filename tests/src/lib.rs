//! Shared harness of the contract tests: an in-process PingOne emulator on
//! loopback, a runtime loading the real component, and a tenant pointed at
//! the emulator. Everything is dropped (and the emulator stopped) at the end
//! of each test.

use connector_host::{Error, Runtime, RuntimeConfig, Secret, Tenant, TenantSettings};
use pingone_emulator::{Emulator, EmulatorConfig, Seed};
use serde_json::{json, Value};

/// One test's world.
pub struct Harness {
    /// The emulator (stopped on drop).
    pub emulator: Emulator,
    /// The runtime with the real PingOne MFA component.
    pub runtime: Runtime,
    /// A tenant for the emulator's first environment.
    pub tenant: Tenant,
}

/// Runtime settings for tests: the artifact cache lives in the target dir.
pub fn test_config() -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: Some(std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/test-artifact-cache"
        ))),
        max_instances: 64,
        ..RuntimeConfig::default()
    }
}

/// A tenant for `seed` on `emulator`.
pub fn tenant_for(emulator: &Emulator, seed: &Seed) -> Tenant {
    Tenant::new(TenantSettings {
        environment_id: seed.environment_id.clone(),
        policy_id: seed.policy_id.clone(),
        client_id: seed.client_id.clone(),
        client_secret: Secret::new(seed.client_secret.clone()),
        region: Default::default(),
        api_url: Some(emulator.api_url()),
        auth_url: Some(emulator.auth_url()),
    })
    .expect("seeded settings are valid")
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
        let runtime = Runtime::new(config).await.expect("component loads");
        let tenant = tenant_for(&emulator, emulator.seed());
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

/// Asserts `result` is a schema rejection of `capability`'s input at `pointer`.
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
pub fn assert_api_error(
    result: Result<Value, Error>,
    status: u16,
    code: &str,
) -> Vec<connector_host::ApiErrorDetail> {
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
