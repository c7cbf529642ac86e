//! `schemas/mfa-enrollment.schema.json` (the step's configuration, input and
//! results) is generated from the step's types; this test fails when the
//! committed copy drifts. Regenerate with
//! `UPDATE_SCHEMAS=1 cargo test -p connector-executions --test schemas`.

use std::path::Path;

#[test]
fn the_committed_step_schemas_are_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/mfa-enrollment.schema.json");
    let generated =
        serde_json::to_string_pretty(&connector_executions::step::schemas()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/mfa-enrollment.schema.json drifted from the step's types; regenerate: \
         UPDATE_SCHEMAS=1 cargo test -p connector-executions --test schemas"
    );
}
