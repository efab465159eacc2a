//! Streams built by the writer for PV and HVM guests: they verify, inspect as built, round trip,
//! and every truncation is reported at the byte where the input stops.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use xen_core::XenError;
use xen_core::stream::{
    DomainType, Item, Layer, LibxcRecord, LibxlRecord, Located, ParseOptions, StreamErrorKind,
    StreamParser, SyntheticGuest, analyze_bytes, encode,
};

fn parse_all(bytes: &[u8], options: ParseOptions) -> Result<Vec<Located>, XenError> {
    let mut parser = StreamParser::new(options);
    let mut items = Vec::new();
    parser.feed(bytes, &mut |i| items.push(i))?;
    parser.finish()?;
    Ok(items)
}

#[test]
fn test_pv_stream_verifies_and_inspects_as_built() {
    let guest = SyntheticGuest::pv("pv1", 3000, 2)
        .with_dirty_passes(vec![(0..400).map(|p| p * 7).collect(), vec![3, 2999]]);
    let bytes = Bytes::from(guest.encode().unwrap());
    let analysis = analyze_bytes(&bytes);
    assert!(analysis.report.ok, "{:#?}", analysis.report.problems);
    assert!(
        analysis.report.warnings.is_empty(),
        "{:#?}",
        analysis.report.warnings
    );
    let s = analysis.summary;
    assert_eq!(s.domain_type_name(), Some("x86 PV"));
    let guest_cfg = s.guest.as_ref().unwrap();
    assert_eq!(guest_cfg.name.as_deref(), Some("pv1"));
    assert_eq!(guest_cfg.memory_pages(), Some(3000));
    assert_eq!(guest_cfg.vcpus, Some(2));
    assert_eq!(s.pv_vcpus, 2);
    let per_pass: Vec<u64> = s.iterations.iter().map(|i| i.pfns).collect();
    assert_eq!(per_pass, [3000, 400, 2]);
    // The last pfn is ballooned out (sent without data) in every pass that includes it.
    assert_eq!(s.iterations[0].no_data_pfns, 1);
    assert_eq!(s.iterations[2].no_data_pfns, 1);
    assert_eq!(s.totals.data_pages * 4096, s.totals.page_data_bytes);
    assert_eq!(s.totals.stream_end_offset, Some(bytes.len() as u64));
    let page_records: u64 = s
        .records
        .iter()
        .filter(|r| r.layer == Layer::Libxc && r.name == "PAGE_DATA")
        .map(|r| r.count)
        .sum();
    assert_eq!(
        page_records,
        3 + 1 + 1,
        "3000 pfns in batches of 1024, then 400, then 2"
    );
}

#[test]
fn test_hvm_stream_with_xenstore_data_verifies() {
    // Upstream verify-stream-v2 rejects every non-empty EMULATOR_XENSTORE_DATA record under
    // Python 3; this stream has physmap keys and must pass.
    let guest = SyntheticGuest::hvm("hvm1", 1500, 4).with_dirty_passes(vec![vec![10, 11, 12]]);
    let items = guest.items();
    let xenstore = items
        .iter()
        .find_map(|i| match i {
            Item::Libxl(LibxlRecord::EmulatorXenstoreData(e)) => Some(e),
            _ => None,
        })
        .unwrap();
    assert_eq!(xenstore.xenstore_pairs().unwrap().len(), 3);
    let analysis = analyze_bytes(&Bytes::from(encode(&items).unwrap()));
    assert!(analysis.report.ok, "{:#?}", analysis.report.problems);
    let s = analysis.summary;
    assert_eq!(s.libxc.unwrap().domain_type, Some(DomainType::X86Hvm));
    assert_eq!(
        s.iterations.iter().map(|i| i.pfns).collect::<Vec<_>>(),
        [1500, 3]
    );
    assert!(s.records.iter().any(|r| r.name == "EMULATOR_CONTEXT"));
}

#[test]
fn test_bare_libxl_stream_without_xl_header_verifies() {
    let bytes = SyntheticGuest::pv("bare", 64, 1)
        .without_xl_header()
        .encode()
        .unwrap();
    assert_eq!(&bytes[..8], b"LibxlFmt");
    let analysis = analyze_bytes(&Bytes::from(bytes));
    assert!(analysis.report.ok, "{:#?}", analysis.report.problems);
    assert_eq!(analysis.summary.guest, None);
}

#[test]
fn test_write_then_read_gives_the_same_items() {
    for guest in [
        SyntheticGuest::pv("a", 2100, 3).with_dirty_passes(vec![vec![1, 2, 2050]]),
        SyntheticGuest::hvm("b", 700, 1),
    ] {
        let items = guest.items();
        let bytes = encode(&items).unwrap();
        let back: Vec<Item> = parse_all(&bytes, ParseOptions::keep_payloads())
            .unwrap()
            .into_iter()
            .map(|l| l.item)
            .collect();
        assert_eq!(back, items);
    }
}

#[test]
fn test_one_byte_at_a_time_gives_the_same_items() {
    let bytes = SyntheticGuest::hvm("tiny", 20, 1).encode().unwrap();
    let whole = parse_all(&bytes, ParseOptions::keep_payloads()).unwrap();
    let mut parser = StreamParser::new(ParseOptions::keep_payloads());
    let mut items = Vec::new();
    for byte in bytes.chunks(1) {
        parser.feed(byte, &mut |i| items.push(i)).unwrap();
    }
    parser.finish().unwrap();
    assert_eq!(items, whole);
}

#[test]
fn test_every_truncation_is_reported_where_the_input_ends() {
    for guest in [
        SyntheticGuest::pv("t", 3, 1),
        SyntheticGuest::hvm("t", 3, 1),
    ] {
        let bytes = guest.encode().unwrap();
        let items = parse_all(&bytes, ParseOptions::default()).unwrap();
        for len in 0..bytes.len() {
            let err = match parse_all(&bytes[..len], ParseOptions::default()) {
                Err(XenError::Stream(e)) => e,
                other => panic!("truncated at {len}: {other:?}"),
            };
            assert_eq!(err.offset, len as u64, "{err}");
            let StreamErrorKind::Truncated { started_at, .. } = err.kind else {
                panic!("truncated at {len}: {err}");
            };
            // The structure the first missing byte belongs to starts there.
            let containing = items
                .iter()
                .find(|l| l.offset <= len as u64 && (len as u64) < l.offset + l.wire_len)
                .unwrap();
            assert_eq!(started_at, containing.offset, "truncated at {len}: {err}");
        }
    }
}

#[test]
fn test_every_byte_flip_of_a_small_stream_gives_ok_or_a_located_error() {
    let bytes = SyntheticGuest::hvm("f", 2, 1).encode().unwrap();
    for i in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= [0x01u8, 0x80, 0xff][i % 3];
        let analysis = analyze_bytes(&Bytes::from(flipped));
        if let Some(e) = &analysis.error {
            assert!(e.offset <= bytes.len() as u64);
        }
        if let Some(p) = analysis.report.first_problem() {
            assert!(p.offset <= bytes.len() as u64);
        }
    }
}

#[test]
fn test_page_payload_round_trip_keeps_page_contents() {
    let guest = SyntheticGuest::pv("p", 130, 1);
    let bytes = guest.encode().unwrap();
    let items = parse_all(&bytes, ParseOptions::keep_payloads()).unwrap();
    let page = items
        .iter()
        .find_map(|l| match &l.item {
            Item::Libxc(LibxcRecord::PageData(p)) => Some(p),
            _ => None,
        })
        .unwrap();
    // Data page i belongs to the i-th data-carrying pfn; the synthetic guest writes the pfn
    // in each page's first 8 bytes.
    let data_pfns: Vec<u64> = page
        .pfns
        .iter()
        .filter(|w| w.page_type().unwrap().has_data())
        .map(|w| w.pfn())
        .collect();
    for (i, pfn) in data_pfns.iter().enumerate() {
        let content = page.page(i).unwrap();
        assert_eq!(u64::from_le_bytes(content[..8].try_into().unwrap()), *pfn);
    }
    assert_eq!(page.page(data_pfns.len()), None);
}

#[test]
fn test_fuzz_seed_files_are_the_writers_valid_streams() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/stream-seeds");
    let mut bare = SyntheticGuest::pv("seed-go", 1, 1)
        .without_xl_header()
        .encode()
        .unwrap();
    bare.extend_from_slice(xen_core::stream::XL_GO_MESSAGE);
    let expected = [
        (
            "pv-2pages.save",
            SyntheticGuest::pv("seed-pv", 2, 1)
                .with_dirty_passes(vec![vec![1]])
                .encode()
                .unwrap(),
        ),
        (
            "hvm-2pages.save",
            SyntheticGuest::hvm("seed-hvm", 2, 1).encode().unwrap(),
        ),
        ("pv-bare-libxl-go.bin", bare),
    ];
    for (name, bytes) in expected {
        let on_disk = std::fs::read(dir.join(name)).unwrap();
        assert!(on_disk == bytes, "{name} differs from the writer's output");
        let analysis = analyze_bytes(&Bytes::from(on_disk));
        assert!(
            analysis.report.ok,
            "{name}: {:#?}",
            analysis.report.problems
        );
    }
}

#[test]
fn test_checkpointed_stream_switches_layers_at_checkpoint_records() {
    // Remus/COLO: each libxc CHECKPOINT hands over to libxl records ending in CHECKPOINT_END,
    // then the next checkpoint's libxc records follow without a new LIBXC_CONTEXT.
    let mut items = SyntheticGuest::hvm("c", 4, 1).items();
    let end = items
        .iter()
        .position(|i| matches!(i, Item::Libxc(LibxcRecord::End)))
        .unwrap();
    let page = items
        .iter()
        .find(|i| matches!(i, Item::Libxc(LibxcRecord::PageData(_))))
        .unwrap()
        .clone();
    let checkpoint = [
        Item::Libxc(LibxcRecord::Checkpoint),
        Item::Libxl(LibxlRecord::CheckpointEnd),
        page,
        Item::Libxc(LibxcRecord::Checkpoint),
        Item::Libxl(LibxlRecord::CheckpointEnd),
    ];
    items.splice(end..end, checkpoint);
    let bytes = encode(&items).unwrap();
    let parsed = parse_all(&bytes, ParseOptions::keep_payloads()).unwrap();
    let layers: Vec<Layer> = parsed.iter().map(|l| l.layer).collect();
    let back: Vec<Item> = parsed.into_iter().map(|l| l.item).collect();
    assert_eq!(back, items);
    let at = layers.len() - 9; // then libxc END and three libxl records
    assert_eq!(
        &layers[at..at + 5],
        [
            Layer::Libxc,
            Layer::Libxl,
            Layer::Libxc,
            Layer::Libxc,
            Layer::Libxl
        ]
    );
    let analysis = analyze_bytes(&Bytes::from(bytes));
    assert!(analysis.report.ok, "{:#?}", analysis.report.problems);
    assert_eq!(
        analysis.summary.iterations.len(),
        2,
        "a new checkpoint starts a new pass"
    );
}
