//! libxl stream records (spec "libxenlight Domain Image Format", revision 2).

use std::fmt;

use bytes::Bytes;

use super::error::StreamErrorKind;
use super::headers::le32;

/// A libxl record type word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LibxlRecordType(pub u32);

impl LibxlRecordType {
    /// Last record of the stream.
    pub const END: LibxlRecordType = LibxlRecordType(0);
    /// The libxc stream follows inline.
    pub const LIBXC_CONTEXT: LibxlRecordType = LibxlRecordType(1);
    /// Device-model xenstore keys (HVM).
    pub const EMULATOR_XENSTORE_DATA: LibxlRecordType = LibxlRecordType(2);
    /// Device-model state blob (HVM).
    pub const EMULATOR_CONTEXT: LibxlRecordType = LibxlRecordType(3);
    /// End of a Remus/COLO checkpoint.
    pub const CHECKPOINT_END: LibxlRecordType = LibxlRecordType(4);
    /// COLO back-channel state.
    pub const CHECKPOINT_STATE: LibxlRecordType = LibxlRecordType(5);

    /// The spec's name, for known types.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "END",
            1 => "LIBXC_CONTEXT",
            2 => "EMULATOR_XENSTORE_DATA",
            3 => "EMULATOR_CONTEXT",
            4 => "CHECKPOINT_END",
            5 => "CHECKPOINT_STATE",
            _ => return None,
        })
    }
}

impl fmt::Display for LibxlRecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{:08x}", self.0),
        }
    }
}

/// Which device model an emulator record is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EmulatorId(pub u32);

impl EmulatorId {
    /// Unknown (streams converted from legacy).
    pub const UNKNOWN: EmulatorId = EmulatorId(0);
    /// qemu-xen-traditional (dropped in Xen 4.21).
    pub const QEMU_TRADITIONAL: EmulatorId = EmulatorId(1);
    /// Upstream QEMU.
    pub const QEMU_UPSTREAM: EmulatorId = EmulatorId(2);

    /// The name of a known id.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "unknown",
            1 => "qemu-traditional",
            2 => "qemu-upstream",
            _ => return None,
        })
    }
}

/// The body of an emulator record: the 8-byte sub-header and the data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmulatorRecord {
    /// The device model.
    pub emulator_id: EmulatorId,
    /// Which emulator of the domain (always 0 today).
    pub index: u32,
    /// Xenstore `key\0value\0` pairs, or the device-model state blob.
    pub data: Bytes,
}

impl EmulatorRecord {
    /// A record for upstream QEMU, index 0.
    pub fn qemu_upstream(data: Bytes) -> EmulatorRecord {
        EmulatorRecord {
            emulator_id: EmulatorId::QEMU_UPSTREAM,
            index: 0,
            data,
        }
    }

    /// The data as xenstore `(key, value)` pairs: `None` unless it is NUL-terminated UTF-8
    /// with an even number of strings (what the verifier requires).
    pub fn xenstore_pairs(&self) -> Option<Vec<(&str, &str)>> {
        let text = std::str::from_utf8(self.data.strip_suffix(b"\0")?).ok()?;
        let strings: Vec<&str> = text.split('\0').collect();
        if !strings.len().is_multiple_of(2) {
            return None;
        }
        Some(strings.chunks_exact(2).map(|p| (p[0], p[1])).collect())
    }
}

/// A libxl record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LibxlRecord {
    /// End of the stream.
    End,
    /// The libxc stream follows (not framed: it ends at its own END).
    LibxcContext,
    /// Device-model xenstore data.
    EmulatorXenstoreData(EmulatorRecord),
    /// Device-model state.
    EmulatorContext(EmulatorRecord),
    /// End of a checkpoint (Remus/COLO).
    CheckpointEnd,
    /// COLO control message.
    CheckpointState {
        /// 0 new checkpoint, 1 SVM suspended, 2 SVM ready, 3 SVM resumed.
        control_id: u32,
    },
}

impl LibxlRecord {
    /// The record's type word.
    pub fn record_type(&self) -> LibxlRecordType {
        match self {
            LibxlRecord::End => LibxlRecordType::END,
            LibxlRecord::LibxcContext => LibxlRecordType::LIBXC_CONTEXT,
            LibxlRecord::EmulatorXenstoreData(_) => LibxlRecordType::EMULATOR_XENSTORE_DATA,
            LibxlRecord::EmulatorContext(_) => LibxlRecordType::EMULATOR_CONTEXT,
            LibxlRecord::CheckpointEnd => LibxlRecordType::CHECKPOINT_END,
            LibxlRecord::CheckpointState { .. } => LibxlRecordType::CHECKPOINT_STATE,
        }
    }

    /// Decodes a body whose framing was already checked.
    pub(crate) fn decode(record_type: u32, body: &Bytes) -> Result<LibxlRecord, StreamErrorKind> {
        let rtype = LibxlRecordType(record_type);
        let name = rtype.name().unwrap_or("libxl");
        let bad = |expected: &str| StreamErrorKind::BadRecordLength {
            record: name,
            length_bytes: u32::try_from(body.len()).unwrap_or(u32::MAX),
            expected: expected.to_string(),
        };
        match rtype {
            LibxlRecordType::END
            | LibxlRecordType::LIBXC_CONTEXT
            | LibxlRecordType::CHECKPOINT_END => {
                if !body.is_empty() {
                    return Err(bad("empty"));
                }
                Ok(match rtype {
                    LibxlRecordType::END => LibxlRecord::End,
                    LibxlRecordType::LIBXC_CONTEXT => LibxlRecord::LibxcContext,
                    _ => LibxlRecord::CheckpointEnd,
                })
            }
            LibxlRecordType::EMULATOR_XENSTORE_DATA | LibxlRecordType::EMULATOR_CONTEXT => {
                if body.len() < 8 {
                    return Err(bad("at least 8 bytes (emulator id and index)"));
                }
                let emulator = EmulatorRecord {
                    emulator_id: EmulatorId(le32(body, 0)),
                    index: le32(body, 4),
                    data: body.slice(8..),
                };
                Ok(if rtype == LibxlRecordType::EMULATOR_CONTEXT {
                    LibxlRecord::EmulatorContext(emulator)
                } else {
                    LibxlRecord::EmulatorXenstoreData(emulator)
                })
            }
            LibxlRecordType::CHECKPOINT_STATE => {
                if body.len() < 4 {
                    return Err(bad("at least 4 bytes (control id)"));
                }
                Ok(LibxlRecord::CheckpointState {
                    control_id: le32(body, 0),
                })
            }
            _ => Err(StreamErrorKind::UnknownRecord {
                record_type,
                other_layer_name: super::libxc_record::LibxcRecordType(record_type).name(),
            }),
        }
    }

    /// Appends the body (unpadded).
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            LibxlRecord::End | LibxlRecord::LibxcContext | LibxlRecord::CheckpointEnd => {}
            LibxlRecord::EmulatorXenstoreData(e) | LibxlRecord::EmulatorContext(e) => {
                out.extend_from_slice(&e.emulator_id.0.to_le_bytes());
                out.extend_from_slice(&e.index.to_le_bytes());
                out.extend_from_slice(&e.data);
            }
            LibxlRecord::CheckpointState { control_id } => {
                out.extend_from_slice(&control_id.to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_xenstore_pairs_need_nul_and_even_strings() {
        let rec = |data: &'static [u8]| EmulatorRecord::qemu_upstream(Bytes::from_static(data));
        assert_eq!(
            rec(b"physmap/1/size\x000x800000\0").xenstore_pairs(),
            Some(vec![("physmap/1/size", "0x800000")])
        );
        assert_eq!(rec(b"a\0b").xenstore_pairs(), None);
        assert_eq!(rec(b"a\0b\0c\0").xenstore_pairs(), None);
    }

    #[test]
    fn test_libxc_type_in_libxl_layer_is_named() {
        let err = LibxlRecord::decode(0x10, &Bytes::new()).unwrap_err();
        assert_eq!(
            err,
            StreamErrorKind::UnknownRecord {
                record_type: 0x10,
                other_layer_name: Some("STATIC_DATA_END")
            }
        );
    }
}
