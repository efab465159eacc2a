//! Valid streams for made-up PV and HVM guests, record for record in the order Xen 4.17's
//! `xl migrate` writes them (reference §1.5, §2.3, §2.4), except that HVM_PARAMS comes before
//! HVM_CONTEXT as the spec asks. Used by tests, benchmarks and the migration tests.

use bytes::{BufMut, Bytes, BytesMut};

use super::format::{MAX_BATCH_PFNS, PAGE_BYTES};
use super::headers::{DomainHeader, DomainType, ImageHeader, LibxlHeader, LibxlOptions, XlHeader};
use super::libxc_record::{
    CpuidLeaf, HvmParams, LibxcRecord, MsrEntry, P2mFrames, PvInfo, PvVcpu, TscInfo,
};
use super::libxl_record::{EmulatorRecord, LibxlRecord};
use super::page::{PageData, PageType, PfnWord};
use super::parser::Item;
use super::writer::StreamWriter;
use crate::XenError;

/// A made-up guest and how its migration went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyntheticGuest {
    /// PV or HVM.
    pub domain_type: DomainType,
    /// Its name (in the JSON config).
    pub name: String,
    /// Its memory in 4 KiB pages; pass 0 sends every one.
    pub memory_pages: u64,
    /// vCPUs.
    pub vcpus: u32,
    /// The pfns sent again in each later pass (live passes, then the final one).
    pub dirty_passes: Vec<Vec<u64>>,
    /// Start with the xl save header (as `xl save` and `xl migrate` do).
    pub xl_header: bool,
}

impl SyntheticGuest {
    /// A 64-bit PV guest.
    pub fn pv(name: &str, memory_pages: u64, vcpus: u32) -> SyntheticGuest {
        SyntheticGuest {
            domain_type: DomainType::X86Pv,
            name: name.to_string(),
            memory_pages,
            vcpus,
            dirty_passes: Vec::new(),
            xl_header: true,
        }
    }

    /// An HVM guest with upstream QEMU.
    pub fn hvm(name: &str, memory_pages: u64, vcpus: u32) -> SyntheticGuest {
        SyntheticGuest {
            domain_type: DomainType::X86Hvm,
            ..SyntheticGuest::pv(name, memory_pages, vcpus)
        }
    }

    /// Adds passes after the first full one, each re-sending these pfns.
    pub fn with_dirty_passes(mut self, passes: Vec<Vec<u64>>) -> SyntheticGuest {
        self.dirty_passes = passes;
        self
    }

    /// Without the xl save header: a bare libxl stream.
    pub fn without_xl_header(mut self) -> SyntheticGuest {
        self.xl_header = false;
        self
    }

    /// The JSON config xl would send (`libxl_domain_config_to_json` shape, the fields that
    /// matter here).
    pub fn config_json(&self) -> String {
        let kind = match self.domain_type {
            DomainType::X86Pv => "pv",
            DomainType::X86Hvm => "hvm",
        };
        let config = serde_json::json!({
            "c_info": { "type": kind, "name": self.name },
            "b_info": {
                "max_vcpus": self.vcpus,
                "max_memkb": self.memory_pages * 4,
                "target_memkb": self.memory_pages * 4,
            },
        });
        serde_json::to_string_pretty(&config).unwrap_or_default()
    }

    /// Every item of the stream, in order.
    pub fn items(&self) -> Vec<Item> {
        let mut items = Vec::new();
        self.for_each_item(&mut |item| {
            items.push(item);
            Ok(())
        })
        .map(|()| items)
        .unwrap_or_default()
    }

    /// The whole stream.
    pub fn encode(&self) -> Result<Vec<u8>, XenError> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// Writes the stream to `out` one item at a time: memory stays at one PAGE_DATA record
    /// however large the guest. Returns the bytes written.
    pub fn write_to<W: std::io::Write>(&self, out: W) -> Result<u64, XenError> {
        let mut writer = StreamWriter::new(out);
        self.for_each_item(&mut |item| writer.write_item(&item))?;
        writer.flush()?;
        Ok(writer.offset())
    }

    /// Calls `push` with each item in order, stopping at its first error.
    fn for_each_item(
        &self,
        push: &mut dyn FnMut(Item) -> Result<(), XenError>,
    ) -> Result<(), XenError> {
        let pv = self.domain_type == DomainType::X86Pv;
        if self.xl_header {
            push(Item::XlHeader(XlHeader::with_json_config(
                &self.config_json(),
            )))?;
        }
        push(Item::LibxlHeader(LibxlHeader::new(LibxlOptions::empty())))?;
        push(Item::Libxl(LibxlRecord::LibxcContext))?;
        push(Item::ImageHeader(ImageHeader::new(3)))?;
        push(Item::DomainHeader(DomainHeader::new(
            self.domain_type,
            4,
            17,
        )))?;
        let mut rec = |r: LibxcRecord| push(Item::Libxc(r));
        if pv {
            rec(LibxcRecord::X86PvInfo(PvInfo::new(8, 4)))?;
        }
        rec(LibxcRecord::X86CpuidPolicy(vec![
            CpuidLeaf {
                leaf: 0,
                subleaf: u32::MAX,
                regs: [0xd, 0x6874_7541, 0x444d_4163, 0x6974_6e65],
            },
            CpuidLeaf {
                leaf: 1,
                subleaf: u32::MAX,
                regs: [0x00a2_0f10, 0x0001_0800, 0xfef8_3203, 0x178b_fbff],
            },
        ]))?;
        rec(LibxcRecord::X86MsrPolicy(vec![MsrEntry {
            index: 0xce,
            flags: 0,
            value: 0,
        }]))?;
        rec(LibxcRecord::StaticDataEnd)?;
        if pv {
            let last = u32::try_from(self.memory_pages.saturating_sub(1)).unwrap_or(u32::MAX);
            let frames = self.memory_pages.div_ceil(512).max(1);
            rec(LibxcRecord::X86PvP2mFrames(P2mFrames::new(
                0,
                last,
                (0..frames).map(|f| 0x10_0000 + f).collect(),
            )))?;
        }
        // Pass 0 sends every pfn, batch by batch, without building the whole list.
        let mut start = 0;
        while start < self.memory_pages {
            let end = (start + MAX_BATCH_PFNS as u64).min(self.memory_pages);
            let batch: Vec<u64> = (start..end).collect();
            rec(LibxcRecord::PageData(self.page_batch(&batch, 0)))?;
            start = end;
        }
        for (pass, pfns) in self.dirty_passes.iter().enumerate() {
            let mut sorted = pfns.clone();
            sorted.sort_unstable();
            sorted.dedup();
            for batch in sorted.chunks(MAX_BATCH_PFNS) {
                rec(LibxcRecord::PageData(self.page_batch(batch, pass + 1)))?;
            }
        }
        rec(LibxcRecord::X86TscInfo(TscInfo::new(
            0,
            2_000_000,
            1_000_000_000,
            1,
        )))?;
        if pv {
            rec(LibxcRecord::SharedInfo(Bytes::from(vec![0x5a; PAGE_BYTES])))?;
            for vcpu in 0..self.vcpus {
                let fill = u8::try_from(vcpu % 251).unwrap_or(0);
                let blob = |len: usize| Bytes::from(vec![fill; len]);
                rec(LibxcRecord::X86PvVcpuBasic(Some(PvVcpu::new(
                    vcpu,
                    blob(0x1430),
                ))))?;
                rec(LibxcRecord::X86PvVcpuExtended(Some(PvVcpu::new(
                    vcpu,
                    blob(128),
                ))))?;
                rec(LibxcRecord::X86PvVcpuXsave(Some(PvVcpu::new(
                    vcpu,
                    blob(832),
                ))))?;
                rec(LibxcRecord::X86PvVcpuMsrs(Some(PvVcpu::new(
                    vcpu,
                    blob(16),
                ))))?;
            }
        } else {
            rec(LibxcRecord::HvmParams(Some(HvmParams::new(vec![
                (1, 0xfeffc),
                (5, 0xfeff0),
                (6, 0xfeff1),
                (17, 0xfeffd),
            ]))))?;
            let context_len = 1024 + 64 * self.vcpus as usize;
            rec(LibxcRecord::HvmContext(Bytes::from(vec![
                0x11;
                context_len
            ])))?;
        }
        rec(LibxcRecord::End)?;
        if !pv {
            let keys: &'static [u8] = b"physmap/f0000000/start_addr\x00f0000000\x00\
                physmap/f0000000/size\x00800000\x00physmap/f0000000/name\x00vga.vram\x00";
            push(Item::Libxl(LibxlRecord::EmulatorXenstoreData(
                EmulatorRecord::qemu_upstream(Bytes::from_static(keys)),
            )))?;
            let mut qemu = b"QEVM\x00\x00\x00\x03".to_vec();
            qemu.resize(5000, 0x33);
            push(Item::Libxl(LibxlRecord::EmulatorContext(
                EmulatorRecord::qemu_upstream(Bytes::from(qemu)),
            )))?;
        }
        push(Item::Libxl(LibxlRecord::End))
    }

    /// One PAGE_DATA record: PV guests have a page table every 64 pages and the last page
    /// ballooned out (no data); each page holds its pfn and the pass number.
    fn page_batch(&self, pfns: &[u64], pass: usize) -> PageData {
        let pv = self.domain_type == DomainType::X86Pv;
        let words: Vec<PfnWord> = pfns
            .iter()
            .map(|&pfn| {
                let page_type = if pv && pfn + 1 == self.memory_pages && pfn > 0 {
                    PageType::Invalid
                } else if pv && pfn % 64 == 1 {
                    PageType::PageTable {
                        level: 1,
                        pinned: pfn % 128 == 1,
                    }
                } else {
                    PageType::Normal
                };
                PfnWord::new(pfn, page_type)
            })
            .collect();
        let data: Vec<u64> = words
            .iter()
            .filter(|w| w.page_type().is_some_and(PageType::has_data))
            .map(|w| w.pfn())
            .collect();
        let mut payload = BytesMut::with_capacity(data.len() * PAGE_BYTES);
        for pfn in data {
            payload.put_u64_le(pfn);
            payload.put_bytes(u8::try_from(pass % 256).unwrap_or(0), PAGE_BYTES - 8);
        }
        PageData::new(words, payload.freeze())
    }
}
