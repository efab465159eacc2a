//! Shared helpers for the criterion benchmarks in `benches/`.
//!
//! Run them all with `cargo bench -p xenadm-benches`; figures are recorded in
//! `docs/PERFORMANCE.md`.

#![forbid(unsafe_code)]

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// The real CPUID dumps the cpuid-mask tests use.
pub fn cpuid_dump_dir() -> PathBuf {
    workspace_root().join("cpuid-mask/tests/data/dumps")
}

/// The release `xenadm` binary (`XENADM_BIN` overrides), built first if missing, so whole-
/// process benchmarks measure what users run.
pub fn xenadm_binary() -> io::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("XENADM_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let root = workspace_root();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let bin = target.join("release/xenadm");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--locked", "-p", "xenadm"])
        .current_dir(&root)
        .status()?;
    if !status.success() || !bin.exists() {
        return Err(io::Error::other(format!(
            "could not build {}; run `cargo build --release -p xenadm`",
            bin.display()
        )));
    }
    Ok(bin)
}
