//! The fixed headers: xl save header, libxl stream header, libxc image and domain headers.
//!
//! ```text
//! xl (host order = LE)   magic[32] byteorder mandatory_flags optional_flags optional_data_len
//!                        then optional data: config_len (u32), config (JSON + NUL)
//! libxl (big-endian)     ident "LibxlFmt" (8), version (4) = 2, options (4)
//! libxc image (BE)       marker ff*8, id "XENF", version (4), options (2), reserved (2), (4)
//! libxc domain (LE)      type (4), page_shift (2), reserved (2), xen_major (4), xen_minor (4)
//! ```

use bytes::Bytes;

use super::format::{LIBXC_ID, LIBXC_MARKER, LIBXL_IDENT, LIBXL_VERSION, XL_BYTEORDER, XL_MAGIC};

bitflags::bitflags! {
    /// xl save header mandatory flags: a reader must understand every bit set.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct XlMandatoryFlags: u32 {
        /// The config is JSON (else xl.cfg text).
        const JSON = 1 << 0;
        /// A libxl v2 stream follows (else a legacy v1 stream).
        const STREAM_V2 = 1 << 1;
    }
}

bitflags::bitflags! {
    /// libxl stream header options.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct LibxlOptions: u32 {
        /// Big-endian stream (libxl rejects it).
        const BIG_ENDIAN = 1 << 0;
        /// Produced by convert-legacy-stream from a legacy image.
        const LEGACY = 1 << 1;
    }
}

bitflags::bitflags! {
    /// libxc image header options.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct ImageOptions: u16 {
        /// Big-endian stream (restore rejects it).
        const BIG_ENDIAN = 1 << 0;
    }
}

/// The xl save header that starts `xl save` files and migration streams.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct XlHeader {
    /// What the reader must understand.
    pub mandatory_flags: XlMandatoryFlags,
    /// Not checked by xl.
    pub optional_flags: u32,
    /// The config as on the wire (`config_len` bytes, normally JSON and its NUL); `None` when
    /// the optional data is shorter than the 4-byte length word.
    pub config: Option<Bytes>,
    /// Optional data after the config (xl writes none).
    pub extra_optional_data: Bytes,
}

impl XlHeader {
    /// The header `xl migrate` and `xl save` write: JSON config, libxl v2 stream.
    pub fn with_json_config(json: &str) -> XlHeader {
        let mut config = Vec::with_capacity(json.len() + 1);
        config.extend_from_slice(json.as_bytes());
        config.push(0);
        XlHeader {
            mandatory_flags: XlMandatoryFlags::JSON | XlMandatoryFlags::STREAM_V2,
            optional_flags: 0,
            config: Some(Bytes::from(config)),
            extra_optional_data: Bytes::new(),
        }
    }

    /// True when a legacy (v1) stream follows instead of a libxl v2 stream.
    pub fn is_legacy(&self) -> bool {
        !self.mandatory_flags.contains(XlMandatoryFlags::STREAM_V2)
    }

    /// The config text without its NUL terminator, when it is UTF-8.
    pub fn config_text(&self) -> Option<&str> {
        let config = self.config.as_deref()?;
        let text = config.strip_suffix(b"\0").unwrap_or(config);
        std::str::from_utf8(text).ok()
    }

    /// The optional data length written in the header (the "N" of xl's `info 0x3/0x0/N`).
    pub fn optional_data_len(&self) -> usize {
        self.config.as_ref().map_or(0, |c| 4 + c.len()) + self.extra_optional_data.len()
    }

    /// Appends the header and optional data.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&XL_MAGIC);
        out.extend_from_slice(&XL_BYTEORDER.to_le_bytes());
        out.extend_from_slice(&self.mandatory_flags.bits().to_le_bytes());
        out.extend_from_slice(&self.optional_flags.to_le_bytes());
        out.extend_from_slice(&len_u32(self.optional_data_len()).to_le_bytes());
        if let Some(config) = &self.config {
            out.extend_from_slice(&len_u32(config.len()).to_le_bytes());
            out.extend_from_slice(config);
        }
        out.extend_from_slice(&self.extra_optional_data);
    }
}

/// The libxl stream header (the version is always 2: the parser rejects others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LibxlHeader {
    /// Option bits, unknown ones kept.
    pub options: LibxlOptions,
}

impl LibxlHeader {
    /// A little-endian header with the given options.
    pub fn new(options: LibxlOptions) -> LibxlHeader {
        LibxlHeader { options }
    }

    /// Appends the 16 header bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&LIBXL_IDENT);
        out.extend_from_slice(&LIBXL_VERSION.to_be_bytes());
        out.extend_from_slice(&self.options.bits().to_be_bytes());
    }
}

/// The libxc image header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageHeader {
    /// 2 or 3 (3 is written since Xen 4.14).
    pub version: u32,
    /// Option bits, unknown ones kept.
    pub options: ImageOptions,
    /// The 16-bit reserved field (must be 0).
    pub reserved_16: u16,
    /// The 32-bit reserved field (must be 0).
    pub reserved_32: u32,
}

impl ImageHeader {
    /// A little-endian header of this version.
    pub fn new(version: u32) -> ImageHeader {
        ImageHeader {
            version,
            options: ImageOptions::empty(),
            reserved_16: 0,
            reserved_32: 0,
        }
    }

    /// Appends the 24 header bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&LIBXC_MARKER);
        out.extend_from_slice(&LIBXC_ID);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.options.bits().to_be_bytes());
        out.extend_from_slice(&self.reserved_16.to_be_bytes());
        out.extend_from_slice(&self.reserved_32.to_be_bytes());
    }
}

/// The guest type of a libxc stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum DomainType {
    /// x86 PV.
    X86Pv,
    /// x86 HVM (also PVH guests).
    X86Hvm,
}

impl DomainType {
    /// The header's type word.
    pub fn code(self) -> u32 {
        match self {
            DomainType::X86Pv => 1,
            DomainType::X86Hvm => 2,
        }
    }

    /// From the header's type word.
    pub fn from_code(code: u32) -> Option<DomainType> {
        match code {
            1 => Some(DomainType::X86Pv),
            2 => Some(DomainType::X86Hvm),
            _ => None,
        }
    }

    /// `x86 PV` or `x86 HVM`, as libxc logs it.
    pub fn name(self) -> &'static str {
        match self {
            DomainType::X86Pv => "x86 PV",
            DomainType::X86Hvm => "x86 HVM",
        }
    }
}

/// The libxc domain header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DomainHeader {
    /// PV or HVM.
    pub domain_type: DomainType,
    /// Always 12 (the parser rejects others).
    pub page_shift: u16,
    /// Must be 0.
    pub reserved: u16,
    /// Xen major version at save time; 0 for streams converted from legacy.
    pub xen_major: u32,
    /// Xen minor version at save time (the converter's version for converted streams).
    pub xen_minor: u32,
}

impl DomainHeader {
    /// A header for a stream saved on Xen `major.minor`.
    pub fn new(domain_type: DomainType, xen_major: u32, xen_minor: u32) -> DomainHeader {
        DomainHeader {
            domain_type,
            page_shift: super::format::PAGE_SHIFT,
            reserved: 0,
            xen_major,
            xen_minor,
        }
    }

    /// True for streams made by convert-legacy-stream.
    pub fn is_converted_from_legacy(&self) -> bool {
        self.xen_major == 0
    }

    /// Appends the 16 header bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.domain_type.code().to_le_bytes());
        out.extend_from_slice(&self.page_shift.to_le_bytes());
        out.extend_from_slice(&self.reserved.to_le_bytes());
        out.extend_from_slice(&self.xen_major.to_le_bytes());
        out.extend_from_slice(&self.xen_minor.to_le_bytes());
    }
}

/// A length as the u32 the formats use; lengths come from records the parser bounded or the
/// caller built, so saturating only matters for absurd inputs to the writer.
pub(crate) fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Little-endian u32 at `at` (the caller checked the length).
pub(crate) fn le32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Little-endian u64 at `at` (the caller checked the length).
pub(crate) fn le64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Big-endian u32 at `at` (the caller checked the length).
pub(crate) fn be32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_be_bytes(word)
}

/// Little-endian u16 at `at` (the caller checked the length).
pub(crate) fn le16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// Big-endian u16 at `at` (the caller checked the length).
pub(crate) fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_xl_header_encodes_info_like_xl() {
        let header = XlHeader::with_json_config("{}");
        let mut out = Vec::new();
        header.encode(&mut out);
        assert_eq!(&out[..32], &XL_MAGIC);
        assert_eq!(le32(&out, 32), XL_BYTEORDER);
        assert_eq!(le32(&out, 36), 3);
        assert_eq!(le32(&out, 44), 4 + 3);
        assert_eq!(le32(&out, 48), 3);
        assert_eq!(&out[52..], b"{}\0");
        assert_eq!(header.config_text(), Some("{}"));
        assert!(!header.is_legacy());
    }

    #[test]
    fn test_libxc_headers_encode_as_in_reference_dump() {
        let mut out = Vec::new();
        ImageHeader::new(3).encode(&mut out);
        DomainHeader::new(DomainType::X86Hvm, 4, 17).encode(&mut out);
        let expected: [u8; 40] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x58, 0x45, 0x4e, 0x46, 0, 0, 0, 3, 0,
            0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0x0c, 0, 0, 0, 4, 0, 0, 0, 0x11, 0, 0, 0,
        ];
        assert_eq!(out, expected);
    }
}
