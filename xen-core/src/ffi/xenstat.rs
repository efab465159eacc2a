//! libxenstat: the statistics behind xentop. A [`XenStatHandle`] takes [`XenStatNode`]s
//! (one sample each), which copy out into plain [`StatNode`] values.

use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

use xen_sys::XenStat;
use xen_sys::v4_17::types::{
    XENSTAT_NETWORK, XENSTAT_VBD, XENSTAT_VCPU, XENSTAT_XEN_VERSION, xenstat_domain,
    xenstat_handle, xenstat_node,
};

use super::errno_error;
use crate::XenError;

/// An open libxenstat handle (its own `xc_interface` and xenstore connection). Closed on
/// drop.
#[derive(Debug)]
pub struct XenStatHandle {
    handle: NonNull<xenstat_handle>,
    lib: Arc<XenStat>,
}

// SAFETY: a xenstat handle is not bound to the thread that opened it; XenStatHandle is not
// Sync and takes `&mut self` to sample, so one thread uses it at a time.
unsafe impl Send for XenStatHandle {}

/// One sample (`xenstat_get_node`), freed on drop. It borrows its handle, whose cached Xen
/// version string it points into.
#[derive(Debug)]
pub struct XenStatNode<'h> {
    node: NonNull<xenstat_node>,
    lib: &'h XenStat,
    flags: u32,
    _handle: PhantomData<&'h mut XenStatHandle>,
}

/// A sample copied out of libxenstat.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StatNode {
    /// `major.minor` + extra version, when sampled with `XENSTAT_XEN_VERSION`.
    pub xen_version: Option<String>,
    /// Physical CPUs.
    pub num_cpus: u32,
    /// CPU clock in Hz.
    pub cpu_hz: u64,
    /// Host memory in bytes.
    pub tot_mem_bytes: u64,
    /// Free host memory in bytes.
    pub free_mem_bytes: u64,
    /// Every domain libxenstat found (those without a name in xenstore are skipped by it).
    pub domains: Vec<StatDomain>,
}

/// One domain of a [`StatNode`], as libxenstat's accessors report it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StatDomain {
    /// Domain id.
    pub id: u32,
    /// Name bytes from xenstore.
    pub name: Vec<u8>,
    /// `xenstat_domain_dying`.
    pub dying: bool,
    /// `xenstat_domain_crashed`: shut down with the crash code.
    pub crashed: bool,
    /// `xenstat_domain_shutdown`: shut down with any code but crash.
    pub shutdown: bool,
    /// `xenstat_domain_paused`.
    pub paused: bool,
    /// `xenstat_domain_blocked`.
    pub blocked: bool,
    /// `xenstat_domain_running`.
    pub running: bool,
    /// CPU time.
    pub cpu_ns: u64,
    /// Current memory in bytes.
    pub cur_mem_bytes: u64,
    /// Maximum memory in bytes; `u64::MAX` for no limit.
    pub max_mem_bytes: u64,
    /// Highest vCPU id + 1.
    pub num_vcpus: u32,
    /// XSM security id.
    pub ssid: u32,
    /// Per vCPU (online, CPU ns), when sampled with `XENSTAT_VCPU`.
    pub vcpus: Vec<StatVcpu>,
    /// Network interfaces, when sampled with `XENSTAT_NETWORK`.
    pub networks: Vec<StatNetwork>,
    /// Block devices, when sampled with `XENSTAT_VBD`.
    pub vbds: Vec<StatVbd>,
}

/// One vCPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StatVcpu {
    /// Online.
    pub online: bool,
    /// CPU time.
    pub ns: u64,
}

/// One vif, counted at the dom0 backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StatNetwork {
    /// Device id.
    pub id: u32,
    /// Bytes received by the backend.
    pub rbytes: u64,
    /// Packets received.
    pub rpackets: u64,
    /// Receive errors.
    pub rerrs: u64,
    /// Receive drops.
    pub rdrop: u64,
    /// Bytes sent by the backend.
    pub tbytes: u64,
    /// Packets sent.
    pub tpackets: u64,
    /// Transmit errors.
    pub terrs: u64,
    /// Transmit drops.
    pub tdrop: u64,
}

/// One block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StatVbd {
    /// Backend type: 1 blkback, 2 blktap, 3 tapdisk3, otherwise unidentified.
    pub kind: u32,
    /// Guest device number.
    pub dev: u32,
    /// The counters could not be read.
    pub error: bool,
    /// Out-of-request events.
    pub oo_reqs: u64,
    /// Read requests.
    pub rd_reqs: u64,
    /// Write requests.
    pub wr_reqs: u64,
    /// Sectors read.
    pub rd_sects: u64,
    /// Sectors written.
    pub wr_sects: u64,
}

impl XenStatHandle {
    /// `xenstat_init`: opens libxenstat's own hypercall and xenstore connections.
    ///
    /// On failure libxenstat itself prints a line to stderr (`perror`); callers check for a
    /// dom0 first (see [`super::dom0`]) so that this only fails for unusual reasons.
    pub fn open(lib: Arc<XenStat>) -> Result<XenStatHandle, XenError> {
        // SAFETY: no arguments; returns a handle or NULL.
        let handle = unsafe { lib.xenstat_init() };
        match NonNull::new(handle) {
            Some(handle) => Ok(XenStatHandle { handle, lib }),
            None => Err(errno_error("xenstat_init")),
        }
    }

    /// `xenstat_get_node`: one sample with the `XENSTAT_*` details in `flags`.
    pub fn node(&mut self, flags: u32) -> Result<XenStatNode<'_>, XenError> {
        // SAFETY: the handle is open; the node is freed by XenStatNode's Drop.
        let node = unsafe { self.lib.xenstat_get_node(self.handle.as_ptr(), flags) };
        match NonNull::new(node) {
            Some(node) => Ok(XenStatNode {
                node,
                lib: &self.lib,
                flags,
                _handle: PhantomData,
            }),
            None => Err(errno_error("xenstat_get_node")),
        }
    }
}

impl Drop for XenStatHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from xenstat_init and is released once; no node outlives it
        // (nodes borrow the handle).
        unsafe { self.lib.xenstat_uninit(self.handle.as_ptr()) };
    }
}

impl XenStatNode<'_> {
    /// Domains in this sample.
    pub fn num_domains(&self) -> u32 {
        // SAFETY: the node is live.
        unsafe { self.lib.xenstat_node_num_domains(self.node.as_ptr()) }
    }

    /// Copies the whole sample out.
    pub fn snapshot(&self) -> StatNode {
        let lib = self.lib;
        let node = self.node.as_ptr();
        let xen_version = if self.flags & XENSTAT_XEN_VERSION != 0 {
            // SAFETY: the node is live; the string (cached in the handle) is NULL or a C
            // string living as long as the handle.
            let text = unsafe { lib.xenstat_node_xen_version(node) };
            if text.is_null() {
                None
            } else {
                // SAFETY: not NULL, and NUL-terminated by libxenstat.
                let text = unsafe { CStr::from_ptr(text) };
                Some(text.to_string_lossy().into_owned())
            }
        } else {
            None
        };
        let domains = (0..self.num_domains())
            .filter_map(|index| {
                // SAFETY: index < num_domains; the result is NULL or a domain of this node.
                let domain = unsafe { lib.xenstat_node_domain_by_index(node, index) };
                NonNull::new(domain).map(|d| self.domain(d))
            })
            .collect();
        // SAFETY: the node is live (for all four calls).
        unsafe {
            StatNode {
                xen_version,
                num_cpus: lib.xenstat_node_num_cpus(node),
                cpu_hz: lib.xenstat_node_cpu_hz(node),
                tot_mem_bytes: lib.xenstat_node_tot_mem(node),
                free_mem_bytes: lib.xenstat_node_free_mem(node),
                domains,
            }
        }
    }

    /// Copies one domain out. The vCPU, network and VBD accessors are only called when their
    /// details were collected: libxenstat's `xenstat_domain_vcpu` indexes its array without
    /// checking that it exists.
    fn domain(&self, domain: NonNull<xenstat_domain>) -> StatDomain {
        let lib = self.lib;
        let d = domain.as_ptr();
        // SAFETY: `d` is a domain of this live node.
        let name = unsafe { lib.xenstat_domain_name(d) };
        let name = if name.is_null() {
            Vec::new()
        } else {
            // SAFETY: a NUL-terminated string owned by the node.
            unsafe { CStr::from_ptr(name) }.to_bytes().to_vec()
        };
        // SAFETY: `d` is a domain of this live node.
        let num_vcpus = unsafe { lib.xenstat_domain_num_vcpus(d) };
        let vcpus = if self.flags & XENSTAT_VCPU != 0 {
            (0..num_vcpus)
                .filter_map(|i| {
                    // SAFETY: i < num_vcpus and the vCPU array was collected.
                    let vcpu = unsafe { lib.xenstat_domain_vcpu(d, i) };
                    // SAFETY: NULL-checked; the vCPU belongs to the node.
                    (!vcpu.is_null()).then(|| unsafe {
                        StatVcpu {
                            online: lib.xenstat_vcpu_online(vcpu) != 0,
                            ns: lib.xenstat_vcpu_ns(vcpu),
                        }
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let networks = if self.flags & XENSTAT_NETWORK != 0 {
            // SAFETY: `d` is a domain of this live node.
            let count = unsafe { lib.xenstat_domain_num_networks(d) };
            (0..count)
                .filter_map(|i| {
                    // SAFETY: i < count; NULL or a network of the node.
                    let n = unsafe { lib.xenstat_domain_network(d, i) };
                    // SAFETY: NULL-checked; the network belongs to the node.
                    (!n.is_null()).then(|| unsafe {
                        StatNetwork {
                            id: lib.xenstat_network_id(n),
                            rbytes: lib.xenstat_network_rbytes(n),
                            rpackets: lib.xenstat_network_rpackets(n),
                            rerrs: lib.xenstat_network_rerrs(n),
                            rdrop: lib.xenstat_network_rdrop(n),
                            tbytes: lib.xenstat_network_tbytes(n),
                            tpackets: lib.xenstat_network_tpackets(n),
                            terrs: lib.xenstat_network_terrs(n),
                            tdrop: lib.xenstat_network_tdrop(n),
                        }
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let vbds = if self.flags & XENSTAT_VBD != 0 {
            // SAFETY: `d` is a domain of this live node.
            let count = unsafe { lib.xenstat_domain_num_vbds(d) };
            (0..count)
                .filter_map(|i| {
                    // SAFETY: i < count; NULL or a VBD of the node.
                    let v = unsafe { lib.xenstat_domain_vbd(d, i) };
                    // SAFETY: NULL-checked; the VBD belongs to the node.
                    (!v.is_null()).then(|| unsafe {
                        StatVbd {
                            kind: lib.xenstat_vbd_type(v),
                            dev: lib.xenstat_vbd_dev(v),
                            error: lib.xenstat_vbd_error(v),
                            oo_reqs: lib.xenstat_vbd_oo_reqs(v),
                            rd_reqs: lib.xenstat_vbd_rd_reqs(v),
                            wr_reqs: lib.xenstat_vbd_wr_reqs(v),
                            rd_sects: lib.xenstat_vbd_rd_sects(v),
                            wr_sects: lib.xenstat_vbd_wr_sects(v),
                        }
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        // SAFETY: `d` is a domain of this live node (for every call here).
        unsafe {
            StatDomain {
                id: lib.xenstat_domain_id(d),
                name,
                dying: lib.xenstat_domain_dying(d) != 0,
                crashed: lib.xenstat_domain_crashed(d) != 0,
                shutdown: lib.xenstat_domain_shutdown(d) != 0,
                paused: lib.xenstat_domain_paused(d) != 0,
                blocked: lib.xenstat_domain_blocked(d) != 0,
                running: lib.xenstat_domain_running(d) != 0,
                cpu_ns: lib.xenstat_domain_cpu_ns(d),
                cur_mem_bytes: lib.xenstat_domain_cur_mem(d),
                max_mem_bytes: lib.xenstat_domain_max_mem(d),
                num_vcpus,
                ssid: lib.xenstat_domain_ssid(d),
                vcpus,
                networks,
                vbds,
            }
        }
    }
}

impl Drop for XenStatNode<'_> {
    fn drop(&mut self) {
        // SAFETY: the node came from xenstat_get_node and is freed once; nothing copied out
        // of it points into it.
        unsafe { self.lib.xenstat_free_node(self.node.as_ptr()) };
    }
}
