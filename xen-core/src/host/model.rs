//! The data model of the host view. Field names carry their units (`_ns`, `_kib`, `_bytes`).
//!
//! Counters are as Xen reports them: cumulative since the domain started, so rates need two
//! samples. Network counters are from the dom0 backend interface's point of view, as
//! libxenstat gives them: `rx_*` is what the guest sent, `tx_*` what the guest received.
//!
//! The structs are `#[non_exhaustive]` because they mirror Xen data that grows between
//! releases; code outside this crate builds them from `Default::default()` and sets fields.

use std::fmt;

#[cfg(feature = "serde")]
use serde::Serialize;

/// A domain id (0 is dom0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(transparent))]
pub struct DomId(pub u32);

impl fmt::Display for DomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A domain's name as Xen stores it: bytes, usually UTF-8, possibly with spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DomainName(Vec<u8>);

impl DomainName {
    /// A name from its bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> DomainName {
        DomainName(bytes.into())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name as text, with invalid UTF-8 replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.to_string_lossy())
    }
}

#[cfg(feature = "serde")]
impl Serialize for DomainName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string_lossy())
    }
}

/// A domain's UUID (the `handle` Xen keeps for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uuid(pub [u8; 16]);

impl fmt::Display for Uuid {
    /// The usual 8-4-4-4-12 lowercase form, as `xl list -l` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(feature = "serde")]
impl Serialize for Uuid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

bitflags::bitflags! {
    /// A domain's state flags, as libxenstat and `xl list` report them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct DomainState: u32 {
        /// Running on a physical CPU now.
        const RUNNING = 1 << 0;
        /// Blocked, waiting for an event.
        const BLOCKED = 1 << 1;
        /// Paused by the toolstack.
        const PAUSED = 1 << 2;
        /// Shut down (any reason).
        const SHUTDOWN = 1 << 3;
        /// Shut down because it crashed.
        const CRASHED = 1 << 4;
        /// Being destroyed.
        const DYING = 1 << 5;
    }
}

#[cfg(feature = "serde")]
impl Serialize for DomainState {
    /// As the list of set flag names in lowercase, e.g. `["running"]`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter_names().map(|(name, _)| name.to_ascii_lowercase()))
    }
}

bitflags::bitflags! {
    /// Which details a sample collects (libxenstat's `XENSTAT_*` flags).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct SampleFlags: u32 {
        /// Per-vCPU online state and CPU time.
        const VCPUS = 0x1;
        /// Per-vif counters.
        const NETWORKS = 0x2;
        /// The Xen version string.
        const XEN_VERSION = 0x4;
        /// Per-vbd counters.
        const VBDS = 0x8;
        /// Each domain's UUID and online vCPU count. libxenstat has neither, so the real
        /// backend asks libxenctrl's domain list too: one more hypercall per sample, which
        /// xentop-style sampling leaves out.
        const IDENTITY = 0x100;
    }
}

/// One vCPU of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct VcpuStats {
    /// vCPU number.
    pub id: u32,
    /// Whether it is online.
    pub online: bool,
    /// CPU time used since the domain started.
    pub cpu_time_ns: u64,
}

/// One virtual network interface, counted at its dom0 backend (`vifD.N`): `rx_*` is what the
/// guest sent, `tx_*` what it received.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct VifStats {
    /// Device number within the domain (the N of `vifD.N`).
    pub devid: u32,
    /// Bytes received by the backend (sent by the guest).
    pub rx_bytes: u64,
    /// Packets received by the backend.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Receive drops.
    pub rx_drops: u64,
    /// Bytes sent by the backend (received by the guest).
    pub tx_bytes: u64,
    /// Packets sent by the backend.
    pub tx_packets: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Transmit drops.
    pub tx_drops: u64,
}

/// Which backend serves a virtual block device (libxenstat's vbd types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize), serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum VbdKind {
    /// Type not known.
    #[default]
    Unidentified,
    /// Kernel blkback.
    BlkBack,
    /// blktap.
    BlkTap,
    /// tapdisk3 (XenServer vbd3).
    Tapdisk3,
}

/// One virtual block device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct VbdStats {
    /// Guest device number (51712 is xvda).
    pub devid: u32,
    /// The backend type.
    pub kind: VbdKind,
    /// True when the counters could not be read (xentop prints `-`).
    pub error: bool,
    /// Requests refused because the ring was full.
    pub oo_requests: u64,
    /// Read requests.
    pub read_requests: u64,
    /// Write requests.
    pub write_requests: u64,
    /// 512-byte sectors read.
    pub read_sectors: u64,
    /// 512-byte sectors written.
    pub write_sectors: u64,
}

/// One domain in a sample.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct DomainStats {
    /// Domain id.
    pub domid: DomId,
    /// Name from xenstore.
    pub name: DomainName,
    /// UUID, when the backend knows it.
    pub uuid: Option<Uuid>,
    /// State flags.
    pub state: DomainState,
    /// CPU time used since the domain started.
    pub cpu_time_ns: u64,
    /// Current memory.
    pub memory_kib: u64,
    /// Maximum memory; `None` when unlimited (xentop's `no limit`).
    pub max_memory_kib: Option<u64>,
    /// Online vCPUs (`xl list`'s VCPUs).
    pub online_vcpus: u32,
    /// vCPU slots, highest vCPU id + 1 (xentop's VCPUS).
    pub max_vcpus: u32,
    /// XSM/Flask security id.
    pub ssid: u32,
    /// Per-vCPU details (when sampled with [`SampleFlags::VCPUS`]).
    pub vcpus: Vec<VcpuStats>,
    /// Network interfaces (when sampled with [`SampleFlags::NETWORKS`]).
    pub vifs: Vec<VifStats>,
    /// Block devices (when sampled with [`SampleFlags::VBDS`]).
    pub vbds: Vec<VbdStats>,
}

/// Host-wide numbers in a sample.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct NodeStats {
    /// The Xen version, e.g. `4.17.5` (when sampled with [`SampleFlags::XEN_VERSION`]).
    pub xen_version: Option<String>,
    /// Physical CPUs.
    pub num_cpus: u32,
    /// CPU clock.
    pub cpu_hz: u64,
    /// Host memory.
    pub total_memory_kib: u64,
    /// Memory not given to any domain.
    pub free_memory_kib: u64,
}

/// One statistics sample of the whole host.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct Sample {
    /// When it was taken, on a monotonic clock (only differences mean anything).
    pub monotonic_ns: u64,
    /// When it was taken, as Unix time.
    pub unix_time_ns: u64,
    /// Host-wide numbers.
    pub node: NodeStats,
    /// Every domain, in the order the backend found them.
    pub domains: Vec<DomainStats>,
}

/// The facts `xl info` prints. Memory is in KiB; `xl info` prints MiB.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct HostInfo {
    /// Host name (uname nodename).
    pub host: String,
    /// dom0 kernel release.
    pub release: String,
    /// dom0 kernel version string.
    pub version: String,
    /// Machine (uname machine).
    pub machine: String,
    /// Physical CPUs.
    pub nr_cpus: u32,
    /// Highest physical CPU id.
    pub max_cpu_id: u32,
    /// NUMA nodes.
    pub nr_nodes: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// Threads per core.
    pub threads_per_core: u32,
    /// CPU clock in kHz (`xl info` prints MHz with three decimals).
    pub cpu_khz: u32,
    /// Hardware capability words.
    pub hw_caps: [u32; 8],
    /// Virtualization capabilities, e.g. `["pv", "hvm", "hap", "shadow", "gnttab-v1"]`.
    pub virt_caps: Vec<String>,
    /// Host memory.
    pub total_memory_kib: u64,
    /// Memory not given to any domain.
    pub free_memory_kib: u64,
    /// Memory freed by page sharing.
    pub sharing_freed_memory_kib: u64,
    /// Memory used by shared pages.
    pub sharing_used_memory_kib: u64,
    /// Outstanding memory claims.
    pub outstanding_claims_kib: u64,
    /// CPUs in no CPU pool.
    pub free_cpus: u32,
    /// Xen major version.
    pub xen_major: u32,
    /// Xen minor version.
    pub xen_minor: u32,
    /// Xen extra version, e.g. `.5`.
    pub xen_extra: String,
    /// Guest ABIs the hypervisor supports (`xen_caps`).
    pub xen_caps: String,
    /// Scheduler of the default CPU pool, e.g. `credit2`.
    pub xen_scheduler: String,
    /// Hypervisor page size.
    pub xen_pagesize: u32,
    /// Platform parameters, e.g. `virt_start=0xffff800000000000`.
    pub platform_params: String,
    /// Source changeset (often empty).
    pub xen_changeset: String,
    /// The hypervisor's command line.
    pub xen_commandline: String,
    /// Compiler that built Xen.
    pub cc_compiler: String,
    /// Who built it.
    pub cc_compile_by: String,
    /// Build domain.
    pub cc_compile_domain: String,
    /// Build date.
    pub cc_compile_date: String,
    /// Build id (hex), when the hypervisor has one.
    pub build_id: Option<String>,
    /// CPU, device and NUMA topology (`xl info -n`), when asked for
    /// ([`Host::topology`](crate::host::Host::topology)) or recorded.
    pub topology: Option<crate::host::HostTopology>,
}

impl HostInfo {
    /// The full Xen version, e.g. `4.17.5`.
    pub fn xen_version(&self) -> String {
        format!("{}.{}{}", self.xen_major, self.xen_minor, self.xen_extra)
    }
}
