//! Seed 002's MFA enrollment step as flow executions over HTTP: a real
//! listener, the real client, the emulator behind the PingOne MFA
//! connector. One module per group of states and actions.

#[path = "executions/devices.rs"]
mod devices;
#[path = "executions/enrollment.rs"]
mod enrollment;
#[path = "executions/lifecycle.rs"]
mod lifecycle;
#[path = "executions/shared.rs"]
mod shared;

use std::path::PathBuf;

use connector_service::{ExecutionsSection, Keys, ServeConfig, Service};
use connector_testkit::service::{Answer, ApiClient, Served};
use connector_testkit::{pingone_tenant, templates};
use contract_tests::{test_config, Harness};
use serde_json::{json, Value};

/// The API key of the tests' tenant `acme`.
pub(crate) const KEY: &str = "executions-test-key-0123456789";

/// The service over the harness's runtime and tenant (`acme`), serving the
/// step as `mfa-enrollment`; executions in `store` (memory when `None`),
/// idle at most `lifetime_ms`.
pub(crate) async fn serve(h: &Harness, store: Option<PathBuf>, lifetime_ms: Option<u64>) -> Served {
    serve_with(
        h,
        ExecutionsSection {
            store,
            lifetime_ms,
            ..ExecutionsSection::default()
        },
    )
    .await
}

/// The service with the executions section `section` (its steps filled in).
pub(crate) async fn serve_with(h: &Harness, mut section: ExecutionsSection) -> Served {
    section.steps = vec![templates::flows_dir().join("steps/mfa-enrollment.json")];
    let config = ServeConfig {
        executions: section,
        ..ServeConfig::default()
    };
    let runtime = connector_testkit::runtime(test_config()).await;
    let tenant = pingone_tenant(&runtime, &h.emulator, h.emulator.seed(), Default::default());
    let service = Service::new(runtime, &config, Keys::single("t", KEY, false, &["acme"])).unwrap();
    service.registry().insert("acme", tenant);
    Served::start(service).await
}

/// Starts an execution of `mfa-enrollment` with `input`.
pub(crate) async fn start(client: &ApiClient, input: Value) -> Answer {
    client
        .send(
            "POST",
            "/v1/tenants/acme/flows/mfa-enrollment/executions",
            input.to_string(),
        )
        .await
}

/// Posts `action` (its media type) with `body` to the execution's self link.
pub(crate) async fn act(
    client: &ApiClient,
    execution: &Answer,
    action: &str,
    body: Value,
) -> Answer {
    let href = execution.json["_links"]["self"]["href"]
        .as_str()
        .expect("a self link");
    let media = format!("application/vnd.pingidentity.{action}+json");
    client
        .send_with(
            "POST",
            href,
            &[("content-type", media.as_str())],
            body.to_string(),
        )
        .await
}

/// GETs the execution's self link (the poll).
pub(crate) async fn poll(client: &ApiClient, execution: &Answer) -> Answer {
    let href = execution.json["_links"]["self"]["href"]
        .as_str()
        .expect("a self link");
    client.get(href).await
}

/// The action links of an execution, sorted.
pub(crate) fn actions(execution: &Answer) -> Vec<String> {
    let mut links: Vec<String> = execution.json["_links"]
        .as_object()
        .map(|l| l.keys().filter(|k| *k != "self").cloned().collect())
        .unwrap_or_default();
    links.sort();
    links
}

/// The newest OTP the emulator sent to `to`.
pub(crate) fn otp_sent_to(h: &Harness, to: &str) -> String {
    h.emulator
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.to == to)
        .unwrap_or_else(|| panic!("nothing was sent to {to}"))
        .otp
}

/// The input for user `user`.
pub(crate) fn input_for(user: &str) -> Value {
    json!({ "user": { "id": user, "email": "enrolling@example.com", "mobilePhone": "+15125550177" } })
}
