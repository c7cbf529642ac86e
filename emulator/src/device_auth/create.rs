//! Creating a device authentication: `POST /{envId}/deviceAuthentications`.
//!
//! Creation reads the whole request (user, policy, application, rp,
//! challenge, the stored-only fields, an up-front OTP and `selectedDevice`)
//! before deciding the first state, so it is one long function kept in a
//! file of its own.

use serde_json::{json, Map, Value};

use super::model::{purge, DaStatus, DeviceAuth, Selected, LIFETIME_MS};
use super::otp::{device_code_matches, otp_value, record_code_use};
use super::select::{no_usable_devices, type_enabled, usable_devices};
use crate::body::{id_of, opt_object, opt_str};
use crate::devices::{self, DeviceStatus, DeviceType};
use crate::error::{ApiError, ApiResult, Detail};
use crate::fido;
use crate::state::{AppState, Store};

pub(super) fn create(state: &AppState, env_id: &str, b: &Map<String, Value>) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut guard = state.lock();
    let store: &mut Store = &mut guard;
    let outbox = &mut store.outbox;
    let env = store
        .envs
        .get_mut(env_id)
        .ok_or_else(|| ApiError::environment_not_found(env_id))?;
    purge(env, now);

    let user_id = id_of(b, "user")?;
    if let Some(u) = &user_id {
        if !env.users.contains_key(u) {
            return Err(ApiError::invalid_value(
                "user.id",
                format!("Unable to find user with ID: {u}"),
            ));
        }
    }
    let policy = env.requested_policy(b)?;
    let policy_id = policy["id"].as_str().unwrap_or_default().to_string();
    let application_id = id_of(b, "application")?;
    let rp_id_override = match b.get("rp") {
        None | Some(Value::Null) => None,
        Some(Value::Object(rp)) => match rp.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s))
                if !s.is_empty()
                    && !s.contains(['/', ':', ' '])
                    && s.to_ascii_lowercase() == *s =>
            {
                Some(s.clone())
            }
            Some(_) => {
                return Err(ApiError::invalid_value(
                    "rp.id",
                    "rp.id must be a lower-case domain name",
                ))
            }
        },
        Some(_) => return Err(ApiError::invalid_value("rp", "rp must be an object")),
    };
    let custom_challenge = match opt_str(b, "challenge", "challenge")? {
        None => None,
        Some(c) => Some(
            fido::b64url_decode(c)
                .filter(|bytes| bytes.len() >= 32)
                .ok_or_else(|| {
                    ApiError::invalid_value(
                        "challenge",
                        "challenge must be base64url of at least 32 bytes",
                    )
                })?,
        ),
    };
    let client_context = opt_object(b, "clientContext")?;
    let notification = opt_object(b, "notification")?;
    let mobile_payload = opt_str(b, "mobilePayload", "mobilePayload")?.map(str::to_string);
    let user_agent = opt_str(b, "userAgent", "userAgent")?.map(str::to_string);
    let upfront_otp = otp_value(b)?;

    // selectedDevice
    let mut selected_id = None;
    let mut one_time = None;
    match b.get("selectedDevice") {
        None | Some(Value::Null) => {}
        Some(Value::Object(sd)) => {
            if let Some(ot) = sd.get("oneTime").filter(|v| !v.is_null()) {
                let ot = ot.as_object().ok_or_else(|| {
                    ApiError::invalid_value(
                        "selectedDevice.oneTime",
                        "selectedDevice.oneTime must be an object",
                    )
                })?;
                let t = match opt_str(ot, "type", "selectedDevice.oneTime.type")? {
                    Some("SMS") => DeviceType::Sms,
                    Some("VOICE") => DeviceType::Voice,
                    Some("EMAIL") => DeviceType::Email,
                    _ => {
                        return Err(ApiError::invalid_data(
                            Detail::new(
                                "INVALID_VALUE",
                                Some("selectedDevice.oneTime.type"),
                                "selectedDevice.oneTime.type must be SMS, VOICE or EMAIL",
                            )
                            .inner(json!({"allowedValues": ["SMS", "VOICE", "EMAIL"]})),
                        ))
                    }
                };
                let target = if t == DeviceType::Email {
                    let e = opt_str(ot, "email", "selectedDevice.oneTime.email")?
                        .filter(|e| devices::valid_email(e))
                        .ok_or_else(|| {
                            ApiError::invalid_value(
                                "selectedDevice.oneTime.email",
                                "a valid email is required for a one-time EMAIL device",
                            )
                        })?;
                    e.to_string()
                } else {
                    let p = opt_str(ot, "phone", "selectedDevice.oneTime.phone")?
                        .filter(|p| devices::valid_phone(p))
                        .ok_or_else(|| {
                            ApiError::invalid_value(
                                "selectedDevice.oneTime.phone",
                                "a valid phone number is required for a one-time SMS or VOICE device",
                            )
                        })?;
                    p.to_string()
                };
                let test_mode = match ot.get("testMode") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(v)) => *v,
                    Some(_) => {
                        return Err(ApiError::invalid_value(
                            "selectedDevice.oneTime.testMode",
                            "testMode must be a boolean",
                        ))
                    }
                };
                if !type_enabled(&policy, t) {
                    return Err(ApiError::invalid_value(
                        "selectedDevice.oneTime.type",
                        format!(
                            "Device type {} is not enabled by the device authentication policy",
                            t.as_str()
                        ),
                    ));
                }
                one_time = Some((t, target, test_mode));
            } else {
                selected_id = match sd.get("id") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => {
                        return Err(ApiError::invalid_value(
                            "selectedDevice.id",
                            "selectedDevice.id must be a string",
                        ))
                    }
                };
            }
        }
        Some(_) => {
            return Err(ApiError::invalid_value(
                "selectedDevice",
                "selectedDevice must be an object",
            ))
        }
    }

    let mut da = DeviceAuth {
        id: uuid::Uuid::new_v4().to_string(),
        environment_id: env_id.to_string(),
        user_id: user_id.clone(),
        policy_id,
        application_id,
        status: DaStatus::DeviceSelectionRequired,
        selected: Selected::None,
        client_context,
        mobile_payload,
        user_agent,
        notification,
        rp_id_override,
        custom_challenge,
        otp: None,
        otp_failures: 0,
        challenge: None,
        rp_id: None,
        request_options: None,
        authenticators: Vec::new(),
        error: None,
        test_otp: None,
        created_at: now,
        updated_at: now,
        expires_at: now + LIFETIME_MS,
    };

    if let Some((t, target, test_mode)) = one_time {
        let uid = user_id.clone().unwrap_or_default();
        da.selected = Selected::OneTime {
            device_type: t,
            target: target.clone(),
            test_mode,
        };
        da.send_otp(outbox, &uid, "", t, &target, test_mode);
    } else if let Some(code) = upfront_otp {
        let Some(uid) = &user_id else {
            return Err(ApiError::required_value(
                "user.id",
                "user.id is required to check an otp",
            ));
        };
        let (usable, _) = usable_devices(env, &policy, uid, now);
        let matched = usable
            .iter()
            .filter(|d| selected_id.as_ref().is_none_or(|s| *s == d.id))
            .find(|d| device_code_matches(env, d, &code, now))
            .map(|d| d.id.clone());
        let Some(device_id) = matched else {
            return Err(ApiError::invalid_data(Detail::new(
                "INVALID_OTP",
                Some("otp"),
                "Invalid OTP",
            )));
        };
        record_code_use(env, &device_id, &code, now);
        da.selected = Selected::Device(device_id);
        da.complete("otp", now);
    } else if let Some(uid) = &user_id {
        let (usable, locked) = usable_devices(env, &policy, uid, now);
        if let Some(sid) = &selected_id {
            let d = env
                .devices
                .get(sid)
                .filter(|d| &d.user_id == uid && d.status == DeviceStatus::Active)
                .ok_or_else(|| {
                    ApiError::invalid_value(
                        "selectedDevice.id",
                        format!("{sid} is not an active device of the user"),
                    )
                })?;
            if d.is_locked(now) {
                da.fail(no_usable_devices(uid, std::slice::from_ref(sid)), now);
            } else if !type_enabled(&policy, d.device_type) {
                return Err(ApiError::invalid_value(
                    "selectedDevice.id",
                    format!(
                        "Device type {} is not enabled by the device authentication policy",
                        d.device_type.as_str()
                    ),
                ));
            } else {
                let d = d.clone();
                da.enter_device(&d, outbox, now);
            }
        } else if usable.is_empty() {
            da.fail(no_usable_devices(uid, &locked), now);
        } else {
            let default_to_first = policy["authentication"]["deviceSelection"]
                .as_str()
                .unwrap_or("DEFAULT_TO_FIRST")
                == "DEFAULT_TO_FIRST";
            let ordered = env.users.get(uid).is_some_and(|u| u.ordered);
            if (default_to_first && ordered) || usable.len() == 1 {
                let d = usable[0].clone();
                da.enter_device(&d, outbox, now);
            }
        }
    } else {
        // Usernameless FIDO2: no allowCredentials; the credential in the
        // assertion identifies the user.
        if selected_id.is_some() {
            return Err(ApiError::required_value(
                "user.id",
                "user.id is required with selectedDevice.id",
            ));
        }
        let rp_id = da
            .rp_id_override
            .clone()
            .unwrap_or_else(|| fido::DEFAULT_RP_ID.to_string());
        da.start_assertion(rp_id, &[]);
    }

    let v = da.to_json(state, env, now);
    env.device_auths.insert(da.id.clone(), da);
    Ok(v)
}
