//! `xenadm net`. (Being built: issue 7.)

use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm net`.
#[derive(Debug, clap::Args)]
pub struct NetArgs {}

/// Runs `xenadm net`.
pub fn run(_args: &NetArgs, _out: &Output) -> Result<u8, CliError> {
    Ok(1)
}
