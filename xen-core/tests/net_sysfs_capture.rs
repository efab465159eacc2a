//! Golden test: the vif of a real Xen 4.17 dom0 (tests/data/xen-real-net), rebuilt as a sysfs
//! tree, read through `SysfsNet`, and cross-checked against `ip -s link` from the same host.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use test_support::captures::{xen_real_net as data, xen_real_net_sysfs as rebuild_sysfs};
use xen_core::net::{SysfsNet, Vif};

fn render(vifs: &[Vif]) -> String {
    let mut out = String::new();
    for v in vifs {
        let c = &v.counters;
        writeln!(
            out,
            "{} domid={} devid={} kind={:?} source={:?} bridge={:?} operstate={} mtu={:?} mac={:?} \
             guest_rx={}B/{}p/{}e/{}d guest_tx={}B/{}p/{}e/{}d",
            v.interface,
            v.domid,
            v.devid,
            v.kind,
            v.source,
            v.bridge,
            v.operstate,
            v.mtu_bytes,
            v.backend_mac,
            c.guest_rx_bytes,
            c.guest_rx_packets,
            c.guest_rx_errors,
            c.guest_rx_drops,
            c.guest_tx_bytes,
            c.guest_tx_packets,
            c.guest_tx_errors,
            c.guest_tx_drops,
        )
        .unwrap();
    }
    out
}

fn root_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sys");
    (dir, root)
}

#[test]
fn test_real_capture_matches_golden() {
    let (_dir, root) = root_dir();
    rebuild_sysfs(&root);
    let vifs = SysfsNet::at(&root).vifs().unwrap();
    assert_eq!(render(&vifs), data("vifs.golden"));
}

#[test]
fn test_real_capture_agrees_with_ip_s_link_from_the_guest_side() {
    let (_dir, root) = root_dir();
    let links = rebuild_sysfs(&root);
    let vifs = SysfsNet::at(&root).vifs().unwrap();
    // Only the vif: lo and the bridge are not guest interfaces.
    assert_eq!(vifs.len(), 1);
    let vif = &vifs[0];
    let ip = &links[&vif.interface];
    let c = &vif.counters;
    // dom0's TX is the guest's RX.
    assert_eq!(
        [
            c.guest_rx_bytes,
            c.guest_rx_packets,
            c.guest_rx_errors,
            c.guest_rx_drops
        ],
        ip.tx
    );
    assert_eq!(
        [
            c.guest_tx_bytes,
            c.guest_tx_packets,
            c.guest_tx_errors,
            c.guest_tx_drops
        ],
        ip.rx
    );
    // The bridge xl configured (xenstore) is the one sysfs shows.
    let xenstore = data("xenstore-ls-f.local-domain.txt");
    let bridge_line = format!(
        "/local/domain/0/backend/vif/{}/{}/bridge = \"{}\"",
        vif.domid,
        vif.devid,
        vif.bridge.as_deref().unwrap()
    );
    assert!(xenstore.lines().any(|l| l == bridge_line), "{bridge_line}");
}

#[test]
fn test_without_nodename_the_name_identifies_the_vif() {
    let (_dir, root) = root_dir();
    rebuild_sysfs(&root);
    fs::remove_dir_all(root.join("class/net/vif1.0/device")).unwrap();
    let vifs = SysfsNet::at(&root).vifs().unwrap();
    assert_eq!(vifs.len(), 1);
    assert_eq!(vifs[0].source, xen_core::net::VifSource::InterfaceName);
    assert_eq!(vifs[0].domid.0, 1);
}
