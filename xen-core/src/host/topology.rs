//! The host's CPU, PCI device and NUMA node topology: what `xl info -n` adds to `xl info`.
//!
//! Xen marks an unknown id or size with all ones (`XEN_INVALID_*`); here that is `None`.

use std::fmt;

#[cfg(feature = "serde")]
use serde::Serialize;

/// CPUs, PCI devices and NUMA nodes, in the order Xen (and sysfs, for devices) lists them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct HostTopology {
    /// One entry per CPU id Xen reports, offline ones included.
    pub cpus: Vec<CpuTopology>,
    /// Every PCI device dom0 sees with the node Xen gives it; `None` when the devices could
    /// not be listed or Xen refused the query (`xl info -n` then prints no device table).
    pub pci_devices: Option<Vec<PciTopology>>,
    /// One entry per NUMA node id.
    pub nodes: Vec<NumaNode>,
}

/// Where one physical CPU sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct CpuTopology {
    /// The CPU id.
    pub cpu: u32,
    /// Core id; `None` for a CPU that is not online.
    pub core: Option<u32>,
    /// Socket id.
    pub socket: Option<u32>,
    /// NUMA node id.
    pub node: Option<u32>,
}

/// A PCI device and its NUMA node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct PciTopology {
    /// PCI segment (domain).
    pub segment: u16,
    /// Bus.
    pub bus: u8,
    /// Device and function, as `device << 3 | function`.
    pub devfn: u8,
    /// NUMA node; `None` when Xen does not know it (or does not know the device).
    pub node: Option<u32>,
}

impl PciTopology {
    /// Device number (0..32).
    pub fn device(&self) -> u8 {
        self.devfn >> 3
    }

    /// Function number (0..8).
    pub fn function(&self) -> u8 {
        self.devfn & 7
    }
}

impl fmt::Display for PciTopology {
    /// `SSSS:BB:DD.F`, as sysfs and `xl info -n` name devices.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.segment,
            self.bus,
            self.device(),
            self.function()
        )
    }
}

/// One NUMA node's memory and its distances to every node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct NumaNode {
    /// The node id.
    pub node: u32,
    /// Memory on the node; `None` when the node id is not in use.
    pub memory_bytes: Option<u64>,
    /// Free memory on the node.
    pub free_bytes: Option<u64>,
    /// Distance to node 0, 1, ... (10 is local by ACPI convention).
    pub distances: Vec<Option<u32>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_pci_name_is_sysfs_style() {
        let dev = PciTopology {
            segment: 0,
            bus: 0x3b,
            devfn: (0x1f << 3) | 6,
            node: Some(1),
        };
        assert_eq!(dev.to_string(), "0000:3b:1f.6");
        assert_eq!((dev.device(), dev.function()), (0x1f, 6));
    }
}
