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

use std::collections::HashSet;

use super::config::GuestConfig;
use super::error::{Layer, StreamError};
use super::format::{MAX_BATCH_PFNS, XL_GO_MESSAGE};
use super::headers::{DomainType, LibxlOptions, XlMandatoryFlags};
use super::libxc_record::{LibxcRecord, LibxcRecordType, PvVcpu};
use super::libxl_record::{EmulatorRecord, LibxlRecord};
use super::page::{PageData, PageType};
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
            Item::XlHeader(h) => {
                if h.is_legacy() {
                    self.problem(
                        at + 36,
                        Layer::Xl,
                        "legacy-stream",
                        "legacy (v1, Xen 4.5 and older) stream: the xl header lacks the STREAMv2 \
                         flag; convert it with convert-legacy-stream to check it"
                            .to_string(),
                    );
                }
                match h.config.as_deref() {
                    None => self.warning(
                        at + 44,
                        Layer::Xl,
                        "xl-config-missing",
                        "no domain config in the xl header (restore needs one given)".to_string(),
                    ),
                    Some(config) if config.last() != Some(&0) => self.problem(
                        at + 48,
                        Layer::Xl,
                        "xl-config-nul",
                        "the xl config is not NUL-terminated".to_string(),
                    ),
                    Some(_) => {}
                }
                let json = h.mandatory_flags.contains(XlMandatoryFlags::JSON);
                if !json {
                    self.warning(
                        at + 36,
                        Layer::Xl,
                        "xl-config-text",
                        "the config is xl.cfg text, not JSON".to_string(),
                    );
                } else if h.config.is_some()
                    && h.config_text().and_then(GuestConfig::from_json).is_none()
                {
                    self.problem(
                        at + 52,
                        Layer::Xl,
                        "xl-config-json",
                        "the JSON flag is set but the config is not a JSON object".to_string(),
                    );
                }
            }
            Item::LibxlHeader(h) => {
                let reserved = h.options.bits() & !LibxlOptions::all().bits();
                if reserved != 0 {
                    self.problem(
                        at + 12,
                        Layer::Libxl,
                        "reserved",
                        format!("reserved libxl header option bits set: 0x{reserved:x}"),
                    );
                }
                if h.options.contains(LibxlOptions::LEGACY) {
                    self.warning(
                        at + 12,
                        Layer::Libxl,
                        "converted-from-legacy",
                        "converted from a legacy stream by convert-legacy-stream".to_string(),
                    );
                }
            }
            Item::Libxl(record) => self.libxl_record(at, record),
            Item::ImageHeader(h) => {
                self.libxc_version = Some(h.version);
                self.libxc_open = true;
                if h.options.bits() & 0xfffe != 0 || h.reserved_16 != 0 || h.reserved_32 != 0 {
                    self.problem(
                        at + 16,
                        Layer::Libxc,
                        "reserved",
                        "reserved bits set in the libxc image header".to_string(),
                    );
                }
            }
            Item::DomainHeader(h) => {
                self.domain_type = Some(h.domain_type);
                self.converted = h.is_converted_from_legacy();
                if h.reserved != 0 {
                    self.problem(
                        at + 6,
                        Layer::Libxc,
                        "reserved",
                        format!(
                            "reserved field of the domain header is 0x{:04x}",
                            h.reserved
                        ),
                    );
                }
            }
            Item::Libxc(record) => self.libxc_record(located, record),
            Item::LegacyData(_) => {
                if at == 0 {
                    self.problem(
                        0,
                        Layer::Legacy,
                        "legacy-stream",
                        "no magic: a legacy (v1, Xen 4.5 and older) libxc image; convert it \
                         with convert-legacy-stream to check it"
                            .to_string(),
                    );
                }
            }
            Item::Trailing(data) => {
                self.report.trailing_bytes += data.len() as u64;
                let room = (XL_GO_MESSAGE.len() + 1).saturating_sub(self.trailing_head.len());
                self.trailing_head
                    .extend_from_slice(&data[..data.len().min(room)]);
            }
        }
    }

    fn libxl_record(&mut self, at: u64, record: &LibxlRecord) {
        self.libxl_records += 1;
        if self.libxl_records == 1 && *record != LibxlRecord::LibxcContext {
            self.problem(
                at,
                Layer::Libxl,
                "order",
                format!(
                    "the first libxl record is {}, not LIBXC_CONTEXT",
                    record.record_type()
                ),
            );
        }
        match record {
            LibxlRecord::LibxcContext => {
                self.libxc_contexts += 1;
                if self.libxc_contexts > 1 {
                    self.problem(
                        at,
                        Layer::Libxl,
                        "order",
                        "a second LIBXC_CONTEXT record".to_string(),
                    );
                }
            }
            LibxlRecord::EmulatorXenstoreData(e) => {
                self.emulator(at, e);
                if self.emulator_context_seen {
                    self.problem(
                        at,
                        Layer::Libxl,
                        "order",
                        "EMULATOR_XENSTORE_DATA after EMULATOR_CONTEXT".to_string(),
                    );
                }
                if !e.data.is_empty() && e.xenstore_pairs().is_none() {
                    self.problem(
                        at + 16,
                        Layer::Libxl,
                        "xenstore-data",
                        "xenstore data is not NUL-terminated key/value strings (an even number)"
                            .to_string(),
                    );
                }
            }
            LibxlRecord::EmulatorContext(e) => {
                self.emulator(at, e);
                self.emulator_context_seen = true;
            }
            LibxlRecord::CheckpointEnd => {
                if !self.checkpoint_open {
                    self.problem(
                        at,
                        Layer::Libxl,
                        "order",
                        "CHECKPOINT_END without a libxc CHECKPOINT before it".to_string(),
                    );
                }
                self.checkpoint_open = false;
                self.emulator_context_seen = false;
            }
            LibxlRecord::CheckpointState { .. } => self.warning(
                at,
                Layer::Libxl,
                "back-channel",
                "CHECKPOINT_STATE belongs to the COLO back channel".to_string(),
            ),
            LibxlRecord::End => {
                if self.libxc_open {
                    self.problem(
                        at,
                        Layer::Libxl,
                        "order",
                        "libxl END inside the libxc stream".to_string(),
                    );
                }
            }
        }
    }

    fn emulator(&mut self, at: u64, e: &EmulatorRecord) {
        if e.emulator_id.name().is_none() {
            self.problem(
                at + 8,
                Layer::Libxl,
                "emulator-id",
                format!("unknown emulator id {}", e.emulator_id.0),
            );
        }
        if self.domain_type == Some(DomainType::X86Pv) {
            self.problem(
                at,
                Layer::Libxl,
                "guest-type",
                "emulator record in a PV guest's stream".to_string(),
            );
        }
    }

    fn libxc_record(&mut self, located: &Located, record: &LibxcRecord) {
        use LibxcRecordType as T;
        let at = located.offset;
        let rtype = record.record_type();
        let v3 = self.libxc_version == Some(3);
        let pv = self.domain_type == Some(DomainType::X86Pv);
        let hvm = self.domain_type == Some(DomainType::X86Hvm);
        let name = rtype.to_string();
        let order = |s: &mut Verifier, message: String| {
            s.problem(at, Layer::Libxc, "order", message);
        };

        // Once per stream: the static records.
        if matches!(
            rtype,
            T::X86_PV_INFO | T::STATIC_DATA_END | T::X86_CPUID_POLICY | T::X86_MSR_POLICY
        ) {
            if !self.once.insert(rtype.0) {
                order(self, format!("a second {name} record"));
            }
            if rtype != T::STATIC_DATA_END && self.static_data_end {
                order(self, format!("{name} after STATIC_DATA_END"));
            }
        }
        // Once per checkpoint: the end-of-checkpoint state.
        if matches!(
            rtype,
            T::X86_TSC_INFO | T::SHARED_INFO | T::HVM_CONTEXT | T::HVM_PARAMS
        ) && !self.per_checkpoint.insert(rtype.0)
        {
            order(self, format!("a second {name} record in one checkpoint"));
        }
        // v3: memory and register records only after STATIC_DATA_END.
        let dynamic = matches!(
            rtype,
            T::PAGE_DATA
                | T::X86_PV_P2M_FRAMES
                | T::X86_PV_VCPU_BASIC
                | T::X86_PV_VCPU_EXTENDED
                | T::X86_PV_VCPU_XSAVE
                | T::X86_PV_VCPU_MSRS
                | T::SHARED_INFO
                | T::X86_TSC_INFO
                | T::HVM_CONTEXT
                | T::HVM_PARAMS
        );
        if v3 && dynamic && !self.static_data_end {
            order(
                self,
                format!("{name} before STATIC_DATA_END (required in v3)"),
            );
            // Report the missing record once.
            self.static_data_end = true;
        }
        let pv_only = matches!(
            rtype,
            T::X86_PV_INFO
                | T::X86_PV_P2M_FRAMES
                | T::X86_PV_VCPU_BASIC
                | T::X86_PV_VCPU_EXTENDED
                | T::X86_PV_VCPU_XSAVE
                | T::X86_PV_VCPU_MSRS
                | T::SHARED_INFO
        );
        let hvm_only = matches!(rtype, T::HVM_CONTEXT | T::HVM_PARAMS);
        if (pv_only && hvm) || (hvm_only && pv) {
            self.problem(
                at,
                Layer::Libxc,
                "guest-type",
                format!(
                    "{name} in an {} stream",
                    self.domain_type.map_or("unknown", DomainType::name)
                ),
            );
        }
        if pv && matches!(rtype, T::X86_PV_P2M_FRAMES | T::PAGE_DATA) && !self.pv_info_seen {
            order(self, format!("{name} before X86_PV_INFO"));
            self.pv_info_seen = true;
        }
        if pv && rtype == T::PAGE_DATA && self.p2m_end_pfn.is_none() && !self.page_data_seen {
            order(self, "PAGE_DATA before X86_PV_P2M_FRAMES".to_string());
        }

        match record {
            LibxcRecord::End => {
                self.libxc_open = false;
                if v3 && !self.static_data_end {
                    order(self, "no STATIC_DATA_END record in a v3 stream".to_string());
                }
            }
            LibxcRecord::PageData(page) => {
                self.page_data(at, page);
                self.page_data_seen = true;
            }
            LibxcRecord::X86PvInfo(info) => {
                self.pv_info_seen = true;
                if !matches!(info.guest_width, 4 | 8) {
                    self.problem(
                        at + 8,
                        Layer::Libxc,
                        "pv-info",
                        format!("guest width {} (must be 4 or 8)", info.guest_width),
                    );
                }
                if !matches!(info.pt_levels, 3 | 4) {
                    self.problem(
                        at + 9,
                        Layer::Libxc,
                        "pv-info",
                        format!("{} page-table levels (must be 3 or 4)", info.pt_levels),
                    );
                }
                if info.reserved != [0; 6] {
                    self.reserved(at + 10, &name);
                }
            }
            LibxcRecord::X86PvP2mFrames(p) => {
                self.p2m_end_pfn = Some(u64::from(p.end_pfn));
                if p.end_pfn < p.start_pfn {
                    self.problem(
                        at + 12,
                        Layer::Libxc,
                        "p2m-frames",
                        format!(
                            "end pfn 0x{:x} below start pfn 0x{:x}",
                            p.end_pfn, p.start_pfn
                        ),
                    );
                }
            }
            LibxcRecord::X86PvVcpuBasic(v)
            | LibxcRecord::X86PvVcpuExtended(v)
            | LibxcRecord::X86PvVcpuXsave(v)
            | LibxcRecord::X86PvVcpuMsrs(v) => self.pv_vcpu(at, &name, v.as_ref()),
            LibxcRecord::X86TscInfo(t) if t.reserved != 0 => self.reserved(at + 28, &name),
            LibxcRecord::HvmContext(blob) if blob.is_empty() => self.problem(
                at + 4,
                Layer::Libxc,
                "hvm-context",
                "empty HVM_CONTEXT record".to_string(),
            ),
            LibxcRecord::HvmParams(None) => self.warning(
                at + 4,
                Layer::Libxc,
                "empty-record",
                "empty HVM_PARAMS record (written by Xen 4.6-4.8)".to_string(),
            ),
            LibxcRecord::HvmParams(Some(p)) => {
                if p.reserved != 0 {
                    self.reserved(at + 12, &name);
                }
                if p.params.is_empty() {
                    self.warning(
                        at + 8,
                        Layer::Libxc,
                        "empty-record",
                        "HVM_PARAMS record with no parameters".to_string(),
                    );
                }
            }
            LibxcRecord::Toolstack(_) => self.problem(
                at,
                Layer::Libxc,
                "deprecated",
                "TOOLSTACK record (deprecated, never written)".to_string(),
            ),
            LibxcRecord::CheckpointDirtyPfnList(_) => self.problem(
                at,
                Layer::Libxc,
                "back-channel",
                "CHECKPOINT_DIRTY_PFN_LIST belongs to the COLO back channel".to_string(),
            ),
            LibxcRecord::StaticDataEnd => self.static_data_end = true,
            LibxcRecord::X86CpuidPolicy(leaves) if leaves.is_empty() => self.problem(
                at + 4,
                Layer::Libxc,
                "policy",
                "empty X86_CPUID_POLICY record".to_string(),
            ),
            LibxcRecord::X86MsrPolicy(entries) => {
                if entries.is_empty() {
                    self.problem(
                        at + 4,
                        Layer::Libxc,
                        "policy",
                        "empty X86_MSR_POLICY record".to_string(),
                    );
                }
                if let Some(i) = entries.iter().position(|e| e.flags != 0) {
                    self.reserved(at + 8 + 16 * i as u64 + 4, &name);
                }
            }
            LibxcRecord::Checkpoint => {
                self.checkpoint_open = true;
                self.per_checkpoint.clear();
            }
            LibxcRecord::Unknown { record_type, .. } => self.warning(
                at,
                Layer::Libxc,
                "unknown-optional",
                format!(
                    "unknown optional record 0x{:08x} (restore skips it)",
                    record_type.0
                ),
            ),
            _ => {}
        }
        if !v3
            && matches!(
                rtype,
                T::STATIC_DATA_END | T::X86_CPUID_POLICY | T::X86_MSR_POLICY
            )
        {
            self.problem(
                at,
                Layer::Libxc,
                "v3-only",
                format!("{name} in a v2 stream (it exists since v3)"),
            );
        }
    }

    fn reserved(&mut self, at: u64, name: &str) {
        self.problem(
            at,
            Layer::Libxc,
            "reserved",
            format!("reserved field of {name} is not zero"),
        );
    }

    fn pv_vcpu(&mut self, at: u64, name: &str, vcpu: Option<&PvVcpu>) {
        match vcpu {
            None => self.warning(
                at + 4,
                Layer::Libxc,
                "empty-record",
                format!("empty {name} record (written by Xen 4.6-4.8)"),
            ),
            Some(v) => {
                if v.reserved != 0 {
                    self.reserved(at + 12, name);
                }
                if v.context.is_empty() {
                    self.warning(
                        at + 4,
                        Layer::Libxc,
                        "empty-record",
                        format!("{name} record for vcpu {} with no context", v.vcpu_id),
                    );
                }
            }
        }
    }

    fn page_data(&mut self, at: u64, page: &PageData) {
        if page.reserved != 0 {
            self.problem(
                at + 12,
                Layer::Libxc,
                "reserved",
                format!("reserved word of PAGE_DATA is 0x{:x}", page.reserved),
            );
        }
        if page.pfns.len() > MAX_BATCH_PFNS {
            self.warning(
                at + 8,
                Layer::Libxc,
                "page-batch",
                format!(
                    "{} pfns in one PAGE_DATA record (the saver sends at most {MAX_BATCH_PFNS})",
                    page.pfns.len()
                ),
            );
        }
        let hvm = self.domain_type == Some(DomainType::X86Hvm);
        let mut reported = (false, false, false, false);
        for (i, word) in page.pfns.iter().enumerate() {
            let word_at = at + 16 + 8 * i as u64;
            if word.reserved_bits() != 0 && !reported.0 {
                reported.0 = true;
                self.problem(
                    word_at,
                    Layer::Libxc,
                    "page-reserved-bits",
                    format!(
                        "pfn word {i} (0x{:016x}) has reserved bits 52-59 set",
                        word.0
                    ),
                );
            }
            let page_type = word.page_type();
            if hvm && matches!(page_type, Some(PageType::PageTable { .. })) && !reported.1 {
                reported.1 = true;
                self.problem(
                    word_at,
                    Layer::Libxc,
                    "page-type",
                    format!("pfn word {i}: PV page-table page in an HVM stream"),
                );
            }
            if page_type == Some(PageType::AllocateOnly) && !self.converted && !reported.2 {
                reported.2 = true;
                self.problem(
                    word_at,
                    Layer::Libxc,
                    "page-type",
                    format!(
                        "pfn word {i}: allocate-only page outside a stream converted from legacy"
                    ),
                );
            }
            if let Some(end) = self.p2m_end_pfn
                && word.pfn() > end
                && !reported.3
            {
                reported.3 = true;
                self.problem(
                    word_at,
                    Layer::Libxc,
                    "pfn-range",
                    format!(
                        "pfn 0x{:x} beyond the guest's P2M (last pfn 0x{end:x})",
                        word.pfn()
                    ),
                );
            }
        }
        // Duplicates within one record: the saver never sends a pfn twice in a batch.
        let mut pfns = std::mem::take(&mut self.pfn_scratch);
        pfns.clear();
        pfns.extend(page.pfns.iter().map(|w| w.pfn()));
        let sorted = pfns.windows(2).all(|w| w[0] < w[1]);
        if !sorted {
            pfns.sort_unstable();
            if let Some(dup) = pfns.windows(2).find(|w| w[0] == w[1]) {
                let pfn = dup[0];
                let i = page.pfns.iter().rposition(|w| w.pfn() == pfn).unwrap_or(0);
                self.problem(
                    at + 16 + 8 * i as u64,
                    Layer::Libxc,
                    "page-duplicate",
                    format!("pfn 0x{pfn:x} appears twice in one PAGE_DATA record"),
                );
            }
        }
        self.pfn_scratch = pfns;
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
