//! Push confirmations: the mobile app's answer to a push (approve, deny or
//! time out, played by tests through the control API or the emulator
//! handle), and `cancel.push.authentication`, which returns an unfinished
//! authentication to device selection.
//!
//! Push notifications themselves are not modelled: entering a MOBILE device
//! only moves the authentication to PUSH_CONFIRMATION_REQUIRED.

use serde_json::{json, Map, Value};

use super::model::{with_da, wrong_status, DaStatus, DeviceAuth, Selected};
use crate::body::opt_str;
use crate::error::{ApiError, ApiResult, Detail};
use crate::state::AppState;

pub(super) fn cancel(da: &mut DeviceAuth, b: &Map<String, Value>, now: i64) -> ApiResult<()> {
    match opt_str(b, "reason", "reason")? {
        None => return Err(ApiError::required_value("reason", "reason is required")),
        Some("SIGNOUT" | "CHANGE_DEVICE" | "ADD_DEVICE" | "DEFAULT") => {}
        Some(other) => {
            return Err(ApiError::invalid_data(
                Detail::new(
                    "INVALID_VALUE",
                    Some("reason"),
                    format!("Invalid reason: {other}"),
                )
                .inner(
                    json!({"allowedValues": ["SIGNOUT", "CHANGE_DEVICE", "ADD_DEVICE", "DEFAULT"]}),
                ),
            ))
        }
    }
    if da.status.is_terminal() {
        return Err(wrong_status(da, "Cancel"));
    }
    da.reset_challenge();
    da.selected = Selected::None;
    da.status = DaStatus::DeviceSelectionRequired;
    da.updated_at = now;
    Ok(())
}

/// What the mobile app does with a push: `approve` → COMPLETED
/// (`authenticators: ["push"]`), `deny` → FAILED (`PUSH_DENIED`), `timeout`
/// → PUSH_CONFIRMATION_TIMED_OUT. Only in PUSH_CONFIRMATION_REQUIRED.
pub fn push(state: &AppState, env_id: &str, id: &str, action: &str) -> ApiResult<Value> {
    with_da(state, env_id, id, |da, _env, _outbox, now| {
        if !matches!(action, "approve" | "deny" | "timeout") {
            return Err(ApiError::invalid_data(
                Detail::new(
                    "INVALID_VALUE",
                    Some("action"),
                    format!("Invalid action: {action}"),
                )
                .inner(json!({"allowedValues": ["approve", "deny", "timeout"]})),
            ));
        }
        if da.status != DaStatus::PushConfirmationRequired {
            return Err(wrong_status(da, "A push response"));
        }
        match action {
            "approve" => da.complete("push", now),
            "deny" => da.fail(
                json!({"code": "PUSH_DENIED", "message": "The user denied the push notification"}),
                now,
            ),
            _ => {
                da.status = DaStatus::PushConfirmationTimedOut;
                da.updated_at = now;
            }
        }
        Ok(())
    })
}
