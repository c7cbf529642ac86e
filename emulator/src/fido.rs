//! FIDO2 / WebAuthn registration: `publicKeyCredentialCreationOptions` and
//! the (partial) attestation check done at activation.

use base64::Engine;
use rand::RngCore;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};

/// The default relying party. PingOne uses the environment's auth domain
/// (e.g. `pingone.com`) unless the FIDO policy or the request's `rp.id` says
/// otherwise; the emulator's auth domain is the loopback host, so `localhost`.
pub const DEFAULT_RP_ID: &str = "localhost";
pub const DEFAULT_RP_NAME: &str = "PingOne";
pub const CREATION_TIMEOUT_MS: u64 = 120_000;

pub fn random_challenge() -> Vec<u8> {
    let mut b = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

/// PingOne serialises byte arrays in WebAuthn options as arrays of *signed*
/// (Java) bytes, e.g. `"challenge":[-85,59,...]` (reference §3.15).
pub fn signed_bytes(b: &[u8]) -> Value {
    Value::Array(b.iter().map(|x| json!(*x as i8)).collect())
}

/// The `publicKeyCredentialCreationOptions` JSON string of a new device.
pub fn creation_options(
    challenge: &[u8],
    rp_id: &str,
    rp_name: &str,
    user_id: &str,
    username: &str,
    display_name: &str,
    authenticator_attachment: Option<&str>,
) -> String {
    let mut selection = json!({
        "userVerification": "preferred",
        "requireResidentKey": false
    });
    if let Some(a) = authenticator_attachment {
        selection["authenticatorAttachment"] = json!(a);
    }
    json!({
        "rp": {"id": rp_id, "name": rp_name},
        "user": {
            "id": signed_bytes(user_id.as_bytes()),
            "name": username,
            "displayName": display_name
        },
        "challenge": signed_bytes(challenge),
        "pubKeyCredParams": [
            {"type": "public-key", "alg": -7},
            {"type": "public-key", "alg": -257}
        ],
        "timeout": CREATION_TIMEOUT_MS,
        "excludeCredentials": [],
        "authenticatorSelection": selection,
        "attestation": "none",
        "extensions": {"credProps": true}
    })
    .to_string()
}

fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let t = s.trim_end_matches('=');
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t))
        .ok()
}

fn bad(target: &str, msg: impl Into<String>) -> ApiError {
    ApiError::invalid_value(target, msg)
}

/// The host of an origin such as `https://login.example.com:8443`.
pub fn origin_host(origin: &str) -> Option<String> {
    let rest = origin.split_once("://").map(|(_, r)| r)?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?.to_string()
    } else {
        authority.split(':').next()?.to_string()
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether `host` equals the RP ID or is a subdomain of it.
pub fn host_matches_rp(host: &str, rp_id: &str) -> bool {
    let rp = rp_id.to_ascii_lowercase();
    host == rp || host.ends_with(&format!(".{rp}"))
}

/// Checks a registration response and returns the credential ID.
///
/// Verified: the credential JSON shape, `type == "public-key"`,
/// clientDataJSON `type == "webauthn.create"`, the challenge, the origin
/// (clientData origin equals the request `origin`, whose host is the RP ID or
/// a subdomain of it) and that `attestationObject` is base64url.
///
/// NOT verified yet: the CBOR attestation object (authenticator data, RP ID
/// hash, flags, attestation statement and the credential public key). A later
/// version should decode it and keep the public key for assertion checks.
pub fn check_attestation(
    attestation: &Value,
    origin: &str,
    expected_challenge: &[u8],
    rp_id: &str,
) -> ApiResult<String> {
    let cred: Value = match attestation {
        Value::String(s) => serde_json::from_str(s)
            .map_err(|e| bad("attestation", format!("attestation is not valid JSON: {e}")))?,
        Value::Object(_) => attestation.clone(),
        _ => return Err(bad("attestation", "attestation must be a JSON string")),
    };
    if cred["type"].as_str() != Some("public-key") {
        return Err(bad("attestation", "attestation.type must be public-key"));
    }
    let cred_id = cred["rawId"]
        .as_str()
        .or_else(|| cred["id"].as_str())
        .filter(|s| !s.is_empty() && b64url_decode(s).is_some())
        .ok_or_else(|| bad("attestation", "attestation.rawId must be base64url"))?
        .to_string();
    let response = &cred["response"];
    let client_data = response["clientDataJSON"]
        .as_str()
        .and_then(b64url_decode)
        .ok_or_else(|| bad("attestation", "response.clientDataJSON must be base64url"))?;
    response["attestationObject"]
        .as_str()
        .and_then(b64url_decode)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            bad(
                "attestation",
                "response.attestationObject must be base64url",
            )
        })?;
    let client_data: Value = serde_json::from_slice(&client_data)
        .map_err(|_| bad("attestation", "clientDataJSON is not valid JSON"))?;
    if client_data["type"].as_str() != Some("webauthn.create") {
        return Err(bad(
            "attestation",
            "clientDataJSON.type must be webauthn.create",
        ));
    }
    let challenge = client_data["challenge"]
        .as_str()
        .and_then(b64url_decode)
        .ok_or_else(|| bad("attestation", "clientDataJSON.challenge is missing"))?;
    if challenge != expected_challenge {
        return Err(bad(
            "attestation",
            "clientDataJSON.challenge does not match the issued challenge",
        ));
    }
    if let Some(cd_origin) = client_data["origin"].as_str() {
        if cd_origin.trim_end_matches('/') != origin.trim_end_matches('/') {
            return Err(bad("origin", "origin does not match clientDataJSON.origin"));
        }
    }
    let host = origin_host(origin).ok_or_else(|| bad("origin", "origin is not a valid origin"))?;
    if !host_matches_rp(&host, rp_id) {
        return Err(bad(
            "origin",
            format!("origin host {host} is not the RP ID {rp_id} or a subdomain of it"),
        ));
    }
    Ok(cred_id)
}

/// Builds a registration response that passes [`check_attestation`]; used by
/// tests and demos that have no browser. The attestation object is a fixed
/// minimal CBOR map `{"fmt":"none","attStmt":{},"authData":h''}`.
pub fn synthetic_attestation(challenge: &[u8], origin: &str, credential_id: &[u8]) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let client_data = json!({
        "type": "webauthn.create",
        "challenge": e.encode(challenge),
        "origin": origin,
        "crossOrigin": false
    })
    .to_string();
    // a3 63 "fmt" 64 "none" 67 "attStmt" a0 68 "authData" 40
    let mut att = vec![0xa3, 0x63];
    att.extend_from_slice(b"fmt");
    att.push(0x64);
    att.extend_from_slice(b"none");
    att.push(0x67);
    att.extend_from_slice(b"attStmt");
    att.push(0xa0);
    att.push(0x68);
    att.extend_from_slice(b"authData");
    att.push(0x40);
    json!({
        "id": e.encode(credential_id),
        "rawId": e.encode(credential_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": e.encode(client_data.as_bytes()),
            "attestationObject": e.encode(&att)
        }
    })
    .to_string()
}

/// Decodes the signed-byte array form back to bytes.
pub fn bytes_from_signed(v: &Value) -> Option<Vec<u8>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_i64().map(|n| n as i8 as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_hosts() {
        assert_eq!(
            origin_host("https://a.example.com:8443/x").as_deref(),
            Some("a.example.com")
        );
        assert_eq!(
            origin_host("http://localhost:3000").as_deref(),
            Some("localhost")
        );
        assert!(origin_host("localhost").is_none());
        assert!(host_matches_rp("login.example.com", "example.com"));
        assert!(host_matches_rp("example.com", "example.com"));
        assert!(!host_matches_rp("badexample.com", "example.com"));
    }

    #[test]
    fn synthetic_attestation_round_trip() {
        let ch = random_challenge();
        let att = synthetic_attestation(&ch, "https://app.localhost", b"cred-1");
        let id = check_attestation(&json!(att), "https://app.localhost", &ch, "localhost").unwrap();
        assert_eq!(b64url_decode(&id).unwrap(), b"cred-1");
        let other = random_challenge();
        assert!(
            check_attestation(&json!(att), "https://app.localhost", &other, "localhost").is_err()
        );
        assert!(check_attestation(&json!(att), "https://evil.com", &ch, "localhost").is_err());
        let opts: Value = serde_json::from_str(&creation_options(
            &ch,
            "localhost",
            "PingOne",
            "u",
            "alice",
            "alice",
            None,
        ))
        .unwrap();
        assert_eq!(bytes_from_signed(&opts["challenge"]).unwrap(), ch);
    }
}
