//! The emulator state the schema-driven inputs point into, and the hints
//! that make them point there.
//!
//! The world is rebuilt through the host for every 40 schema-driven cases:
//! what earlier cases deleted, activated, completed or filled up (PingOne
//! allows five devices per user) would otherwise decide which later ones
//! can succeed. Each seeded user gets resources of their own:
//!
//! | user    | devices | device authentications |
//! |---------|---------|------------------------|
//! | 0, 1, 4 | test-mode SMS (default; user 0 also email), two SMS awaiting their OTP | two, OTP_REQUIRED, OTP known |
//! | 2       | two FIDO2, test-mode SMS | one per FIDO2, ASSERTION_REQUIRED, assertion signed |
//! | 3       | two FIDO2, a FIDO2 awaiting its attestation (signed) | one per FIDO2, ASSERTION_REQUIRED, assertion signed |
//!
//! and every context a pairing key and an authentication code. Users keep
//! room for one or two new devices.
//!
//! An input is generated within one *context* (a user, one of their device
//! authentications, one device awaiting activation): its identifiers, OTPs
//! and assertions mostly come from that context, sometimes from another
//! one, sometimes are unknown. Inputs that complete an authentication or
//! activate a device are generated only in contexts that hold what does.

use std::sync::Arc;
use std::time::Duration;

use contract_tests::{b64url, id_at, Harness, ORIGIN, RP_ID};
use pingone_emulator::authenticator::{AttestationFormat, SoftAuthenticator};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use serde_json::{json, Value};

use super::strategy::{self, Gen, Hint, Hints, Site};

/// The label that makes a policy field read its custom twin.
const ENTER_POLICY_ID: &str = "Enter Device Authentication Policy ID";
/// The label that makes an application field read its custom twin.
const ENTER_APPLICATION_ID: &str = "Enter Application ID";
/// An origin no device was registered at.
const OTHER_ORIGIN: &str = "https://evil.example.org";

/// Out of 10 identifiers, this many come from the input's own context.
const OWN: u32 = 8;
/// ... this many from anywhere in the world (often another user's) ...
const ANY: u32 = 1;
/// ... and this many name nothing that exists.
const UNKNOWN: u32 = 1;

/// Identifiers and secrets of one context: a user's resources, one of
/// their device authentications and one of their devices awaiting
/// activation.
#[derive(Clone, Default)]
struct Context {
    user: String,
    /// The user's ACTIVE devices.
    active: Vec<String>,
    /// A device awaiting activation, and the OTP or attestation for it.
    pending: Option<String>,
    activation_otp: Option<String>,
    attestation: Option<String>,
    /// A device authentication, and the OTP or assertion that completes it.
    authentication: Option<String>,
    authentication_otp: Option<String>,
    assertion: Option<String>,
    pairing_key: Option<String>,
    code: Option<String>,
}

impl Context {
    /// Whether the context holds the secret that inputs of `schema` need to
    /// succeed: the OTP or the assertion of its device authentication, or
    /// a device to activate.
    fn serves(&self, schema: &Value) -> bool {
        let has = |field: &str| schema["properties"].get(field).is_some();
        let needs = |field: &str| {
            schema["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|f| f == field))
        };
        if has("deviceAuthenticationId") {
            !(needs("assertion") && self.assertion.is_none()
                || needs("otp") && self.authentication_otp.is_none())
        } else if has("deviceId") && (has("otp") || has("attestation")) {
            self.pending.is_some()
        } else {
            true
        }
    }
}

/// Everything the world holds, for identifiers from another context.
#[derive(Default)]
struct Pools {
    users: Vec<String>,
    devices: Vec<String>,
    authentications: Vec<String>,
    pairing_keys: Vec<String>,
    codes: Vec<String>,
    assertions: Vec<String>,
    policies: Vec<String>,
    application: String,
}

/// The world of one batch of schema-driven cases.
pub struct World {
    contexts: Vec<Context>,
    pools: Arc<Pools>,
}

impl World {
    /// Clears what earlier runs left and builds the world afresh; `round`
    /// varies the authenticators' keys from one build to the next.
    pub async fn build(h: &Harness, round: u64) -> World {
        clear(h).await;
        let seed = h.emulator.seed();
        let users: Vec<String> = seed.users.iter().map(|u| u.id.clone()).collect();
        let mut pools = Pools {
            users: users.clone(),
            policies: policies(h),
            application: seed.application_id.clone(),
            ..Pools::default()
        };
        let mut contexts = Vec::new();

        for (i, user) in users
            .iter()
            .enumerate()
            .filter(|(i, _)| [0, 1, 4].contains(i))
        {
            let u = &seed.users[i];
            let mut active = vec![h.test_mode_device(user, "SMS", &u.phone).await];
            if i == 0 {
                active.push(h.test_mode_device(user, "Email", &u.email).await);
            }
            // A device awaiting activation per context: wrong OTPs use up a
            // pairing OTP, and one activation ends it.
            let pending = [h.pending_sms(user).await, h.pending_sms(user).await];
            set_default(h, user, &active[0]).await;
            for (device, otp) in pending {
                let out = authenticate(h, user, "OTP_REQUIRED").await;
                contexts.push(Context {
                    user: user.clone(),
                    active: active.clone(),
                    pending: Some(device),
                    activation_otp: Some(otp),
                    authentication: Some(id_at(&out, "/rawResponse/id")),
                    authentication_otp: Some(id_at(&out, "/rawResponse/test/otp")),
                    ..Context::default()
                });
            }
        }

        for (i, user) in users.iter().enumerate().skip(2).take(2) {
            // Two FIDO2 devices, one authentication on each: with one
            // credential for both, checking the second-signed assertion
            // first would make the other a replay (its counter is lower).
            let mut authenticator = SoftAuthenticator::new(round * 16 + i as u64);
            let fido = [
                h.active_fido2(user, &mut authenticator).await,
                h.active_fido2(user, &mut authenticator).await,
            ];
            let mut context = Context {
                user: user.clone(),
                active: fido.to_vec(),
                ..Context::default()
            };
            if i == 2 {
                let sms = h.test_mode_device(user, "SMS", &seed.users[i].phone).await;
                context.active.push(sms);
            } else {
                let (pending, attestation) = pending_fido2(h, user, &mut authenticator).await;
                context.pending = Some(pending);
                context.attestation = Some(attestation);
            }
            for device in &fido {
                let out = authenticate_on(h, user, device).await;
                let options = id_at(&out, "/rawResponse/publicKeyCredentialRequestOptions");
                contexts.push(Context {
                    authentication: Some(id_at(&out, "/rawResponse/id")),
                    assertion: Some(
                        authenticator
                            .get(&options, ORIGIN)
                            .expect("the soft authenticator signs"),
                    ),
                    ..context.clone()
                });
            }
        }

        for context in &mut contexts {
            let key = h
                .ok("createPairingKey", json!({ "userId": context.user }))
                .await;
            context.pairing_key = Some(id_at(&key, "/rawResponse/id"));
            let code = h
                .ok(
                    "createAuthenticationCode",
                    json!({ "authenticatingApplicationId": pools.application,
                            "duration": "600", "userApproval": "REQUIRED" }),
                )
                .await;
            context.code = Some(id_at(&code, "/rawResponse/id"));
        }
        // In the order of creation, not of the (random) IDs: the same seed
        // then picks the same resources on every run.
        for c in &contexts {
            for device in c.active.iter().chain(&c.pending) {
                if !pools.devices.contains(device) {
                    pools.devices.push(device.clone());
                }
            }
            pools.authentications.extend(c.authentication.clone());
            pools.pairing_keys.extend(c.pairing_key.clone());
            pools.codes.extend(c.code.clone());
            pools.assertions.extend(c.assertion.clone());
        }
        World {
            contexts,
            pools: Arc::new(pools),
        }
    }

    /// Instances of `schema`, each within one context that can serve it.
    pub fn inputs(&self, schema: &Value) -> Gen {
        let apt: Vec<&Context> = self.contexts.iter().filter(|c| c.serves(schema)).collect();
        let contexts = if apt.is_empty() {
            self.contexts.iter().collect()
        } else {
            apt
        };
        Union::new(contexts.into_iter().map(|context| {
            let hints = ContextHints {
                context: context.clone(),
                pools: self.pools.clone(),
            };
            strategy::instances(schema, &hints)
        }))
        .boxed()
    }
}

/// Lets every device authentication, unclaimed pairing key and code of
/// earlier runs lapse (they live ten minutes), and deletes every device.
async fn clear(h: &Harness) {
    h.emulator.advance_clock(Duration::from_secs(11 * 60));
    for user in &h.emulator.seed().users {
        let all = h.ok("readAllDevices", json!({ "userId": user.id })).await;
        let devices = all
            .pointer("/rawResponse/_embedded/devices")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for device in devices {
            h.ok(
                "deleteDevice",
                json!({ "userId": user.id, "deviceId": id_at(&device, "/id") }),
            )
            .await;
        }
    }
}

/// The environment's device authentication policies.
fn policies(h: &Harness) -> Vec<String> {
    let store = h.emulator.state().lock();
    let env = &store.envs[&h.env_id()];
    env.policies
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect()
}

/// Makes `device` the user's default, so authentications start on it
/// whatever order earlier runs left.
async fn set_default(h: &Harness, user: &str, device: &str) {
    h.ok(
        "setDeviceOrder",
        json!({ "userId": user, "setDeviceOrder": "Set default device", "defaultDeviceId": device }),
    )
    .await;
}

/// Starts a device authentication for `user` on their default device and
/// checks it waits for `status`.
async fn authenticate(h: &Harness, user: &str, status: &str) -> Value {
    let out = h
        .ok("createDeviceAuthentication", json!({ "userId": user }))
        .await;
    assert_eq!(out["rawResponse"]["status"], status, "world setup: {out}");
    out
}

/// Starts a device authentication on the FIDO2 `device` of `user`.
async fn authenticate_on(h: &Harness, user: &str, device: &str) -> Value {
    let out = h
        .ok(
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDeviceId": device }),
        )
        .await;
    assert_eq!(
        out["rawResponse"]["status"], "ASSERTION_REQUIRED",
        "world setup: {out}"
    );
    out
}

/// A FIDO2 device awaiting activation, and the attestation that activates it.
async fn pending_fido2(
    h: &Harness,
    user: &str,
    authenticator: &mut SoftAuthenticator,
) -> (String, String) {
    let out = h
        .ok(
            "createDevice",
            json!({ "userId": user, "deviceType": "FIDO2", "status": "ACTIVATION_REQUIRED",
                    "rpId": RP_ID, "rpName": "Example" }),
        )
        .await;
    let options = id_at(&out, "/device/publicKeyCredentialCreationOptions");
    let attestation = authenticator
        .create(&options, ORIGIN, AttestationFormat::None)
        .expect("the soft authenticator registers");
    (id_at(&out, "/device/id"), attestation)
}

/// The hints of one context.
struct ContextHints {
    context: Context,
    pools: Arc<Pools>,
}

impl ContextHints {
    /// An identifier: mostly one of `own`, sometimes one of `any`,
    /// sometimes one that names nothing.
    fn id(&self, own: &[String], any: &[String]) -> Gen {
        let mut options: Vec<(u32, Gen)> = vec![(UNKNOWN, unknown_id())];
        if !own.is_empty() {
            options.push((OWN, select(own.to_vec()).prop_map(Value::from).boxed()));
        }
        if !any.is_empty() {
            options.push((ANY, select(any.to_vec()).prop_map(Value::from).boxed()));
        }
        Union::new_weighted(options).boxed()
    }

    /// A secret the emulator expects (an OTP, an assertion), or a wrong one.
    fn secret(&self, right: &Option<String>, wrong: Gen) -> Gen {
        match right {
            Some(right) => prop_oneof![4 => Just(Value::from(right.clone())), 1 => wrong].boxed(),
            None => wrong,
        }
    }

    /// The user's devices: the active ones, and the one awaiting activation
    /// twice over. Every capability on a device does something with that
    /// one, and only it can be activated or have its OTP sent again.
    fn devices(&self) -> Vec<String> {
        let c = &self.context;
        c.active
            .iter()
            .chain(&c.pending)
            .chain(&c.pending)
            .cloned()
            .collect()
    }
}

impl Hints for ContextHints {
    fn hint(&self, site: &Site, _schema: &Value) -> Option<Hint> {
        let c = &self.context;
        let p = &self.pools;
        let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
        let values = match (site.field, site.item) {
            ("userId", false) => self.id(std::slice::from_ref(&c.user), &p.users),
            // Next to an OTP or an attestation (activation), the device is
            // mostly the one awaiting activation.
            ("deviceId", false)
                if (site.has_sibling("otp") || site.has_sibling("attestation"))
                    && c.pending.is_some() =>
            {
                self.id(&one(&c.pending), &p.devices)
            }
            // Next to an authentication (device selection), an active one.
            ("deviceId", false) if site.has_sibling("deviceAuthenticationId") => {
                self.id(&c.active, &p.devices)
            }
            ("deviceId", false) => self.id(&self.devices(), &p.devices),
            ("selectedDeviceId", false) => self.id(&c.active, &p.devices),
            ("defaultDeviceId", false) => {
                return Some(Hint::values(self.id(&c.active, &p.devices)).with_presence(0.7))
            }
            ("deviceAuthenticationId", false) => {
                self.id(&one(&c.authentication), &p.authentications)
            }
            ("pairingKeyId", false) => self.id(&one(&c.pairing_key), &p.pairing_keys),
            ("authenticationCodeId", false) => self.id(&one(&c.code), &p.codes),
            ("deviceAuthenticationPolicyId", false) => prop_oneof![
                6 => self.id(&p.policies, &[]),
                1 => Just(Value::from(ENTER_POLICY_ID)),
            ]
            .boxed(),
            ("customDeviceAuthenticationPolicyId", false) => custom(self.id(&p.policies, &[])),
            ("mfaPolicyId" | "workforcePolicyMfaPolicyId", false) => {
                return Some(Hint::values(self.id(&p.policies, &[])).with_presence(0.3))
            }
            ("authenticatingApplicationId" | "applicationId", false) => prop_oneof![
                6 => self.id(std::slice::from_ref(&p.application), &[]),
                1 => Just(Value::from(ENTER_APPLICATION_ID)),
            ]
            .boxed(),
            ("customApplicationId" | "customAuthenticatingApplicationId", false) => {
                custom(self.id(std::slice::from_ref(&p.application), &[]))
            }
            ("applicationIds", true) => self.id(std::slice::from_ref(&p.application), &[]),
            // The OTP of whatever the input names: the authentication, or
            // the device to activate.
            ("otp", false) if site.has_sibling("deviceAuthenticationId") => {
                self.secret(&c.authentication_otp, six_digits())
            }
            ("otp", false) if site.has_sibling("deviceId") => {
                let presence = if c.activation_otp.is_some() { 0.8 } else { 0.3 };
                return Some(
                    Hint::values(self.secret(&c.activation_otp, six_digits()))
                        .with_presence(presence),
                );
            }
            ("otp", false) => return Some(Hint::values(six_digits()).with_presence(0.1)),
            ("assertion", false) => {
                let others = select(p.assertions.clone()).prop_map(Value::from).boxed();
                self.secret(&c.assertion, prop_oneof![others, json_text()].boxed())
            }
            ("attestation", false) => {
                let presence = if c.attestation.is_some() { 0.7 } else { 0.1 };
                return Some(
                    Hint::values(self.secret(&c.attestation, json_text())).with_presence(presence),
                );
            }
            // Rarely in the way (an OTP activation ignores it), needed with
            // every attestation and assertion.
            ("origin", false) => {
                return Some(
                    Hint::values(
                        prop_oneof![
                            8 => Just(Value::from(ORIGIN)),
                            1 => Just(Value::from(OTHER_ORIGIN)),
                            1 => Just(Value::from("login.example.com")),
                        ]
                        .boxed(),
                    )
                    .with_presence(0.8),
                )
            }
            ("phone" | "oneTimeSmsDevice" | "oneTimeVoiceDevice", false) => {
                "\\+1512555[0-9]{4}".prop_map(Value::from).boxed()
            }
            ("email" | "oneTimeEmailDevice", false) => "[a-z]{1,10}(\\.[a-z]{1,6})?@example\\.com"
                .prop_map(Value::from)
                .boxed(),
            // Only voice devices take an extension; anywhere else it is a
            // rejection, so it is rare.
            ("extension", false) => {
                return Some(
                    Hint::values("[0-9]{1,4}(,[0-9#*]{1,3})?".prop_map(Value::from).boxed())
                        .with_presence(0.1),
                )
            }
            ("nickname", false) => prop_oneof![
                3 => "[A-Za-z][A-Za-z0-9 '._-]{0,30}".prop_map(Value::from),
                1 => "\\PC{1,40}".prop_map(Value::from),
            ]
            .boxed(),
            ("rpId" | "deviceAuthenRpId", false) => Just(Value::from(RP_ID)).boxed(),
            ("rpName", false) => Just(Value::from("Example")).boxed(),
            ("duration", false) => prop_oneof![
                4 => (10u32..=1800).prop_map(|n| Value::from(n.to_string())),
                1 => (1u32..=30).prop_map(|n| Value::from(n.to_string())),
                1 => "[0-9]{1,5}".prop_map(Value::from),
            ]
            .boxed(),
            ("reason", false) => select(
                &[
                    "SIGNOUT",
                    "CHANGE_DEVICE",
                    "ADD_DEVICE",
                    "DEFAULT",
                    "signout",
                ][..],
            )
            .prop_map(Value::from)
            .boxed(),
            ("challenge", false) => prop_oneof![
                4 => vec(any::<u8>(), 32..48).prop_map(|b| Value::from(b64url(&b))),
                1 => vec(any::<u8>(), 0..32).prop_map(|b| Value::from(b64url(&b))),
            ]
            .boxed(),
            ("serialNumber", false) => "[A-Z0-9]{8,12}".prop_map(Value::from).boxed(),
            // "Set default device" needs defaultDeviceId, "Set device order"
            // deviceOrderList: without a mode the input is refused.
            ("setDeviceOrder", false) => return Some(Hint::presence(0.8)),
            ("deviceOrderList", false) => return Some(Hint::presence(0.5)),
            ("deviceOrderList", true) => self
                .id(&c.active, &p.devices)
                .prop_map(|id| json!({ "id": id }))
                .boxed(),
            ("jsonAttributes", false) => {
                let order = vec(self.id(&c.active, &p.devices), 1..=3)
                    .prop_map(|ids| json!({ "order": ids.into_iter().map(|id| json!({ "id": id })).collect::<Vec<_>>() }));
                prop_oneof![
                    order.clone(),
                    order.prop_map(|o| Value::from(o.to_string())),
                ]
                .boxed()
            }
            ("templateVariables" | "clientContext", true) => ("[a-z]{1,8}", "[ -~]{0,12}")
                .prop_map(|(name, value)| json!({ "name": name, "value": value }))
                .boxed(),
            _ => return None,
        };
        Some(Hint::values(values))
    }
}

/// A value typed in a DaVinci "custom value" box: the string, or an object
/// holding it as `value`.
fn custom(values: Gen) -> Gen {
    prop_oneof![values.clone(), values.prop_map(|v| json!({ "value": v })),].boxed()
}

/// An identifier of nothing: well-formed, or one that is a path segment of
/// its own (empty, `.` or `..`), which must not take the request elsewhere.
fn unknown_id() -> Gen {
    prop_oneof![
        4 => "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
            .prop_map(Value::from),
        1 => select(&["", ".", ".."][..]).prop_map(Value::from),
    ]
    .boxed()
}

fn six_digits() -> Gen {
    "[0-9]{6}".prop_map(Value::from).boxed()
}

/// JSON text that is no WebAuthn credential.
fn json_text() -> Gen {
    strategy::any_small_json()
        .prop_map(|v| Value::from(v.to_string()))
        .boxed()
}
