//! `xenadm completions` and `xenadm man`: generated from the clap definitions.

use std::fs;
use std::io;
use std::path::Path;

use clap::CommandFactory as _;

use crate::args::Cli;
use crate::error::CliError;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<u8, CliError> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "xenadm", &mut io::stdout().lock());
    Ok(0)
}

/// Prints xenadm.1, or writes every page into `out_dir`.
pub fn man(out_dir: Option<&Path>) -> Result<u8, CliError> {
    let command = Cli::command();
    match out_dir {
        None => {
            clap_mangen::Man::new(command).render(&mut io::stdout().lock())?;
        }
        Some(dir) => {
            fs::create_dir_all(dir).map_err(|source| CliError::WriteFile {
                path: dir.to_path_buf(),
                source,
            })?;
            clap_mangen::generate_to(command, dir).map_err(|source| CliError::WriteFile {
                path: dir.to_path_buf(),
                source,
            })?;
        }
    }
    Ok(0)
}
