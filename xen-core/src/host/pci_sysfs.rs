//! The PCI devices dom0 sees, from `/sys/bus/pci/devices`, as libxl lists them for
//! `xl info -n`: directory order, every entry not starting with `.`.

use std::path::Path;

use crate::host::PciTopology;

/// Where Linux lists PCI devices.
pub(crate) const PCI_DEVICES: &str = "/sys/bus/pci/devices";

/// The devices under `dir` (node unknown yet), or `None` when the folder cannot be read, is
/// empty, or holds a name that is not `SEG:BUS:DEV.FN`: libxl then gives no device table, and
/// so does xenadm.
pub(crate) fn list_pci_devices(dir: &Path) -> Option<Vec<PciTopology>> {
    let mut devices = Vec::new();
    for entry in std::fs::read_dir(dir).ok()? {
        let name = entry.ok()?.file_name();
        let name = name.to_str()?;
        if name.starts_with('.') {
            continue;
        }
        devices.push(parse_pci_name(name)?);
    }
    (!devices.is_empty()).then_some(devices)
}

/// `0000:3b:1f.6` → segment 0, bus 0x3b, device 0x1f, function 6 (hex, hex, hex, decimal, as
/// libxl's `sscanf("%x:%x:%x.%d")`; wider values are truncated as C's assignments do).
fn parse_pci_name(name: &str) -> Option<PciTopology> {
    let (segment, rest) = name.split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (device, function) = rest.split_once('.')?;
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    let function: u32 = function.parse().ok()?;
    #[allow(
        clippy::cast_possible_truncation,
        reason = "libxl stores the sscanf results in uint16_t/uint8_t fields"
    )]
    Some(PciTopology {
        segment: hex(segment)? as u16,
        bus: hex(bus)? as u8,
        devfn: (((hex(device)? & 0x1f) << 3) | (function & 7)) as u8,
        node: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_parse_like_libxl() {
        let dev = parse_pci_name("0000:3b:1f.6").unwrap();
        assert_eq!(
            (dev.segment, dev.bus, dev.device(), dev.function()),
            (0, 0x3b, 0x1f, 6)
        );
        assert_eq!(dev.to_string(), "0000:3b:1f.6");
        assert_eq!(parse_pci_name("10000:00:00.0").unwrap().segment, 0);
        for bad in ["", "0000:00", "0000:00:00", "0000:00:zz.0", "0000:00:00.x"] {
            assert_eq!(parse_pci_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn test_listing_keeps_order_and_refuses_junk() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(list_pci_devices(dir.path()), None, "empty folder");
        for name in ["0000:00:00.0", "0000:00:01.1", ".hidden"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        let mut names: Vec<String> = list_pci_devices(dir.path())
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        names.sort();
        assert_eq!(names, ["0000:00:00.0", "0000:00:01.1"]);
        std::fs::create_dir(dir.path().join("not-a-device")).unwrap();
        assert_eq!(list_pci_devices(dir.path()), None);
        assert_eq!(list_pci_devices(&dir.path().join("missing")), None);
    }
}
