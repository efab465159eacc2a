//! The real Xen 4.17 captures (tests/data/xen-real, see its README): an `xl save` file of a
//! 32 MiB PV guest and the sender-to-receiver bytes of a live `xl migrate` of a 64 MiB PV guest.
//! Expected figures come from the files captured with them (guest configs, xl's logs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bytes::Bytes;
use xen_core::stream::{
    Item, Layer, LibxcRecord, Located, ParseOptions, StreamParser, XL_GO_MESSAGE, analyze_bytes,
    analyze_reader, encode, relay,
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/xen-real")
        .join(name)
}

fn unzstd(name: &str) -> Bytes {
    Bytes::from(test_support::captures::unzstd(&data(name)))
}

fn save_file() -> &'static Bytes {
    static DATA: OnceLock<Bytes> = OnceLock::new();
    DATA.get_or_init(|| unzstd("sv32.xlsave.zst"))
}

fn migration() -> &'static Bytes {
    static DATA: OnceLock<Bytes> = OnceLock::new();
    DATA.get_or_init(|| unzstd("s2r.bin.zst"))
}

/// `memory = N` (MiB) of an xl.cfg, as 4 KiB pages.
fn cfg_memory_pages(name: &str) -> u64 {
    let text = std::fs::read_to_string(data(name)).unwrap();
    let line = text.lines().find(|l| l.starts_with("memory")).unwrap();
    let mib: u64 = line.split('=').nth(1).unwrap().trim().parse().unwrap();
    mib * 256
}

fn cfg_value(name: &str, key: &str) -> String {
    let text = std::fs::read_to_string(data(name)).unwrap();
    let line = text
        .lines()
        .find(|l| l.split('=').next().unwrap().trim() == key)
        .unwrap();
    line.split('=')
        .nth(1)
        .unwrap()
        .trim()
        .trim_matches('"')
        .to_string()
}

fn items(bytes: &Bytes, options: ParseOptions) -> Vec<Located> {
    let mut parser = StreamParser::new(options);
    let mut items = Vec::new();
    parser.feed_bytes(bytes, &mut |i| items.push(i)).unwrap();
    parser.finish().unwrap();
    items
}

#[test]
fn test_xl_save_file_verifies_and_matches_the_guest() {
    let bytes = save_file();
    assert_eq!(bytes.len(), 33_632_267, "size in the capture README");
    let analysis = analyze_bytes(bytes);
    assert!(analysis.report.ok, "{:#?}", analysis.report.problems);
    assert_eq!(analysis.report.trailing_bytes, 0);
    let s = &analysis.summary;
    let guest = s.guest.as_ref().unwrap();
    assert_eq!(
        guest.name.as_deref(),
        Some(cfg_value("guest-sv32.cfg", "name").as_str())
    );
    assert_eq!(guest.guest_type.as_deref(), Some("pv"));
    assert_eq!(
        guest.vcpus.unwrap().to_string(),
        cfg_value("guest-sv32.cfg", "vcpus")
    );
    assert_eq!(
        guest.memory_pages(),
        Some(cfg_memory_pages("guest-sv32.cfg"))
    );
    assert_eq!(s.domain_type_name(), Some("x86 PV"));
    let libxc = s.libxc.as_ref().unwrap();
    assert_eq!(
        (libxc.version, libxc.saved_on_xen.as_deref()),
        (3, Some("4.17"))
    );
    assert_eq!(
        s.xl.as_ref().unwrap().optional_data_len,
        843,
        "xl's info 0x3/0x0/843"
    );
    // `xl save` is not live: one pass, "Frames: 8192/8192" in xl's log.
    let log = std::fs::read_to_string(data("xl-save.sv32.log")).unwrap();
    let frames = log
        .lines()
        .filter_map(|l| l.strip_prefix("xc: progress: Frames: "))
        .next_back()
        .unwrap();
    let total: u64 = frames
        .split('/')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(s.iterations.len(), 1);
    assert_eq!(s.iterations[0].pfns, total);
    assert_eq!(total, cfg_memory_pages("guest-sv32.cfg"));
    assert_eq!(s.pv_vcpus, 1);
    assert_eq!(s.totals.stream_end_offset, Some(bytes.len() as u64));
}

#[test]
fn test_live_migration_capture_verifies_with_passes_and_go_message() {
    let bytes = migration();
    assert_eq!(bytes.len(), 71_525_314, "size in the capture README");
    let analysis = analyze_bytes(bytes);
    assert!(analysis.report.ok, "{:#?}", analysis.report.problems);
    assert!(analysis.report.trailing_is_xl_go);
    assert!(
        analysis.report.warnings.is_empty(),
        "{:#?}",
        analysis.report.warnings
    );
    let s = &analysis.summary;
    assert!(s.totals.trailing_is_xl_go);
    assert_eq!(
        s.totals.stream_end_offset,
        Some((bytes.len() - XL_GO_MESSAGE.len()) as u64)
    );
    let guest = s.guest.as_ref().unwrap();
    assert_eq!(
        guest.name.as_deref(),
        Some(cfg_value("guest-web1.cfg", "name").as_str())
    );
    assert_eq!(
        guest.memory_pages(),
        Some(cfg_memory_pages("guest-web1.cfg"))
    );
    // Live: a full first pass over every page of the guest, then dirty passes.
    assert_eq!(s.first_pass_pfns(), cfg_memory_pages("guest-web1.cfg"));
    assert!(s.iterations.len() >= 2, "{:#?}", s.iterations);
    assert!(
        s.iterations[1..]
            .iter()
            .all(|i| i.pfns < s.iterations[0].pfns)
    );
    let pfns: u64 = s.iterations.iter().map(|i| i.pfns).sum();
    assert_eq!(pfns, s.totals.pfns);
}

#[test]
fn test_real_streams_round_trip_byte_for_byte_through_the_writer() {
    for bytes in [save_file(), migration()] {
        let items: Vec<Item> = items(bytes, ParseOptions::keep_payloads())
            .into_iter()
            .map(|l| l.item)
            .collect();
        let written = encode(&items).unwrap();
        assert!(written == bytes[..], "re-encoded stream differs");
    }
}

#[test]
fn test_page_payloads_are_slices_of_the_input_not_copies() {
    let bytes = save_file();
    let range = bytes.as_ptr_range();
    let mut pages = 0;
    for located in items(bytes, ParseOptions::keep_payloads()) {
        if let Item::Libxc(LibxcRecord::PageData(page)) = located.item {
            let payload = page.payload.unwrap();
            if !payload.is_empty() {
                assert!(range.contains(&payload.as_ptr()));
                pages += payload.len() / 4096;
            }
        }
    }
    assert!(pages > 0);
}

#[test]
fn test_chunk_sizes_do_not_change_the_items() {
    let bytes = migration();
    let whole = items(bytes, ParseOptions::default());
    for chunk in [1usize, 7, 4093, 65536] {
        let mut parser = StreamParser::new(ParseOptions::default());
        let mut got = Vec::new();
        // One byte at a time over the first 3 MiB (the headers and the first batches), then
        // the chunk size; the whole stream for the others.
        let split = if chunk == 1 { 3 << 20 } else { 0 };
        for piece in bytes[..split].chunks(1) {
            parser.feed(piece, &mut |i| got.push(i)).unwrap();
        }
        for piece in bytes[split..].chunks(chunk.max(4096)) {
            parser.feed(piece, &mut |i| got.push(i)).unwrap();
        }
        parser.finish().unwrap();
        // Trailing bytes arrive per chunk; compare the stream proper and the total after it.
        let proper = |v: &[Located]| -> Vec<Located> {
            v.iter()
                .filter(|l| l.layer != Layer::AfterEnd)
                .cloned()
                .collect()
        };
        assert_eq!(proper(&got), proper(&whole), "chunk size {chunk}");
        let trailing: Vec<u8> = got
            .iter()
            .filter_map(|l| match &l.item {
                Item::Trailing(b) => Some(b.to_vec()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(trailing, XL_GO_MESSAGE);
    }
}

#[test]
fn test_relay_passes_the_migration_through_byte_exact() {
    let bytes = migration();
    let mut out = Vec::new();
    let mut records = 0;
    let report = relay(&bytes[..], &mut out, |event| {
        if let xen_core::stream::RelayEvent::Item(located) = event {
            records += usize::from(located.frame.is_some());
        }
    })
    .unwrap();
    assert!(out == bytes[..]);
    assert_eq!(report.bytes, bytes.len() as u64);
    assert_eq!(report.parse_error, None);
    assert_eq!(
        report.stream_end_offset,
        Some((bytes.len() - XL_GO_MESSAGE.len()) as u64)
    );
    let parsed = items(bytes, ParseOptions::default());
    assert_eq!(records, parsed.iter().filter(|l| l.frame.is_some()).count());
}

#[test]
fn test_reader_and_memory_analyses_agree() {
    let bytes = save_file();
    let from_reader = analyze_reader(&bytes[..], "sv32.xlsave").unwrap();
    assert_eq!(from_reader, analyze_bytes(bytes));
}

#[test]
fn test_receiver_to_sender_bytes_are_not_a_stream() {
    let r2s = std::fs::read(data("r2s.bin")).unwrap();
    let analysis = analyze_bytes(&Bytes::from(r2s));
    assert!(!analysis.report.ok);
    assert_eq!(analysis.report.problems[0].offset, 0);
    assert_eq!(analysis.report.problems[0].check, "format");
}
