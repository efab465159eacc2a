//! Total parsers for the small sysfs values and names that identify and count a vif. Each
//! takes any bytes and never panics.

use crate::host::DomId;
use crate::net::vif::{OperState, VifKind};

/// `backend/vif/D/N` (the contents of `device/nodename` of a netback interface, with or
/// without a trailing newline) as domid and devid.
pub fn nodename(bytes: &[u8]) -> Option<(DomId, u32)> {
    let rest = trim_newline(bytes).strip_prefix(b"backend/vif/")?;
    let slash = rest.iter().position(|&b| b == b'/')?;
    let domid = decimal_u32(&rest[..slash])?;
    let devid = decimal_u32(&rest[slash + 1..])?;
    Some((DomId(domid), devid))
}

/// An interface name of the form `vifD.N` (netback) or `vifD.N-emu` (QEMU's tap for an HVM
/// guest's emulated NIC), as the Xen hotplug scripts name them. Other suffixes are not vifs.
pub fn interface_name(name: &[u8]) -> Option<(DomId, u32, VifKind)> {
    let rest = name.strip_prefix(b"vif")?;
    let (rest, kind) = match rest.strip_suffix(b"-emu") {
        Some(base) => (base, VifKind::EmulatedTap),
        None => (rest, VifKind::Netback),
    };
    let dot = rest.iter().position(|&b| b == b'.')?;
    let domid = decimal_u32(&rest[..dot])?;
    let devid = decimal_u32(&rest[dot + 1..])?;
    Some((DomId(domid), devid, kind))
}

/// A counter file's contents: decimal digits and a newline.
pub fn counter(bytes: &[u8]) -> Result<u64, String> {
    let text = trim_newline(bytes);
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return Err(format!(
            "expected a decimal counter, found {:?}",
            String::from_utf8_lossy(&text[..text.len().min(40)])
        ));
    }
    text.iter().try_fold(0u64, |acc, &digit| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .ok_or_else(|| "counter does not fit in 64 bits".to_string())
    })
}

/// An `mtu` file's contents.
pub fn mtu(bytes: &[u8]) -> Option<u32> {
    decimal_u32(trim_newline(bytes))
}

/// An `address` file's contents: six colon-separated hex bytes, lowercased.
pub fn mac(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(trim_newline(bytes)).ok()?;
    let parts: Vec<&str> = text.split(':').collect();
    let valid = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    valid.then(|| text.to_ascii_lowercase())
}

/// An `operstate` file's contents.
pub fn operstate(bytes: &[u8]) -> OperState {
    match trim_newline(bytes) {
        b"up" => OperState::Up,
        b"down" => OperState::Down,
        b"lowerlayerdown" => OperState::LowerLayerDown,
        b"dormant" => OperState::Dormant,
        b"testing" => OperState::Testing,
        b"notpresent" => OperState::NotPresent,
        b"unknown" | b"" => OperState::Unknown,
        other => OperState::Other(String::from_utf8_lossy(&other[..other.len().min(32)]).into()),
    }
}

fn trim_newline(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\n").unwrap_or(bytes)
}

fn decimal_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &digit| {
        acc.checked_mul(10)?.checked_add(u32::from(digit - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn test_nodename_of_netback() {
        assert_eq!(nodename(b"backend/vif/1/0\n"), Some((DomId(1), 0)));
        assert_eq!(nodename(b"backend/vif/32752/12"), Some((DomId(32752), 12)));
        assert_eq!(nodename(b"backend/vbd/1/51712\n"), None);
        assert_eq!(nodename(b"backend/vif/1/0/extra"), None);
        assert_eq!(nodename(b"backend/vif/1/"), None);
        assert_eq!(nodename(b"backend/vif/99999999999/0"), None);
        assert_eq!(nodename(b"backend/vif/+1/0"), None);
    }

    #[test]
    fn test_interface_names() {
        assert_eq!(
            interface_name(b"vif1.0"),
            Some((DomId(1), 0, VifKind::Netback))
        );
        assert_eq!(
            interface_name(b"vif12.3-emu"),
            Some((DomId(12), 3, VifKind::EmulatedTap))
        );
        for not_vif in [
            &b"vif1"[..],
            b"vif.0",
            b"vif1.",
            b"vif1.0-foo",
            b"xenbr0",
            b"vif1.0.1",
            b"vif-1.0",
            b"vif1.0-emu-emu",
            b"\xffvif1.0",
        ] {
            assert_eq!(interface_name(not_vif), None, "{not_vif:?}");
        }
    }

    #[test]
    fn test_counter_values() {
        assert_eq!(counter(b"3934\n"), Ok(3934));
        assert_eq!(counter(b"18446744073709551615\n"), Ok(u64::MAX));
        assert!(
            counter(b"18446744073709551616\n")
                .unwrap_err()
                .contains("64 bits")
        );
        assert!(counter(b"\n").is_err());
        assert!(counter(b"-1\n").unwrap_err().contains("\"-1\""));
        assert!(counter(b"12 \n").is_err());
    }

    #[test]
    fn test_mtu_and_mac() {
        assert_eq!(mtu(b"1500\n"), Some(1500));
        assert_eq!(mtu(b"x\n"), None);
        assert_eq!(
            mac(b"FE:ff:ff:ff:ff:ff\n").as_deref(),
            Some("fe:ff:ff:ff:ff:ff")
        );
        assert_eq!(mac(b"fe:ff:ff:ff:ff\n"), None);
        assert_eq!(mac(b"fe:ff:ff:ff:ff:fg\n"), None);
    }

    proptest! {
        #[test]
        fn prop_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = nodename(&bytes);
            let _ = interface_name(&bytes);
            let _ = counter(&bytes);
            let _ = mtu(&bytes);
            let _ = mac(&bytes);
            let _ = operstate(&bytes);
        }

        #[test]
        fn prop_interface_names_round_trip(domid in 0u32..0x7ff0, devid in 0u32..1000, emu: bool) {
            let name = format!("vif{domid}.{devid}{}", if emu { "-emu" } else { "" });
            let kind = if emu { VifKind::EmulatedTap } else { VifKind::Netback };
            prop_assert_eq!(interface_name(name.as_bytes()), Some((DomId(domid), devid, kind)));
        }
    }
}
