//! Helpers shared by the CLI integration tests: run the real `xenadm` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The cpuid-mask test data (real dumps, recorded xen_maskcalc.py runs).
pub fn cpuid_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cpuid-mask/tests/data")
}

/// Runs `xenadm ARGS` in `dir`.
pub fn xenadm_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xenadm"))
        .args(args)
        .current_dir(dir)
        .env_remove("XENADM_LOG")
        .output()
        .expect("xenadm runs")
}

/// Runs `xenadm ARGS` in the cpuid test data folder.
pub fn xenadm(args: &[&str]) -> Output {
    xenadm_in(&cpuid_data(), args)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8 stderr")
}

/// Whether an external tool is installed. Tests that need one skip (saying so) when it is
/// missing, unless XENADM_REQUIRE_TOOLS=1 (set by .ci/run after installing them): then a
/// missing tool fails the test.
pub fn have_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("XENADM_REQUIRE_TOOLS").is_none_or(|v| v != "1"),
            "{name} is required (XENADM_REQUIRE_TOOLS=1) but not installed"
        );
        eprintln!("SKIPPED: `{name}` is not installed (apt-get install {name})");
    }
    found
}
