//! The libxl layer: the libxl stream header and its records (record header, body, padding),
//! up to LIBXC_CONTEXT, which nests a libxc stream, and END.

use super::*;

impl StreamParser {
    pub(super) fn libxl_header(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some(h) = self.gather(input, LIBXL_HEADER_BYTES) else {
            return self.wait(State::LibxlHeader);
        };
        let base = self.item_start;
        self.expect_magic(base, &h[..8], &LIBXL_IDENT, "libxl stream ident")?;
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
            return Err(self.foreign_endian(base + 12, "the libxl stream header"));
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
    pub(super) fn record_header(
        &mut self,
        input: &mut Input<'_>,
    ) -> Result<Option<(u32, u32)>, StreamError> {
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

    pub(super) fn libxl_record_header(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some((rtype, len)) = self.record_header(input)? else {
            return self.wait(State::LibxlRecordHeader);
        };
        if LibxlRecordType(rtype).name().is_none() {
            return Err(self.unknown_record(rtype, LibxcRecordType(rtype).name()));
        }
        // An empty body completes now, even at the very end of the input.
        self.libxl_body(input, sink, rtype, len)
    }

    /// Gathers a record's body and its padding; `None` until complete.
    pub(super) fn body(
        &mut self,
        input: &mut Input<'_>,
        rtype: u32,
        len: u32,
    ) -> Option<(Bytes, RecordFrame)> {
        let total = padded(len as usize);
        let data = self.gather(input, total)?;
        let frame = RecordFrame {
            record_type: rtype,
            body_len: len,
            padding_zero: data[len as usize..].iter().all(|&b| b == 0),
        };
        Some((data.slice(..len as usize), frame))
    }

    pub(super) fn libxl_body(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
        rtype: u32,
        len: u32,
    ) -> Result<(), StreamError> {
        let Some((body, frame)) = self.body(input, rtype, len) else {
            return self.wait(State::LibxlBody { rtype, len });
        };
        let record = LibxlRecord::decode(rtype, &body).map_err(|kind| self.record_error(kind))?;
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
    pub(super) fn record_error(&self, kind: StreamErrorKind) -> StreamError {
        let at = match kind {
            StreamErrorKind::BadRecordLength { .. } => self.item_start + 4,
            _ => self.item_start,
        };
        self.err(at, kind)
    }
}
