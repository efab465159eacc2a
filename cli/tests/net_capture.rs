//! `xenadm net` on the sysfs tree of a real Xen 4.17 dom0 (rebuilt from the captures in
//! xen-core/tests/data/xen-real-net, see the README there): golden text, JSON, and errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{stderr, stdout, xenadm};
use test_support::captures::xen_real_net_sysfs;
use test_support::tree::write;

/// The capture's network as a sysfs tree (see `test_support::captures::xen_real_net_sysfs`).
fn sysfs_tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sys");
    xen_real_net_sysfs(&root);
    (dir, root)
}

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/net")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn test_net_text_matches_golden() {
    let (_dir, root) = sysfs_tree();
    let out = xenadm(&["net", "--sysfs-root", root.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), golden("xen-real.txt"));
    // Another host's tree: no name lookup on this one, so no warning either.
    assert_eq!(stderr(&out), "");
}

#[test]
fn test_net_json_states_the_guest_view() {
    let (_dir, root) = sysfs_tree();
    let out = xenadm(&["--json", "net", "--sysfs-root", root.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let vifs = json.as_array().unwrap();
    assert_eq!(vifs.len(), 1);
    let vif = &vifs[0];
    assert_eq!(vif["domain"], serde_json::Value::Null);
    assert_eq!(vif["domid"], 1);
    assert_eq!(vif["devid"], 0);
    assert_eq!(vif["interface"], "vif1.0");
    assert_eq!(vif["kind"], "netback");
    assert_eq!(vif["source"], "nodename");
    assert_eq!(vif["bridge"], "xenbr0");
    assert_eq!(vif["operstate"], "up");
    assert_eq!(vif["mtu_bytes"], 1500);
    assert_eq!(vif["backend_mac"], "fe:ff:ff:ff:ff:ff");
    // dom0's vif1.0 sent 3934 bytes in 25 packets: what the guest received.
    assert_eq!(vif["guest_rx_bytes"], 3934);
    assert_eq!(vif["guest_rx_packets"], 25);
    assert_eq!(vif["guest_tx_bytes"], 2792);
    assert_eq!(vif["guest_tx_packets"], 14);
    for field in [
        "guest_rx_errors",
        "guest_rx_drops",
        "guest_tx_errors",
        "guest_tx_drops",
    ] {
        assert_eq!(vif[field], 0, "{field}");
    }
}

#[test]
fn test_net_missing_sysfs_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-sys");
    let out = xenadm(&["net", "--sysfs-root", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot read {}/class/net", missing.display())),
        "{err}"
    );
}

#[test]
fn test_net_malformed_counter_names_the_file() {
    let (_dir, root) = sysfs_tree();
    write(&root, "class/net/vif1.0/statistics/rx_bytes", "12abc\n");
    let out = xenadm(&["net", "--sysfs-root", root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("vif1.0/statistics/rx_bytes:1"), "{err}");
}

#[test]
fn test_net_on_a_host_without_xen_is_an_error_not_an_empty_table() {
    if Path::new("/proc/xen/capabilities").exists() {
        eprintln!("SKIPPED: this machine may be a Xen dom0");
        return;
    }
    let out = xenadm(&["net"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "xenadm: error: `xenadm net` needs a Xen dom0, and this machine is not a Xen host"
        ),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
    // Another host's tree without vifs: an empty table, said on stderr.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("class/net")).unwrap();
    let out = xenadm(&["net", "--sysfs-root", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("no vif under"), "{}", stderr(&out));
}
