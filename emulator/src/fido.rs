//! FIDO2 / WebAuthn: `publicKeyCredentialCreationOptions`, the attestation
//! check done at activation (real: CBOR attestation object, COSE key, packed
//! self-attestation signatures), `publicKeyCredentialRequestOptions` and the
//! assertion check done by device authentications (ES256 signatures, RP ID
//! hash, flags, signature counter).

use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::cbor::{self, Cbor};
use crate::error::{ApiError, ApiResult, Detail};

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

pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
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

/// A credential registered by a verified attestation.
#[derive(Clone, Debug)]
pub struct RegisteredCredential {
    /// The credential ID (raw bytes).
    pub id: Vec<u8>,
    /// The credential public key, SEC1 uncompressed (65 bytes, P-256).
    pub public_key: Vec<u8>,
    /// The authenticator's signature counter at registration.
    pub sign_count: u32,
    pub aaguid: [u8; 16],
    /// The attestation format (`none` or `packed`).
    pub fmt: String,
}

/// authenticatorData flags.
pub const FLAG_UP: u8 = 0x01;
pub const FLAG_UV: u8 = 0x04;
pub const FLAG_AT: u8 = 0x40;
pub const FLAG_ED: u8 = 0x80;

/// 400 INVALID_DATA with detail `INVALID_VALUE` on `attestation`. PingOne's
/// canonical 400 detail codes (the platform OpenAPI document's
/// `Bad_Request_Error_Detail_Code`) have no attestation-specific code; the
/// message says what is wrong.
fn bad_attestation(msg: impl Into<String>) -> ApiError {
    ApiError::invalid_value("attestation", msg)
}

/// Parses the `attestation` / `assertion` request field: a JSON string (what
/// PingOne documents: the stringified credential) or, leniently, an object.
fn credential_json(v: &Value, target: &str) -> ApiResult<Value> {
    match v {
        Value::String(s) => serde_json::from_str(s)
            .map_err(|e| bad(target, format!("{target} is not valid JSON: {e}"))),
        Value::Object(_) => Ok(v.clone()),
        _ => Err(bad(target, format!("{target} must be a JSON string"))),
    }
}

/// Checks a registration response for real and returns the credential.
///
/// Verified: the credential JSON shape, `type == "public-key"`,
/// clientDataJSON (`type == "webauthn.create"`, the challenge, the origin:
/// equal to the request `origin`, whose host is the RP ID or a subdomain of
/// it), then the CBOR attestation object `{fmt, attStmt, authData}`:
/// rpIdHash = SHA-256(RP ID), the UP and AT flags, the attested credential
/// data (aaguid, credentialId equal to `rawId`, a COSE_Key EC2 / P-256 /
/// alg -7) and the attestation statement:
/// * `none`: `attStmt` must be empty;
/// * `packed` self attestation: `attStmt {alg: -7, sig}` with `sig` an ES256
///   signature over authData ‖ SHA-256(clientDataJSON) by the credential
///   key. `packed` with `x5c` (full attestation with a certificate chain) is
///   not supported by the emulator and is refused (400).
///
/// Any other format is refused. Every problem answers 400 INVALID_DATA /
/// INVALID_VALUE, on target `origin` for a wrong origin and `attestation`
/// otherwise.
pub fn check_attestation(
    attestation: &Value,
    origin: &str,
    expected_challenge: &[u8],
    rp_id: &str,
) -> ApiResult<RegisteredCredential> {
    let cred = credential_json(attestation, "attestation")?;
    if cred["type"].as_str() != Some("public-key") {
        return Err(bad("attestation", "attestation.type must be public-key"));
    }
    let cred_id = cred["rawId"]
        .as_str()
        .or_else(|| cred["id"].as_str())
        .and_then(b64url_decode)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| bad("attestation", "attestation.rawId must be base64url"))?;
    let response = &cred["response"];
    let client_data_raw = response["clientDataJSON"]
        .as_str()
        .and_then(b64url_decode)
        .ok_or_else(|| bad("attestation", "response.clientDataJSON must be base64url"))?;
    let att_obj = response["attestationObject"]
        .as_str()
        .and_then(b64url_decode)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            bad(
                "attestation",
                "response.attestationObject must be base64url",
            )
        })?;
    let client_data: Value = serde_json::from_slice(&client_data_raw)
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
    check_origin(&client_data, origin, rp_id).map_err(|m| bad("origin", m))?;

    // The attestation object.
    let obj = cbor::decode_all(&att_obj)
        .map_err(|e| bad_attestation(format!("attestationObject is not valid CBOR: {e}")))?;
    let fmt = obj
        .get_text("fmt")
        .and_then(Cbor::as_text)
        .ok_or_else(|| bad_attestation("attestationObject.fmt is missing"))?
        .to_string();
    let att_stmt = obj
        .get_text("attStmt")
        .and_then(Cbor::as_map)
        .ok_or_else(|| bad_attestation("attestationObject.attStmt must be a map"))?;
    let auth_data = obj
        .get_text("authData")
        .and_then(Cbor::as_bytes)
        .ok_or_else(|| bad_attestation("attestationObject.authData must be a byte string"))?;
    let parsed = parse_auth_data(auth_data, rp_id).map_err(bad_attestation)?;
    let Some(att) = parsed.attested else {
        return Err(bad_attestation(
            "authData has no attested credential data (AT flag not set)",
        ));
    };
    if att.credential_id != cred_id {
        return Err(bad_attestation(
            "the credential ID in authData does not match rawId",
        ));
    }
    match fmt.as_str() {
        "none" => {
            if !att_stmt.is_empty() {
                return Err(bad_attestation("attStmt must be empty for fmt none"));
            }
        }
        "packed" => {
            if obj
                .get_text("attStmt")
                .and_then(|s| s.get_text("x5c"))
                .is_some()
            {
                // Full (certificate-based) packed attestation is not supported.
                return Err(bad_attestation(
                    "packed attestation with x5c is not supported by the emulator; use self attestation",
                ));
            }
            let stmt = obj.get_text("attStmt").expect("checked above");
            if stmt.get_text("alg").and_then(Cbor::as_int) != Some(-7) {
                return Err(bad_attestation("attStmt.alg must be -7 (ES256)"));
            }
            let sig = stmt
                .get_text("sig")
                .and_then(Cbor::as_bytes)
                .ok_or_else(|| bad_attestation("attStmt.sig is missing"))?;
            if !es256_verify(&att.public_key, auth_data, &client_data_raw, sig) {
                return Err(bad_attestation("attStmt.sig is not a valid signature"));
            }
        }
        other => {
            return Err(bad_attestation(format!(
                "unsupported attestation format: {other} (none and packed self attestation are supported)"
            )))
        }
    }
    Ok(RegisteredCredential {
        id: cred_id,
        public_key: att.public_key,
        sign_count: parsed.sign_count,
        aaguid: att.aaguid,
        fmt,
    })
}

/// clientData `origin` equals the request origin, and the host is the RP ID
/// or a subdomain of it.
fn check_origin(client_data: &Value, origin: &str, rp_id: &str) -> Result<(), String> {
    if let Some(cd_origin) = client_data["origin"].as_str() {
        if cd_origin.trim_end_matches('/') != origin.trim_end_matches('/') {
            return Err("origin does not match clientDataJSON.origin".into());
        }
    } else {
        return Err("clientDataJSON.origin is missing".into());
    }
    let host = origin_host(origin).ok_or("origin is not a valid origin")?;
    if !host_matches_rp(&host, rp_id) {
        return Err(format!(
            "origin host {host} is not the RP ID {rp_id} or a subdomain of it"
        ));
    }
    Ok(())
}

pub struct AttestedCredential {
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    /// SEC1 uncompressed P-256 point.
    pub public_key: Vec<u8>,
}

pub struct AuthData {
    pub flags: u8,
    pub sign_count: u32,
    pub attested: Option<AttestedCredential>,
}

/// Parses authenticatorData and checks the RP ID hash and the UP flag.
pub fn parse_auth_data(a: &[u8], rp_id: &str) -> Result<AuthData, String> {
    if a.len() < 37 {
        return Err("authData is shorter than 37 bytes".into());
    }
    if a[..32] != Sha256::digest(rp_id.as_bytes())[..] {
        return Err(format!(
            "authData rpIdHash is not SHA-256 of the RP ID {rp_id}"
        ));
    }
    let flags = a[32];
    if flags & FLAG_UP == 0 {
        return Err("authData: the user-present (UP) flag is not set".into());
    }
    let sign_count = u32::from_be_bytes(a[33..37].try_into().unwrap());
    let mut attested = None;
    let mut rest = &a[37..];
    if flags & FLAG_AT != 0 {
        if rest.len() < 18 {
            return Err("authData: attested credential data is truncated".into());
        }
        let mut aaguid = [0u8; 16];
        aaguid.copy_from_slice(&rest[..16]);
        let n = u16::from_be_bytes([rest[16], rest[17]]) as usize;
        rest = &rest[18..];
        if rest.len() < n || n == 0 {
            return Err("authData: the credential ID is truncated".into());
        }
        let credential_id = rest[..n].to_vec();
        rest = &rest[n..];
        let (key, used) = cbor::decode(rest).map_err(|e| format!("COSE key: {e}"))?;
        rest = &rest[used..];
        let public_key = cose_es256_key(&key)?;
        attested = Some(AttestedCredential {
            aaguid,
            credential_id,
            public_key,
        });
    }
    if flags & FLAG_ED != 0 {
        let (_, used) = cbor::decode(rest).map_err(|e| format!("extensions: {e}"))?;
        rest = &rest[used..];
    }
    if !rest.is_empty() {
        return Err("authData has trailing bytes".into());
    }
    Ok(AuthData {
        flags,
        sign_count,
        attested,
    })
}

/// A COSE_Key EC2 / P-256 / ES256 → SEC1 uncompressed point (validated).
fn cose_es256_key(k: &Cbor) -> Result<Vec<u8>, String> {
    if k.get_int(1).and_then(Cbor::as_int) != Some(2) {
        return Err("COSE key: kty must be 2 (EC2)".into());
    }
    if k.get_int(3).and_then(Cbor::as_int) != Some(-7) {
        return Err("COSE key: alg must be -7 (ES256)".into());
    }
    if k.get_int(-1).and_then(Cbor::as_int) != Some(1) {
        return Err("COSE key: crv must be 1 (P-256)".into());
    }
    let x = k
        .get_int(-2)
        .and_then(Cbor::as_bytes)
        .filter(|b| b.len() == 32);
    let y = k
        .get_int(-3)
        .and_then(Cbor::as_bytes)
        .filter(|b| b.len() == 32);
    let (Some(x), Some(y)) = (x, y) else {
        return Err("COSE key: x and y must be 32-byte strings".into());
    };
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(0x04);
    sec1.extend_from_slice(x);
    sec1.extend_from_slice(y);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| "COSE key: not a P-256 point")?;
    Ok(sec1)
}

/// ES256 (ECDSA P-256 SHA-256, DER signature) over
/// `auth_data ‖ SHA-256(client_data)`.
pub fn es256_verify(public_key: &[u8], auth_data: &[u8], client_data: &[u8], sig: &[u8]) -> bool {
    let Ok(vk) = VerifyingKey::from_sec1_bytes(public_key) else {
        return false;
    };
    let Ok(sig) = Signature::from_der(sig) else {
        return false;
    };
    let mut msg = auth_data.to_vec();
    msg.extend_from_slice(&Sha256::digest(client_data));
    vk.verify(&msg, &sig).is_ok()
}

/// The `publicKeyCredentialRequestOptions` JSON string of an assertion:
/// byte arrays as signed bytes; no `allowCredentials` for usernameless.
pub fn request_options(challenge: &[u8], rp_id: &str, allow: &[Vec<u8>]) -> String {
    let mut o = json!({
        "challenge": signed_bytes(challenge),
        "timeout": CREATION_TIMEOUT_MS,
        "rpId": rp_id,
        "userVerification": "preferred"
    });
    if !allow.is_empty() {
        o["allowCredentials"] = Value::Array(
            allow
                .iter()
                .map(|id| json!({"type": "public-key", "id": signed_bytes(id)}))
                .collect(),
        );
    }
    o.to_string()
}

/// A decoded `assertion` (the stringified `navigator.credentials.get()`
/// result), not yet verified.
pub struct Assertion {
    pub credential_id: Vec<u8>,
    pub client_data: Vec<u8>,
    pub auth_data: Vec<u8>,
    pub signature: Vec<u8>,
    pub user_handle: Option<Vec<u8>>,
}

/// 400 INVALID_DATA with an assertion detail code on `target`.
///
/// Detail codes (emulator choice, PingOne's are unverified):
/// `INVALID_ASSERTION` (malformed), `INVALID_CREDENTIAL` (unknown or not
/// allowed credential), `INVALID_CLIENT_DATA` (clientData type),
/// `INVALID_CHALLENGE`, `INVALID_ORIGIN`, `INVALID_RP_ID` (authData RP ID
/// hash), `USER_NOT_PRESENT`, `INVALID_SIGNATURE`, `INVALID_SIGN_COUNT`
/// (counter not increasing: a cloned authenticator or a replay),
/// `INVALID_USER_HANDLE`.
pub fn assertion_error(code: &'static str, target: &str, msg: impl Into<String>) -> ApiError {
    ApiError::invalid_data(Detail::new(code, Some(target), msg))
}

pub fn parse_assertion(v: &Value) -> ApiResult<Assertion> {
    let a = credential_json(v, "assertion")?;
    let malformed = |m: &str| assertion_error("INVALID_ASSERTION", "assertion", m);
    if a["type"].as_str() != Some("public-key") {
        return Err(malformed("assertion.type must be public-key"));
    }
    let credential_id = a["rawId"]
        .as_str()
        .or_else(|| a["id"].as_str())
        .and_then(b64url_decode)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| malformed("assertion.rawId must be base64url"))?;
    let r = &a["response"];
    let field = |name: &str| {
        r[name]
            .as_str()
            .and_then(b64url_decode)
            .ok_or_else(|| malformed(&format!("response.{name} must be base64url")))
    };
    let client_data = field("clientDataJSON")?;
    let auth_data = field("authenticatorData")?;
    let signature = field("signature")?;
    let user_handle = match &r["userHandle"] {
        Value::String(s) if !s.is_empty() => Some(
            b64url_decode(s).ok_or_else(|| malformed("response.userHandle must be base64url"))?,
        ),
        _ => None,
    };
    Ok(Assertion {
        credential_id,
        client_data,
        auth_data,
        signature,
        user_handle,
    })
}

/// Verifies an assertion against the issued challenge, the RP ID and the
/// credential's stored key and counter; returns the new signature counter.
///
/// The counter must be strictly greater than the stored one unless both are
/// 0 (authenticators without a counter).
pub fn verify_assertion(
    a: &Assertion,
    origin: &str,
    challenge: &[u8],
    rp_id: &str,
    public_key: &[u8],
    stored_count: u32,
    expected_user_handle: Option<&[u8]>,
) -> ApiResult<u32> {
    let cd: Value = serde_json::from_slice(&a.client_data).map_err(|_| {
        assertion_error(
            "INVALID_CLIENT_DATA",
            "assertion",
            "clientDataJSON is not valid JSON",
        )
    })?;
    if cd["type"].as_str() != Some("webauthn.get") {
        return Err(assertion_error(
            "INVALID_CLIENT_DATA",
            "assertion",
            "clientDataJSON.type must be webauthn.get",
        ));
    }
    let got = cd["challenge"].as_str().and_then(b64url_decode);
    if got.as_deref() != Some(challenge) {
        return Err(assertion_error(
            "INVALID_CHALLENGE",
            "assertion",
            "clientDataJSON.challenge does not match the issued challenge",
        ));
    }
    check_origin(&cd, origin, rp_id).map_err(|m| assertion_error("INVALID_ORIGIN", "origin", m))?;
    let parsed = parse_auth_data(&a.auth_data, rp_id).map_err(|m| {
        let code = if m.contains("rpIdHash") {
            "INVALID_RP_ID"
        } else if m.contains("UP") {
            "USER_NOT_PRESENT"
        } else {
            "INVALID_ASSERTION"
        };
        assertion_error(code, "assertion", m)
    })?;
    if !es256_verify(public_key, &a.auth_data, &a.client_data, &a.signature) {
        return Err(assertion_error(
            "INVALID_SIGNATURE",
            "assertion",
            "The assertion signature is not valid for the credential's public key",
        ));
    }
    if (parsed.sign_count != 0 || stored_count != 0) && parsed.sign_count <= stored_count {
        return Err(assertion_error(
            "INVALID_SIGN_COUNT",
            "assertion",
            format!(
                "The signature counter {} is not greater than the stored counter {stored_count}",
                parsed.sign_count
            ),
        ));
    }
    if let (Some(got), Some(want)) = (&a.user_handle, expected_user_handle) {
        if got.as_slice() != want {
            return Err(assertion_error(
                "INVALID_USER_HANDLE",
                "assertion",
                "userHandle does not match the credential's user",
            ));
        }
    }
    Ok(parsed.sign_count)
}

/// Builds a registration response (`fmt: none`) that passes
/// [`check_attestation`] when the RP ID is the origin's host; kept for
/// callers without a [`crate::authenticator::SoftAuthenticator`]. The key is
/// derived from `credential_id`. Prefer `SoftAuthenticator::create`, which
/// reads the creation options (RP ID, user handle) and can also answer
/// assertions.
pub fn synthetic_attestation(challenge: &[u8], origin: &str, credential_id: &[u8]) -> String {
    let rp_id = origin_host(origin).unwrap_or_else(|| DEFAULT_RP_ID.to_string());
    let opts = creation_options(
        challenge,
        &rp_id,
        DEFAULT_RP_NAME,
        "user",
        "user",
        "user",
        None,
    );
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&Sha256::digest(credential_id)[..8]);
    let mut a = crate::authenticator::SoftAuthenticator::new(u64::from_be_bytes(seed));
    a.set_next_credential_id(credential_id.to_vec());
    a.create(&opts, origin, crate::authenticator::AttestationFormat::None)
        .unwrap_or_default()
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
        let att = synthetic_attestation(&ch, "http://localhost:3000", b"cred-1");
        let c = check_attestation(&json!(att), "http://localhost:3000", &ch, "localhost").unwrap();
        assert_eq!(c.id, b"cred-1");
        assert_eq!(c.public_key.len(), 65);
        assert_eq!(c.fmt, "none");
        let other = random_challenge();
        assert!(
            check_attestation(&json!(att), "http://localhost:3000", &other, "localhost").is_err()
        );
        assert!(check_attestation(&json!(att), "https://evil.com", &ch, "localhost").is_err());
        // Right origin but another RP ID: the rpIdHash check fails.
        let e = check_attestation(&json!(att), "http://localhost:3000", &ch, "example.com");
        assert!(e.is_err());
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
