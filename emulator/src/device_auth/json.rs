//! The JSON of a device authentication, and of the devices it embeds with
//! their phone numbers and email addresses masked.
//!
//! A device authentication is answered to the sign-in flow rather than to an
//! administrator, so its devices are shown with masked targets and without
//! secrets; the management API's device JSON (`devices::Device::to_json`) is
//! therefore not reused here.

use serde_json::{json, Map, Value};

use super::model::{DaStatus, DeviceAuth, Selected};
use super::select::usable_devices;
use crate::devices::Device;
use crate::state::{AppState, Environment};
use crate::time::rfc3339_ms;

/// `a****@example.com`: the first character of the local part, then one
/// star per remaining character.
pub fn mask_email(e: &str) -> String {
    match e.split_once('@') {
        Some((local, domain)) => {
            let mut chars = local.chars();
            let first = chars.next().map(String::from).unwrap_or_default();
            format!("{first}{}@{domain}", "*".repeat(chars.count()))
        }
        None => "*".repeat(e.chars().count()),
    }
}

/// `+1512*****01`: the first 5 and last 2 characters kept.
pub fn mask_phone(p: &str) -> String {
    let c: Vec<char> = p.chars().collect();
    if c.len() <= 7 {
        return "*".repeat(c.len());
    }
    let head: String = c[..5].iter().collect();
    let tail: String = c[c.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(c.len() - 7))
}

/// A device as `_embedded.devices` shows it: targets masked, no secrets.
pub fn masked_device(d: &Device, now: i64) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(d.id));
    m.insert("type".into(), json!(d.device_type.as_str()));
    m.insert("status".into(), json!(d.status.as_str()));
    if let Some(n) = &d.nickname {
        m.insert("nickname".into(), json!(n));
    }
    if let Some(p) = &d.phone {
        m.insert("phone".into(), json!(mask_phone(p)));
    }
    if let Some(x) = &d.extension {
        m.insert("extension".into(), json!(x));
    }
    if let Some(e) = &d.email {
        m.insert("email".into(), json!(mask_email(e)));
    }
    if let Some(s) = &d.serial_number {
        m.insert("serialNumber".into(), json!(s));
    }
    if d.device_type.is_fido() {
        if let Some(id) = &d.rp_id {
            m.insert(
                "rp".into(),
                json!({"id": id, "name": d.rp_name.clone().unwrap_or_default()}),
            );
        }
    }
    if let Some(p) = &d.platform {
        m.insert("platform".into(), json!(p));
    }
    if let Some(extra) = &d.mobile {
        for (k, v) in extra {
            m.insert(k.clone(), v.clone());
        }
    }
    if d.is_locked(now) {
        m.insert(
            "lock".into(),
            json!({"status": "LOCKED", "reason": d.lock_reason, "expiresAt": rfc3339_ms(d.lock_expires_at)}),
        );
    }
    m.insert("createdAt".into(), json!(rfc3339_ms(d.created_at)));
    m.insert("updatedAt".into(), json!(rfc3339_ms(d.updated_at)));
    Value::Object(m)
}

impl DeviceAuth {
    /// The authentication's own URL on the auth host (its `self` link).
    pub fn href(&self, state: &AppState) -> String {
        format!(
            "{}/{}/deviceAuthentications/{}",
            state.auth_url, self.environment_id, self.id
        )
    }

    /// The resource as PingOne shows it at `now`, with its links.
    pub fn to_json(&self, state: &AppState, env: &Environment, now: i64) -> Value {
        let href = self.href(state);
        let mut links = json!({"self": {"href": href}});
        if self.user_id.is_some()
            && matches!(
                self.status,
                DaStatus::DeviceSelectionRequired
                    | DaStatus::OtpRequired
                    | DaStatus::PushConfirmationTimedOut
            )
        {
            links["device.select"] = json!({"href": href});
        }
        if self.status == DaStatus::OtpRequired {
            links["otp.check"] = json!({"href": href});
        }
        if self.status == DaStatus::AssertionRequired {
            links["assertion.check"] = json!({"href": href});
        }
        let mut m = Map::new();
        m.insert("_links".into(), links);
        let devices: Vec<Value> = match (&self.user_id, self.status) {
            (Some(u), s) if !s.is_terminal() => {
                let policy = env.policy(&self.policy_id).unwrap_or(env.default_policy());
                usable_devices(env, policy, u, now)
                    .0
                    .into_iter()
                    .map(|d| masked_device(d, now))
                    .collect()
            }
            // Terminal: the device used (if any).
            _ => match &self.selected {
                Selected::Device(id) => env
                    .devices
                    .get(id)
                    .map(|d| vec![masked_device(d, now)])
                    .unwrap_or_default(),
                _ => Vec::new(),
            },
        };
        m.insert("_embedded".into(), json!({"devices": devices}));
        m.insert("id".into(), json!(self.id));
        m.insert("environment".into(), json!({"id": self.environment_id}));
        if let Some(u) = &self.user_id {
            m.insert("user".into(), json!({"id": u}));
        }
        m.insert("policy".into(), json!({"id": self.policy_id}));
        if let Some(a) = &self.application_id {
            m.insert("application".into(), json!({"id": a}));
        }
        m.insert("status".into(), json!(self.status.as_str()));
        match &self.selected {
            Selected::None => {}
            Selected::Device(id) => {
                m.insert("selectedDevice".into(), json!({"id": id}));
            }
            Selected::OneTime { device_type, .. } => {
                m.insert(
                    "selectedDevice".into(),
                    json!({"oneTime": {"type": device_type.as_str()}}),
                );
            }
        }
        if self.status == DaStatus::AssertionRequired {
            if let Some(o) = &self.request_options {
                m.insert("publicKeyCredentialRequestOptions".into(), json!(o));
            }
        }
        if self.status == DaStatus::Completed {
            m.insert("authenticators".into(), json!(self.authenticators));
        }
        if self.status == DaStatus::Failed {
            if let Some(e) = &self.error {
                m.insert("error".into(), e.clone());
            }
        }
        if self.status == DaStatus::OtpRequired {
            if let Some(code) = &self.test_otp {
                m.insert("test".into(), json!({"otp": code}));
            }
        }
        m.insert("createdAt".into(), json!(rfc3339_ms(self.created_at)));
        m.insert("updatedAt".into(), json!(rfc3339_ms(self.updated_at)));
        m.insert("expiresAt".into(), json!(rfc3339_ms(self.expires_at)));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_email("alice@example.com"), "a****@example.com");
        assert_eq!(mask_phone("+15125550101"), "+1512*****01");
        assert_eq!(mask_phone("+1234"), "*****");
    }
}
