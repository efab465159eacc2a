//! The libxc layer: the image and domain headers and the libxc records, CHECKPOINT handing
//! control to libxl and END handing it back or ending the stream.

use super::page::page_length_error;
use super::*;

impl StreamParser {
    pub(super) fn image_header(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some(h) = self.gather(input, LIBXC_IMAGE_HEADER_BYTES) else {
            return self.wait(State::ImageHeader);
        };
        let base = self.item_start;
        self.expect_magic(base, &h[..8], &LIBXC_MARKER, "libxc image marker")?;
        self.expect_magic(base + 8, &h[8..12], &LIBXC_ID, "libxc image id")?;
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
            return Err(self.foreign_endian(base + 16, "the libxc image header"));
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

    pub(super) fn domain_header(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some(h) = self.gather(input, LIBXC_DOMAIN_HEADER_BYTES) else {
            return self.wait(State::DomainHeader);
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

    pub(super) fn libxc_record_header(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some((rtype, len)) = self.record_header(input)? else {
            return self.wait(State::LibxcRecordHeader);
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
            return Err(self.unknown_record(rtype, LibxlRecordType(rtype).name()));
        }
        self.libxc_body(input, sink, rtype, len)
    }

    pub(super) fn libxc_body(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
        rtype: u32,
        len: u32,
    ) -> Result<(), StreamError> {
        let Some((body, frame)) = self.body(input, rtype, len) else {
            return self.wait(State::LibxcBody { rtype, len });
        };
        let record = LibxcRecord::decode(rtype, body).map_err(|kind| self.record_error(kind))?;
        self.finish_libxc_record(sink, frame, record);
        Ok(())
    }

    pub(super) fn finish_libxc_record(
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
}
