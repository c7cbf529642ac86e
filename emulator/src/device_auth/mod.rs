//! Device authentications (auth host): `POST /{envId}/deviceAuthentications`,
//! `GET|POST /{envId}/deviceAuthentications/{id}` (reference §3.11–3.16, §4).
//!
//! States: `DEVICE_SELECTION_REQUIRED`, `OTP_REQUIRED`, `ASSERTION_REQUIRED`,
//! `PUSH_CONFIRMATION_REQUIRED`, `PUSH_CONFIRMATION_TIMED_OUT`, `COMPLETED`,
//! `FAILED`. Actions are dispatched on the Content-Type of the POST.
//!
//! Emulator choices where the reference says inferred / unverified:
//! * Create answers **201**, also when the authentication is born `FAILED`
//!   (`NO_USABLE_DEVICES`).
//! * An unknown `user.id` is 400 INVALID_DATA / INVALID_VALUE on `user.id`.
//! * Usable devices: the user's ACTIVE devices that are not locked and whose
//!   type the policy enables. Locked ones are listed in
//!   `error.unavailableDevices` (only when there are some).
//! * Default device (`authentication.deviceSelection` = DEFAULT_TO_FIRST):
//!   the first *usable* device of the user's order, if the user has an order.
//! * `authenticators` on COMPLETED lists the method used, AMR-like: `sms`,
//!   `voice`, `email`, `otp` (TOTP / OATH_TOKEN), `fido`, `push`.
//! * After the policy's `<method>.otp.failure.count` wrong OTPs the
//!   authentication becomes FAILED with `error.code = TOO_MANY_ATTEMPTS` and
//!   a stored device gets `lock{status: LOCKED, reason: OTP, expiresAt}` for
//!   the policy's `otp.failure.coolDown`; the last wrong try still answers
//!   400 INVALID_OTP (`remainingAttempts: 0`).
//! * A denied push is FAILED with `error.code = PUSH_DENIED`.
//! * Device authentications live [`LIFETIME_MS`] (10 min, emulator clock);
//!   afterwards they are purged and every call answers 404 NOT_FOUND.
//! * Wrong state for an action: 400 REQUEST_FAILED, detail INVALID_VALUE on
//!   `status`.
//! * Selecting a locked device: 400 INVALID_DATA / INVALID_VALUE on
//!   `device.id` (the authentication keeps its state).
//! * An `otp` given at creation is checked against the user's usable TOTP and
//!   OATH_TOKEN devices (or the `selectedDevice.id`): success creates a
//!   COMPLETED authentication (`authenticators: ["otp"]`); failure answers
//!   400 INVALID_OTP and creates nothing. An OATH_TOKEN device takes the
//!   codes of its token (HOTP look-ahead or TOTP window, see `oath`); an
//!   accepted code moves the token on, so it cannot be used again.
//! * Wrong assertions answer 400 INVALID_DATA with the detail codes listed
//!   on [`fido::assertion_error`](crate::fido::assertion_error); the state
//!   stays ASSERTION_REQUIRED.
//! * `compatibility`: `FULL`, `SECURITY_KEY_ONLY` or `NONE`; `NONE` refuses
//!   FIDO devices, `SECURITY_KEY_ONLY` refuses PLATFORM devices.
//! * cancel `reason` must be SIGNOUT, CHANGE_DEVICE, ADD_DEVICE or DEFAULT
//!   (the connector maps other values to DEFAULT before sending).
//! * `clientContext`, `mobilePayload`, `userAgent` and `notification` are
//!   accepted and stored, not echoed; push notifications are not put in the
//!   outbox (only OTPs are).
//!
//! The module is split by responsibility, so that each step of the flow can
//! be read on its own:
//!
//! * `model`: the device authentication, its status, the transitions every
//!   action shares (complete, fail) and its storage (lifetime, look-up).
//! * `json`: the JSON of a device authentication and of the masked devices
//!   it embeds.
//! * `create`: creating a device authentication, including the OTP checked
//!   at creation and the one-time device.
//! * `select`: which devices are usable, selecting one and entering its
//!   state.
//! * `otp`: sending OTPs and checking them (sent OTPs, TOTP, OATH tokens,
//!   YubiKeys).
//! * `assertion`: FIDO2 assertions and the WebAuthn `compatibility`.
//! * `push`: the mobile app's answer to a push, and cancelling.
//! * `handlers`: the axum handlers and the media types they dispatch on.
//!
//! Every public item is re-exported here, so that paths such as
//! `crate::device_auth::DeviceAuth` do not depend on how the module is
//! split.

mod assertion;
mod create;
mod handlers;
mod json;
mod model;
mod otp;
mod push;
mod select;

pub use handlers::{
    action_handler, create_handler, read_handler, ASSERTION_CHECK, CANCEL_PUSH, DEVICE_SELECT,
    OTP_CHECK,
};
pub use json::{mask_email, mask_phone, masked_device};
pub use model::{DaStatus, DeviceAuth, Selected, LIFETIME_MS};
pub use push::push;
