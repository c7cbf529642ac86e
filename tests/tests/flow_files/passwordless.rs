//! Usernameless sign-on with biometrics, Passwordless authentication, Passwordless sign-on with biometrics, QR code passwordless sign-on.
