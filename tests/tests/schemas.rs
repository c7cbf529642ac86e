//! The committed JSON Schemas in `schemas/` are generated files. These tests
//! fail when they drift from what the connector's types produce or from what
//! the compiled component reports in its manifest.
//!
//! Regenerate with: `UPDATE_SCHEMAS=1 cargo test -p contract-tests --test schemas`

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

/// `(file name, pretty JSON)` for every capability's input and output schema.
fn expected_files(manifest: &Value) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for cap in manifest["capabilities"].as_array().expect("capabilities") {
        let id = cap["id"].as_str().expect("id");
        for (kind, key) in [("input", "inputSchema"), ("output", "outputSchema")] {
            let text = serde_json::to_string_pretty(&cap[key]).unwrap() + "\n";
            files.push((format!("{id}.{kind}.json"), text));
        }
    }
    files
}

#[test]
fn committed_schemas_match_the_connector_types() {
    let manifest = pingone_mfa_connector::manifest();
    let expected = expected_files(&manifest);
    let dir = schema_dir();
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                std::fs::remove_file(path).unwrap();
            }
        }
        for (name, text) in &expected {
            std::fs::write(dir.join(name), text).unwrap();
        }
        return;
    }
    let mut stale = Vec::new();
    for (name, text) in &expected {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(committed) if &committed == text => {}
            Ok(_) => stale.push(format!("{name} differs")),
            Err(_) => stale.push(format!("{name} is missing")),
        }
    }
    let wanted: BTreeSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !wanted.contains(name.as_str()) {
            stale.push(format!("{name} belongs to no capability"));
        }
    }
    assert!(
        stale.is_empty(),
        "schemas/ drifted from the connector types:\n  {}\nRegenerate: UPDATE_SCHEMAS=1 cargo test -p contract-tests --test schemas",
        stale.join("\n  ")
    );
}

#[tokio::test]
async fn component_manifest_matches_the_connector_types() {
    let runtime = connector_host::Runtime::new(contract_tests::test_config())
        .await
        .unwrap();
    let native = pingone_mfa_connector::manifest();
    assert_eq!(
        runtime.manifest(),
        &native,
        "the embedded component is stale or differs from the connector crate"
    );
    assert_eq!(
        runtime.capabilities().count(),
        native["capabilities"].as_array().unwrap().len()
    );
    runtime.compile_schemas().expect("every schema compiles");
}

#[test]
fn settings_schema_marks_the_client_secret() {
    let manifest = pingone_mfa_connector::manifest();
    assert_eq!(
        manifest["settings"]["properties"]["clientSecret"]["secret"],
        true
    );
    for (key, value) in manifest["settings"]["properties"].as_object().unwrap() {
        if key != "clientSecret" {
            assert!(value.get("secret").is_none(), "{key} is not a secret");
        }
    }
}
