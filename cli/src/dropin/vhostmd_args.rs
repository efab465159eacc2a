//! The drop-in `vhostmd`'s command line, shared by the binary and `xenadm man` (which writes
//! its vhostmd(8) page).

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Host metrics for virtual machines: writes them to a metrics disk and serves them over
/// virtio-serial.
#[derive(Debug, Parser)]
#[command(name = "vhostmd", version)]
pub struct Args {
    /// Info messages.
    #[arg(short, long)]
    pub verbose: bool,
    /// Stay in the foreground and log to stderr.
    #[arg(short = 'd', long = "no-daemonize")]
    pub no_daemonize: bool,
    /// The configuration file.
    #[arg(short = 'f', long = "config", value_name = "FILE", default_value = vhostmd::DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// Pid file (default /var/run/vhostmd.pid when run as root).
    #[arg(short = 'p', long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Drop privileges to this user after creating the disk.
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// libvirt URI (also replaces CONNECT in actions).
    #[arg(short = 'c', long, value_name = "URI")]
    pub connect: Option<String>,
    /// Check a configuration file and exit (0 valid, 1 not).
    #[arg(long, value_name = "FILE")]
    pub check_config: Option<PathBuf>,
    /// Where the list of running VMs comes from. In a Xen dom0 the host metrics (physical
    /// CPUs, host memory, CPU time) come from the hypervisor whatever the VM source.
    #[arg(long, value_enum, default_value_t = Source::Auto)]
    pub vm_source: Source,
    /// A fixed VM list file (`ID<TAB>NAME<TAB>UUID` per line) instead of --vm-source.
    #[arg(long, value_name = "FILE")]
    pub vms: Option<PathBuf>,
    /// Seconds an action may run before it is killed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub action_timeout: u64,
    /// Do one update and exit.
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// xen in a Xen dom0, else libvirt.
    Auto,
    /// libvirt, read-only, through `virsh -r` (as upstream).
    Libvirt,
    /// The Xen host's domains (run in dom0 as root; libxenstat is loaded at run time).
    Xen,
    /// No VMs: host metrics only.
    None,
}
