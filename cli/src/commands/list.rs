//! `xenadm list`. (Being built: issue 7.)

use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {}

/// Runs `xenadm list`.
pub fn run(_args: &ListArgs, _out: &Output) -> Result<u8, CliError> {
    Ok(1)
}
