//! `xenadm stream`: inspect, verify and relay xl save files and live migration streams.

//!
//! The reports (text and JSON) are [`xen_core::stream`]'s ([`InspectReport`], [`VerifyOutcome`],
//! [`RelayWatch`]); this command opens the input, draws the progress and sets the exit code.

use std::fs::File;
use std::io::{self, IsTerminal as _, Write as _};
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use xen_core::XenError;
use xen_core::stream::{
    Analysis, InspectReport, RelayEvent, RelayWatch, VerifyOutcome, analyze_file, analyze_reader,
    relay,
};

use crate::error::CliError;
use crate::output::Output;

/// `xenadm stream ...`
#[derive(Debug, clap::Subcommand)]
pub enum StreamCommand {
    /// What a save file or migration stream holds: guest, pages per pre-copy iteration,
    /// records, totals.
    Inspect {
        /// The file (`xl save` output or a captured migration stream), or `-` for stdin.
        file: PathBuf,
    },
    /// Check a save file or stream: every check of Xen's verify-stream-v2 and more, with the
    /// byte offset of each problem. Exit 1 if there is one.
    Verify {
        /// The file, or `-` for stdin.
        file: PathBuf,
    },
    /// Copy stdin to stdout unchanged while watching the stream; progress on stderr. For
    /// `xl migrate -s "" GUEST "xenadm stream relay | xl migrate-receive"`.
    Relay {
        /// Exit 1 if the stream had a problem (the bytes are passed on either way).
        #[arg(long)]
        strict: bool,
        /// No progress on stderr (problems are still reported).
        #[arg(long)]
        no_progress: bool,
    },
}

/// Runs `xenadm stream ...`.
pub fn run(cmd: &StreamCommand, out: &Output) -> Result<u8, CliError> {
    match cmd {
        StreamCommand::Inspect { file } => inspect(file, out),
        StreamCommand::Verify { file } => verify(file, out),
        StreamCommand::Relay {
            strict,
            no_progress,
        } => run_relay(*strict, *no_progress, out),
    }
}

/// Stdin as a plain file: no buffer between the pipe and our reads.
fn raw_stdin() -> Result<File, CliError> {
    let fd = io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|source| XenError::StreamRead {
            what: "standard input".to_string(),
            offset: 0,
            source,
        })?;
    Ok(File::from(fd))
}

/// The input's name in messages, and what it holds.
fn analyze(file: &Path) -> Result<(String, Analysis), CliError> {
    if file == Path::new("-") {
        let name = "standard input".to_string();
        let analysis = analyze_reader(raw_stdin()?, &name)?;
        return Ok((name, analysis));
    }
    Ok((file.display().to_string(), analyze_file(file)?))
}

fn inspect(file: &Path, out: &Output) -> Result<u8, CliError> {
    let (name, analysis) = analyze(file)?;
    let report = InspectReport::new(&name, &analysis);
    if out.json {
        out.print_json(&report)?;
    } else {
        out.print(&report.text())?;
    }
    match analysis.error {
        Some(e) => Err(XenError::Stream(e).into()),
        None => Ok(0),
    }
}

fn verify(file: &Path, out: &Output) -> Result<u8, CliError> {
    let (name, analysis) = analyze(file)?;
    let outcome = VerifyOutcome::new(&name, &analysis);
    if out.json {
        out.print_json(&outcome)?;
    } else {
        out.print(&outcome.text())?;
    }
    Ok(if analysis.report.ok { 0 } else { 1 })
}

/// Progress on stderr: a spinner on a terminal, else a line per pre-copy iteration.
struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    last_draw: Instant,
}

impl Progress {
    fn new(silent: bool) -> Progress {
        let tty = !silent && io::stderr().is_terminal();
        let bar = tty.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} relay {bytes} ({bytes_per_sec}) {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        Progress {
            bar,
            plain: !silent && !tty,
            last_draw: Instant::now(),
        }
    }

    fn bytes(&mut self, total: u64, watch: &RelayWatch) {
        if let Some(bar) = &self.bar {
            bar.set_position(total);
            if self.last_draw.elapsed() > Duration::from_millis(100) {
                self.last_draw = Instant::now();
                bar.set_message(watch.status());
            }
        }
    }

    fn line(&self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.println(text);
        } else if self.plain {
            let _ = writeln!(io::stderr().lock(), "{text}");
        }
    }
}

fn run_relay(strict: bool, no_progress: bool, out: &Output) -> Result<u8, CliError> {
    let input = raw_stdin()?;
    let output = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|source| XenError::StreamWrite {
            what: "standard output".to_string(),
            offset: 0,
            source,
        })?;
    let mut progress = Progress::new(no_progress || out.quiet());
    let mut watch = RelayWatch::new();
    let report = relay(input, output, |event| {
        if let RelayEvent::ParseStopped(e) = &event {
            out.warn(format_args!(
                "stream problem at {e}; passing the rest through unparsed"
            ));
        }
        for line in watch.observe(&event) {
            progress.line(&line);
        }
        if let RelayEvent::Forwarded { total_bytes } = event {
            progress.bytes(total_bytes, &watch);
        }
    })?;
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    let failed = watch.problem().is_some();
    let (last, _) = watch.finish(&report);
    progress.line(&last);
    Ok(if strict && failed { 1 } else { 0 })
}
