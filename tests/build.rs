//! Builds the misbehaving guest component the fault-matrix tests load.

#[path = "../build-support/guest.rs"]
mod guest;

use std::path::PathBuf;

fn main() {
    let workspace = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    for watched in [
        "tests/guest",
        "wit",
        "build-support",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    let wasm = guest::build_component(&workspace, "misbehaving-guest", "misbehaving_guest.wasm");
    println!(
        "cargo:rustc-env=MISBEHAVING_GUEST_COMPONENT={}",
        wasm.display()
    );
}
