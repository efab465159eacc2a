//! `xenadm info`. (Being built: issue 7.)

use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {}

/// Runs `xenadm info`.
pub fn run(_args: &InfoArgs, _out: &Output) -> Result<u8, CliError> {
    Ok(1)
}
