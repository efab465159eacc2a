//! Helpers shared by xen-sys's integration tests: the workspace's one "skip here, fail in CI
//! (`XENADM_REQUIRE_TOOLS=1`, which installs libxen-dev)" rule.

#[allow(unused_imports)]
pub use test_support::tools::{required, skip};
