//! Contract tests of Read/Update MFA Status and Read Device Authentication Policy.

use contract_tests::{assert_api_error, assert_invalid_input, Harness};
use serde_json::json;

#[tokio::test]
async fn read_and_update_mfa_status() {
    let h = Harness::start().await;
    let user = h.user();
    let out = h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    assert_eq!(out["statusCode"], 200);
    assert_eq!(out["mfaEnabled"], false);
    let out = h
        .ok(
            "updateUserMFAEnabled",
            json!({ "userId": user, "mfaEnabled": true }),
        )
        .await;
    assert_eq!(out["mfaEnabled"], true);
    assert_eq!(out["rawResponse"]["mfaEnabled"], true);
    let out = h.ok("readUserMFAEnabled", json!({ "userId": user })).await;
    assert_eq!(out["mfaEnabled"], true);

    assert_invalid_input(
        h.call("readUserMFAEnabled", json!({})).await,
        "readUserMFAEnabled",
        "/userId",
    );
    assert_invalid_input(
        h.call(
            "updateUserMFAEnabled",
            json!({ "userId": user, "mfaEnabled": "yes" }),
        )
        .await,
        "updateUserMFAEnabled",
        "/mfaEnabled",
    );
    assert_api_error(
        h.call("readUserMFAEnabled", json!({ "userId": "nobody" }))
            .await,
        404,
        "NOT_FOUND",
    );
    assert_api_error(
        h.call(
            "updateUserMFAEnabled",
            json!({ "userId": "nobody", "mfaEnabled": false }),
        )
        .await,
        404,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn read_device_authentication_policy() {
    let h = Harness::start().await;
    let policy = h.emulator.seed().policy_id.clone();
    let out = h
        .ok(
            "readDeviceAuthenticationPolicy",
            json!({ "deviceAuthenticationPolicyId": policy }),
        )
        .await;
    assert_eq!(out["statusCode"], 200);
    let p = &out["deviceAuthenticationPolicy"];
    assert_eq!(p["id"], policy.as_str());
    assert_eq!(p["default"], true);
    assert_eq!(p["sms"]["otp"]["failure"]["count"], 3);
    assert!(p["totp"]["enabled"].is_boolean());
    // The drop-down's "enter an ID" option takes the custom field.
    let custom = h
        .ok(
            "readDeviceAuthenticationPolicy",
            json!({ "deviceAuthenticationPolicyId": "Enter Device Authentication Policy ID", "customDeviceAuthenticationPolicyId": policy }),
        )
        .await;
    assert_eq!(custom["deviceAuthenticationPolicy"]["id"], policy.as_str());

    assert_invalid_input(
        h.call(
            "readDeviceAuthenticationPolicy",
            json!({ "deviceAuthenticationPolicyId": "x".repeat(101) }),
        )
        .await,
        "readDeviceAuthenticationPolicy",
        "/deviceAuthenticationPolicyId",
    );
    assert_invalid_input(
        h.call(
            "readDeviceAuthenticationPolicy",
            json!({ "deviceAuthenticationPolicyId": "Enter Device Authentication Policy ID" }),
        )
        .await,
        "readDeviceAuthenticationPolicy",
        "/customDeviceAuthenticationPolicyId",
    );
    assert_api_error(
        h.call(
            "readDeviceAuthenticationPolicy",
            json!({ "deviceAuthenticationPolicyId": "00000000-0000-0000-0000-000000000000" }),
        )
        .await,
        404,
        "NOT_FOUND",
    );
}
