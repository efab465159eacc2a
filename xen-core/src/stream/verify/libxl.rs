//! The libxl records' checks: LIBXC_CONTEXT first and once, the emulator records, the COLO
//! checkpoint records and END; one function per record type.

use super::*;

impl Verifier {
    /// One libxl record: its place in the stream, then its own checks.
    pub(super) fn libxl_record(&mut self, at: u64, record: &LibxlRecord) {
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
            LibxlRecord::LibxcContext => self.libxc_context(at),
            LibxlRecord::EmulatorXenstoreData(e) => self.emulator_xenstore_data(at, e),
            LibxlRecord::EmulatorContext(e) => self.emulator_context(at, e),
            LibxlRecord::CheckpointEnd => self.checkpoint_end(at),
            LibxlRecord::CheckpointState { .. } => self.checkpoint_state(at),
            LibxlRecord::End => self.libxl_end(at),
        }
    }

    /// LIBXC_CONTEXT: once.
    fn libxc_context(&mut self, at: u64) {
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

    /// EMULATOR_XENSTORE_DATA: before EMULATOR_CONTEXT, NUL-terminated key/value pairs.
    fn emulator_xenstore_data(&mut self, at: u64, e: &EmulatorRecord) {
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

    /// EMULATOR_CONTEXT.
    fn emulator_context(&mut self, at: u64, e: &EmulatorRecord) {
        self.emulator(at, e);
        self.emulator_context_seen = true;
    }

    /// What both emulator records share: a known emulator, not in a PV guest's stream.
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

    /// CHECKPOINT_END: after a libxc CHECKPOINT; a new checkpoint's emulator records follow.
    fn checkpoint_end(&mut self, at: u64) {
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

    /// CHECKPOINT_STATE: the COLO back channel's, not a saved stream's.
    fn checkpoint_state(&mut self, at: u64) {
        self.warning(
            at,
            Layer::Libxl,
            "back-channel",
            "CHECKPOINT_STATE belongs to the COLO back channel".to_string(),
        );
    }

    /// libxl END: not inside the libxc stream.
    fn libxl_end(&mut self, at: u64) {
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
