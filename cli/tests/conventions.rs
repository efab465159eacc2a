//! CLI conventions every command follows: exit codes, --json, completions, man pages, status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use common::{stderr, stdout, xenadm};

#[test]
fn test_status_prints_cpu_and_xen_sections() {
    let out = xenadm(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for label in [
        "CPU",
        "vendor",
        "signature",
        "brand",
        "features",
        "hypervisor",
        "Xen",
        "role",
    ] {
        assert!(text.contains(label), "no {label} in {text}");
    }
}

#[test]
fn test_status_json_is_machine_readable() {
    let out = xenadm(&["--json", "status"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vendor = v["cpu"]["vendor"].as_str().unwrap();
    assert!(
        ["GenuineIntel", "AuthenticAMD", "HygonGenuine"].contains(&vendor) || !vendor.is_empty()
    );
    assert!(v["cpu"]["migration_feature_bits"].as_u64().unwrap() > 20);
    assert!(["none", "dom0", "domu"].contains(&v["xen"]["role"].as_str().unwrap()));
}

#[test]
fn test_unknown_subcommand_is_usage_error() {
    let out = xenadm(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("frobnicate"));
}

#[test]
fn test_missing_file_is_failure_with_hint() {
    let out = xenadm(&["cpuid", "mask", "no/such/file.txt"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("xenadm: error: cannot read no/such/file.txt"),
        "{err}"
    );
    assert!(err.contains("caused by: No such file"), "{err}");
    assert!(err.contains("hint: "), "{err}");
}

#[test]
fn test_completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = xenadm(&["completions", shell]);
        assert!(out.status.success());
        assert!(stdout(&out).contains("xenadm"), "{shell}");
    }
}

#[test]
fn test_man_page_generated_from_definitions() {
    let out = xenadm(&["man"]);
    assert!(out.status.success());
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie") || page.contains(".TH xenadm"),
        "{page}"
    );
    assert!(page.contains("cpuid"));
    let dir = tempfile::tempdir().unwrap();
    let out = xenadm(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("xenadm.1").exists());
    assert!(dir.path().join("xenadm-cpuid-mask.1").exists());
}

#[test]
fn test_version_flag() {
    let out = xenadm(&["--version"]);
    assert!(stdout(&out).starts_with("xenadm "));
}
