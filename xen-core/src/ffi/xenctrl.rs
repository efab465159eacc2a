//! libxenctrl: the hypercall interface (`xc_interface`), with the calls xenadm uses returning
//! plain Rust values.

// Length note: over 700 lines only with the unit tests at the bottom (the wrapper itself is
// about 660 lines: one safe method per libxenctrl call, each with its SAFETY note).

use std::ffi::{c_int, c_void};
use std::ptr::NonNull;
use std::sync::Arc;

use xen_sys::XenCtrl;
use xen_sys::v4_17::types::{
    XEN_INVALID_CORE_ID, XEN_INVALID_DEV, XEN_INVALID_MEM_SZ, XEN_INVALID_NODE_DIST,
    XEN_INVALID_NODE_ID, XEN_INVALID_SOCKET_ID, XENVER_build_id, XENVER_capabilities,
    XENVER_changeset, XENVER_commandline, XENVER_compile_info, XENVER_extraversion,
    XENVER_pagesize, XENVER_platform_parameters, XENVER_version, physdev_pci_device_t,
    xc_cputopo_t, xc_domaininfo_t, xc_error_code_XC_ERROR_NONE, xc_interface, xc_meminfo_t,
    xc_physinfo_t, xc_vcpuinfo_t, xen_compile_info_t, xen_platform_parameters_t,
};

use super::logger::XtlLogger;
use super::{errno_error, string_from_bytes, string_from_c_chars};
use crate::XenError;
use crate::host::{CpuTopology, DomId, NumaNode, PciTopology};

/// Domains fetched per `xc_domain_getinfolist` call (as libxenstat does).
const DOMAINS_PER_CALL: u32 = 256;

/// The first domid Xen reserves for itself (`DOMID_FIRST_RESERVED`); no guest has one this
/// high.
const DOMID_FIRST_RESERVED: u32 = 0x7FF0;

/// More CPUs than any Xen build supports (NR_CPUS is at most 8192 on x86 and Arm): a larger
/// count is a broken answer, and is refused rather than allocated for.
const MAX_CPUS: u32 = 1 << 16;

/// More NUMA nodes than any Xen build supports (MAX_NUMNODES is 64 on x86): the distance
/// table grows with the square.
const MAX_NUMA_NODES: u32 = 1 << 10;

/// Bytes of the largest `XENVER_*` result (`xen_commandline_t`, `xen_capabilities_info_t`).
const VERSION_BUFFER_BYTES: usize = 1024;

/// An open `xc_interface`: hypercalls through `/dev/xen/privcmd`. Closed on drop.
#[derive(Debug)]
pub struct XcInterface {
    xch: NonNull<xc_interface>,
    lib: Arc<XenCtrl>,
    // Dropped after the handle (Drop closes the handle first): libxenctrl logs through it
    // until then.
    _logger: XtlLogger,
}

// SAFETY: an xc_interface is not bound to the thread that opened it (libxenctrl guards its
// shared caches with a mutex); XcInterface is not Sync, so one thread uses it at a time.
unsafe impl Send for XcInterface {}

/// `xc_physinfo`: the host's CPUs and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PhysInfo {
    /// Threads per core.
    pub threads_per_core: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// Online CPUs.
    pub nr_cpus: u32,
    /// Highest possible CPU id.
    pub max_cpu_id: u32,
    /// Online NUMA nodes.
    pub nr_nodes: u32,
    /// Highest possible node id.
    pub max_node_id: u32,
    /// CPU clock.
    pub cpu_khz: u32,
    /// `XEN_SYSCTL_PHYSCAP_*` bits.
    pub capabilities: u32,
    /// Host memory, in hypervisor pages.
    pub total_pages: u64,
    /// Memory owned by no domain, in pages.
    pub free_pages: u64,
    /// Pages waiting to be scrubbed.
    pub scrub_pages: u64,
    /// Pages promised to outstanding claims.
    pub outstanding_pages: u64,
    /// Hardware capability words.
    pub hw_cap: [u32; 8],
}

/// One domain as `xc_domain_getinfolist` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DomainInfo {
    /// The domain.
    pub domid: DomId,
    /// `XEN_DOMINF_*` flags, with the shutdown code in bits 16-23.
    pub flags: u32,
    /// Pages it owns now.
    pub tot_pages: u64,
    /// Its page limit (`u32::MAX` or more: no limit).
    pub max_pages: u64,
    /// CPU time used, all vCPUs.
    pub cpu_time_ns: u64,
    /// vCPUs online.
    pub nr_online_vcpus: u32,
    /// Highest vCPU id (`u32::MAX` when it has none).
    pub max_vcpu_id: u32,
    /// XSM security id.
    pub ssidref: u32,
    /// Its UUID (all zeros for dom0).
    pub handle: [u8; 16],
    /// Its CPU pool.
    pub cpupool: u32,
}

/// One vCPU as `xc_vcpu_getinfo` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VcpuInfo {
    /// Online (not hot-unplugged).
    pub online: bool,
    /// Blocked waiting for an event.
    pub blocked: bool,
    /// Running now.
    pub running: bool,
    /// CPU time used.
    pub cpu_time_ns: u64,
    /// The physical CPU it runs or last ran on.
    pub cpu: u32,
}

/// The hypervisor's version facts (`xc_version` with each `XENVER_*` command), as
/// `libxl_get_version_info` gathers them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VersionInfo {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Extra version, e.g. `.5`.
    pub extra: String,
    /// Compiler.
    pub compiler: String,
    /// Built by.
    pub compile_by: String,
    /// Build domain.
    pub compile_domain: String,
    /// Build date.
    pub compile_date: String,
    /// Guest ABIs, e.g. `xen-3.0-x86_64 hvm-3.0-x86_32 ...`.
    pub capabilities: String,
    /// Source changeset.
    pub changeset: String,
    /// Start of the hypervisor's virtual address range.
    pub virt_start: u64,
    /// Hypervisor page size in bytes.
    pub pagesize: u32,
    /// Hypervisor command line.
    pub commandline: String,
    /// Build id in hex: `Some("")` when the hypervisor has none, `None` when it would not say.
    pub build_id: Option<String>,
}

/// Room for any `XENVER_*` result, aligned for the structs among them.
#[repr(C, align(8))]
struct VersionBuffer([u8; VERSION_BUFFER_BYTES]);

impl XcInterface {
    /// Opens the hypercall interface, logging through `logger`.
    pub fn open(lib: Arc<XenCtrl>, logger: XtlLogger) -> Result<XcInterface, XenError> {
        // SAFETY: the logger outlives the handle (kept in the returned value); flags 0.
        let xch = unsafe { lib.xc_interface_open(logger.as_ptr(), logger.as_ptr(), 0) };
        match NonNull::new(xch) {
            Some(xch) => Ok(XcInterface {
                xch,
                lib,
                _logger: logger,
            }),
            None => Err(errno_error("xc_interface_open")),
        }
    }

    /// The error of the call that just failed: errno, and libxenctrl's own message when it
    /// left one (`xc_get_last_error`, as git2's `Error::last_error` takes libgit2's). The
    /// message is cleared after it is read, so the next failure cannot show a stale one.
    pub(super) fn error(&self, call: &'static str) -> XenError {
        let source = std::io::Error::last_os_error();
        // SAFETY: the handle is open; the result points into the handle (or is NULL) and is
        // read before any other call on it.
        let last = unsafe { self.lib.xc_get_last_error(self.xch.as_ptr()) };
        // SAFETY: non-NULL, it points to the handle's `xc_error`, valid until the next call.
        let last = (!last.is_null()).then(|| unsafe { &*last });
        let reported = last
            .filter(|e| e.code != xc_error_code_XC_ERROR_NONE)
            .map(|e| (e.code, string_from_c_chars(&e.message)));
        // SAFETY: the handle is open.
        unsafe { self.lib.xc_clear_last_error(self.xch.as_ptr()) };
        match reported {
            Some((code, message)) => XenError::Libxc {
                call,
                code,
                message: message.trim_end().to_owned(),
                source,
            },
            None => XenError::Call { call, source },
        }
    }

    /// The raw handle, for the other libraries' calls that take one (libxenguest's).
    pub(super) fn as_ptr(&self) -> *mut xc_interface {
        self.xch.as_ptr()
    }

    /// libxenctrl's function table, for the calls bound in other files of this module.
    pub(super) fn lib(&self) -> &XenCtrl {
        &self.lib
    }

    /// The host's CPUs and memory.
    pub fn physinfo(&self) -> Result<PhysInfo, XenError> {
        // SAFETY: xc_physinfo_t is plain integers, for which all zeros is valid.
        let mut info: xc_physinfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: the handle is open and `info` is valid for writes.
        if unsafe { self.lib.xc_physinfo(self.xch.as_ptr(), &mut info) } != 0 {
            return Err(self.error("xc_physinfo"));
        }
        Ok(PhysInfo {
            threads_per_core: info.threads_per_core,
            cores_per_socket: info.cores_per_socket,
            nr_cpus: info.nr_cpus,
            max_cpu_id: info.max_cpu_id,
            nr_nodes: info.nr_nodes,
            max_node_id: info.max_node_id,
            cpu_khz: info.cpu_khz,
            capabilities: info.capabilities,
            total_pages: info.total_pages,
            free_pages: info.free_pages,
            scrub_pages: info.scrub_pages,
            outstanding_pages: info.outstanding_pages,
            hw_cap: info.hw_cap,
        })
    }

    /// Every domain, in domid order.
    ///
    /// `xc_domain_getinfolist` returns domains with ids from `first` on; the next call starts
    /// after the last id returned (not after the count, libxenstat's mistake).
    pub fn domains(&self) -> Result<Vec<DomainInfo>, XenError> {
        // SAFETY: plain integers; all zeros is valid.
        let blank: xc_domaininfo_t = unsafe { std::mem::zeroed() };
        let mut buffer = vec![blank; DOMAINS_PER_CALL as usize];
        let mut domains = Vec::new();
        let mut first = 0u32;
        while first < DOMID_FIRST_RESERVED {
            // SAFETY: the buffer holds DOMAINS_PER_CALL entries, the count passed.
            let count = unsafe {
                self.lib.xc_domain_getinfolist(
                    self.xch.as_ptr(),
                    first,
                    DOMAINS_PER_CALL,
                    buffer.as_mut_ptr(),
                )
            };
            let Ok(count) = usize::try_from(count) else {
                return Err(self.error("xc_domain_getinfolist"));
            };
            let got = &buffer[..count.min(buffer.len())];
            domains.extend(got.iter().map(domain_info));
            match got.last() {
                Some(last) if got.len() == buffer.len() => first = u32::from(last.domain) + 1,
                _ => break,
            }
        }
        Ok(domains)
    }

    /// One domain, or `None` when it does not exist (any more).
    pub fn domain(&self, domid: DomId) -> Result<Option<DomainInfo>, XenError> {
        // SAFETY: plain integers; all zeros is valid.
        let mut info: xc_domaininfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: room for the one entry asked for.
        let count = unsafe {
            self.lib
                .xc_domain_getinfolist(self.xch.as_ptr(), domid.0, 1, &mut info)
        };
        if count < 0 {
            return Err(self.error("xc_domain_getinfolist"));
        }
        // The call returns the first domain at or after `domid`: check it is this one.
        Ok((count == 1 && u32::from(info.domain) == domid.0).then(|| domain_info(&info)))
    }

    /// One vCPU of a domain.
    pub fn vcpu(&self, domid: DomId, vcpu: u32) -> Result<VcpuInfo, XenError> {
        // SAFETY: plain integers; all zeros is valid.
        let mut info: xc_vcpuinfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: the handle is open and `info` is valid for writes.
        if unsafe {
            self.lib
                .xc_vcpu_getinfo(self.xch.as_ptr(), domid.0, vcpu, &mut info)
        } != 0
        {
            return Err(XenError::Vcpu {
                domid,
                vcpu,
                source: Box::new(self.error("xc_vcpu_getinfo")),
            });
        }
        Ok(VcpuInfo {
            online: info.online != 0,
            blocked: info.blocked != 0,
            running: info.running != 0,
            cpu_time_ns: info.cpu_time,
            cpu: info.cpu,
        })
    }

    /// The scheduler of the default CPU pool, as its `XEN_SCHEDULER_*` number.
    pub fn sched_id(&self) -> Result<u32, XenError> {
        let mut id: c_int = 0;
        // SAFETY: the handle is open and `id` is valid for writes.
        if unsafe { self.lib.xc_sched_id(self.xch.as_ptr(), &mut id) } != 0 {
            return Err(self.error("xc_sched_id"));
        }
        u32::try_from(id).map_err(|_| XenError::Call {
            call: "xc_sched_id",
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, format!("id {id}")),
        })
    }

    /// CPUs in no CPU pool (what `xl info` calls `free_cpus`).
    pub fn free_cpus(&self) -> Result<u32, XenError> {
        // SAFETY: the handle is open.
        let max_cpus = unsafe { self.lib.xc_get_max_cpus(self.xch.as_ptr()) };
        let max_cpus = usize::try_from(max_cpus).map_err(|_| self.error("xc_get_max_cpus"))?;
        // SAFETY: the handle is open.
        let map_bytes = unsafe { self.lib.xc_get_cpumap_size(self.xch.as_ptr()) };
        let map_bytes = usize::try_from(map_bytes).map_err(|_| self.error("xc_get_cpumap_size"))?;
        // SAFETY: the handle is open; the result is NULL or a malloc'd map of
        // xc_get_cpumap_size bytes, which we free below.
        let map = unsafe { self.lib.xc_cpupool_freeinfo(self.xch.as_ptr()) };
        if map.is_null() {
            return Err(self.error("xc_cpupool_freeinfo"));
        }
        // SAFETY: the map holds `map_bytes` bytes (xc_cpumap_alloc's size).
        let bytes = unsafe { std::slice::from_raw_parts(map, map_bytes) };
        let free = count_cpus(bytes, max_cpus);
        // SAFETY: malloc'd by libxenctrl, freed once.
        unsafe { libc::free(map.cast::<c_void>()) };
        Ok(free)
    }

    /// Where each CPU sits (`xc_cputopoinfo`), as libxl_get_cpu_topology asks: first the
    /// count, then the entries.
    pub fn cpu_topology(&self) -> Result<Vec<CpuTopology>, XenError> {
        let mut count: u32 = 0;
        // SAFETY: the handle is open; a NULL buffer asks only for the count.
        let rc = unsafe {
            self.lib
                .xc_cputopoinfo(self.xch.as_ptr(), &mut count, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(self.error("xc_cputopoinfo"));
        }
        let zero = xc_cputopo_t {
            core: 0,
            socket: 0,
            node: 0,
        };
        let count = bounded(count, MAX_CPUS, "xc_cputopoinfo")?;
        let mut entries = vec![zero; usize_from(count)];
        let mut filled = count;
        // SAFETY: `entries` holds `filled` elements; Xen writes at most that many.
        let rc = unsafe {
            self.lib
                .xc_cputopoinfo(self.xch.as_ptr(), &mut filled, entries.as_mut_ptr())
        };
        if rc != 0 {
            return Err(self.error("xc_cputopoinfo"));
        }
        // A CPU brought online in between makes Xen report more than it wrote.
        entries.truncate(usize_from(filled.min(count)));
        Ok(entries
            .iter()
            .zip(0u32..)
            .map(|(e, cpu)| CpuTopology {
                cpu,
                core: valid(e.core, XEN_INVALID_CORE_ID as u32),
                socket: valid(e.socket, XEN_INVALID_SOCKET_ID as u32),
                node: valid(e.node, XEN_INVALID_NODE_ID as u32),
            })
            .collect())
    }

    /// Memory and distances of each NUMA node (`xc_numainfo`), count first as libxl does.
    pub fn numa_nodes(&self) -> Result<Vec<NumaNode>, XenError> {
        let mut count: u32 = 0;
        // SAFETY: the handle is open; NULL buffers ask only for the count.
        let rc = unsafe {
            self.lib.xc_numainfo(
                self.xch.as_ptr(),
                &mut count,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Err(self.error("xc_numainfo"));
        }
        let count = bounded(count, MAX_NUMA_NODES, "xc_numainfo")?;
        let n = usize_from(count);
        let mut memory = vec![
            xc_meminfo_t {
                memsize: 0,
                memfree: 0,
            };
            n
        ];
        let mut distances = vec![0u32; n.saturating_mul(n)];
        let mut filled = count;
        // SAFETY: `memory` holds `count` entries and `distances` count * count; Xen writes
        // within those.
        let rc = unsafe {
            self.lib.xc_numainfo(
                self.xch.as_ptr(),
                &mut filled,
                memory.as_mut_ptr(),
                distances.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(self.error("xc_numainfo"));
        }
        let filled = usize_from(filled.min(count));
        let invalid_size = u64::from(XEN_INVALID_MEM_SZ as u32);
        Ok(memory
            .iter()
            .take(filled)
            .zip(0u32..)
            .map(|(m, node)| {
                let row = usize_from(node).saturating_mul(n);
                NumaNode {
                    node,
                    memory_bytes: (m.memsize != invalid_size).then_some(m.memsize),
                    free_bytes: (m.memfree != invalid_size).then_some(m.memfree),
                    distances: distances
                        .get(row..row + filled)
                        .unwrap_or_default()
                        .iter()
                        .map(|&d| valid(d, XEN_INVALID_NODE_DIST as u32))
                        .collect(),
                }
            })
            .collect())
    }

    /// The NUMA node of each PCI device (`xc_pcitopoinfo`), in the order given.
    pub fn pci_nodes(&self, devices: &[PciTopology]) -> Result<Vec<Option<u32>>, XenError> {
        let mut devs: Vec<physdev_pci_device_t> = devices
            .iter()
            .map(|d| physdev_pci_device_t {
                seg: d.segment,
                bus: d.bus,
                devfn: d.devfn,
            })
            .collect();
        let mut nodes = vec![0u32; devs.len()];
        let count = u32::try_from(devs.len()).map_err(|_| XenError::Call {
            call: "xc_pcitopoinfo",
            source: std::io::Error::from_raw_os_error(libc::E2BIG),
        })?;
        // SAFETY: both arrays hold `count` elements; libxenctrl reads `devs` and writes
        // `nodes`.
        let rc = unsafe {
            self.lib.xc_pcitopoinfo(
                self.xch.as_ptr(),
                count,
                devs.as_mut_ptr(),
                nodes.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(self.error("xc_pcitopoinfo"));
        }
        let invalid_dev = XEN_INVALID_DEV as u32;
        Ok(nodes
            .into_iter()
            .map(|n| valid(n, XEN_INVALID_NODE_ID as u32).filter(|&n| n != invalid_dev))
            .collect())
    }

    /// Pages freed by memory sharing, and pages in use by shared frames.
    pub fn sharing_pages(&self) -> Result<(u64, u64), XenError> {
        // SAFETY: the handle is open.
        let freed = unsafe { self.lib.xc_sharing_freed_pages(self.xch.as_ptr()) };
        let freed = u64::try_from(freed).map_err(|_| self.error("xc_sharing_freed_pages"))?;
        // SAFETY: the handle is open.
        let used = unsafe { self.lib.xc_sharing_used_frames(self.xch.as_ptr()) };
        let used = u64::try_from(used).map_err(|_| self.error("xc_sharing_used_frames"))?;
        Ok((freed, used))
    }

    /// The hypervisor's version facts.
    pub fn version_info(&self) -> Result<VersionInfo, XenError> {
        let version = self.version_number(XENVER_version, "xc_version(XENVER_version)")?;
        let pagesize = self.version_number(XENVER_pagesize, "xc_version(XENVER_pagesize)")?;
        let text = |cmd, call| self.version_text(cmd, call);
        let compile = self.version_struct::<xen_compile_info_t>(
            XENVER_compile_info,
            "xc_version(XENVER_compile_info)",
        )?;
        let platform = self.version_struct::<xen_platform_parameters_t>(
            XENVER_platform_parameters,
            "xc_version(XENVER_platform_parameters)",
        )?;
        Ok(VersionInfo {
            major: version >> 16,
            minor: version & 0xffff,
            extra: text(XENVER_extraversion, "xc_version(XENVER_extraversion)")?,
            compiler: string_from_c_chars(&compile.compiler),
            compile_by: string_from_c_chars(&compile.compile_by),
            compile_domain: string_from_c_chars(&compile.compile_domain),
            compile_date: string_from_c_chars(&compile.compile_date),
            capabilities: text(XENVER_capabilities, "xc_version(XENVER_capabilities)")?,
            changeset: text(XENVER_changeset, "xc_version(XENVER_changeset)")?,
            virt_start: platform.virt_start,
            pagesize,
            commandline: text(XENVER_commandline, "xc_version(XENVER_commandline)")?,
            build_id: self.build_id(),
        })
    }

    /// The command line the hypervisor was booted with (`xl info`'s `xen_commandline`).
    pub fn commandline(&self) -> Result<String, XenError> {
        self.version_text(XENVER_commandline, "xc_version(XENVER_commandline)")
    }

    /// `xc_version` commands that answer in the return value.
    fn version_number(&self, cmd: u32, call: &'static str) -> Result<u32, XenError> {
        // SAFETY: these commands take no argument buffer.
        let rc = unsafe {
            self.lib
                .xc_version(self.xch.as_ptr(), cmd as c_int, std::ptr::null_mut())
        };
        u32::try_from(rc).map_err(|_| rc_error(call, rc))
    }

    /// Runs `cmd` into a zeroed buffer; returns the buffer and the return value.
    fn version_raw(
        &self,
        cmd: u32,
        call: &'static str,
        prepare: impl FnOnce(&mut VersionBuffer),
    ) -> Result<(Box<VersionBuffer>, c_int), XenError> {
        let mut buffer = Box::new(VersionBuffer([0; VERSION_BUFFER_BYTES]));
        prepare(&mut buffer);
        // SAFETY: the buffer is VERSION_BUFFER_BYTES long and 8-byte aligned, which holds the
        // largest XENVER_* result; for XENVER_build_id its `len` field says how much follows.
        let rc = unsafe {
            self.lib.xc_version(
                self.xch.as_ptr(),
                cmd as c_int,
                buffer.0.as_mut_ptr().cast::<c_void>(),
            )
        };
        if rc < 0 {
            return Err(rc_error(call, rc));
        }
        Ok((buffer, rc))
    }

    /// A `char[]` result (extraversion, capabilities, changeset, command line).
    fn version_text(&self, cmd: u32, call: &'static str) -> Result<String, XenError> {
        let (buffer, _) = self.version_raw(cmd, call, |_| {})?;
        Ok(string_from_bytes(&buffer.0))
    }

    /// A struct result.
    fn version_struct<T: Copy>(&self, cmd: u32, call: &'static str) -> Result<T, XenError> {
        const { assert!(size_of::<T>() <= VERSION_BUFFER_BYTES && align_of::<T>() <= 8) };
        let (buffer, _) = self.version_raw(cmd, call, |_| {})?;
        // SAFETY: T (a XENVER_* struct of chars and integers) fits in the buffer and its
        // alignment, and any bytes are a valid T.
        Ok(unsafe { buffer.0.as_ptr().cast::<T>().read() })
    }

    /// The build id in hex, as libxl renders it: `Some("")` when the hypervisor has none
    /// (return value 0), `None` when it refused.
    fn build_id(&self) -> Option<String> {
        const LEN_BYTES: usize = size_of::<u32>();
        #[allow(clippy::cast_possible_truncation, reason = "1020 fits in u32")]
        const ROOM: u32 = (VERSION_BUFFER_BYTES - LEN_BYTES) as u32;
        let (buffer, len) = self
            .version_raw(XENVER_build_id, "xc_version(XENVER_build_id)", |b| {
                b.0[..LEN_BYTES].copy_from_slice(&ROOM.to_ne_bytes());
            })
            .ok()?;
        let len = usize::try_from(len)
            .ok()?
            .min(VERSION_BUFFER_BYTES - LEN_BYTES);
        Some(hex(&buffer.0[LEN_BYTES..LEN_BYTES + len]))
    }
}

impl Drop for XcInterface {
    fn drop(&mut self) {
        // SAFETY: the handle came from xc_interface_open and is closed once; the logger it
        // uses is still alive (dropped after this).
        unsafe { self.lib.xc_interface_close(self.xch.as_ptr()) };
    }
}

fn domain_info(info: &xc_domaininfo_t) -> DomainInfo {
    DomainInfo {
        domid: DomId(u32::from(info.domain)),
        flags: info.flags,
        tot_pages: info.tot_pages,
        max_pages: info.max_pages,
        cpu_time_ns: info.cpu_time,
        nr_online_vcpus: info.nr_online_vcpus,
        max_vcpu_id: info.max_vcpu_id,
        ssidref: info.ssidref,
        handle: info.handle,
        cpupool: info.cpupool,
    }
}

/// Set bits below `max_cpus` in a CPU bitmap (bit n of byte n/8 is CPU n).
fn count_cpus(map: &[u8], max_cpus: usize) -> u32 {
    let free = (0..max_cpus.min(map.len() * 8))
        .filter(|&cpu| map[cpu / 8] & (1 << (cpu % 8)) != 0)
        .count();
    u32::try_from(free).unwrap_or(u32::MAX)
}

/// Lowercase hex, as libxl prints the build id.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The error of an `xc_version` return value: -1 leaves errno, other negatives are -errno.
fn rc_error(call: &'static str, rc: c_int) -> XenError {
    if rc == -1 {
        errno_error(call)
    } else {
        XenError::Call {
            call,
            source: std::io::Error::from_raw_os_error(rc.saturating_neg()),
        }
    }
}

/// `value`, or `None` when it is Xen's marker for "unknown".
fn valid(value: u32, invalid: u32) -> Option<u32> {
    (value != invalid).then_some(value)
}

/// `count`, or an error naming `call` when it is beyond `max`.
fn bounded(count: u32, max: u32, call: &'static str) -> Result<u32, XenError> {
    if count > max {
        return Err(XenError::Call {
            call,
            source: std::io::Error::other(format!(
                "Xen reported {count} entries, more than the {max} xenadm accepts"
            )),
        });
    }
    Ok(count)
}

/// A count from Xen as an index (u32 always fits in usize on the targets Xen supports).
fn usize_from(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_cpu_bits_are_counted_up_to_max_cpus() {
        assert_eq!(count_cpus(&[0b0000_0000], 2), 0);
        assert_eq!(count_cpus(&[0b0000_0011], 2), 2);
        // Bits past max_cpus are ignored, and max_cpus past the map is clamped.
        assert_eq!(count_cpus(&[0b1111_0001], 4), 1);
        assert_eq!(count_cpus(&[0xff, 0x01], 16), 9);
        assert_eq!(count_cpus(&[0xff], 64), 8);
    }

    #[test]
    fn topology_counts_are_bounded_and_markers_become_none() {
        assert_eq!(bounded(64, MAX_NUMA_NODES, "xc_numainfo").unwrap(), 64);
        let err = bounded(MAX_CPUS + 1, MAX_CPUS, "xc_cputopoinfo").unwrap_err();
        assert!(err.to_string().contains("xc_cputopoinfo"), "{err}");
        assert_eq!(valid(7, XEN_INVALID_NODE_ID as u32), Some(7));
        assert_eq!(valid(u32::MAX, XEN_INVALID_NODE_ID as u32), None);
    }

    #[test]
    fn build_id_is_lowercase_hex() {
        assert_eq!(hex(&[0x39, 0xa6, 0x40, 0xe6, 0x0f]), "39a640e60f");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn negative_return_values_carry_errno() {
        let XenError::Call { call, source } = rc_error("xc_version", -12) else {
            panic!()
        };
        assert_eq!(call, "xc_version");
        assert_eq!(source.raw_os_error(), Some(libc::ENOMEM));
    }

    #[test]
    fn domain_info_keeps_every_field() {
        // SAFETY: plain integers; all zeros is valid.
        let mut raw: xc_domaininfo_t = unsafe { std::mem::zeroed() };
        raw.domain = 7;
        raw.flags = 0x20;
        raw.tot_pages = 16384;
        raw.max_pages = 16640;
        raw.cpu_time = 4_000_000_000;
        raw.nr_online_vcpus = 1;
        raw.max_vcpu_id = 3;
        raw.ssidref = 9;
        raw.handle = [0x20; 16];
        raw.cpupool = 2;
        let info = domain_info(&raw);
        assert_eq!(info.domid, DomId(7));
        assert_eq!(
            (info.flags, info.tot_pages, info.max_pages),
            (0x20, 16384, 16640)
        );
        assert_eq!(
            (info.cpu_time_ns, info.nr_online_vcpus, info.max_vcpu_id),
            (4_000_000_000, 1, 3)
        );
        assert_eq!(
            (info.ssidref, info.handle, info.cpupool),
            (9, [0x20; 16], 2)
        );
    }
}
