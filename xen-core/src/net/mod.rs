//! Xen virtual network interfaces (vifs) as dom0 sees them, read from sysfs: which
//! interfaces belong to which guest, their bridge, link state and traffic counters.
//!
//! This needs no Xen library: a vif's domid and device number come from its netback
//! `device/nodename` or its name (see [`SysfsNet::vifs`]), so it works on any host with a
//! sysfs, and on a copy of one. Domain names are not in sysfs; join them from a
//! [`Sample`](crate::host::Sample) when the Xen libraries are available.
//!
//! Counters are named from the **guest's** point of view ([`VifCounters`]): the guest
//! receives what dom0's `vifD.N` transmits. xentop's NETTX column is therefore the guest's
//! receive traffic.
//!
//! ```
//! use std::fs;
//! use xen_core::net::SysfsNet;
//!
//! // A sysfs tree with one netback interface of domain 1.
//! let root = tempfile::tempdir()?;
//! let stats = root.path().join("class/net/vif1.0/statistics");
//! fs::create_dir_all(&stats)?;
//! for (file, value) in [("rx_bytes", 2792), ("tx_bytes", 3934)] {
//!     fs::write(stats.join(file), format!("{value}\n"))?;
//! }
//! for file in ["rx_packets", "rx_errors", "rx_dropped", "tx_packets", "tx_errors", "tx_dropped"] {
//!     fs::write(stats.join(file), "0\n")?;
//! }
//!
//! let vifs = SysfsNet::at(root.path()).vifs()?;
//! assert_eq!(vifs[0].domid.0, 1);
//! assert_eq!(vifs[0].counters.guest_rx_bytes, 3934); // what vif1.0 transmitted
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod parse;
mod sysfs;
mod table;
mod vif;

pub use sysfs::SysfsNet;
pub use table::{NetRow, domain_names, rows, table};
pub use vif::{OperState, Vif, VifCounters, VifKind, VifSource};
