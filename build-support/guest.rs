//! Shared by the build scripts that compile guest components (the host's
//! PingOne MFA connector, the contract tests' misbehaving guest): builds a
//! workspace package for `wasm32-wasip2` the way wasmtime's test-programs
//! build their guests, and installs the target first on a fresh machine.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `package` with the `guest` profile and returns the component's path.
pub fn build_component(workspace: &Path, package: &str, artifact: &str) -> PathBuf {
    ensure_target();
    // A target directory of its own, shared by every host profile: the outer
    // cargo holds the lock on the main one, so nesting there would deadlock.
    // It is found from OUT_DIR (`<target>/<profile>/build/<pkg>/out`), which
    // is absolute even when CARGO_TARGET_DIR was given as a relative path.
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = out_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent()?.parent())
        .map(|target| target.join("guest"))
        .unwrap_or_else(|| workspace.join("target").join("guest"));
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--package",
            package,
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
        .env_remove("CARGO_LLVM_COV")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    if env::var_os("CARGO_NET_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    let status = cmd
        .status()
        .expect("failed to run cargo for a guest component");
    assert!(
        status.success(),
        "building the {package} component for wasm32-wasip2 failed"
    );
    let wasm = target_dir.join("wasm32-wasip2/guest").join(artifact);
    assert!(
        wasm.exists(),
        "the guest build did not produce {}",
        wasm.display()
    );
    wasm
}

/// Adds the `wasm32-wasip2` target through rustup when the toolchain lacks
/// it, so `cargo test` works as written on a machine that has only the host
/// target.
fn ensure_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot.is_some_and(|s| s.join("lib/rustlib/wasm32-wasip2").exists());
    if installed {
        return;
    }
    println!("cargo:warning=installing the wasm32-wasip2 target with rustup");
    let added = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .status();
    if !added.is_ok_and(|s| s.success()) {
        panic!("the wasm32-wasip2 target is missing and rustup could not add it: run `rustup target add wasm32-wasip2`");
    }
}
