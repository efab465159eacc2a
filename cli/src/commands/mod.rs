//! One module per top-level subcommand.

pub mod boot;
pub mod cpuid;
pub mod docs;
pub mod image;
pub mod status;
pub mod vhostmd;
