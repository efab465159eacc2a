//! `xenadm stream`: inspect, verify and relay xl save files and live migration streams.

use std::fs::File;
use std::io::{self, IsTerminal as _, Read, Write as _};
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use xen_core::XenError;
use xen_core::stream::{
    Analysis, DomainType, Inspector, Item, LibxcRecord, MAX_KEPT_ITERATIONS, MAX_KEPT_PROBLEMS,
    RelayEvent, StreamError, StreamSummary, VerifyReport, analyze_reader, relay,
};

use crate::error::CliError;
use crate::output::{Output, columns};

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

/// The input's name in messages, and a reader for it.
fn open(file: &Path) -> Result<(String, Box<dyn Read>), CliError> {
    if file == Path::new("-") {
        return Ok(("standard input".to_string(), Box::new(raw_stdin()?)));
    }
    let name = file.display().to_string();
    let f = File::open(file).map_err(|source| XenError::StreamRead {
        what: name.clone(),
        offset: 0,
        source,
    })?;
    Ok((name, Box::new(f)))
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

fn analyze(file: &Path) -> Result<(String, Analysis), CliError> {
    let (name, reader) = open(file)?;
    let analysis = analyze_reader(reader, &name)?;
    Ok((name, analysis))
}

#[derive(Serialize)]
struct InspectJson<'a> {
    file: &'a str,
    /// `pv` or `hvm`, from the libxc domain header (PVH guests are `hvm` there).
    domain_type: Option<&'static str>,
    #[serde(flatten)]
    summary: &'a StreamSummary,
    error: Option<&'a StreamError>,
}

fn inspect(file: &Path, out: &Output) -> Result<u8, CliError> {
    let (name, analysis) = analyze(file)?;
    if out.json {
        let domain_type = analysis
            .summary
            .libxc
            .as_ref()
            .and_then(|l| l.domain_type)
            .map(|t| match t {
                DomainType::X86Pv => "pv",
                _ => "hvm",
            });
        out.print_json(&InspectJson {
            file: &name,
            domain_type,
            summary: &analysis.summary,
            error: analysis.error.as_ref(),
        })?;
    } else {
        out.print(&inspect_text(&name, &analysis.summary))?;
    }
    match analysis.error {
        Some(e) => Err(XenError::Stream(e).into()),
        None => Ok(0),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
}

fn inspect_text(name: &str, s: &StreamSummary) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |k: &str, v: String| rows.push(vec![k.to_string(), v]);
    row(
        "file",
        format!("{name}, {} bytes ({})", s.totals.bytes, mib(s.totals.bytes)),
    );
    let mut format = Vec::new();
    if let Some(xl) = &s.xl {
        format.push(format!(
            "xl save header (info 0x{:x}/0x{:x}/{}, {} config)",
            xl.mandatory_flags,
            xl.optional_flags,
            xl.optional_data_len,
            if xl.json_config { "JSON" } else { "xl.cfg" }
        ));
    }
    if s.legacy_v1 {
        format.push("legacy v1 stream (Xen 4.5 and older, not decoded)".to_string());
    }
    if s.libxl_options.is_some() {
        format.push("libxl v2".to_string());
    }
    if let Some(libxc) = &s.libxc {
        format.push(format!("libxc v{}", libxc.version));
    }
    if s.converted_from_legacy {
        format.push("converted from legacy".to_string());
    }
    row("format", format.join(", "));
    if let Some(g) = &s.guest {
        let mut parts = vec![g.name.clone().unwrap_or_else(|| "(no name)".to_string())];
        parts.extend(g.guest_type.clone());
        parts.extend(g.max_memory_kib.map(|k| format!("{} MiB", k / 1024)));
        parts.extend(
            g.vcpus
                .map(|v| format!("{v} vCPU{}", if v == 1 { "" } else { "s" })),
        );
        row("guest", parts.join(", "));
    }
    if let Some(libxc) = &s.libxc {
        let mut parts = vec![s.domain_type_name().unwrap_or("unknown").to_string()];
        if let Some(pv) = &s.pv_info {
            parts.push(format!(
                "{}-bit, {} page-table levels",
                u32::from(pv.guest_width) * 8,
                pv.pt_levels
            ));
        }
        if s.pv_vcpus > 0 {
            parts.push(format!("{} vCPU contexts", s.pv_vcpus));
        }
        parts.push(match &libxc.saved_on_xen {
            Some(v) => format!("saved on Xen {v}"),
            None => "converted stream".to_string(),
        });
        row("domain", parts.join(", "));
    }
    row(
        "pages",
        format!(
            "{} pfns in {} PAGE_DATA records, {} with data ({})",
            s.totals.pfns,
            s.totals.page_records,
            s.totals.data_pages,
            mib(s.totals.page_data_bytes)
        ),
    );
    match s.totals.stream_end_offset {
        Some(end) if s.totals.trailing_is_xl_go => row(
            "stream end",
            format!(
                "byte {end}, then xl's GO message ({} bytes)",
                s.totals.trailing_bytes
            ),
        ),
        Some(end) => row(
            "stream end",
            format!("byte {end}, then {} bytes", s.totals.trailing_bytes),
        ),
        None => row("stream end", "not reached".to_string()),
    }
    let mut text = columns(&rows);

    if !s.iterations.is_empty() {
        text.push_str("\npre-copy iterations (the last is the stop-and-copy pass)\n");
        let mut rows = vec![vec![
            "ITERATION".to_string(),
            "RECORDS".to_string(),
            "PFNS".to_string(),
            "DATA PAGES".to_string(),
            "NO DATA".to_string(),
            "BYTES".to_string(),
            "AT BYTE".to_string(),
        ]];
        let omitted_at = s.iterations.len().saturating_sub(1);
        for (i, it) in s.iterations.iter().enumerate() {
            if i == omitted_at
                && let Some(o) = &s.omitted_iterations
            {
                rows.push(vec![
                    format!("({} more)", o.count),
                    o.page_records.to_string(),
                    o.pfns.to_string(),
                    o.data_pages.to_string(),
                    o.no_data_pfns.to_string(),
                    o.bytes.to_string(),
                    o.first_offset.to_string(),
                ]);
            }
            let label = if it.verify {
                format!("verify {}", it.number)
            } else {
                it.number.to_string()
            };
            rows.push(vec![
                label,
                it.page_records.to_string(),
                it.pfns.to_string(),
                it.data_pages.to_string(),
                it.no_data_pfns.to_string(),
                it.bytes.to_string(),
                it.first_offset.to_string(),
            ]);
        }
        text.push_str(&columns(&rows));
    }

    text.push_str("\nrecords\n");
    let mut rows = vec![vec![
        "LAYER".to_string(),
        "TYPE".to_string(),
        "COUNT".to_string(),
        "BYTES".to_string(),
    ]];
    for r in &s.records {
        rows.push(vec![
            r.layer.to_string(),
            r.name.clone(),
            r.count.to_string(),
            r.bytes.to_string(),
        ]);
    }
    rows.push(vec![
        "total".to_string(),
        String::new(),
        s.totals.records.to_string(),
        s.records.iter().map(|r| r.bytes).sum::<u64>().to_string(),
    ]);
    text.push_str(&columns(&rows));
    text
}

#[derive(Serialize)]
struct VerifyJson<'a> {
    file: &'a str,
    #[serde(flatten)]
    report: &'a VerifyReport,
}

fn verify(file: &Path, out: &Output) -> Result<u8, CliError> {
    let (name, analysis) = analyze(file)?;
    let report = &analysis.report;
    if out.json {
        out.print_json(&VerifyJson {
            file: &name,
            report,
        })?;
    } else {
        out.print(&verify_text(&name, &analysis))?;
    }
    Ok(if report.ok { 0 } else { 1 })
}

fn verify_text(name: &str, analysis: &Analysis) -> String {
    let report = &analysis.report;
    let s = &analysis.summary;
    let mut text = String::new();
    if let Some(first) = report.first_problem() {
        text.push_str(&format!(
            "{name}: INVALID: first problem at byte {} (0x{:x}): {}\n",
            first.offset, first.offset, first.message
        ));
        for p in &report.problems {
            text.push_str(&format!("  problem: {p}\n"));
        }
        if report.problems_omitted > 0 {
            text.push_str(&format!(
                "  ... and {} more problems (only the first {MAX_KEPT_PROBLEMS} are listed)\n",
                report.problems_omitted
            ));
        }
    } else {
        let mut what = vec![format!("{} bytes", report.bytes)];
        if s.libxl_options.is_some() {
            what.push("libxl v2".to_string());
        }
        if let Some(libxc) = &s.libxc {
            what.push(format!("libxc v{}", libxc.version));
        }
        what.extend(s.domain_type_name().map(str::to_string));
        what.push(format!("{} records", s.totals.records));
        text.push_str(&format!("{name}: OK ({})\n", what.join(", ")));
        if report.trailing_is_xl_go {
            text.push_str(&format!(
                "  note: the stream ends at byte {}; xl's GO message follows (a migration capture)\n",
                report.stream_end_offset.unwrap_or(report.bytes)
            ));
        }
    }
    for w in &report.warnings {
        text.push_str(&format!("  warning: {w}\n"));
    }
    if report.warnings_omitted > 0 {
        text.push_str(&format!(
            "  ... and {} more warnings (only the first {MAX_KEPT_PROBLEMS} are listed)\n",
            report.warnings_omitted
        ));
    }
    text
}

/// Progress on stderr: a spinner on a terminal, else a line per pre-copy iteration.
struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    last_draw: Instant,
}

impl Progress {
    fn new(silent: bool) -> Progress {
        if silent {
            return Progress {
                bar: None,
                plain: false,
                last_draw: Instant::now(),
            };
        }
        let tty = io::stderr().is_terminal();
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
            plain: !tty,
            last_draw: Instant::now(),
        }
    }

    fn bytes(&mut self, total: u64, s: &StreamSummary) {
        if let Some(bar) = &self.bar {
            bar.set_position(total);
            if self.last_draw.elapsed() > Duration::from_millis(100) {
                self.last_draw = Instant::now();
                bar.set_message(progress_message(s));
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

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn progress_message(s: &StreamSummary) -> String {
    let iteration = s
        .iterations
        .last()
        .map_or(String::new(), |i| format!("iteration {}: ", i.number));
    format!(
        "{iteration}{} records, {} pages",
        s.totals.records, s.totals.data_pages
    )
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
    let mut inspector = Inspector::new();
    let mut iterations = 0;
    let mut problem: Option<StreamError> = None;
    let report = relay(input, output, |event| match event {
        RelayEvent::Forwarded { total_bytes } => progress.bytes(total_bytes, inspector.current()),
        RelayEvent::Item(located) => {
            inspector.observe(located);
            let s = inspector.current();
            if s.iteration_count > iterations {
                // One line per pass, for the passes the summary keeps one by one.
                let listed = u64::try_from(MAX_KEPT_ITERATIONS).unwrap_or(u64::MAX);
                if s.iteration_count <= listed {
                    if let Some(prev) = s
                        .iterations
                        .len()
                        .checked_sub(2)
                        .and_then(|i| s.iterations.get(i))
                    {
                        progress.line(&format!(
                            "relay: iteration {} done: {} pfns, {} data pages",
                            prev.number, prev.pfns, prev.data_pages
                        ));
                    }
                } else if s.iteration_count == listed + 1 {
                    progress.line(&format!(
                        "relay: more than {listed} iterations; further ones are counted, not listed"
                    ));
                }
                iterations = s.iteration_count;
            }
            if let Item::Libxc(LibxcRecord::End) = &located.item
                && let Some(last) = s.iterations.last()
            {
                progress.line(&format!(
                    "relay: final pass done: {} pfns, {} data pages",
                    last.pfns, last.data_pages
                ));
            }
        }
        RelayEvent::ParseStopped(e) => {
            out.warn(format_args!(
                "stream problem at {e}; passing the rest through unparsed"
            ));
            problem = Some(e.clone());
        }
        _ => {}
    })?;
    progress.done();
    let s = inspector.finish(report.bytes);
    let end = match report.stream_end_offset {
        Some(end) => format!(
            "stream END at byte {end}, then {} bytes passed on{}",
            report.bytes - end,
            if s.totals.trailing_is_xl_go {
                " (xl's GO message)"
            } else {
                ""
            }
        ),
        None => "no stream END seen".to_string(),
    };
    let guest = s
        .guest
        .as_ref()
        .and_then(|g| g.name.clone())
        .map_or(String::new(), |n| format!("{n}: "));
    progress.line(&format!(
        "relay: {guest}{} bytes, {} records, {} pfns ({} data pages) in {} iterations; {end}",
        report.bytes, s.totals.records, s.totals.pfns, s.totals.data_pages, s.iteration_count
    ));
    Ok(if strict && problem.is_some() { 1 } else { 0 })
}
