//! The demo's scenarios: each of the seed's flow templates (`flows/*.json`)
//! with an input for one of the emulator's seeded users and what that user
//! does when the flow waits for them. `connector-host demo` runs them in
//! this order on one emulator, so later scenarios meet the devices earlier
//! ones enrolled; the flow tests run each file on its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use connector_flows::{Engine, FlowError, FlowLibrary, FlowRun};
use connector_runtime::{Runtime, Tenant};
use pingone_emulator::{Emulator, Seed};
use serde_json::{json, Value};

use crate::end_user::EmulatorUser;

/// One template as the demo runs it.
pub struct Scenario {
    /// The flow's id (its file under `flows/`).
    pub flow_id: &'static str,
    /// The seeded user it runs for (alice, bob, carol, dave, erin).
    pub user: usize,
    /// The flow's input for that user.
    pub input: fn(&Seed, &str) -> Value,
    /// What the end user does besides the defaults (picks, typos, inputs).
    pub end_user: fn(EmulatorUser<'_>) -> EmulatorUser<'_>,
}

/// Every scenario, in the order the demo runs them: alice enrolls her
/// devices and then signs on with them, bob is auto-enrolled and then meets
/// adaptive MFA at high risk, carol uses a one-time device, dave registers a
/// security key through passwordless authentication and then signs on with
/// it, with and without a username, and erin pairs her phone and signs on
/// with a QR code.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        flow_id: "registration-mfa-enrollment",
        user: 0,
        input: |_, user| json!({ "userId": user, "phone": "+15125550150", "email": "alice.new@example.com" }),
        end_user: |u| {
            u.picking("chooseDevice", json!("SMS"))
                .picking_in_turn("chooseMore", [json!("TOTP"), json!("FIDO2"), json!("done")])
                .mistyping("askOtp", 1)
        },
    },
    Scenario {
        flow_id: "registration-mfa-auto-enrollment",
        user: 1,
        input: |_, user| {
            json!({ "userId": user, "devices": { "sms": "+15125550160", "email": "bob.new@example.com" },
                    "defaultDevice": "email" })
        },
        end_user: |u| u,
    },
    Scenario {
        flow_id: "sign-on-and-mfa",
        user: 0,
        input: |_, user| json!({ "userId": user }),
        end_user: |u| u.mistyping("askOtp", 1),
    },
    Scenario {
        flow_id: "sign-on-and-adaptive-mfa",
        user: 1,
        input: |_, user| json!({ "userId": user, "risk": "HIGH" }),
        end_user: |u| u.picking("chooseStrongType", json!("FIDO2")),
    },
    Scenario {
        flow_id: "one-time-device-authentication",
        user: 2,
        input: |_, user| json!({ "userId": user, "deviceType": "Email", "email": "one.time@example.com" }),
        end_user: |u| u.mistyping("askOtp", 1),
    },
    Scenario {
        flow_id: "passwordless-authentication",
        user: 3,
        input: |_, user| json!({ "userId": user, "deviceType": "SMS", "phone": "+15125550142" }),
        end_user: |u| u,
    },
    Scenario {
        flow_id: "usernameless-sign-on-with-biometrics",
        user: 3,
        input: |_, _| json!({}),
        end_user: |u| u,
    },
    Scenario {
        flow_id: "passwordless-sign-on-with-biometrics",
        user: 3,
        input: |_, user| json!({ "userId": user }),
        end_user: |u| u,
    },
    Scenario {
        flow_id: "qr-code-passwordless-sign-on",
        user: 4,
        input: |seed, user| json!({ "userId": user, "applicationId": seed.application_id }),
        end_user: |u| u,
    },
];

/// The scenario of `flow_id`.
pub fn scenario(flow_id: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.flow_id == flow_id)
}

/// The demo's world: the emulator and its end users, one per seeded user,
/// kept across scenarios (each user's security key keeps the credentials
/// an earlier scenario registered).
pub struct Demo<'a> {
    emulator: &'a Emulator,
    users: BTreeMap<usize, EmulatorUser<'a>>,
    log: Arc<dyn Fn(&str) + Send + Sync + 'a>,
}

impl<'a> Demo<'a> {
    /// The demo on `emulator`'s first environment; `log` receives one line
    /// per step and per action of an end user.
    pub fn new(emulator: &'a Emulator, log: Arc<dyn Fn(&str) + Send + Sync + 'a>) -> Demo<'a> {
        Demo {
            emulator,
            users: BTreeMap::new(),
            log,
        }
    }

    /// The id of the seeded user `scenario` runs for.
    pub fn user_id(&self, scenario: &Scenario) -> String {
        let seed = self.emulator.seed();
        seed.users[scenario.user % seed.users.len()].id.clone()
    }

    /// Runs `scenario` through `runtime` for `tenant` with `library`.
    pub async fn run(
        &mut self,
        scenario: &Scenario,
        runtime: &Runtime,
        tenant: &Tenant,
        library: &FlowLibrary,
    ) -> Result<FlowRun, FlowError> {
        let user = self.user_id(scenario);
        let input = (scenario.input)(self.emulator.seed(), &user);
        let log = self.log.clone();
        let emulator = self.emulator;
        let end_user = self.users.remove(&scenario.user).unwrap_or_else(|| {
            EmulatorUser::new(emulator, scenario.user as u64 + 1, move |l: &str| log(l))
        });
        let mut end_user = (scenario.end_user)(end_user);
        let run = Engine::new(runtime, tenant, library)
            .run(scenario.flow_id, input, &mut end_user)
            .await;
        self.users.insert(scenario.user, end_user);
        run
    }
}
