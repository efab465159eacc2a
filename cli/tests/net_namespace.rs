//! The real thing end to end: `xenadm net` run inside a throwaway network namespace that holds
//! real vifs (veth pairs named as Xen names them, on a bridge `xenbr9`) with real traffic,
//! compared with `ip -j -s link` of the same namespace.
//!
//! Needs root and `ip` (iproute2); skips with a message otherwise, unless
//! XENADM_REQUIRE_TOOLS=1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::time::Duration;

use common::have_tool;
use test_support::netns::NetNs;
use test_support::tools::{root_or_skip, run};

/// dom0 namespace and guest namespace, deleted on drop.
struct Namespaces {
    host: NetNs,
    guest: NetNs,
}

impl Namespaces {
    fn new() -> Namespaces {
        let pid = std::process::id();
        Namespaces {
            host: NetNs::new(format!("xenadm-cli-{pid}-h")),
            guest: NetNs::new(format!("xenadm-cli-{pid}-g")),
        }
    }
}

#[test]
fn test_xenadm_net_in_a_namespace_with_real_vifs() {
    if !have_tool("ip") || !have_tool("bash") || !root_or_skip("network namespaces") {
        return;
    }
    let ns = Namespaces::new();
    let (h, g) = (ns.host.name(), ns.guest.name());
    ns.host.ip("link add xenbr9 type bridge forward_delay 0");
    for (vif, peer) in [
        ("vif3.0", "eth0"),
        ("vif3.1", "eth1"),
        ("vif12.0-emu", "eth2"),
    ] {
        ns.host.ip(&format!(
            "link add {vif} type veth peer name {peer} netns {g}"
        ));
        ns.host.ip(&format!("link set {vif} master xenbr9 up"));
        ns.guest.ip(&format!("link set {peer} up"));
    }
    ns.host.ip("link set vif3.1 down");
    ns.host.ip("addr add 10.231.8.1/24 dev xenbr9");
    ns.host.ip("link set xenbr9 up");
    ns.guest.ip("addr add 10.231.8.2/24 dev eth0");
    run(&[
        "ip",
        "netns",
        "exec",
        g,
        "bash",
        "-c",
        "for i in $(seq 1 25); do echo xenadm-cli-test > /dev/udp/10.231.8.1/9; done",
    ]);
    std::thread::sleep(Duration::from_millis(300));

    let xenadm = env!("CARGO_BIN_EXE_xenadm");
    // The kernel may still send a packet of its own (an ARP probe of the neighbour entry the
    // UDP burst made) while the two tools read: compare only readings taken while the counters
    // stood still (the same `ip -s link` before and after xenadm's), retrying a few times.
    let ip_links = || -> serde_json::Value {
        serde_json::from_slice(&run(&["ip", "-n", h, "-j", "-s", "link"]).stdout).unwrap()
    };
    let (json_out, text_out, links) = (0..10)
        .find_map(|_| {
            let before = ip_links();
            let json_out = run(&["ip", "netns", "exec", h, xenadm, "--json", "net"]);
            let text_out = run(&["ip", "netns", "exec", h, xenadm, "net"]);
            let after = ip_links();
            if before == after {
                return Some((json_out, text_out, after));
            }
            std::thread::sleep(Duration::from_millis(500));
            None
        })
        .expect("the interfaces' counters never stood still for one reading");

    // No Xen here: domids only, and a warning saying why.
    let warning = String::from_utf8_lossy(&json_out.stderr);
    assert!(warning.contains("domain names unavailable"), "{warning}");

    let vifs: serde_json::Value = serde_json::from_slice(&json_out.stdout).unwrap();
    let names: Vec<&str> = vifs
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["interface"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["vif3.0", "vif3.1", "vif12.0-emu"]);
    for vif in vifs.as_array().unwrap() {
        let name = vif["interface"].as_str().unwrap();
        let link = links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["ifname"] == name)
            .unwrap();
        assert_eq!(vif["domain"], serde_json::Value::Null);
        assert_eq!(vif["bridge"], "xenbr9");
        assert_eq!(vif["backend_mac"], link["address"]);
        assert_eq!(vif["mtu_bytes"], link["mtu"]);
        for (field, ip) in [
            ("bytes", "bytes"),
            ("packets", "packets"),
            ("errors", "errors"),
            ("drops", "dropped"),
        ] {
            // The guest receives what dom0's interface transmits.
            assert_eq!(
                vif[format!("guest_rx_{field}")],
                link["stats64"]["tx"][ip],
                "{name} {field}"
            );
            assert_eq!(
                vif[format!("guest_tx_{field}")],
                link["stats64"]["rx"][ip],
                "{name} {field}"
            );
        }
    }
    let vif3 = &vifs[0];
    assert_eq!(
        (vif3["domid"].as_u64(), vif3["devid"].as_u64()),
        (Some(3), Some(0))
    );
    assert!(vif3["guest_tx_packets"].as_u64().unwrap() >= 25, "{vif3}");
    assert_eq!(vifs[1]["operstate"], "down");
    assert_eq!(
        (vifs[2]["domid"].as_u64(), vifs[2]["kind"].as_str()),
        (Some(12), Some("emulated_tap"))
    );

    let text = String::from_utf8(text_out.stdout).unwrap();
    let row = text.lines().find(|l| l.contains("vif3.0")).unwrap();
    let words: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&words[..6], ["-", "3", "0", "vif3.0", "xenbr9", "up"]);
    assert_eq!(words[6], vif3["guest_rx_bytes"].to_string());
    assert_eq!(words[10], vif3["guest_tx_bytes"].to_string());
}
