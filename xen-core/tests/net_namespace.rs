//! The real thing: vifs made of real network devices in throwaway network namespaces, with
//! real traffic, read through `SysfsNet` and compared with the kernel's statistics files and
//! `ip -j -s link`.
//!
//! Layout (names as Xen's hotplug scripts make them): in namespace H ("dom0"), bridge
//! `xenbr9` with ports `vif5.0` and `vif5.1-emu`, and `vif7.0` on no bridge (as with
//! vif-route), plus the veth pair `uplink0`/`uplink1`, which is not a vif; each vif is a veth pair whose other end is in
//! namespace G ("the guests"). The guest sends UDP datagrams to dom0's bridge address.
//!
//! Needs root, `ip` (iproute2), `nsenter` and `mount` (util-linux). Skips with a message when
//! they are missing, unless XENADM_REQUIRE_TOOLS=1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use test_support::netns::NetNs;
use test_support::tools::run;
use xen_core::net::{OperState, SysfsNet, Vif, VifKind, VifSource};

fn tools_available() -> bool {
    ["ip", "nsenter", "mount", "umount", "bash"]
        .into_iter()
        .all(test_support::tools::have_tool)
        && test_support::tools::root_or_skip("network namespaces")
}

/// Two network namespaces and the sysfs of the first mounted in a temporary folder; all
/// removed on drop, also when the test fails.
struct Lab {
    host: NetNs,
    guest: NetNs,
    sysfs: PathBuf,
    _dir: tempfile::TempDir,
    mounted: bool,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let pid = std::process::id();
        let dir = tempfile::tempdir().unwrap();
        let mut lab = Lab {
            host: NetNs::new(format!("xenadm-{tag}-{pid}-h")),
            guest: NetNs::new(format!("xenadm-{tag}-{pid}-g")),
            sysfs: dir.path().join("sys"),
            _dir: dir,
            mounted: false,
        };
        std::fs::create_dir(&lab.sysfs).unwrap();
        let netns = format!("--net=/run/netns/{}", lab.host.name());
        let target = lab.sysfs.to_str().unwrap().to_string();
        run(&["nsenter", &netns, "mount", "-t", "sysfs", "sysfs", &target]);
        lab.mounted = true;
        lab
    }

    fn ip_host(&self, args: &str) {
        self.host.ip(args);
    }

    fn ip_guest(&self, args: &str) {
        self.guest.ip(args);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(&self.sysfs).status();
        }
        // The namespaces go after this (NetNs drops).
    }
}

/// dom0 side and guest side as described at the top of the file, with traffic on vif5.0.
fn build(lab: &Lab) {
    let g = lab.guest.name();
    lab.ip_host("link add xenbr9 type bridge forward_delay 0");
    lab.ip_host("link add uplink0 type veth peer name uplink1");
    for (vif, peer) in [
        ("vif5.0", "eth0"),
        ("vif5.1-emu", "eth1"),
        ("vif7.0", "eth2"),
    ] {
        lab.ip_host(&format!(
            "link add {vif} type veth peer name {peer} netns {g}"
        ));
        lab.ip_host(&format!("link set {vif} up"));
        lab.ip_guest(&format!("link set {peer} up"));
    }
    lab.ip_host("link set vif5.0 master xenbr9");
    lab.ip_host("link set vif5.1-emu master xenbr9");
    lab.ip_host("addr add 10.231.9.1/24 dev xenbr9");
    lab.ip_host("link set xenbr9 up");
    lab.ip_host("link set uplink0 up");
    lab.ip_host("link set uplink1 up");
    lab.ip_guest("addr add 10.231.9.2/24 dev eth0");
    // 40 datagrams from the guest to dom0's bridge address (ARP first, then ICMP port
    // unreachable replies come back): traffic both ways through vif5.0.
    run(&[
        "ip",
        "netns",
        "exec",
        g,
        "bash",
        "-c",
        "for i in $(seq 1 40); do echo xenadm-test > /dev/udp/10.231.9.1/9; done",
    ]);
    std::thread::sleep(Duration::from_millis(300));
}

/// `ip -j -s link` of the dom0 namespace: interface name to stats64.
fn ip_stats(lab: &Lab) -> serde_json::Value {
    let out = Command::new("ip")
        .args(["-n", lab.host.name(), "-j", "-s", "link"])
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ip_counter(links: &serde_json::Value, ifname: &str, direction: &str, field: &str) -> u64 {
    let link = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["ifname"] == ifname)
        .unwrap_or_else(|| panic!("{ifname} not in ip -j -s link"));
    link["stats64"][direction][field].as_u64().unwrap()
}

fn sysfs_counter(sysfs: &Path, ifname: &str, file: &str) -> u64 {
    let path = sysfs.join(format!("class/net/{ifname}/statistics/{file}"));
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn by_name<'a>(vifs: &'a [Vif], name: &str) -> &'a Vif {
    vifs.iter().find(|v| v.interface == name).unwrap()
}

#[test]
fn test_real_namespace_vifs_match_kernel_counters() {
    if !tools_available() {
        return;
    }
    let lab = Lab::new("net");
    build(&lab);

    // The kernel may still send a packet of its own (an ARP probe of the neighbour entry the
    // traffic made) between the two readings: compare only readings taken while the counters
    // stood still (the same `ip -s link` before and after ours), retrying a few times.
    let (vifs, links) = (0..10)
        .find_map(|_| {
            let before = ip_stats(&lab);
            let vifs = SysfsNet::at(&lab.sysfs).vifs().unwrap();
            let after = ip_stats(&lab);
            if before == after {
                return Some((vifs, after));
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
            None
        })
        .expect("the interfaces' counters never stood still for one reading");

    let names: Vec<&str> = vifs.iter().map(|v| v.interface.as_str()).collect();
    assert_eq!(names, ["vif5.0", "vif5.1-emu", "vif7.0"]);

    let vif = by_name(&vifs, "vif5.0");
    assert_eq!((vif.domid.0, vif.devid), (5, 0));
    assert_eq!(
        (vif.kind, vif.source),
        (VifKind::Netback, VifSource::InterfaceName)
    );
    assert_eq!(vif.bridge.as_deref(), Some("xenbr9"));
    assert_eq!(vif.operstate, OperState::Up);
    assert_eq!(vif.mtu_bytes, Some(1500));
    let emu = by_name(&vifs, "vif5.1-emu");
    assert_eq!((emu.devid, emu.kind), (1, VifKind::EmulatedTap));
    assert_eq!(emu.bridge.as_deref(), Some("xenbr9"));
    assert_eq!(by_name(&vifs, "vif7.0").bridge, None);

    // Real traffic moved: the 40 datagrams the guest sent, and dom0's answers.
    assert!(vif.counters.guest_tx_packets >= 40, "{:?}", vif.counters);
    assert!(vif.counters.guest_rx_packets >= 1, "{:?}", vif.counters);

    for v in &vifs {
        let name = v.interface.as_str();
        let c = &v.counters;
        let from_guest = [
            ("bytes", "bytes", c.guest_rx_bytes, c.guest_tx_bytes),
            ("packets", "packets", c.guest_rx_packets, c.guest_tx_packets),
            ("errors", "errors", c.guest_rx_errors, c.guest_tx_errors),
            ("dropped", "dropped", c.guest_rx_drops, c.guest_tx_drops),
        ];
        for (file, field, guest_rx, guest_tx) in from_guest {
            // The guest receives what dom0's interface transmits.
            assert_eq!(
                guest_rx,
                ip_counter(&links, name, "tx", field),
                "{name} tx {field}"
            );
            assert_eq!(
                guest_tx,
                ip_counter(&links, name, "rx", field),
                "{name} rx {field}"
            );
            assert_eq!(
                guest_rx,
                sysfs_counter(&lab.sysfs, name, &format!("tx_{file}"))
            );
            assert_eq!(
                guest_tx,
                sysfs_counter(&lab.sysfs, name, &format!("rx_{file}"))
            );
        }
        let mac = links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["ifname"] == name)
            .unwrap()["address"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(v.backend_mac.as_deref(), Some(mac.as_str()), "{name}");
    }
}

#[test]
fn test_real_namespace_vanished_vif_is_left_out() {
    if !tools_available() {
        return;
    }
    let lab = Lab::new("gone");
    build(&lab);
    assert_eq!(SysfsNet::at(&lab.sysfs).vifs().unwrap().len(), 3);
    // The domain is destroyed: its vifs go away.
    lab.ip_host("link del vif7.0");
    let names: Vec<String> = SysfsNet::at(&lab.sysfs)
        .vifs()
        .unwrap()
        .into_iter()
        .map(|v| v.interface)
        .collect();
    assert_eq!(names, ["vif5.0", "vif5.1-emu"]);
}
