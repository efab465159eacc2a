//! `xenadm migrate`, `xenadm migrate-receive` and `xenadm migrate-resume`: live migration,
//! wire-compatible with `xl migrate` both ways (the work is in [`xen_core::migrate`]).

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use xen_core::ffi::SuspendAbi;
use xen_core::migrate::{
    self, Control, EXIT_MOVED, EXIT_ON_SOURCE, Event, LibxlBackend, MigrateError, MigrateRequest,
    ReceiveOptions, RunError, RunHooks, SaverEvent,
};

use crate::error::CliError;
use crate::output::Output;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar on a terminal, phase lines otherwise.
    Auto,
    /// One JSON event per line on stdout.
    Json,
    /// Nothing until the result.
    None,
}

/// `xenadm migrate`: xl's options and rune, with progress, downtime and a safe rollback.
#[derive(Debug, clap::Args)]
#[command(after_long_help = MIGRATE_HELP)]
pub struct MigrateArgs {
    /// The guest (name or domain id).
    pub domain: String,
    /// The target host; with `-s ""` the whole transport command instead.
    pub host: String,
    /// Transport command (default ssh); "" runs HOST itself as the transport.
    #[arg(short = 's', long = "ssh", value_name = "SSHCMD")]
    pub ssh: Option<String>,
    /// The receiver does not daemonize or monitor (forwarded as ` -e`, as xl).
    #[arg(short = 'e')]
    pub no_monitor: bool,
    /// Send this config (libxl JSON, or one `xl list -l` entry) instead of the stored one.
    #[arg(short = 'C', value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// Leave the guest paused on the target.
    #[arg(short = 'p')]
    pub paused: bool,
    /// libxc's verify pass; the receiver gets ` -d`.
    #[arg(long)]
    pub debug: bool,
    /// Between two xenadm ends: elide zero pages and compress the stream with LZ4 (asked of the
    /// receiver through the rune as `--wire lz4`, confirmed by it; refused towards stock xl and
    /// with -s "").
    #[arg(long)]
    pub compress: bool,
    /// The most MiB per second on the wire (any receiver, xl's too).
    #[arg(long, value_name = "MIB_PER_S", value_parser = parse_bandwidth)]
    pub bandwidth: Option<u64>,
    /// The command run on the target (e.g. "xl migrate-receive" for a host with stock xl).
    #[arg(long, value_name = "CMD", default_value = migrate::DEFAULT_RECEIVE_COMMAND)]
    pub receive_command: String,
    /// Progress display.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// How libxl_domain_suspend is called: neutral (the default, right for upstream and SUSE
    /// builds), upstream (int flags) or props (SUSE's struct). Also $XENADM_SUSPEND_ABI.
    #[arg(long, value_name = "ABI", value_parser = parse_abi)]
    pub suspend_abi: Option<SuspendAbi>,
    /// Only run the preflight (CPU policy, CPUID levelling, disks, memory, bridges, PCI, Xen
    /// versions, name) and print its table; move nothing. Exit 0 can move, 1 cannot, 2 not
    /// fully checked. Without it, a migration runs the preflight first and refuses on a FAIL.
    #[arg(long, conflicts_with = "no_check")]
    pub check: bool,
    /// Migrate without the preflight.
    #[arg(long)]
    pub no_check: bool,
    /// The xenadm the preflight runs on the target (`xenadm migrate-probe`); a target without
    /// xenadm is probed with stock tools.
    #[arg(long, value_name = "PATH", default_value = "xenadm")]
    pub remote_xenadm: String,
    /// Who copies the memory: libxl (libxl_domain_suspend, libxc's fixed policy) or xenadm's
    /// own pre-copy engine over libxenguest (PV guests; the options below). Either way the
    /// stream is libxl's, for any receiver.
    #[arg(long, value_enum, default_value_t = Engine::Libxl)]
    pub engine: Engine,
    /// xenadm engine: stop the live passes once the dirty pages' estimated copy time (at the
    /// last pass's measured throughput) is at most MS milliseconds.
    #[arg(long, value_name = "MS")]
    pub max_downtime: Option<u64>,
    /// xenadm engine: at most N live passes, the first full one included (default 5, libxc's).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_passes: Option<u32>,
    /// xenadm engine: while the guest dirties memory faster than the link carries it, halve
    /// its CPU share (a credit/credit2 cap) pass by pass; its own cap is put back afterwards,
    /// whatever happens.
    #[arg(long)]
    pub auto_converge: bool,
    /// xenadm engine: when the guest cannot converge (or miss --max-downtime at the pass
    /// limit), cancel: the guest keeps running here.
    #[arg(long)]
    pub abort_if_not_converging: bool,
}

/// Who copies the guest's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// libxl_domain_suspend (what xl does).
    Libxl,
    /// xenadm's pre-copy engine over libxenguest's xc_domain_save (PV guests).
    Xenadm,
}

impl From<Engine> for migrate::Engine {
    fn from(engine: Engine) -> migrate::Engine {
        match engine {
            Engine::Libxl => migrate::Engine::Libxl,
            Engine::Xenadm => migrate::Engine::Xenadm,
        }
    }
}

impl MigrateArgs {
    /// The library's request from the arguments.
    fn request(&self, verbose: u8) -> MigrateRequest {
        let mut request = MigrateRequest::new(&self.domain, &self.host);
        let send = &mut request.send;
        send.ssh_command = self.ssh.clone();
        send.receive_command = self.receive_command.clone();
        send.no_monitor = self.no_monitor;
        send.config_file = self.config.clone();
        send.paused = self.paused;
        send.debug = self.debug;
        send.compress = self.compress;
        send.bandwidth_bytes_per_s = self.bandwidth;
        request.preflight = !self.no_check;
        request.remote_xenadm = self.remote_xenadm.clone();
        request.engine = self.engine.into();
        request.policy.max_downtime_ms = self.max_downtime;
        request.policy.max_passes = self.max_passes;
        request.policy.auto_converge = self.auto_converge;
        request.policy.abort_if_not_converging = self.abort_if_not_converging;
        request.suspend_abi = self.suspend_abi;
        request.log_level = migrate::log_level(verbose);
        request
    }
}

const MIGRATE_HELP: &str = "\
The bytes on the wire are xl's: `xl migrate-receive` can be the receiver
(--receive-command \"xl migrate-receive\" or -s \"\" \"ssh HOST xl migrate-receive -e\"), and
`xl migrate -s \"\" GUEST \"ssh HOST xenadm migrate-receive\"` sends to xenadm.

Ctrl-C before the point of no return (GO) cancels: the guest keeps running here and the
target drops its partial copy. After GO it is refused.

Exit codes:
  0  moved: the guest runs on the target
  1  failed, the guest still runs on this host (nothing to do)
  3  the guest needs the administrator: the message says which host to check and the
     commands that fix it (e.g. `xenadm migrate-resume NAME--migratedaway`)
With --check (the preflight only, nothing moves):
  0  the guest can move (every row pass or warn)
  1  it cannot: a row failed (a migration without --check refuses then, before any byte moves)
  2  not fully checked: a row could not be checked (no xenadm or xen-cpuid on the target,
     -s \"\"), or the preflight could not run";

fn parse_abi(text: &str) -> Result<SuspendAbi, String> {
    migrate::parse_suspend_abi(text)
}

fn parse_bandwidth(text: &str) -> Result<u64, String> {
    migrate::parse_bandwidth(text)
}

/// `xenadm migrate-receive`: the target side, run by a sender's transport.
#[derive(Debug, clap::Args)]
#[command(after_long_help = RECEIVE_HELP)]
pub struct ReceiveArgs {
    /// Accepted for xl compatibility: xenadm's receiver never daemonizes or monitors.
    #[arg(short = 'e')]
    pub no_monitor: bool,
    /// Accepted for xl compatibility (no daemon).
    #[arg(short = 'F')]
    pub foreground: bool,
    /// Print the received config on stderr.
    #[arg(short = 'd')]
    pub debug: bool,
    /// Leave the guest paused.
    #[arg(short = 'p')]
    pub paused: bool,
    /// The wire format a xenadm sender asked for (its rune adds it; xl never does).
    #[arg(long, value_name = "FORMAT", value_parser = ["lz4"])]
    pub wire: Option<String>,
}

const RECEIVE_HELP: &str = "\
Reads the migration from stdin and answers on stdout (xl's protocol); messages go to stderr.
Like `xl migrate-receive -e`, no process stays behind to watch the guest: its on_poweroff,
on_reboot and on_crash actions are not carried out for a received guest (a reboot leaves it
shut down; restart it with `xl create`). Holds xl's lock /var/lock/xl during the restore.";

/// `xenadm migrate-resume`: puts a guest left behind by a failed migration back into service.
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The guest (NAME or NAME--migratedaway, or its id).
    pub domain: String,
}

/// Runs `xenadm migrate` (`--check`: only the preflight).
pub fn run(args: &MigrateArgs, verbose: u8, out: &Output) -> Result<u8, CliError> {
    let request = args.request(verbose);
    if args.check {
        let options = request.check_options(args.ssh.as_deref());
        return crate::commands::migrate_check::run(&options, out);
    }
    let bar = Arc::new(OnceLock::new());
    let quiet = out.quiet();
    let hooks = RunHooks {
        on_preflight: Box::new(move |table| {
            if !quiet {
                let _ = write!(std::io::stderr().lock(), "{table}");
            }
        }),
        on_signal: Some(Box::new(|line| eprintln!("{line}"))),
        progress: progress_sink(args.progress, quiet, &bar),
    };
    let result = migrate::run(&request, &Control::new(), hooks);
    if let Some(bar) = bar.get() {
        bar.finish_and_clear();
    }
    match result {
        Ok(summary) if out.json => out.print_json(&summary).map(|()| EXIT_MOVED),
        Ok(summary) => {
            let target = migrate::target_label(args.ssh.as_deref(), &args.host);
            out.print(&migrate::summary_text(&summary, &target))?;
            summary.warnings.iter().for_each(|w| out.warn(w));
            Ok(EXIT_MOVED)
        }
        Err(RunError::Invalid(MigrateError::PolicyNeedsEngine)) => clap::Error::raw(
            clap::error::ErrorKind::ArgumentConflict,
            "--max-downtime, --max-passes, --auto-converge and --abort-if-not-converging need --engine xenadm\n",
        )
        .exit(),
        Err(RunError::Preflight { domain, source }) => {
            crate::commands::migrate_check::print_error(&domain, &source, false);
            Ok(1)
        }
        Err(RunError::Refused { text, .. }) => {
            let _ = write!(std::io::stderr().lock(), "{text}");
            Ok(1)
        }
        Err(RunError::Failed(failure)) => {
            if out.json {
                out.print_json(&migrate::failure_json(&failure))?;
            }
            let _ = write!(
                std::io::stderr().lock(),
                "{}",
                migrate::failure_text(&failure)
            );
            Ok(failure.exit_code())
        }
        Err(RunError::Invalid(e)) => Err(xen_core::XenError::from(e).into()),
        Err(RunError::Setup(e)) => Err(e.into()),
        // A kind of failure this xenadm does not know yet: nothing was said to have moved.
        Err(other) => {
            crate::error::print_report(&other, &other, &[]);
            Ok(EXIT_ON_SOURCE)
        }
    }
}

/// Where progress goes; a terminal's bar is made at the first event (after the preflight,
/// whose table it would otherwise draw over) and kept in `bar` to be cleared at the end.
fn progress_sink(
    mode: ProgressMode,
    quiet: bool,
    bar: &Arc<OnceLock<ProgressBar>>,
) -> migrate::ProgressSink {
    match mode {
        ProgressMode::None => Box::new(|_| {}),
        ProgressMode::Json => Box::new(|event: &Event| {
            if let Ok(line) = serde_json::to_string(event) {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{line}");
                let _ = stdout.flush();
            }
        }),
        ProgressMode::Auto if quiet => Box::new(|_| {}),
        ProgressMode::Auto if std::io::stderr().is_terminal() => {
            let bar = Arc::clone(bar);
            let mut view = migrate::ProgressView::default();
            Box::new(move |event: &Event| {
                bar.get_or_init(spinner).set_message(view.update(event));
            })
        }
        ProgressMode::Auto => Box::new(|event: &Event| {
            match event {
                Event::Phase { phase } => {
                    eprintln!("migration sender: {}", migrate::phase_text(*phase));
                }
                // xenadm's engine: every decision of its policy, one line each.
                Event::Saver(SaverEvent::Policy(decision)) => {
                    eprintln!("migration sender: {}", migrate::policy_text(decision));
                }
                _ => {}
            }
        }),
    }
}

/// The bar on a terminal.
fn spinner() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Runs `xenadm migrate-receive`: stdin is the stream, stdout the answers (moved aside first,
/// so nothing else can write into the protocol).
pub fn receive(args: &ReceiveArgs, verbose: u8) -> Result<u8, CliError> {
    let (input, mut output) = migrate::receiver_stdio().map_err(CliError::Output)?;
    let _ = (args.no_monitor, args.foreground);
    let mut note = |line: &str| eprintln!("migration target: {line}");
    let mut backend = LibxlBackend::open(migrate::log_level(verbose), SuspendAbi::default())?;
    let mut options = ReceiveOptions::xl(args.paused, args.debug);
    options.wire = args.wire.is_some();
    match migrate::receive(&mut backend, &input, &mut output, &options, &mut note) {
        Ok(_) => Ok(0),
        Err(e) => {
            eprintln!("migration target: error: {e}");
            Ok(1)
        }
    }
}

/// Runs `xenadm migrate-resume`.
pub fn resume(args: &ResumeArgs, verbose: u8, out: &Output) -> Result<u8, CliError> {
    let mut backend = LibxlBackend::open(migrate::log_level(verbose), SuspendAbi::default())?;
    let (domid, name, resumed) =
        migrate::resume_on_source(&mut backend, &args.domain).map_err(xen_core::XenError::from)?;
    out.print(&migrate::resume_text(domid, &name, resumed))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        args: MigrateArgs,
    }

    fn request(extra: &[&str]) -> Result<MigrateRequest, String> {
        let argv = ["migrate", "g1", "hostb"].iter().chain(extra);
        let wrap = <Wrap as clap::Parser>::try_parse_from(argv).map_err(|e| e.to_string())?;
        Ok(wrap.args.request(0))
    }

    #[test]
    fn arguments_become_the_request() {
        let plain = request(&[]).unwrap();
        assert_eq!(plain.engine, migrate::Engine::Libxl);
        assert!(plain.preflight && !plain.policy.is_given());
        assert_eq!(plain.send.ssh_command, None);
        assert_eq!(plain.remote_xenadm, "xenadm");
        let r = request(&[
            "-s",
            "ssh -p 2222",
            "-e",
            "-p",
            "--no-check",
            "--engine",
            "xenadm",
            "--max-downtime",
            "300",
            "--max-passes",
            "8",
            "--auto-converge",
            "--abort-if-not-converging",
        ])
        .unwrap();
        assert_eq!(r.send.ssh_command.as_deref(), Some("ssh -p 2222"));
        assert!(r.send.no_monitor && r.send.paused && !r.preflight);
        assert_eq!(r.engine, migrate::Engine::Xenadm);
        assert_eq!(r.policy.max_downtime_ms, Some(300));
        assert_eq!(r.policy.max_passes, Some(8));
        assert!(r.policy.auto_converge && r.policy.abort_if_not_converging);
        // The rule that the policy needs --engine xenadm is the library's (PolicyRequest).
        let libxl = request(&["--auto-converge"]).unwrap();
        assert!(libxl.policy.resolve(libxl.engine).is_err());
        assert!(request(&["--engine", "xenadm", "--max-passes", "0"]).is_err());
        assert!(request(&["--engine", "qemu"]).is_err());
        assert!(request(&["--check", "--no-check"]).is_err());
    }
}
