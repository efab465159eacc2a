//! `xenadm list`: the domains, like `xl list`.

use std::path::PathBuf;

use xen_core::host::capture::parse_xl_list;
use xen_core::render::xl_list;

use crate::commands::host;
use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only these domains (names or ids), like `xl list DOMAIN`.
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// Read saved `xl list` output instead of this host (`-` for standard input), e.g. to
    /// convert it with `--json`.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
}

/// Runs `xenadm list`: `xl list`'s columns, byte for byte, or `--json` with every detail
/// (vCPUs, vifs, VBDs) of each domain.
pub fn run(args: &ListArgs, out: &Output) -> Result<u8, CliError> {
    let domains = match &args.replay {
        Some(path) => parse_xl_list(&host::read_capture(path)?)?,
        None => host::open()?.domains()?,
    };
    let domains = xen_core::host::select(domains, &args.domains)?;
    if out.json {
        out.print_json(&domains)?;
    } else {
        let mut text = Vec::new();
        xl_list::write(&mut text, &domains).map_err(CliError::Output)?;
        host::print_bytes(&text)?;
    }
    Ok(0)
}
