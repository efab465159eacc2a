//! PAGE_DATA's checks: the reserved word, the batch size, each pfn word (reserved bits, page
//! type for the guest, within the P2M) and duplicate pfns within one record.

use super::*;
use crate::stream::page::{PageData, PageType};

impl Verifier {
    /// PAGE_DATA: reserved word, batch size, pfn words, duplicates.
    pub(super) fn page_data(&mut self, at: u64, page: &PageData) {
        if page.reserved != 0 {
            self.problem(
                at + 12,
                Layer::Libxc,
                "reserved",
                format!("reserved word of PAGE_DATA is 0x{:x}", page.reserved),
            );
        }
        if page.pfns.len() > MAX_BATCH_PFNS {
            self.warning(
                at + 8,
                Layer::Libxc,
                "page-batch",
                format!(
                    "{} pfns in one PAGE_DATA record (the saver sends at most {MAX_BATCH_PFNS})",
                    page.pfns.len()
                ),
            );
        }
        let hvm = self.domain_type == Some(DomainType::X86Hvm);
        let mut reported = (false, false, false, false);
        for (i, word) in page.pfns.iter().enumerate() {
            let word_at = at + 16 + 8 * i as u64;
            if word.reserved_bits() != 0 && !reported.0 {
                reported.0 = true;
                self.problem(
                    word_at,
                    Layer::Libxc,
                    "page-reserved-bits",
                    format!(
                        "pfn word {i} (0x{:016x}) has reserved bits 52-59 set",
                        word.0
                    ),
                );
            }
            let page_type = word.page_type();
            if hvm && matches!(page_type, Some(PageType::PageTable { .. })) && !reported.1 {
                reported.1 = true;
                self.problem(
                    word_at,
                    Layer::Libxc,
                    "page-type",
                    format!("pfn word {i}: PV page-table page in an HVM stream"),
                );
            }
            if page_type == Some(PageType::AllocateOnly) && !self.converted && !reported.2 {
                reported.2 = true;
                self.problem(
                    word_at,
                    Layer::Libxc,
                    "page-type",
                    format!(
                        "pfn word {i}: allocate-only page outside a stream converted from legacy"
                    ),
                );
            }
            if let Some(end) = self.p2m_end_pfn
                && word.pfn() > end
                && !reported.3
            {
                reported.3 = true;
                self.problem(
                    word_at,
                    Layer::Libxc,
                    "pfn-range",
                    format!(
                        "pfn 0x{:x} beyond the guest's P2M (last pfn 0x{end:x})",
                        word.pfn()
                    ),
                );
            }
        }
        // Duplicates within one record: the saver never sends a pfn twice in a batch.
        let mut pfns = std::mem::take(&mut self.pfn_scratch);
        pfns.clear();
        pfns.extend(page.pfns.iter().map(|w| w.pfn()));
        let sorted = pfns.windows(2).all(|w| w[0] < w[1]);
        if !sorted {
            pfns.sort_unstable();
            if let Some(dup) = pfns.windows(2).find(|w| w[0] == w[1]) {
                let pfn = dup[0];
                let i = page.pfns.iter().rposition(|w| w.pfn() == pfn).unwrap_or(0);
                self.problem(
                    at + 16 + 8 * i as u64,
                    Layer::Libxc,
                    "page-duplicate",
                    format!("pfn 0x{pfn:x} appears twice in one PAGE_DATA record"),
                );
            }
        }
        self.pfn_scratch = pfns;
    }
}
