//! The incremental parser: fed chunks of any size (one byte at a time works), it reports each
//! header and record as a [`Located`] item the moment its last byte arrives.
//!
//! Memory is bounded: every declared length is checked against the limits of
//! [`super::format`] before anything is allocated for it, and only the structure being read is
//! buffered. With [`PayloadMode::Skip`] page payloads are counted, never copied; with
//! [`PayloadMode::Keep`] they are kept as [`Bytes`], sliced without a copy from the chunk given
//! to [`StreamParser::feed_bytes`] whenever a record's payload lies within one chunk.

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
            self.state = State::Detect;
            return Ok(());
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

    fn xl_fixed(&mut self, input: &mut Input<'_>, sink: &mut Sink<'_>) -> Result<(), StreamError> {
        let Some(h) = self.gather(input, XL_HEADER_BYTES) else {
            self.state = State::XlFixed;
            return Ok(());
        };
        let base = self.item_start;
        if let Some(i) = first_difference(&h[..32], &XL_MAGIC) {
            return Err(self.err(
                base + i,
                StreamErrorKind::BadMagic {
                    what: "xl save header magic",
                },
            ));
        }
        if le32(&h, 32) != XL_BYTEORDER {
            let kind = if be32(&h, 32) == XL_BYTEORDER {
                StreamErrorKind::ForeignEndian {
                    what: "the xl byte-order word",
                }
            } else {
                StreamErrorKind::BadMagic {
                    what: "xl byte-order word",
                }
            };
            return Err(self.err(base + 32, kind));
        }
        let mandatory = le32(&h, 36);
        if mandatory & !XlMandatoryFlags::all().bits() != 0 {
            return Err(self.err(
                base + 36,
                StreamErrorKind::UnknownMandatoryFlags {
                    flags: mandatory & !XlMandatoryFlags::all().bits(),
                },
            ));
        }
        let mandatory = XlMandatoryFlags::from_bits_truncate(mandatory);
        let optional_flags = le32(&h, 40);
        let len = le32(&h, 44);
        if len > MAX_XL_OPTIONAL_DATA_BYTES {
            return Err(self.err(
                base + 44,
                StreamErrorKind::TooLong {
                    what: "xl optional data (config)",
                    length_bytes: u64::from(len),
                    limit_bytes: u64::from(MAX_XL_OPTIONAL_DATA_BYTES),
                },
            ));
        }
        self.item_end = base + XL_HEADER_BYTES as u64 + u64::from(len);
        self.state = State::XlOptional {
            mandatory,
            optional_flags,
            len,
        };
        if len == 0 {
            // Nothing to gather: finish the header now, even at the end of the input.
            let next = std::mem::replace(&mut self.state, State::Detect);
            if let State::XlOptional {
                mandatory,
                optional_flags,
                len,
            } = next
            {
                return self.xl_optional(input, sink, mandatory, optional_flags, len);
            }
        }
        Ok(())
    }

    fn xl_optional(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
        mandatory: XlMandatoryFlags,
        optional_flags: u32,
        len: u32,
    ) -> Result<(), StreamError> {
        let Some(data) = self.gather(input, len as usize) else {
            self.state = State::XlOptional {
                mandatory,
                optional_flags,
                len,
            };
            return Ok(());
        };
        let (config, extra_optional_data) = if data.len() >= 4 {
            let config_len = le32(&data, 0);
            if config_len as usize > data.len() - 4 {
                return Err(self.err(
                    self.item_start + XL_HEADER_BYTES as u64,
                    StreamErrorKind::ConfigLength {
                        config_len,
                        optional_data_len: len,
                    },
                ));
            }
            let end = 4 + config_len as usize;
            (Some(data.slice(4..end)), data.slice(end..))
        } else {
            (None, data)
        };
        let header = XlHeader {
            mandatory_flags: mandatory,
            optional_flags,
            config,
            extra_optional_data,
        };
        let legacy = header.is_legacy();
        self.emit(sink, Layer::Xl, None, Item::XlHeader(header));
        if legacy {
            self.state = State::Legacy;
        } else {
            self.begin(LIBXL_HEADER_BYTES as u64);
            self.state = State::LibxlHeader;
        }
        Ok(())
    }

    fn libxl_header(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some(h) = self.gather(input, LIBXL_HEADER_BYTES) else {
            self.state = State::LibxlHeader;
            return Ok(());
        };
        let base = self.item_start;
        if let Some(i) = first_difference(&h[..8], &LIBXL_IDENT) {
            return Err(self.err(
                base + i,
                StreamErrorKind::BadMagic {
                    what: "libxl stream ident",
                },
            ));
        }
        let version = be32(&h, 8);
        if version != LIBXL_VERSION {
            return Err(self.err(
                base + 8,
                StreamErrorKind::UnsupportedVersion {
                    what: "libxl stream",
                    found: version,
                },
            ));
        }
        let options = LibxlOptions::from_bits_retain(be32(&h, 12));
        if options.contains(LibxlOptions::BIG_ENDIAN) {
            return Err(self.err(
                base + 12,
                StreamErrorKind::ForeignEndian {
                    what: "the libxl stream header",
                },
            ));
        }
        self.emit(
            sink,
            Layer::Libxl,
            None,
            Item::LibxlHeader(LibxlHeader { options }),
        );
        self.begin(8);
        self.state = State::LibxlRecordHeader;
        Ok(())
    }

    /// Reads a record header; checks the length against the limit before anything else.
    fn record_header(&mut self, input: &mut Input<'_>) -> Result<Option<(u32, u32)>, StreamError> {
        if self.scratch.is_empty() {
            self.begin(8);
        }
        let Some(h) = self.gather(input, RECORD_HEADER_BYTES) else {
            return Ok(None);
        };
        let (rtype, len) = (le32(&h, 0), le32(&h, 4));
        if len > MAX_RECORD_BODY_BYTES {
            return Err(self.err(
                self.item_start + 4,
                StreamErrorKind::TooLong {
                    what: "record body",
                    length_bytes: u64::from(len),
                    limit_bytes: u64::from(MAX_RECORD_BODY_BYTES),
                },
            ));
        }
        self.item_end = self.item_start + 8 + padded(len as usize) as u64;
        Ok(Some((rtype, len)))
    }

    fn libxl_record_header(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some((rtype, len)) = self.record_header(input)? else {
            self.state = State::LibxlRecordHeader;
            return Ok(());
        };
        if LibxlRecordType(rtype).name().is_none() {
            return Err(self.err(
                self.item_start,
                StreamErrorKind::UnknownRecord {
                    record_type: rtype,
                    other_layer_name: LibxcRecordType(rtype).name(),
                },
            ));
        }
        // An empty body completes now, even at the very end of the input.
        self.libxl_body(input, sink, rtype, len)
    }

    /// Gathers a body and its padding; `None` until complete.
    fn body(&mut self, input: &mut Input<'_>, len: u32) -> Option<(Bytes, bool)> {
        let total = padded(len as usize);
        let data = self.gather(input, total)?;
        let padding_zero = data[len as usize..].iter().all(|&b| b == 0);
        Some((data.slice(..len as usize), padding_zero))
    }

    fn libxl_body(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
        rtype: u32,
        len: u32,
    ) -> Result<(), StreamError> {
        let Some((body, padding_zero)) = self.body(input, len) else {
            self.state = State::LibxlBody { rtype, len };
            return Ok(());
        };
        let record = LibxlRecord::decode(rtype, &body).map_err(|kind| self.record_error(kind))?;
        let frame = RecordFrame {
            record_type: rtype,
            body_len: len,
            padding_zero,
        };
        self.state = match record {
            LibxlRecord::End => {
                self.end_offset = Some(self.offset);
                State::AfterEnd
            }
            LibxlRecord::LibxcContext => {
                self.libxc_in_libxl = true;
                State::ImageHeader
            }
            LibxlRecord::CheckpointEnd if self.checkpoint_open => {
                self.checkpoint_open = false;
                State::LibxcRecordHeader
            }
            _ => State::LibxlRecordHeader,
        };
        self.emit(sink, Layer::Libxl, Some(frame), Item::Libxl(record));
        self.begin(match self.state {
            State::ImageHeader => LIBXC_IMAGE_HEADER_BYTES as u64,
            _ => RECORD_HEADER_BYTES as u64,
        });
        Ok(())
    }

    /// Puts a body-decoding problem at the right byte: the length word for a bad length, the
    /// type word for an unknown type.
    fn record_error(&self, kind: StreamErrorKind) -> StreamError {
        let at = match kind {
            StreamErrorKind::BadRecordLength { .. } => self.item_start + 4,
            _ => self.item_start,
        };
        self.err(at, kind)
    }

    fn image_header(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some(h) = self.gather(input, LIBXC_IMAGE_HEADER_BYTES) else {
            self.state = State::ImageHeader;
            return Ok(());
        };
        let base = self.item_start;
        if let Some(i) = first_difference(&h[..8], &LIBXC_MARKER) {
            return Err(self.err(
                base + i,
                StreamErrorKind::BadMagic {
                    what: "libxc image marker",
                },
            ));
        }
        if let Some(i) = first_difference(&h[8..12], &LIBXC_ID) {
            return Err(self.err(
                base + 8 + i,
                StreamErrorKind::BadMagic {
                    what: "libxc image id",
                },
            ));
        }
        let version = be32(&h, 12);
        if !LIBXC_VERSIONS.contains(&version) {
            return Err(self.err(
                base + 12,
                StreamErrorKind::UnsupportedVersion {
                    what: "libxc stream",
                    found: version,
                },
            ));
        }
        let options = ImageOptions::from_bits_retain(be16(&h, 16));
        if options.contains(ImageOptions::BIG_ENDIAN) {
            return Err(self.err(
                base + 16,
                StreamErrorKind::ForeignEndian {
                    what: "the libxc image header",
                },
            ));
        }
        let header = ImageHeader {
            version,
            options,
            reserved_16: be16(&h, 18),
            reserved_32: be32(&h, 20),
        };
        self.emit(sink, Layer::Libxc, None, Item::ImageHeader(header));
        self.begin(LIBXC_DOMAIN_HEADER_BYTES as u64);
        self.state = State::DomainHeader;
        Ok(())
    }

    fn domain_header(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some(h) = self.gather(input, LIBXC_DOMAIN_HEADER_BYTES) else {
            self.state = State::DomainHeader;
            return Ok(());
        };
        let base = self.item_start;
        let code = le32(&h, 0);
        let Some(domain_type) = DomainType::from_code(code) else {
            return Err(self.err(base, StreamErrorKind::UnknownDomainType { found: code }));
        };
        let page_shift = le16(&h, 4);
        if page_shift != PAGE_SHIFT {
            return Err(self.err(
                base + 4,
                StreamErrorKind::UnsupportedPageShift { found: page_shift },
            ));
        }
        let header = DomainHeader {
            domain_type,
            page_shift,
            reserved: le16(&h, 6),
            xen_major: le32(&h, 8),
            xen_minor: le32(&h, 12),
        };
        self.emit(sink, Layer::Libxc, None, Item::DomainHeader(header));
        self.begin(8);
        self.state = State::LibxcRecordHeader;
        Ok(())
    }

    fn libxc_record_header(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some((rtype, len)) = self.record_header(input)? else {
            self.state = State::LibxcRecordHeader;
            return Ok(());
        };
        let record_type = LibxcRecordType(rtype);
        if record_type == LibxcRecordType::PAGE_DATA {
            if len < 8 {
                return Err(self.record_error(page_length_error(len)));
            }
            self.state = State::PageHeader { len };
            return Ok(());
        }
        if record_type.name().is_none() && !record_type.is_optional() {
            return Err(self.err(
                self.item_start,
                StreamErrorKind::UnknownRecord {
                    record_type: rtype,
                    other_layer_name: LibxlRecordType(rtype).name(),
                },
            ));
        }
        self.libxc_body(input, sink, rtype, len)
    }

    fn libxc_body(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
        rtype: u32,
        len: u32,
    ) -> Result<(), StreamError> {
        let Some((body, padding_zero)) = self.body(input, len) else {
            self.state = State::LibxcBody { rtype, len };
            return Ok(());
        };
        let record = LibxcRecord::decode(rtype, body).map_err(|kind| self.record_error(kind))?;
        let frame = RecordFrame {
            record_type: rtype,
            body_len: len,
            padding_zero,
        };
        self.finish_libxc_record(sink, frame, record);
        Ok(())
    }

    fn finish_libxc_record(
        &mut self,
        sink: &mut Sink<'_>,
        frame: RecordFrame,
        record: LibxcRecord,
    ) {
        self.state = match record {
            LibxcRecord::End if self.libxc_in_libxl => State::LibxlRecordHeader,
            LibxcRecord::End => {
                self.end_offset = Some(self.offset);
                State::AfterEnd
            }
            LibxcRecord::Checkpoint if self.libxc_in_libxl => {
                self.checkpoint_open = true;
                State::LibxlRecordHeader
            }
            _ => State::LibxcRecordHeader,
        };
        self.emit(sink, Layer::Libxc, Some(frame), Item::Libxc(record));
        self.begin(8);
    }

    fn page_header(&mut self, input: &mut Input<'_>, len: u32) -> Result<(), StreamError> {
        let Some(h) = self.gather(input, 8) else {
            self.state = State::PageHeader { len };
            return Ok(());
        };
        let (count, reserved) = (le32(&h, 0), le32(&h, 4));
        if count == 0 {
            return Err(self.err(self.item_start + 8, StreamErrorKind::EmptyPageData));
        }
        if 8 + 8 * u64::from(count) > u64::from(len) {
            return Err(self.record_error(page_length_error(len)));
        }
        self.state = State::PagePfns {
            len,
            count,
            reserved,
        };
        Ok(())
    }

    fn page_pfns(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
        len: u32,
        count: u32,
        reserved: u32,
    ) -> Result<(), StreamError> {
        let Some(words) = self.gather(input, 8 * count as usize) else {
            self.state = State::PagePfns {
                len,
                count,
                reserved,
            };
            return Ok(());
        };
        let (pfns, data_pages) = decode_pfns(&words).map_err(|kind| {
            let at = match kind {
                StreamErrorKind::ReservedPageType { index, .. } => {
                    self.item_start + 16 + 8 * u64::from(index)
                }
                _ => self.item_start,
            };
            self.err(at, kind)
        })?;
        let payload = PAGE_BYTES as u64 * data_pages as u64;
        if 8 + 8 * u64::from(count) + payload != u64::from(len) {
            return Err(self.record_error(page_length_error(len)));
        }
        // At most the 128 MiB record limit.
        let payload = usize::try_from(payload).unwrap_or(usize::MAX);
        self.page_payload(input, sink, len, reserved, pfns, payload)
    }

    fn page_payload(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
        len: u32,
        reserved: u32,
        pfns: Vec<PfnWord>,
        remaining: usize,
    ) -> Result<(), StreamError> {
        let payload = match self.options.payloads {
            PayloadMode::Keep => match self.gather(input, remaining) {
                Some(bytes) => Some(bytes),
                None => {
                    self.state = State::PagePayload {
                        len,
                        reserved,
                        pfns,
                        remaining,
                    };
                    return Ok(());
                }
            },
            PayloadMode::Skip => {
                let k = remaining.min(input.remaining());
                input.pos += k;
                self.offset += k as u64;
                if k < remaining {
                    self.state = State::PagePayload {
                        len,
                        reserved,
                        pfns,
                        remaining: remaining - k,
                    };
                    return Ok(());
                }
                None
            }
        };
        let frame = RecordFrame {
            record_type: LibxcRecordType::PAGE_DATA.0,
            body_len: len,
            padding_zero: true,
        };
        let record = LibxcRecord::PageData(PageData {
            reserved,
            pfns,
            payload,
        });
        self.finish_libxc_record(sink, frame, record);
        Ok(())
    }
}

fn page_length_error(len: u32) -> StreamErrorKind {
    StreamErrorKind::BadRecordLength {
        record: "PAGE_DATA",
        length_bytes: len,
        expected: "8 + 8 x count + 4096 x data pages bytes, count at least 1".to_string(),
    }
}

/// Index of the first byte where `a` and `b` differ.
fn first_difference(a: &[u8], b: &[u8]) -> Option<u64> {
    a.iter().zip(b).position(|(x, y)| x != y).map(|i| i as u64)
}
