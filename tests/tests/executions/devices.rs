//! TOTP, FIDO2 (PLATFORM, SECURITY_KEY) and MOBILE (pairing) enrollment.
