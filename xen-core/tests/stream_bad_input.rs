//! Bad input: wrong magic and versions, absurd lengths, unknown record types, records in the
//! wrong layer, and the verifier's checks, each reported at the offending byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Offsets of test streams of a few KiB: u64 to usize cannot truncate.
#![allow(clippy::cast_possible_truncation)]

use bytes::Bytes;
use xen_core::XenError;
use xen_core::stream::{
    Analysis, Item, Layer, LibxcRecord, LibxlRecord, Located, PageData, PageType, ParseOptions,
    PfnWord, StreamError, StreamErrorKind, StreamParser, SyntheticGuest, XlHeader,
    XlMandatoryFlags, analyze_bytes, encode,
};

fn pv() -> Vec<u8> {
    SyntheticGuest::pv("bad", 40, 1).encode().unwrap()
}

fn items_of(bytes: &[u8]) -> Vec<Located> {
    let mut parser = StreamParser::new(ParseOptions::default());
    let mut items = Vec::new();
    parser.feed(bytes, &mut |i| items.push(i)).unwrap();
    items
}

fn parse_error(bytes: &[u8]) -> StreamError {
    let mut parser = StreamParser::new(ParseOptions::default());
    let result = parser
        .feed(bytes, &mut |_| {})
        .and_then(|()| parser.finish());
    match result {
        Err(XenError::Stream(e)) => e,
        other => panic!("expected a stream error, got {other:?}"),
    }
}

/// Offset of the first item matching `pred`.
fn offset_of(bytes: &[u8], pred: impl Fn(&Item) -> bool) -> usize {
    items_of(bytes)
        .iter()
        .find(|l| pred(&l.item))
        .unwrap()
        .offset as usize
}

fn analyze(bytes: Vec<u8>) -> Analysis {
    analyze_bytes(&Bytes::from(bytes))
}

#[test]
fn test_wrong_xl_magic_is_reported_at_the_differing_byte() {
    let mut bytes = pv();
    bytes[20] ^= 0x20;
    let e = parse_error(&bytes);
    assert_eq!((e.offset, e.layer), (20, Layer::Xl));
    assert!(matches!(e.kind, StreamErrorKind::BadMagic { .. }));
}

#[test]
fn test_foreign_endian_xl_header_and_unknown_mandatory_flags() {
    let mut bytes = pv();
    bytes[32..36].copy_from_slice(&0x0102_0304u32.to_be_bytes());
    let e = parse_error(&bytes);
    assert_eq!(e.offset, 32);
    assert!(matches!(e.kind, StreamErrorKind::ForeignEndian { .. }));

    let mut bytes = pv();
    bytes[36] |= 0x10;
    let e = parse_error(&bytes);
    assert_eq!(e.offset, 36);
    assert_eq!(
        e.kind,
        StreamErrorKind::UnknownMandatoryFlags { flags: 0x10 }
    );
}

#[test]
fn test_wrong_versions_are_rejected_at_the_version_field() {
    let bytes = pv();
    let libxl = offset_of(&bytes, |i| matches!(i, Item::LibxlHeader(_)));
    let mut v3 = bytes.clone();
    v3[libxl + 11] = 3;
    let e = parse_error(&v3);
    assert_eq!(e.offset as usize, libxl + 8);
    assert_eq!(
        e.kind,
        StreamErrorKind::UnsupportedVersion {
            what: "libxl stream",
            found: 3
        }
    );
    let image = offset_of(&bytes, |i| matches!(i, Item::ImageHeader(_)));
    for version in [1u8, 4] {
        let mut other = bytes.clone();
        other[image + 15] = version;
        let e = parse_error(&other);
        assert_eq!((e.offset as usize, e.layer), (image + 12, Layer::Libxc));
    }
}

#[test]
fn test_gigabyte_lengths_are_refused_before_allocating() {
    // xl optional data
    let mut bytes = pv();
    bytes[44..48].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let e = parse_error(&bytes);
    assert_eq!(e.offset, 44);
    assert!(matches!(e.kind, StreamErrorKind::TooLong { .. }));
    // a libxc record body of 3 GiB
    let bytes = pv();
    let rec = offset_of(&bytes, |i| {
        matches!(i, Item::Libxc(LibxcRecord::X86PvInfo(_)))
    });
    let mut huge = bytes.clone();
    huge[rec + 4..rec + 8].copy_from_slice(&0xc000_0000u32.to_le_bytes());
    let e = parse_error(&huge);
    assert_eq!(e.offset as usize, rec + 4);
    assert!(matches!(
        e.kind,
        StreamErrorKind::TooLong {
            length_bytes: 0xc000_0000,
            ..
        }
    ));
    // a PAGE_DATA count that does not fit its length
    let page = offset_of(&bytes, |i| {
        matches!(i, Item::Libxc(LibxcRecord::PageData(_)))
    });
    let mut count = bytes.clone();
    count[page + 8..page + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = parse_error(&count);
    assert_eq!(e.offset as usize, page + 4);
    assert!(matches!(
        e.kind,
        StreamErrorKind::BadRecordLength {
            record: "PAGE_DATA",
            ..
        }
    ));
}

#[test]
fn test_unknown_record_types_mandatory_optional_and_libxl() {
    let bytes = pv();
    let rec = offset_of(&bytes, |i| {
        matches!(i, Item::Libxc(LibxcRecord::X86TscInfo(_)))
    });
    let mut mandatory = bytes.clone();
    mandatory[rec] = 0x42;
    let e = parse_error(&mandatory);
    assert_eq!((e.offset as usize, e.layer), (rec, Layer::Libxc));
    assert!(matches!(
        e.kind,
        StreamErrorKind::UnknownRecord {
            record_type: 0x42,
            ..
        }
    ));

    // Optional (bit 31): restore skips it; so does the parser, and verify warns.
    let mut optional = bytes.clone();
    optional[rec] = 0x42;
    optional[rec + 3] = 0x80;
    let analysis = analyze(optional);
    assert!(analysis.report.ok, "{:#?}", analysis.report.problems);
    let w = &analysis.report.warnings[0];
    assert_eq!((w.offset as usize, w.check), (rec, "unknown-optional"));

    // libxl has no optional bit: every unknown type is fatal.
    let end = bytes.len() - 8;
    let mut libxl = bytes.clone();
    libxl[end + 3] = 0x80;
    let e = parse_error(&libxl);
    assert_eq!((e.offset as usize, e.layer), (end, Layer::Libxl));
}

#[test]
fn test_libxc_record_in_the_libxl_layer_is_named() {
    let mut bytes = pv();
    let end = bytes.len() - 8;
    bytes[end] = 0x10; // STATIC_DATA_END where the libxl END belongs
    let e = parse_error(&bytes);
    assert_eq!(e.offset as usize, end);
    assert_eq!(
        e.kind,
        StreamErrorKind::UnknownRecord {
            record_type: 0x10,
            other_layer_name: Some("STATIC_DATA_END")
        }
    );
    assert!(e.to_string().contains("other layer"));
}

#[test]
fn test_unknown_format_and_legacy_streams() {
    let e = parse_error(b"GIF89a..........");
    assert_eq!((e.offset, e.kind), (0, StreamErrorKind::UnknownFormat));
    let e = parse_error(b"");
    assert!(matches!(e.kind, StreamErrorKind::Truncated { .. }));

    // An xl header without the STREAMv2 flag: a legacy stream follows.
    let mut header = XlHeader::with_json_config("{}");
    header.mandatory_flags = XlMandatoryFlags::JSON;
    let mut bytes = encode(&[Item::XlHeader(header)]).unwrap();
    bytes.extend_from_slice(&8192u64.to_le_bytes());
    bytes.extend_from_slice(&[0xab; 100]);
    let analysis = analyze(bytes);
    assert!(analysis.summary.legacy_v1);
    assert_eq!(analysis.report.problems.len(), 1);
    assert_eq!(analysis.report.problems[0].check, "legacy-stream");

    // A bare legacy image starts with its p2m size.
    let mut bare = 8192u64.to_le_bytes().to_vec();
    bare.extend_from_slice(&[0; 64]);
    let analysis = analyze(bare);
    assert!(analysis.summary.legacy_v1);
    assert_eq!(analysis.report.problems[0].offset, 0);
}

#[test]
fn test_verifier_reports_padding_and_page_problems_at_their_bytes() {
    // Non-zero padding after X86_PV_INFO's... its body is 8 bytes: use the P2M frames record
    // of a guest with an odd frame count? Every body of the synthetic guest is 8-aligned except
    // the HVM xenstore data; flip a padding byte there.
    let guest = SyntheticGuest::hvm("pad", 4, 1);
    let mut bytes = guest.encode().unwrap();
    let items = items_of(&bytes);
    let xs = items
        .iter()
        .find(|l| matches!(l.item, Item::Libxl(LibxlRecord::EmulatorXenstoreData(_))))
        .unwrap();
    let frame = xs.frame.unwrap();
    assert_ne!(frame.body_len % 8, 0);
    let pad_at = xs.offset as usize + 8 + frame.body_len as usize;
    bytes[pad_at] = 1;
    let analysis = analyze(bytes);
    let p = analysis.report.first_problem().unwrap();
    assert_eq!((p.offset as usize, p.check), (pad_at, "padding"));
}

/// A PV stream whose first PAGE_DATA record is replaced.
fn with_first_page(page: PageData) -> Vec<u8> {
    let mut items = SyntheticGuest::pv("pg", 40, 1).items();
    let slot = items
        .iter()
        .position(|i| matches!(i, Item::Libxc(LibxcRecord::PageData(_))))
        .unwrap();
    items[slot] = Item::Libxc(LibxcRecord::PageData(page));
    encode(&items).unwrap()
}

fn page_at(bytes: &[u8]) -> usize {
    offset_of(bytes, |i| {
        matches!(i, Item::Libxc(LibxcRecord::PageData(_)))
    })
}

#[test]
fn test_page_data_consistency_checks() {
    let one = Bytes::from(vec![0u8; 4096]);
    // Reserved bits 52-59 in the second pfn word.
    let words = vec![PfnWord::new(1, PageType::Normal), PfnWord(2 | 1 << 55)];
    let bytes = with_first_page(PageData::new(words, Bytes::from(vec![0u8; 8192])));
    let p = analyze(bytes.clone()).report.problems[0].clone();
    assert_eq!(
        (p.offset as usize, p.check),
        (page_at(&bytes) + 16 + 8, "page-reserved-bits")
    );

    // The same pfn twice in one record.
    let words = vec![
        PfnWord::new(7, PageType::Invalid),
        PfnWord::new(7, PageType::Invalid),
    ];
    let bytes = with_first_page(PageData::new(words, Bytes::new()));
    let p = analyze(bytes.clone()).report.problems[0].clone();
    assert_eq!(
        (p.offset as usize, p.check),
        (page_at(&bytes) + 16 + 8, "page-duplicate")
    );

    // A pfn beyond the guest's P2M (40 pages: last pfn 39).
    let bytes = with_first_page(PageData::new(vec![PfnWord::new(40, PageType::Normal)], one));
    let p = analyze(bytes.clone()).report.problems[0].clone();
    assert_eq!(
        (p.offset as usize, p.check),
        (page_at(&bytes) + 16, "pfn-range")
    );

    // Allocate-only pages belong to converted streams only.
    let bytes = with_first_page(PageData::new(
        vec![PfnWord::new(3, PageType::AllocateOnly)],
        Bytes::new(),
    ));
    let p = analyze(bytes.clone()).report.problems[0].clone();
    assert_eq!(p.check, "page-type");

    // A reserved type nibble: the parser cannot size the payload; fatal at the word.
    let bytes = with_first_page(PageData::new(
        vec![PfnWord::new(3, PageType::Invalid)],
        Bytes::new(),
    ));
    let at = page_at(&bytes);
    let mut reserved = bytes.clone();
    reserved[at + 16 + 7] = 0x60;
    let e = parse_error(&reserved);
    assert_eq!(e.offset as usize, at + 16);
    assert!(matches!(
        e.kind,
        StreamErrorKind::ReservedPageType { index: 0, .. }
    ));
}

#[test]
fn test_order_rules() {
    // PAGE_DATA before STATIC_DATA_END in a v3 stream.
    let mut items = SyntheticGuest::hvm("o", 8, 1).items();
    let sde = items
        .iter()
        .position(|i| matches!(i, Item::Libxc(LibxcRecord::StaticDataEnd)))
        .unwrap();
    items.remove(sde);
    let bytes = encode(&items).unwrap();
    let report = analyze(bytes.clone()).report;
    assert_eq!(report.problems[0].check, "order");
    assert_eq!(report.problems[0].offset as usize, page_at(&bytes));

    // Emulator records in a PV guest's stream; HVM records in PV.
    let mut items = SyntheticGuest::pv("o", 8, 1).items();
    let end = items.len() - 1;
    items.insert(
        end,
        Item::Libxl(LibxlRecord::EmulatorContext(
            xen_core::stream::EmulatorRecord::qemu_upstream(Bytes::from_static(b"x")),
        )),
    );
    let report = analyze(encode(&items).unwrap()).report;
    assert!(report.problems.iter().any(|p| p.check == "guest-type"));

    // No libxl END at all: the stream ends between records.
    let bytes = pv();
    let cut = bytes.len() - 8;
    let report = analyze(bytes[..cut].to_vec()).report;
    let p = report.first_problem().unwrap();
    assert_eq!((p.offset as usize, p.check), (cut, "format"));
    assert!(p.message.contains("libxl END"));
}

#[test]
fn test_bytes_after_end_are_a_warning_unless_they_are_xl_go() {
    let mut bytes = pv();
    let end = bytes.len();
    bytes.extend_from_slice(b"junk");
    let report = analyze(bytes).report;
    assert!(report.ok);
    assert_eq!(
        (report.warnings[0].offset as usize, report.warnings[0].check),
        (end, "trailing")
    );
    assert_eq!(report.trailing_bytes, 4);

    let mut bytes = pv();
    bytes.extend_from_slice(xen_core::stream::XL_GO_MESSAGE);
    let report = analyze(bytes).report;
    assert!(report.ok && report.warnings.is_empty() && report.trailing_is_xl_go);
}

#[test]
fn test_bad_xenstore_data_and_config_are_problems() {
    let mut items = SyntheticGuest::hvm("x", 8, 1).items();
    for item in &mut items {
        if let Item::Libxl(LibxlRecord::EmulatorXenstoreData(e)) = item {
            e.data = Bytes::from_static(b"key\0value\0odd");
        }
        if let Item::XlHeader(h) = item {
            h.config = Some(Bytes::from_static(b"{not json\0"));
        }
    }
    let report = analyze(encode(&items).unwrap()).report;
    let checks: Vec<&str> = report.problems.iter().map(|p| p.check).collect();
    assert_eq!(checks, ["xl-config-json", "xenstore-data"]);
    assert_eq!(report.problems[0].offset, 52);
}
