//! Any bytes as a migration stream: items or a located error, never a panic; the error is
//! within the input; feeding the same bytes in small chunks gives the same result; verify and
//! inspect run on whatever was parsed.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use xen_core::stream::{Item, Located, ParseOptions, StreamParser, analyze_bytes};

fn parse(data: &[u8], chunk: usize) -> (Vec<Located>, Option<String>) {
    let mut parser = StreamParser::new(ParseOptions::keep_payloads());
    let mut items = Vec::new();
    let mut result = Ok(());
    for piece in data.chunks(chunk) {
        result = parser.feed(piece, &mut |i| items.push(i));
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = parser.finish();
    }
    (items, result.err().map(|e| e.to_string()))
}

fuzz_target!(|data: &[u8]| {
    let (items, error) = parse(data, data.len().max(1));
    let (chunked, chunked_error) = parse(data, 7);
    // Unframed bytes (a legacy body, bytes after END) arrive per chunk: compare their
    // concatenation, and every framed item one for one.
    let split = |v: &[Located]| {
        let mut framed = Vec::new();
        let mut opaque = Vec::new();
        for l in v {
            match &l.item {
                Item::Trailing(b) | Item::LegacyData(Some(b)) => opaque.extend_from_slice(b),
                _ => framed.push(l.clone()),
            }
        }
        (framed, opaque)
    };
    assert_eq!(split(&items), split(&chunked));
    assert_eq!(error, chunked_error);
    let analysis = analyze_bytes(&Bytes::copy_from_slice(data));
    for p in &analysis.report.problems {
        assert!(p.offset <= data.len() as u64);
    }
});
