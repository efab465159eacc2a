//! The host view: what `xl list`, `xl info` and xentop show, as typed data.
//!
//! A [`Host`] wraps a [`HostBackend`]: the real one talks to Xen through the libraries
//! [`xen_sys`] loads at run time; [`RecordedBackend`] replays samples so that formatting and
//! maths are tested without Xen.

mod backend;
pub mod capture;
mod cmdline;
mod domain_spec;
mod model;
mod pci_sysfs;
mod rates;
mod recorded;
mod status;
mod topology;
mod xen_backend;

pub use backend::{Host, HostBackend};
pub use cmdline::{running_commandline, running_commandline_with};
pub use domain_spec::{DomainSpec, lookup, select};
pub use model::{
    DomId, DomainName, DomainState, DomainStats, HostInfo, NodeStats, Sample, SampleFlags, Uuid,
    VbdKind, VbdStats, VcpuStats, VifStats,
};
pub use rates::{DomainDelta, Interval, Totals, VbdTotals};
pub use recorded::RecordedBackend;
pub use status::{StateCounts, XenHostStatus, XenStatus};
pub use topology::{CpuTopology, HostTopology, NumaNode, PciTopology};
pub use xen_backend::XenBackend;
