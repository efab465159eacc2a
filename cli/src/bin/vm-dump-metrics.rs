//! `vm-dump-metrics`: drop-in replacement for upstream's guest-side reader. Prints the metrics
//! document exactly as upstream does (the raw document from the disk, or the virtio answer).
//!
//! Options as upstream (`-b`, `-i`, `-x`, `-d FILE`/`--dest FILE`/`--dest=FILE`, `-v`), plus
//! `--disk PATH` to read an image or device directly, `--port PATH` and `--timeout SECONDS`.
//! Unlike upstream it reads disks smaller than 64 KiB and gives up on a disk that stays busy.
//! The document is checked and copied in blocks (`vhostmd::report::fetch_metrics`): memory
//! stays bounded whatever the document's length.

#![forbid(unsafe_code)]

#[path = "../dropin/vm_dump_metrics_args.rs"]
mod vm_dump_metrics_args;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use vhostmd::VhostmdError;
use vhostmd::report::{FetchOptions, LazyFile, MetricsTransport, fetch_metrics};
use vm_dump_metrics_args::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "vm-dump-metrics: error: {}",
                vhostmd::log::chain(&err)
            );
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), VhostmdError> {
    let transport = if args.xenstore {
        MetricsTransport::Xenstore
    } else if args.virtio {
        MetricsTransport::Virtio
    } else if args.vbd || args.disk.is_some() {
        MetricsTransport::Vbd
    } else {
        MetricsTransport::Auto
    };
    let options = FetchOptions {
        transport,
        disk: args.disk.clone(),
        port: args.port.clone(),
        timeout: Duration::from_secs(args.timeout),
    };
    // Standard output, or the --dest file created at the first write (so a failed read
    // leaves no file).
    let (mut out, name): (Box<dyn std::io::Write>, PathBuf) = match &args.dest {
        Some(path) => (Box::new(LazyFile::new(path.clone())), path.clone()),
        None => (Box::new(std::io::stdout()), PathBuf::from("<stdout>")),
    };
    match fetch_metrics(&options, &mut *out, &name) {
        // `vm-dump-metrics | head`: the reader went away; end quietly.
        Err(VhostmdError::Write { source, .. })
            if args.dest.is_none() && source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(())
        }
        other => other,
    }
}
