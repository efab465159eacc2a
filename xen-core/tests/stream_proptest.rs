//! Properties: write then read gives back the same records; chunk boundaries never change the
//! result; damaged input never panics and errors stay within the input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use proptest::prelude::*;
use xen_core::stream::{
    CpuidLeaf, DomainHeader, DomainType, EmulatorId, EmulatorRecord, HvmParams, ImageHeader, Item,
    LibxcRecord, LibxcRecordType, LibxlHeader, LibxlOptions, LibxlRecord, Located, MsrEntry,
    P2mFrames, PageData, PageType, ParseOptions, PfnWord, PvInfo, PvVcpu, StreamParser,
    SyntheticGuest, TscInfo, XlHeader, analyze_bytes, encode,
};

fn blob(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn page_type() -> impl Strategy<Value = PageType> {
    (0u8..16)
        .prop_filter("reserved nibble", |n| !(5..=8).contains(n))
        .prop_map(|n| PageType::from_nibble(n).unwrap())
}

fn page_data() -> impl Strategy<Value = PageData> {
    prop::collection::vec((0u64..1 << 40, page_type(), any::<u8>()), 1..6).prop_map(|words| {
        let pfns: Vec<PfnWord> = words.iter().map(|(p, t, _)| PfnWord::new(*p, *t)).collect();
        let mut payload = Vec::new();
        for (_, t, fill) in &words {
            if t.has_data() {
                payload.extend(std::iter::repeat_n(*fill, 4096));
            }
        }
        PageData::new(pfns, Bytes::from(payload))
    })
}

fn vcpu() -> impl Strategy<Value = Option<PvVcpu>> {
    prop::option::of((0u32..4096, blob(40)).prop_map(|(id, ctx)| PvVcpu::new(id, ctx)))
}

/// Any libxc record but END and CHECKPOINT (which hand control back to libxl).
fn libxc_record() -> impl Strategy<Value = LibxcRecord> {
    prop_oneof![
        page_data().prop_map(LibxcRecord::PageData),
        (any::<u8>(), any::<u8>()).prop_map(|(w, l)| LibxcRecord::X86PvInfo(PvInfo::new(w, l))),
        (
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec(any::<u64>(), 0..5)
        )
            .prop_map(|(s, e, f)| LibxcRecord::X86PvP2mFrames(P2mFrames::new(s, e, f))),
        vcpu().prop_map(LibxcRecord::X86PvVcpuBasic),
        vcpu().prop_map(LibxcRecord::X86PvVcpuExtended),
        vcpu().prop_map(LibxcRecord::X86PvVcpuXsave),
        vcpu().prop_map(LibxcRecord::X86PvVcpuMsrs),
        any::<u8>().prop_map(|b| LibxcRecord::SharedInfo(Bytes::from(vec![b; 4096]))),
        (any::<u32>(), any::<u32>(), any::<u64>(), any::<u32>())
            .prop_map(|(m, k, n, i)| LibxcRecord::X86TscInfo(TscInfo::new(m, k, n, i))),
        blob(50).prop_map(LibxcRecord::HvmContext),
        prop::option::of(prop::collection::vec((any::<u64>(), any::<u64>()), 0..4))
            .prop_map(|p| LibxcRecord::HvmParams(p.map(HvmParams::new))),
        blob(20).prop_map(LibxcRecord::Toolstack),
        Just(LibxcRecord::Verify),
        Just(LibxcRecord::StaticDataEnd),
        prop::collection::vec(any::<u64>(), 0..5).prop_map(LibxcRecord::CheckpointDirtyPfnList),
        prop::collection::vec(any::<[u32; 6]>(), 0..4).prop_map(|l| LibxcRecord::X86CpuidPolicy(
            l.iter()
                .map(|w| CpuidLeaf {
                    leaf: w[0],
                    subleaf: w[1],
                    regs: [w[2], w[3], w[4], w[5]],
                })
                .collect()
        )),
        prop::collection::vec((any::<u32>(), any::<u32>(), any::<u64>()), 0..4).prop_map(|e| {
            LibxcRecord::X86MsrPolicy(
                e.iter()
                    .map(|&(index, flags, value)| MsrEntry {
                        index,
                        flags,
                        value,
                    })
                    .collect(),
            )
        }),
        (0x8000_0013u32.., blob(30)).prop_map(|(t, body)| LibxcRecord::Unknown {
            record_type: LibxcRecordType(t),
            body
        }),
    ]
}

fn emulator() -> impl Strategy<Value = EmulatorRecord> {
    (any::<u32>(), any::<u32>(), blob(40)).prop_map(|(id, index, data)| {
        let mut e = EmulatorRecord::qemu_upstream(data);
        e.emulator_id = EmulatorId(id);
        e.index = index;
        e
    })
}

/// Any libxl record that does not change the layer.
fn libxl_record() -> impl Strategy<Value = LibxlRecord> {
    prop_oneof![
        emulator().prop_map(LibxlRecord::EmulatorXenstoreData),
        emulator().prop_map(LibxlRecord::EmulatorContext),
        Just(LibxlRecord::CheckpointEnd),
        any::<u32>().prop_map(|control_id| LibxlRecord::CheckpointState { control_id }),
    ]
}

fn stream() -> impl Strategy<Value = Vec<Item>> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(libxc_record(), 0..12),
        prop::collection::vec(libxl_record(), 0..4),
    )
        .prop_map(|(xl, hvm, libxc, libxl)| {
            let mut items = Vec::new();
            if xl {
                items.push(Item::XlHeader(XlHeader::with_json_config(
                    r#"{"c_info":{}}"#,
                )));
            }
            items.push(Item::LibxlHeader(LibxlHeader::new(LibxlOptions::empty())));
            items.push(Item::Libxl(LibxlRecord::LibxcContext));
            items.push(Item::ImageHeader(ImageHeader::new(3)));
            let kind = if hvm {
                DomainType::X86Hvm
            } else {
                DomainType::X86Pv
            };
            items.push(Item::DomainHeader(DomainHeader::new(kind, 4, 17)));
            items.extend(libxc.into_iter().map(Item::Libxc));
            items.push(Item::Libxc(LibxcRecord::End));
            items.extend(libxl.into_iter().map(Item::Libxl));
            items.push(Item::Libxl(LibxlRecord::End));
            items
        })
}

fn parse_chunks(bytes: &[u8], cuts: &[usize], options: ParseOptions) -> Vec<Located> {
    let mut parser = StreamParser::new(options);
    let mut items = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let cut = cut.clamp(start, bytes.len());
        parser
            .feed(&bytes[start..cut], &mut |i| items.push(i))
            .unwrap();
        start = cut;
    }
    parser.finish().unwrap();
    items
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn prop_write_then_read_gives_the_same_records(items in stream()) {
        let bytes = encode(&items).unwrap();
        let back: Vec<Item> = parse_chunks(&bytes, &[], ParseOptions::keep_payloads())
            .into_iter()
            .map(|l| l.item)
            .collect();
        prop_assert_eq!(back, items);
    }

    #[test]
    fn prop_synthetic_guests_round_trip_and_verify(
        hvm in any::<bool>(),
        pages in 1u64..2500,
        vcpus in 1u32..4,
        passes in prop::collection::vec(prop::collection::vec(0u64..2500, 1..40), 0..3),
    ) {
        let passes: Vec<Vec<u64>> = passes
            .into_iter()
            .map(|p| p.into_iter().map(|pfn| pfn % pages).collect())
            .collect();
        let guest = if hvm {
            SyntheticGuest::hvm("g", pages, vcpus)
        } else {
            SyntheticGuest::pv("g", pages, vcpus)
        }
        .with_dirty_passes(passes);
        let items = guest.items();
        let bytes = encode(&items).unwrap();
        let back: Vec<Item> = parse_chunks(&bytes, &[], ParseOptions::keep_payloads())
            .into_iter()
            .map(|l| l.item)
            .collect();
        prop_assert_eq!(&back, &items);
        let analysis = analyze_bytes(&Bytes::from(bytes));
        prop_assert!(analysis.report.ok, "{:?}", analysis.report.problems);
        prop_assert_eq!(analysis.summary.first_pass_pfns(), pages);
    }

    #[test]
    fn prop_chunk_boundaries_never_change_the_items(
        items in stream(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let bytes = encode(&items).unwrap();
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        for options in [ParseOptions::keep_payloads(), ParseOptions::default()] {
            let whole = parse_chunks(&bytes, &[], options);
            prop_assert_eq!(parse_chunks(&bytes, &cuts, options), whole);
        }
    }

    #[test]
    fn prop_damaged_streams_never_panic(
        items in stream(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = encode(&items).unwrap();
        for (at, mask) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let len = bytes.len() as u64;
        let analysis = analyze_bytes(&Bytes::from(bytes));
        for p in &analysis.report.problems {
            prop_assert!(p.offset <= len);
        }
    }

    #[test]
    fn prop_arbitrary_bytes_after_a_valid_start_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..600),
        prefix in 0usize..4,
    ) {
        let starts: [&[u8]; 4] = [b"", b"LibxlFmt\0\0\0\x02\0\0\0\0", &[0xff; 8], b"Xen saved domain, xl format\n \0 \r"];
        let mut bytes = starts[prefix].to_vec();
        bytes.extend_from_slice(&tail);
        let _ = analyze_bytes(&Bytes::from(bytes));
    }
}
