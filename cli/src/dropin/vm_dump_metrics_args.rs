//! The drop-in `vm-dump-metrics`'s command line, shared by the binary and `xenadm man` (which
//! writes its vm-dump-metrics(1) page).

use std::path::PathBuf;

use clap::Parser;

/// Print the host metrics vhostmd provides to this guest.
#[derive(Debug, Parser)]
#[command(name = "vm-dump-metrics", version)]
pub struct Args {
    /// Read the metrics disk only.
    #[arg(short = 'b', long = "vbd")]
    pub vbd: bool,
    /// Read the virtio-serial port only.
    #[arg(short = 'i', long = "virtio")]
    pub virtio: bool,
    /// Read xenstore only (not supported).
    #[arg(short = 'x', long = "xenstore")]
    pub xenstore: bool,
    /// Write the metrics to FILE instead of stdout.
    #[arg(short = 'd', long = "dest", value_name = "FILE")]
    pub dest: Option<PathBuf>,
    /// Accepted for compatibility; no effect.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Read this image or device instead of probing /sys/block.
    #[arg(long, value_name = "PATH")]
    pub disk: Option<PathBuf>,
    /// The virtio-serial port.
    #[arg(long, value_name = "PATH", default_value = vhostmd::virtio::GUEST_PORT)]
    pub port: PathBuf,
    /// Give up after this many seconds (busy disk, silent port).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
}
