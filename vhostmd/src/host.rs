//! The hypervisor's view of the host, for the built-in host collectors.
//!
//! vhostmd exists to tell guests about the host they run on. On a Xen host the daemon runs in
//! dom0, whose own `/proc` describes dom0 (say 1 GiB and one vCPU), not the machine: the
//! physical CPUs and memory are the hypervisor's. A [`VmSource`](crate::VmSource) that talks
//! to a hypervisor therefore returns, with its VM list, a [`HostView::Hypervisor`] from the
//! same sample; the collectors then read the host's figures from it. Sources without one
//! leave [`HostView::Local`] and the collectors read `/proc` and `/sys` as before.

use crate::error::VhostmdError;
use crate::vms::Vm;

/// Host-wide figures as the hypervisor reports them (Xen: physinfo and the domain list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct HostStats {
    /// Physical CPUs (`xl info` nr_cpus).
    pub physical_cpus: u32,
    /// Physical CPU clock, when known.
    pub cpu_mhz: Option<u32>,
    /// Host memory (`xl info` total_memory).
    pub total_memory_kib: u64,
    /// Memory no domain holds (`xl info` free_memory).
    pub free_memory_kib: u64,
    /// CPU time every domain has used (Domain-0 included): the host's busy CPU time.
    pub cpu_time_ns: u64,
    /// Memory held by the guests (every domain but Domain-0).
    pub guest_memory_kib: u64,
}

impl HostStats {
    /// Host figures: physical CPUs, total and free memory.
    pub fn new(physical_cpus: u32, total_memory_kib: u64, free_memory_kib: u64) -> HostStats {
        HostStats {
            physical_cpus,
            total_memory_kib,
            free_memory_kib,
            ..HostStats::default()
        }
    }

    /// These figures with the CPU time all domains used and the memory the guests hold.
    pub fn with_usage(mut self, cpu_time_ns: u64, guest_memory_kib: u64) -> HostStats {
        self.cpu_time_ns = cpu_time_ns;
        self.guest_memory_kib = guest_memory_kib;
        self
    }

    /// These figures with the CPU clock.
    pub fn with_cpu_mhz(mut self, cpu_mhz: Option<u32>) -> HostStats {
        self.cpu_mhz = cpu_mhz;
        self
    }
}

/// Where the host collectors read the host's CPUs, memory and CPU time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HostView {
    /// This operating system's `/proc` and `/sys` (not on a hypervisor, or a source without
    /// one).
    #[default]
    Local,
    /// The hypervisor's figures.
    Hypervisor(HostStats),
    /// The source speaks to a hypervisor but could not sample it this update: metrics that
    /// need it are left out (rather than filled with the local OS's figures, which would
    /// describe dom0, not the host).
    Unavailable(String),
}

/// One update's VMs and host view, from [`VmSource::snapshot`](crate::VmSource::snapshot).
#[derive(Debug)]
#[non_exhaustive]
pub struct Snapshot {
    /// Where host figures come from.
    pub host: HostView,
    /// The running VMs.
    pub vms: Vec<Vm>,
    /// Why the source failed this update, when it did (the VM list is then empty).
    pub problem: Option<VhostmdError>,
}

impl Snapshot {
    /// VMs with a host view.
    pub fn new(host: HostView, vms: Vec<Vm>) -> Snapshot {
        Snapshot {
            host,
            vms,
            problem: None,
        }
    }

    /// A failed sample: no VMs, the error kept for the log.
    pub fn failed(host: HostView, problem: VhostmdError) -> Snapshot {
        Snapshot {
            host,
            vms: Vec::new(),
            problem: Some(problem),
        }
    }
}
