//! Seed 002's MFA enrollment step: its configuration, its input, its
//! results (each with a JSON Schema from these types), its flow states and
//! the actions valid in each, built on the PingOne MFA connector's
//! capabilities through the runtime (no second PingOne client).
//!
//! Choices where the seed is silent, written down:
//! - Allowed types come from the device authentication policy (the
//!   connection's default, or `deviceAuthenticationPolicy.id`); PingOne's
//!   `fido2` method stands for both `PLATFORM` and `SECURITY_KEY`, and
//!   `webauthn.compatibility` narrows them (`NONE`: neither;
//!   `SECURITY_KEY_ONLY`: no `PLATFORM`).
//! - Skipping is allowed only when the configuration says `allowSkip`.
//! - `MOBILE` pairs through a pairing key for `application.id`; the poll
//!   (GET on the execution) reads the key: CLAIMED completes with the
//!   user's newest MOBILE device, a key that expired or was deleted is
//!   `MOBILE_PAIRING_FAILURE` (`device.delete` starts over).
//! - `device.delete` in `ACTIVATION_REQUIRED` deletes the pending device
//!   and returns to `DEVICE_ENROLLMENT_REQUIRED`.

use connector_runtime::{Connector, Runtime, Tenant};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::ExecutionError;

/// The connector the step runs on.
pub const CONNECTOR: &str = "pingone-mfa";

/// The step's configuration (from the flow file; an execution may override it).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepConfig {
    /// Use the environment's default device authentication policy.
    pub use_default_policy: bool,
    /// The policy to use when `useDefaultPolicy` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authentication_policy: Option<IdRef>,
    /// The notification template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateConfig>,
    /// Whether the user may skip enrollment (`device.skipEnrollment`).
    #[serde(default)]
    pub allow_skip: bool,
}

/// `{"id": ...}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdRef {
    /// The id.
    pub id: String,
}

/// `template.variant`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// The notification template variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// The step's input: the seed's dotted names as nested objects.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepInput {
    /// The user.
    pub user: UserInput,
    /// WebAuthn compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webauthn: Option<WebauthnInput>,
    /// The notification template's locale and variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateInput>,
    /// Overrides of the flow's configuration for this execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<StepConfig>,
}

/// `user.*`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserInput {
    /// The user's id.
    pub id: String,
    /// The user's email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's mobile phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
}

/// `webauthn.compatibility`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebauthnInput {
    /// FULL, SECURITY_KEY_ONLY or NONE.
    pub compatibility: Compatibility,
}

/// WebAuthn compatibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    /// Platform authenticators and security keys.
    Full,
    /// Security keys only.
    SecurityKeyOnly,
    /// No WebAuthn.
    None,
}

/// `template.locale`, `template.variables`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// The notification template locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The notification template variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Map<String, Value>>,
}

/// The ENROLLED result's output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Enrolled {
    /// The device.
    pub device: DeviceRef,
}

/// `device.id`, `device.type`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DeviceRef {
    /// The device id.
    pub id: String,
    /// MOBILE, EMAIL, SMS, VOICE, TOTP, PLATFORM or SECURITY_KEY.
    #[serde(rename = "type")]
    pub device_type: String,
}

/// The step's JSON Schemas: configuration, input and the two results.
pub fn schemas() -> Value {
    json!({
        "configuration": schemars::schema_for!(StepConfig),
        "input": schemars::schema_for!(StepInput),
        "results": {
            "ENROLLED": schemars::schema_for!(Enrolled),
            "SKIPPED": { "type": "object", "additionalProperties": false },
        }
    })
}

/// The device types of the seed, in its order.
pub const DEVICE_TYPES: [&str; 7] = [
    "MOBILE",
    "EMAIL",
    "SMS",
    "VOICE",
    "TOTP",
    "PLATFORM",
    "SECURITY_KEY",
];

/// The flow states.
pub mod state {
    /// The user enrolls a device or skips.
    pub const ENROLLMENT: &str = "DEVICE_ENROLLMENT_REQUIRED";
    /// The created device waits for its OTP or attestation.
    pub const ACTIVATION: &str = "ACTIVATION_REQUIRED";
    /// The phone pairs with the pairing key; the client polls.
    pub const PAIRING: &str = "PAIRING_REQUIRED";
    /// Pairing failed.
    pub const PAIRING_FAILURE: &str = "MOBILE_PAIRING_FAILURE";
    /// The step ended with a result.
    pub const COMPLETED: &str = "COMPLETED";
}

/// The actions, by the name in their media type
/// (`application/vnd.pingidentity.<action>+json`).
pub const ACTIONS: [&str; 5] = [
    "device.create",
    "device.activate",
    "device.skipEnrollment",
    "device.delete",
    "otp.resend",
];

/// Where an execution is: its state, what the state shows, and what the
/// step keeps to act on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The flow state.
    pub status: String,
    /// The state's response properties.
    pub properties: Map<String, Value>,
    /// The pending device (ACTIVATION_REQUIRED, PAIRING_REQUIRED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The pending device's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// The pairing key (PAIRING_REQUIRED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_key_id: Option<String>,
    /// The allowed types, kept for device.create.
    #[serde(default)]
    pub allowed: Vec<String>,
    /// `ENROLLED` or `SKIPPED`, once COMPLETED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

impl Progress {
    /// The actions valid in this state.
    pub fn actions(&self, config: &StepConfig) -> Vec<&'static str> {
        match self.status.as_str() {
            state::ENROLLMENT if config.allow_skip => {
                vec!["device.create", "device.skipEnrollment"]
            }
            state::ENROLLMENT => vec!["device.create"],
            state::ACTIVATION => {
                let mut actions = vec!["device.activate", "device.delete"];
                if matches!(self.device_type.as_deref(), Some("SMS" | "EMAIL" | "VOICE")) {
                    actions.push("otp.resend");
                }
                actions
            }
            state::PAIRING | state::PAIRING_FAILURE => vec!["device.delete"],
            _ => Vec::new(),
        }
    }
}

/// The step for one execution: the runtime, the tenant, its configuration
/// and input.
pub struct Step<'a> {
    connector: Connector,
    tenant: &'a Tenant,
    config: &'a StepConfig,
    input: &'a StepInput,
}

impl<'a> Step<'a> {
    /// The step on `runtime` for `tenant`.
    pub fn new(
        runtime: &Runtime,
        tenant: &'a Tenant,
        config: &'a StepConfig,
        input: &'a StepInput,
    ) -> Result<Step<'a>, ExecutionError> {
        let connector = runtime.connector(CONNECTOR).ok_or_else(|| {
            ExecutionError::Unavailable(format!("the {CONNECTOR} connector is not loaded"))
        })?;
        Ok(Step {
            connector,
            tenant,
            config,
            input,
        })
    }

    async fn call(&self, capability: &str, input: Value) -> Result<Value, ExecutionError> {
        self.connector
            .invoke(self.tenant, capability, &input.to_string())
            .await
            .map_err(|e| ExecutionError::Capability(Box::new(e)))
    }

    fn user(&self) -> &str {
        &self.input.user.id
    }

    /// The first state: DEVICE_ENROLLMENT_REQUIRED with the allowed types.
    pub async fn start(&self) -> Result<Progress, ExecutionError> {
        if !self.config.use_default_policy && self.config.device_authentication_policy.is_none() {
            return Err(ExecutionError::invalid(
                "configuration.deviceAuthenticationPolicy.id",
                "is required when useDefaultPolicy is false",
            ));
        }
        let listed = self
            .call("readAllDevices", json!({ "userId": self.user() }))
            .await?;
        let mut allowed: Vec<String> = match &self.config.device_authentication_policy {
            Some(policy) if !self.config.use_default_policy => {
                let read = self
                    .call(
                        "readDeviceAuthenticationPolicy",
                        json!({ "deviceAuthenticationPolicyId": policy.id }),
                    )
                    .await?;
                allowed_by_policy(&read["rawResponse"])
            }
            _ => listed["allowedtypes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        };
        // PingOne's FIDO2 stands for both WebAuthn kinds of the seed.
        if allowed.iter().any(|t| t == "FIDO2") {
            allowed.extend(["PLATFORM".to_owned(), "SECURITY_KEY".to_owned()]);
        }
        let compatibility = self
            .input
            .webauthn
            .as_ref()
            .map_or(Compatibility::Full, |w| w.compatibility);
        allowed.retain(|t| {
            DEVICE_TYPES.contains(&t.as_str())
                && !(compatibility == Compatibility::None
                    && (t == "PLATFORM" || t == "SECURITY_KEY"))
                && !(compatibility == Compatibility::SecurityKeyOnly && t == "PLATFORM")
        });
        allowed.sort_by_key(|t| DEVICE_TYPES.iter().position(|d| d == t));
        allowed.dedup();
        Ok(self.enrollment_required(allowed, &listed))
    }

    fn enrollment_required(&self, allowed: Vec<String>, listed: &Value) -> Progress {
        let mut properties = Map::new();
        let user = &self.input.user;
        properties.insert("email".into(), json!(user.email));
        properties.insert("mobilePhone".into(), json!(user.mobile_phone));
        properties.insert("allowedtypes".into(), json!(allowed));
        properties.insert("mfaSettings".into(), listed["mfaSettings"].clone());
        properties.insert("applications".into(), listed["applications"].clone());
        Progress {
            status: state::ENROLLMENT.into(),
            properties,
            device_id: None,
            device_type: None,
            pairing_key_id: None,
            allowed,
            result: None,
        }
    }

    /// Runs `action` with `body` on `progress`; the new progress.
    pub async fn act(
        &self,
        progress: &Progress,
        action: &str,
        body: &Map<String, Value>,
    ) -> Result<Progress, ExecutionError> {
        if !progress.actions(self.config).contains(&action) {
            return Err(ExecutionError::invalid(
                "Content-Type",
                &format!("{action} is not valid in {}", progress.status),
            ));
        }
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        match action {
            "device.create" => self.create(progress, body).await,
            "device.activate" => {
                let device = progress.device_id.clone().unwrap_or_default();
                let mut input = json!({ "userId": self.user(), "deviceId": device });
                for key in ["otp", "attestation", "origin"] {
                    if let Some(v) = text(key) {
                        input[key] = json!(v);
                    }
                }
                let out = self.call("activateDevice", input).await?;
                if out["rawResponse"]["status"] == "ACTIVE" {
                    Ok(completed(enrolled(
                        &device,
                        progress.device_type.as_deref().unwrap_or(""),
                    )))
                } else {
                    Ok(progress.clone())
                }
            }
            "otp.resend" => {
                let device = progress.device_id.clone().unwrap_or_default();
                self.call(
                    "resendOTPForPairing",
                    json!({ "userId": self.user(), "deviceId": device }),
                )
                .await?;
                Ok(progress.clone())
            }
            "device.delete" => {
                if let Some(key) = &progress.pairing_key_id {
                    // A key already gone (expired) needs no deleting.
                    let _ = self
                        .call(
                            "deletePairingKey",
                            json!({ "userId": self.user(), "pairingKeyId": key }),
                        )
                        .await;
                } else if let Some(device) = &progress.device_id {
                    self.call(
                        "deleteDevice",
                        json!({ "userId": self.user(), "deviceId": device }),
                    )
                    .await?;
                }
                let listed = self
                    .call("readAllDevices", json!({ "userId": self.user() }))
                    .await?;
                Ok(self.enrollment_required(progress.allowed.clone(), &listed))
            }
            "device.skipEnrollment" => Ok(completed(json!({ "type": "SKIPPED", "output": {} }))),
            _ => Err(ExecutionError::invalid("Content-Type", "unknown action")),
        }
    }

    async fn create(
        &self,
        progress: &Progress,
        body: &Map<String, Value>,
    ) -> Result<Progress, ExecutionError> {
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        let Some(device_type) = text("type").map(|t| t.to_ascii_uppercase()) else {
            return Err(ExecutionError::invalid("type", "is required"));
        };
        if !progress.allowed.contains(&device_type) {
            return Err(ExecutionError::invalid(
                "type",
                &format!(
                    "{device_type} is not allowed here (allowed: {})",
                    progress.allowed.join(", ")
                ),
            ));
        }
        if device_type == "MOBILE" {
            let Some(application) = body.get("application").and_then(|a| a["id"].as_str()) else {
                return Err(ExecutionError::invalid(
                    "application.id",
                    "is required for MOBILE",
                ));
            };
            let key = self
                .call(
                    "createPairingKey",
                    json!({ "userId": self.user(), "applicationIds": [application] }),
                )
                .await?;
            let raw = &key["rawResponse"];
            let mut properties = Map::new();
            properties.insert(
                "device".into(),
                json!({ "type": "MOBILE", "status": "PAIRING_REQUIRED" }),
            );
            properties.insert("pairingKey".into(), json!({ "code": raw["code"] }));
            return Ok(Progress {
                status: state::PAIRING.into(),
                properties,
                device_id: None,
                device_type: Some(device_type),
                pairing_key_id: raw["id"].as_str().map(str::to_owned),
                allowed: progress.allowed.clone(),
                result: None,
            });
        }
        let user = &self.input.user;
        let mut input = json!({ "userId": self.user(), "deviceType": device_type, "status": "ACTIVATION_REQUIRED" });
        match device_type.as_str() {
            "SMS" | "VOICE" => {
                let phone = text("phone").or_else(|| user.mobile_phone.clone());
                input["phone"] = json!(phone.ok_or_else(|| ExecutionError::invalid(
                    "phone",
                    "is required (or user.mobilePhone)"
                ))?);
            }
            "EMAIL" => {
                let email = text("email").or_else(|| user.email.clone());
                input["email"] = json!(email.ok_or_else(|| ExecutionError::invalid(
                    "email",
                    "is required (or user.email)"
                ))?);
            }
            "PLATFORM" | "SECURITY_KEY" => {
                let rp = body.get("rp");
                if let Some(id) = rp.and_then(|r| r["id"].as_str()) {
                    input["rpId"] = json!(id);
                }
                if let Some(name) = rp.and_then(|r| r["name"].as_str()) {
                    input["rpName"] = json!(name);
                }
            }
            _ => {}
        }
        if let Some(nickname) = text("nickname") {
            input["nickname"] = json!(nickname);
        }
        // Only devices PingOne notifies take a notification template:
        // PingOne refuses one for TOTP and FIDO2 devices.
        let notified = matches!(device_type.as_str(), "SMS" | "VOICE" | "EMAIL");
        if let Some(variant) = self
            .config
            .template
            .as_ref()
            .and_then(|t| t.variant.clone())
            .filter(|_| notified)
        {
            input["templateVariant"] = json!(variant);
        }
        if let Some(template) = self.input.template.as_ref().filter(|_| notified) {
            if let Some(locale) = &template.locale {
                input["templateLocale"] = json!(locale);
            }
            if let Some(variables) = &template.variables {
                let list: Vec<Value> = variables
                    .iter()
                    .map(|(name, value)| json!({ "name": name, "value": value }))
                    .collect();
                input["templateVariables"] = json!(list);
            }
        }
        let created = self.call("createDevice", input).await?;
        let device = created["device"].clone();
        let id = device["id"].as_str().unwrap_or_default().to_owned();
        if device["status"] == "ACTIVE" {
            return Ok(completed(enrolled(&id, &device_type)));
        }
        let mut properties = Map::new();
        properties.insert("device".into(), device);
        Ok(Progress {
            status: state::ACTIVATION.into(),
            properties,
            device_id: Some(id),
            device_type: Some(device_type),
            pairing_key_id: None,
            allowed: progress.allowed.clone(),
            result: None,
        })
    }

    /// A poll (GET) of `progress`: in PAIRING_REQUIRED, whether the phone
    /// has paired. Other states do not change by polling.
    pub async fn poll(&self, progress: &Progress) -> Result<Progress, ExecutionError> {
        if progress.status != state::PAIRING {
            return Ok(progress.clone());
        }
        let key = progress.pairing_key_id.clone().unwrap_or_default();
        let read = self
            .call(
                "readPairingKey",
                json!({ "userId": self.user(), "pairingKeyId": key }),
            )
            .await;
        let failure = |code: &str, message: &str| {
            let mut next = progress.clone();
            next.status = state::PAIRING_FAILURE.into();
            next.properties = Map::new();
            next.properties
                .insert("error".into(), json!({ "code": code, "message": message }));
            next
        };
        match read {
            Ok(out) if out["rawResponse"]["status"] == "CLAIMED" => {
                let listed = self
                    .call("readAllDevices", json!({ "userId": self.user() }))
                    .await?;
                let phone = listed["devices"]
                    .as_array()
                    .and_then(|d| d.iter().rev().find(|d| d["type"] == "MOBILE"))
                    .and_then(|d| d["id"].as_str())
                    .map(str::to_owned);
                match phone {
                    Some(id) => Ok(completed(enrolled(&id, "MOBILE"))),
                    None => Ok(failure(
                        "DEVICE_NOT_FOUND",
                        "the pairing key was claimed but no MOBILE device exists",
                    )),
                }
            }
            Ok(_) => Ok(progress.clone()),
            Err(ExecutionError::Capability(e)) if e.to_json()["error"]["status"] == 404 => {
                Ok(failure(
                    "PAIRING_KEY_EXPIRED",
                    "the pairing key expired before the phone claimed it",
                ))
            }
            Err(e) => Err(e),
        }
    }
}

fn enrolled(id: &str, device_type: &str) -> Value {
    json!({ "type": "ENROLLED", "output": { "device": { "id": id, "type": device_type } } })
}

fn completed(result: Value) -> Progress {
    Progress {
        status: state::COMPLETED.into(),
        properties: Map::new(),
        device_id: None,
        device_type: None,
        pairing_key_id: None,
        allowed: Vec::new(),
        result: Some(result),
    }
}

/// The seed's device types a policy enables.
fn allowed_by_policy(policy: &Value) -> Vec<String> {
    const METHODS: [(&str, &str); 8] = [
        ("sms", "SMS"),
        ("voice", "VOICE"),
        ("email", "EMAIL"),
        ("totp", "TOTP"),
        ("mobile", "MOBILE"),
        ("fido2", "FIDO2"),
        ("platform", "PLATFORM"),
        ("securityKey", "SECURITY_KEY"),
    ];
    METHODS
        .iter()
        .filter(|(key, _)| policy.pointer(&format!("/{key}/enabled")) == Some(&Value::Bool(true)))
        .map(|(_, t)| (*t).to_owned())
        .collect()
}
