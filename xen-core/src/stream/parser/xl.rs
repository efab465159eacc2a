//! The xl layer: the xl save header (magic, byte order, mandatory flags) and its optional
//! data (the domain's config), then the libxl stream or a legacy body.

use super::*;

impl StreamParser {
    pub(super) fn xl_fixed(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
    ) -> Result<(), StreamError> {
        let Some(h) = self.gather(input, XL_HEADER_BYTES) else {
            return self.wait(State::XlFixed);
        };
        let base = self.item_start;
        self.expect_magic(base, &h[..32], &XL_MAGIC, "xl save header magic")?;
        if le32(&h, 32) != XL_BYTEORDER {
            return Err(if be32(&h, 32) == XL_BYTEORDER {
                self.foreign_endian(base + 32, "the xl byte-order word")
            } else {
                self.err(
                    base + 32,
                    StreamErrorKind::BadMagic {
                        what: "xl byte-order word",
                    },
                )
            });
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

    pub(super) fn xl_optional(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
        mandatory: XlMandatoryFlags,
        optional_flags: u32,
        len: u32,
    ) -> Result<(), StreamError> {
        let Some(data) = self.gather(input, len as usize) else {
            return self.wait(State::XlOptional {
                mandatory,
                optional_flags,
                len,
            });
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
}
