//! `xenadm stream`. (Being built: issue 8.)

use crate::error::CliError;
use crate::output::Output;

/// `xenadm stream ...`
#[derive(Debug, clap::Subcommand)]
pub enum StreamCommand {
    /// Placeholder.
    Inspect,
}

/// Runs `xenadm stream ...`.
pub fn run(_cmd: &StreamCommand, _out: &Output) -> Result<u8, CliError> {
    Ok(1)
}
