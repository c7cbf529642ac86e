//! The demo flows: the seed's flow templates as sequences of capability
//! invocations through the host, the way a flow engine would run them node
//! by node. `connector-host demo` runs them against the embedded emulator.
//!
//! What the user does outside the flow (reading a text message or an email,
//! typing an authenticator app's code, touching a security key, scanning a
//! QR code and approving on the phone) is done through the emulator's
//! helpers and logged as `[phone]`, `[inbox]`, `[browser]` lines.

use std::fmt::Write as _;

use pingone_emulator::authenticator::{AttestationFormat, SoftAuthenticator};
use pingone_emulator::{otp, Emulator};
use serde_json::{json, Value};

use connector_runtime::{Error, Runtime, Tenant};

/// The web origin of the demo's "browser" (FIDO2 ceremonies).
pub const ORIGIN: &str = "https://login.example.com";
/// The relying party ID of the demo's FIDO2 devices.
pub const RP_ID: &str = "example.com";

/// Where a flow runs and who it runs for.
pub struct FlowContext<'a> {
    /// The runtime.
    pub runtime: &'a Runtime,
    /// The tenant.
    pub tenant: &'a Tenant,
    /// The emulator the tenant points at: it stands in for the user's phone,
    /// inbox, authenticator app and browser.
    pub emulator: &'a Emulator,
    /// The user the flow is about.
    pub user_id: String,
    /// Receives one line per step.
    pub log: &'a mut dyn FnMut(&str),
}

impl FlowContext<'_> {
    /// Runs one node: invokes `capability` with `input` and logs the step and
    /// the state it reached (`status` of the device or authentication).
    pub async fn step(
        &mut self,
        title: &str,
        capability: &str,
        input: Value,
    ) -> Result<Value, Error> {
        let output = self
            .runtime
            .invoke(self.tenant, capability, &input.to_string())
            .await;
        let mut line = format!("{title:<38} {capability:<32} ");
        match &output {
            Ok(out) => {
                let raw = &out["rawResponse"];
                let _ = write!(line, "HTTP {}", out["statusCode"]);
                if let Some(status) = raw.get("status").and_then(Value::as_str) {
                    let _ = write!(line, "  status={status}");
                }
                if let Some(id) = raw.get("id").and_then(Value::as_str) {
                    let _ = write!(line, "  id={id}");
                }
            }
            Err(e) => {
                let _ = write!(line, "FAILED: {e}");
            }
        }
        (self.log)(&line);
        output
    }

    /// Runs a node that is expected to fail (a wrong OTP, say): logs the
    /// refusal and returns it; succeeding is an error of the flow.
    pub async fn refused_step(
        &mut self,
        title: &str,
        capability: &str,
        input: Value,
    ) -> Result<Error, Error> {
        match self.step(title, capability, input).await {
            Err(e) => {
                let code = match &e {
                    Error::Api { code, details, .. } => details
                        .first()
                        .map_or_else(|| code.clone(), |d| d.code.clone()),
                    other => other.to_string(),
                };
                (self.log)(&format!("  -> refused as expected ({code})"));
                Ok(e)
            }
            Ok(out) => Err(flow_error(
                capability,
                format!("expected a refusal, got {}", out["rawResponse"]),
            )),
        }
    }

    /// Logs something the user did outside the flow.
    fn user_action(&mut self, who: &str, what: &str) {
        (self.log)(&format!("[{who}] {what}"));
    }

    /// The demo's tenant is the emulator's first environment.
    fn environment_id(&self) -> String {
        self.emulator.seed().environment_id.clone()
    }
}

/// The names of the flows `run` knows, with one line each.
pub const FLOWS: &[(&str, &str)] = &[
    (
        "enrollment",
        "Registration and MFA enrollment: SMS and email in test mode, TOTP with a computed code, FIDO2 with a software authenticator; set the default device, turn MFA on, list the devices in order.",
    ),
    (
        "sign-on",
        "Sign-on and MFA: the default device, a wrong OTP then the right one; then choosing another device among several.",
    ),
    (
        "one-time",
        "One-time device authentication: a one-time SMS device (test mode) and a one-time email device (OTP read from the inbox).",
    ),
    (
        "passwordless",
        "Passwordless with FIDO2: register a security key, sign on with the username, then usernameless.",
    ),
    (
        "qr-code",
        "QR code sign-on: pair the phone with a pairing key, create an authentication code, the phone scans and approves it, poll until COMPLETED.",
    ),
];

/// The seeded user (index into the seed's users: alice, bob, carol, dave,
/// erin) each flow runs for by default: one user per flow, so the flows can
/// run one after the other in one environment.
pub fn default_user(flow: &str) -> usize {
    match flow {
        "enrollment" => 0,
        "sign-on" => 1,
        "one-time" => 2,
        "passwordless" => 3,
        _ => 4,
    }
}

/// What a flow ended with, for tests to assert on.
#[derive(Debug, Clone)]
pub struct FlowOutcome {
    /// The flow's name.
    pub flow: String,
    /// The final state, e.g. the device IDs in order.
    pub state: Value,
}

/// Runs the flow called `name`.
pub async fn run(name: &str, ctx: &mut FlowContext<'_>) -> Result<FlowOutcome, Error> {
    let state = match name {
        "enrollment" => enrollment(ctx).await?,
        "sign-on" => sign_on(ctx).await?,
        "one-time" => one_time(ctx).await?,
        "passwordless" => passwordless(ctx).await?,
        "qr-code" => qr_code(ctx).await?,
        other => {
            return Err(Error::UnknownCapability {
                capability: format!(
                    "flow '{other}' (known: {})",
                    FLOWS.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
                ),
            })
        }
    };
    Ok(FlowOutcome {
        flow: name.into(),
        state,
    })
}

fn flow_error(step: &str, message: impl Into<String>) -> Error {
    Error::Internal {
        capability: format!("demo: {step}"),
        message: message.into(),
    }
}

/// The string at `pointer`, or a flow error naming what is missing.
fn text(out: &Value, pointer: &str) -> Result<String, Error> {
    out.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| flow_error(pointer, format!("no {pointer} in {out}")))
}

/// Checks the `rawResponse.status` an invocation reached.
fn expect_status(out: &Value, expected: &str) -> Result<(), Error> {
    match out["rawResponse"]["status"].as_str() {
        Some(s) if s == expected => Ok(()),
        other => Err(flow_error(
            "status",
            format!(
                "expected {expected}, got {} ({})",
                other.unwrap_or("none"),
                out["rawResponse"]
            ),
        )),
    }
}

/// A 6-digit OTP that is not `otp` (the user's typo).
fn typo(otp: &str) -> &'static str {
    if otp == "000000" {
        "111111"
    } else {
        "000000"
    }
}

/// The newest OTP the emulator "sent" to `to`.
fn received_otp(ctx: &mut FlowContext<'_>, to: &str) -> Result<String, Error> {
    let message = ctx
        .emulator
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.to == to)
        .ok_or_else(|| flow_error("outbox", format!("nothing was sent to {to}")))?;
    ctx.user_action(
        "inbox",
        &format!(
            "{} to {} ({}): {}",
            message.channel, message.to, message.purpose, message.otp
        ),
    );
    Ok(message.otp)
}

/// Registers a FIDO2 device for the context's user with `authenticator`:
/// createDevice, the browser's `navigator.credentials.create`, activateDevice.
async fn enroll_fido2(
    ctx: &mut FlowContext<'_>,
    authenticator: &mut SoftAuthenticator,
) -> Result<String, Error> {
    let user = ctx.user_id.clone();
    let created = ctx
        .step(
            "Enroll a FIDO2 security key",
            "createDevice",
            json!({ "userId": user, "deviceType": "Fido2 Biometrics", "status": "ACTIVATION_REQUIRED",
                    "rpId": RP_ID, "rpName": "Example Corp", "nickname": "Security key" }),
        )
        .await?;
    let device_id = text(&created, "/device/id")?;
    let options = text(&created, "/device/publicKeyCredentialCreationOptions")?;
    let attestation = authenticator
        .create(&options, ORIGIN, AttestationFormat::PackedSelf)
        .map_err(|e| flow_error("navigator.credentials.create", e))?;
    ctx.user_action(
        "browser",
        "navigator.credentials.create: the security key made a credential",
    );
    let activated = ctx
        .step(
            "Activate it with the attestation",
            "activateDevice",
            json!({ "userId": user, "deviceId": device_id, "attestation": attestation, "origin": ORIGIN }),
        )
        .await?;
    expect_status(&activated, "ACTIVE")?;
    Ok(device_id)
}

/// Answers an ASSERTION_REQUIRED authentication with `authenticator`.
async fn assert_with(
    ctx: &mut FlowContext<'_>,
    authenticator: &mut SoftAuthenticator,
    authentication: &Value,
) -> Result<Value, Error> {
    expect_status(authentication, "ASSERTION_REQUIRED")?;
    let id = text(authentication, "/rawResponse/id")?;
    let options = text(
        authentication,
        "/rawResponse/publicKeyCredentialRequestOptions",
    )?;
    let assertion = authenticator
        .get(&options, ORIGIN)
        .map_err(|e| flow_error("navigator.credentials.get", e))?;
    ctx.user_action(
        "browser",
        "navigator.credentials.get: the security key signed the challenge",
    );
    let done = ctx
        .step(
            "Check the FIDO2 assertion",
            "validateAssertionDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "assertion": assertion, "origin": ORIGIN }),
        )
        .await?;
    expect_status(&done, "COMPLETED")?;
    Ok(done)
}

/// "PingOne - Registration and MFA Enrollment": SMS and email (test mode),
/// TOTP, FIDO2; the default device; MFA on; the devices in order.
async fn enrollment(ctx: &mut FlowContext<'_>) -> Result<Value, Error> {
    let user = ctx.user_id.clone();

    // SMS, test mode: the pairing OTP comes back in the response.
    let created = ctx
        .step(
            "Enroll an SMS device (test mode)",
            "createDevice",
            json!({ "userId": user, "deviceType": "SMS", "status": "ACTIVATION REQUIRED",
                    "phone": "+15125550123", "nickname": "Demo phone", "createDeviceTestMode": "true" }),
        )
        .await?;
    let sms = text(&created, "/device/id")?;
    let otp_code = text(&created, "/rawResponse/test/otp")?;
    let activated = ctx
        .step(
            "Activate it with the pairing OTP",
            "activateDevice",
            json!({ "userId": user, "deviceId": sms, "otp": otp_code }),
        )
        .await?;
    expect_status(&activated, "ACTIVE")?;

    // Email, test mode.
    let created = ctx
        .step(
            "Enroll an email device (test mode)",
            "createDevice",
            json!({ "userId": user, "deviceType": "Email", "status": "ACTIVATION REQUIRED",
                    "email": "demo.user@example.com", "createDeviceTestMode": "true" }),
        )
        .await?;
    let email = text(&created, "/device/id")?;
    let otp_code = text(&created, "/rawResponse/test/otp")?;
    let activated = ctx
        .step(
            "Activate it with the pairing OTP",
            "activateDevice",
            json!({ "userId": user, "deviceId": email, "otp": otp_code }),
        )
        .await?;
    expect_status(&activated, "ACTIVE")?;

    // TOTP: the authenticator app scans the key URI and shows a code.
    let created = ctx
        .step(
            "Enroll an authenticator app (TOTP)",
            "createDevice",
            json!({ "userId": user, "deviceType": "Authenticator App", "status": "ACTIVATION REQUIRED" }),
        )
        .await?;
    let totp = text(&created, "/device/id")?;
    let secret = otp::base32_decode(&text(&created, "/device/secret")?)
        .ok_or_else(|| flow_error("TOTP", "the secret is not base32"))?;
    let code = otp::totp(&secret, ctx.emulator.state().now_ms());
    ctx.user_action(
        "phone",
        &format!("the authenticator app scanned the QR code and shows {code}"),
    );
    let activated = ctx
        .step(
            "Activate it with the app's code",
            "activateDevice",
            json!({ "userId": user, "deviceId": totp, "otp": code }),
        )
        .await?;
    expect_status(&activated, "ACTIVE")?;

    // FIDO2 with the software authenticator.
    let mut authenticator = SoftAuthenticator::new(1);
    let fido2 = enroll_fido2(ctx, &mut authenticator).await?;

    ctx.step(
        "Make the authenticator app the default",
        "setDeviceOrder",
        json!({ "userId": user, "setDeviceOrder": "Set default device", "defaultDeviceId": totp }),
    )
    .await?;
    let mfa = ctx
        .step(
            "Turn MFA on for the user",
            "updateUserMFAEnabled",
            json!({ "userId": user, "mfaEnabled": true }),
        )
        .await?;
    let listed = ctx
        .step(
            "Read all devices, in order",
            "readAllDevices",
            json!({ "userId": user, "setFilterFlag": true, "statusFilter": "ACTIVE" }),
        )
        .await?;
    let order: Vec<Value> = listed["order"].as_array().cloned().unwrap_or_default();
    let devices: Vec<Value> = listed["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| json!({ "id": d["id"], "type": d["type"], "status": d["status"] }))
        .collect();
    (ctx.log)(&format!(
        "  -> {} active device(s): {}; default device {}",
        devices.len(),
        devices
            .iter()
            .filter_map(|d| d["type"].as_str())
            .collect::<Vec<_>>()
            .join(", "),
        order
            .first()
            .and_then(|e| e["id"].as_str())
            .unwrap_or("none"),
    ));
    Ok(json!({
        "userId": user,
        "enrolled": { "sms": sms, "email": email, "totp": totp, "fido2": fido2 },
        "mfaEnabled": mfa["rawResponse"]["mfaEnabled"],
        "order": order,
        "devices": devices,
    }))
}

/// "PingOne - Sign On and MFA": the default device with a wrong OTP then
/// the right one; then the user picks another of their devices.
async fn sign_on(ctx: &mut FlowContext<'_>) -> Result<Value, Error> {
    let user = ctx.user_id.clone();
    let mut ids = Vec::new();
    for (title, input) in [
        (
            "Set up: an SMS device (test mode)",
            json!({ "deviceType": "SMS", "status": "ACTIVE", "phone": "+15125550124", "createDeviceTestMode": "true" }),
        ),
        (
            "Set up: an email device (test mode)",
            json!({ "deviceType": "Email", "status": "ACTIVE", "email": "signon.user@example.com", "createDeviceTestMode": "true" }),
        ),
    ] {
        let mut input = input;
        input["userId"] = json!(user);
        let created = ctx.step(title, "createDevice", input).await?;
        ids.push(text(&created, "/device/id")?);
    }
    let (sms, email) = (ids[0].clone(), ids[1].clone());

    // The default device.
    let started = ctx
        .step(
            "Start MFA (default device)",
            "createDeviceAuthentication",
            json!({ "userId": user, "authTemplateName": "Strong Authentication" }),
        )
        .await?;
    expect_status(&started, "OTP_REQUIRED")?;
    let default_device = text(&started, "/rawResponse/selectedDevice/id")?;
    let id = text(&started, "/rawResponse/id")?;
    let sent = text(&started, "/rawResponse/test/otp")?;
    ctx.user_action(
        "phone",
        &format!("text message with {sent}; the user mistypes it"),
    );
    let refused = ctx
        .refused_step(
            "Check a mistyped OTP",
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "otp": typo(&sent) }),
        )
        .await?;
    let first_error = match &refused {
        Error::Api { details, .. } => details.first().map(|d| d.code.clone()),
        _ => None,
    };
    let done = ctx
        .step(
            "Check the right OTP",
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": id, "otp": sent }),
        )
        .await?;
    expect_status(&done, "COMPLETED")?;

    // Device selection: the user chooses another of their devices.
    let started = ctx
        .step(
            "Start MFA again",
            "createDeviceAuthentication",
            json!({ "userId": user }),
        )
        .await?;
    let second = text(&started, "/rawResponse/id")?;
    let offered: Vec<Value> = started["rawResponse"]["_embedded"]["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| json!({ "id": d["id"], "type": d["type"], "target": d.get("phone").or(d.get("email")) }))
        .collect();
    (ctx.log)(&format!(
        "  -> the user may choose among: {}",
        offered
            .iter()
            .map(|d| format!(
                "{} {}",
                d["type"].as_str().unwrap_or("?"),
                d["target"].as_str().unwrap_or("")
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let selected = ctx
        .step(
            "Select the email device",
            "deviceSelectDeviceAuthentication",
            json!({ "deviceAuthenticationId": second, "deviceId": email }),
        )
        .await?;
    expect_status(&selected, "OTP_REQUIRED")?;
    let sent = text(&selected, "/rawResponse/test/otp")?;
    ctx.user_action("inbox", &format!("email with {sent}"));
    let done_again = ctx
        .step(
            "Check the emailed OTP",
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": second, "otp": sent }),
        )
        .await?;
    expect_status(&done_again, "COMPLETED")?;
    Ok(json!({
        "userId": user,
        "devices": [sms, email],
        "defaultDevice": default_device,
        "firstError": first_error,
        "default": { "id": id, "status": done["rawResponse"]["status"], "authenticators": done["rawResponse"]["authenticators"] },
        "selected": {
            "id": second,
            "deviceId": done_again["rawResponse"]["selectedDevice"]["id"],
            "status": done_again["rawResponse"]["status"],
            "authenticators": done_again["rawResponse"]["authenticators"],
        },
        "offered": offered,
    }))
}

/// "PingOne MFA - One-Time Device Authentication": SMS and email devices
/// that are not stored.
async fn one_time(ctx: &mut FlowContext<'_>) -> Result<Value, Error> {
    let user = ctx.user_id.clone();
    let started = ctx
        .step(
            "Start MFA with a one-time SMS device",
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "One-Time Device", "oneTimeDeviceType": "SMS",
                    "oneTimeSmsDevice": "+15125550125", "oneTimeDeviceTestMode": "true" }),
        )
        .await?;
    expect_status(&started, "OTP_REQUIRED")?;
    let sms_id = text(&started, "/rawResponse/id")?;
    let sent = text(&started, "/rawResponse/test/otp")?;
    let sms = ctx
        .step(
            "Check the OTP (test mode)",
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": sms_id, "otp": sent }),
        )
        .await?;
    expect_status(&sms, "COMPLETED")?;

    let address = "one.time@example.com";
    let started = ctx
        .step(
            "Start MFA with a one-time email device",
            "createDeviceAuthentication",
            json!({ "userId": user, "selectedDevice": "One-Time Device", "oneTimeDeviceType": "Email",
                    "oneTimeEmailDevice": address }),
        )
        .await?;
    expect_status(&started, "OTP_REQUIRED")?;
    let email_id = text(&started, "/rawResponse/id")?;
    let sent = received_otp(ctx, address)?;
    let email = ctx
        .step(
            "Check the emailed OTP",
            "validateOtpDeviceAuthentication",
            json!({ "deviceAuthenticationId": email_id, "otp": sent }),
        )
        .await?;
    expect_status(&email, "COMPLETED")?;
    let stored = ctx
        .step(
            "Read all devices (none stored)",
            "readAllDevices",
            json!({ "userId": user }),
        )
        .await?;
    Ok(json!({
        "userId": user,
        "sms": { "id": sms_id, "status": sms["rawResponse"]["status"], "authenticators": sms["rawResponse"]["authenticators"] },
        "email": { "id": email_id, "status": email["rawResponse"]["status"], "authenticators": email["rawResponse"]["authenticators"] },
        "storedDevices": stored["devices"].as_array().map_or(0, Vec::len),
    }))
}

/// "PingOne - Passwordless with FIDO2": a security key, sign-on with the
/// username, then usernameless (the credential names the user).
async fn passwordless(ctx: &mut FlowContext<'_>) -> Result<Value, Error> {
    let user = ctx.user_id.clone();
    let mut authenticator = SoftAuthenticator::new(2);
    let device = enroll_fido2(ctx, &mut authenticator).await?;

    let started = ctx
        .step(
            "Sign on with the username",
            "createDeviceAuthentication",
            json!({ "userId": user }),
        )
        .await?;
    let with_username = assert_with(ctx, &mut authenticator, &started).await?;

    let started = ctx
        .step(
            "Sign on without a username",
            "createDeviceAuthentication",
            json!({ "userId": "", "usernameLess": true, "deviceAuthenRpId": RP_ID }),
        )
        .await?;
    let usernameless = assert_with(ctx, &mut authenticator, &started).await?;
    let identified = text(&usernameless, "/rawResponse/user/id")?;
    (ctx.log)(&format!("  -> the credential identified user {identified}"));
    Ok(json!({
        "userId": user,
        "deviceId": device,
        "withUsername": {
            "status": with_username["rawResponse"]["status"],
            "deviceId": with_username["rawResponse"]["selectedDevice"]["id"],
        },
        "usernameless": {
            "status": usernameless["rawResponse"]["status"],
            "userId": identified,
            "deviceId": usernameless["rawResponse"]["selectedDevice"]["id"],
        },
    }))
}

/// "PingOne - QR Code Sign-On": the phone is paired once with a pairing
/// key; the sign-on page shows an authentication code as a QR code, the
/// phone scans and approves it, the page polls until COMPLETED.
async fn qr_code(ctx: &mut FlowContext<'_>) -> Result<Value, Error> {
    let user = ctx.user_id.clone();
    let env = ctx.environment_id();
    let application = ctx.emulator.seed().application_id.clone();

    let key = ctx
        .step(
            "Create a pairing key for the phone",
            "createPairingKey",
            json!({ "userId": user, "applicationIds": [application] }),
        )
        .await?;
    let pairing_code = text(&key, "/rawResponse/code")?;
    let phone = ctx
        .emulator
        .claim_pairing_key(&env, &pairing_code)
        .map_err(|e| flow_error("claim pairing key", e))?;
    let phone_id = text(&phone, "/id")?;
    ctx.user_action(
        "phone",
        &format!("the app claimed the pairing key: MOBILE device {phone_id}"),
    );
    let key = ctx
        .step(
            "Read the pairing key",
            "readPairingKey",
            json!({ "userId": user, "pairingKeyId": text(&key, "/rawResponse/id")? }),
        )
        .await?;
    expect_status(&key, "CLAIMED")?;

    let code = ctx
        .step(
            "Create an authentication code (QR)",
            "createAuthenticationCode",
            json!({ "authenticatingApplicationId": application, "duration": "2", "timeUnit": "MINUTES",
                    "userApproval": "REQUIRED" }),
        )
        .await?;
    let code_id = text(&code, "/rawResponse/id")?;
    let uri = text(&code, "/rawResponse/uri")?;
    (ctx.log)(&format!("  -> the page shows a QR code for {uri}"));
    let poll = json!({ "authenticationCodeId": code_id });
    let first = ctx
        .step("Poll the code", "readAuthenticationCode", poll.clone())
        .await?;
    expect_status(&first, "UNCLAIMED")?;

    ctx.emulator
        .claim_authentication_code(&env, &text(&code, "/rawResponse/code")?, &user, None)
        .map_err(|e| flow_error("claim authentication code", e))?;
    ctx.user_action("phone", "scanned the QR code");
    let claimed = ctx
        .step("Poll the code", "readAuthenticationCode", poll.clone())
        .await?;
    expect_status(&claimed, "CLAIMED")?;
    ctx.emulator
        .approve_authentication_code(&env, &code_id, true)
        .map_err(|e| flow_error("approve authentication code", e))?;
    ctx.user_action("phone", "the user approved the sign-on");
    let done = ctx
        .step("Poll the code", "readAuthenticationCode", poll)
        .await?;
    expect_status(&done, "COMPLETED")?;
    Ok(json!({
        "userId": done["rawResponse"]["user"]["id"],
        "phoneId": phone_id,
        "codeId": code_id,
        "status": done["rawResponse"]["status"],
        "claimedBy": done["rawResponse"]["_embedded"]["device"]["id"],
        "polled": [first["rawResponse"]["status"], claimed["rawResponse"]["status"], done["rawResponse"]["status"]],
    }))
}
