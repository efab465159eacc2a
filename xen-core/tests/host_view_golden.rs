//! The renderers reproduce real `xl list`, `xl info` and `xentop -b` captures byte for byte,
//! from samples built out of those captures' numbers (tests/data/host-view/README.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use xen_core::host::capture::{
    ReconstructOptions, parse_xentop_batch, parse_xl_info, parse_xl_list,
};
use xen_core::host::{
    DomainName, DomainStats, Host, HostBackend, Interval, RecordedBackend, Sample, SampleFlags,
    VifStats,
};
use xen_core::render::xentop::BatchOptions;
use xen_core::render::{csv, json, record, xentop, xl_info, xl_list};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/host-view")
        .join(path)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(data(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Shows both texts on failure (byte strings are unreadable in assert_eq output).
fn assert_same_text(path: &str, actual: &[u8], expected: &[u8]) {
    if actual != expected {
        panic!(
            "{path}: rendering differs\n--- expected\n{}\n--- actual\n{}",
            String::from_utf8_lossy(expected),
            String::from_utf8_lossy(actual)
        );
    }
}

/// Every iteration of `samples` as `xentop -b` prints it.
fn render_batch(samples: &[Sample], options: &BatchOptions) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, sample) in samples.iter().enumerate() {
        let previous = k.checked_sub(1).map(|p| &samples[p]);
        xentop::write_iteration(&mut out, &Interval::new(previous, sample), options).unwrap();
    }
    out
}

fn options(full: bool) -> BatchOptions {
    let mut o = BatchOptions::default();
    o.full_names = full;
    o.networks = full;
    o.vbds = full;
    o.vcpus = full;
    o
}

const KIB_2047_MIB: u64 = 2047 * 1024;

#[test]
fn test_xl_list_captures_round_trip() {
    for name in [
        "xl-list.dom0only.txt",
        "xl-list.guests.txt",
        "xl-list.before-save.txt",
        "xl-list.after-save.txt",
        "xl-list.after-migrate.txt",
        "xl-list.final.txt",
    ] {
        let path = format!("xen-real/{name}");
        let text = read(&path);
        let domains = parse_xl_list(&text).unwrap();
        assert!(!domains.is_empty(), "{path}");
        let mut out = Vec::new();
        xl_list::write(&mut out, &domains).unwrap();
        assert_same_text(&path, &out, &text);
    }
}

#[test]
fn test_xl_list_values_of_the_migrated_guest() {
    let domains = parse_xl_list(&read("xen-real/xl-list.after-migrate.txt")).unwrap();
    let web1 = &domains[1];
    assert_eq!(web1.name.as_bytes(), b"web1");
    assert_eq!(web1.domid.0, 3, "local migration gives a new domid");
    assert_eq!(web1.memory_kib, 64 * 1024);
    assert_eq!(web1.online_vcpus, 1);
    assert_eq!(web1.cpu_time_ns, 1_800_000_000);
}

#[test]
fn test_xl_info_captures_round_trip() {
    for name in ["xl-info.dom0only.txt", "xl-info.guests.txt"] {
        let path = format!("xen-real/{name}");
        let text = read(&path);
        let info = parse_xl_info(&text).unwrap();
        let mut out = Vec::new();
        xl_info::write(&mut out, &info).unwrap();
        assert_same_text(&path, &out, &text);
    }
}

#[test]
fn test_xl_info_n_captures_round_trip_with_their_tables() {
    for name in ["xl-info-n.dom0only.txt", "xl-info-n.guests.txt"] {
        let path = format!("xen-real/{name}");
        let text = read(&path);
        let info = parse_xl_info(&text).unwrap();
        let topology = info.topology.as_ref().unwrap();
        assert_eq!(topology.cpus.len(), 2);
        assert_eq!(
            (topology.cpus[1].core, topology.cpus[1].node),
            (Some(1), Some(0))
        );
        assert_eq!(
            topology.pci_devices.as_deref(),
            Some(&[][..]),
            "no device data"
        );
        assert_eq!(topology.nodes.len(), 1);
        assert_eq!(topology.nodes[0].memory_bytes, Some(2047 << 20));
        assert_eq!(topology.nodes[0].distances, [Some(10)]);
        let mut out = Vec::new();
        xl_info::write(&mut out, &info).unwrap();
        assert_same_text(&path, &out, &text);
    }
}

#[test]
fn test_xl_info_n_gives_the_same_facts_as_xl_info() {
    let mut with_tables = parse_xl_info(&read("xen-real/xl-info-n.guests.txt")).unwrap();
    with_tables.topology = None;
    let plain = read("xen-real/xl-info.guests.txt");
    let mut out = Vec::new();
    xl_info::write(&mut out, &with_tables).unwrap();
    assert_same_text("xen-real/xl-info-n.guests.txt", &out, &plain);
    assert_eq!(with_tables.cpu_khz, 2_596_144);
    assert_eq!(with_tables.total_memory_kib, KIB_2047_MIB);
    assert_eq!(with_tables.xen_version(), "4.17.5");
    assert_eq!(
        with_tables.virt_caps,
        ["pv", "hvm", "hap", "shadow", "gnttab-v1", "gnttab-v2"]
    );
}

#[test]
fn test_real_xentop_captures_round_trip_with_xl_info_memory() {
    // The host total of `xl info` (2047 MiB) is what xentop divided by.
    let info = parse_xl_info(&read("xen-real/xl-info.guests.txt")).unwrap();
    for (name, full) in [
        ("xentop.b-d1-i3.txt", false),
        ("xentop.b-d1-i2-n-x-v-f.txt", true),
        ("xentop-b-i1.dom0only.txt", false),
    ] {
        let path = format!("xen-real/{name}");
        let text = read(&path);
        let batch = parse_xentop_batch(&text, false).unwrap();
        let mut reconstruct = ReconstructOptions::default();
        reconstruct.total_memory_kib = Some(info.total_memory_kib);
        let samples = batch.to_samples(&reconstruct).unwrap();
        assert_same_text(&path, &render_batch(&samples, &options(full)), &text);
        // Without the host total, an inferred one gives the same text.
        let inferred = batch.to_samples(&ReconstructOptions::default()).unwrap();
        assert_same_text(&path, &render_batch(&inferred, &options(full)), &text);
    }
}

#[test]
fn test_synthetic_xentop_fixtures_round_trip() {
    for (name, full) in [
        ("xentop-b-d1-i2.txt", false),
        ("xentop-b-d1-i2-f-n-x-v.txt", true),
    ] {
        let path = format!("xentop/{name}");
        let text = read(&path);
        let batch = parse_xentop_batch(&text, false).unwrap();
        let mut reconstruct = ReconstructOptions::default();
        reconstruct.total_memory_kib = Some(64 * 1024 * 1024);
        let samples = batch.to_samples(&reconstruct).unwrap();
        assert_same_text(&path, &render_batch(&samples, &options(full)), &text);
    }
}

#[test]
fn test_xentop_with_repeated_headers() {
    // `-r` output of the real capture: re-render with repeat_header, parse it back.
    let batch = parse_xentop_batch(&read("xen-real/xentop.b-d1-i3.txt"), false).unwrap();
    let samples = batch.to_samples(&ReconstructOptions::default()).unwrap();
    let mut repeated = options(false);
    repeated.repeat_header = true;
    let text = render_batch(&samples, &repeated);
    assert_eq!(
        String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| l.trim_start().starts_with("NAME"))
            .count(),
        6
    );
    let again = parse_xentop_batch(&text, true).unwrap();
    assert_eq!(again.iterations.len(), 3);
    assert_eq!(
        again.to_samples(&ReconstructOptions::default()).unwrap(),
        samples
    );
}

#[test]
fn test_sysfs_vif_counters_give_the_xentop_network_line() {
    // vif-statistics.txt was read right after the second xentop -n iteration.
    let text = String::from_utf8(read("xen-real/vif-statistics.txt")).unwrap();
    let counter = |name: &str| -> u64 {
        let key = format!("/sys/class/net/vif1.0/statistics/{name}: ");
        let line = text.lines().find(|l| l.starts_with(&key)).unwrap();
        line[key.len()..].parse().unwrap()
    };
    let mut vif = VifStats::default();
    vif.rx_bytes = counter("rx_bytes");
    vif.rx_packets = counter("rx_packets");
    vif.rx_errors = counter("rx_errors");
    vif.rx_drops = counter("rx_dropped");
    vif.tx_bytes = counter("tx_bytes");
    vif.tx_packets = counter("tx_packets");
    vif.tx_errors = counter("tx_errors");
    vif.tx_drops = counter("tx_dropped");
    let mut web1 = DomainStats::default();
    web1.name = DomainName::new("web1");
    web1.vifs = vec![vif];
    let mut sample = Sample::default();
    sample.domains.push(web1);
    let mut network = BatchOptions::default();
    network.networks = true;
    let mut out = Vec::new();
    xentop::write_iteration(&mut out, &Interval::first(&sample), &network).unwrap();
    let ours = String::from_utf8(out).unwrap();
    let capture = String::from_utf8(read("xen-real/xentop.b-d1-i2-n-x-v-f.txt")).unwrap();
    let net_line = capture
        .lines()
        .filter(|l| l.starts_with("Net0"))
        .nth(1)
        .unwrap();
    assert_eq!(ours.lines().nth(2), Some(net_line));
    // NETTX(k) and NETRX(k) of the row: 3934 / 1024 and 2792 / 1024.
    assert!(
        ours.lines()
            .nth(1)
            .unwrap()
            .contains("    1        3        2    0")
    );
}

#[test]
fn test_a_real_xenserver_row_with_spaces_in_the_name() {
    let snippet = String::from_utf8(read("xentop/real-snippets.txt")).unwrap();
    let row = snippet.lines().find(|l| !l.starts_with('#')).unwrap();
    let header = String::from_utf8(read("xen-real/xentop-b-i1.dom0only.txt")).unwrap();
    let header = header.lines().next().unwrap();
    let batch = parse_xentop_batch(format!("{header}\n{row}\n").as_bytes(), false).unwrap();
    let parsed = &batch.iterations[0].rows[0];
    assert_eq!(parsed.name.as_bytes(), b"Windows7 (Dev)");
    assert_eq!(parsed.cpu_seconds, 92470);
    assert_eq!(parsed.vbd.map(|v| v.write_sectors), Some(12_252_390));
}

/// The records (what `top --json` streams) carry the values xentop-expected.json lists.
#[test]
fn test_json_records_match_the_expected_values() {
    let expected: serde_json::Value =
        serde_json::from_slice(&read("xentop/xentop-expected.json")).unwrap();
    let total_kib = expected["node"]["tot_mem_bytes"].as_u64().unwrap() / 1024;
    let batch = parse_xentop_batch(&read("xentop/xentop-b-d1-i2-f-n-x-v.txt"), false).unwrap();
    let mut reconstruct = ReconstructOptions::default();
    reconstruct.total_memory_kib = Some(total_kib);
    let samples = batch.to_samples(&reconstruct).unwrap();
    for (k, sample) in samples.iter().enumerate() {
        let previous = k.checked_sub(1).map(|p| &samples[p]);
        let mut out = Vec::new();
        json::write_sample(&mut out, &Interval::new(previous, sample), k as u64).unwrap();
        let ours: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let wanted = expected["iterations"][k].as_array().unwrap();
        assert_eq!(ours.len(), wanted.len());
        for want in wanted {
            let name = want["name"].as_str().unwrap();
            let got = ours.iter().find(|o| o["name"] == name).unwrap();
            let kib = |field: &str| got[field].as_u64().map(|b| b / 1024);
            let pct = got["cpu_percent"].as_f64().unwrap_or(0.0);
            assert_eq!(got["sample"], k, "{name}");
            assert_eq!(got["state"], want["state"], "{name}");
            assert_eq!(
                got["cpu_time_ns"].as_u64().unwrap() / 1_000_000_000,
                want["cpu_sec"].as_u64().unwrap(),
                "{name}"
            );
            assert_eq!(
                format!("{pct:.1}"),
                format!("{:.1}", want["cpu_pct"].as_f64().unwrap()),
                "{name}"
            );
            assert_eq!(got["memory_kib"], want["mem_k"], "{name}");
            assert_eq!(got["max_memory_kib"], want["maxmem_k"], "{name}");
            assert_eq!(got["vcpus"], want["vcpus"], "{name}");
            assert_eq!(got["nets"], want["nets"], "{name}");
            assert_eq!(kib("net_tx_bytes"), want["nettx_k"].as_u64(), "{name}");
            assert_eq!(kib("net_rx_bytes"), want["netrx_k"].as_u64(), "{name}");
            assert_eq!(got["vbds"], want["vbds"], "{name}");
            assert_eq!(got["vbd_oo_requests"], want["vbd_oo"], "{name}");
            assert_eq!(got["vbd_read_requests"], want["vbd_rd"], "{name}");
            assert_eq!(got["vbd_write_requests"], want["vbd_wr"], "{name}");
            assert_eq!(got["vbd_read_sectors"], want["vbd_rsect"], "{name}");
            assert_eq!(got["vbd_write_sectors"], want["vbd_wsect"], "{name}");
            assert_eq!(got["ssid"], want["ssid"], "{name}");
        }
    }
}

/// CSV and JSON carry the same values for every record (two independent writers).
#[test]
fn test_csv_and_json_agree_on_the_real_capture() {
    let batch = parse_xentop_batch(&read("xen-real/xentop.b-d1-i3.txt"), false).unwrap();
    let samples = batch.to_samples(&ReconstructOptions::default()).unwrap();
    let mut csv_text = Vec::new();
    let mut json_text = Vec::new();
    csv::write_header(&mut csv_text).unwrap();
    for (k, sample) in samples.iter().enumerate() {
        let previous = k.checked_sub(1).map(|p| &samples[p]);
        let interval = Interval::new(previous, sample);
        csv::write_sample(&mut csv_text, &interval, k as u64).unwrap();
        json::write_sample(&mut json_text, &interval, k as u64).unwrap();
    }
    let csv_text = String::from_utf8(csv_text).unwrap();
    let json_text = String::from_utf8(json_text).unwrap();
    let mut csv_lines = csv_text.lines();
    let header: Vec<&str> = csv_lines.next().unwrap().split(',').collect();
    assert_eq!(header, record::FIELDS);
    let rows: Vec<&str> = csv_lines.collect();
    let objects: Vec<serde_json::Value> = json_text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6, "2 domains x 3 samples");
    assert_eq!(objects.len(), rows.len());
    for (row, object) in rows.iter().zip(&objects) {
        for (field, cell) in header.iter().zip(row.split(',')) {
            let value = &object[*field];
            let as_text = match value {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(cell, as_text, "{field}");
        }
    }
    // web1 in the second sample: 85 ms of CPU in 1 s, one CPU = 8.5 %, 2 pCPUs unknown.
    let web1 = &objects[3];
    assert_eq!(web1["name"], "web1");
    assert_eq!(web1["delta_cpu_time_ns"], 85_000_000);
    assert_eq!(web1["cpu_percent"], 8.5);
    assert_eq!(web1["interval_ns"], 1_000_000_000);
    assert_eq!(web1["delta_vbd_read_requests"], 0);
    // The third sample: one more read request, 32 more sectors.
    assert_eq!(objects[5]["delta_vbd_read_requests"], 1);
    assert_eq!(objects[5]["delta_vbd_read_sectors"], 32);
}

/// The recorded backend replays captures through the Host API, as the CLI uses it.
#[test]
fn test_recorded_backend_replays_captures() {
    let info = parse_xl_info(&read("xen-real/xl-info.guests.txt")).unwrap();
    let batch = parse_xentop_batch(&read("xen-real/xentop.b-d1-i3.txt"), false).unwrap();
    let samples = batch.to_samples(&ReconstructOptions::default()).unwrap();
    let mut host = Host::with_backend(RecordedBackend::new(info, samples.clone()));
    assert_eq!(host.info().unwrap().host, "xenlab");
    let domains = host.domains().unwrap();
    assert_eq!(domains[0].name.as_bytes(), b"Domain-0");
    let second = host.backend_mut().sample(SampleFlags::all()).unwrap();
    assert_eq!(second, samples[1]);
}
