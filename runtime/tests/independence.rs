//! The runtime knows connectors only through their manifests: no line of
//! its code (doc comments and comments aside) names PingOne, and its
//! dependencies include no connector, emulator or test code.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_connector_is_known_to_the_runtime() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    assert!(files.len() > 10, "the sources were found");
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut in_tests = false;
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            // Unit tests may use any host name as an example.
            if code.starts_with("#[cfg(test)]") {
                in_tests = true;
            }
            if in_tests || code.starts_with("//") {
                continue;
            }
            if code.to_ascii_lowercase().contains("pingone") {
                found.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "connector knowledge in the runtime:\n{}",
        found.join("\n")
    );
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for dependency in [
        "pingone",
        "emulator",
        "testkit",
        "connector-sdk",
        "-connector",
    ] {
        assert!(
            !manifest.contains(dependency),
            "the runtime depends on {dependency}"
        );
    }
}
