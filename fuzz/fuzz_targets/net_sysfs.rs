//! Outside input to `xen_core::net`: the contents of sysfs files of network devices
//! (`device/nodename`, counters, `mtu`, `address`, `operstate`) and interface names, which a
//! hostile or broken guest setup can influence.
//!
//! The parsers must return a value or `None`/an error, never panic; a name or nodename they
//! accept must be the canonical form of what they return. The whole scan runs over a scratch
//! sysfs tree holding the input split in two, as a nodename and as a counter: it returns the
//! vif those describe, none, or an error naming the counter file.

#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xen_core::net::{SysfsNet, VifKind, parse};

/// One scratch sysfs tree per fuzzing process, rewritten for each input.
fn tree() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("net_sysfs_fuzz.{}", std::process::id()));
        let stats = root.join("class/net/eth7/statistics");
        fs::create_dir_all(&stats).expect("scratch tree");
        fs::create_dir_all(root.join("class/net/eth7/device")).expect("scratch tree");
        for file in [
            "rx_bytes",
            "rx_packets",
            "rx_errors",
            "rx_dropped",
            "tx_bytes",
            "tx_packets",
            "tx_errors",
            "tx_dropped",
        ] {
            fs::write(stats.join(file), "0\n").expect("scratch counter");
        }
        root
    })
}

fn check_names(data: &[u8]) {
    if let Some((domid, devid, kind)) = parse::interface_name(data) {
        let suffix = if kind == VifKind::EmulatedTap {
            "-emu"
        } else {
            ""
        };
        let canonical = format!("vif{domid}.{devid}{suffix}");
        // Leading zeros are the only other spelling accepted.
        assert_eq!(
            parse::interface_name(canonical.as_bytes()),
            Some((domid, devid, kind))
        );
    }
    if let Some((domid, devid)) = parse::nodename(data) {
        let canonical = format!("backend/vif/{domid}/{devid}");
        assert_eq!(parse::nodename(canonical.as_bytes()), Some((domid, devid)));
    }
    if let Ok(value) = parse::counter(data) {
        assert_eq!(parse::counter(format!("{value}\n").as_bytes()), Ok(value));
    }
    let _ = parse::mtu(data);
    if let Some(mac) = parse::mac(data) {
        assert_eq!(mac.len(), 17);
    }
    let _ = parse::operstate(data);
}

/// The first byte says how many of the following bytes are the nodename; the rest is the
/// counter.
fn check_scan(data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (nodename, counter) = rest.split_at(usize::from(split).min(rest.len()));
    let root = tree();
    let dir = root.join("class/net/eth7");
    fs::write(dir.join("device/nodename"), nodename).expect("write nodename");
    fs::write(dir.join("statistics/rx_bytes"), counter).expect("write counter");
    fs::write(dir.join("operstate"), counter).expect("write operstate");
    let identified = parse::nodename(nodename);
    match SysfsNet::at(root).vifs() {
        Ok(vifs) => {
            // eth7 is a vif only through a valid nodename, and then its counter parsed.
            assert_eq!(vifs.len(), usize::from(identified.is_some()));
            if let Some(vif) = vifs.first() {
                assert_eq!(Some((vif.domid, vif.devid)), identified);
                assert_eq!(Ok(vif.counters.guest_tx_bytes), parse::counter(counter));
            }
        }
        Err(err) => {
            assert!(identified.is_some());
            assert!(err.to_string().contains("rx_bytes"), "{err}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check_names(data);
    check_scan(data);
});
