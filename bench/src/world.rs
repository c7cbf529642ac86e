//! The world every measurement runs in: the in-process PingOne emulator, a
//! runtime with the PingOne MFA connector, a tenant connected to the
//! emulator, one SMS device to read, and the native client; plus the
//! workloads, the same calls prepared for both paths (host inputs and native
//! requests) so that building them stays outside the timing.

use bytes::Bytes;
use connector_runtime::{Connector, Limits, Runtime, RuntimeConfig, Tenant};
use pingone_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

use crate::native::{Native, NativeRequest};

const OTP_CHECK: &str = "application/vnd.pingidentity.otp.check+json";

/// The capabilities measured.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cap {
    ReadDevice,
    CreateAuthentication,
    Passcode,
}

impl Cap {
    pub const ALL: [Cap; 3] = [Cap::ReadDevice, Cap::CreateAuthentication, Cap::Passcode];

    pub fn id(self) -> &'static str {
        match self {
            Cap::ReadDevice => "readDevice",
            Cap::CreateAuthentication => "createDeviceAuthentication",
            Cap::Passcode => "validateOtpDeviceAuthentication",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Cap::ReadDevice => "Read Device",
            Cap::CreateAuthentication => "Create Device Authentication",
            Cap::Passcode => "Device Passcode",
        }
    }
}

/// Which side of the comparison a call goes through; also the index of that
/// side in the `[host, native]` pairs the measurements return.
#[derive(Clone, Copy, PartialEq)]
pub enum Path {
    Host,
    Native,
}

pub struct World {
    pub emulator: Emulator,
    runtime: Runtime,
    pub tenant: Tenant,
    native: Native,
    pub user: String,
    pub device: String,
}

/// The tenant's limits, wide enough that no measured run (at most 1,000
/// invocations in flight) is queued or refused by them.
pub fn bench_limits() -> Limits {
    Limits {
        max_concurrent: 2048,
        max_queued: 4096,
        ..Limits::default()
    }
}

/// A runtime with the PingOne MFA connector only, as every figure compares
/// like with like across versions.
pub async fn load(config: RuntimeConfig) -> Runtime {
    Runtime::with_connectors(config, &[connector_testkit::PINGONE_MFA])
        .await
        .expect("component loads")
}

pub fn pingone(runtime: &Runtime) -> Connector {
    runtime
        .connector(connector_testkit::PINGONE)
        .expect("PingOne MFA is loaded")
}

/// A multi-threaded tokio executor with `threads` workers and every driver,
/// as the sections run their worlds on.
pub fn executor(threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("a tokio executor")
}

pub fn runtime_config(cache_dir: Option<std::path::PathBuf>) -> RuntimeConfig {
    // BENCH_MAX_INSTANCES: pool size (default 1100, enough for 1,000 in flight).
    let max_instances = std::env::var("BENCH_MAX_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1100);
    RuntimeConfig {
        cache_dir,
        max_instances,
        ..RuntimeConfig::default()
    }
}

impl World {
    /// The runtime (clones share it).
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn pingone(&self) -> Connector {
        pingone(&self.runtime)
    }

    pub async fn start(cache_dir: Option<std::path::PathBuf>) -> World {
        let emulator = Emulator::start(EmulatorConfig::default())
            .await
            .expect("emulator starts");
        let runtime = load(runtime_config(cache_dir)).await;
        let seed = emulator.seed().clone();
        let tenant = connector_testkit::pingone_tenant(&runtime, &emulator, &seed, bench_limits());
        let user = seed.users[0].id.clone();
        let created = runtime
            .invoke(
                &tenant,
                "createDevice",
                &json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVE",
                         "createDeviceTestMode": "true", "phone": "+15125550101" })
                .to_string(),
            )
            .await
            .expect("createDevice");
        let device = created["device"]["id"]
            .as_str()
            .expect("device id")
            .to_owned();
        let native = Native::new(&emulator).await;
        World {
            emulator,
            runtime,
            tenant,
            native,
            user,
            device,
        }
    }

    fn env(&self) -> &str {
        &self.emulator.seed().environment_id
    }

    /// `n` fresh device authentications awaiting their OTP: (id, otp).
    async fn pending_authentications(&self, n: usize) -> Vec<(String, String)> {
        let request = self.native_create();
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (status, body) = self.native.send(&request).await;
            assert_eq!(status, 201, "{body}");
            out.push((
                body["id"].as_str().expect("id").to_owned(),
                body["test"]["otp"].as_str().expect("test otp").to_owned(),
            ));
        }
        out
    }

    fn native_create(&self) -> NativeRequest {
        NativeRequest {
            method: http::Method::POST,
            uri: format!("{}/{}/deviceAuthentications", self.emulator.auth_url(), self.env())
                .parse()
                .unwrap(),
            content_type: Some("application/json"),
            body: Bytes::from(
                json!({ "user": { "id": self.user }, "policy": { "id": self.emulator.seed().policy_id } })
                    .to_string(),
            ),
        }
    }

    /// `n` inputs (host) or requests (native) for `cap`.
    pub async fn workload(&self, cap: Cap, n: usize) -> Workload {
        let pending = if cap == Cap::Passcode {
            self.pending_authentications(n).await
        } else {
            Vec::new()
        };
        let host = (0..n)
            .map(|i| match cap {
                Cap::ReadDevice => json!({ "userId": self.user, "deviceId": self.device }),
                Cap::CreateAuthentication => json!({ "userId": self.user }),
                Cap::Passcode => {
                    json!({ "deviceAuthenticationId": pending[i].0, "otp": pending[i].1 })
                }
            })
            .map(|v| v.to_string())
            .collect();
        let pending = if cap == Cap::Passcode {
            self.pending_authentications(n).await
        } else {
            Vec::new()
        };
        let native = (0..n)
            .map(|i| match cap {
                Cap::ReadDevice => NativeRequest {
                    method: http::Method::GET,
                    uri: format!(
                        "{}/environments/{}/users/{}/devices/{}",
                        self.emulator.api_url(),
                        self.env(),
                        self.user,
                        self.device
                    )
                    .parse()
                    .unwrap(),
                    content_type: None,
                    body: Bytes::new(),
                },
                Cap::CreateAuthentication => self.native_create(),
                Cap::Passcode => NativeRequest {
                    method: http::Method::POST,
                    uri: format!(
                        "{}/{}/deviceAuthentications/{}",
                        self.emulator.auth_url(),
                        self.env(),
                        pending[i].0
                    )
                    .parse()
                    .unwrap(),
                    content_type: Some(OTP_CHECK),
                    body: Bytes::from(json!({ "otp": pending[i].1 }).to_string()),
                },
            })
            .collect();
        Workload { host, native }
    }

    pub async fn host_call(&self, cap: Cap, input: &str) -> Value {
        match self.runtime.invoke(&self.tenant, cap.id(), input).await {
            Ok(v) => v,
            Err(e) => panic!("{} failed: {e}", cap.id()),
        }
    }

    pub async fn native_call(&self, req: &NativeRequest) -> Value {
        let (status, body) = self.native.send(req).await;
        assert!((200..300).contains(&status), "native {status}: {body}");
        body
    }
}

/// The same `n` calls for each path: host inputs and native requests. Each
/// Device Passcode call needs its own pending authentication, so the two
/// halves are prepared from separate sets.
pub struct Workload {
    pub host: Vec<String>,
    pub native: Vec<NativeRequest>,
}
