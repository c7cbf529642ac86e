//! MFA devices: `/v1/environments/{envId}/users/{userId}/devices...`.
//!
//! Create, read, list (with SCIM filter and `expand=order`), delete,
//! nickname, activation (OTP, TOTP, OATH, FIDO2 attestation), resending the
//! pairing OTP, and device order (set / remove).
//!
//! The module is split by responsibility, so that each concern can be read
//! and changed without wading through the others:
//!
//! * `model`: the device, its type and status, and its management-API JSON.
//! * `validation`: the checks of the fields a device is created or renamed
//!   with (nickname, phone, email, extension) and the PLATFORM device's
//!   platform.
//! * `create`: creating a device (`POST .../devices` with application/json).
//! * `pairing_otp`: the pairing OTP of SMS, VOICE and EMAIL devices, issued
//!   at creation and on resend.
//! * `activate`: activation with an OTP (pairing OTP, TOTP, OATH token,
//!   YubiKey) or a FIDO2 attestation.
//! * `order`: the user's device order, as it is listed and as it is set or
//!   removed.
//! * `list`: the body of the device list (filter and `expand=order`).
//! * `handlers`: the axum handlers, which dispatch on the media type and call
//!   the parts above.
//!
//! Every public item is re-exported here, so that paths such as
//! `crate::devices::Device` do not depend on how the module is split.

mod activate;
mod create;
mod handlers;
mod list;
mod model;
mod order;
mod pairing_otp;
mod validation;

pub use activate::invalid_otp;
pub use handlers::{
    delete_device, delete_devices, list_devices, post_device, post_devices, read_device,
    update_nickname,
};
pub use model::{new_device_id, Device, DeviceStatus, DeviceType, PendingOtp};
pub use order::{append_to_order, ordered_devices};
pub use pairing_otp::issue_pairing_otp;
pub use validation::{platform_from_user_agent, valid_email, valid_phone, NICKNAME_MAX};
