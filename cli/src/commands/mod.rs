//! One module per top-level subcommand.

pub mod cpuid;
pub mod docs;
pub mod status;
