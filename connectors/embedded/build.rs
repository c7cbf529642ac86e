//! Builds the connector components for `wasm32-wasip2` so that a plain
//! `cargo build` or `cargo test` has them; `lib.rs` embeds them.

#[path = "../../build-support/guest.rs"]
mod guest;

use std::path::PathBuf;

fn main() {
    let workspace = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf();
    for watched in [
        "connectors/pingone-mfa",
        "connectors/http",
        "sdk",
        "manifest",
        "wit",
        "build-support",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    for (package, artifact, var) in [
        (
            "pingone-mfa-connector",
            "pingone_mfa_connector.wasm",
            "PINGONE_MFA_COMPONENT",
        ),
        ("http-connector", "http_connector.wasm", "HTTP_COMPONENT"),
    ] {
        let wasm = guest::build_component(&workspace, package, artifact);
        println!("cargo:rustc-env={var}={}", wasm.display());
    }
}
