//! Helpers shared by xen-sys's integration tests.

/// `XENADM_REQUIRE_TOOLS=1` (CI, which installs libxen-dev): the Xen headers and libraries
/// must be there.
pub fn required() -> bool {
    std::env::var_os("XENADM_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

/// Skips (saying why) or, when required, fails.
pub fn skip(why: &str) {
    assert!(
        !required(),
        "required in CI (XENADM_REQUIRE_TOOLS=1): {why}"
    );
    eprintln!("SKIPPED: {why}");
}
