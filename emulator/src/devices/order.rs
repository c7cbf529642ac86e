//! The user's device order: the order devices are listed in (default
//! first), appending a newly active device, and setting or removing the
//! order.
//!
//! The order decides which device is the default for authentications as
//! well as how the list is sorted, so it is kept apart from the list's JSON.

use serde_json::{Map, Value};

use super::list::list_json;
use super::model::{Device, DeviceStatus};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Environment};

/// The user's devices as GET lists them: active devices in order (default
/// first), then ACTIVATION_REQUIRED ones by creation.
pub fn ordered_devices<'a>(env: &'a Environment, user_id: &str) -> Vec<&'a Device> {
    let Some(user) = env.users.get(user_id) else {
        return Vec::new();
    };
    let mut all: Vec<&Device> = env
        .devices
        .values()
        .filter(|d| d.user_id == user_id)
        .collect();
    all.sort_by_key(|d| d.seq);
    let mut out: Vec<&Device> = Vec::new();
    if user.ordered {
        for id in &user.device_order {
            if let Some(d) = env.devices.get(id) {
                if d.status == DeviceStatus::Active && d.user_id == user_id {
                    out.push(d);
                }
            }
        }
    }
    for d in &all {
        if d.status == DeviceStatus::Active && !out.iter().any(|o| o.id == d.id) {
            out.push(d);
        }
    }
    for d in &all {
        if d.status == DeviceStatus::ActivationRequired {
            out.push(d);
        }
    }
    out
}

/// Appends a newly active device to the user's order (if the user's devices
/// are ordered).
pub fn append_to_order(env: &mut Environment, user_id: &str, device_id: &str, now: i64) {
    if let Some(u) = env.users.get_mut(user_id) {
        if u.ordered && !u.device_order.iter().any(|d| d == device_id) {
            u.device_order.push(device_id.to_string());
        }
        u.updated_at = now;
    }
}

/// Sets the order. The response body of the real API is unverified
/// (reference §3.22); the emulator answers 200 with the same body as
/// `GET .../devices?expand=order`, which carries both the devices and the
/// resulting order.
pub(super) fn set_order(
    state: &AppState,
    env_id: &str,
    user_id: &str,
    b: &Map<String, Value>,
) -> ApiResult<Value> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(env_id)?;
    env.user(user_id)?;
    let items = match b.get("order") {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => {
            return Err(ApiError::required_value("order", "order is required"))
        }
        Some(_) => return Err(ApiError::invalid_value("order", "order must be an array")),
    };
    let mut listed: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let target = format!("order[{i}].id");
        let id = match item.get("id") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(ApiError::required_value(
                    &target,
                    format!("{target} is required"),
                ))
            }
        };
        let ok = env
            .devices
            .get(&id)
            .is_some_and(|d| d.user_id == user_id && d.status == DeviceStatus::Active);
        if !ok {
            return Err(ApiError::invalid_value(
                &target,
                format!("{id} is not an active device of the user"),
            ));
        }
        if listed.contains(&id) {
            return Err(ApiError::invalid_value(
                &target,
                format!("{id} is listed more than once"),
            ));
        }
        listed.push(id);
    }
    // Listed devices first; other active devices keep their relative order.
    let current: Vec<String> = ordered_devices(env, user_id)
        .into_iter()
        .filter(|d| d.status == DeviceStatus::Active)
        .map(|d| d.id.clone())
        .collect();
    let mut order = listed.clone();
    order.extend(current.into_iter().filter(|id| !listed.contains(id)));
    let u = env.user_mut(user_id)?;
    u.ordered = true;
    u.device_order = order;
    u.updated_at = now;
    Ok(list_json(state, env, user_id, None, true))
}

pub(super) fn remove_order(state: &AppState, env_id: &str, user_id: &str) -> ApiResult<()> {
    let now = state.now_ms();
    let mut store = state.lock();
    let env = store.env_mut(env_id)?;
    let u = env.user_mut(user_id)?;
    u.ordered = false;
    u.device_order.clear();
    u.updated_at = now;
    Ok(())
}
