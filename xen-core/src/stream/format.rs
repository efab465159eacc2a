//! Constants of the three stream layers and the limits the parser enforces (reference
//! `migration.md` §1.4, §2.2-§2.4).

/// The 32-byte magic of an xl save header (no terminator).
pub const XL_MAGIC: [u8; 32] = *b"Xen saved domain, xl format\n \0 \r";
/// The xl header's byte-order word, written in host order (little-endian on x86).
pub const XL_BYTEORDER: u32 = 0x0102_0304;
/// Bytes of the fixed xl header (magic + four u32).
pub const XL_HEADER_BYTES: usize = 48;

/// The libxl stream ident, "LibxlFmt", big-endian.
pub const LIBXL_IDENT: [u8; 8] = *b"LibxlFmt";
/// The only libxl stream version libxl reads.
pub const LIBXL_VERSION: u32 = 2;
/// Bytes of the libxl stream header.
pub const LIBXL_HEADER_BYTES: usize = 16;

/// The libxc image header marker: all ones (legacy images always have a zero bit there).
pub const LIBXC_MARKER: [u8; 8] = [0xff; 8];
/// The libxc image id, "XENF".
pub const LIBXC_ID: [u8; 4] = *b"XENF";
/// Bytes of the libxc image header.
pub const LIBXC_IMAGE_HEADER_BYTES: usize = 24;
/// Bytes of the libxc domain header.
pub const LIBXC_DOMAIN_HEADER_BYTES: usize = 16;
/// Oldest and newest libxc stream versions restore accepts.
pub const LIBXC_VERSIONS: std::ops::RangeInclusive<u32> = 2..=3;

/// Bytes of a record header (type + body length), both layers.
pub const RECORD_HEADER_BYTES: usize = 8;
/// Records are padded with zeros to a multiple of this.
pub const RECORD_ALIGN: usize = 8;
/// libxc's `REC_LENGTH_MAX`: the largest record body restore accepts (128 MiB). libxl has no
/// cap of its own; the parser applies the same one to libxl records, which keeps memory bounded
/// (a QEMU device state is a few MiB at most).
pub const MAX_RECORD_BODY_BYTES: u32 = 128 << 20;
/// The largest xl optional-data block (the JSON config) the parser accepts. xl itself has no
/// limit; real configs are a few KiB.
pub const MAX_XL_OPTIONAL_DATA_BYTES: u32 = 16 << 20;

/// Page size of every x86 stream (`page_shift` 12).
pub const PAGE_BYTES: usize = 4096;
/// The page shift the parser supports.
pub const PAGE_SHIFT: u16 = 12;
/// The saver's `MAX_BATCH_SIZE`: pfns per PAGE_DATA record.
pub const MAX_BATCH_PFNS: usize = 1024;

/// The xl handshake message that follows the stream on a live migration's sender-to-receiver
/// pipe ("GO"), with its NUL.
pub const XL_GO_MESSAGE: &[u8] = b"domain is yours, you are cleared to unpause\0";

/// Rounds a body length up to the record alignment.
pub(crate) fn padded(len: usize) -> usize {
    len.div_ceil(RECORD_ALIGN) * RECORD_ALIGN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_padded_rounds_up_to_eight() {
        assert_eq!(padded(0), 0);
        assert_eq!(padded(1), 8);
        assert_eq!(padded(8), 8);
        assert_eq!(padded(9), 16);
    }

    #[test]
    fn test_xl_magic_is_32_bytes_with_embedded_nul() {
        assert_eq!(XL_MAGIC.len(), 32);
        assert_eq!(&XL_MAGIC[27..], b"\n \0 \r");
    }
}
