//! `xenadm top`: live domain statistics like xentop.
//!
//! On a terminal it opens the interactive screen ([`top_tui`]). With `-b` (or when stdout is
//! not a terminal) it prints `xentop -b`'s table every DELAY seconds, byte for byte, so that
//! scripts written for xentop keep working. `--json` and `--csv` stream one record per domain
//! per sample instead ([`xen_core::render::record`]). SIGINT and SIGTERM end the stream
//! cleanly after the current sample; every sample is flushed as soon as it is written.
//!
//! Differences from xentop, on purpose: `-d` accepts fractions of a second (xentop truncates
//! `-d 0.5` to 0, a busy loop); a closed pipe (`xenadm top -b | head`) ends quietly.

use std::io::{self, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use xen_core::host::capture::parse_xentop_batch;
use xen_core::host::{Host, HostBackend, RecordedBackend};
use xen_core::render::sample_stream::{SampleFormat, SampleStream};
use xen_core::render::xentop::{BatchOptions, Column};

use crate::commands::host;
use crate::commands::signals::StopSignals;
use crate::commands::top_tui;
use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm top` (xentop's, plus the output formats).
#[derive(Debug, Clone, clap::Args)]
pub struct TopArgs {
    /// Batch mode: print `xentop -b`'s table every DELAY seconds instead of the screen.
    #[arg(short = 'b', long)]
    pub batch: bool,
    /// Seconds between samples (fractions allowed).
    #[arg(short = 'd', long, value_name = "SECS", default_value = "3", value_parser = parse_delay)]
    pub delay: Duration,
    /// Stop after N samples; 0 means never, as in xentop (default: never).
    #[arg(short = 'i', long, value_name = "N")]
    pub iterations: Option<u64>,
    /// A line per vif after each domain.
    #[arg(short = 'n', long)]
    pub networks: bool,
    /// A line per VBD after each domain.
    #[arg(short = 'x', long)]
    pub vbds: bool,
    /// The vCPU times after each domain, as in xentop's vCPU view.
    #[arg(long)]
    pub vcpus: bool,
    /// The header before every domain.
    #[arg(short = 'r', long)]
    pub repeat_header: bool,
    /// Full domain names instead of their first 10 bytes.
    #[arg(short = 'f', long)]
    pub full_name: bool,
    /// Domain-0 first, the others sorted after it.
    #[arg(short = 'z', long)]
    pub dom0_first: bool,
    /// Stream CSV (a header, then one row per domain per sample) instead of the table
    /// (`--json` streams one JSON object per line, and wins over `--csv`).
    #[arg(long)]
    pub csv: bool,
    /// Replay a saved `xentop -b` capture instead of reading this host (`-` for standard
    /// input), with no delay between samples: converts old captures to `--json` or `--csv`.
    /// Give the capture's `-d` (for CPU%) and `-r`.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
}

/// `-d SECS`: a non-negative number of seconds, fractions allowed.
fn parse_delay(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text:?}: the delay must be 0 or more seconds"))
}

impl TopArgs {
    /// The table options the flags ask for (the interactive screen starts with them too).
    pub fn batch_options(&self) -> BatchOptions {
        let mut options = BatchOptions::default();
        options.networks = self.networks;
        options.vbds = self.vbds;
        options.vcpus = self.vcpus;
        options.repeat_header = self.repeat_header;
        options.full_names = self.full_name;
        options.dom0_first = self.dom0_first;
        options.sort = Column::Name;
        options
    }

    fn format(&self, out: &Output) -> SampleFormat {
        if out.json {
            SampleFormat::Json
        } else if self.csv {
            SampleFormat::Csv
        } else {
            SampleFormat::Table
        }
    }
}

/// Runs `xenadm top`.
pub fn run(args: &TopArgs, out: &Output) -> Result<u8, CliError> {
    if let Some(path) = &args.replay {
        return replay(args, out, path);
    }
    let format = args.format(out);
    let interactive = !args.batch && format == SampleFormat::Table && io::stdout().is_terminal();
    let host = host::open()?;
    if interactive {
        // The screen starts from `args.delay` and `args.batch_options()`.
        return top_tui::run(args, host);
    }
    // Blocked until the command ends: a signal ends the stream between samples.
    let mut stop = StopSignals::block()?;
    let mut host = host;
    let result = stream(&mut host, args, format, |delay| stop.wait(delay));
    stop.release();
    result
}

/// `--replay FILE`: the capture's samples, one after the other, without waiting.
fn replay(args: &TopArgs, out: &Output, path: &std::path::Path) -> Result<u8, CliError> {
    let text = host::read_capture(path)?;
    let batch = parse_xentop_batch(&text, args.repeat_header)?;
    // -d (3 s by default) first, then the usual xentop intervals.
    let given = args.delay;
    let found = batch.to_samples_fitting(given)?;
    if found.interval != given {
        out.warn(format_args!(
            "{}: the capture fits an interval of {} s, not -d {}: replayed with -d {} (give -d to choose)",
            path.display(),
            found.interval.as_secs_f64(),
            given.as_secs_f64(),
            found.interval.as_secs_f64()
        ));
    }
    let count = found.samples.len();
    let mut host = Host::with_backend(RecordedBackend::new(Default::default(), found.samples));
    let mut args = args.clone();
    // A capture ends where it ends; -i may still stop earlier.
    let wanted = args.iterations.filter(|&n| n > 0).unwrap_or(u64::MAX);
    args.iterations = Some(wanted.min(u64::try_from(count).unwrap_or(u64::MAX)));
    if count == 0 {
        return Ok(0);
    }
    stream(&mut host, &args, args.format(out), |_| false)
}

/// Samples and prints until `-i` samples are done or `wait` reports a stop signal.
fn stream<B: HostBackend>(
    host: &mut Host<B>,
    args: &TopArgs,
    format: SampleFormat,
    mut wait: impl FnMut(Duration) -> bool,
) -> Result<u8, CliError> {
    let mut samples = SampleStream::new(format, args.batch_options());
    // xentop: -i 0 never stops (its counter wraps).
    let limit = args.iterations.filter(|&n| n > 0);
    loop {
        if !emit(samples.next(host)?)? {
            return Ok(0);
        }
        if limit.is_some_and(|n| samples.count() >= n) || wait(args.delay) {
            return Ok(0);
        }
    }
}

/// Writes and flushes one sample; `false` when the reader went away (a closed pipe ends
/// the stream quietly, as `xentop -b | head` does).
fn emit(bytes: &[u8]) -> Result<bool, CliError> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(CliError::Output(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_delay_accepts_fractions_and_refuses_negatives() {
        assert_eq!(parse_delay("0"), Ok(Duration::ZERO));
        assert_eq!(parse_delay("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_delay("3"), Ok(Duration::from_secs(3)));
        assert!(parse_delay("-1").is_err());
        assert!(parse_delay("soon").is_err());
        assert!(parse_delay("inf").is_err());
    }
}
