//! The libxc records' checks: the order rules between records (once per stream, once per
//! checkpoint, v3's STATIC_DATA_END, PV-only and HVM-only records), then one function per
//! record type. PAGE_DATA is in `page`.

use super::*;
use crate::stream::libxc_record::{CpuidLeaf, HvmParams, MsrEntry, P2mFrames, PvInfo, TscInfo};

impl Verifier {
    /// One libxc record: its place in the stream, its own checks, records v2 lacks.
    pub(super) fn libxc_record(&mut self, located: &Located, record: &LibxcRecord) {
        let at = located.offset;
        let rtype = record.record_type();
        let name = rtype.to_string();
        self.libxc_order(at, rtype, &name);
        match record {
            LibxcRecord::End => self.libxc_end(at),
            LibxcRecord::PageData(page) => {
                self.page_data(at, page);
                self.page_data_seen = true;
            }
            LibxcRecord::X86PvInfo(info) => self.pv_info(at, info, &name),
            LibxcRecord::X86PvP2mFrames(p) => self.p2m_frames(at, p),
            LibxcRecord::X86PvVcpuBasic(v)
            | LibxcRecord::X86PvVcpuExtended(v)
            | LibxcRecord::X86PvVcpuXsave(v)
            | LibxcRecord::X86PvVcpuMsrs(v) => self.pv_vcpu(at, &name, v.as_ref()),
            LibxcRecord::X86TscInfo(t) => self.tsc_info(at, t, &name),
            LibxcRecord::HvmContext(blob) => self.hvm_context(at, blob),
            LibxcRecord::HvmParams(p) => self.hvm_params(at, p.as_ref(), &name),
            LibxcRecord::Toolstack(_) => self.toolstack(at),
            LibxcRecord::CheckpointDirtyPfnList(_) => self.checkpoint_dirty_pfn_list(at),
            LibxcRecord::StaticDataEnd => self.static_data_end = true,
            LibxcRecord::X86CpuidPolicy(leaves) => self.cpuid_policy(at, leaves),
            LibxcRecord::X86MsrPolicy(entries) => self.msr_policy(at, entries, &name),
            LibxcRecord::Checkpoint => self.checkpoint(),
            LibxcRecord::Unknown { record_type, .. } => self.unknown_optional(at, *record_type),
            LibxcRecord::SharedInfo(_) | LibxcRecord::Verify => {}
        }
        self.v3_only(at, rtype, &name);
    }

    /// The rules between records: once per stream, once per checkpoint, v3's
    /// STATIC_DATA_END before memory and registers, PV-only and HVM-only records, PV's
    /// X86_PV_INFO and X86_PV_P2M_FRAMES before pages.
    fn libxc_order(&mut self, at: u64, rtype: LibxcRecordType, name: &str) {
        use LibxcRecordType as T;
        let v3 = self.libxc_version == Some(3);
        let pv = self.domain_type == Some(DomainType::X86Pv);
        let hvm = self.domain_type == Some(DomainType::X86Hvm);
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
    }

    /// libxc END: closes the libxc stream; a v3 stream had STATIC_DATA_END.
    fn libxc_end(&mut self, at: u64) {
        self.libxc_open = false;
        if self.libxc_version == Some(3) && !self.static_data_end {
            self.problem(
                at,
                Layer::Libxc,
                "order",
                "no STATIC_DATA_END record in a v3 stream".to_string(),
            );
        }
    }

    /// X86_PV_INFO: guest width, page-table levels, reserved bytes.
    fn pv_info(&mut self, at: u64, info: &PvInfo, name: &str) {
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
            self.reserved(at + 10, name);
        }
    }

    /// X86_PV_P2M_FRAMES: the P2M's last pfn kept (PAGE_DATA's range), a sane range.
    fn p2m_frames(&mut self, at: u64, p: &P2mFrames) {
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

    /// X86_TSC_INFO: reserved field.
    fn tsc_info(&mut self, at: u64, t: &TscInfo, name: &str) {
        if t.reserved != 0 {
            self.reserved(at + 28, name);
        }
    }

    /// HVM_CONTEXT: not empty.
    fn hvm_context(&mut self, at: u64, blob: &[u8]) {
        if blob.is_empty() {
            self.problem(
                at + 4,
                Layer::Libxc,
                "hvm-context",
                "empty HVM_CONTEXT record".to_string(),
            );
        }
    }

    /// HVM_PARAMS: empty (Xen 4.6-4.8), reserved field, no parameters.
    fn hvm_params(&mut self, at: u64, params: Option<&HvmParams>, name: &str) {
        let Some(p) = params else {
            self.empty_record(
                at + 4,
                "empty HVM_PARAMS record (written by Xen 4.6-4.8)".to_string(),
            );
            return;
        };
        if p.reserved != 0 {
            self.reserved(at + 12, name);
        }
        if p.params.is_empty() {
            self.empty_record(at + 8, "HVM_PARAMS record with no parameters".to_string());
        }
    }

    /// TOOLSTACK: deprecated, never written.
    fn toolstack(&mut self, at: u64) {
        self.problem(
            at,
            Layer::Libxc,
            "deprecated",
            "TOOLSTACK record (deprecated, never written)".to_string(),
        );
    }

    /// CHECKPOINT_DIRTY_PFN_LIST: the COLO back channel's, not a saved stream's.
    fn checkpoint_dirty_pfn_list(&mut self, at: u64) {
        self.problem(
            at,
            Layer::Libxc,
            "back-channel",
            "CHECKPOINT_DIRTY_PFN_LIST belongs to the COLO back channel".to_string(),
        );
    }

    /// X86_CPUID_POLICY: not empty.
    fn cpuid_policy(&mut self, at: u64, leaves: &[CpuidLeaf]) {
        if leaves.is_empty() {
            self.problem(
                at + 4,
                Layer::Libxc,
                "policy",
                "empty X86_CPUID_POLICY record".to_string(),
            );
        }
    }

    /// X86_MSR_POLICY: not empty, flags zero.
    fn msr_policy(&mut self, at: u64, entries: &[MsrEntry], name: &str) {
        if entries.is_empty() {
            self.problem(
                at + 4,
                Layer::Libxc,
                "policy",
                "empty X86_MSR_POLICY record".to_string(),
            );
        }
        if let Some(i) = entries.iter().position(|e| e.flags != 0) {
            self.reserved(at + 8 + 16 * i as u64 + 4, name);
        }
    }

    /// CHECKPOINT: libxl takes over until CHECKPOINT_END; a new checkpoint starts.
    fn checkpoint(&mut self) {
        self.checkpoint_open = true;
        self.per_checkpoint.clear();
    }

    /// An unknown optional record: restore skips it.
    fn unknown_optional(&mut self, at: u64, record_type: LibxcRecordType) {
        self.warning(
            at,
            Layer::Libxc,
            "unknown-optional",
            format!(
                "unknown optional record 0x{:08x} (restore skips it)",
                record_type.0
            ),
        );
    }

    /// Records that exist since v3, in a v2 stream.
    fn v3_only(&mut self, at: u64, rtype: LibxcRecordType, name: &str) {
        use LibxcRecordType as T;
        let v3 = self.libxc_version == Some(3);
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

    /// A record with nothing in it (or nothing of what it is for).
    fn empty_record(&mut self, at: u64, message: String) {
        self.warning(at, Layer::Libxc, "empty-record", message);
    }

    /// A reserved field that is not zero.
    fn reserved(&mut self, at: u64, name: &str) {
        self.problem(
            at,
            Layer::Libxc,
            "reserved",
            format!("reserved field of {name} is not zero"),
        );
    }

    /// The PV vcpu records: empty (Xen 4.6-4.8), reserved field, no context.
    fn pv_vcpu(&mut self, at: u64, name: &str, vcpu: Option<&PvVcpu>) {
        match vcpu {
            None => self.empty_record(
                at + 4,
                format!("empty {name} record (written by Xen 4.6-4.8)"),
            ),
            Some(v) => {
                if v.reserved != 0 {
                    self.reserved(at + 12, name);
                }
                if v.context.is_empty() {
                    self.empty_record(
                        at + 4,
                        format!("{name} record for vcpu {} with no context", v.vcpu_id),
                    );
                }
            }
        }
    }
}
