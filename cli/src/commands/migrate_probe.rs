//! `xenadm migrate-probe --json [--disk PATH]...` (hidden): run on a migration target by the
//! source's preflight over the migration transport; prints this host's facts as versioned JSON
//! (`xen_core::preflight::TargetFacts`).

use xen_core::preflight::LocalXen;

use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm migrate-probe`.
#[derive(Debug, clap::Args)]
pub struct MigrateProbeArgs {
    /// A disk path to report (exists? size?), once per disk of the guest.
    #[arg(long = "disk", value_name = "PATH")]
    pub disks: Vec<String>,
}

/// Prints the facts as JSON (always: the reader is another xenadm).
pub fn run(args: &MigrateProbeArgs, out: &Output) -> Result<u8, CliError> {
    let facts = LocalXen::open()?.target_facts(&args.disks);
    out.print_json(&facts)?;
    Ok(0)
}
