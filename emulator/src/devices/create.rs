//! Creating a device: `POST .../users/{userId}/devices` with
//! application/json.
//!
//! Creation checks the request field by field (type, policy, status,
//! nickname, testMode, notification, then the type's own fields) in the
//! order the errors are reported, so it is one long function kept in a file
//! of its own.

use serde_json::{json, Map, Value};

use super::model::{new_device_id, Device, DeviceStatus, DeviceType};
use super::order::append_to_order;
use super::pairing_otp::{issue_pairing_otp, with_test_otp};
use super::validation::{
    check_nickname, platform_from_user_agent, valid_email, valid_extension, valid_phone,
};
use crate::body::{self, opt_str};
use crate::error::{ApiError, ApiResult, Detail};
use crate::state::{AppState, Store};
use crate::{fido, oath, otp, policies};

pub(super) fn create_device(
    state: &AppState,
    env_id: &str,
    user_id: &str,
    b: &Map<String, Value>,
) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut guard = state.lock();
    let store: &mut Store = &mut guard;
    let env = store
        .envs
        .get_mut(env_id)
        .ok_or_else(|| ApiError::environment_not_found(env_id))?;
    let user = env.user(user_id)?;
    let username = user.username.clone();

    // type
    let t = match b.get("type") {
        None | Some(Value::Null) => {
            return Err(ApiError::required_value("type", "type is required"))
        }
        Some(Value::String(s)) => DeviceType::parse(s).ok_or_else(|| {
            ApiError::invalid_data(
                Detail::new(
                    "INVALID_VALUE",
                    Some("type"),
                    format!("Unsupported device type: {s}"),
                )
                .inner(json!({"allowedValues": DeviceType::ALL
                        .iter()
                        .filter(|t| **t != DeviceType::Mobile)
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()})),
            )
        })?,
        Some(_) => return Err(ApiError::invalid_value("type", "type must be a string")),
    };
    if t == DeviceType::Mobile {
        return Err(ApiError::invalid_value(
            "type",
            "MOBILE devices cannot be created with this request; pair them with a pairing key",
        ));
    }

    // policy
    let policy = env.requested_policy(b)?;
    if !policies::type_allowed(&policy, t) {
        return Err(ApiError::invalid_value(
            "type",
            format!(
                "Device type {} is not allowed by the device authentication policy",
                t.as_str()
            ),
        ));
    }
    let policy_id = policy["id"].as_str().unwrap_or_default().to_string();

    // status
    // YUBIKEY (inferred, PingID): like TOTP, created ACTIVATION_REQUIRED and
    // activated with an OTP the key types.
    let requires_activation = matches!(t, DeviceType::Totp | DeviceType::Yubikey) || t.is_fido();
    let status = match opt_str(b, "status", "status")? {
        None => {
            if requires_activation {
                DeviceStatus::ActivationRequired
            } else {
                DeviceStatus::Active
            }
        }
        Some("ACTIVE") if requires_activation => {
            return Err(ApiError::invalid_value(
                "status",
                format!(
                    "A {} device must be created with status ACTIVATION_REQUIRED",
                    t.as_str()
                ),
            ))
        }
        Some("ACTIVE") => DeviceStatus::Active,
        Some("ACTIVATION_REQUIRED") => DeviceStatus::ActivationRequired,
        Some(other) => {
            return Err(ApiError::invalid_data(
                Detail::new(
                    "INVALID_VALUE",
                    Some("status"),
                    format!("Invalid status: {other}"),
                )
                .inner(json!({"allowedValues": ["ACTIVE", "ACTIVATION_REQUIRED"]})),
            ))
        }
    };

    // nickname
    let nickname = opt_str(b, "nickname", "nickname")?.map(str::to_string);
    if let Some(n) = &nickname {
        check_nickname(n)?;
    }

    // testMode
    let test_mode = match b.get("testMode") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(v)) => *v,
        Some(_) => {
            return Err(ApiError::invalid_value(
                "testMode",
                "testMode must be a boolean",
            ))
        }
    };

    // notification: SMS/VOICE/EMAIL only, ACTIVATION_REQUIRED only; never stored.
    match b.get("notification") {
        None | Some(Value::Null) => {}
        Some(Value::Object(n)) => {
            if !t.is_offline() {
                return Err(ApiError::invalid_value(
                    "notification",
                    "notification is supported only for SMS, VOICE and EMAIL devices",
                ));
            }
            if status != DeviceStatus::ActivationRequired {
                return Err(ApiError::invalid_value(
                    "notification",
                    "notification requires status ACTIVATION_REQUIRED",
                ));
            }
            if let Some(p) = n.get("policy") {
                if !(p.is_object() && p.get("id").is_none_or(Value::is_string)) {
                    return Err(ApiError::invalid_value(
                        "notification.policy.id",
                        "notification.policy.id must be a string",
                    ));
                }
            }
            if let Some(tpl) = n.get("template") {
                let ok = tpl.as_object().is_some_and(|tpl| {
                    tpl.get("variant").is_none_or(Value::is_string)
                        && tpl.get("locale").is_none_or(Value::is_string)
                        && tpl.get("variables").is_none_or(|v| {
                            v.as_object()
                                .is_some_and(|m| m.values().all(|x| x.is_string() || x.is_number()))
                        })
                });
                if !ok {
                    return Err(ApiError::invalid_value(
                        "notification.template",
                        "notification.template must be {variant, locale, variables}",
                    ));
                }
            }
        }
        Some(_) => {
            return Err(ApiError::invalid_value(
                "notification",
                "notification must be an object",
            ))
        }
    }

    let mut device = Device::new(new_device_id(), env_id, user_id, t, status, policy_id, now);
    device.nickname = nickname;
    device.test_mode = test_mode;

    // type-specific fields
    match t {
        DeviceType::Email => {
            let email = opt_str(b, "email", "email")?.ok_or_else(|| {
                ApiError::required_value("email", "email is required for EMAIL devices")
            })?;
            if !valid_email(email) {
                return Err(ApiError::invalid_value(
                    "email",
                    "email must be a valid email address",
                ));
            }
            device.email = Some(email.to_string());
        }
        DeviceType::Sms | DeviceType::Voice => {
            let phone = opt_str(b, "phone", "phone")?.ok_or_else(|| {
                ApiError::required_value("phone", "phone is required for SMS and VOICE devices")
            })?;
            if !valid_phone(phone) {
                return Err(ApiError::invalid_data(
                    Detail::new(
                        "INVALID_VALUE",
                        Some("phone"),
                        "phone must be a valid phone number: a leading +, the country code and the number",
                    )
                    .inner(json!({"allowedPattern": "^\\+[1-9][0-9 .\\-()]{4,30}$"})),
                ));
            }
            device.phone = Some(phone.to_string());
            if let Some(x) = opt_str(b, "extension", "extension")? {
                if t != DeviceType::Voice {
                    return Err(ApiError::invalid_value(
                        "extension",
                        "extension is supported only for VOICE devices",
                    ));
                }
                if !valid_extension(x) {
                    return Err(ApiError::invalid_value(
                        "extension",
                        "extension may contain only digits, commas, # and *",
                    ));
                }
                device.extension = Some(x.to_string());
            }
        }
        DeviceType::Totp => {
            let secret = otp::random_secret();
            device.key_uri = Some(format!(
                "otpauth://totp/PingOne:{}?secret={}&issuer=PingOne",
                body::percent_encode(&username),
                otp::base32(&secret)
            ));
            device.totp_secret = Some(secret);
        }
        DeviceType::OathToken => {
            device.serial_number = Some(oath::serial_for_new_device(&env.oath_tokens, b)?);
        }
        DeviceType::Fido2 | DeviceType::Platform | DeviceType::SecurityKey => {
            let (rp_id, rp_name) = match b.get("rp") {
                None | Some(Value::Null) => (
                    fido::DEFAULT_RP_ID.to_string(),
                    fido::DEFAULT_RP_NAME.to_string(),
                ),
                Some(Value::Object(rp)) => {
                    let id = match rp.get("id") {
                        None | Some(Value::Null) => fido::DEFAULT_RP_ID.to_string(),
                        Some(Value::String(s))
                            if !s.is_empty()
                                && !s.contains(['/', ':', ' '])
                                && s.to_ascii_lowercase() == *s =>
                        {
                            s.clone()
                        }
                        Some(_) => {
                            return Err(ApiError::invalid_value(
                                "rp.id",
                                "rp.id must be a lower-case domain name",
                            ))
                        }
                    };
                    let name = match rp.get("name") {
                        None | Some(Value::Null) => fido::DEFAULT_RP_NAME.to_string(),
                        Some(Value::String(s)) => s.clone(),
                        Some(_) => {
                            return Err(ApiError::invalid_value(
                                "rp.name",
                                "rp.name must be a string",
                            ))
                        }
                    };
                    (id, name)
                }
                Some(_) => return Err(ApiError::invalid_value("rp", "rp must be an object")),
            };
            let ua = opt_str(b, "userAgent", "userAgent")?;
            if t == DeviceType::Platform {
                device.platform = Some(platform_from_user_agent(ua).to_string());
            }
            let challenge = match opt_str(b, "challenge", "challenge")? {
                Some(c) => {
                    use base64::Engine;
                    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(c.trim_end_matches('='))
                        .ok()
                        .filter(|b| b.len() >= 32)
                        .ok_or_else(|| {
                            ApiError::invalid_value(
                                "challenge",
                                "challenge must be base64url of at least 32 bytes",
                            )
                        })?;
                    bytes
                }
                None => fido::random_challenge(),
            };
            let attachment = match t {
                DeviceType::Platform => Some("platform"),
                DeviceType::SecurityKey => Some("cross-platform"),
                _ => None,
            };
            device.creation_options = Some(fido::creation_options(
                &challenge, &rp_id, &rp_name, user_id, &username, &username, attachment,
            ));
            device.fido_challenge = Some(challenge);
            device.rp_id = Some(rp_id);
            device.rp_name = Some(rp_name);
        }
        // Nothing to give: the public ID comes with the activating OTP.
        DeviceType::Yubikey => {}
        DeviceType::Mobile => unreachable!("rejected above"),
    }

    // pairing.maxAllowedDevices
    let max = env.mfa_settings.max_allowed_devices;
    let count = env
        .devices
        .values()
        .filter(|d| d.user_id == user_id)
        .count() as u64;
    if count >= max {
        return Err(ApiError::request_failed(
            Detail::new(
                "LIMIT_EXCEEDED",
                None,
                "Maximum allowed devices has been reached",
            )
            .inner(json!({"maximumAllowed": max})),
        ));
    }

    store.seq += 1;
    device.seq = store.seq;
    let env = store.envs.get_mut(env_id).expect("checked above");
    let test_otp = if t.is_offline() && status == DeviceStatus::ActivationRequired {
        issue_pairing_otp(&mut store.outbox, &mut device, now)
    } else {
        None
    };
    let id = device.id.clone();
    let v = with_test_otp(device.to_json(state), test_otp);
    if let Some(serial) = device.serial_number.as_deref() {
        oath::bind(&mut env.oath_tokens, serial, &id);
    }
    env.devices.insert(id.clone(), device);
    if status == DeviceStatus::Active {
        append_to_order(env, user_id, &id, now);
    }
    Ok(v)
}
