//! What a stream holds: guest, layers, pages per pre-copy iteration, a record histogram and
//! totals, gathered from the parser's items as they pass.
//!
//! Iterations are not marked in the stream. The saver walks its dirty bitmap in pfn order each
//! pass and flushes its batch at the end of the pass (reference §3.2), so the pfns rise within a
//! pass and a PAGE_DATA record whose first pfn is not above the previous record's last pfn
//! starts a new pass. A VERIFY record starts the debug resend, a CHECKPOINT a new checkpoint.
//! Two passes merge when the later one starts above where the earlier one ended; Xen's own
//! progress lines count them the same way only when that does not happen.
//!
//! # Limits
//!
//! A stream is outside input (a migration peer), so the inspector's memory does not grow with
//! it and each item costs bounded work. It keeps the first [`MAX_KEPT_ITERATIONS`]` - 1`
//! passes and the latest one in [`StreamSummary::iterations`]; the passes in between are
//! added up in [`StreamSummary::omitted_iterations`], and
//! [`StreamSummary::iteration_count`] counts them all. It tracks at most
//! [`MAX_TRACKED_VCPUS`] distinct PV vCPU ids. No real stream comes near either limit: a
//! live migration makes a handful of passes (libxc stops after `max_iters`, 5 by default).

use std::collections::BTreeMap;

use super::config::GuestConfig;
use super::error::Layer;
use super::format::{PAGE_BYTES, XL_GO_MESSAGE};
use super::headers::{DomainType, LibxlOptions, XlMandatoryFlags};
use super::libxc_record::{LibxcRecord, LibxcRecordType, PvInfo};
use super::libxl_record::LibxlRecordType;
use super::page::PageType;
use super::parser::{Item, Located};

/// The xl save header, as summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct XlSummary {
    /// Mandatory flags (bit 0 JSON, bit 1 stream v2).
    pub mandatory_flags: u32,
    /// Optional flags.
    pub optional_flags: u32,
    /// The optional data length (xl's `info 0x3/0x0/N`).
    pub optional_data_len: u64,
    /// The config is JSON.
    pub json_config: bool,
    /// A legacy (v1) stream follows.
    pub legacy_stream: bool,
}

/// The libxc stream headers, as summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct LibxcSummary {
    /// Stream version (2 or 3).
    pub version: u32,
    /// PV or HVM.
    pub domain_type: Option<DomainType>,
    /// `major.minor` of the saving Xen; `None` for streams converted from legacy.
    pub saved_on_xen: Option<String>,
}

/// One pre-copy pass (or the debug verify resend).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct IterationStats {
    /// 0 for the first (full) pass, as libxc's "Frames iteration N".
    pub number: u32,
    /// Part of the debug resend after a VERIFY record.
    pub verify: bool,
    /// PAGE_DATA records.
    pub page_records: u64,
    /// pfns sent.
    pub pfns: u64,
    /// pfns with page data.
    pub data_pages: u64,
    /// pfns without data (ballooned out, broken, allocate-only).
    pub no_data_pfns: u64,
    /// Offset of its first record.
    pub first_offset: u64,
    /// Its bytes on the wire.
    pub bytes: u64,
}

/// Pre-copy passes kept one by one in [`StreamSummary::iterations`]: the first
/// `MAX_KEPT_ITERATIONS - 1` and the latest.
pub const MAX_KEPT_ITERATIONS: usize = 256;

/// Distinct PV vCPU ids the inspector tracks (Xen's `MAX_VIRT_CPUS`); further ids are not
/// counted in [`StreamSummary::pv_vcpus`].
pub const MAX_TRACKED_VCPUS: usize = 8192;

/// The passes between the first kept ones and the latest, added up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct OmittedIterations {
    /// How many passes.
    pub count: u64,
    /// Of which debug verify passes.
    pub verify: u64,
    /// PAGE_DATA records.
    pub page_records: u64,
    /// pfns sent.
    pub pfns: u64,
    /// pfns with page data.
    pub data_pages: u64,
    /// pfns without data.
    pub no_data_pfns: u64,
    /// Offset of the first omitted pass's first record.
    pub first_offset: u64,
    /// Their bytes on the wire.
    pub bytes: u64,
}

impl OmittedIterations {
    fn add(&mut self, it: &IterationStats) {
        if self.count == 0 {
            self.first_offset = it.first_offset;
        }
        self.count += 1;
        self.verify += u64::from(it.verify);
        self.page_records += it.page_records;
        self.pfns += it.pfns;
        self.data_pages += it.data_pages;
        self.no_data_pfns += it.no_data_pfns;
        self.bytes += it.bytes;
    }
}

/// Count and bytes of one record type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct RecordStats {
    /// libxl or libxc.
    pub layer: Layer,
    /// The type word.
    pub record_type: u32,
    /// Its name (`0x...` when unknown).
    pub name: String,
    /// How many.
    pub count: u64,
    /// Their bytes on the wire.
    pub bytes: u64,
}

/// Whole-stream totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Totals {
    /// Bytes read.
    pub bytes: u64,
    /// Records in both layers.
    pub records: u64,
    /// PAGE_DATA records.
    pub page_records: u64,
    /// pfns sent.
    pub pfns: u64,
    /// Pages of data sent.
    pub data_pages: u64,
    /// Bytes of page data.
    pub page_data_bytes: u64,
    /// Where the stream's END finished (the end of the stream proper).
    pub stream_end_offset: Option<u64>,
    /// Bytes after the END.
    pub trailing_bytes: u64,
    /// Those bytes are exactly xl's GO message (a live migration capture).
    pub trailing_is_xl_go: bool,
}

/// Everything `xenadm stream inspect` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct StreamSummary {
    /// The xl save header, when there is one.
    pub xl: Option<XlSummary>,
    /// The guest, from the JSON config.
    pub guest: Option<GuestConfig>,
    /// The libxl header's option bits, when there is a libxl layer.
    pub libxl_options: Option<u32>,
    /// The stream was converted from a legacy image (libxl LEGACY bit or Xen major 0).
    pub converted_from_legacy: bool,
    /// A legacy (v1) stream, which this tool does not decode.
    pub legacy_v1: bool,
    /// The libxc headers.
    pub libxc: Option<LibxcSummary>,
    /// PV guest width and paging levels.
    pub pv_info: Option<PvInfo>,
    /// vCPUs with an X86_PV_VCPU_BASIC record (PV).
    pub pv_vcpus: u64,
    /// Pre-copy passes in order (the last non-verify one is the stop-and-copy pass): at most
    /// [`MAX_KEPT_ITERATIONS`], the first ones and the latest.
    pub iterations: Vec<IterationStats>,
    /// All passes seen, kept or not.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_zero"))]
    pub iteration_count: u64,
    /// The passes not kept in `iterations` (between the first kept ones and the latest).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub omitted_iterations: Option<OmittedIterations>,
    /// Record histogram, by layer then type.
    pub records: Vec<RecordStats>,
    /// Totals.
    pub totals: Totals,
}

impl StreamSummary {
    /// The guest type: from the libxc domain header, else the config.
    pub fn domain_type_name(&self) -> Option<&str> {
        self.libxc
            .as_ref()
            .and_then(|l| l.domain_type)
            .map(DomainType::name)
            .or_else(|| self.guest.as_ref()?.guest_type.as_deref())
    }

    /// pfns of the first (full) pass.
    pub fn first_pass_pfns(&self) -> u64 {
        self.iterations.first().map_or(0, |i| i.pfns)
    }
}

#[cfg(feature = "serde")]
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Builds a [`StreamSummary`] from parser items.
#[derive(Debug, Default)]
pub struct Inspector {
    summary: StreamSummary,
    histogram: BTreeMap<(Layer, u32), (u64, u64)>,
    last_pfn: Option<u64>,
    boundary: bool,
    in_verify: bool,
    passes: [u64; 2],
    pv_vcpu_ids: std::collections::BTreeSet<u32>,
    trailing_head: Vec<u8>,
}

impl Inspector {
    /// An inspector at the start of a stream.
    pub fn new() -> Inspector {
        Inspector::default()
    }

    /// The summary so far (progress).
    pub fn current(&self) -> &StreamSummary {
        &self.summary
    }

    /// Takes one item into account.
    pub fn observe(&mut self, located: &Located) {
        if let Item::Libxc(record) = &located.item {
            self.libxc_record(located, record);
        }
        let s = &mut self.summary;
        s.totals.bytes = located.offset + located.wire_len;
        if let Some(frame) = located.frame {
            s.totals.records += 1;
            let entry = self
                .histogram
                .entry((located.layer, frame.record_type))
                .or_default();
            entry.0 += 1;
            entry.1 += located.wire_len;
        }
        match &located.item {
            Item::XlHeader(h) => {
                s.xl = Some(XlSummary {
                    mandatory_flags: h.mandatory_flags.bits(),
                    optional_flags: h.optional_flags,
                    optional_data_len: h.optional_data_len() as u64,
                    json_config: h.mandatory_flags.contains(XlMandatoryFlags::JSON),
                    legacy_stream: h.is_legacy(),
                });
                s.legacy_v1 = h.is_legacy();
                s.guest = h.config_text().and_then(GuestConfig::from_json);
            }
            Item::LibxlHeader(h) => {
                s.libxl_options = Some(h.options.bits());
                s.converted_from_legacy |= h.options.contains(LibxlOptions::LEGACY);
            }
            Item::ImageHeader(h) => {
                s.libxc = Some(LibxcSummary {
                    version: h.version,
                    domain_type: None,
                    saved_on_xen: None,
                });
            }
            Item::DomainHeader(h) => {
                if let Some(libxc) = &mut s.libxc {
                    libxc.domain_type = Some(h.domain_type);
                    libxc.saved_on_xen = (!h.is_converted_from_legacy())
                        .then(|| format!("{}.{}", h.xen_major, h.xen_minor));
                }
                s.converted_from_legacy |= h.is_converted_from_legacy();
            }
            Item::Libxc(_) | Item::Libxl(_) => {}
            Item::LegacyData(_) => s.legacy_v1 = true,
            Item::Trailing(data) => {
                s.totals.trailing_bytes += data.len() as u64;
                let room =
                    XL_GO_MESSAGE.len() + 1 - self.trailing_head.len().min(XL_GO_MESSAGE.len() + 1);
                self.trailing_head
                    .extend_from_slice(&data[..data.len().min(room)]);
                s.totals.trailing_is_xl_go = self.trailing_head == XL_GO_MESSAGE;
            }
        }
        if matches!(
            located.item,
            Item::Libxl(super::libxl_record::LibxlRecord::End)
        ) || (matches!(located.item, Item::Libxc(LibxcRecord::End)) && s.libxl_options.is_none())
        {
            s.totals.stream_end_offset = Some(located.offset + located.wire_len);
        }
    }

    fn libxc_record(&mut self, located: &Located, record: &LibxcRecord) {
        let s = &mut self.summary;
        match record {
            LibxcRecord::PageData(page) => {
                let (Some(first), Some(last)) = (page.pfns.first(), page.pfns.last()) else {
                    return;
                };
                let starts_pass = self.boundary
                    || s.iterations.is_empty()
                    || self.last_pfn.is_none_or(|prev| first.pfn() <= prev);
                if starts_pass {
                    self.boundary = false;
                    let number = self.passes[usize::from(self.in_verify)];
                    self.passes[usize::from(self.in_verify)] += 1;
                    s.iteration_count += 1;
                    if s.iterations.len() >= MAX_KEPT_ITERATIONS
                        && let Some(latest) = s.iterations.pop()
                    {
                        s.omitted_iterations
                            .get_or_insert_with(OmittedIterations::default)
                            .add(&latest);
                    }
                    s.iterations.push(IterationStats {
                        number: u32::try_from(number).unwrap_or(u32::MAX),
                        verify: self.in_verify,
                        page_records: 0,
                        pfns: 0,
                        data_pages: 0,
                        no_data_pfns: 0,
                        first_offset: located.offset,
                        bytes: 0,
                    });
                }
                self.last_pfn = Some(last.pfn());
                let data = page
                    .pfns
                    .iter()
                    .filter(|w| w.page_type().is_some_and(PageType::has_data))
                    .count() as u64;
                let pfns = page.pfns.len() as u64;
                if let Some(it) = s.iterations.last_mut() {
                    it.page_records += 1;
                    it.pfns += pfns;
                    it.data_pages += data;
                    it.no_data_pfns += pfns - data;
                    it.bytes += located.wire_len;
                }
                s.totals.page_records += 1;
                s.totals.pfns += pfns;
                s.totals.data_pages += data;
                s.totals.page_data_bytes += data * PAGE_BYTES as u64;
            }
            LibxcRecord::Verify => {
                self.in_verify = true;
                self.boundary = true;
            }
            LibxcRecord::Checkpoint => self.boundary = true,
            LibxcRecord::X86PvInfo(info) => s.pv_info = Some(*info),
            LibxcRecord::X86PvVcpuBasic(Some(vcpu)) => {
                if self.pv_vcpu_ids.len() < MAX_TRACKED_VCPUS {
                    self.pv_vcpu_ids.insert(vcpu.vcpu_id);
                }
                s.pv_vcpus = self.pv_vcpu_ids.len() as u64;
            }
            _ => {}
        }
    }

    /// The summary, with the histogram sorted by layer and type.
    pub fn finish(mut self, total_bytes: u64) -> StreamSummary {
        self.summary.totals.bytes = total_bytes;
        self.summary.records = self
            .histogram
            .into_iter()
            .map(|((layer, record_type), (count, bytes))| RecordStats {
                layer,
                record_type,
                name: record_name(layer, record_type),
                count,
                bytes,
            })
            .collect();
        self.summary
    }
}

/// The record's name in its layer, or its type in hex.
pub fn record_name(layer: Layer, record_type: u32) -> String {
    let name = if layer == Layer::Libxl {
        LibxlRecordType(record_type).name()
    } else {
        LibxcRecordType(record_type).name()
    };
    name.map_or_else(|| format!("0x{record_type:08x}"), str::to_string)
}
