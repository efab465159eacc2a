//! The real Xen 4.17 captures kept in `xen-core/tests/data` (their READMEs say how each was
//! made): the files, decompressed, and the dom0's network rebuilt as a sysfs tree.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::tree;

/// `xen-core/tests/data/FOLDER/NAME`.
pub fn path(folder: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xen-core/tests/data")
        .join(folder)
        .join(name)
}

/// A file of `xen-core/tests/data/xen-real` (save files, migration streams, their configs).
pub fn xen_real(name: &str) -> PathBuf {
    path("xen-real", name)
}

/// A zstd file's contents, decompressed (the large captures are kept compressed).
pub fn unzstd(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut decoder = ruzstd::decoding::StreamingDecoder::new(file)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    decoder
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// A text file of `xen-core/tests/data/xen-real-net` (a dom0's `ip -s link`, `bridge link`,
/// the vif's sysfs statistics and the xenstore dump, taken together).
pub fn xen_real_net(name: &str) -> String {
    let path = path("xen-real-net", name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One interface of `ip -s link`: MTU, state, MAC and the first four RX and TX numbers
/// (bytes, packets, errors, dropped).
#[derive(Debug, Default)]
pub struct IpLink {
    /// `mtu`.
    pub mtu: String,
    /// `state`, lower case (as sysfs's operstate).
    pub state: String,
    /// The `link/ether` address.
    pub mac: String,
    /// RX bytes, packets, errors, dropped.
    pub rx: [u64; 4],
    /// TX bytes, packets, errors, dropped.
    pub tx: [u64; 4],
}

/// The interfaces of `ip -s link` output, by name.
pub fn parse_ip_s_link(text: &str) -> BTreeMap<String, IpLink> {
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

/// The capture as a sysfs tree under `root` (which stands for `/sys`): every interface of
/// `ip -s link` with its MTU, state, MAC and counters, the vif's own statistics files as
/// captured, bridge ports' `master` links, and the vif's xenstore `device/nodename`.
/// Returns the interfaces of `ip -s link`, to compare with.
pub fn xen_real_net_sysfs(root: &Path) -> BTreeMap<String, IpLink> {
    let links = parse_ip_s_link(&xen_real_net("ip-s-link.txt"));
    for (name, link) in &links {
        let dir = format!("class/net/{name}");
        tree::write(root, &format!("{dir}/mtu"), &format!("{}\n", link.mtu));
        tree::write(
            root,
            &format!("{dir}/operstate"),
            &format!("{}\n", link.state),
        );
        tree::write(root, &format!("{dir}/address"), &format!("{}\n", link.mac));
        let files = ["bytes", "packets", "errors", "dropped"];
        for (direction, values) in [("rx", link.rx), ("tx", link.tx)] {
            for (file, value) in files.iter().zip(values) {
                tree::write(
                    root,
                    &format!("{dir}/statistics/{direction}_{file}"),
                    &format!("{value}\n"),
                );
            }
        }
    }
    // The vif's own statistics files, every one of them, as captured.
    for line in xen_real_net("vif-statistics.txt").lines() {
        let (path, value) = line.split_once(": ").unwrap();
        tree::write(
            root,
            path.strip_prefix("/sys/").unwrap(),
            &format!("{value}\n"),
        );
    }
    for line in xen_real_net("bridge-link.txt").lines() {
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
        tree::write(
            &dir,
            "device/nodename",
            &format!("backend/vif/{domid}/{devid}\n"),
        );
    }
    links
}

/// `backend/vif/D/N` nodes of dom0 in the xenstore dump.
pub fn netback_nodes() -> Vec<(u32, u32)> {
    xen_real_net("xenstore-ls-f.local-domain.txt")
        .lines()
        .filter_map(|line| {
            let path = line.split(" = ").next()?;
            let rest = path.strip_prefix("/local/domain/0/backend/vif/")?;
            let (domid, devid) = rest.split_once('/')?;
            Some((domid.parse().ok()?, devid.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_the_real_network_as_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        let links = xen_real_net_sysfs(dir.path());
        assert!(links.contains_key("vif1.0"), "{links:?}");
        let nodename = std::fs::read_to_string(dir.path().join("class/net/vif1.0/device/nodename"));
        assert_eq!(nodename.unwrap(), "backend/vif/1/0\n");
        assert_eq!(netback_nodes(), [(1, 0)]);
    }

    #[test]
    fn test_a_compressed_capture_decompresses() {
        let dir = std::fs::read_dir(path("xen-real", "")).unwrap();
        let zst = dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "zst"))
            .unwrap();
        assert!(!unzstd(&zst).is_empty());
    }
}
