//! Stream verification: every check of Xen's `verify-stream-v2` (with its Python 3 bug on
//! EMULATOR_XENSTORE_DATA fixed), plus record order, END at both layers, PAGE_DATA consistency
//! and pfn ranges. Problems carry the byte offset of the offending field.
//!
//! The parser enforces what a reader needs to go on (magic, versions, lengths, known types);
//! the [`Verifier`] checks the rest on its items and keeps going, so one run lists every
//! problem up to the first one the parser cannot pass.
//!
//! # Limits
//!
//! A stream is outside input, so the verifier's memory does not grow with it: it keeps the
//! first [`MAX_KEPT_PROBLEMS`] problems and the first [`MAX_KEPT_PROBLEMS`] warnings in stream
//! order (plus the parser's own error, always kept as the last problem) and counts the rest
//! in [`VerifyReport::problems_omitted`] and [`VerifyReport::warnings_omitted`]. A stream
//! that repeats one bad record millions of times is reported in a few hundred kilobytes.

mod headers;
mod libxc;
mod libxl;
mod page;

use std::collections::HashSet;

use super::config::GuestConfig;
use super::error::{Layer, StreamError};
use super::format::{MAX_BATCH_PFNS, XL_GO_MESSAGE};
use super::headers::{DomainType, LibxlOptions, XlMandatoryFlags};
use super::libxc_record::{LibxcRecord, LibxcRecordType, PvVcpu};
use super::libxl_record::{EmulatorRecord, LibxlRecord};
use super::parser::{Item, Located};

/// Problems (and, separately, warnings) kept one by one in a [`VerifyReport`]; the rest are
/// counted.
pub const MAX_KEPT_PROBLEMS: usize = 1000;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Problem {
    /// Offset of the offending byte.
    pub offset: u64,
    /// Its layer.
    pub layer: Layer,
    /// A stable name for the check, e.g. `padding` or `page-reserved-bits`.
    pub check: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "byte {} (0x{:x}), {}: {} [{}]",
            self.offset, self.offset, self.layer, self.message, self.check
        )
    }
}

/// The verdict on a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct VerifyReport {
    /// True when there is no problem (warnings allowed).
    pub ok: bool,
    /// Bytes examined.
    pub bytes: u64,
    /// Where the stream's END finished.
    pub stream_end_offset: Option<u64>,
    /// Bytes after the END.
    pub trailing_bytes: u64,
    /// They are exactly xl's GO message (a live migration capture).
    pub trailing_is_xl_go: bool,
    /// Problems, by offset; the first is where the stream first goes wrong.
    pub problems: Vec<Problem>,
    /// Things Xen tolerates but that are worth knowing.
    pub warnings: Vec<Problem>,
    /// Problems found beyond the first [`MAX_KEPT_PROBLEMS`], counted only.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero"))]
    pub problems_omitted: u64,
    /// Warnings found beyond the first [`MAX_KEPT_PROBLEMS`], counted only.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero"))]
    pub warnings_omitted: u64,
}

#[cfg(feature = "serde")]
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl VerifyReport {
    /// The first problem in stream order.
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }
}

/// Checks parser items one by one: every check of Xen's `verify-stream-v2` (with its Python 3
/// bug on EMULATOR_XENSTORE_DATA fixed), plus record order, PAGE_DATA consistency and pfn
/// ranges. It keeps going after a problem; the parser's own error, if any, is added by
/// [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct Verifier {
    report: VerifyReport,
    libxl_records: u64,
    libxc_contexts: u64,
    libxc_open: bool,
    checkpoint_open: bool,
    emulator_context_seen: bool,
    libxc_version: Option<u32>,
    domain_type: Option<DomainType>,
    converted: bool,
    static_data_end: bool,
    once: HashSet<u32>,
    per_checkpoint: HashSet<u32>,
    pv_info_seen: bool,
    p2m_end_pfn: Option<u64>,
    page_data_seen: bool,
    trailing_head: Vec<u8>,
    pfn_scratch: Vec<u64>,
}

impl Verifier {
    /// A verifier at the start of a stream.
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// Problems found so far.
    pub fn problems(&self) -> &[Problem] {
        &self.report.problems
    }

    fn problem(&mut self, offset: u64, layer: Layer, check: &'static str, message: String) {
        if self.report.problems.len() >= MAX_KEPT_PROBLEMS {
            self.report.problems_omitted += 1;
            return;
        }
        self.report.problems.push(Problem {
            offset,
            layer,
            check,
            message,
        });
    }

    fn warning(&mut self, offset: u64, layer: Layer, check: &'static str, message: String) {
        if self.report.warnings.len() >= MAX_KEPT_PROBLEMS {
            self.report.warnings_omitted += 1;
            return;
        }
        self.report.warnings.push(Problem {
            offset,
            layer,
            check,
            message,
        });
    }

    /// Checks one item.
    pub fn observe(&mut self, located: &Located) {
        self.report.bytes = located.offset + located.wire_len;
        if let Some(frame) = located.frame
            && !frame.padding_zero
        {
            self.problem(
                located.offset + 8 + u64::from(frame.body_len),
                located.layer,
                "padding",
                "record padding contains non-zero bytes".to_string(),
            );
        }
        let at = located.offset;
        match &located.item {
            Item::XlHeader(h) => self.xl_header(at, h),
            Item::LibxlHeader(h) => self.libxl_header(at, h),
            Item::Libxl(record) => self.libxl_record(at, record),
            Item::ImageHeader(h) => self.image_header(at, h),
            Item::DomainHeader(h) => self.domain_header(at, h),
            Item::Libxc(record) => self.libxc_record(located, record),
            Item::LegacyData(_) => self.legacy_data(at),
            Item::Trailing(data) => self.trailing(data),
        }
    }

    /// The report: the parser's error (if it stopped) becomes the last problem.
    pub fn finish(
        mut self,
        bytes: u64,
        end_offset: Option<u64>,
        error: Option<&StreamError>,
    ) -> VerifyReport {
        if let Some(e) = error {
            // Always kept, even beyond the limit: it is where reading stopped.
            self.report.problems.push(Problem {
                offset: e.offset,
                layer: e.layer,
                check: "format",
                message: e.kind.to_string(),
            });
        }
        if self.trailing_head.is_empty() {
            self.report.trailing_is_xl_go = false;
        } else {
            self.report.trailing_is_xl_go = self.trailing_head == XL_GO_MESSAGE;
            if !self.report.trailing_is_xl_go
                && let Some(end) = end_offset
            {
                let count = self.report.trailing_bytes;
                self.report.warnings.push(Problem {
                    offset: end,
                    layer: Layer::AfterEnd,
                    check: "trailing",
                    message: format!("{count} bytes after the stream's END"),
                });
            }
        }
        self.report.bytes = bytes;
        self.report.stream_end_offset = end_offset;
        self.report.problems.sort_by_key(|p| p.offset);
        self.report.warnings.sort_by_key(|p| p.offset);
        self.report.ok = self.report.problems.is_empty() && self.report.problems_omitted == 0;
        self.report
    }
}
