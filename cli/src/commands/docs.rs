//! `xenadm completions` and `xenadm man`: generated from the clap definitions.

use std::fs;
use std::path::Path;

use clap::CommandFactory as _;

use crate::args::Cli;
use crate::error::CliError;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<u8, CliError> {
    let mut command = Cli::command();
    // clap_complete panics when its writer fails (a closed pipe, a full disk): generate into
    // memory, then write through the error path every command uses.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "xenadm", &mut script);
    crate::output::write_stdout(&script)?;
    Ok(0)
}

/// Prints xenadm.1, or writes every page into `out_dir`.
pub fn man(out_dir: Option<&Path>) -> Result<u8, CliError> {
    let command = Cli::command();
    match out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            crate::output::write_stdout(&page)?;
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
