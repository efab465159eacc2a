//! PAGE_DATA records, read in three steps so that page payloads are never gathered whole:
//! the count, the pfns, then the pages as they come (counted, or kept as `Bytes`).

use super::*;

impl StreamParser {
    pub(super) fn page_header(
        &mut self,
        input: &mut Input<'_>,
        len: u32,
    ) -> Result<(), StreamError> {
        let Some(h) = self.gather(input, 8) else {
            return self.wait(State::PageHeader { len });
        };
        let (count, reserved) = (le32(&h, 0), le32(&h, 4));
        if count == 0 {
            return Err(self.err(self.item_start + 8, StreamErrorKind::EmptyPageData));
        }
        if 8 + 8 * u64::from(count) > u64::from(len) {
            return Err(self.record_error(page_length_error(len)));
        }
        self.wait(State::PagePfns {
            len,
            count,
            reserved,
        })
    }

    pub(super) fn page_pfns(
        &mut self,
        input: &mut Input<'_>,
        sink: &mut Sink<'_>,
        len: u32,
        count: u32,
        reserved: u32,
    ) -> Result<(), StreamError> {
        let Some(words) = self.gather(input, 8 * count as usize) else {
            return self.wait(State::PagePfns {
                len,
                count,
                reserved,
            });
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

    pub(super) fn page_payload(
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

pub(super) fn page_length_error(len: u32) -> StreamErrorKind {
    StreamErrorKind::BadRecordLength {
        record: "PAGE_DATA",
        length_bytes: len,
        expected: "8 + 8 x count + 4096 x data pages bytes, count at least 1".to_string(),
    }
}
