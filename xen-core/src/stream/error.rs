//! A located stream problem: the byte offset, the layer and what is wrong.

use std::fmt;

/// Which layer of the stream a byte belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Layer {
    /// Before the first byte: the format is not known yet.
    Start,
    /// The xl save header and its JSON config.
    Xl,
    /// The libxl v2 stream (header and records).
    Libxl,
    /// The libxc v2/v3 stream nested in the libxl stream (or standing alone).
    Libxc,
    /// The body of a legacy (Xen 4.5 and older, "v1") stream, which has no framing.
    Legacy,
    /// Bytes after the last END: on a live migration pipe, xl's handshake.
    AfterEnd,
}

impl Layer {
    /// Short lower-case name, as in messages.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Start => "start",
            Layer::Xl => "xl",
            Layer::Libxl => "libxl",
            Layer::Libxc => "libxc",
            Layer::Legacy => "legacy",
            Layer::AfterEnd => "after-end",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A stream the parser cannot go past: where (byte offset from the start of the input), in
/// which layer, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct StreamError {
    /// Offset of the first offending byte (for a truncation: the end of the input).
    pub offset: u64,
    /// The layer the parser was in.
    pub layer: Layer,
    /// What is wrong.
    pub kind: StreamErrorKind,
}

impl StreamError {
    /// A new error.
    pub fn new(offset: u64, layer: Layer, kind: StreamErrorKind) -> StreamError {
        StreamError {
            offset,
            layer,
            kind,
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "byte {} (0x{:x}), {} layer: {}",
            self.offset, self.offset, self.layer, self.kind
        )
    }
}

impl std::error::Error for StreamError {}

/// What a [`StreamError`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum StreamErrorKind {
    /// The first bytes are no xl save header, libxl stream or libxc stream.
    UnknownFormat,
    /// A magic number or ident differs (the offset is the first differing byte).
    BadMagic {
        /// Which one, e.g. `xl save header magic`.
        what: &'static str,
    },
    /// The stream is big-endian (or, for the xl header, was written on a foreign-endian host).
    ForeignEndian {
        /// Which header says so.
        what: &'static str,
    },
    /// A version this parser (and Xen's restore) does not read.
    UnsupportedVersion {
        /// Which header.
        what: &'static str,
        /// The version found.
        found: u32,
    },
    /// xl mandatory flags this parser does not know (xl: "need newer xl").
    UnknownMandatoryFlags {
        /// The unknown bits.
        flags: u32,
    },
    /// A declared length beyond the limit; nothing was allocated for it.
    TooLong {
        /// What the length is of.
        what: &'static str,
        /// The declared length in bytes.
        length_bytes: u64,
        /// The limit in bytes.
        limit_bytes: u64,
    },
    /// The xl config length does not fit in the optional data.
    ConfigLength {
        /// Declared config length.
        config_len: u32,
        /// Optional data length.
        optional_data_len: u32,
    },
    /// A record type that does not exist in this layer.
    UnknownRecord {
        /// The type word.
        record_type: u32,
        /// The record's name in the other layer, when the type belongs there.
        other_layer_name: Option<&'static str>,
    },
    /// A record whose body length breaks its layout.
    BadRecordLength {
        /// The record's name.
        record: &'static str,
        /// The body length.
        length_bytes: u32,
        /// What the layout requires, e.g. `exactly 24 bytes`.
        expected: String,
    },
    /// A PAGE_DATA record with a pfn count of 0.
    EmptyPageData,
    /// A PAGE_DATA pfn word with a reserved page type (5-8).
    ReservedPageType {
        /// Index of the pfn word in the record.
        index: u32,
        /// The whole word.
        pfn_word: u64,
    },
    /// A libxc domain type other than x86 PV (1) or x86 HVM (2).
    UnknownDomainType {
        /// The type word.
        found: u32,
    },
    /// A page size other than 4 KiB.
    UnsupportedPageShift {
        /// The shift found.
        found: u16,
    },
    /// The input ended inside a structure, or before the stream's END.
    Truncated {
        /// What was being read, e.g. `libxc PAGE_DATA record`.
        what: String,
        /// Where that structure starts.
        started_at: u64,
        /// How many more bytes it needed (0 when the stream ends between records but before
        /// its END).
        missing_bytes: u64,
    },
}

impl fmt::Display for StreamErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamErrorKind::UnknownFormat => f.write_str(
                "not an xl save file, libxl stream or libxc stream (no known magic); a legacy \
                 (Xen 4.5 and older) libxc image has no magic",
            ),
            StreamErrorKind::BadMagic { what } => write!(f, "wrong {what}"),
            StreamErrorKind::ForeignEndian { what } => {
                write!(
                    f,
                    "{what} says the stream is big-endian; Xen reads little-endian only"
                )
            }
            StreamErrorKind::UnsupportedVersion { what, found } => {
                write!(f, "{what} version {found} is not supported")
            }
            StreamErrorKind::UnknownMandatoryFlags { flags } => {
                write!(
                    f,
                    "xl header has unknown mandatory flags 0x{flags:x} (xl: need newer xl)"
                )
            }
            StreamErrorKind::TooLong {
                what,
                length_bytes,
                limit_bytes,
            } => write!(
                f,
                "{what} declares {length_bytes} bytes, more than the limit of {limit_bytes}"
            ),
            StreamErrorKind::ConfigLength {
                config_len,
                optional_data_len,
            } => write!(
                f,
                "xl config length {config_len} does not fit in the optional data of \
                 {optional_data_len} bytes"
            ),
            StreamErrorKind::UnknownRecord {
                record_type,
                other_layer_name,
            } => {
                write!(f, "unknown record type 0x{record_type:08x}")?;
                if let Some(name) = other_layer_name {
                    write!(f, " (that is {name}: a record of the other layer)")?;
                }
                Ok(())
            }
            StreamErrorKind::BadRecordLength {
                record,
                length_bytes,
                expected,
            } => write!(
                f,
                "{record} record of {length_bytes} bytes; it must be {expected}"
            ),
            StreamErrorKind::EmptyPageData => f.write_str("PAGE_DATA record with 0 pfns"),
            StreamErrorKind::ReservedPageType { index, pfn_word } => write!(
                f,
                "PAGE_DATA pfn word {index} (0x{pfn_word:016x}) has a reserved page type"
            ),
            StreamErrorKind::UnknownDomainType { found } => {
                write!(
                    f,
                    "unknown libxc domain type {found} (1 = x86 PV, 2 = x86 HVM)"
                )
            }
            StreamErrorKind::UnsupportedPageShift { found } => {
                write!(f, "page shift {found} is not supported (x86 uses 12)")
            }
            StreamErrorKind::Truncated {
                what,
                started_at,
                missing_bytes,
            } => {
                if *missing_bytes == 0 {
                    write!(f, "stream ends before {what}")
                } else {
                    write!(
                        f,
                        "stream ends inside the {what} that starts at byte {started_at} \
                         ({missing_bytes} bytes missing)"
                    )
                }
            }
        }
    }
}
