//! `vm-dump-metrics`: drop-in replacement for upstream's guest-side reader. Prints the metrics
//! document exactly as upstream does (the raw document from the disk, or the virtio answer).
//!
//! Options as upstream (`-b`, `-i`, `-x`, `-d FILE`/`--dest FILE`/`--dest=FILE`, `-v`), plus
//! `--disk PATH` to read an image or device directly, `--port PATH` and `--timeout SECONDS`.
//! Unlike upstream it reads disks smaller than 64 KiB and gives up on a disk that stays busy.
//! The document is checked and copied in blocks (`vhostmd::copy_document`): memory stays
//! bounded whatever the document's length.

#![forbid(unsafe_code)]

#[path = "../dropin/vm_dump_metrics_args.rs"]
mod vm_dump_metrics_args;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use vhostmd::{ProbeOptions, ReadOptions, VhostmdError, copy_document, find_disk};
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
    let mut out = Output::new(args.dest.clone());
    let result = if args.xenstore {
        return Err(VhostmdError::VmSource {
            source_name: "xenstore",
            message: "the xenstore transport is not supported; use -b (disk) or -i (virtio)".into(),
        });
    } else if args.virtio {
        virtio(args, timeout, &mut out)
    } else if args.vbd || args.disk.is_some() {
        vbd(args, timeout, &mut out)
    } else {
        match vbd(args, timeout, &mut out) {
            // Only when nothing of the disk's document went out.
            Err(disk_err) if out.written == 0 => {
                virtio(args, timeout, &mut out).map_err(|_| disk_err)
            }
            other => other,
        }
    };
    match result {
        // `vm-dump-metrics | head`: the reader went away; end quietly.
        Err(VhostmdError::Write { source, .. })
            if args.dest.is_none() && source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Standard output, or the `--dest` file created at the first write (so a failed read
/// leaves no file).
struct Output {
    dest: Option<PathBuf>,
    file: Option<std::fs::File>,
    written: u64,
}

impl Output {
    fn new(dest: Option<PathBuf>) -> Output {
        Output {
            dest,
            file: None,
            written: 0,
        }
    }

    fn name(&self) -> PathBuf {
        self.dest
            .clone()
            .unwrap_or_else(|| PathBuf::from("<stdout>"))
    }
}

impl std::io::Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = match &self.dest {
            None => std::io::stdout().lock().write(buf)?,
            Some(path) => {
                if self.file.is_none() {
                    self.file = Some(std::fs::File::create(path)?);
                }
                match &mut self.file {
                    Some(f) => f.write(buf)?,
                    None => 0,
                }
            }
        };
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None if self.dest.is_none() => std::io::stdout().lock().flush(),
            // Nothing was written (an empty answer): create the file as before.
            None => self
                .dest
                .as_ref()
                .map_or(Ok(()), |p| std::fs::File::create(p).map(drop)),
        }
    }
}

fn virtio(args: &Args, timeout: Duration, out: &mut Output) -> Result<(), VhostmdError> {
    let bytes = vhostmd::virtio::request_metrics(&args.port, timeout)?;
    let name = out.name();
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|source| VhostmdError::Write { path: name, source })
}

/// The disk's document, copied in bounded memory.
fn vbd(args: &Args, timeout: Duration, out: &mut Output) -> Result<(), VhostmdError> {
    let path = match &args.disk {
        Some(p) => p.clone(),
        None => find_disk(&ProbeOptions::default())?,
    };
    let options = ReadOptions::with_timeout(timeout, Duration::from_millis(100));
    let name = out.name();
    copy_document(&path, &options, out, &name).map(drop)
}
