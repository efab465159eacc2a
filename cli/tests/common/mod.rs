//! Helpers shared by the CLI integration tests: run the real `xenadm` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test
#![allow(dead_code)]

pub mod kill;

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

/// Runs `program ARGS` (stdin from `stdin`, if given) under an address-space cap of `cap_mib`
/// MiB (`prlimit --as`) and returns its output and peak resident set in KiB (`/usr/bin/time`).
/// `None` when `prlimit` or `/usr/bin/time` is missing (the test then skips, saying so, unless
/// XENADM_REQUIRE_TOOLS=1).
pub fn capped_run(
    cap_mib: u64,
    program: &Path,
    args: &[&str],
    stdin: Option<&Path>,
) -> Option<(Output, u64)> {
    if !have_tool("prlimit") || !have_tool("/usr/bin/time") {
        return None;
    }
    let rss_file = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={}", cap_mib << 20))
        .args(["--", "/usr/bin/time", "-f", "%M", "-o"])
        .arg(rss_file.path())
        .arg(program)
        .args(args)
        .env_remove("XENADM_LOG");
    if let Some(input) = stdin {
        cmd.stdin(std::fs::File::open(input).unwrap());
    }
    let out = cmd.output().unwrap();
    let text = std::fs::read_to_string(rss_file.path()).unwrap();
    // The last line is the figure; a line before it says when the program was killed.
    let rss = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS from /usr/bin/time: {text:?}"));
    Some((out, rss))
}
