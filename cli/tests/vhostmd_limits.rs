//! `vm-dump-metrics` on a large metrics document (issue 14 item 3): the output is the document
//! byte for byte and the peak RSS stays small (it was about 22 times the document's size).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{capped_run, stderr};

#[test]
fn test_vm_dump_metrics_of_8_mib_stays_small_and_exact() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut doc = String::from("<metrics>\n");
    let mut i = 0u64;
    while doc.len() < 8 << 20 {
        doc.push_str(&format!(
            "  <metric type=\"uint64\" context=\"vm\" id=\"{i}\"><name>Counter{i}</name><value>{}</value></metric>\n",
            i * 7
        ));
        i += 1;
    }
    doc.push_str("</metrics>\n");
    let disk = dir.path().join("disk");
    let size = (doc.len() as u64 + 4096).div_ceil(4096) * 4096;
    let mut metrics = vhostmd::MetricsDisk::create(&disk, size).unwrap();
    metrics.update(doc.as_bytes()).unwrap();
    drop(metrics);
    let Some((out, rss_kib)) = capped_run(
        512,
        Path::new(env!("CARGO_BIN_EXE_vm-dump-metrics")),
        &["--disk", disk.to_str().unwrap()],
        None,
    ) else {
        return;
    };
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == doc.as_bytes(), "the output is the document");
    eprintln!(
        "vm-dump-metrics of {} bytes: peak RSS {rss_kib} KiB",
        doc.len()
    );
    // Before: about 22 times the document (180 MB here).
    assert!(rss_kib < 24 << 10, "peak RSS {rss_kib} KiB");
}
