//! The headers' checks: the xl save header and its config, the libxl stream header, the
//! libxc image and domain headers, a legacy body and the bytes after the stream's END.

use super::*;
use crate::stream::headers::{DomainHeader, ImageHeader, LibxlHeader, XlHeader};

impl Verifier {
    /// The xl save header: STREAMv2, and a NUL-terminated JSON config.
    pub(super) fn xl_header(&mut self, at: u64, h: &XlHeader) {
        if h.is_legacy() {
            self.problem(
                at + 36,
                Layer::Xl,
                "legacy-stream",
                "legacy (v1, Xen 4.5 and older) stream: the xl header lacks the STREAMv2 \
                 flag; convert it with convert-legacy-stream to check it"
                    .to_string(),
            );
        }
        match h.config.as_deref() {
            None => self.warning(
                at + 44,
                Layer::Xl,
                "xl-config-missing",
                "no domain config in the xl header (restore needs one given)".to_string(),
            ),
            Some(config) if config.last() != Some(&0) => self.problem(
                at + 48,
                Layer::Xl,
                "xl-config-nul",
                "the xl config is not NUL-terminated".to_string(),
            ),
            Some(_) => {}
        }
        let json = h.mandatory_flags.contains(XlMandatoryFlags::JSON);
        if !json {
            self.warning(
                at + 36,
                Layer::Xl,
                "xl-config-text",
                "the config is xl.cfg text, not JSON".to_string(),
            );
        } else if h.config.is_some() && h.config_text().and_then(GuestConfig::from_json).is_none() {
            self.problem(
                at + 52,
                Layer::Xl,
                "xl-config-json",
                "the JSON flag is set but the config is not a JSON object".to_string(),
            );
        }
    }

    /// The libxl stream header: option bits.
    pub(super) fn libxl_header(&mut self, at: u64, h: &LibxlHeader) {
        let reserved = h.options.bits() & !LibxlOptions::all().bits();
        if reserved != 0 {
            self.problem(
                at + 12,
                Layer::Libxl,
                "reserved",
                format!("reserved libxl header option bits set: 0x{reserved:x}"),
            );
        }
        if h.options.contains(LibxlOptions::LEGACY) {
            self.warning(
                at + 12,
                Layer::Libxl,
                "converted-from-legacy",
                "converted from a legacy stream by convert-legacy-stream".to_string(),
            );
        }
    }

    /// The libxc image header: version kept, reserved bits.
    pub(super) fn image_header(&mut self, at: u64, h: &ImageHeader) {
        self.libxc_version = Some(h.version);
        self.libxc_open = true;
        if h.options.bits() & 0xfffe != 0 || h.reserved_16 != 0 || h.reserved_32 != 0 {
            self.problem(
                at + 16,
                Layer::Libxc,
                "reserved",
                "reserved bits set in the libxc image header".to_string(),
            );
        }
    }

    /// The libxc domain header: guest type kept, reserved field.
    pub(super) fn domain_header(&mut self, at: u64, h: &DomainHeader) {
        self.domain_type = Some(h.domain_type);
        self.converted = h.is_converted_from_legacy();
        if h.reserved != 0 {
            self.problem(
                at + 6,
                Layer::Libxc,
                "reserved",
                format!(
                    "reserved field of the domain header is 0x{:04x}",
                    h.reserved
                ),
            );
        }
    }

    /// A legacy (v1) body.
    pub(super) fn legacy_data(&mut self, at: u64) {
        if at == 0 {
            self.problem(
                0,
                Layer::Legacy,
                "legacy-stream",
                "no magic: a legacy (v1, Xen 4.5 and older) libxc image; convert it \
                 with convert-legacy-stream to check it"
                    .to_string(),
            );
        }
    }

    /// Bytes after the stream's END: counted, the head kept (xl's GO message?).
    pub(super) fn trailing(&mut self, data: &[u8]) {
        self.report.trailing_bytes += data.len() as u64;
        let room = (XL_GO_MESSAGE.len() + 1).saturating_sub(self.trailing_head.len());
        self.trailing_head
            .extend_from_slice(&data[..data.len().min(room)]);
    }
}
