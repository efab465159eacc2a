//! `vhostmd`: drop-in replacement for the upstream host metrics daemon.
//!
//! Same options as upstream (`-v -d -f -p -u -c`), plus `--check-config FILE` (replaces
//! `xmllint --postvalid --noout`), `--vm-source`, `--vms FILE`, `--action-timeout` and
//! `--once`. All logic lives in the `vhostmd` crate.

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use vhostmd::daemon::{self, DaemonOptions};
use vhostmd::{Config, NoVms, StaticVms, VhostmdError, VirshVms, VmSource, XenVms};

/// Host metrics for virtual machines: writes them to a metrics disk and serves them over
/// virtio-serial.
#[derive(Debug, Parser)]
#[command(name = "vhostmd", version, about, long_about = None)]
struct Args {
    /// Info messages.
    #[arg(short, long)]
    verbose: bool,
    /// Stay in the foreground and log to stderr.
    #[arg(short = 'd', long = "no-daemonize")]
    no_daemonize: bool,
    /// The configuration file.
    #[arg(short = 'f', long = "config", value_name = "FILE", default_value = vhostmd::DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// Pid file (default /var/run/vhostmd.pid when run as root).
    #[arg(short = 'p', long = "pid-file", value_name = "FILE")]
    pid_file: Option<PathBuf>,
    /// Drop privileges to this user after creating the disk.
    #[arg(short = 'u', long, value_name = "USER")]
    user: Option<String>,
    /// libvirt URI (also replaces CONNECT in actions).
    #[arg(short = 'c', long, value_name = "URI")]
    connect: Option<String>,
    /// Check a configuration file and exit (0 valid, 1 not).
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,
    /// Where the list of running VMs comes from.
    #[arg(long, value_enum, default_value_t = Source::Libvirt)]
    vm_source: Source,
    /// A fixed VM list file (`ID<TAB>NAME<TAB>UUID` per line) instead of --vm-source.
    #[arg(long, value_name = "FILE")]
    vms: Option<PathBuf>,
    /// Seconds an action may run before it is killed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    action_timeout: u64,
    /// Do one update and exit.
    #[arg(long)]
    once: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Source {
    /// libvirt, read-only, through `virsh -r` (as upstream).
    Libvirt,
    /// The Xen host's domains (run in dom0 as root; libxenstat is loaded at run time).
    Xen,
    /// No VMs: host metrics only.
    None,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "vhostmd: error: {}",
                vhostmd::log::chain(&err)
            );
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), VhostmdError> {
    if let Some(file) = &args.check_config {
        let config = Config::read(file)?;
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}: valid ({} metrics)",
            file.display(),
            config.metrics.len()
        );
        return Ok(());
    }
    let vms: Box<dyn VmSource> = match (&args.vms, args.vm_source) {
        (Some(file), _) => Box::new(StaticVms::read(file)?),
        (None, Source::Libvirt) => Box::new(VirshVms::new(args.connect.clone())),
        (None, Source::None) => Box::new(NoVms),
        (None, Source::Xen) => Box::new(XenVms::new()),
    };
    let mut options = DaemonOptions::new(args.config);
    options.connect = args.connect;
    options.verbose = args.verbose;
    options.foreground = args.no_daemonize;
    options.pid_file = args.pid_file.or_else(daemon::default_pid_file);
    options.user = args.user;
    options.action_timeout = Duration::from_secs(args.action_timeout.max(1));
    options.max_updates = args.once.then_some(1);
    daemon::run(options, vms)
}
