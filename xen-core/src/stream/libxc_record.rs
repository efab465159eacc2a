//! libxc stream records (spec "libxenctrl (libxc) Domain Image Format", revision 3). Bodies
//! are little-endian.

use std::fmt;

use bytes::Bytes;

use super::error::StreamErrorKind;
use super::format::PAGE_BYTES;
use super::headers::{le32, le64};
use super::page::PageData;

/// A libxc record type word. Bit 31 marks records a reader may skip when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LibxcRecordType(pub u32);

impl LibxcRecordType {
    /// Last record of the libxc stream.
    pub const END: LibxcRecordType = LibxcRecordType(0x00);
    /// Guest pages.
    pub const PAGE_DATA: LibxcRecordType = LibxcRecordType(0x01);
    /// PV guest width and paging levels.
    pub const X86_PV_INFO: LibxcRecordType = LibxcRecordType(0x02);
    /// Frames of the PV guest's P2M.
    pub const X86_PV_P2M_FRAMES: LibxcRecordType = LibxcRecordType(0x03);
    /// PV vCPU context.
    pub const X86_PV_VCPU_BASIC: LibxcRecordType = LibxcRecordType(0x04);
    /// PV vCPU extended context.
    pub const X86_PV_VCPU_EXTENDED: LibxcRecordType = LibxcRecordType(0x05);
    /// PV vCPU xsave state.
    pub const X86_PV_VCPU_XSAVE: LibxcRecordType = LibxcRecordType(0x06);
    /// The PV shared info page.
    pub const SHARED_INFO: LibxcRecordType = LibxcRecordType(0x07);
    /// TSC mode and frequency.
    pub const X86_TSC_INFO: LibxcRecordType = LibxcRecordType(0x08);
    /// HVM context blob.
    pub const HVM_CONTEXT: LibxcRecordType = LibxcRecordType(0x09);
    /// HVM parameters.
    pub const HVM_PARAMS: LibxcRecordType = LibxcRecordType(0x0a);
    /// Deprecated toolstack blob.
    pub const TOOLSTACK: LibxcRecordType = LibxcRecordType(0x0b);
    /// PV vCPU MSRs.
    pub const X86_PV_VCPU_MSRS: LibxcRecordType = LibxcRecordType(0x0c);
    /// Everything after it is a debug resend.
    pub const VERIFY: LibxcRecordType = LibxcRecordType(0x0d);
    /// End of a checkpoint (Remus/COLO).
    pub const CHECKPOINT: LibxcRecordType = LibxcRecordType(0x0e);
    /// COLO back channel: dirty pfns.
    pub const CHECKPOINT_DIRTY_PFN_LIST: LibxcRecordType = LibxcRecordType(0x0f);
    /// End of the records that do not change while the guest runs (v3).
    pub const STATIC_DATA_END: LibxcRecordType = LibxcRecordType(0x10);
    /// CPUID policy (v3).
    pub const X86_CPUID_POLICY: LibxcRecordType = LibxcRecordType(0x11);
    /// MSR policy (v3).
    pub const X86_MSR_POLICY: LibxcRecordType = LibxcRecordType(0x12);
    /// Bit 31: the record is optional.
    pub const OPTIONAL_BIT: u32 = 1 << 31;

    /// The spec's name, for known types.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "END",
            0x01 => "PAGE_DATA",
            0x02 => "X86_PV_INFO",
            0x03 => "X86_PV_P2M_FRAMES",
            0x04 => "X86_PV_VCPU_BASIC",
            0x05 => "X86_PV_VCPU_EXTENDED",
            0x06 => "X86_PV_VCPU_XSAVE",
            0x07 => "SHARED_INFO",
            0x08 => "X86_TSC_INFO",
            0x09 => "HVM_CONTEXT",
            0x0a => "HVM_PARAMS",
            0x0b => "TOOLSTACK",
            0x0c => "X86_PV_VCPU_MSRS",
            0x0d => "VERIFY",
            0x0e => "CHECKPOINT",
            0x0f => "CHECKPOINT_DIRTY_PFN_LIST",
            0x10 => "STATIC_DATA_END",
            0x11 => "X86_CPUID_POLICY",
            0x12 => "X86_MSR_POLICY",
            _ => return None,
        })
    }

    /// Bit 31 set: restore skips it when it does not know it.
    pub fn is_optional(self) -> bool {
        self.0 & Self::OPTIONAL_BIT != 0
    }
}

impl fmt::Display for LibxcRecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{:08x}", self.0),
        }
    }
}

/// X86_PV_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct PvInfo {
    /// Guest word size in bytes: 4 or 8.
    pub guest_width: u8,
    /// Paging levels: 3 or 4.
    pub pt_levels: u8,
    /// Must be zero.
    pub reserved: [u8; 6],
}

impl PvInfo {
    /// A 64-bit (width 8, 4 levels) or 32-bit PAE (width 4, 3 levels) guest.
    pub fn new(guest_width: u8, pt_levels: u8) -> PvInfo {
        PvInfo {
            guest_width,
            pt_levels,
            reserved: [0; 6],
        }
    }
}

/// X86_PV_P2M_FRAMES.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct P2mFrames {
    /// First pfn the frames cover.
    pub start_pfn: u32,
    /// Last pfn they cover (inclusive).
    pub end_pfn: u32,
    /// The frames holding the guest's P2M.
    pub frames: Vec<u64>,
}

impl P2mFrames {
    /// Frames covering `start_pfn..=end_pfn`.
    pub fn new(start_pfn: u32, end_pfn: u32, frames: Vec<u64>) -> P2mFrames {
        P2mFrames {
            start_pfn,
            end_pfn,
            frames,
        }
    }
}

/// The body of a PV vCPU record (basic, extended, xsave or MSRs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PvVcpu {
    /// The vCPU.
    pub vcpu_id: u32,
    /// Must be zero.
    pub reserved: u32,
    /// The hypercall's context blob.
    pub context: Bytes,
}

impl PvVcpu {
    /// A record body for this vCPU.
    pub fn new(vcpu_id: u32, context: Bytes) -> PvVcpu {
        PvVcpu {
            vcpu_id,
            reserved: 0,
            context,
        }
    }
}

/// X86_TSC_INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct TscInfo {
    /// TSC_MODE_*: 0 default, 1 always emulate, 2 never emulate.
    pub mode: u32,
    /// Frequency in kHz.
    pub khz: u32,
    /// Elapsed nanoseconds.
    pub nsec: u64,
    /// Incarnation.
    pub incarnation: u32,
    /// Must be zero.
    pub reserved: u32,
}

impl TscInfo {
    /// TSC info with a zero reserved field.
    pub fn new(mode: u32, khz: u32, nsec: u64, incarnation: u32) -> TscInfo {
        TscInfo {
            mode,
            khz,
            nsec,
            incarnation,
            reserved: 0,
        }
    }
}

/// HVM_PARAMS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HvmParams {
    /// Must be zero.
    pub reserved: u32,
    /// `(index, value)` pairs.
    pub params: Vec<(u64, u64)>,
}

impl HvmParams {
    /// These parameters.
    pub fn new(params: Vec<(u64, u64)>) -> HvmParams {
        HvmParams {
            reserved: 0,
            params,
        }
    }
}

/// One `xen_cpuid_leaf_t` of X86_CPUID_POLICY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CpuidLeaf {
    /// Leaf.
    pub leaf: u32,
    /// Subleaf (0xffffffff: none).
    pub subleaf: u32,
    /// EAX, EBX, ECX, EDX.
    pub regs: [u32; 4],
}

/// One `xen_msr_entry_t` of X86_MSR_POLICY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MsrEntry {
    /// MSR index.
    pub index: u32,
    /// Must be zero.
    pub flags: u32,
    /// Value.
    pub value: u64,
}

/// A libxc record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LibxcRecord {
    /// End of the libxc stream.
    End,
    /// Guest pages.
    PageData(PageData),
    /// PV guest width and levels.
    X86PvInfo(PvInfo),
    /// PV P2M frames.
    X86PvP2mFrames(P2mFrames),
    /// PV vCPU context; `None` for an empty record (Xen 4.6-4.8 wrote those).
    X86PvVcpuBasic(Option<PvVcpu>),
    /// PV vCPU extended context; `None` when empty.
    X86PvVcpuExtended(Option<PvVcpu>),
    /// PV vCPU xsave state; `None` when empty.
    X86PvVcpuXsave(Option<PvVcpu>),
    /// PV vCPU MSRs; `None` when empty.
    X86PvVcpuMsrs(Option<PvVcpu>),
    /// The 4096-byte shared info page.
    SharedInfo(Bytes),
    /// TSC info.
    X86TscInfo(TscInfo),
    /// The HVM context blob.
    HvmContext(Bytes),
    /// HVM parameters; `None` for an empty record (Xen 4.6-4.8).
    HvmParams(Option<HvmParams>),
    /// Deprecated, never written.
    Toolstack(Bytes),
    /// Debug resend follows.
    Verify,
    /// End of a checkpoint.
    Checkpoint,
    /// COLO dirty pfns.
    CheckpointDirtyPfnList(Vec<u64>),
    /// End of the static records.
    StaticDataEnd,
    /// CPUID policy.
    X86CpuidPolicy(Vec<CpuidLeaf>),
    /// MSR policy.
    X86MsrPolicy(Vec<MsrEntry>),
    /// An unknown optional record (bit 31 set), kept as is.
    Unknown {
        /// The type word.
        record_type: LibxcRecordType,
        /// The body.
        body: Bytes,
    },
}

impl LibxcRecord {
    /// The record's type word.
    pub fn record_type(&self) -> LibxcRecordType {
        use LibxcRecordType as T;
        match self {
            LibxcRecord::End => T::END,
            LibxcRecord::PageData(_) => T::PAGE_DATA,
            LibxcRecord::X86PvInfo(_) => T::X86_PV_INFO,
            LibxcRecord::X86PvP2mFrames(_) => T::X86_PV_P2M_FRAMES,
            LibxcRecord::X86PvVcpuBasic(_) => T::X86_PV_VCPU_BASIC,
            LibxcRecord::X86PvVcpuExtended(_) => T::X86_PV_VCPU_EXTENDED,
            LibxcRecord::X86PvVcpuXsave(_) => T::X86_PV_VCPU_XSAVE,
            LibxcRecord::X86PvVcpuMsrs(_) => T::X86_PV_VCPU_MSRS,
            LibxcRecord::SharedInfo(_) => T::SHARED_INFO,
            LibxcRecord::X86TscInfo(_) => T::X86_TSC_INFO,
            LibxcRecord::HvmContext(_) => T::HVM_CONTEXT,
            LibxcRecord::HvmParams(_) => T::HVM_PARAMS,
            LibxcRecord::Toolstack(_) => T::TOOLSTACK,
            LibxcRecord::Verify => T::VERIFY,
            LibxcRecord::Checkpoint => T::CHECKPOINT,
            LibxcRecord::CheckpointDirtyPfnList(_) => T::CHECKPOINT_DIRTY_PFN_LIST,
            LibxcRecord::StaticDataEnd => T::STATIC_DATA_END,
            LibxcRecord::X86CpuidPolicy(_) => T::X86_CPUID_POLICY,
            LibxcRecord::X86MsrPolicy(_) => T::X86_MSR_POLICY,
            LibxcRecord::Unknown { record_type, .. } => *record_type,
        }
    }

    /// Decodes a complete body (any type but PAGE_DATA, which the parser reads in parts).
    pub(crate) fn decode(record_type: u32, body: Bytes) -> Result<LibxcRecord, StreamErrorKind> {
        use LibxcRecordType as T;
        let rtype = LibxcRecordType(record_type);
        let len = body.len();
        let bad = |expected: &str| StreamErrorKind::BadRecordLength {
            record: rtype.name().unwrap_or("libxc"),
            length_bytes: u32::try_from(len).unwrap_or(u32::MAX),
            expected: expected.to_string(),
        };
        let empty = |record: LibxcRecord| {
            if len == 0 {
                Ok(record)
            } else {
                Err(bad("empty"))
            }
        };
        let vcpu = |body: &Bytes| -> Result<Option<PvVcpu>, StreamErrorKind> {
            match len {
                0 => Ok(None),
                1..8 => Err(bad("empty or at least 8 bytes (vcpu id and reserved)")),
                _ => Ok(Some(PvVcpu {
                    vcpu_id: le32(body, 0),
                    reserved: le32(body, 4),
                    context: body.slice(8..),
                })),
            }
        };
        Ok(match rtype {
            T::END => empty(LibxcRecord::End)?,
            T::VERIFY => empty(LibxcRecord::Verify)?,
            T::CHECKPOINT => empty(LibxcRecord::Checkpoint)?,
            T::STATIC_DATA_END => empty(LibxcRecord::StaticDataEnd)?,
            T::X86_PV_INFO => {
                if len != 8 {
                    return Err(bad("exactly 8 bytes"));
                }
                let mut reserved = [0; 6];
                reserved.copy_from_slice(&body[2..8]);
                LibxcRecord::X86PvInfo(PvInfo {
                    guest_width: body[0],
                    pt_levels: body[1],
                    reserved,
                })
            }
            T::X86_PV_P2M_FRAMES => {
                if len < 8 || !len.is_multiple_of(8) {
                    return Err(bad("at least 8 bytes and a multiple of 8"));
                }
                LibxcRecord::X86PvP2mFrames(P2mFrames {
                    start_pfn: le32(&body, 0),
                    end_pfn: le32(&body, 4),
                    frames: body[8..].chunks_exact(8).map(|c| le64(c, 0)).collect(),
                })
            }
            T::X86_PV_VCPU_BASIC => LibxcRecord::X86PvVcpuBasic(vcpu(&body)?),
            T::X86_PV_VCPU_EXTENDED => LibxcRecord::X86PvVcpuExtended(vcpu(&body)?),
            T::X86_PV_VCPU_XSAVE => LibxcRecord::X86PvVcpuXsave(vcpu(&body)?),
            T::X86_PV_VCPU_MSRS => LibxcRecord::X86PvVcpuMsrs(vcpu(&body)?),
            T::SHARED_INFO => {
                if len != PAGE_BYTES {
                    return Err(bad("exactly 4096 bytes"));
                }
                LibxcRecord::SharedInfo(body)
            }
            T::X86_TSC_INFO => {
                if len != 24 {
                    return Err(bad("exactly 24 bytes"));
                }
                LibxcRecord::X86TscInfo(TscInfo {
                    mode: le32(&body, 0),
                    khz: le32(&body, 4),
                    nsec: le64(&body, 8),
                    incarnation: le32(&body, 16),
                    reserved: le32(&body, 20),
                })
            }
            T::HVM_CONTEXT => LibxcRecord::HvmContext(body),
            T::HVM_PARAMS => {
                if len == 0 {
                    return Ok(LibxcRecord::HvmParams(None));
                }
                let count = if len >= 8 { le32(&body, 0) as usize } else { 0 };
                if len < 8 || (len - 8) / 16 != count || !(len - 8).is_multiple_of(16) {
                    return Err(bad("8 + 16 x count bytes"));
                }
                LibxcRecord::HvmParams(Some(HvmParams {
                    reserved: le32(&body, 4),
                    params: body[8..]
                        .chunks_exact(16)
                        .map(|c| (le64(c, 0), le64(c, 8)))
                        .collect(),
                }))
            }
            T::TOOLSTACK => LibxcRecord::Toolstack(body),
            T::CHECKPOINT_DIRTY_PFN_LIST => {
                if !len.is_multiple_of(8) {
                    return Err(bad("a multiple of 8 bytes"));
                }
                LibxcRecord::CheckpointDirtyPfnList(
                    body.chunks_exact(8).map(|c| le64(c, 0)).collect(),
                )
            }
            T::X86_CPUID_POLICY => {
                if !len.is_multiple_of(24) {
                    return Err(bad("a multiple of 24 bytes"));
                }
                LibxcRecord::X86CpuidPolicy(
                    body.chunks_exact(24)
                        .map(|c| CpuidLeaf {
                            leaf: le32(c, 0),
                            subleaf: le32(c, 4),
                            regs: [le32(c, 8), le32(c, 12), le32(c, 16), le32(c, 20)],
                        })
                        .collect(),
                )
            }
            T::X86_MSR_POLICY => {
                if !len.is_multiple_of(16) {
                    return Err(bad("a multiple of 16 bytes"));
                }
                LibxcRecord::X86MsrPolicy(
                    body.chunks_exact(16)
                        .map(|c| MsrEntry {
                            index: le32(c, 0),
                            flags: le32(c, 4),
                            value: le64(c, 8),
                        })
                        .collect(),
                )
            }
            _ if rtype.is_optional() => LibxcRecord::Unknown {
                record_type: rtype,
                body,
            },
            _ => {
                return Err(StreamErrorKind::UnknownRecord {
                    record_type,
                    other_layer_name: super::libxl_record::LibxlRecordType(record_type).name(),
                });
            }
        })
    }

    /// Appends the body (unpadded). PAGE_DATA payloads are appended as well (the writer streams
    /// them separately instead, to avoid the copy).
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        let vcpu = |out: &mut Vec<u8>, v: &Option<PvVcpu>| {
            if let Some(v) = v {
                out.extend_from_slice(&v.vcpu_id.to_le_bytes());
                out.extend_from_slice(&v.reserved.to_le_bytes());
                out.extend_from_slice(&v.context);
            }
        };
        match self {
            LibxcRecord::End
            | LibxcRecord::Verify
            | LibxcRecord::Checkpoint
            | LibxcRecord::StaticDataEnd => {}
            LibxcRecord::PageData(p) => {
                encode_page_header(p, out);
                if let Some(payload) = &p.payload {
                    out.extend_from_slice(payload);
                }
            }
            LibxcRecord::X86PvInfo(i) => {
                out.push(i.guest_width);
                out.push(i.pt_levels);
                out.extend_from_slice(&i.reserved);
            }
            LibxcRecord::X86PvP2mFrames(p) => {
                out.extend_from_slice(&p.start_pfn.to_le_bytes());
                out.extend_from_slice(&p.end_pfn.to_le_bytes());
                for f in &p.frames {
                    out.extend_from_slice(&f.to_le_bytes());
                }
            }
            LibxcRecord::X86PvVcpuBasic(v)
            | LibxcRecord::X86PvVcpuExtended(v)
            | LibxcRecord::X86PvVcpuXsave(v)
            | LibxcRecord::X86PvVcpuMsrs(v) => vcpu(out, v),
            LibxcRecord::SharedInfo(b) | LibxcRecord::HvmContext(b) | LibxcRecord::Toolstack(b) => {
                out.extend_from_slice(b);
            }
            LibxcRecord::X86TscInfo(t) => {
                out.extend_from_slice(&t.mode.to_le_bytes());
                out.extend_from_slice(&t.khz.to_le_bytes());
                out.extend_from_slice(&t.nsec.to_le_bytes());
                out.extend_from_slice(&t.incarnation.to_le_bytes());
                out.extend_from_slice(&t.reserved.to_le_bytes());
            }
            LibxcRecord::HvmParams(None) => {}
            LibxcRecord::HvmParams(Some(p)) => {
                out.extend_from_slice(&super::headers::len_u32(p.params.len()).to_le_bytes());
                out.extend_from_slice(&p.reserved.to_le_bytes());
                for (index, value) in &p.params {
                    out.extend_from_slice(&index.to_le_bytes());
                    out.extend_from_slice(&value.to_le_bytes());
                }
            }
            LibxcRecord::CheckpointDirtyPfnList(pfns) => {
                for p in pfns {
                    out.extend_from_slice(&p.to_le_bytes());
                }
            }
            LibxcRecord::X86CpuidPolicy(leaves) => {
                for l in leaves {
                    for w in [
                        l.leaf, l.subleaf, l.regs[0], l.regs[1], l.regs[2], l.regs[3],
                    ] {
                        out.extend_from_slice(&w.to_le_bytes());
                    }
                }
            }
            LibxcRecord::X86MsrPolicy(entries) => {
                for e in entries {
                    out.extend_from_slice(&e.index.to_le_bytes());
                    out.extend_from_slice(&e.flags.to_le_bytes());
                    out.extend_from_slice(&e.value.to_le_bytes());
                }
            }
            LibxcRecord::Unknown { body, .. } => out.extend_from_slice(body),
        }
    }
}

/// Appends a PAGE_DATA body up to the payload: count, reserved, pfn words.
pub(crate) fn encode_page_header(p: &PageData, out: &mut Vec<u8>) {
    out.extend_from_slice(&super::headers::len_u32(p.pfns.len()).to_le_bytes());
    out.extend_from_slice(&p.reserved.to_le_bytes());
    for w in &p.pfns {
        out.extend_from_slice(&w.0.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_fixed_length_records_reject_other_lengths() {
        for (rtype, good) in [(0x02u32, 8usize), (0x07, 4096), (0x08, 24)] {
            assert!(LibxcRecord::decode(rtype, Bytes::from(vec![0; good])).is_ok());
            let err = LibxcRecord::decode(rtype, Bytes::from(vec![0; good + 8])).unwrap_err();
            assert!(
                matches!(err, StreamErrorKind::BadRecordLength { .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn test_unknown_optional_record_is_kept_mandatory_is_an_error() {
        let body = Bytes::from_static(b"abc");
        assert_eq!(
            LibxcRecord::decode(0x8000_0042, body.clone()).unwrap(),
            LibxcRecord::Unknown {
                record_type: LibxcRecordType(0x8000_0042),
                body
            }
        );
        assert!(matches!(
            LibxcRecord::decode(0x42, Bytes::new()),
            Err(StreamErrorKind::UnknownRecord { .. })
        ));
    }

    #[test]
    fn test_hvm_params_length_must_match_count() {
        let mut body = vec![2, 0, 0, 0, 0, 0, 0, 0];
        body.extend_from_slice(&[0; 32]);
        assert!(LibxcRecord::decode(0x0a, Bytes::from(body.clone())).is_ok());
        body.extend_from_slice(&[0; 16]);
        assert!(LibxcRecord::decode(0x0a, Bytes::from(body)).is_err());
        assert_eq!(
            LibxcRecord::decode(0x0a, Bytes::new()).unwrap(),
            LibxcRecord::HvmParams(None)
        );
    }

    #[test]
    fn test_every_record_encodes_to_what_it_decodes_from() {
        let records = [
            LibxcRecord::X86PvInfo(PvInfo::new(8, 4)),
            LibxcRecord::X86PvP2mFrames(P2mFrames::new(0, 8191, vec![1, 2])),
            LibxcRecord::X86PvVcpuBasic(Some(PvVcpu::new(0, Bytes::from_static(&[1; 16])))),
            LibxcRecord::X86PvVcpuXsave(None),
            LibxcRecord::X86TscInfo(TscInfo::new(0, 2_000_000, 5, 1)),
            LibxcRecord::HvmParams(Some(HvmParams::new(vec![(1, 0xfeffc)]))),
            LibxcRecord::X86CpuidPolicy(vec![CpuidLeaf {
                leaf: 0,
                subleaf: u32::MAX,
                regs: [0xd, 1, 2, 3],
            }]),
            LibxcRecord::X86MsrPolicy(vec![MsrEntry {
                index: 0xce,
                flags: 0,
                value: 1,
            }]),
            LibxcRecord::CheckpointDirtyPfnList(vec![5, 6]),
        ];
        for rec in records {
            let mut body = Vec::new();
            rec.encode_body(&mut body);
            let back = LibxcRecord::decode(rec.record_type().0, Bytes::from(body)).unwrap();
            assert_eq!(back, rec);
        }
    }
}
