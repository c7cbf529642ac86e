//! The demo flows: the seed's flow templates as sequences of capability
//! invocations through the host, the way a flow engine would run them node
//! by node. `connector-host demo` runs them against the embedded emulator.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::error::Error;
use crate::runtime::Runtime;
use crate::tenant::Tenant;

/// Where a flow runs and who it runs for.
pub struct FlowContext<'a> {
    /// The runtime.
    pub runtime: &'a Runtime,
    /// The tenant.
    pub tenant: &'a Tenant,
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
}

/// The names of the flows `run` knows, with one line each.
pub const FLOWS: &[(&str, &str)] = &[(
    "enrollment",
    "Device enrollment: create an SMS device in test mode, activate it with the OTP, make it the default, list the devices in order.",
)];

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
    match name {
        "enrollment" => enrollment(ctx).await,
        other => Err(Error::UnknownCapability {
            capability: format!(
                "flow '{other}' (known: {})",
                FLOWS.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

/// Device enrollment, as in "PingOne - Registration and MFA Enrollment".
async fn enrollment(ctx: &mut FlowContext<'_>) -> Result<FlowOutcome, Error> {
    let user = ctx.user_id.clone();
    let created = ctx
        .step(
            "Enroll an SMS device (test mode)",
            "createDevice",
            json!({
                "userId": user,
                "deviceType": "SMS",
                "status": "ACTIVATION REQUIRED",
                "phone": "+15125550123",
                "nickname": "Demo phone",
                "createDeviceTestMode": "true",
            }),
        )
        .await?;
    let device_id = created["device"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let otp = created["rawResponse"]["test"]["otp"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ctx.step(
        "Activate it with the pairing OTP",
        "activateDevice",
        json!({ "userId": user, "deviceId": device_id, "otp": otp }),
    )
    .await?;
    ctx.step(
        "Make it the default device",
        "setDeviceOrder",
        json!({ "userId": user, "setDeviceOrder": "Set default device", "defaultDeviceId": device_id }),
    )
    .await?;
    ctx.step(
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
    (ctx.log)(&format!(
        "  -> {} active device(s); default device {}",
        listed["devices"].as_array().map_or(0, Vec::len),
        order
            .first()
            .and_then(|e| e["id"].as_str())
            .unwrap_or("none"),
    ));
    Ok(FlowOutcome {
        flow: "enrollment".into(),
        state: json!({ "deviceId": device_id, "order": order, "devices": listed["devices"] }),
    })
}
