//! `xenadm info`: the host's facts, like `xl info`.

use std::path::PathBuf;

use xen_core::host::capture::parse_xl_info;
use xen_core::render::xl_info;

use crate::commands::host;
use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Read saved `xl info` output instead of this host (`-` for standard input), e.g. to
    /// convert it with `--json`.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
}

/// Runs `xenadm info`: `xl info`'s lines, byte for byte, or `--json` (memory in KiB, CPU
/// clock in kHz).
pub fn run(args: &InfoArgs, out: &Output) -> Result<u8, CliError> {
    let info = match &args.replay {
        Some(path) => parse_xl_info(&host::read_capture(path)?)?,
        None => host::open()?.info()?,
    };
    if out.json {
        out.print_json(&info)?;
    } else {
        let mut text = Vec::new();
        xl_info::write(&mut text, &info)?;
        host::print_bytes(&text)?;
    }
    Ok(0)
}
