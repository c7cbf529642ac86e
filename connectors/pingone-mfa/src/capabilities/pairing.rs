//! Pairing keys: what a native app (the PingOne MFA SDK or the PingID app)
//! uses to pair itself as a user's MOBILE device.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ConnectorError;
use crate::http::{ApiRequest, Method, API, JSON, KEY_POLICY_ID};
use crate::model::{envelope, Object};
use crate::pipeline::{Capability, Ctx};

/// Why a pairing key failed.
#[derive(JsonSchema)]
pub struct KeyError {
    pub code: Option<String>,
    pub message: Option<String>,
}

/// A pairing key.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairingKey {
    pub id: Option<String>,
    /// The code the app scans or types.
    pub code: Option<String>,
    /// UNCLAIMED or CLAIMED.
    pub status: Option<String>,
    pub error: Option<KeyError>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub expires_at: Option<String>,
}

envelope!(
    /// A pairing key in the envelope.
    PairingKeyOutput { raw: PairingKey }
);
envelope!(
    /// The empty answer of a delete.
    DeletedOutput { raw: Object }
);

/// A user and one of their pairing keys.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairingKeyRef {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// Pairing Key ID
    #[schemars(length(min = 0, max = 100))]
    pub pairing_key_id: String,
}

/// Input of Create Pairing Key.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePairingKeyInput {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
    /// Applications that may use the key; empty or null for every native application.
    #[serde(default)]
    #[schemars(schema_with = "application_ids_schema")]
    pub application_ids: Option<Vec<String>>,
}

fn application_ids_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::Schema::try_from(json!({
        "type": ["null", "array"],
        "items": { "type": "string", "maxLength": 100 },
        "description": "Applications that may use the key; empty or null for every native application."
    }))
    .expect("an object is a schema")
}

/// Input of Create Pairing Key (PingID).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserOnly {
    /// The unique identifier for the user.
    #[schemars(length(min = 0, max = 100))]
    pub user_id: String,
}

fn create_key(ctx: &Ctx, user_id: &str, applications: &[String]) -> ApiRequest {
    let applications: Vec<Value> = applications
        .iter()
        .filter(|a| !a.trim().is_empty())
        .map(|id| json!({ "id": id.trim() }))
        .collect();
    let mut body = json!({ "applications": applications });
    if !ctx.settings.get(KEY_POLICY_ID).is_empty() {
        body["policy"] = json!({ "id": ctx.settings.get(KEY_POLICY_ID) });
    }
    ApiRequest::new(Method::Post, API, ["users", user_id, "pairingKeys"]).with_body(JSON, body)
}

/// Create Pairing Key.
pub struct CreatePairingKey;
impl Capability for CreatePairingKey {
    const ID: &'static str = "createPairingKey";
    const WIT: &'static str = "create-pairing-key";
    const TITLE: &'static str = "Create Pairing Key";
    const DESCRIPTION: &'static str = "Create pairing keys that can be used by native mobile applications to create trust with PingOne MFA.";
    type Input = CreatePairingKeyInput;
    type Output = PairingKeyOutput;

    fn request(ctx: &Ctx, i: &CreatePairingKeyInput) -> Result<ApiRequest, ConnectorError> {
        Ok(create_key(
            ctx,
            &i.user_id,
            i.application_ids.as_deref().unwrap_or_default(),
        ))
    }
}

/// Create Pairing Key (PingID).
pub struct CreatePairingKeyPingId;
impl Capability for CreatePairingKeyPingId {
    const ID: &'static str = "createPairingKeyPingID";
    const WIT: &'static str = "create-pairing-key-ping-id";
    const TITLE: &'static str = "Create Pairing Key";
    const DESCRIPTION: &'static str = "Create pairing keys that can be used by the PingID mobile app to create trust with PingID.";
    type Input = UserOnly;
    type Output = PairingKeyOutput;

    fn request(ctx: &Ctx, i: &UserOnly) -> Result<ApiRequest, ConnectorError> {
        Ok(create_key(ctx, &i.user_id, &[]))
    }
}

/// Read Pairing Key.
pub struct ReadPairingKey;
impl Capability for ReadPairingKey {
    const ID: &'static str = "readPairingKey";
    const WIT: &'static str = "read-pairing-key";
    const TITLE: &'static str = "Read Pairing Key";
    const DESCRIPTION: &'static str = "Read pairing key information associated with users.";
    type Input = PairingKeyRef;
    type Output = PairingKeyOutput;

    fn request(_: &Ctx, i: &PairingKeyRef) -> Result<ApiRequest, ConnectorError> {
        Ok(ApiRequest::new(
            Method::Get,
            API,
            ["users", &i.user_id, "pairingKeys", &i.pairing_key_id],
        ))
    }
}

/// Delete Pairing Key.
pub struct DeletePairingKey;
impl Capability for DeletePairingKey {
    const ID: &'static str = "deletePairingKey";
    const WIT: &'static str = "delete-pairing-key";
    const TITLE: &'static str = "Delete Pairing Key";
    const DESCRIPTION: &'static str = "Delete unclaimed pairing keys.";
    type Input = PairingKeyRef;
    type Output = DeletedOutput;

    fn request(_: &Ctx, i: &PairingKeyRef) -> Result<ApiRequest, ConnectorError> {
        Ok(ApiRequest::new(
            Method::Delete,
            API,
            ["users", &i.user_id, "pairingKeys", &i.pairing_key_id],
        ))
    }
}
