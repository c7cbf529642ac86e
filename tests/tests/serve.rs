//! `connector-host serve` over a real loopback listener and a real HTTP
//! client: every route of `ROUTES` answering its documented success, every
//! mapping of `errors.rs` that HTTP can reach, API keys and their scopes,
//! the server's own bounds (slow headers, large headers, connections per
//! client), and the OpenAPI document (its committed copy, its validity, its
//! agreement with the router).
//!
//! `tests/fixtures/openapi-3.1-schema.json` is the OpenAPI Initiative's
//! JSON Schema for OpenAPI 3.1 documents (`$id`
//! `https://spec.openapis.org/oas/3.1/schema/2022-10-07`, from
//! OAI/OpenAPI-Specification, under the Apache License 2.0). It was taken
//! from the copy scalar/openapi-parser vendors as `schemas/v3.1/schema.json`
//! (commit 4eaa0a7f), which carries that `$id` but is indented differently
//! from the file spec.openapis.org serves.
//!
//! The test files live in `serve/`, one module per concern; this file holds
//! the world they share.

use std::path::PathBuf;
use std::time::Duration;

use connector_runtime::{HttpLimits, Limits, Runtime, Tenant, Trust};
use connector_service::keys::KeyConfig;
use connector_service::routes::{Access, ROUTES};
use connector_service::{digest_hex, openapi, Keys, ServeConfig, ServerLimits, Service};
use connector_testkit::service::{Answer, ApiClient, RawConnection, Served};
use connector_testkit::{
    pingone_settings, test_config, HTTP, HTTP_CONNECTOR, PINGONE, PINGONE_MFA,
};
use pingone_emulator::faults::{Fault, FaultAction};
use pingone_emulator::{Emulator, EmulatorConfig, Seed};
use serde_json::{json, Map, Value};

#[path = "serve/bounds.rs"]
mod bounds;
#[path = "serve/errors.rs"]
mod errors;
#[path = "serve/flow_runs.rs"]
mod flow_runs;
#[path = "serve/openapi.rs"]
mod openapi_document;
#[path = "serve/routes.rs"]
mod routes;

const MISBEHAVING: &[u8] = include_bytes!(env!("MISBEHAVING_GUEST_COMPONENT"));
const ADMIN_KEY: &str = "serve-test-admin-key-7f3a";
const ACME_KEY: &str = "serve-test-acme-key-91c2";
/// How long a test waits for something that should happen at once; only a
/// bound against hanging, never a measure of speed.
const PATIENCE: Duration = Duration::from_secs(10);

/// What a test's world is built with.
#[derive(Default)]
struct Options {
    server: ServerLimits,
    /// The operator allows tenant-supplied URLs to name the emulator.
    tenants_may_reach_emulator: bool,
    /// The service starts from a tenants file (tenant `filed`).
    tenants_file: bool,
    max_instances: Option<u32>,
    /// The service lists and runs the seed's flow templates (`flows/`).
    flows: bool,
}

/// An emulator with two environments, a runtime with PingOne MFA, HTTP and
/// the misbehaving guest, and the service over them with two keys: an
/// admin key and one scoped to `acme`. Tenants `acme` and `globex` are the
/// operator's, connected to PingOne MFA and the misbehaving guest.
struct World {
    emulator: Emulator,
    served: Served,
    admin: ApiClient,
    acme: ApiClient,
    folder: Option<PathBuf>,
}

fn key(name: &str, key: &str, admin: bool, tenants: &[&str]) -> KeyConfig {
    KeyConfig {
        name: name.into(),
        sha256: Some(digest_hex(key)),
        key: None,
        tenants: tenants.iter().map(|t| t.to_string()).collect(),
        admin,
    }
}

/// The tenants file with one PingOne MFA tenant per name, on `seed`.
fn tenants_toml(emulator: &Emulator, seed: &Seed, names: &[&str]) -> String {
    let settings = pingone_settings(emulator, seed);
    names
        .iter()
        .map(|name| {
            let lines: String = settings
                .iter()
                .map(|(k, v)| format!("{k} = {v}\n"))
                .collect();
            format!("[tenants.{name}]\n{lines}\n")
        })
        .collect()
}

impl World {
    async fn start(options: Options) -> World {
        let emulator = Emulator::start(EmulatorConfig {
            environments: 2,
            ..EmulatorConfig::default()
        })
        .await
        .expect("the emulator starts");
        let mut config = test_config();
        if let Some(n) = options.max_instances {
            config.max_instances = n;
        }
        if options.tenants_may_reach_emulator {
            config.network.allow_internal = vec!["127.0.0.1/32".parse().unwrap()];
            config.network.tenant_origins = vec![emulator.auth_url().parse().unwrap()];
        }
        let runtime = Runtime::with_connectors(config, &[PINGONE_MFA, HTTP, MISBEHAVING])
            .await
            .expect("the connectors load");
        let folder = options.tenants_file.then(|| {
            let folder = std::env::temp_dir().join(format!("serve-test-{}", std::process::id()));
            std::fs::create_dir_all(&folder).unwrap();
            let text = tenants_toml(&emulator, emulator.seed(), &["filed"]);
            std::fs::write(folder.join("tenants.toml"), text).unwrap();
            folder
        });
        let serve = ServeConfig {
            tenants_file: folder.as_ref().map(|f| f.join("tenants.toml")),
            default_connector: Some(PINGONE.into()),
            server: options.server,
            flows: connector_service::FlowsSection {
                dir: options.flows.then(connector_testkit::templates::flows_dir),
                ..Default::default()
            },
            ..ServeConfig::default()
        };
        let keys = Keys::from_config(&[
            key("ops", ADMIN_KEY, true, &[]),
            key("acme-flows", ACME_KEY, false, &["acme"]),
        ])
        .unwrap();
        let service = Service::new(runtime, &serve, keys).expect("the service starts");
        let served = Served::start(service).await;
        let world = World {
            admin: served.client(Some(ADMIN_KEY)),
            acme: served.client(Some(ACME_KEY)),
            emulator,
            served,
            folder,
        };
        let settings = world.settings();
        for name in ["acme", "globex"] {
            world.add_tenant(name, Limits::default(), settings.clone());
        }
        world
    }

    /// The operator's settings for the emulator's first environment.
    fn settings(&self) -> Map<String, Value> {
        pingone_settings(&self.emulator, self.emulator.seed())
    }

    /// An operator tenant connected to PingOne MFA and the misbehaving guest.
    fn add_tenant(&self, name: &str, limits: Limits, settings: Map<String, Value>) {
        let runtime = self.served.service.runtime();
        let mut builder = Tenant::builder(limits).unwrap();
        for connector in [PINGONE, "misbehaving"] {
            let connector = runtime.connector(connector).unwrap();
            builder = builder
                .connect(&connector, settings.clone(), Trust::Operator)
                .unwrap();
        }
        self.served.service.registry().insert(name, builder.build());
    }

    fn user(&self) -> String {
        self.emulator.seed().users[0].id.clone()
    }
}

/// `answer` has `status` and error `kind` (`None`: a success).
#[track_caller]
fn expect(answer: Answer, status: u16, kind: Option<&str>) -> Answer {
    assert_eq!(
        (answer.status, answer.kind()),
        (status, kind),
        "{}",
        answer.text
    );
    answer
}

/// The error body's `field` holds `needle`.
#[track_caller]
fn expect_in_error(answer: &Answer, field: &str, needle: &str) {
    let held = answer.json["error"][field].as_str().unwrap_or_default();
    assert!(
        held.contains(needle),
        "error.{field} should hold {needle}: {}",
        answer.text
    );
}

/// Limits small enough that the faults hit them quickly.
fn tight_limits() -> Limits {
    let defaults = Limits::default();
    Limits {
        cpu_time: Duration::from_millis(300),
        max_input_bytes: 64,
        http: HttpLimits {
            first_byte_timeout: Duration::from_millis(300),
            request_timeout: Duration::from_secs(1),
            max_retries: 0,
            ..defaults.http
        },
        ..defaults
    }
}
