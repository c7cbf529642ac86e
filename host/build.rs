//! Builds the PingOne MFA component for `wasm32-wasip2` so that a plain
//! `cargo build` or `cargo test` of the host has it, the way wasmtime's
//! test-programs build their guests. The component is embedded in the host
//! (see `PINGONE_MFA_COMPONENT` in `lib.rs`).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let host_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = host_dir.parent().unwrap().to_path_buf();
    for watched in ["connector/src", "connector/Cargo.toml", "wit", "Cargo.lock"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }

    // A target directory of its own, shared by every host profile: the outer
    // cargo holds the lock on the main one, so nesting there would deadlock.
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("guest");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args([
            "build",
            "--package",
            "pingone-mfa-connector",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "guest",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        // Flags meant for the host build must not leak into the guest build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
        .env_remove("CARGO_LLVM_COV")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    if env::var_os("CARGO_NET_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    let status = cmd
        .status()
        .expect("failed to run cargo for the guest component");
    if !status.success() {
        panic!(
            "building the PingOne MFA component failed; is the target installed? \
             Run `rustup target add wasm32-wasip2`."
        );
    }
    let wasm = target_dir.join("wasm32-wasip2/guest/pingone_mfa_connector.wasm");
    assert!(
        wasm.exists(),
        "the guest build did not produce {}",
        wasm.display()
    );
    println!("cargo:rustc-env=PINGONE_MFA_COMPONENT={}", wasm.display());
}
