//! `schemas/flow.schema.json` is generated from the definition types; this
//! test fails when the committed copy drifts from them. Regenerate with
//! `UPDATE_SCHEMAS=1 cargo test -p connector-flows --test schema`.

use std::path::Path;

#[test]
fn the_committed_flow_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/flow.schema.json");
    let generated = serde_json::to_string_pretty(&connector_flows::schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/flow.schema.json drifted from the flow definition types; regenerate: \
         UPDATE_SCHEMAS=1 cargo test -p connector-flows --test schema"
    );
}
