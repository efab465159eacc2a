//! The incremental parser: fed chunks of any size (one byte at a time works), it reports each
//! header and record as a [`Located`] item the moment its last byte arrives.
//!
//! Memory is bounded: every declared length is checked against the limits of
//! [`super::format`] before anything is allocated for it, and only the structure being read is
//! buffered. With [`PayloadMode::Skip`] page payloads are counted, never copied; with
//! [`PayloadMode::Keep`] they are kept as [`Bytes`], sliced without a copy from the chunk given
//! to [`StreamParser::feed_bytes`] whenever a record's payload lies within one chunk.
//!
//! This module holds the machinery (states, input, gathering, detection, the legacy and
//! trailing bytes); each layer's structures are read in a file of their own: `xl` (the xl
//! save header and config), `libxl` (the libxl stream header and records), `libxc` (the libxc
//! image and domain headers and records) and `page` (PAGE_DATA records: pfns and payloads).

mod libxc;
mod libxl;
mod page;
mod xl;

use bytes::{Bytes, BytesMut};

use super::error::{Layer, StreamError, StreamErrorKind};
use super::format::{
    LIBXC_DOMAIN_HEADER_BYTES, LIBXC_ID, LIBXC_IMAGE_HEADER_BYTES, LIBXC_MARKER, LIBXC_VERSIONS,
    LIBXL_HEADER_BYTES, LIBXL_IDENT, LIBXL_VERSION, MAX_RECORD_BODY_BYTES,
    MAX_XL_OPTIONAL_DATA_BYTES, PAGE_BYTES, PAGE_SHIFT, RECORD_HEADER_BYTES, XL_BYTEORDER,
    XL_HEADER_BYTES, XL_MAGIC, padded,
};
use super::headers::{
    DomainHeader, DomainType, ImageHeader, ImageOptions, LibxlHeader, LibxlOptions, XlHeader,
    XlMandatoryFlags, be16, be32, le16, le32, le64,
};
use super::libxc_record::{LibxcRecord, LibxcRecordType};
use super::libxl_record::{LibxlRecord, LibxlRecordType};
use super::page::{PageData, PfnWord, decode_pfns};
use crate::XenError;

/// Whether page payloads (and the bytes after the stream) are kept or only counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PayloadMode {
    /// Keep them in the items (round trips, restore-side tools).
    Keep,
    /// Count them only (verify, inspect, relay): no copy, no memory.
    #[default]
    Skip,
}

/// What the parser reports: one header, record or run of opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item {
    /// The xl save header with its config.
    XlHeader(XlHeader),
    /// The libxl stream header.
    LibxlHeader(LibxlHeader),
    /// A libxl record.
    Libxl(LibxlRecord),
    /// The libxc image header.
    ImageHeader(ImageHeader),
    /// The libxc domain header.
    DomainHeader(DomainHeader),
    /// A libxc record.
    Libxc(LibxcRecord),
    /// Bytes of a legacy (v1) stream body, which has no framing (`None` in skip mode).
    LegacyData(Option<Bytes>),
    /// Bytes after the stream's END, in both modes: on a migration pipe, xl's GO message.
    Trailing(Bytes),
}

/// The framing of a record as it was on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RecordFrame {
    /// The type word.
    pub record_type: u32,
    /// The body length (unpadded).
    pub body_len: u32,
    /// Whether the padding after the body was all zeros.
    pub padding_zero: bool,
}

/// An item and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Located {
    /// Offset of its first byte.
    pub offset: u64,
    /// Its bytes on the wire (record header, body and padding included).
    pub wire_len: u64,
    /// The layer it belongs to.
    pub layer: Layer,
    /// Record framing, for records.
    pub frame: Option<RecordFrame>,
    /// The item.
    pub item: Item,
}

/// Parser settings.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Keep or skip page payloads.
    pub payloads: PayloadMode,
}

impl ParseOptions {
    /// Settings that keep payloads.
    pub fn keep_payloads() -> ParseOptions {
        ParseOptions {
            payloads: PayloadMode::Keep,
        }
    }
}

/// Where the parser is.
#[derive(Debug)]
enum State {
    Detect,
    XlFixed,
    XlOptional {
        mandatory: XlMandatoryFlags,
        optional_flags: u32,
        len: u32,
    },
    LibxlHeader,
    LibxlRecordHeader,
    LibxlBody {
        rtype: u32,
        len: u32,
    },
    ImageHeader,
    DomainHeader,
    LibxcRecordHeader,
    LibxcBody {
        rtype: u32,
        len: u32,
    },
    PageHeader {
        len: u32,
    },
    PagePfns {
        len: u32,
        count: u32,
        reserved: u32,
    },
    PagePayload {
        len: u32,
        reserved: u32,
        pfns: Vec<PfnWord>,
        remaining: usize,
    },
    Legacy,
    AfterEnd,
    Failed(StreamError),
}

/// The bytes of one `feed` call, consumed front to back.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
    source: Option<&'a Bytes>,
}

impl Input<'_> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let start = self.pos;
        self.pos += n;
        &self.data[start..self.pos]
    }

    /// `n` bytes as `Bytes`: a slice of the caller's `Bytes` when there is one, else a copy.
    fn take_bytes(&mut self, n: usize) -> Bytes {
        let start = self.pos;
        self.pos += n;
        match self.source {
            Some(source) => source.slice(start..self.pos),
            None => Bytes::copy_from_slice(&self.data[start..self.pos]),
        }
    }
}

/// The incremental migration stream parser.
///
/// Fed chunks of any size (one byte at a time works), it reports each header and record as a
/// [`Located`] item the moment its last byte arrives, and knows its [`Layer`] at every byte.
/// Every declared length is checked against the limits before anything is allocated for it,
/// and only the structure being read is buffered. With [`PayloadMode::Skip`] page payloads are
/// counted, never copied; with [`PayloadMode::Keep`] they are kept as [`Bytes`], sliced without
/// a copy from the chunk given to [`feed_bytes`](Self::feed_bytes) whenever a record's payload
/// lies within one chunk.
#[derive(Debug)]
pub struct StreamParser {
    options: ParseOptions,
    state: State,
    /// Bytes consumed so far.
    offset: u64,
    /// Where the structure being read starts and where it will end.
    item_start: u64,
    item_end: u64,
    /// A structure split across chunks, gathered here.
    scratch: BytesMut,
    /// The libxc stream is nested in a libxl stream (else it stands alone).
    libxc_in_libxl: bool,
    /// A libxc CHECKPOINT handed control to libxl; CHECKPOINT_END hands it back.
    checkpoint_open: bool,
    /// Where the bytes after the last END start.
    end_offset: Option<u64>,
    /// The layer of the state being stepped (the state itself is moved out meanwhile).
    step_layer: Layer,
}

impl Default for StreamParser {
    fn default() -> StreamParser {
        StreamParser::new(ParseOptions::default())
    }
}

type Sink<'a> = dyn FnMut(Located) + 'a;

impl StreamParser {
    /// A parser at the start of a stream: an xl save file, a libxl stream or a libxc stream.
    pub fn new(options: ParseOptions) -> StreamParser {
        StreamParser {
            options,
            state: State::Detect,
            offset: 0,
            item_start: 0,
            item_end: 8,
            scratch: BytesMut::new(),
            libxc_in_libxl: false,
            checkpoint_open: false,
            end_offset: None,
            step_layer: Layer::Start,
        }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The layer the next byte belongs to.
    pub fn layer(&self) -> Layer {
        match &self.state {
            State::Detect => Layer::Start,
            State::XlFixed | State::XlOptional { .. } => Layer::Xl,
            State::LibxlHeader | State::LibxlRecordHeader | State::LibxlBody { .. } => Layer::Libxl,
            State::ImageHeader
            | State::DomainHeader
            | State::LibxcRecordHeader
            | State::LibxcBody { .. }
            | State::PageHeader { .. }
            | State::PagePfns { .. }
            | State::PagePayload { .. } => Layer::Libxc,
            State::Legacy => Layer::Legacy,
            State::AfterEnd => Layer::AfterEnd,
            State::Failed(e) => e.layer,
        }
    }

    /// Where the stream's last END ended (the start of the bytes after it), once seen.
    pub fn end_offset(&self) -> Option<u64> {
        self.end_offset
    }

    /// The error the parser stopped at, if any.
    pub fn error(&self) -> Option<&StreamError> {
        match &self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Parses `chunk`, calling `on_item` for every item completed in it, in stream order.
    /// After an error the parser stays failed and returns the same error.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        on_item: &mut impl FnMut(Located),
    ) -> Result<(), XenError> {
        let mut input = Input {
            data: chunk,
            pos: 0,
            source: None,
        };
        self.run(&mut input, on_item).map_err(XenError::from)
    }

    /// Like [`feed`](Self::feed), but payloads within `chunk` are slices of it, not copies.
    pub fn feed_bytes(
        &mut self,
        chunk: &Bytes,
        on_item: &mut impl FnMut(Located),
    ) -> Result<(), XenError> {
        let mut input = Input {
            data: chunk,
            pos: 0,
            source: Some(chunk),
        };
        self.run(&mut input, on_item).map_err(XenError::from)
    }

    /// The input ended: an error unless the stream's END (or a legacy body) was reached.
    pub fn finish(&mut self) -> Result<(), XenError> {
        let what = match &self.state {
            State::AfterEnd | State::Legacy => return Ok(()),
            State::Failed(e) => return Err(e.clone().into()),
            State::LibxlRecordHeader if self.scratch.is_empty() => "libxl END record".to_string(),
            State::LibxcRecordHeader if self.scratch.is_empty() => "libxc END record".to_string(),
            State::Detect => "first header of the stream".to_string(),
            State::XlFixed => "xl save header".to_string(),
            State::XlOptional { .. } => "xl config".to_string(),
            State::LibxlHeader => "libxl stream header".to_string(),
            State::LibxlRecordHeader => "libxl record header".to_string(),
            State::LibxlBody { rtype, .. } => {
                format!("libxl {} record", LibxlRecordType(*rtype))
            }
            State::ImageHeader => "libxc image header".to_string(),
            State::DomainHeader => "libxc domain header".to_string(),
            State::LibxcRecordHeader => "libxc record header".to_string(),
            State::LibxcBody { rtype, .. } => format!("libxc {} record", LibxcRecordType(*rtype)),
            State::PageHeader { .. } | State::PagePfns { .. } | State::PagePayload { .. } => {
                "libxc PAGE_DATA record".to_string()
            }
        };
        let missing = if matches!(
            self.state,
            State::LibxlRecordHeader | State::LibxcRecordHeader
        ) && self.scratch.is_empty()
        {
            0
        } else {
            self.item_end.saturating_sub(self.offset)
        };
        let err = StreamError::new(
            self.offset,
            self.layer(),
            StreamErrorKind::Truncated {
                what,
                started_at: if missing == 0 {
                    self.offset
                } else {
                    self.item_start
                },
                missing_bytes: missing,
            },
        );
        self.state = State::Failed(err.clone());
        Err(err.into())
    }

    fn run(&mut self, input: &mut Input<'_>, sink: &mut Sink<'_>) -> Result<(), StreamError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        while input.remaining() > 0 {
            if let Err(err) = self.step(input, sink) {
                self.scratch.clear();
                self.state = State::Failed(err.clone());
                return Err(err);
            }
        }
        Ok(())
    }

    /// Gathers the `n` bytes of the current structure: `None` until they are all there.
    fn gather(&mut self, input: &mut Input<'_>, n: usize) -> Option<Bytes> {
        if self.scratch.is_empty() && input.remaining() >= n {
            self.offset += n as u64;
            return Some(input.take_bytes(n));
        }
        if self.scratch.is_empty() {
            // n was checked against the limits before this state was entered.
            self.scratch.reserve(n);
        }
        let want = n - self.scratch.len();
        let k = want.min(input.remaining());
        self.scratch.extend_from_slice(input.take(k));
        self.offset += k as u64;
        (self.scratch.len() == n).then(|| self.scratch.split().freeze())
    }

    /// Starts a new structure of `len` bytes at the current offset.
    fn begin(&mut self, len: u64) {
        self.item_start = self.offset;
        self.item_end = self.offset + len;
    }

    fn err(&self, at: u64, kind: StreamErrorKind) -> StreamError {
        StreamError::new(at, self.step_layer, kind)
    }

    /// Stays in `state` until more input comes.
    fn wait(&mut self, state: State) -> Result<(), StreamError> {
        self.state = state;
        Ok(())
    }

    /// `found`, read at `at`, must be the magic `expected`; else the first differing byte.
    fn expect_magic(
        &self,
        at: u64,
        found: &[u8],
        expected: &[u8],
        what: &'static str,
    ) -> Result<(), StreamError> {
        match first_difference(found, expected) {
            Some(i) => Err(self.err(at + i, StreamErrorKind::BadMagic { what })),
            None => Ok(()),
        }
    }

    /// A header whose big-endian flag is set: this reader reads little-endian streams only.
    fn foreign_endian(&self, at: u64, what: &'static str) -> StreamError {
        self.err(at, StreamErrorKind::ForeignEndian { what })
    }

    /// A record type this layer does not know, named if the other layer knows it.
    fn unknown_record(&self, rtype: u32, other_layer_name: Option<&'static str>) -> StreamError {
        self.err(
            self.item_start,
            StreamErrorKind::UnknownRecord {
                record_type: rtype,
                other_layer_name,
            },
        )
    }

    fn emit(&self, sink: &mut Sink<'_>, layer: Layer, frame: Option<RecordFrame>, item: Item) {
        sink(Located {
            offset: self.item_start,
            wire_len: self.offset - self.item_start,
            layer,
            frame,
            item,
        });
    }

    fn step(&mut self, input: &mut Input<'_>, sink: &mut Sink<'_>) -> Result<(), StreamError> {
        self.step_layer = self.layer();
        match std::mem::replace(&mut self.state, State::Detect) {
            State::Detect => self.detect(input, sink),
            State::XlFixed => self.xl_fixed(input, sink),
            State::XlOptional {
                mandatory,
                optional_flags,
                len,
            } => self.xl_optional(input, sink, mandatory, optional_flags, len),
            State::LibxlHeader => self.libxl_header(input, sink),
            State::LibxlRecordHeader => self.libxl_record_header(input, sink),
            State::LibxlBody { rtype, len } => self.libxl_body(input, sink, rtype, len),
            State::ImageHeader => self.image_header(input, sink),
            State::DomainHeader => self.domain_header(input, sink),
            State::LibxcRecordHeader => self.libxc_record_header(input, sink),
            State::LibxcBody { rtype, len } => self.libxc_body(input, sink, rtype, len),
            State::PageHeader { len } => self.page_header(input, len),
            State::PagePfns {
                len,
                count,
                reserved,
            } => self.page_pfns(input, sink, len, count, reserved),
            State::PagePayload {
                len,
                reserved,
                pfns,
                remaining,
            } => self.page_payload(input, sink, len, reserved, pfns, remaining),
            State::Legacy => {
                self.opaque(input, sink, Layer::Legacy);
                self.state = State::Legacy;
                Ok(())
            }
            State::AfterEnd => {
                self.opaque(input, sink, Layer::AfterEnd);
                self.state = State::AfterEnd;
                Ok(())
            }
            State::Failed(e) => {
                self.state = State::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Legacy bodies and bytes after END: passed on as they come.
    fn opaque(&mut self, input: &mut Input<'_>, sink: &mut Sink<'_>, layer: Layer) {
        let n = input.remaining();
        self.begin(n as u64);
        let item = if layer == Layer::AfterEnd {
            // Kept in both modes: it is short (xl's GO message) and callers look at it.
            Item::Trailing(input.take_bytes(n))
        } else if self.options.payloads == PayloadMode::Keep {
            Item::LegacyData(Some(input.take_bytes(n)))
        } else {
            input.pos += n;
            Item::LegacyData(None)
        };
        self.offset += n as u64;
        self.emit(sink, layer, None, item);
    }

    fn detect(&mut self, input: &mut Input<'_>, sink: &mut Sink<'_>) -> Result<(), StreamError> {
        let Some(head) = self.gather(input, 8) else {
            return self.wait(State::Detect);
        };
        // Put the 8 bytes back: the header states read their structure from its start.
        self.scratch.extend_from_slice(&head);
        if head[..] == XL_MAGIC[..8] {
            self.item_end = XL_HEADER_BYTES as u64;
            self.state = State::XlFixed;
        } else if head[..] == LIBXL_IDENT {
            self.item_end = LIBXL_HEADER_BYTES as u64;
            self.state = State::LibxlHeader;
        } else if head[..] == LIBXC_MARKER {
            self.item_end = LIBXC_IMAGE_HEADER_BYTES as u64;
            self.state = State::ImageHeader;
        } else if (1..=1 << 36).contains(&le64(&head, 0)) {
            // A legacy libxc image starts with its p2m size, a small number (no magic).
            let data = self.scratch.split().freeze();
            self.item_start = 0;
            let keep = self.options.payloads == PayloadMode::Keep;
            self.emit(
                sink,
                Layer::Legacy,
                None,
                Item::LegacyData(keep.then_some(data)),
            );
            self.state = State::Legacy;
        } else {
            self.scratch.clear();
            return Err(StreamError::new(
                0,
                Layer::Start,
                StreamErrorKind::UnknownFormat,
            ));
        }
        Ok(())
    }
}

/// Index of the first byte where `a` and `b` differ.
fn first_difference(a: &[u8], b: &[u8]) -> Option<u64> {
    a.iter().zip(b).position(|(x, y)| x != y).map(|i| i as u64)
}
