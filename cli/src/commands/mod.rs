//! One module per top-level subcommand.

pub mod boot;
pub mod cpuid;
pub mod docs;
pub mod exporter;
pub mod host;
pub mod image;
pub mod info;
pub mod list;
pub mod migrate;
pub mod migrate_check;
pub mod migrate_probe;
pub mod net;
pub mod signals;
pub mod status;
pub mod stream;
pub mod top;
pub mod top_tui;
pub mod vhostmd;
