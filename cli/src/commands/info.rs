//! `xenadm info`: the host's facts, like `xl info`.

use std::path::PathBuf;

use xen_core::XenError;
use xen_core::host::capture::parse_xl_info;
use xen_core::render::xl_info;

use crate::commands::host;
use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Add the CPU, PCI device and NUMA topology tables, like `xl info -n`.
    #[arg(short = 'n', long)]
    pub numa: bool,
    /// Read saved `xl info` output instead of this host (`-` for standard input), e.g. to
    /// convert it with `--json`.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
}

/// Runs `xenadm info [-n]`: `xl info [-n]`'s lines, byte for byte, or `--json` (memory in
/// KiB or bytes as the field names say, CPU clock in kHz).
pub fn run(args: &InfoArgs, out: &Output) -> Result<u8, CliError> {
    let mut info = match &args.replay {
        Some(path) => {
            let info = parse_xl_info(&host::read_capture(path)?)?;
            if args.numa && info.topology.is_none() {
                return Err(XenError::Unavailable {
                    what: "the CPU and NUMA topology",
                    source_kind: "capture (saved without `xl info -n`)",
                }
                .into());
            }
            info
        }
        None if args.numa => host::open()?.info_with_topology()?,
        None => host::open()?.info()?,
    };
    if !args.numa {
        info.topology = None;
    }
    if out.json {
        out.print_json(&info)?;
    } else {
        let mut text = Vec::new();
        xl_info::write(&mut text, &info).map_err(CliError::Output)?;
        host::print_bytes(&text)?;
    }
    Ok(0)
}
