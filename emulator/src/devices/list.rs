//! The body of the device list: the user's devices in order, narrowed by
//! the SCIM filter, with the order itself embedded for `expand=order`.
//!
//! Setting the order answers with the same body, so it is built here once
//! for both the list handler and `order`.

use serde_json::{json, Value};

use super::model::DeviceStatus;
use super::order::ordered_devices;
use crate::filter;
use crate::state::{AppState, Environment};

pub(super) fn list_json(
    state: &AppState,
    env: &Environment,
    user_id: &str,
    filter: Option<&filter::Filter>,
    expand_order: bool,
) -> Value {
    let devices: Vec<Value> = ordered_devices(env, user_id)
        .into_iter()
        .filter(|d| filter.is_none_or(|f| f.matches(*d)))
        .map(|d| d.to_json(state))
        .collect();
    let href = format!("{}/devices", state.user_href(&env.id, user_id));
    let n = devices.len();
    let mut embedded = json!({"devices": devices});
    if expand_order {
        let user = &env.users[user_id];
        let order: Vec<Value> = if user.ordered {
            user.device_order
                .iter()
                .filter(|id| {
                    env.devices
                        .get(*id)
                        .is_some_and(|d| d.status == DeviceStatus::Active)
                })
                .map(|id| json!({"id": id}))
                .collect()
        } else {
            Vec::new()
        };
        embedded["order"] = Value::Array(order);
    }
    json!({
        "_links": {
            "self": {"href": href},
            "devices.reorder": {"href": href}
        },
        "_embedded": embedded,
        "count": n,
        "size": n
    })
}
