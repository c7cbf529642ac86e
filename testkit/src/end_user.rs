//! The end user of the demo and the flow tests, played against the
//! emulator: a [`Driver`] that answers a flow's wait nodes the way a person
//! with a phone, an inbox, an authenticator app and a security key would,
//! through the emulator's helpers, and logs each step and each of its own
//! actions (`[phone]`, `[inbox]`, `[browser]` lines).
//!
//! What each wait kind reads from the node's `context`:
//!
//! | `waitFor` | context | answer |
//! |---|---|---|
//! | `otp` | `totpSecret` (base32: the authenticator app), or `to` (the phone or address the emulator sent it to), or `otp` (test mode), or `deviceId` (a TOTP device: the app already holds its secret) | the code, a string |
//! | `attestation` | `publicKeyCredentialOptions` (the creation options), optional `origin` | `{"attestation", "origin"}` |
//! | `assertion` | `publicKeyCredentialOptions` (the request options), optional `origin` | `{"assertion", "origin"}` |
//! | `choice` | `choices` on the node; the pick set for the node id (`picking`, or `picking_in_turn` for a node asked again), else the first | the chosen value |
//! | `approval` | `kind`: `pairingKey` (`code`), `authenticationCode` (`code`, `userId`), `push` (`deviceAuthenticationId`) | what the emulator answered |
//! | `input` | `field` | the value set for that field |

use std::collections::BTreeMap;
use std::sync::Arc;

use connector_flows::{Driver, Step, WaitKind, WaitRequest};
use pingone_emulator::authenticator::{AttestationFormat, SoftAuthenticator};
use pingone_emulator::{otp, Emulator};
use serde_json::{json, Value};

/// The web origin of the end user's browser (FIDO2 ceremonies).
pub const ORIGIN: &str = "https://login.example.com";
/// The relying party ID of the demo's FIDO2 devices.
pub const RP_ID: &str = "example.com";

/// The emulator an end user acts on: borrowed for a run the caller
/// scopes, or shared for one that runs on its own task (a service's).
enum EmulatorRef<'a> {
    Borrowed(&'a Emulator),
    Shared(Arc<Emulator>),
}

impl std::ops::Deref for EmulatorRef<'_> {
    type Target = Emulator;

    fn deref(&self) -> &Emulator {
        match self {
            EmulatorRef::Borrowed(emulator) => emulator,
            EmulatorRef::Shared(emulator) => emulator,
        }
    }
}

/// The end user, on the emulator.
pub struct EmulatorUser<'a> {
    emulator: EmulatorRef<'a>,
    environment_id: String,
    authenticator: SoftAuthenticator,
    inputs: BTreeMap<String, Value>,
    picks: BTreeMap<String, Value>,
    turns: BTreeMap<String, std::collections::VecDeque<Value>>,
    typos: BTreeMap<String, usize>,
    log: Box<dyn FnMut(&str) + Send + 'a>,
}

impl<'a> EmulatorUser<'a> {
    /// A user of `emulator`'s first environment whose security key is
    /// `authenticator_seed`'s; `log` receives one line per step and action.
    pub fn new(
        emulator: &'a Emulator,
        authenticator_seed: u64,
        log: impl FnMut(&str) + Send + 'a,
    ) -> EmulatorUser<'a> {
        EmulatorUser::on(EmulatorRef::Borrowed(emulator), authenticator_seed, log)
    }

    fn on(
        emulator: EmulatorRef<'a>,
        authenticator_seed: u64,
        log: impl FnMut(&str) + Send + 'a,
    ) -> EmulatorUser<'a> {
        EmulatorUser {
            environment_id: emulator.seed().environment_id.clone(),
            emulator,
            authenticator: SoftAuthenticator::new(authenticator_seed),
            inputs: BTreeMap::new(),
            picks: BTreeMap::new(),
            turns: BTreeMap::new(),
            typos: BTreeMap::new(),
            log: Box::new(log),
        }
    }

    /// A user of a shared emulator, for a run that outlives its caller's
    /// scope (a service's flow run).
    pub fn shared(
        emulator: Arc<Emulator>,
        authenticator_seed: u64,
        log: impl FnMut(&str) + Send + 'static,
    ) -> EmulatorUser<'static> {
        EmulatorUser::on(EmulatorRef::Shared(emulator), authenticator_seed, log)
    }

    /// Uses `authenticator` as the security key: one that already holds
    /// credentials (registered before the run, e.g. with the harness's
    /// `active_fido2`), which the run's assertion waits then use.
    pub fn with_authenticator(mut self, authenticator: SoftAuthenticator) -> Self {
        self.authenticator = authenticator;
        self
    }

    /// The answer to `input` waits for `field`.
    pub fn with_input(mut self, field: &str, value: Value) -> Self {
        self.inputs.insert(field.into(), value);
        self
    }

    /// The choice to make at the choice node `node_id`.
    pub fn picking(mut self, node_id: &str, value: Value) -> Self {
        self.picks.insert(node_id.into(), value);
        self
    }

    /// The choices to make at `node_id`, one each time it is asked (a loop
    /// that asks again); once they are used up, as [`Self::picking`] or the
    /// first choice.
    pub fn picking_in_turn(
        mut self,
        node_id: &str,
        values: impl IntoIterator<Item = Value>,
    ) -> Self {
        self.turns
            .insert(node_id.into(), values.into_iter().collect());
        self
    }

    /// Mistypes the OTP at `node_id` the first `times` times it is asked.
    pub fn mistyping(mut self, node_id: &str, times: usize) -> Self {
        self.typos.insert(node_id.into(), times);
        self
    }

    fn note(&mut self, who: &str, what: &str) {
        (self.log)(&format!("  [{who}] {what}"));
    }

    fn otp(&mut self, request: &WaitRequest) -> Result<Value, String> {
        let context = &request.context;
        let code = if let Some(secret) = context.get("totpSecret").and_then(Value::as_str) {
            let secret = otp::base32_decode(secret).ok_or("the TOTP secret is not base32")?;
            let code = otp::totp(&secret, self.emulator.state().now_ms());
            self.note("phone", &format!("the authenticator app shows {code}"));
            code
        } else if let Some(message) = context
            .get("to")
            .and_then(Value::as_str)
            .filter(|to| !to.is_empty())
            .and_then(|to| {
                self.emulator
                    .outbox()
                    .into_iter()
                    .rev()
                    .find(|m| m.to == to)
            })
        {
            self.note(
                "inbox",
                &format!(
                    "{} to {} ({}): {}",
                    message.channel, message.to, message.purpose, message.otp
                ),
            );
            message.otp
        } else if let Some(code) = context.get("otp").and_then(Value::as_str) {
            code.to_owned()
        } else if let Some(code) = self.app_code(context.get("deviceId")) {
            // A TOTP device registered before the run: its secret is in the app.
            self.note("phone", &format!("the authenticator app shows {code}"));
            code
        } else if let Some(to) = context
            .get("to")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            return Err(format!("nothing was sent to {to}"));
        } else {
            return Err(
                "an otp wait needs totpSecret, to, otp or a TOTP deviceId in its context".into(),
            );
        };
        if let Some(left) = self.typos.get_mut(&request.node_id).filter(|n| **n > 0) {
            *left -= 1;
            let typo = if code == "000000" { "111111" } else { "000000" };
            self.note("user", &format!("typed {typo} by mistake"));
            return Ok(json!(typo));
        }
        Ok(json!(code))
    }

    /// The code the authenticator app shows for the TOTP device `device_id`
    /// (the app holds the secret it scanned; the emulator keeps it).
    fn app_code(&self, device_id: Option<&Value>) -> Option<String> {
        let id = device_id?.as_str()?;
        let state = self.emulator.state();
        let now = state.now_ms();
        let store = state.lock();
        let device = store.envs.get(&self.environment_id)?.devices.get(id)?;
        let secret = device.totp_secret.clone()?;
        Some(otp::totp(&secret, now))
    }

    fn options(request: &WaitRequest) -> Result<(String, String), String> {
        let options = match request.context.get("publicKeyCredentialOptions") {
            Some(Value::String(s)) => s.clone(),
            Some(v @ Value::Object(_)) => v.to_string(),
            _ => {
                return Err(
                    "a WebAuthn wait needs publicKeyCredentialOptions in its context".into(),
                )
            }
        };
        let origin = request
            .context
            .get("origin")
            .and_then(Value::as_str)
            .unwrap_or(ORIGIN)
            .to_owned();
        Ok((options, origin))
    }

    fn approval(&mut self, request: &WaitRequest) -> Result<Value, String> {
        let context = &request.context;
        let text = |key: &str| {
            context
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("an approval wait needs {key} in its context"))
        };
        let env = self.environment_id.clone();
        match context.get("kind").and_then(Value::as_str) {
            Some("pairingKey") => {
                let device = self.emulator.claim_pairing_key(&env, &text("code")?)?;
                self.note("phone", &format!("the app claimed the pairing key: MOBILE device {}", device["id"].as_str().unwrap_or("?")));
                Ok(json!({ "deviceId": device["id"] }))
            }
            Some("authenticationCode") => {
                let claimed = self.emulator.claim_authentication_code(&env, &text("code")?, &text("userId")?, None)?;
                self.note("phone", "scanned the QR code");
                let id = claimed["id"].as_str().map(str::to_owned).unwrap_or(text("authenticationCodeId")?);
                self.emulator.approve_authentication_code(&env, &id, true)?;
                self.note("phone", "the user approved the sign-on");
                Ok(json!({ "approved": true, "authenticationCodeId": id }))
            }
            Some("push") => {
                let answered = self.emulator.push(&env, &text("deviceAuthenticationId")?, "approve")?;
                self.note("phone", "the user approved the push notification");
                Ok(answered)
            }
            other => Err(format!("an approval wait's kind must be pairingKey, authenticationCode or push, not {other:?}")),
        }
    }
}

impl Driver for EmulatorUser<'_> {
    async fn answer(&mut self, request: &WaitRequest) -> Result<Value, String> {
        match request.wait_for {
            WaitKind::Otp => self.otp(request),
            WaitKind::Attestation => {
                let (options, origin) = Self::options(request)?;
                let attestation =
                    self.authenticator
                        .create(&options, &origin, AttestationFormat::PackedSelf)?;
                self.note(
                    "browser",
                    "navigator.credentials.create: the security key made a credential",
                );
                Ok(json!({ "attestation": attestation, "origin": origin }))
            }
            WaitKind::Assertion => {
                let (options, origin) = Self::options(request)?;
                let assertion = self.authenticator.get(&options, &origin)?;
                self.note(
                    "browser",
                    "navigator.credentials.get: the security key signed the challenge",
                );
                Ok(json!({ "assertion": assertion, "origin": origin }))
            }
            WaitKind::Choice => {
                let turn = self
                    .turns
                    .get_mut(&request.node_id)
                    .and_then(|t| t.pop_front());
                let picked = match turn.as_ref().or(self.picks.get(&request.node_id)) {
                    Some(pick) => pick.clone(),
                    None => request
                        .choices
                        .as_ref()
                        .and_then(|c| c.as_array())
                        .and_then(|c| c.first())
                        .cloned()
                        .ok_or("a choice wait without choices")?,
                };
                self.note("user", &format!("chose {picked}"));
                Ok(picked)
            }
            WaitKind::Approval => self.approval(request),
            WaitKind::Input => {
                let field = request
                    .context
                    .get("field")
                    .and_then(Value::as_str)
                    .unwrap_or("value");
                let value = self
                    .inputs
                    .get(field)
                    .cloned()
                    .ok_or_else(|| format!("no answer for {field}"))?;
                self.note("user", &format!("entered {field}: {value}"));
                Ok(value)
            }
        }
    }

    fn step(&mut self, step: &Step) {
        let indent = "  ".repeat(step.depth);
        let mut line = format!("{indent}{:<40} ", step.title);
        match step.node_type {
            "CONNECTION" => {
                line.push_str(&format!(
                    "{:<44} ",
                    step.capability.as_deref().unwrap_or("")
                ));
                if step.error.is_null() {
                    line.push_str(&format!("HTTP {}", step.output["statusCode"]));
                    let raw = &step.output["rawResponse"];
                    if let Some(status) = raw.get("status").and_then(Value::as_str) {
                        line.push_str(&format!("  status={status}"));
                    }
                } else {
                    line.push_str(&format!(
                        "refused: {} {}",
                        step.error["kind"].as_str().unwrap_or("error"),
                        step.error["code"].as_str().unwrap_or("")
                    ));
                }
            }
            "EVAL" => line.push_str(&format!("-> {}", step.next.as_deref().unwrap_or("?"))),
            "WAIT" => line.push_str("(the end user answered)"),
            "SUBFLOW" => line.push_str("(sub-flow done)"),
            _ => {
                // A result may hold whole PingOne objects: the log shows
                // its start; the run keeps all of it.
                let shown = step.output.to_string();
                let cut: String = shown.chars().take(240).collect();
                let more = if cut.len() < shown.len() { " ..." } else { "" };
                line.push_str(&format!("result: {cut}{more}"));
            }
        }
        (self.log)(line.trim_end());
    }
}
