//! Byte equality with the real upstream vhostmd and vm-dump-metrics (tests/data).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::path::Path;

use common::{MULTI_URI, data, golden_config, multi_vms, read, test_vm};
use vhostmd::{
    CollectOptions, Collecting, Config, DiskProblem, HEADER_BYTES, Header, MetricsDisk,
    ReadOptions, VhostmdError, Vm, checksum, parse_image, read_disk,
};

#[test]
fn test_reader_prints_exactly_upstreams_output_for_every_golden_disk() {
    for case in ["single", "multi"] {
        let image = read(&format!("{case}/vhostmd0.img"));
        let expected = read(&format!("{case}/vm-dump-metrics.xml"));
        let from_memory = parse_image(&image, Path::new(case)).unwrap();
        assert_eq!(from_memory.document, expected, "{case}");
        let from_file = read_disk(
            &data().join(format!("{case}/vhostmd0.img")),
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(from_file.document, expected, "{case}");
        assert_eq!(from_file.header.checksum, checksum(&expected), "{case}");
        assert_eq!(from_file.header.busy, 0);
    }
    let single = read_disk(&data().join("single/vhostmd0.img"), &ReadOptions::default()).unwrap();
    assert_eq!(single.header, Header::new(0, 0x0003_0071, 2475));
}

#[test]
fn test_edge_image_signed_checksum_stale_tail_and_unescaped_amp() {
    let image = read("edge/vhostmd0-after-shrink.img");
    let header = Header::parse(&image).unwrap();
    assert_eq!(header.length_bytes, 317);
    assert_eq!(header.checksum, 0x619b);
    let content = &image[HEADER_BYTES..HEADER_BYTES + 317];
    assert_eq!(
        checksum(content),
        0x619b,
        "signed-char sum, as x86 upstream"
    );
    // Stale bytes of the longer first document follow the content (upstream does not zero).
    assert_ne!(image[HEADER_BYTES + 317], 0);
    // Upstream wrote `a & b` unescaped: the document is not XML, as upstream's reader says.
    let err = parse_image(&image, Path::new("edge")).unwrap_err();
    assert!(
        matches!(
            err,
            VhostmdError::Disk {
                problem: DiskProblem::BadDocument(_),
                ..
            }
        ),
        "{err}"
    );
}

fn collect(conf: &str, dir: &Path, connect: &str, vms: &[Vm]) -> String {
    let text = golden_config(conf, dir);
    let config = Config::parse(text.as_bytes(), Path::new(conf)).unwrap();
    let options = CollectOptions::default()
        .with_connect(Some(connect.to_string()))
        .with_action_stderr(false);
    let mut collecting = Collecting::new(config, options);
    let update = collecting.collect(vms);
    // The failing action (exit 3) is left out, as upstream does.
    assert_eq!(update.errors.len(), 1, "{:?}", update.errors);
    update.document()
}

#[test]
fn test_daemon_document_and_disk_equal_upstreams_single_vm() {
    let dir = tempfile::tempdir().unwrap();
    for conf in ["golden.conf", "golden-virtio.conf"] {
        let doc = collect(conf, dir.path(), "test:///default", &[test_vm()]);
        assert_eq!(
            doc.as_bytes(),
            read("single/vm-dump-metrics.xml").as_slice(),
            "{conf}"
        );
    }
    // The whole image, header and zeroed tail included, is byte-identical.
    let doc = collect("golden.conf", dir.path(), "test:///default", &[test_vm()]);
    let config = Config::parse(
        golden_config("golden.conf", dir.path()).as_bytes(),
        Path::new("g"),
    )
    .unwrap();
    let mut disk = MetricsDisk::create(&config.disk.path, config.disk.size_bytes).unwrap();
    disk.update(doc.as_bytes()).unwrap();
    assert_eq!(
        std::fs::read(&config.disk.path).unwrap(),
        read("single/vhostmd0.img")
    );
    let back = read_disk(&config.disk.path, &ReadOptions::default()).unwrap();
    assert_eq!(back.document, doc.as_bytes());
}

#[test]
fn test_daemon_document_equals_upstreams_with_two_vms_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let expected = read("multi/vm-dump-metrics.xml");
    let mut vms = multi_vms();
    let first = collect("golden-multi.conf", dir.path(), MULTI_URI, &vms);
    vms.reverse();
    let second = collect("golden-multi.conf", dir.path(), MULTI_URI, &vms);
    assert!(
        first.as_bytes() == expected.as_slice() || second.as_bytes() == expected.as_slice(),
        "neither VM order gives upstream's document:\n{first}"
    );
}

#[test]
fn test_edge_config_values_are_escaped_and_stale_bytes_zeroed() {
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(read("edge/edge.conf"))
        .unwrap()
        .replace("/tmp/vedge", &dir.path().display().to_string());
    let config = Config::parse(text.as_bytes(), Path::new("edge.conf")).unwrap();
    let mut disk = MetricsDisk::create(&config.disk.path, config.disk.size_bytes).unwrap();
    let mut collecting = Collecting::new(
        config.clone(),
        CollectOptions::default().with_action_stderr(false),
    );
    let mut lengths = Vec::new();
    for _ in 0..2 {
        let doc = collecting.collect(&[]).document();
        disk.update(doc.as_bytes()).unwrap();
        lengths.push(doc.len());
    }
    assert!(lengths[1] < lengths[0]);
    let image = std::fs::read(&config.disk.path).unwrap();
    assert!(image[HEADER_BYTES + lengths[1]..].iter().all(|&b| b == 0));
    let content = read_disk(&config.disk.path, &ReadOptions::default()).unwrap();
    let metrics = content.metrics().unwrap();
    assert_eq!(metrics.host("Amp").unwrap().value, "a & b");
    assert_eq!(metrics.host("Utf").unwrap().value, "Grüße");
    assert_eq!(metrics.host("Shrink").unwrap().value, "s\n");
    let doc = String::from_utf8(content.document).unwrap();
    assert!(doc.contains("<value>a &amp; b</value>"));
    // Apart from the escaping, the document is upstream's (same shape, same order).
    let upstream = &read("edge/vhostmd0-after-shrink.img")[HEADER_BYTES..HEADER_BYTES + 317];
    assert_eq!(
        doc.replace("&amp;", "&").as_bytes(),
        upstream,
        "only the escaping differs"
    );
}

#[test]
fn test_library_lookups_work_with_several_vms() {
    let content = read_disk(&data().join("multi/vhostmd0.img"), &ReadOptions::default()).unwrap();
    let m = content.metrics().unwrap();
    assert_eq!(m.host("TotalPhyMem").unwrap().as_u64().unwrap(), 16384);
    assert_eq!(m.host("TotalPhyMem").unwrap().unit.as_deref(), Some("MiB"));
    assert_eq!(
        m.host("SignedLarge").unwrap().as_i64().unwrap(),
        -9_000_000_000
    );
    assert_eq!(m.host("TotalCPUTime").unwrap().as_f64().unwrap(), 1234.5);
    let a = m
        .vm("UsedMemory", "11111111-2222-3333-4444-555555555555")
        .unwrap();
    let b = m
        .vm("UsedMemory", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        .unwrap();
    assert_eq!(
        (a.as_u64().unwrap(), b.as_u64().unwrap()),
        (524_288, 2_097_152)
    );
    assert!(matches!(
        m.host("Nope").unwrap_err(),
        VhostmdError::MetricNotFound { .. }
    ));
}
