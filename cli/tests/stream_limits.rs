//! Hostile streams (issue 14): a record repeated a million times, a pass boundary on every
//! record. `stream verify` keeps its memory bounded (peak RSS measured under an address-space
//! cap) and `stream relay` prints a bounded number of lines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{capped_run, stderr, stdout};

fn seed() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xen-core/tests/data/stream-seeds/pv-2pages.save");
    std::fs::read(path).unwrap()
}

/// The seed with `seed[from..to]` (one whole record) repeated `times` times after it.
fn repeated(dir: &Path, name: &str, from: usize, to: usize, times: usize) -> PathBuf {
    let s = seed();
    let mut out = Vec::with_capacity(s.len() + (to - from) * times);
    out.extend_from_slice(&s[..to]);
    for _ in 0..times {
        out.extend_from_slice(&s[from..to]);
    }
    out.extend_from_slice(&s[to..]);
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

fn xenadm() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_xenadm"))
}

/// One STATIC_DATA_END (bytes 355..363 of the seed) repeated a million times: each repeat is a
/// problem. Before the fix every problem was kept (about 185 bytes each: 185 MB here).
#[test]
fn test_verify_of_a_million_problems_stays_small() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let file = repeated(dir.path(), "static-end.save", 355, 363, 1_000_000);
    let Some((out, rss_kib)) = capped_run(
        256,
        xenadm(),
        &["stream", "verify", file.to_str().unwrap()],
        None,
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("and 999000 more problems (only the first 1000 are listed)"),
        "{}",
        text.lines().last().unwrap_or("")
    );
    assert!(
        text.lines().count() < 1010,
        "{} lines",
        text.lines().count()
    );
    assert!(rss_kib < 48 << 10, "peak RSS {rss_kib} KiB");
}

/// The same through `--json`: the count of the rest is in the report.
#[test]
fn test_verify_json_counts_the_problems_not_listed() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let file = repeated(dir.path(), "static-end.save", 355, 363, 5000);
    let out = common::xenadm(&["--json", "stream", "verify", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["problems"].as_array().unwrap().len(), 1000);
    assert_eq!(v["problems_omitted"], 4000);
    assert_eq!(v["ok"], false);
}

/// A 24-byte PAGE_DATA record (bytes 4515..4539) repeated 100,000 times: each starts a new
/// pass. Before the fix each pass counted all earlier ones (quadratic: 30 s for 2.4 MB) and
/// the relay printed a line per pass; now the kept passes and the lines are bounded.
#[test]
fn test_relay_of_100000_passes_prints_a_bounded_report() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    // The input: 100,000 copies of the record in all.
    let file = repeated(dir.path(), "passes.save", 4515, 4539, 99_999);
    let Some((out, rss_kib)) = capped_run(256, xenadm(), &["stream", "relay"], Some(&file)) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        out.stdout,
        std::fs::read(&file).unwrap(),
        "relayed byte for byte"
    );
    let err = stderr(&out);
    let lines = err.lines().count();
    assert!(lines <= 260, "{lines} lines on stderr");
    assert!(err.contains("more than 256 iterations; further ones are counted, not listed"));
    assert!(
        err.contains("in 100001 iterations"),
        "{}",
        err.lines().last().unwrap()
    );
    assert!(rss_kib < 48 << 10, "peak RSS {rss_kib} KiB");

    let out = common::xenadm(&["stream", "inspect", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.lines().count() < 300, "{} lines", text.lines().count());
    // The passes not listed one by one are one row, before the last (stop-and-copy) one.
    assert!(text.contains("\n(99745 more)"), "{text}");
}
