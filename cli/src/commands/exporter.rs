//! `xenadm exporter`. (Being built: issue 7.)

use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm exporter`.
#[derive(Debug, clap::Args)]
pub struct ExporterArgs {}

/// Runs `xenadm exporter`.
pub fn run(_args: &ExporterArgs, _out: &Output) -> Result<u8, CliError> {
    Ok(1)
}
