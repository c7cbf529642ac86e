//! The committed JSON Schemas in `schemas/<connector>/` are generated files.
//! These tests fail when they drift from what each connector's types
//! produce or from what its compiled component reports in its manifest.
//!
//! Regenerate with: `UPDATE_SCHEMAS=1 cargo test -p contract-tests --test schemas`

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn schema_dir(connector: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .join(connector)
}

/// Every connector of the workspace, with the manifest its crate builds.
fn manifests() -> Vec<(&'static str, Value)> {
    vec![
        (
            pingone_mfa_connector::NAME,
            serde_json::to_value(pingone_mfa_connector::manifest()).unwrap(),
        ),
        (
            http_connector::NAME,
            serde_json::to_value(http_connector::manifest()).unwrap(),
        ),
    ]
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
    for (connector, manifest) in manifests() {
        check_committed(connector, &manifest);
    }
}

fn check_committed(connector: &str, manifest: &Value) {
    let expected = expected_files(manifest);
    let dir = schema_dir(connector);
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
        "schemas/{connector} drifted from the connector types:\n  {}\nRegenerate: UPDATE_SCHEMAS=1 cargo test -p contract-tests --test schemas",
        stale.join("\n  ")
    );
}

#[tokio::test]
async fn component_manifest_matches_the_connector_types() {
    let runtime = connector_testkit::runtime(contract_tests::test_config()).await;
    for (connector, native) in manifests() {
        let loaded = runtime.connector(connector).expect("loaded");
        assert_eq!(
            loaded.manifest_json(),
            &native,
            "the embedded {connector} component is stale or differs from its crate"
        );
        assert_eq!(
            loaded.capabilities().count(),
            native["capabilities"].as_array().unwrap().len()
        );
        loaded.compile_schemas().expect("every schema compiles");
    }
    assert_eq!(
        runtime
            .connector(pingone_mfa_connector::NAME)
            .unwrap()
            .capabilities()
            .count(),
        26
    );
}

#[test]
fn settings_schemas_mark_exactly_the_secrets() {
    for (connector, manifest) in manifests() {
        let expected: &[&str] = if connector == "http" {
            &["apiKey", "bearerToken", "clientSecret"]
        } else {
            &["clientSecret"]
        };
        for (key, value) in manifest["settings"]["properties"].as_object().unwrap() {
            assert_eq!(
                value.get("secret") == Some(&Value::Bool(true)),
                expected.contains(&key.as_str()),
                "{connector}.{key}"
            );
        }
    }
}
