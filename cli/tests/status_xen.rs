//! The Xen section of `xenadm status` on this machine, which is not a Xen host: one line
//! saying so, and the rest of status still works.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use common::{stderr, stdout, xenadm};

fn on_xen() -> bool {
    std::path::Path::new("/proc/xen/capabilities").exists()
        || std::fs::read_to_string("/sys/hypervisor/type").is_ok_and(|t| t.trim() == "xen")
}

#[test]
fn test_status_xen_section_without_xen_is_one_line() {
    if on_xen() {
        eprintln!("SKIPPED: this machine runs on Xen; the test is for hosts without it");
        return;
    }
    let out = xenadm(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let xen = lines.iter().position(|l| *l == "Xen").unwrap();
    let section: Vec<&str> = lines[xen + 1..]
        .iter()
        .take_while(|l| l.starts_with(' '))
        .copied()
        .collect();
    assert_eq!(section.len(), 1, "{section:?}");
    assert!(
        section[0].contains("role") && section[0].contains("not a Xen host"),
        "{text}"
    );
    // The other sections are still there.
    assert!(lines.contains(&"CPU"), "{text}");
}

#[test]
fn test_status_json_xen_without_xen() {
    if on_xen() {
        eprintln!("SKIPPED: this machine runs on Xen; the test is for hosts without it");
        return;
    }
    let out = xenadm(&["--json", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let xen = &json["xen"];
    assert_eq!(xen["role"], "none");
    assert_eq!(xen["host"], serde_json::Value::Null);
    assert_eq!(xen["host_error"], serde_json::Value::Null);
    assert!(json["cpu"].is_object());
}
