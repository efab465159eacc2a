//! Messages and small behaviours a new administrator met in the first hour (issue 16, bug 9):
//! each test failed before its fix.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::path::Path;

use common::{stderr, stdout, xenadm, xenadm_in};

fn capture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xen-core/tests/data/host-view/xentop")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn test_top_replay_infers_the_interval_of_the_capture() {
    // Taken with `xentop -b -d 1`: without -d it replays all the same, saying so.
    let file = capture("xentop-b-d1-i2.txt");
    let inferred = xenadm(&["top", "-b", "--replay", &file]);
    assert!(inferred.status.success(), "{}", stderr(&inferred));
    assert!(
        stderr(&inferred).contains("fits an interval of 1 s"),
        "{}",
        stderr(&inferred)
    );
    let given = xenadm(&["top", "-b", "-d", "1", "--replay", &file]);
    assert!(given.status.success());
    assert_eq!(inferred.stdout, given.stdout);
    assert_eq!(stderr(&given), "");
}

#[test]
fn test_stream_verify_of_an_empty_file_reads_well() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty"), b"").unwrap();
    let out = xenadm_in(dir.path(), &["stream", "verify", "empty"]);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("first header of the stream"), "{all}");
    assert!(!all.contains("the the"), "{all}");
}

#[test]
fn test_boot_entries_of_a_binary_file_does_not_suggest_sh() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bin.cfg"), b"menuentry\0\x01\x02").unwrap();
    let out = xenadm_in(dir.path(), &["boot", "entries", "bin.cfg"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("binary data"), "{err}");
    assert!(!err.contains("sh -n"), "{err}");
    assert!(err.contains("hint: give a text file"), "{err}");
}

#[test]
fn test_image_map_of_a_missing_file_does_not_talk_about_usage() {
    let dir = tempfile::tempdir().unwrap();
    let out = xenadm_in(dir.path(), &["image", "map", "missing"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("hint: "), "{err}");
    assert!(!err.contains("image usage"), "{err}");
    assert!(!err.contains("/var/lib/xen/images"), "{err}");
}

#[test]
fn test_top_help_lists_minus_v_once() {
    let out = xenadm(&["top", "--help"]);
    let text = stdout(&out);
    let options_with_v = text
        .lines()
        .filter(|l| l.trim_start().starts_with("-v") || l.contains("`-v`"))
        .count();
    assert_eq!(options_with_v, 1, "{text}");
}

#[test]
fn test_cpuid_features_explains_the_attrs_column() {
    let out = xenadm(&["cpuid", "features"]);
    let text = stdout(&out);
    assert!(text.lines().next().unwrap().ends_with("ATTRS"), "{text}");
    assert!(
        text.contains("ATTRS (Xen 4.17's cpufeatureset.h)"),
        "{text}"
    );
    assert!(
        text.contains("A all guests, S HVM guests, H HVM guests with HAP"),
        "{text}"
    );
}

#[test]
fn test_xen_version_older_than_any_table_is_refused_and_between_tables_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc/default")).unwrap();
    std::fs::write(
        root.join("etc/default/grub"),
        "GRUB_CMDLINE_XEN=\"smt=0\"\n",
    )
    .unwrap();
    let r = root.to_str().unwrap();
    let out = xenadm_in(
        root,
        &["boot", "--root", r, "check", "--xen-version", "4.16"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("4.16 is older than both"),
        "{}",
        stderr(&out)
    );
    let out = xenadm_in(
        root,
        &["boot", "--root", r, "check", "--xen-version", "4.19"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("Xen 4.17 table (--xen-version 4.19: the newest table not newer than it)"),
        "{}",
        stdout(&out)
    );
}
