//! Golden test: the vif of a real Xen 4.17 dom0 (tests/data/xen-real-net), rebuilt as a sysfs
//! tree, read through `SysfsNet`, and cross-checked against `ip -s link` from the same host.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use xen_core::net::{SysfsNet, Vif};

fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/xen-real-net")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One interface of `ip -s link`: MTU, state, MAC and the first four RX and TX numbers
/// (bytes, packets, errors, dropped).
#[derive(Debug, Default)]
struct IpLink {
    mtu: String,
    state: String,
    mac: String,
    rx: [u64; 4],
    tx: [u64; 4],
}

fn parse_ip_s_link(text: &str) -> BTreeMap<String, IpLink> {
    let mut links = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let name = words[1].trim_end_matches(':').to_string();
        let after = |key: &str| {
            let at = words.iter().position(|w| *w == key).unwrap();
            words[at + 1].to_string()
        };
        let mut link = IpLink {
            mtu: after("mtu"),
            state: after("state").to_ascii_lowercase(),
            ..IpLink::default()
        };
        link.mac = lines
            .next()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .into();
        for counters in [&mut link.rx, &mut link.tx] {
            let _header = lines.next().unwrap();
            let values: Vec<u64> = lines
                .next()
                .unwrap()
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect();
            counters.copy_from_slice(&values[..4]);
        }
        links.insert(name, link);
    }
    links
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// The capture as a sysfs tree under `root`.
fn rebuild_sysfs(root: &Path) -> BTreeMap<String, IpLink> {
    let links = parse_ip_s_link(&data("ip-s-link.txt"));
    for (name, link) in &links {
        let dir = format!("class/net/{name}");
        write(root, &format!("{dir}/mtu"), &format!("{}\n", link.mtu));
        write(
            root,
            &format!("{dir}/operstate"),
            &format!("{}\n", link.state),
        );
        write(root, &format!("{dir}/address"), &format!("{}\n", link.mac));
        let files = ["bytes", "packets", "errors", "dropped"];
        for (direction, values) in [("rx", link.rx), ("tx", link.tx)] {
            for (file, value) in files.iter().zip(values) {
                write(
                    root,
                    &format!("{dir}/statistics/{direction}_{file}"),
                    &format!("{value}\n"),
                );
            }
        }
    }
    // The vif's own statistics files, every one of them, as captured.
    for line in data("vif-statistics.txt").lines() {
        let (path, value) = line.split_once(": ").unwrap();
        write(
            root,
            path.strip_prefix("/sys/").unwrap(),
            &format!("{value}\n"),
        );
    }
    for line in data("bridge-link.txt").lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let port = words[1].trim_end_matches(':');
        let bridge = words[words.iter().position(|w| *w == "master").unwrap() + 1];
        std::os::unix::fs::symlink(
            format!("../{bridge}"),
            root.join(format!("class/net/{port}/master")),
        )
        .unwrap();
    }
    for (domid, devid) in netback_nodes() {
        let dir = root.join(format!("class/net/vif{domid}.{devid}"));
        assert!(dir.exists(), "{}", dir.display());
        write(
            &dir,
            "device/nodename",
            &format!("backend/vif/{domid}/{devid}\n"),
        );
    }
    links
}

/// `backend/vif/D/N` nodes of dom0 in the xenstore dump.
fn netback_nodes() -> Vec<(u32, u32)> {
    data("xenstore-ls-f.local-domain.txt")
        .lines()
        .filter_map(|line| {
            let path = line.split(" = ").next()?;
            let rest = path.strip_prefix("/local/domain/0/backend/vif/")?;
            let (domid, devid) = rest.split_once('/')?;
            Some((domid.parse().ok()?, devid.parse().ok()?))
        })
        .collect()
}

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
