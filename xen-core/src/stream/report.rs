//! xenadm's reports of a stream, as text and as JSON shapes: what `xenadm stream inspect`,
//! `verify` and `relay` print. An embedder gets the same words and numbers the command line
//! shows, and the structured [`StreamSummary`] / [`VerifyReport`] behind them.

use std::fs::File;
use std::path::Path;

use text_table::columns;

use super::{
    Analysis, DomainType, Inspector, Item, LibxcRecord, MAX_KEPT_ITERATIONS, MAX_KEPT_PROBLEMS,
    RelayEvent, RelayReport, StreamError, StreamSummary, VerifyReport, analyze_reader,
};
use crate::XenError;

/// Opens and analyses a save file or stream capture; errors name the file.
pub fn analyze_file(path: &Path) -> Result<Analysis, XenError> {
    let what = path.display().to_string();
    let file = File::open(path).map_err(|source| XenError::StreamRead {
        what: what.clone(),
        offset: 0,
        source,
    })?;
    analyze_reader(file, &what)
}

/// `xenadm stream inspect --json`: the summary, the guest type and the problem the parser
/// stopped at.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InspectReport<'a> {
    /// The input's name (`standard input` for a pipe).
    pub file: &'a str,
    /// `pv` or `hvm`, from the libxc domain header (PVH guests are `hvm` there).
    pub domain_type: Option<&'static str>,
    /// What the stream holds.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub summary: &'a StreamSummary,
    /// Where the parser stopped, if it did.
    pub error: Option<&'a StreamError>,
}

impl<'a> InspectReport<'a> {
    /// The report of `analysis`, read from `file`.
    pub fn new(file: &'a str, analysis: &'a Analysis) -> InspectReport<'a> {
        let domain_type = analysis
            .summary
            .libxc
            .as_ref()
            .and_then(|l| l.domain_type)
            .map(|t| match t {
                DomainType::X86Pv => "pv",
                _ => "hvm",
            });
        InspectReport {
            file,
            domain_type,
            summary: &analysis.summary,
            error: analysis.error.as_ref(),
        }
    }

    /// The text `xenadm stream inspect` prints: facts, pre-copy iterations, record histogram.
    pub fn text(&self) -> String {
        inspect_text(self.file, self.summary)
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
}

fn cells<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.map(str::to_string).to_vec()
}

fn format_line(s: &StreamSummary) -> String {
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
    format.join(", ")
}

fn facts(name: &str, s: &StreamSummary) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |k: &str, v: String| rows.push(vec![k.to_string(), v]);
    let bytes = s.totals.bytes;
    row("file", format!("{name}, {bytes} bytes ({})", mib(bytes)));
    row("format", format_line(s));
    if let Some(g) = &s.guest {
        let mut parts = vec![g.name.clone().unwrap_or_else(|| "(no name)".to_string())];
        parts.extend(g.guest_type.clone());
        parts.extend(g.max_memory_kib.map(|k| format!("{} MiB", k / 1024)));
        let plural = |v: u64| if v == 1 { "" } else { "s" };
        parts.extend(g.vcpus.map(|v| format!("{v} vCPU{}", plural(v))));
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
    let t = &s.totals;
    row(
        "pages",
        format!(
            "{} pfns in {} PAGE_DATA records, {} with data ({})",
            t.pfns,
            t.page_records,
            t.data_pages,
            mib(t.page_data_bytes)
        ),
    );
    let end = match t.stream_end_offset {
        Some(end) if t.trailing_is_xl_go => format!(
            "byte {end}, then xl's GO message ({} bytes)",
            t.trailing_bytes
        ),
        Some(end) => format!("byte {end}, then {} bytes", t.trailing_bytes),
        None => "not reached".to_string(),
    };
    row("stream end", end);
    rows
}

fn iteration_rows(s: &StreamSummary) -> Vec<Vec<String>> {
    let mut rows = vec![cells([
        "ITERATION",
        "RECORDS",
        "PFNS",
        "DATA PAGES",
        "NO DATA",
        "BYTES",
        "AT BYTE",
    ])];
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
    rows
}

fn inspect_text(name: &str, s: &StreamSummary) -> String {
    let mut text = columns(&facts(name, s));
    if !s.iterations.is_empty() {
        text.push_str("\npre-copy iterations (the last is the stop-and-copy pass)\n");
        text.push_str(&columns(&iteration_rows(s)));
    }
    text.push_str("\nrecords\n");
    let mut rows = vec![cells(["LAYER", "TYPE", "COUNT", "BYTES"])];
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

/// `xenadm stream verify --json`: the verdict with every problem and warning.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct VerifyOutcome<'a> {
    /// The input's name.
    pub file: &'a str,
    /// The checks' result.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub report: &'a VerifyReport,
    #[cfg_attr(feature = "serde", serde(skip))]
    summary: &'a StreamSummary,
}

impl<'a> VerifyOutcome<'a> {
    /// The verdict on `analysis`, read from `file`.
    pub fn new(file: &'a str, analysis: &'a Analysis) -> VerifyOutcome<'a> {
        VerifyOutcome {
            file,
            report: &analysis.report,
            summary: &analysis.summary,
        }
    }

    /// The text `xenadm stream verify` prints: `OK (...)` or `INVALID` with the first problem
    /// and its byte offset, then every problem and warning.
    pub fn text(&self) -> String {
        let (name, report, s) = (self.file, self.report, self.summary);
        let mut text = String::new();
        if let Some(first) = report.first_problem() {
            text.push_str(&format!(
                "{name}: INVALID: first problem at byte {} (0x{:x}): {}\n",
                first.offset, first.offset, first.message
            ));
            for p in &report.problems {
                text.push_str(&format!("  problem: {p}\n"));
            }
            text.push_str(&omitted(report.problems_omitted, "problems"));
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
        text.push_str(&omitted(report.warnings_omitted, "warnings"));
        text
    }
}

fn omitted(count: u64, what: &str) -> String {
    if count == 0 {
        return String::new();
    }
    format!("  ... and {count} more {what} (only the first {MAX_KEPT_PROBLEMS} are listed)\n")
}

/// Watches a [`relay`](super::relay): builds the summary as records pass and says, in
/// `relay: ...` lines, when each pre-copy pass and the final pass are done.
#[derive(Debug, Default)]
pub struct RelayWatch {
    inspector: Inspector,
    iterations: u64,
    problem: Option<StreamError>,
}

impl RelayWatch {
    /// A watch before the first byte.
    pub fn new() -> RelayWatch {
        RelayWatch::default()
    }

    /// Takes one relay event; returns the progress lines it completes (none, or one per pass
    /// finished; after [`MAX_KEPT_ITERATIONS`] passes one line says further ones are only
    /// counted).
    pub fn observe(&mut self, event: &RelayEvent<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        match event {
            RelayEvent::Item(located) => {
                self.inspector.observe(located);
                let s = self.inspector.current();
                if s.iteration_count > self.iterations {
                    // One line per pass, for the passes the summary keeps one by one.
                    let listed = u64::try_from(MAX_KEPT_ITERATIONS).unwrap_or(u64::MAX);
                    if s.iteration_count <= listed {
                        if let Some(prev) = s
                            .iterations
                            .len()
                            .checked_sub(2)
                            .and_then(|i| s.iterations.get(i))
                        {
                            lines.push(format!(
                                "relay: iteration {} done: {} pfns, {} data pages",
                                prev.number, prev.pfns, prev.data_pages
                            ));
                        }
                    } else if s.iteration_count == listed + 1 {
                        lines.push(format!(
                            "relay: more than {listed} iterations; further ones are counted, not listed"
                        ));
                    }
                    self.iterations = s.iteration_count;
                }
                if let Item::Libxc(LibxcRecord::End) = &located.item
                    && let Some(last) = s.iterations.last()
                {
                    lines.push(format!(
                        "relay: final pass done: {} pfns, {} data pages",
                        last.pfns, last.data_pages
                    ));
                }
            }
            RelayEvent::ParseStopped(e) => self.problem = Some((*e).clone()),
            _ => {}
        }
        lines
    }

    /// The summary so far.
    pub fn current(&self) -> &StreamSummary {
        self.inspector.current()
    }

    /// A short status for a progress spinner: `iteration 3: 120 records, 4000 pages`.
    pub fn status(&self) -> String {
        let s = self.current();
        let iteration = s
            .iterations
            .last()
            .map_or(String::new(), |i| format!("iteration {}: ", i.number));
        format!(
            "{iteration}{} records, {} pages",
            s.totals.records, s.totals.data_pages
        )
    }

    /// The problem the parser stopped at, if any.
    pub fn problem(&self) -> Option<&StreamError> {
        self.problem.as_ref()
    }

    /// The relay's closing line (guest, bytes, records, pages, passes, where the stream
    /// ended) and the final summary.
    pub fn finish(self, report: &RelayReport) -> (String, StreamSummary) {
        let s = self.inspector.finish(report.bytes);
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
        let line = format!(
            "relay: {guest}{} bytes, {} records, {} pfns ({} data pages) in {} iterations; {end}",
            report.bytes, s.totals.records, s.totals.pfns, s.totals.data_pages, s.iteration_count
        );
        (line, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::{SyntheticGuest, analyze_bytes, relay};

    fn stream() -> Vec<u8> {
        SyntheticGuest::pv("web1", 64, 2)
            .with_dirty_passes(vec![vec![5, 9], vec![9]])
            .encode()
            .unwrap()
    }

    #[test]
    fn test_inspect_text_has_facts_iterations_and_records() {
        let analysis = analyze_bytes(&stream().into());
        let report = InspectReport::new("web1.save", &analysis);
        assert_eq!(report.domain_type, Some("pv"));
        let text = report.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("file        web1.save, "), "{text}");
        assert!(
            lines[1].starts_with("format      xl save header (info "),
            "{text}"
        );
        assert!(
            lines[1].ends_with("JSON config), libxl v2, libxc v3"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("guest       web1, pv, 0 MiB, 2 vCPUs"),
            "{text}"
        );
        assert!(text.contains("\npre-copy iterations (the last is the stop-and-copy pass)\n"));
        assert!(
            text.contains("\nITERATION  RECORDS  PFNS  DATA PAGES"),
            "{text}"
        );
        assert!(
            text.contains("\nrecords\nLAYER  TYPE                  COUNT  BYTES\n"),
            "{text}"
        );
        let total = lines.last().unwrap();
        assert!(total.starts_with("total"), "{total}");
    }

    #[test]
    fn test_verify_text_ok_and_invalid() {
        let bytes = stream();
        let analysis = analyze_bytes(&bytes.clone().into());
        let ok = VerifyOutcome::new("a", &analysis).text();
        assert!(
            ok.starts_with(&format!(
                "a: OK ({} bytes, libxl v2, libxc v3, x86 PV, ",
                bytes.len()
            )),
            "{ok}"
        );
        let cut = bytes.len() - 20;
        let analysis = analyze_bytes(&bytes[..cut].to_vec().into());
        let bad = VerifyOutcome::new("b", &analysis).text();
        assert!(
            bad.starts_with("b: INVALID: first problem at byte "),
            "{bad}"
        );
        assert!(bad.contains("\n  problem: "), "{bad}");
        assert_eq!(omitted(0, "problems"), "");
        assert_eq!(
            omitted(3, "warnings"),
            format!("  ... and 3 more warnings (only the first {MAX_KEPT_PROBLEMS} are listed)\n")
        );
    }

    #[test]
    fn test_relay_watch_says_when_each_pass_is_done() {
        let bytes = stream();
        let mut out = Vec::new();
        let mut watch = RelayWatch::new();
        let mut lines = Vec::new();
        let report = relay(&bytes[..], &mut out, |event| {
            lines.extend(watch.observe(&event))
        })
        .unwrap();
        assert_eq!(out, bytes);
        assert_eq!(watch.problem(), None);
        assert!(
            watch.status().starts_with("iteration 2: "),
            "{}",
            watch.status()
        );
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("relay: iteration 0 done: 64 pfns"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("relay: iteration 1 done: 2 pfns"),
            "{lines:?}"
        );
        assert!(
            lines[2].starts_with("relay: final pass done: 1 pfns"),
            "{lines:?}"
        );
        let (last, summary) = watch.finish(&report);
        assert_eq!(summary.iteration_count, 3);
        assert!(
            last.starts_with(&format!("relay: web1: {} bytes, ", bytes.len())),
            "{last}"
        );
        assert!(
            last.ends_with("in 3 iterations; stream END at byte ")
                || last.contains("stream END at byte"),
            "{last}"
        );
    }

    #[test]
    fn test_relay_watch_keeps_the_problem() {
        let bytes = stream();
        let mut watch = RelayWatch::new();
        let report = relay(&bytes[..100], std::io::sink(), |event| {
            let _ = watch.observe(&event);
        })
        .unwrap();
        assert!(watch.problem().is_some());
        let (last, _) = watch.finish(&report);
        assert!(last.ends_with("; no stream END seen"), "{last}");
    }

    #[test]
    fn test_analyze_file_names_a_missing_file() {
        let err = analyze_file(Path::new("/nonexistent/x.save")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.save"), "{err}");
    }
}
