//! Finding vifs and reading their counters in sysfs (`/sys/class/net`).

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::XenError;
use crate::net::parse;
use crate::net::vif::{OperState, Vif, VifCounters, VifSource};

/// sysfs attributes are at most one page; anything longer is not what we expect.
const ATTRIBUTE_LIMIT: u64 = 4096;

/// The network devices of a sysfs tree: `/sys` on a live dom0, or any folder laid out like
/// it (a copy from another host, a test fixture).
#[derive(Debug, Clone)]
pub struct SysfsNet {
    root: PathBuf,
}

impl SysfsNet {
    /// This system's sysfs, `/sys`.
    pub fn system() -> SysfsNet {
        SysfsNet::at("/sys")
    }

    /// The sysfs tree mounted (or copied) at `root`.
    pub fn at(root: impl Into<PathBuf>) -> SysfsNet {
        SysfsNet { root: root.into() }
    }

    /// The sysfs root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every Xen vif, ordered by domid, devid, kind and name.
    ///
    /// An interface is a vif when `device/nodename` reads `backend/vif/D/N` (a netback
    /// device, whatever it is called), or else when its name is `vifD.N` or `vifD.N-emu`
    /// (QEMU's tap for an HVM guest's emulated NIC): the rule libxenstat follows, except that
    /// libxenstat also takes any other suffix after `vifD.N`.
    ///
    /// An interface that disappears while it is read (its domain being destroyed) is left out,
    /// as xentop does. Any other unreadable or malformed counter is an error naming the file.
    pub fn vifs(&self) -> Result<Vec<Vif>, XenError> {
        let class_net = self.root.join("class/net");
        let entries = fs::read_dir(&class_net).map_err(|source| XenError::HostFile {
            path: class_net.clone(),
            source,
        })?;
        let mut vifs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| XenError::HostFile {
                path: class_net.clone(),
                source,
            })?;
            let name = entry.file_name();
            if let Some(vif) = read_vif(&class_net.join(&name), &name)? {
                vifs.push(vif);
            }
        }
        vifs.sort_by(|a, b| {
            (a.domid, a.devid, a.kind, &a.interface).cmp(&(b.domid, b.devid, b.kind, &b.interface))
        });
        Ok(vifs)
    }
}

/// The vif at `dir`, `None` when the interface is not a vif or vanished meanwhile.
fn read_vif(dir: &Path, name: &OsStr) -> Result<Option<Vif>, XenError> {
    let from_nodename = read_attribute(&dir.join("device/nodename"))
        .ok()
        .and_then(|bytes| parse::nodename(&bytes))
        .map(|(domid, devid)| (domid, devid, Default::default(), VifSource::Nodename));
    let identity = from_nodename.or_else(|| {
        parse::interface_name(name.as_bytes())
            .map(|(domid, devid, kind)| (domid, devid, kind, VifSource::InterfaceName))
    });
    let Some((domid, devid, kind, source)) = identity else {
        return Ok(None);
    };
    let Some(counters) = read_counters(dir)? else {
        return Ok(None);
    };
    Ok(Some(Vif {
        interface: name.to_string_lossy().into_owned(),
        domid,
        devid,
        kind,
        source,
        bridge: bridge_of(dir),
        operstate: read_attribute(&dir.join("operstate"))
            .map(|bytes| parse::operstate(&bytes))
            .unwrap_or(OperState::Unknown),
        mtu_bytes: read_attribute(&dir.join("mtu"))
            .ok()
            .and_then(|bytes| parse::mtu(&bytes)),
        backend_mac: read_attribute(&dir.join("address"))
            .ok()
            .and_then(|bytes| parse::mac(&bytes)),
        counters,
    }))
}

/// The eight counters, `None` if the interface vanished.
fn read_counters(dir: &Path) -> Result<Option<VifCounters>, XenError> {
    let mut values = [0u64; 8];
    const FILES: [&str; 8] = [
        "tx_bytes",
        "tx_packets",
        "tx_errors",
        "tx_dropped",
        "rx_bytes",
        "rx_packets",
        "rx_errors",
        "rx_dropped",
    ];
    for (value, file) in values.iter_mut().zip(FILES) {
        let path = dir.join("statistics").join(file);
        let bytes = match read_attribute(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound && !dir.exists() => {
                return Ok(None);
            }
            Err(source) => return Err(XenError::HostFile { path, source }),
        };
        *value = parse::counter(&bytes).map_err(|message| XenError::HostFileFormat {
            path,
            line: 1,
            message,
        })?;
    }
    // The backend transmits what the guest receives.
    let [
        guest_rx_bytes,
        guest_rx_packets,
        guest_rx_errors,
        guest_rx_drops,
        guest_tx_bytes,
        guest_tx_packets,
        guest_tx_errors,
        guest_tx_drops,
    ] = values;
    Ok(Some(VifCounters {
        guest_rx_bytes,
        guest_rx_packets,
        guest_rx_errors,
        guest_rx_drops,
        guest_tx_bytes,
        guest_tx_packets,
        guest_tx_errors,
        guest_tx_drops,
    }))
}

/// The bridge `dir`'s interface is a port of: its `master` link, or `brport/bridge`.
fn bridge_of(dir: &Path) -> Option<String> {
    ["master", "brport/bridge"].iter().find_map(|link| {
        let target = fs::read_link(dir.join(link)).ok()?;
        Some(target.file_name()?.to_string_lossy().into_owned())
    })
}

/// A sysfs attribute, at most [`ATTRIBUTE_LIMIT`] bytes.
fn read_attribute(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(ATTRIBUTE_LIMIT)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::DomId;
    use crate::net::vif::VifKind;

    use test_support::tree::write;

    fn interface(root: &Path, name: &str, counters: [u64; 8]) {
        let names = [
            "rx_bytes",
            "rx_packets",
            "rx_errors",
            "rx_dropped",
            "tx_bytes",
            "tx_packets",
            "tx_errors",
            "tx_dropped",
        ];
        for (file, value) in names.iter().zip(counters) {
            write(
                root,
                &format!("class/net/{name}/statistics/{file}"),
                &format!("{value}\n"),
            );
        }
    }

    #[test]
    fn test_missing_class_net_names_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let err = SysfsNet::at(dir.path()).vifs().unwrap_err();
        assert!(err.to_string().contains("class/net"), "{err}");
    }

    #[test]
    fn test_nodename_wins_over_the_name_and_others_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        interface(root, "web1-eth0", [1, 2, 3, 4, 5, 6, 7, 8]);
        write(
            root,
            "class/net/web1-eth0/device/nodename",
            "backend/vif/7/1\n",
        );
        interface(root, "vif3.0-emu", [0; 8]);
        interface(root, "vif3.0", [0; 8]);
        interface(root, "eth0", [9; 8]);
        interface(root, "vif3.0-other", [9; 8]);
        let vifs = SysfsNet::at(root).vifs().unwrap();
        let ids: Vec<_> = vifs
            .iter()
            .map(|v| (v.interface.as_str(), v.domid, v.devid, v.kind, v.source))
            .collect();
        assert_eq!(
            ids,
            [
                (
                    "vif3.0",
                    DomId(3),
                    0,
                    VifKind::Netback,
                    VifSource::InterfaceName
                ),
                (
                    "vif3.0-emu",
                    DomId(3),
                    0,
                    VifKind::EmulatedTap,
                    VifSource::InterfaceName
                ),
                (
                    "web1-eth0",
                    DomId(7),
                    1,
                    VifKind::Netback,
                    VifSource::Nodename
                ),
            ]
        );
        let renamed = &vifs[2].counters;
        assert_eq!(
            (
                renamed.guest_tx_bytes,
                renamed.guest_rx_bytes,
                renamed.guest_rx_drops
            ),
            (1, 5, 8)
        );
        assert_eq!(vifs[2].operstate, OperState::Unknown);
        assert_eq!(vifs[2].bridge, None);
    }

    #[test]
    fn test_bad_counter_is_a_located_error() {
        let dir = tempfile::tempdir().unwrap();
        interface(dir.path(), "vif1.0", [0; 8]);
        write(
            dir.path(),
            "class/net/vif1.0/statistics/tx_dropped",
            "lots\n",
        );
        let err = SysfsNet::at(dir.path()).vifs().unwrap_err();
        assert!(
            err.to_string().contains("vif1.0/statistics/tx_dropped:1"),
            "{err}"
        );
    }

    #[test]
    fn test_missing_counter_of_a_present_interface_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        interface(dir.path(), "vif1.0", [0; 8]);
        fs::remove_file(dir.path().join("class/net/vif1.0/statistics/rx_errors")).unwrap();
        let err = SysfsNet::at(dir.path()).vifs().unwrap_err();
        assert!(matches!(err, XenError::HostFile { .. }), "{err}");
    }

    #[test]
    fn test_bridge_from_brport_when_no_master_link() {
        let dir = tempfile::tempdir().unwrap();
        interface(dir.path(), "vif2.0", [0; 8]);
        fs::create_dir_all(dir.path().join("class/net/vif2.0/brport")).unwrap();
        std::os::unix::fs::symlink(
            "../../xenbr1",
            dir.path().join("class/net/vif2.0/brport/bridge"),
        )
        .unwrap();
        let vifs = SysfsNet::at(dir.path()).vifs().unwrap();
        assert_eq!(vifs[0].bridge.as_deref(), Some("xenbr1"));
    }

    #[test]
    fn test_oversized_attribute_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        interface(dir.path(), "vif1.0", [0; 8]);
        let huge = "9".repeat(1 << 20);
        write(dir.path(), "class/net/vif1.0/statistics/rx_bytes", &huge);
        let err = SysfsNet::at(dir.path()).vifs().unwrap_err();
        assert!(err.to_string().contains("rx_bytes:1"), "{err}");
    }
}
