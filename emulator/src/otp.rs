//! One-time passwords: random pairing OTPs, RFC 4226 HOTP, RFC 6238 TOTP
//! and the shape of YubiKey OTPs.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha1::Sha1;

/// The fixed OTP of test-mode devices.
pub const TEST_MODE_OTP: &str = "123456";

/// A random 6-digit OTP.
pub fn random_otp() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}

/// 20 random bytes for a TOTP secret.
pub fn random_secret() -> Vec<u8> {
    let mut b = vec![0u8; 20];
    rand::thread_rng().fill(&mut b[..]);
    b
}

/// RFC 4648 base32 without padding (what authenticator apps expect).
pub fn base32(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(bytes)
}

/// Decodes base32 (case-insensitive, padding optional).
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let clean: String = s
        .chars()
        .filter(|c| *c != '=' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD.decode(clean.as_bytes()).ok()
}

/// RFC 4226 HOTP with HMAC-SHA-1, 6 digits.
pub fn hotp(secret: &[u8], counter: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = ((h[off] as u32 & 0x7f) << 24)
        | ((h[off + 1] as u32) << 16)
        | ((h[off + 2] as u32) << 8)
        | (h[off + 3] as u32);
    format!("{:06}", bin % 1_000_000)
}

/// The first counter in `from..=from + look_ahead` whose HOTP code is
/// `code` (RFC 4226 §7.4: the server looks a few counter values ahead
/// because a token's counter moves on each button press, accepted or not).
pub fn hotp_find(secret: &[u8], from: u64, look_ahead: u64, code: &str) -> Option<u64> {
    (from..=from.saturating_add(look_ahead)).find(|c| constant_eq(&hotp(secret, *c), code))
}

/// The RFC 6238 time step (30 s) that `unix_ms` falls in.
pub fn totp_step(unix_ms: i64) -> i64 {
    unix_ms.max(0) / 1000 / 30
}

/// RFC 6238 TOTP (SHA-1, 30 s step, 6 digits) at `unix_ms`.
pub fn totp(secret: &[u8], unix_ms: i64) -> String {
    hotp(secret, totp_step(unix_ms) as u64)
}

/// Checks a TOTP code, accepting one step of drift either way.
pub fn totp_matches(secret: &[u8], unix_ms: i64, code: &str) -> bool {
    totp_find(secret, unix_ms, code).is_some()
}

/// The time step (now, one before or one after) whose TOTP code is `code`.
pub fn totp_find(secret: &[u8], unix_ms: i64, code: &str) -> Option<i64> {
    let step = totp_step(unix_ms);
    (step - 1..=step + 1).find(|s| *s >= 0 && constant_eq(&hotp(secret, *s as u64), code))
}

/// The modhex alphabet of YubiKey OTPs: hex digits 0-f written with
/// keyboard-layout-independent letters.
pub const MODHEX: &str = "cbdefghijklnrtuv";
/// A YubiKey (Yubico OTP) OTP: 12 characters of public ID, then 32 of the
/// AES-encrypted token.
pub const YUBIKEY_OTP_LEN: usize = 44;
/// Length of a YubiKey's public ID.
pub const YUBIKEY_PUBLIC_ID_LEN: usize = 12;

/// Whether `s` is shaped like a YubiKey OTP: 44 modhex characters
/// (lower-case). The encrypted part is not decrypted: the emulator does not
/// model the keys' AES secrets.
pub fn is_yubikey_otp(s: &str) -> bool {
    s.len() == YUBIKEY_OTP_LEN && s.chars().all(|c| MODHEX.contains(c))
}

/// The public ID (first 12 characters) of a YubiKey OTP.
pub fn yubikey_public_id(s: &str) -> Option<&str> {
    is_yubikey_otp(s).then(|| &s[..YUBIKEY_PUBLIC_ID_LEN])
}

/// Bytes as modhex (two characters per byte).
pub fn modhex(bytes: &[u8]) -> String {
    let alphabet = MODHEX.as_bytes();
    bytes
        .iter()
        .flat_map(|b| [alphabet[(b >> 4) as usize], alphabet[(b & 0x0f) as usize]])
        .map(char::from)
        .collect()
}

/// A well-formed YubiKey OTP for tests and demos: `public_id` (12 modhex
/// characters) followed by 32 characters derived from `counter`, so each
/// counter gives a different OTP of the same key.
pub fn yubikey_otp(public_id: &str, counter: u32) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(public_id.as_bytes()).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    format!("{public_id}{}", modhex(&digest[..16]))
}

/// Comparison whose time does not depend on where the strings differ.
pub fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vectors() {
        // RFC 6238 appendix B, SHA-1 seed, last 6 digits of the 8-digit values.
        let secret = b"12345678901234567890";
        assert_eq!(totp(secret, 59_000), "287082");
        assert_eq!(totp(secret, 1_111_111_109_000), "081804");
        assert_eq!(totp(secret, 1_234_567_890_000), "005924");
        assert_eq!(totp(secret, 2_000_000_000_000), "279037");
        assert_eq!(totp(secret, 20_000_000_000_000), "353130");
    }

    #[test]
    fn rfc4226_vectors() {
        // RFC 4226 appendix D: the HOTP values for counters 0 to 9.
        let secret = b"12345678901234567890";
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64), *code, "counter {counter}");
        }
        assert_eq!(hotp_find(secret, 0, 0, "755224"), Some(0));
        assert_eq!(hotp_find(secret, 2, 3, "338314"), Some(4));
        assert_eq!(hotp_find(secret, 2, 1, "338314"), None, "beyond the window");
        assert_eq!(
            hotp_find(secret, 1, 9, "755224"),
            None,
            "behind the counter"
        );
    }

    #[test]
    fn drift_window() {
        let secret = b"12345678901234567890";
        let now = 1_234_567_890_000;
        assert!(totp_matches(secret, now, &totp(secret, now - 30_000)));
        assert!(totp_matches(secret, now, &totp(secret, now + 30_000)));
        assert!(!totp_matches(secret, now, &totp(secret, now + 90_000)));
        let step = totp_step(now);
        assert_eq!(
            totp_find(secret, now, &totp(secret, now - 30_000)),
            Some(step - 1)
        );
        assert_eq!(totp_find(secret, now, &totp(secret, now)), Some(step));
    }

    #[test]
    fn yubikey_otps() {
        let a = yubikey_otp("cccccbdefghi", 1);
        let b = yubikey_otp("cccccbdefghi", 2);
        assert_eq!(a.len(), YUBIKEY_OTP_LEN);
        assert!(is_yubikey_otp(&a) && is_yubikey_otp(&b));
        assert_ne!(a, b);
        assert_eq!(yubikey_public_id(&a), Some("cccccbdefghi"));
        assert_eq!(modhex(&[0x01, 0xef]), "cbuv");
        assert!(!is_yubikey_otp(&a[..43]));
        assert!(!is_yubikey_otp(&a.to_uppercase()));
        assert!(
            !is_yubikey_otp(&format!("{}a", &a[..43])),
            "a is not modhex"
        );
        assert_eq!(yubikey_public_id("123456"), None);
    }

    #[test]
    fn base32_round_trip() {
        let s = random_secret();
        let e = base32(&s);
        assert_eq!(e.len(), 32);
        assert_eq!(base32_decode(&e.to_lowercase()).unwrap(), s);
    }
}
