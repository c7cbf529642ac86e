//! Checks of the fields a device is created or renamed with, and the
//! PLATFORM device's platform derived from the user agent.
//!
//! They are pure functions of their input, kept together so that the rules
//! (and their unit tests) can be read in one place; creation and the
//! nickname handler both use them.

use serde_json::json;

use crate::error::{ApiError, ApiResult, Detail};

/// The longest nickname PingOne accepts.
pub const NICKNAME_MAX: usize = 100;

pub(super) fn check_nickname(n: &str) -> ApiResult<()> {
    if n.chars().count() > NICKNAME_MAX {
        return Err(ApiError::invalid_data(
            Detail::new(
                "INVALID_VALUE",
                Some("nickname"),
                format!("nickname must be at most {NICKNAME_MAX} characters"),
            )
            .inner(json!({"maximumValue": NICKNAME_MAX})),
        ));
    }
    Ok(())
}

/// `+`, a 1-3 digit country code and a 4-14 digit number: 5 to 17 digits in
/// all after the plus; dots, spaces, dashes and parentheses are separators.
pub fn valid_phone(p: &str) -> bool {
    let Some(rest) = p.trim().strip_prefix('+') else {
        return false;
    };
    let mut digits = 0;
    for c in rest.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' | ' ' | '-' | '(' | ')' => {}
            _ => return false,
        }
    }
    (5..=17).contains(&digits) && rest.starts_with(|c: char| c.is_ascii_digit() && c != '0')
}

/// Whether `e` looks like an email address (one `@`, a dotted domain).
pub fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.len() <= 254
}

pub(super) fn valid_extension(x: &str) -> bool {
    !x.is_empty()
        && x.len() <= 50
        && x.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '#' | '*'))
}

/// The PLATFORM device's `platform`, from the user agent.
pub fn platform_from_user_agent(ua: Option<&str>) -> &'static str {
    let Some(ua) = ua else { return "BIOMETRICS" };
    if ua.contains("iPhone") || ua.contains("iPad") {
        "IPHONE"
    } else if ua.contains("Android") {
        "ANDROID"
    } else if ua.contains("Windows") {
        "WINDOWS"
    } else if ua.contains("Macintosh") || ua.contains("Mac OS X") {
        "MAC"
    } else {
        "BIOMETRICS"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        for ok in [
            "+15125201234",
            "+1.5125201234",
            "+972 52-888-8888",
            "+44 (20) 7946 0958",
            "+4912345",
        ] {
            assert!(valid_phone(ok), "{ok}");
        }
        for bad in [
            "15125201234",
            "+1",
            "+1234",
            "+1512520123456789012",
            "+1abc5551234",
            "",
            "+0123456789",
        ] {
            assert!(!valid_phone(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(valid_email("alice@example.com"));
        assert!(!valid_email("alice"));
        assert!(!valid_email("alice@example"));
        assert!(!valid_email("a b@example.com"));
        assert!(!valid_email("@example.com"));
    }

    #[test]
    fn platforms() {
        assert_eq!(platform_from_user_agent(None), "BIOMETRICS");
        assert_eq!(
            platform_from_user_agent(Some(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"
            )),
            "IPHONE"
        );
        assert_eq!(
            platform_from_user_agent(Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")),
            "WINDOWS"
        );
        assert_eq!(
            platform_from_user_agent(Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)")),
            "MAC"
        );
        assert_eq!(
            platform_from_user_agent(Some("Mozilla/5.0 (Linux; Android 14)")),
            "ANDROID"
        );
    }
}
