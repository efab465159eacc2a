//! The stream writer: items in, stream bytes out, framed and padded as Xen writes them.
//!
//! It writes what it is given, in the order given, so tests can also build broken streams;
//! [`super::synthetic`] builds valid ones. Page payloads go to the output without a copy.

use std::io::{self, Write};

use super::format::{MAX_RECORD_BODY_BYTES, PAGE_BYTES, RECORD_ALIGN, padded};
use super::headers::len_u32;
use super::libxc_record::{LibxcRecord, encode_page_header};
use super::parser::Item;
use crate::XenError;

/// Writes items to `W`.
#[derive(Debug)]
pub struct StreamWriter<W: Write> {
    out: W,
    offset: u64,
    scratch: Vec<u8>,
}

impl<W: Write> StreamWriter<W> {
    /// A writer at offset 0.
    pub fn new(out: W) -> StreamWriter<W> {
        StreamWriter {
            out,
            offset: 0,
            scratch: Vec::new(),
        }
    }

    /// Bytes written so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The output.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes one item: a header, a framed and padded record, or raw bytes.
    pub fn write_item(&mut self, item: &Item) -> Result<(), XenError> {
        self.scratch.clear();
        match item {
            Item::XlHeader(h) => h.encode(&mut self.scratch),
            Item::LibxlHeader(h) => h.encode(&mut self.scratch),
            Item::ImageHeader(h) => h.encode(&mut self.scratch),
            Item::DomainHeader(h) => h.encode(&mut self.scratch),
            Item::Libxl(record) => {
                let mut body = Vec::new();
                record.encode_body(&mut body);
                self.frame(record.record_type().0, &body)?;
            }
            Item::Libxc(LibxcRecord::PageData(page)) => {
                let Some(payload) = &page.payload else {
                    return Err(self.invalid("a PAGE_DATA record without its payload"));
                };
                if payload.len() != PAGE_BYTES * page.data_page_count() {
                    return Err(self.invalid("a PAGE_DATA payload that does not match its pfns"));
                }
                let body_len = page.body_len();
                self.check_body_len(body_len)?;
                self.scratch.extend_from_slice(&1u32.to_le_bytes());
                self.scratch
                    .extend_from_slice(&len_u32(body_len).to_le_bytes());
                encode_page_header(page, &mut self.scratch);
                self.flush_scratch()?;
                return self.put(payload);
            }
            Item::Libxc(record) => {
                let mut body = Vec::new();
                record.encode_body(&mut body);
                self.frame(record.record_type().0, &body)?;
            }
            Item::LegacyData(data) => {
                let Some(data) = data else {
                    return Err(self.invalid("legacy bytes that were skipped, not kept"));
                };
                return self.put(data);
            }
            Item::Trailing(data) => return self.put(data),
        }
        self.flush_scratch()
    }

    /// Writes every item.
    pub fn write_all_items<'a>(
        &mut self,
        items: impl IntoIterator<Item = &'a Item>,
    ) -> Result<(), XenError> {
        items.into_iter().try_for_each(|item| self.write_item(item))
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> Result<(), XenError> {
        let offset = self.offset;
        self.out.flush().map_err(|source| XenError::StreamWrite {
            what: "the stream".to_string(),
            offset,
            source,
        })
    }

    fn frame(&mut self, record_type: u32, body: &[u8]) -> Result<(), XenError> {
        self.check_body_len(body.len())?;
        self.scratch.extend_from_slice(&record_type.to_le_bytes());
        self.scratch
            .extend_from_slice(&len_u32(body.len()).to_le_bytes());
        self.scratch.extend_from_slice(body);
        let pad = padded(body.len()) - body.len();
        self.scratch.extend_from_slice(&[0; RECORD_ALIGN][..pad]);
        Ok(())
    }

    fn check_body_len(&self, len: usize) -> Result<(), XenError> {
        if len > MAX_RECORD_BODY_BYTES as usize {
            return Err(self.invalid("a record body over 128 MiB"));
        }
        Ok(())
    }

    fn invalid(&self, what: &str) -> XenError {
        XenError::StreamWrite {
            what: "the stream".to_string(),
            offset: self.offset,
            source: io::Error::new(io::ErrorKind::InvalidInput, format!("cannot write {what}")),
        }
    }

    fn flush_scratch(&mut self) -> Result<(), XenError> {
        let scratch = std::mem::take(&mut self.scratch);
        let result = self.put(&scratch);
        self.scratch = scratch;
        result
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), XenError> {
        let offset = self.offset;
        self.out
            .write_all(bytes)
            .map_err(|source| XenError::StreamWrite {
                what: "the stream".to_string(),
                offset,
                source,
            })?;
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

/// The stream bytes of `items`.
pub fn encode(items: &[Item]) -> Result<Vec<u8>, XenError> {
    let mut writer = StreamWriter::new(Vec::new());
    writer.write_all_items(items)?;
    Ok(writer.into_inner())
}
