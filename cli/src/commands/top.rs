//! `xenadm top`. (Being built: issue 7.)

use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm top`.
#[derive(Debug, clap::Args)]
pub struct TopArgs {}

/// Runs `xenadm top`.
pub fn run(_args: &TopArgs, _out: &Output) -> Result<u8, CliError> {
    Ok(1)
}
