//! A software WebAuthn authenticator for tests and demos without a browser.
//!
//! It reads PingOne's option strings (`publicKeyCredentialCreationOptions` /
//! `publicKeyCredentialRequestOptions`, byte arrays as signed Java bytes),
//! holds ES256 (P-256) credentials whose keys derive deterministically from
//! the seed, and answers with the JSON strings PingOne expects as
//! `attestation` (device activation) and `assertion` (assertion.check).
//!
//! ```ignore
//! let mut a = SoftAuthenticator::new(7);
//! let attestation = a.create(&creation_options, "https://login.example.com", AttestationFormat::None)?;
//! // POST .../devices/{id} (device.activate+json) {"origin", "attestation": attestation}
//! let assertion = a.get(&request_options, "https://login.example.com")?;
//! // POST .../deviceAuthentications/{id} (assertion.check+json) {"origin", "assertion": assertion}
//! ```

use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::cbor::{self, Cbor};
use crate::fido::{bytes_from_signed, FLAG_AT, FLAG_UP, FLAG_UV};

/// The attestation statement format [`SoftAuthenticator::create`] produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttestationFormat {
    /// `fmt: "none"`, empty `attStmt`.
    None,
    /// `fmt: "packed"` self attestation: `attStmt {alg: -7, sig}` signed by
    /// the credential key itself (no certificate).
    PackedSelf,
}

/// The AAGUID the soft authenticator reports (all zeros, like most
/// authenticators answering `attestation: "none"`).
pub const AAGUID: [u8; 16] = [0; 16];

#[derive(Clone)]
struct Credential {
    id: Vec<u8>,
    key: SigningKey,
    rp_id: String,
    user_handle: Vec<u8>,
    counter: u32,
}

/// A software authenticator. `Clone` copies the credentials *and* their
/// counters, which is how tests model a cloned authenticator (its next
/// assertion repeats a counter the server has already seen).
#[derive(Clone)]
pub struct SoftAuthenticator {
    seed: u64,
    created: u64,
    credentials: Vec<Credential>,
    next_id: Option<Vec<u8>>,
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn signed_field(v: &Value, name: &str) -> Result<Vec<u8>, String> {
    bytes_from_signed(v).ok_or_else(|| format!("{name} must be an array of (signed) bytes"))
}

impl SoftAuthenticator {
    /// An authenticator whose keys and credential IDs derive from `seed`.
    pub fn new(seed: u64) -> Self {
        SoftAuthenticator {
            seed,
            created: 0,
            credentials: Vec::new(),
            next_id: None,
        }
    }

    /// Uses `id` as the credential ID of the next [`create`](Self::create)
    /// (instead of a derived 32-byte ID).
    pub fn set_next_credential_id(&mut self, id: Vec<u8>) {
        self.next_id = Some(id);
    }

    /// The IDs of the credentials created so far (raw bytes), oldest first.
    pub fn credential_ids(&self) -> Vec<Vec<u8>> {
        self.credentials.iter().map(|c| c.id.clone()).collect()
    }

    fn derive(&self, label: &str, n: u64) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"pingone-emulator:soft-authenticator:");
        h.update(label.as_bytes());
        h.update(self.seed.to_be_bytes());
        h.update(n.to_be_bytes());
        h.finalize().into()
    }

    /// Registers a new credential for the options (a
    /// `publicKeyCredentialCreationOptions` JSON string) and returns the
    /// registration response JSON string (`{"id","rawId","type",
    /// "response":{"clientDataJSON","attestationObject"}}`, base64url).
    pub fn create(
        &mut self,
        creation_options_json: &str,
        origin: &str,
        fmt: AttestationFormat,
    ) -> Result<String, String> {
        let o: Value = serde_json::from_str(creation_options_json)
            .map_err(|e| format!("creation options are not JSON: {e}"))?;
        let challenge = signed_field(&o["challenge"], "challenge")?;
        let user_handle = signed_field(&o["user"]["id"], "user.id")?;
        let rp_id = o["rp"]["id"]
            .as_str()
            .map(str::to_string)
            .or_else(|| crate::fido::origin_host(origin))
            .ok_or("rp.id is missing and the origin has no host")?;
        let es256 = o["pubKeyCredParams"]
            .as_array()
            .is_none_or(|a| a.iter().any(|p| p["alg"].as_i64() == Some(-7)));
        if !es256 {
            return Err("pubKeyCredParams does not allow ES256 (-7)".into());
        }

        let n = self.created;
        let mut i = 0u64;
        let key = loop {
            let bytes = self.derive(&format!("key:{i}"), n);
            if let Ok(k) = SigningKey::from_slice(&bytes) {
                break k;
            }
            i += 1;
        };
        let id = self
            .next_id
            .take()
            .unwrap_or_else(|| self.derive("credential-id", n).to_vec());
        self.created += 1;

        let point = key.verifying_key().to_encoded_point(false);
        let cose = Cbor::Map(vec![
            (Cbor::Int(1), Cbor::Int(2)),
            (Cbor::Int(3), Cbor::Int(-7)),
            (Cbor::Int(-1), Cbor::Int(1)),
            (
                Cbor::Int(-2),
                Cbor::Bytes(point.x().expect("uncompressed").to_vec()),
            ),
            (
                Cbor::Int(-3),
                Cbor::Bytes(point.y().expect("uncompressed").to_vec()),
            ),
        ]);
        let counter = 0u32;
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(FLAG_UP | FLAG_UV | FLAG_AT);
        auth_data.extend_from_slice(&counter.to_be_bytes());
        auth_data.extend_from_slice(&AAGUID);
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cbor::encode(&cose));

        let client_data = json!({
            "type": "webauthn.create",
            "challenge": b64(&challenge),
            "origin": origin,
            "crossOrigin": false
        })
        .to_string();

        let (fmt_name, att_stmt) = match fmt {
            AttestationFormat::None => ("none", Cbor::Map(Vec::new())),
            AttestationFormat::PackedSelf => {
                let mut msg = auth_data.clone();
                msg.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
                let sig: Signature = key.sign(&msg);
                (
                    "packed",
                    Cbor::Map(vec![
                        (Cbor::Text("alg".into()), Cbor::Int(-7)),
                        (
                            Cbor::Text("sig".into()),
                            Cbor::Bytes(sig.to_der().as_bytes().to_vec()),
                        ),
                    ]),
                )
            }
        };
        let att_obj = cbor::encode(&Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text(fmt_name.into())),
            (Cbor::Text("attStmt".into()), att_stmt),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]));

        self.credentials.push(Credential {
            id: id.clone(),
            key,
            rp_id,
            user_handle,
            counter,
        });
        Ok(json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data.as_bytes()),
                "attestationObject": b64(&att_obj)
            },
            "clientExtensionResults": {}
        })
        .to_string())
    }

    /// Signs an assertion for the options (a
    /// `publicKeyCredentialRequestOptions` JSON string) and returns the
    /// assertion JSON string (`{"id","rawId","type","response":
    /// {"clientDataJSON","authenticatorData","signature","userHandle"}}`).
    ///
    /// Credentials are scoped to their RP ID. With `allowCredentials`, the
    /// first listed credential it holds for the RP ID is used;
    /// without (usernameless), its newest credential for the RP ID. Each call
    /// increments that credential's signature counter.
    pub fn get(&mut self, request_options_json: &str, origin: &str) -> Result<String, String> {
        let o: Value = serde_json::from_str(request_options_json)
            .map_err(|e| format!("request options are not JSON: {e}"))?;
        let challenge = signed_field(&o["challenge"], "challenge")?;
        let rp_id = o["rpId"]
            .as_str()
            .map(str::to_string)
            .or_else(|| crate::fido::origin_host(origin))
            .ok_or("rpId is missing and the origin has no host")?;
        let allow: Vec<Vec<u8>> = match o["allowCredentials"].as_array() {
            Some(a) => a
                .iter()
                .map(|c| signed_field(&c["id"], "allowCredentials[].id"))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let idx = if allow.is_empty() {
            self.credentials.iter().rposition(|c| c.rp_id == rp_id)
        } else {
            allow.iter().find_map(|id| {
                self.credentials
                    .iter()
                    .position(|c| &c.id == id && c.rp_id == rp_id)
            })
        }
        .ok_or_else(|| format!("no credential for RP ID {rp_id} matches the request"))?;
        let cred = &mut self.credentials[idx];
        cred.counter += 1;

        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(FLAG_UP | FLAG_UV);
        auth_data.extend_from_slice(&cred.counter.to_be_bytes());
        let client_data = json!({
            "type": "webauthn.get",
            "challenge": b64(&challenge),
            "origin": origin,
            "crossOrigin": false
        })
        .to_string();
        let mut msg = auth_data.clone();
        msg.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let sig: Signature = cred.key.sign(&msg);
        Ok(json!({
            "id": b64(&cred.id),
            "rawId": b64(&cred.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data.as_bytes()),
                "authenticatorData": b64(&auth_data),
                "signature": b64(sig.to_der().as_bytes()),
                "userHandle": b64(&cred.user_handle)
            },
            "clientExtensionResults": {}
        })
        .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fido;

    #[test]
    fn register_then_assert() {
        let ch = fido::random_challenge();
        let opts = fido::creation_options(&ch, "example.com", "Ex", "user-1", "u", "u", None);
        for fmt in [AttestationFormat::None, AttestationFormat::PackedSelf] {
            let mut a = SoftAuthenticator::new(42);
            let att = a.create(&opts, "https://login.example.com", fmt).unwrap();
            let c = fido::check_attestation(
                &json!(att),
                "https://login.example.com",
                &ch,
                "example.com",
            )
            .unwrap();
            assert_eq!(c.sign_count, 0);
            // Same seed, same key.
            let mut b = SoftAuthenticator::new(42);
            let att2 = b.create(&opts, "https://login.example.com", fmt).unwrap();
            let c2 = fido::check_attestation(
                &json!(att2),
                "https://login.example.com",
                &ch,
                "example.com",
            )
            .unwrap();
            assert_eq!(c.public_key, c2.public_key);

            let ch2 = fido::random_challenge();
            for allow in [vec![c.id.clone()], vec![]] {
                let ro = fido::request_options(&ch2, "example.com", &allow);
                let s = a.get(&ro, "https://example.com").unwrap();
                let parsed = fido::parse_assertion(&json!(s)).unwrap();
                assert_eq!(parsed.credential_id, c.id);
                assert_eq!(parsed.user_handle.as_deref(), Some(&b"user-1"[..]));
                let n = fido::verify_assertion(
                    &parsed,
                    "https://example.com",
                    &ch2,
                    "example.com",
                    &c.public_key,
                    0,
                    Some(b"user-1"),
                )
                .unwrap();
                assert!(n >= 1);
                // Another key does not verify.
                let other = fido::check_attestation(
                    &json!(SoftAuthenticator::new(1)
                        .create(&opts, "https://login.example.com", fmt)
                        .unwrap()),
                    "https://login.example.com",
                    &ch,
                    "example.com",
                )
                .unwrap();
                let e = fido::verify_assertion(
                    &parsed,
                    "https://example.com",
                    &ch2,
                    "example.com",
                    &other.public_key,
                    0,
                    None,
                )
                .unwrap_err();
                assert_eq!(e.details[0].code, "INVALID_SIGNATURE");
            }
        }
    }

    #[test]
    fn tampered_authenticator_data() {
        let ch = fido::random_challenge();
        let opts = fido::creation_options(&ch, "example.com", "Ex", "u", "u", "u", None);
        let mut a = SoftAuthenticator::new(3);
        let att = a
            .create(&opts, "https://example.com", AttestationFormat::None)
            .unwrap();
        let c = fido::check_attestation(&json!(att), "https://example.com", &ch, "example.com")
            .unwrap();
        let ro = fido::request_options(&ch, "example.com", std::slice::from_ref(&c.id));
        let s = a.get(&ro, "https://example.com").unwrap();
        let verify = |p: &fido::Assertion| {
            fido::verify_assertion(
                p,
                "https://example.com",
                &ch,
                "example.com",
                &c.public_key,
                0,
                None,
            )
            .map_err(|e| e.details[0].code)
        };
        let mut p = fido::parse_assertion(&json!(s)).unwrap();
        assert_eq!(verify(&p), Ok(1));
        p.auth_data[0] ^= 1;
        assert_eq!(verify(&p), Err("INVALID_RP_ID"));
        p.auth_data[0] ^= 1;
        p.auth_data[32] &= !fido::FLAG_UP;
        assert_eq!(verify(&p), Err("USER_NOT_PRESENT"));
        p.auth_data[32] |= fido::FLAG_UP | fido::FLAG_UV;
        p.auth_data[36] ^= 0x10; // counter changed: signature no longer valid
        assert_eq!(verify(&p), Err("INVALID_SIGNATURE"));
    }
}
