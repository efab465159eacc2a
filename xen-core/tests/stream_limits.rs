//! Hostile streams (issue 14): the inspector and the verifier keep bounded state whatever the
//! stream repeats, and count what they do not keep.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use xen_core::stream::{
    Inspector, MAX_KEPT_ITERATIONS, MAX_KEPT_PROBLEMS, ParseOptions, StreamParser, analyze_bytes,
};

fn seed() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/stream-seeds/pv-2pages.save"
    ))
    .unwrap()
}

/// The seed with its record `seed[from..to]` repeated `times` more times.
fn repeated(from: usize, to: usize, times: usize) -> Vec<u8> {
    let s = seed();
    let mut out = s[..to].to_vec();
    for _ in 0..times {
        out.extend_from_slice(&s[from..to]);
    }
    out.extend_from_slice(&s[to..]);
    out
}

#[test]
fn test_verifier_keeps_the_first_problems_and_counts_the_rest() {
    // STATIC_DATA_END (bytes 355..363) repeated: each repeat is "a second STATIC_DATA_END".
    let times = 3 * MAX_KEPT_PROBLEMS;
    let analysis = analyze_bytes(&Bytes::from(repeated(355, 363, times)));
    let report = analysis.report;
    assert!(!report.ok);
    assert_eq!(report.problems.len(), MAX_KEPT_PROBLEMS);
    assert_eq!(report.problems_omitted, (times - MAX_KEPT_PROBLEMS) as u64);
    // The first ones are kept, in stream order.
    assert_eq!(report.problems[0].offset, 363);
    assert_eq!(report.problems[1].offset, 371);
    assert!(report.problems.iter().all(|p| p.check == "order"));
}

#[test]
fn test_verifier_keeps_the_parser_error_beyond_the_limit() {
    let mut bytes = repeated(355, 363, 2 * MAX_KEPT_PROBLEMS);
    bytes.truncate(bytes.len() - 3);
    let report = analyze_bytes(&Bytes::from(bytes)).report;
    assert_eq!(report.problems.len(), MAX_KEPT_PROBLEMS + 1);
    assert_eq!(report.problems.last().unwrap().check, "format");
}

#[test]
fn test_inspector_state_is_bounded_on_every_record() {
    // A 24-byte PAGE_DATA record (bytes 4515..4539) repeated: each starts a new pass.
    let times = 20_000;
    let bytes = repeated(4515, 4539, times);
    let mut parser = StreamParser::new(ParseOptions::default());
    let mut inspector = Inspector::new();
    let mut observed = 0u64;
    let mut max_kept = 0;
    parser
        .feed(&bytes, &mut |item| {
            inspector.observe(&item);
            observed += 1;
            // The per-record work is bounded by what is kept, which is bounded.
            max_kept = max_kept.max(inspector.current().iterations.len());
        })
        .unwrap();
    parser.finish().unwrap();
    assert_eq!(max_kept, MAX_KEPT_ITERATIONS);
    let s = inspector.finish(bytes.len() as u64);
    assert!(observed > times as u64);
    // The seed's two passes, plus one per repeat.
    let passes = times as u64 + 2;
    assert_eq!(s.iteration_count, passes);
    assert_eq!(s.iterations.len(), MAX_KEPT_ITERATIONS);
    let omitted = s.omitted_iterations.as_ref().unwrap();
    assert_eq!(omitted.count, passes - MAX_KEPT_ITERATIONS as u64);
    // Numbers run on across the omitted passes; the last kept one is the latest pass.
    let numbers: Vec<u32> = s.iterations.iter().map(|i| i.number).collect();
    assert_eq!(numbers[..3], [0, 1, 2]);
    assert_eq!(*numbers.last().unwrap(), u32::try_from(passes - 1).unwrap());
    // Nothing is lost in the sums.
    let kept: u64 = s.iterations.iter().map(|i| i.pfns).sum();
    assert_eq!(kept + omitted.pfns, s.totals.pfns);
    let records: u64 = s.iterations.iter().map(|i| i.page_records).sum();
    assert_eq!(records + omitted.page_records, s.totals.page_records);
}

#[test]
fn test_a_few_passes_are_all_kept() {
    let s = analyze_bytes(&Bytes::from(repeated(4515, 4539, 3))).summary;
    assert_eq!(s.iteration_count, 5);
    assert_eq!(s.iterations.len(), 5);
    assert!(s.omitted_iterations.is_none());
}
