//! PingOne - One-time use device authentication.

use contract_tests::Harness;
use serde_json::json;

use crate::run_flow;

#[tokio::test]
async fn one_time_device_authentication_by_sms_and_by_email_with_a_wrong_code() {
    let h = Harness::start().await;
    let user = h.user_n(2);
    let (run, log) = run_flow(
        &h,
        "one-time-device-authentication",
        json!({ "userId": user, "deviceType": "SMS", "phone": "+15125550125" }),
        |u| u.mistyping("askOtp", 1),
    )
    .await;
    assert_eq!(run.result["status"], "COMPLETED", "{}", log.join("\n"));
    let asked = run.steps.iter().filter(|s| s.node_id == "askOtp").count();
    assert_eq!(
        asked,
        2,
        "asked again after the wrong code:\n{}",
        log.join("\n")
    );

    let (run, log) = run_flow(
        &h,
        "one-time-device-authentication",
        json!({ "userId": user, "deviceType": "Email", "email": "one.time@example.com" }),
        |u| u,
    )
    .await;
    assert_eq!(run.result["status"], "COMPLETED", "{}", log.join("\n"));
}
