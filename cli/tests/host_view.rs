//! `xenadm list`, `info` and `top`: on this machine (no Xen) they fail with a clear error and
//! a hint while `status` still works; with `--replay` they print real captures
//! (xen-core/tests/data/host-view) byte for byte, or convert them to JSON and CSV.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{stderr, stdout, xenadm};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xen-core/tests/data/host-view")
        .join(name)
}

fn capture(name: &str) -> (String, Vec<u8>) {
    let path = data(name);
    let bytes = std::fs::read(&path).unwrap();
    (path.to_str().unwrap().to_string(), bytes)
}

/// Whether this machine is a Xen dom0 (then the no-Xen tests do not apply).
fn is_dom0() -> bool {
    Path::new("/dev/xen/privcmd").exists()
}

#[test]
fn test_without_xen_list_info_and_top_fail_with_a_hint() {
    if is_dom0() {
        eprintln!("SKIPPED: this machine is a Xen dom0");
        return;
    }
    for args in [
        &["list"][..],
        &["info"],
        &["info", "-n"],
        &["list", "--json"],
        &["top", "-b", "-i", "1"],
        &["top", "-b", "-d", "0", "-i", "2", "--csv"],
    ] {
        let out = xenadm(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert!(err.starts_with("xenadm: error: "), "{args:?}: {err}");
        assert!(
            err.contains("hint: ") && err.contains("dom0"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn test_status_still_works_without_xen() {
    let out = xenadm(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).is_empty());
}

#[test]
fn test_list_replays_xl_list_byte_for_byte() {
    let (path, bytes) = capture("xen-real/xl-list.before-save.txt");
    let out = xenadm(&["list", "--replay", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, bytes);
}

#[test]
fn test_list_selects_domains_by_name_or_id() {
    let (path, _) = capture("xen-real/xl-list.before-save.txt");
    let out = xenadm(&["list", "--replay", &path, "sv32", "0"]);
    let text = stdout(&out);
    let names: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(names, ["Domain-0", "sv32"]);
    let missing = xenadm(&["list", "--replay", &path, "db"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = stderr(&missing);
    assert!(
        err.contains("\"db\" is not the name or id of a domain"),
        "{err}"
    );
    assert!(err.contains("hint: `xenadm list`"), "{err}");
}

#[test]
fn test_list_json_has_units_in_field_names() {
    let (path, _) = capture("xen-real/xl-list.guests.txt");
    let out = xenadm(&["list", "--replay", &path, "--json"]);
    let domains: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let web1 = &domains[1];
    assert_eq!(web1["name"], "web1");
    assert_eq!(web1["domid"], 1);
    assert_eq!(web1["memory_kib"], 65536);
    assert_eq!(web1["online_vcpus"], 1);
    assert_eq!(web1["cpu_time_ns"], 3_900_000_000u64);
    assert_eq!(web1["state"], serde_json::json!(["running"]));
}

#[test]
fn test_info_replays_xl_info_byte_for_byte_and_as_json() {
    let (path, bytes) = capture("xen-real/xl-info.guests.txt");
    let out = xenadm(&["info", "--replay", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, bytes);
    let json = xenadm(&["info", "--replay", &path, "--json"]);
    let info: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(info["total_memory_kib"], 2047 * 1024);
    assert_eq!(info["cpu_khz"], 2_596_144);
    assert_eq!(info["xen_scheduler"], "credit2");
}

#[test]
fn test_info_n_replays_the_topology_tables() {
    let (with_tables, bytes) = capture("xen-real/xl-info-n.guests.txt");
    let out = xenadm(&["info", "-n", "--replay", &with_tables]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, bytes);
    // Without -n the tables are left out, as `xl info` does.
    let (_, plain) = capture("xen-real/xl-info.guests.txt");
    assert_eq!(xenadm(&["info", "--replay", &with_tables]).stdout, plain);
    let json = xenadm(&["info", "--numa", "--replay", &with_tables, "--json"]);
    let info: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(info["topology"]["cpus"][1]["core"], 1);
    assert_eq!(info["topology"]["nodes"][0]["memory_bytes"], 2047u64 << 20);
    assert_eq!(info["topology"]["nodes"][0]["distances"][0], 10);
    // A capture without tables cannot answer -n.
    let (plain_path, _) = capture("xen-real/xl-info.guests.txt");
    let out = xenadm(&["info", "-n", "--replay", &plain_path]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("not available from this capture"), "{err}");
    assert!(
        err.contains("hint: replay the output of `xl info -n`"),
        "{err}"
    );
}

#[test]
fn test_info_replay_of_a_wrong_file_is_located() {
    let (path, _) = capture("xen-real/xl-list.guests.txt");
    let out = xenadm(&["info", "--replay", &path]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("xl info text, line 1, column 1"), "{err}");
    assert!(err.contains("hint: --replay takes"), "{err}");
}

#[test]
fn test_top_batch_replays_xentop_byte_for_byte() {
    let (plain, plain_bytes) = capture("xen-real/xentop.b-d1-i3.txt");
    let out = xenadm(&["top", "-b", "-d", "1", "--replay", &plain]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), String::from_utf8(plain_bytes).unwrap());
    // xentop's own spelling of the details, -v included.
    let (full, full_bytes) = capture("xen-real/xentop.b-d1-i2-n-x-v-f.txt");
    let out = xenadm(&[
        "top", "-b", "-d", "1", "-n", "-x", "-v", "-f", "--replay", &full,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), String::from_utf8(full_bytes).unwrap());
}

#[test]
fn test_top_iterations_limit_the_samples() {
    let (path, _) = capture("xentop/xentop-b-d1-i2.txt");
    let out = xenadm(&["top", "-b", "-d", "1", "-i", "1", "--replay", &path]);
    let text = stdout(&out);
    assert_eq!(text.lines().filter(|l| l.contains("CPU(sec)")).count(), 1);
    assert_eq!(text.lines().count(), 6, "header and 5 domains");
}

#[test]
fn test_top_json_streams_one_object_per_domain_per_sample() {
    let (path, _) = capture("xentop/xentop-b-d1-i2-f-n-x-v.txt");
    let out = xenadm(&["top", "-d", "1", "--json", "--replay", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 10, "5 domains x 2 samples");
    let windows = records
        .iter()
        .find(|r| r["sample"] == 1 && r["name"] == "Windows7 (Dev)")
        .unwrap();
    assert_eq!(windows["cpu_percent"], 400.0);
    assert_eq!(windows["delta_cpu_time_ns"], 4_000_000_000u64);
    assert_eq!(windows["interval_ns"], 1_000_000_000u64);
    let no_limit = records.iter().find(|r| r["name"] == "Domain-0").unwrap();
    assert!(no_limit["max_memory_kib"].is_null());
    assert!(
        no_limit["cpu_percent"].is_null(),
        "first sample: no rate yet"
    );
}

#[test]
fn test_top_csv_has_a_header_and_a_row_per_domain_per_sample() {
    let (path, _) = capture("xen-real/xentop.b-d1-i3.txt");
    let out = xenadm(&["top", "-d", "1", "--csv", "--replay", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 2 * 3);
    let header: Vec<&str> = lines[0].split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let last: Vec<&str> = lines[6].split(',').collect();
    assert_eq!(last.len(), header.len());
    assert_eq!(last[column("name")], "web1");
    assert_eq!(last[column("cpu_percent")], "15.6");
    assert_eq!(last[column("delta_vbd_read_sectors")], "32");
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        first[column("cpu_percent")],
        "",
        "unknown in the first sample"
    );
}

#[test]
fn test_top_rejects_a_negative_delay() {
    let out = xenadm(&["top", "-b", "--delay=-1"]);
    assert_eq!(out.status.code(), Some(2));
}
