//! PAGE_DATA: pfn words with their page types, and the page payloads.
//!
//! Body: `u32 count`, `u32 reserved`, `u64 pfn_word[count]`, then 4096 bytes for every pfn
//! whose type carries data. A pfn word holds the PFN in bits 0-51, reserved bits 52-59 and the
//! page type (`XEN_DOMCTL_PFINFO_*` >> 28) in bits 60-63.

use bytes::Bytes;

use super::error::StreamErrorKind;
use super::format::PAGE_BYTES;
use super::headers::le64;

/// Bits 0-51 of a pfn word.
pub const PFN_MASK: u64 = 0x000f_ffff_ffff_ffff;
/// Bits 52-59 of a pfn word, which must be 0.
pub const PFN_RESERVED_MASK: u64 = 0x0ff0_0000_0000_0000;
/// Where the page type sits.
pub const PAGE_TYPE_SHIFT: u32 = 60;

/// The type of one page in a PAGE_DATA record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum PageType {
    /// A normal page.
    Normal,
    /// A PV page table of level 1-4 (pinned or not).
    PageTable {
        /// 1 to 4.
        level: u8,
        /// The guest pinned it.
        pinned: bool,
    },
    /// A broken page: no data, not populated.
    Broken,
    /// Allocate only (streams converted from legacy): no data.
    AllocateOnly,
    /// Invalid or not present (e.g. ballooned out): no data.
    Invalid,
}

impl PageType {
    /// From the type nibble; `None` for the reserved values 5-8.
    pub fn from_nibble(nibble: u8) -> Option<PageType> {
        match nibble {
            0x0 => Some(PageType::Normal),
            0x1..=0x4 => Some(PageType::PageTable {
                level: nibble,
                pinned: false,
            }),
            0x9..=0xc => Some(PageType::PageTable {
                level: nibble - 8,
                pinned: true,
            }),
            0xd => Some(PageType::Broken),
            0xe => Some(PageType::AllocateOnly),
            0xf => Some(PageType::Invalid),
            _ => None,
        }
    }

    /// The type nibble.
    pub fn nibble(self) -> u8 {
        match self {
            PageType::Normal => 0,
            PageType::PageTable { level, pinned } => (level & 0x7) | if pinned { 8 } else { 0 },
            PageType::Broken => 0xd,
            PageType::AllocateOnly => 0xe,
            PageType::Invalid => 0xf,
        }
    }

    /// Whether 4096 bytes of page data follow for this pfn.
    pub fn has_data(self) -> bool {
        matches!(self, PageType::Normal | PageType::PageTable { .. })
    }

    /// Stable short name (`normal`, `l1tab`, `l2tab_pinned`, `broken`, `xalloc`, `xtab`).
    pub fn name(self) -> &'static str {
        match self {
            PageType::Normal => "normal",
            PageType::PageTable { level, pinned } => match (level, pinned) {
                (1, false) => "l1tab",
                (2, false) => "l2tab",
                (3, false) => "l3tab",
                (4, false) => "l4tab",
                (1, true) => "l1tab_pinned",
                (2, true) => "l2tab_pinned",
                (3, true) => "l3tab_pinned",
                _ => "l4tab_pinned",
            },
            PageType::Broken => "broken",
            PageType::AllocateOnly => "xalloc",
            PageType::Invalid => "xtab",
        }
    }
}

/// One pfn word of a PAGE_DATA record, kept whole (reserved bits included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PfnWord(pub u64);

impl PfnWord {
    /// A word from a pfn and its type.
    pub fn new(pfn: u64, page_type: PageType) -> PfnWord {
        PfnWord((pfn & PFN_MASK) | (u64::from(page_type.nibble()) << PAGE_TYPE_SHIFT))
    }

    /// The guest frame number (bits 0-51).
    pub fn pfn(self) -> u64 {
        self.0 & PFN_MASK
    }

    /// Bits 52-59, which must be 0.
    pub fn reserved_bits(self) -> u64 {
        self.0 & PFN_RESERVED_MASK
    }

    /// The type nibble (bits 60-63).
    pub fn type_nibble(self) -> u8 {
        // The shift leaves 4 bits.
        (self.0 >> PAGE_TYPE_SHIFT) as u8
    }

    /// The page type; `None` for the reserved nibbles 5-8.
    pub fn page_type(self) -> Option<PageType> {
        PageType::from_nibble(self.type_nibble())
    }
}

/// A PAGE_DATA record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageData {
    /// The reserved word after the count (must be 0).
    pub reserved: u32,
    /// The pfn words, in stream order (at least one).
    pub pfns: Vec<PfnWord>,
    /// The data pages, 4096 bytes each, in the order of the pfns that carry data; `None` when
    /// the parser was told to skip payloads (the pages were counted, not kept).
    pub payload: Option<Bytes>,
}

impl PageData {
    /// A record of these pfns and their pages (`payload` holds one page per data-carrying
    /// pfn; the writer checks it).
    pub fn new(pfns: Vec<PfnWord>, payload: Bytes) -> PageData {
        PageData {
            reserved: 0,
            pfns,
            payload: Some(payload),
        }
    }

    /// Number of pfns whose type carries page data.
    pub fn data_page_count(&self) -> usize {
        data_pages(&self.pfns)
    }

    /// The body length: 8 + 8 per pfn + 4096 per data page.
    pub fn body_len(&self) -> usize {
        8 + 8 * self.pfns.len() + PAGE_BYTES * self.data_page_count()
    }

    /// Page `i` of the payload (counting data pages only), when payloads were kept.
    pub fn page(&self, i: usize) -> Option<&[u8]> {
        self.payload
            .as_ref()?
            .get(i * PAGE_BYTES..(i + 1) * PAGE_BYTES)
    }
}

/// Data-carrying pfns among `pfns` (reserved types count as none; the parser rejects them).
pub(crate) fn data_pages(pfns: &[PfnWord]) -> usize {
    pfns.iter()
        .filter(|w| w.page_type().is_some_and(PageType::has_data))
        .count()
}

/// Decodes `count` pfn words; the number of data pages, or the first reserved type.
pub(crate) fn decode_pfns(bytes: &[u8]) -> Result<(Vec<PfnWord>, usize), StreamErrorKind> {
    let mut pfns = Vec::with_capacity(bytes.len() / 8);
    let mut data = 0;
    for (index, chunk) in bytes.chunks_exact(8).enumerate() {
        let word = PfnWord(le64(chunk, 0));
        match word.page_type() {
            Some(t) => data += usize::from(t.has_data()),
            None => {
                return Err(StreamErrorKind::ReservedPageType {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    pfn_word: word.0,
                });
            }
        }
        pfns.push(word);
    }
    Ok((pfns, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_every_nibble_round_trips_or_is_reserved() {
        for nibble in 0..16u8 {
            match PageType::from_nibble(nibble) {
                Some(t) => assert_eq!(t.nibble(), nibble),
                None => assert!((5..=8).contains(&nibble)),
            }
        }
    }

    #[test]
    fn test_pfn_word_splits_fields() {
        let w = PfnWord(0x9000_0000_0001_2345 | (1 << 52));
        assert_eq!(w.pfn(), 0x1_2345);
        assert_eq!(w.reserved_bits(), 1 << 52);
        assert_eq!(
            w.page_type(),
            Some(PageType::PageTable {
                level: 1,
                pinned: true
            })
        );
        assert_eq!(PfnWord::new(7, PageType::Invalid).0, 0xf000_0000_0000_0007);
    }

    #[test]
    fn test_decode_pfns_counts_data_pages_and_rejects_reserved_types() {
        let mut bytes = Vec::new();
        for w in [0u64, 0xf000_0000_0000_0001, 0x1000_0000_0000_0002] {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        let (pfns, data) = decode_pfns(&bytes).unwrap();
        assert_eq!((pfns.len(), data), (3, 2));
        bytes.extend_from_slice(&0x5000_0000_0000_0003u64.to_le_bytes());
        assert_eq!(
            decode_pfns(&bytes),
            Err(StreamErrorKind::ReservedPageType {
                index: 3,
                pfn_word: 0x5000_0000_0000_0003
            })
        );
    }
}
