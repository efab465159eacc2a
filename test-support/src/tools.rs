//! Tests that need an external tool (losetup, mkfs, grub-mkconfig) or a kernel feature: they
//! skip, saying why, on a machine without it, and fail in CI, where `.ci/run` installs
//! everything and sets `XENADM_REQUIRE_TOOLS=1`.

use std::process::{Command, Output};

/// Whether this run must have every tool (`XENADM_REQUIRE_TOOLS=1`, as CI sets it).
pub fn required() -> bool {
    std::env::var_os("XENADM_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

/// Skips, printing `SKIPPED: why` and returning false, or fails the test when
/// [`required`].
pub fn skip(why: &str) -> bool {
    assert!(
        !required(),
        "required in CI (XENADM_REQUIRE_TOOLS=1): {why}"
    );
    eprintln!("SKIPPED: {why}");
    false
}

/// Whether the command `name` is installed; otherwise [`skip`]s.
pub fn have_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    found
        || skip(&format!(
            "`{name}` is not installed (apt-get install {name})"
        ))
}

/// Runs `command`, which must succeed: otherwise the test fails with the command and its
/// stderr. Its output.
pub fn run_ok(command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `args[0]` with the other `args`, which must succeed (see [`run_ok`]).
pub fn run(args: &[&str]) -> Output {
    run_ok(Command::new(args[0]).args(&args[1..]))
}

/// Whether this runs as root; otherwise [`skip`]s, saying what needs it.
pub fn root_or_skip(what_needs_it: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    root || skip(&format!("{what_needs_it} need root"))
}
