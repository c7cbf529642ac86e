//! Builds the PingOne MFA component for `wasm32-wasip2` so that a plain
//! `cargo build` or `cargo test` of the host has it. The host embeds it
//! (see `PINGONE_MFA_COMPONENT` in `runtime.rs`).

#[path = "../build-support/guest.rs"]
mod guest;

use std::path::PathBuf;

fn main() {
    let workspace = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    for watched in [
        "connector/src",
        "connector/Cargo.toml",
        "wit",
        "build-support",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let wasm = guest::build_component(
        &workspace,
        "pingone-mfa-connector",
        "pingone_mfa_connector.wasm",
    );
    println!("cargo:rustc-env=PINGONE_MFA_COMPONENT={}", wasm.display());
}
