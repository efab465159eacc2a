//! `vhostmd`: drop-in replacement for the upstream host metrics daemon.
//!
//! Same options as upstream (`-v -d -f -p -u -c`), plus `--check-config FILE` (replaces
//! `xmllint --postvalid --noout`), `--vm-source`, `--vms FILE`, `--action-timeout` and
//! `--once`. All logic lives in the `vhostmd` crate.

#![forbid(unsafe_code)]

#[path = "../dropin/daemon_log.rs"]
mod daemon_log;
#[path = "../dropin/vhostmd_args.rs"]
mod vhostmd_args;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use vhostmd::daemon::{self, DaemonOptions};
use vhostmd::{Config, VhostmdError, VmSourceKind};
use vhostmd_args::{Args, Source};

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
        for word in &config.ignored_transports {
            let _ = writeln!(
                std::io::stderr().lock(),
                "vhostmd: warning: {}: <transport>{word}</transport> is not vbd, virtio or xenstore: ignored",
                file.display()
            );
        }
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}: valid ({} metrics)",
            file.display(),
            config.metrics.len()
        );
        return Ok(());
    }
    let kind = match args.vm_source {
        Source::Auto => VmSourceKind::Auto,
        Source::Libvirt => VmSourceKind::Libvirt,
        Source::Xen => VmSourceKind::Xen,
        Source::None => VmSourceKind::None,
    };
    let vms = kind.open_here(args.vms.as_deref(), args.connect.clone())?;
    // The library logs through `tracing`; upstream's sinks: stderr with -d, else syslog.
    let sink = if args.no_daemonize {
        daemon_log::Sink::Stderr
    } else {
        daemon_log::Sink::Syslog("/dev/log".into())
    };
    daemon_log::install(sink, args.verbose);
    let mut options = DaemonOptions::new(args.config);
    options.connect = args.connect;
    options.foreground = args.no_daemonize;
    options.pid_file = args.pid_file.or_else(daemon::default_pid_file);
    options.user = args.user;
    options.action_timeout = Duration::from_secs(args.action_timeout.max(1));
    options.max_updates = args.once.then_some(1);
    daemon::run(options, vms)
}
