//! Tests that need an external tool (losetup, mkfs, grub-mkconfig) or a kernel feature: they
//! skip, saying why, on a machine without it, and fail in CI, where `.ci/run` installs
//! everything and sets `XENADM_REQUIRE_TOOLS=1`.

use std::process::Command;

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
