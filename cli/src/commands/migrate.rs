//! `xenadm migrate`, `xenadm migrate-receive` and `xenadm migrate-resume`: live migration,
//! wire-compatible with `xl migrate` both ways (the work is in [`xen_core::migrate`]).

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use xen_core::ffi::SuspendAbi;
use xen_core::migrate::engine::EngineBackend;
use xen_core::migrate::engine::policy::PolicyOptions;
use xen_core::migrate::{
    self, Control, EXIT_MOVED, Event, LibxlBackend, MigrationBackend, ReceiveOptions, SaverEvent,
    SendOptions,
};
use xen_core::preflight::SharedSsh;

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

impl MigrateArgs {
    /// The engine's policy, or a usage error when its options come without `--engine xenadm`.
    fn policy(&self) -> Result<Option<PolicyOptions>, String> {
        let given = self.max_downtime.is_some()
            || self.max_passes.is_some()
            || self.auto_converge
            || self.abort_if_not_converging;
        match self.engine {
            Engine::Libxl if given => Err("--max-downtime, --max-passes, --auto-converge and --abort-if-not-converging need --engine xenadm".to_string()),
            Engine::Libxl => Ok(None),
            Engine::Xenadm => {
                let mut options = PolicyOptions::default();
                options.max_downtime = self.max_downtime.map(Duration::from_millis);
                if let Some(passes) = self.max_passes {
                    options.max_passes = passes;
                }
                options.auto_converge = self.auto_converge;
                options.abort_if_not_converging = self.abort_if_not_converging;
                Ok(Some(options))
            }
        }
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

/// Runs `xenadm migrate`.
pub fn run(args: &MigrateArgs, verbose: u8, out: &Output) -> Result<u8, CliError> {
    // One ssh connection for the probe and the stream when both go over default ssh; the
    // master lives until this function returns.
    let preflight_then_send = !args.no_check && !args.check;
    let (_shared, ssh) =
        SharedSsh::for_migration(&args.host, args.ssh.as_deref(), preflight_then_send);
    if !args.no_check {
        let check = crate::commands::migrate_check::options(
            &args.domain,
            &args.host,
            ssh.as_deref(),
            &args.remote_xenadm,
        );
        if let Some(code) = crate::commands::migrate_check::run(&check, args.check, out)? {
            return Ok(code);
        }
    }
    let policy = args.policy().unwrap_or_else(|message| {
        clap::Error::raw(
            clap::error::ErrorKind::ArgumentConflict,
            format!("{message}\n"),
        )
        .exit()
    });
    let control = Control::new();
    control
        .cancel_on_signals(|line| eprintln!("{line}"))
        .map_err(CliError::Output)?;
    let env_abi = std::env::var("XENADM_SUSPEND_ABI").ok();
    let abi = migrate::suspend_abi(args.suspend_abi, env_abi.as_deref())
        .map_err(xen_core::XenError::from)?;
    let level = migrate::log_level(verbose);
    let mut backend: Box<dyn MigrationBackend> = match policy {
        None => Box::new(LibxlBackend::open(level, abi)?),
        Some(policy) => Box::new(EngineBackend::open(level, abi, policy, control.clone())?),
    };
    let mut options = SendOptions::new(&args.domain, &args.host);
    options.ssh_command = ssh;
    options.receive_command = args.receive_command.clone();
    options.no_monitor = args.no_monitor;
    options.config_file = args.config.clone();
    options.paused = args.paused;
    options.debug = args.debug;
    options.compress = args.compress;
    options.bandwidth_bytes_per_s = args.bandwidth;
    let (sink, bar) = progress_sink(args.progress, out.quiet());
    let result = migrate::send(backend.as_mut(), &options, &control, sink);
    if let Some(bar) = bar {
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
        Err(failure) => {
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
    }
}

fn progress_sink(mode: ProgressMode, quiet: bool) -> (migrate::ProgressSink, Option<ProgressBar>) {
    match mode {
        ProgressMode::None => (Box::new(|_| {}), None),
        ProgressMode::Json => (
            Box::new(|event: &Event| {
                if let Ok(line) = serde_json::to_string(event) {
                    let mut stdout = std::io::stdout().lock();
                    let _ = writeln!(stdout, "{line}");
                    let _ = stdout.flush();
                }
            }),
            None,
        ),
        ProgressMode::Auto if quiet => (Box::new(|_| {}), None),
        ProgressMode::Auto if std::io::stderr().is_terminal() => {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            let handle = bar.clone();
            let mut view = migrate::ProgressView::default();
            (
                Box::new(move |event: &Event| handle.set_message(view.update(event))),
                Some(bar),
            )
        }
        ProgressMode::Auto => (
            Box::new(|event: &Event| {
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
            None,
        ),
    }
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

    fn policy(extra: &[&str]) -> Result<Option<PolicyOptions>, String> {
        let argv = ["migrate", "g1", "hostb"].iter().chain(extra);
        <Wrap as clap::Parser>::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .args
            .policy()
    }

    #[test]
    fn engine_options_need_the_xenadm_engine() {
        assert_eq!(policy(&[]), Ok(None));
        assert_eq!(policy(&["--engine", "libxl"]), Ok(None));
        let err = policy(&["--auto-converge"]).unwrap_err();
        assert!(err.contains("need --engine xenadm"), "{err}");
        assert!(policy(&["--engine", "libxl", "--max-downtime", "300"]).is_err());
        assert_eq!(
            policy(&["--engine", "xenadm"]),
            Ok(Some(PolicyOptions::default()))
        );
        let options = policy(&[
            "--engine",
            "xenadm",
            "--max-downtime",
            "300",
            "--max-passes",
            "8",
            "--auto-converge",
            "--abort-if-not-converging",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(options.max_downtime, Some(Duration::from_millis(300)));
        assert_eq!(options.max_passes, 8);
        assert!(options.auto_converge && options.abort_if_not_converging);
        assert!(policy(&["--engine", "xenadm", "--max-passes", "0"]).is_err());
        assert!(policy(&["--engine", "qemu"]).is_err());
    }
}
