//! The types of a Xen virtual network interface as dom0 sees it.

use std::fmt;

#[cfg(feature = "serde")]
use serde::Serialize;

use crate::host::{DomId, VifStats};

/// What kind of dom0 interface carries a guest's network device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum VifKind {
    /// The netback interface of a PV network device (`vifD.N`, or renamed with `vifname=`).
    #[default]
    Netback,
    /// The tap of QEMU's emulated NIC for an HVM guest (`vifD.N-emu`). It carries traffic
    /// until the guest's PV drivers take over, so it has its own counters.
    EmulatedTap,
}

/// How the interface was recognised as a vif. libxenstat tries the same two ways, in the
/// same order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum VifSource {
    /// `/sys/class/net/IF/device/nodename` reads `backend/vif/D/N`: a netback device, whatever
    /// its interface name.
    #[default]
    Nodename,
    /// The interface name has the form `vifD.N` or `vifD.N-emu`.
    InterfaceName,
}

/// The link state the kernel reports in `operstate` (RFC 2863 names).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OperState {
    /// `up`.
    Up,
    /// `down`.
    Down,
    /// `lowerlayerdown`.
    LowerLayerDown,
    /// `dormant`.
    Dormant,
    /// `testing`.
    Testing,
    /// `notpresent`.
    NotPresent,
    /// `unknown`, or the file could not be read.
    #[default]
    Unknown,
    /// A word this version does not know.
    Other(String),
}

impl OperState {
    /// The kernel's word for it.
    pub fn as_str(&self) -> &str {
        match self {
            OperState::Up => "up",
            OperState::Down => "down",
            OperState::LowerLayerDown => "lowerlayerdown",
            OperState::Dormant => "dormant",
            OperState::Testing => "testing",
            OperState::NotPresent => "notpresent",
            OperState::Unknown => "unknown",
            OperState::Other(word) => word,
        }
    }
}

impl fmt::Display for OperState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl Serialize for OperState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A vif's traffic counters, named from the **guest's** point of view.
///
/// dom0's interface sees the opposite direction: what the backend transmits (`tx_*` in
/// `statistics/`, xentop's NETTX) is what the guest receives, so `guest_rx_bytes` is the
/// backend's `tx_bytes`, and `guest_tx_bytes` its `rx_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct VifCounters {
    /// Bytes the guest received (backend `tx_bytes`).
    pub guest_rx_bytes: u64,
    /// Packets the guest received (backend `tx_packets`).
    pub guest_rx_packets: u64,
    /// Errors on the way to the guest (backend `tx_errors`).
    pub guest_rx_errors: u64,
    /// Packets dropped on the way to the guest (backend `tx_dropped`), e.g. because its
    /// receive ring was full.
    pub guest_rx_drops: u64,
    /// Bytes the guest sent (backend `rx_bytes`).
    pub guest_tx_bytes: u64,
    /// Packets the guest sent (backend `rx_packets`).
    pub guest_tx_packets: u64,
    /// Errors on what the guest sent (backend `rx_errors`).
    pub guest_tx_errors: u64,
    /// Packets the guest sent that dom0 dropped (backend `rx_dropped`).
    pub guest_tx_drops: u64,
}

impl VifCounters {
    /// From the backend interface's own counters (its `rx_*` and `tx_*`, as in `statistics/`
    /// or [`VifStats`]).
    pub fn from_backend(backend: &VifStats) -> VifCounters {
        VifCounters {
            guest_rx_bytes: backend.tx_bytes,
            guest_rx_packets: backend.tx_packets,
            guest_rx_errors: backend.tx_errors,
            guest_rx_drops: backend.tx_drops,
            guest_tx_bytes: backend.rx_bytes,
            guest_tx_packets: backend.rx_packets,
            guest_tx_errors: backend.rx_errors,
            guest_tx_drops: backend.rx_drops,
        }
    }

    /// Back to the backend's view, as libxenstat reports it.
    pub fn to_backend(&self, devid: u32) -> VifStats {
        VifStats {
            devid,
            rx_bytes: self.guest_tx_bytes,
            rx_packets: self.guest_tx_packets,
            rx_errors: self.guest_tx_errors,
            rx_drops: self.guest_tx_drops,
            tx_bytes: self.guest_rx_bytes,
            tx_packets: self.guest_rx_packets,
            tx_errors: self.guest_rx_errors,
            tx_drops: self.guest_rx_drops,
        }
    }
}

/// One Xen virtual network interface in dom0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct Vif {
    /// The dom0 interface name, e.g. `vif1.0` (lossily converted if it is not UTF-8).
    pub interface: String,
    /// The guest domain.
    pub domid: DomId,
    /// The device number within the guest (`xl network-list`'s Idx).
    pub devid: u32,
    /// Netback interface or QEMU tap.
    pub kind: VifKind,
    /// How it was recognised.
    pub source: VifSource,
    /// The bridge it is a port of, if any (`vif-route` and `vif-nat` vifs have none; an
    /// Open vSwitch port shows its datapath, `ovs-system`).
    pub bridge: Option<String>,
    /// Link state.
    pub operstate: OperState,
    /// MTU in bytes, when readable.
    pub mtu_bytes: Option<u32>,
    /// dom0's MAC address of the backend interface (netback uses `fe:ff:ff:ff:ff:ff`; the
    /// guest's own MAC is in xenstore, not here).
    pub backend_mac: Option<String>,
    /// Traffic, from the guest's point of view (flattened into the vif's fields in JSON).
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub counters: VifCounters,
}

impl Vif {
    /// The counters in the host model's backend view, for code that mixes sysfs and
    /// libxenstat data.
    pub fn to_vif_stats(&self) -> VifStats {
        self.counters.to_backend(self.devid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_counters_swap_directions_both_ways() {
        let backend = VifStats {
            devid: 3,
            rx_bytes: 1,
            rx_packets: 2,
            rx_errors: 3,
            rx_drops: 4,
            tx_bytes: 5,
            tx_packets: 6,
            tx_errors: 7,
            tx_drops: 8,
        };
        let guest = VifCounters::from_backend(&backend);
        assert_eq!(guest.guest_rx_bytes, 5);
        assert_eq!(guest.guest_rx_drops, 8);
        assert_eq!(guest.guest_tx_bytes, 1);
        assert_eq!(guest.guest_tx_errors, 3);
        assert_eq!(guest.to_backend(3), backend);
    }

    #[test]
    fn test_operstate_words_round_trip() {
        for word in [
            "up",
            "down",
            "lowerlayerdown",
            "dormant",
            "testing",
            "notpresent",
            "unknown",
        ] {
            assert_eq!(crate::net::parse::operstate(word.as_bytes()).as_str(), word);
        }
        assert_eq!(
            crate::net::parse::operstate(b"weird\n"),
            OperState::Other("weird".into())
        );
    }
}
