//! Where results go: text or JSON on stdout, warnings on stderr unless `-q`.

use std::io::{self, Write};

use serde::Serialize;

use crate::error::CliError;

/// How results and warnings are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json` was given.
    pub json: bool,
    quiet: bool,
}

impl Output {
    /// From the global options.
    pub fn new(json: bool, quiet: bool) -> Output {
        Output { json, quiet }
    }

    /// Whether `-q` asked for errors only (no warnings, no progress).
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Prints `value` as pretty JSON and a newline (buffered: stdout is line-buffered, and
    /// large outputs such as extent maps would otherwise cost a write per line).
    pub fn print_json<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        let mut stdout = io::BufWriter::new(io::stdout().lock());
        serde_json::to_writer_pretty(&mut stdout, value)?;
        stdout.write_all(b"\n").map_err(CliError::Output)?;
        stdout.flush().map_err(CliError::Output)?;
        Ok(())
    }

    /// Prints text as is.
    pub fn print(&self, text: &str) -> Result<(), CliError> {
        let mut stdout = io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .map_err(CliError::Output)?;
        stdout.flush().map_err(CliError::Output)?;
        Ok(())
    }

    /// A warning on stderr, unless `-q`.
    pub fn warn(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            let _ = writeln!(io::stderr().lock(), "xenadm: warning: {message}");
        }
    }
}

/// Writes bytes to stdout and flushes them.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(bytes).map_err(CliError::Output)?;
    stdout.flush().map_err(CliError::Output)?;
    Ok(())
}

/// Aligns rows of cells into columns (two spaces apart, last column unpadded), like xl:
/// the one layout the libraries' text renderings use too.
pub use text_table::columns;
