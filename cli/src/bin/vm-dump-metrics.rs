//! `vm-dump-metrics`: drop-in replacement for upstream's guest-side reader. Prints the metrics
//! document exactly as upstream does (the raw document from the disk, or the virtio answer).
//!
//! Options as upstream (`-b`, `-i`, `-x`, `-d FILE`/`--dest FILE`/`--dest=FILE`, `-v`), plus
//! `--disk PATH` to read an image or device directly, `--port PATH` and `--timeout SECONDS`.
//! Unlike upstream it reads disks smaller than 64 KiB and gives up on a disk that stays busy.

#![forbid(unsafe_code)]

#[path = "../dropin/vm_dump_metrics_args.rs"]
mod vm_dump_metrics_args;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use vhostmd::{ProbeOptions, ReadOptions, VhostmdError, find_disk, read_disk};
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
    let timeout = Duration::from_secs(args.timeout);
    let bytes = if args.xenstore {
        return Err(VhostmdError::VmSource {
            source_name: "xenstore",
            message: "the xenstore transport is not supported; use -b (disk) or -i (virtio)".into(),
        });
    } else if args.virtio {
        vhostmd::virtio::request_metrics(&args.port, timeout)?
    } else if args.vbd || args.disk.is_some() {
        vbd(args, timeout)?
    } else {
        match vbd(args, timeout) {
            Ok(bytes) => bytes,
            Err(disk_err) => {
                vhostmd::virtio::request_metrics(&args.port, timeout).map_err(|_| disk_err)?
            }
        }
    };
    match &args.dest {
        Some(path) => std::fs::write(path, &bytes).map_err(|source| VhostmdError::Write {
            path: path.clone(),
            source,
        }),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(&bytes).and_then(|()| out.flush()) {
                // `vm-dump-metrics | head`: the reader went away; end quietly.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                result => result.map_err(|source| VhostmdError::Write {
                    path: PathBuf::from("<stdout>"),
                    source,
                }),
            }
        }
    }
}

fn vbd(args: &Args, timeout: Duration) -> Result<Vec<u8>, VhostmdError> {
    let path = match &args.disk {
        Some(p) => p.clone(),
        None => find_disk(&ProbeOptions::default())?,
    };
    let options = ReadOptions::with_timeout(timeout, Duration::from_millis(100));
    Ok(read_disk(&path, &options)?.document)
}
