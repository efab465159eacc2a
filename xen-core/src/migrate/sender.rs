//! The sending side, step by step as `xl migrate` (reference `migration.md` §1.3, §1.8), with
//! a better rollback: the guest is resumed only when it really is suspended, and every failure
//! says where the guest is and what fixes it.

use std::fs::File;
use std::os::fd::AsFd as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;

use super::backend::{DomainState, MigrationBackend};
use super::error::{MigrateError, Step};
use super::outcome::{Failure, Placement, SendResult};
use super::output::StreamOut;
use super::progress::{DowntimeFrom, Event, Phase, ProgressSink, Summary, emit, seconds};
use super::protocol::{
    BANNER, GO, MIGRATED_AWAY_SUFFIX, READY, REPORT, encode_header, outgoing_config, read_message,
    read_status, write_message,
};
use super::pump;
use super::rune::{DEFAULT_RECEIVE_COMMAND, RuneOptions, rune};
use super::saver::SaverEvent;
use super::transport::{Control, Transport};
use super::wire::CONFIRM;
use crate::host::DomId;
use crate::stream::GuestConfig;

/// How long the sender waits for the transport to exit after closing it (xl's 2 s).
const TRANSPORT_GRACE: Duration = Duration::from_secs(2);

/// `xenadm migrate`'s options (xl's, plus the receiver command).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendOptions {
    /// The guest: name or domain id.
    pub domain: String,
    /// The target host (or the whole transport command with `ssh_command = Some("")`).
    pub host: String,
    /// `-s`: transport command (`None` = `ssh`).
    pub ssh_command: Option<String>,
    /// The command run on the target (default `xenadm migrate-receive`).
    pub receive_command: String,
    /// `-e`: forwarded to the receiver.
    pub no_monitor: bool,
    /// `-C`: send this config (libxl JSON) instead of the one stored for the guest.
    pub config_file: Option<PathBuf>,
    /// `-p`: the target leaves the guest paused.
    pub paused: bool,
    /// `--debug`: libxc's verify pass, ` -d` to the receiver.
    pub debug: bool,
    /// `--compress`: xenadm's wire format (zero elision, LZ4), negotiated with a xenadm
    /// receiver through the rune (see [`super::wire`]).
    pub compress: bool,
    /// `--bandwidth`: the most bytes per second on the wire (towards xl too).
    pub bandwidth_bytes_per_s: Option<u64>,
}

impl SendOptions {
    /// Defaults for moving `domain` to `host` over ssh.
    pub fn new(domain: &str, host: &str) -> SendOptions {
        SendOptions {
            domain: domain.to_string(),
            host: host.to_string(),
            ssh_command: None,
            receive_command: DEFAULT_RECEIVE_COMMAND.to_string(),
            no_monitor: false,
            config_file: None,
            paused: false,
            debug: false,
            compress: false,
            bandwidth_bytes_per_s: None,
        }
    }

    /// The transport command these options make.
    pub fn rune(&self) -> String {
        rune(&RuneOptions {
            ssh_command: self.ssh_command.clone(),
            host: self.host.clone(),
            receive_command: self.receive_command.clone(),
            no_monitor: self.no_monitor,
            debug: self.debug,
            paused: self.paused,
            wire: self.compress,
        })
    }
}

/// The guest, found and with the config to send ([`prepare`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Prepared {
    /// Its id here.
    pub domid: DomId,
    /// Its name.
    pub name: String,
    /// The config JSON to send (`c_info.domid` dropped).
    pub config_json: String,
}

/// Step 1: finds the guest and the config to send (the stored one, or `-C`'s).
pub fn prepare(
    backend: &mut dyn MigrationBackend,
    options: &SendOptions,
) -> Result<Prepared, MigrateError> {
    let (domid, name) = backend.find_domain(&options.domain)?;
    let config = match &options.config_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| MigrateError::ConfigFile {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let json = config_from_file(&text).ok_or_else(|| MigrateError::ConfigFile {
                path: path.clone(),
                message: "not a libxl JSON config; xenadm cannot parse xl.cfg files: convert one with `xl create -n FILE` (dry run, prints the JSON) or take the guest's from `xl list -l`".to_string(),
            })?;
            backend.normalize_config_json(&json)?
        }
        None => backend.config_json(domid)?,
    };
    Ok(Prepared {
        domid,
        name,
        config_json: outgoing_config(&config)?,
    })
}

/// A `-C` file: a libxl config, or one `xl list -l` entry (`{"domid":..,"config":{..}}`) or a
/// list of them.
fn config_from_file(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let value = match value {
        serde_json::Value::Array(mut list) if list.len() == 1 => list.remove(0),
        other => other,
    };
    let config = value.get("config").cloned().unwrap_or(value);
    config.pointer("/c_info/name")?;
    serde_json::to_string_pretty(&config).ok()
}

/// Moves a guest: [`prepare`], then [`Transport::spawn`] of the rune and [`send_over`]. The
/// preflight check of the target, before any byte moves, is [`run`](super::run)'s (which
/// then calls this).
/// `control` cancels before GO (the guest keeps running here); `progress` gets phases and
/// transfer progress (from the pump thread too).
pub fn send(
    backend: &mut dyn MigrationBackend,
    options: &SendOptions,
    control: &Control,
    progress: ProgressSink,
) -> SendResult {
    let untouched = |step, error| {
        Box::new(Failure {
            domain: options.domain.clone(),
            step,
            error,
            placement: Placement::RunningOnSource,
            fix: Vec::new(),
            notes: Vec::new(),
        })
    };
    if options.compress {
        wire_possible(options).map_err(|e| untouched(Step::Transport, e))?;
    }
    let prepared = prepare(backend, options).map_err(|e| untouched(Step::Header, e))?;
    let transport = Transport::spawn(&options.rune()).map_err(|e| untouched(Step::Transport, e))?;
    send_over(backend, &prepared, options, transport, control, progress)
}

/// `--compress` is negotiated through the rune, with a xenadm receiver: not over a raw
/// transport (whose command the administrator wrote) nor with stock xl's receiver.
fn wire_possible(options: &SendOptions) -> Result<(), MigrateError> {
    let message = if options.ssh_command.as_deref() == Some("") {
        "--compress needs the rune to ask the receiver for it; with -s \"\" the transport command is yours: use -s SSHCMD (e.g. -s env for a local command) or drop --compress"
    } else if options.receive_command.split_whitespace().next() == Some("xl") {
        "--compress needs xenadm migrate-receive on the target; stock xl receives xl's protocol only"
    } else {
        return Ok(());
    };
    Err(MigrateError::Config {
        message: message.to_string(),
    })
}

/// Steps 3 to 9 over an open transport: banner, header, stream, "ready", rename, GO, report
/// and status, then the source copy destroyed (or the rollback).
pub fn send_over(
    backend: &mut dyn MigrationBackend,
    prepared: &Prepared,
    options: &SendOptions,
    mut transport: Transport,
    control: &Control,
    progress: ProgressSink,
) -> SendResult {
    let start = Instant::now();
    let sink = Arc::new(Mutex::new(progress));
    let phase = |phase| emit(&sink, &Event::Phase { phase });
    let name = prepared.name.clone();
    let mut run = Run {
        backend,
        prepared,
        sink: sink.clone(),
    };
    control.arm(transport.breaker());

    // 3. The receiver's banner.
    phase(Phase::Connecting);
    if let Err(e) = read_message(&mut *transport.from_receiver, BANNER, Step::Banner) {
        let description = transport.description.clone();
        let status = transport.close(TRANSPORT_GRACE);
        let mut failure = run.untouched(Step::Banner, control.cancelled_or(e));
        failure.notes.push(format!(
            "transport `{description}`: {}",
            status.unwrap_or_else(|| "closed".to_string())
        ));
        failure.notes.push("a missing receiver command on the target, or text printed at login (motd), looks like this".to_string());
        return Err(failure);
    }
    // 3b. With --compress, the xenadm receiver's confirmation of the wire format.
    if options.compress
        && let Err(e) = read_message(&mut *transport.from_receiver, CONFIRM, Step::Banner)
    {
        transport.close(TRANSPORT_GRACE);
        let mut failure = run.untouched(Step::Banner, control.cancelled_or(e));
        failure.notes.push("the receiver did not confirm xenadm's compressed wire format: the target's xenadm may be older; migrate without --compress".to_string());
        return Err(failure);
    }
    // 4. The xl save header with the config.
    phase(Phase::Header);
    let header = encode_header(&prepared.config_json);
    if let Err(e) = write_message(&mut *transport.to_receiver, &header, Step::Header) {
        transport.close(TRANSPORT_GRACE);
        return Err(run.untouched(Step::Header, control.cancelled_or(e)));
    }
    // 5. The stream: libxl writes into a pipe, the pump copies it to the transport.
    phase(Phase::Transfer);
    let (pipe_read, pipe_write) = match nix::unistd::pipe2(OFlag::O_CLOEXEC) {
        Ok(pair) => pair,
        Err(e) => {
            transport.close(TRANSPORT_GRACE);
            let error = MigrateError::Local {
                what: "pipe2",
                source: e.into(),
            };
            return Err(run.untouched(Step::Stream, error));
        }
    };
    let guest_pages = GuestConfig::from_json(&prepared.config_json).and_then(|c| c.memory_pages());
    let to_receiver = std::mem::replace(&mut transport.to_receiver, Box::new(std::io::sink()));
    let output = StreamOut::new(
        to_receiver,
        options.compress,
        options.bandwidth_bytes_per_s,
        Some(control.clone()),
    );
    let pump = match pump::spawn(File::from(pipe_read), output, guest_pages, sink.clone()) {
        Ok(pump) => pump,
        Err(source) => {
            transport.close(TRANSPORT_GRACE);
            return Err(run.untouched(
                Step::Stream,
                MigrateError::Local {
                    what: "starting the pump thread",
                    source,
                },
            ));
        }
    };
    // libxc's own reports (passes, the suspend) go to the progress sink; the suspend's time
    // starts the downtime.
    let suspended_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    run.backend.watch_saver(Some({
        let (sink, suspended_at) = (sink.clone(), suspended_at.clone());
        Arc::new(move |event: &SaverEvent| {
            if *event == SaverEvent::Suspended {
                *suspended_at.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
            }
            emit(&sink, &Event::Saver(*event));
        })
    }));
    let suspended = run
        .backend
        .suspend(prepared.domid, pipe_write.as_fd(), options.debug);
    run.backend.watch_saver(None);
    drop(pipe_write);
    let pumped = pump.join();
    let mut wire_stats = None;
    let (tracker, relay_result) = match pumped {
        Ok(outcome) => {
            wire_stats = outcome.output.wire_stats();
            transport.to_receiver = outcome.output.into_inner();
            let result = outcome.result.map(drop).map_err(|e| MigrateError::Io {
                step: Step::Stream,
                source: std::io::Error::other(e.to_string()),
            });
            (Some(outcome.tracker), result)
        }
        Err(_) => (
            None,
            Err(MigrateError::Local {
                what: "the pump thread",
                source: std::io::Error::other("it panicked"),
            }),
        ),
    };
    let stream_error = match (suspended, relay_result) {
        // A broken transport is the cause of the suspend's failure that follows it.
        (_, Err(e)) | (Err(e), Ok(())) => Some(e),
        (Ok(()), Ok(())) => None,
    };
    if let Some(e) = stream_error {
        return Err(run.roll_back(transport, false, Step::Stream, control.cancelled_or(e)));
    }
    // 6. The target restored its copy: "ready".
    phase(Phase::WaitingForTarget);
    if let Err(e) = read_message(&mut *transport.from_receiver, READY, Step::Ready) {
        return Err(run.roll_back(transport, false, Step::Ready, control.cancelled_or(e)));
    }
    if control.is_cancelled() {
        return Err(run.roll_back(transport, false, Step::Ready, MigrateError::Cancelled));
    }
    // 7. Our copy steps aside, then the point of no return.
    let away = format!("{name}{MIGRATED_AWAY_SUFFIX}");
    if let Err(e) = run.backend.rename(prepared.domid, &name, &away) {
        return Err(run.roll_back(transport, false, Step::Rename, e));
    }
    if !control.pass_point_of_no_return() {
        return Err(run.roll_back(transport, true, Step::Rename, MigrateError::Cancelled));
    }
    phase(Phase::Handover);
    // 8. GO, then the target's report and status byte.
    let handover = write_message(&mut *transport.to_receiver, GO, Step::Go)
        .and_then(|()| read_message(&mut *transport.from_receiver, REPORT, Step::Report))
        .and_then(|()| read_status(&mut *transport.from_receiver));
    let status = match handover {
        Ok(status) => status,
        Err(e) => {
            let step = step_of(&e);
            transport.close(TRANSPORT_GRACE);
            return Err(run.ambiguous(step, e, &options.host));
        }
    };
    let status_at = Instant::now();
    if status != 0 {
        // The target destroys its copy, then grants the resume with a GO of its own.
        if let Err(e) = read_message(&mut *transport.from_receiver, GO, Step::GoBack) {
            transport.close(TRANSPORT_GRACE);
            let mut failure = run.ambiguous(Step::GoBack, e, &options.host);
            failure.notes.push(format!("the target reported status {status} and then did not confirm that it destroyed its copy"));
            return Err(failure);
        }
        return Err(run.roll_back(
            transport,
            true,
            Step::Status,
            MigrateError::TargetFailed { status },
        ));
    }
    // 9. Moved: our copy goes.
    let mut warnings = Vec::new();
    if let Err(e) = run.backend.destroy(prepared.domid) {
        warnings.push(format!(
            "the source copy {away} could not be destroyed ({e}): run `xl destroy {away}` here"
        ));
    }
    transport.close(TRANSPORT_GRACE);
    let tracker = tracker.as_ref();
    let libxl_suspend = *suspended_at.lock().unwrap_or_else(PoisonError::into_inner);
    let (downtime_from, downtime_start) =
        match (libxl_suspend, tracker.and_then(|t| t.suspended_at())) {
            (Some(at), _) => (Some(DowntimeFrom::Libxl), Some(at)),
            (None, Some(at)) => (Some(DowntimeFrom::Stream), Some(at)),
            (None, None) => (None, None),
        };
    Ok(Summary {
        domain: name,
        source_domid: prepared.domid.0,
        total_s: seconds(start.elapsed()),
        bytes: tracker.map_or(0, |t| t.transfer.bytes),
        passes: tracker.map(|t| t.passes.clone()).unwrap_or_default(),
        downtime_s: downtime_start.map(|at| seconds(status_at.saturating_duration_since(at))),
        downtime_from,
        wire: wire_stats,
        warnings,
    })
}

fn step_of(error: &MigrateError) -> Step {
    match error {
        MigrateError::UnexpectedData { step, .. }
        | MigrateError::PeerClosed { step, .. }
        | MigrateError::Io { step, .. } => *step,
        _ => Step::Go,
    }
}

impl Control {
    /// `Cancelled` when a cancel broke the transport, else the error itself.
    fn cancelled_or(&self, error: MigrateError) -> MigrateError {
        if self.is_cancelled() {
            MigrateError::Cancelled
        } else {
            error
        }
    }
}

struct Run<'a> {
    backend: &'a mut dyn MigrationBackend,
    prepared: &'a Prepared,
    sink: Arc<Mutex<ProgressSink>>,
}

impl Run<'_> {
    fn failure(&self, step: Step, error: MigrateError, placement: Placement) -> Box<Failure> {
        Box::new(Failure {
            domain: self.prepared.name.clone(),
            step,
            error,
            placement,
            fix: Vec::new(),
            notes: Vec::new(),
        })
    }

    /// Before the suspend: nothing changed here.
    fn untouched(&self, step: Step, error: MigrateError) -> Box<Failure> {
        self.failure(step, error, Placement::RunningOnSource)
    }

    /// xl's "resume path", done right: the transport closed first (the receiver then
    /// destroys its partial copy), the name restored, and the guest resumed only if it really
    /// is suspended.
    fn roll_back(
        &mut self,
        transport: Transport,
        renamed: bool,
        step: Step,
        error: MigrateError,
    ) -> Box<Failure> {
        emit(
            &self.sink,
            &Event::Phase {
                phase: Phase::RollingBack,
            },
        );
        let status = transport.close(TRANSPORT_GRACE);
        let name = self.prepared.name.clone();
        let domid = self.prepared.domid;
        let away = format!("{name}{MIGRATED_AWAY_SUFFIX}");
        let mut failure = self.failure(step, error, Placement::RunningOnSource);
        if let Some(status) = status {
            failure.notes.push(format!("transport ended: {status}"));
        }
        if matches!(step, Step::Stream | Step::Ready) {
            // A receiver that dies (kill -9) cannot drop its partial copy.
            failure.fix.push(format!(
                "if the target lists {name}--incoming (its receiver died): there run `xl destroy {name}--incoming`"
            ));
        }
        if renamed && let Err(e) = self.backend.rename(domid, &away, &name) {
            failure
                .notes
                .push(format!("could not rename {away} back to {name}: {e}"));
            failure.fix.push(format!("xl rename {away} {name}"));
        }
        match self.backend.domain_state(domid) {
            Ok(DomainState::Suspended) => match self.backend.resume(domid) {
                Ok(()) => failure
                    .notes
                    .push("the guest was suspended and has been resumed here".to_string()),
                Err(e) => {
                    failure.placement = Placement::SuspendedOnSource;
                    failure.notes.push(format!("resuming it failed: {e}"));
                    failure.fix.push(format!(
                        "xenadm migrate-resume {name}   # retries the resume here"
                    ));
                }
            },
            Ok(DomainState::Running | DomainState::Paused) => {
                failure
                    .notes
                    .push("the guest was never suspended: nothing to resume".to_string());
            }
            Ok(state) => {
                failure.placement = Placement::SuspendedOnSource;
                failure
                    .notes
                    .push(format!("the source copy is now {state:?}"));
                failure
                    .fix
                    .push(format!("xl list {name} {away}   # on this host"));
            }
            Err(e) => {
                failure.placement = Placement::SuspendedOnSource;
                failure
                    .notes
                    .push(format!("cannot tell the guest's state: {e}"));
                failure.fix.push(format!(
                    "xl list {name} {away}   # on this host; then xenadm migrate-resume {name}"
                ));
            }
        }
        failure
    }

    /// After GO: the target may run the guest. Says what to look at and what fixes each case.
    fn ambiguous(&mut self, step: Step, error: MigrateError, host: &str) -> Box<Failure> {
        let name = &self.prepared.name;
        let away = format!("{name}{MIGRATED_AWAY_SUFFIX}");
        let mut failure = self.failure(step, error, Placement::Ambiguous);
        let here = match self.backend.domain_state(self.prepared.domid) {
            Ok(state) => format!("{state:?}"),
            Err(e) => format!("unknown ({e})"),
        };
        failure.notes.push(format!(
            "this host (source): {away} is {here}, kept as it is"
        ));
        failure.fix = vec![
            format!("on {host}: xl list {name} {name}--incoming"),
            format!("if {host} runs {name}: the guest moved; here run `xl destroy {away}`"),
            format!(
                "if {host} has {name}--incoming or nothing: there `xl destroy {name}--incoming` (if listed), then here `xenadm migrate-resume {away}`"
            ),
        ];
        failure
    }
}

/// Puts a guest left behind by a failed migration back into service on this host: renames
/// `NAME--migratedaway` back to `NAME` and resumes it if it is suspended. Returns its id and
/// name, and whether it had to be resumed.
pub fn resume_on_source(
    backend: &mut dyn MigrationBackend,
    query: &str,
) -> Result<(DomId, String, bool), MigrateError> {
    let (domid, mut name) = backend.find_domain(query)?;
    if let Some(base) = name.strip_suffix(MIGRATED_AWAY_SUFFIX) {
        let base = base.to_string();
        backend.rename(domid, &name, &base)?;
        name = base;
    }
    let resumed = backend.domain_state(domid)? == DomainState::Suspended;
    if resumed {
        backend.resume(domid)?;
    }
    Ok((domid, name, resumed))
}
