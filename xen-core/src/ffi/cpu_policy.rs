//! libxenguest's CPU policies (`xc_cpu_policy_t`): what Xen offers guests on this host, what a
//! domain got, and how Xen can level PV guests' CPUID. Returned as plain leaves.

use std::ptr::NonNull;
use std::sync::Arc;

use xen_sys::XenGuest;
use xen_sys::v4_17::types::{
    XEN_SYSCTL_cpu_policy_host, XEN_SYSCTL_cpu_policy_pv_default, XEN_SYSCTL_cpu_policy_pv_max,
    XEN_SYSCTL_cpu_policy_raw, xc_cpu_policy_t, xen_cpuid_leaf_t, xen_msr_entry_t,
};

use super::errno_error;
use super::xenctrl::XcInterface;
use crate::XenError;
use crate::preflight::{CpuPolicy, CpuidLeaf, LevellingCaps, MAX_POLICY_LEAVES};

/// More MSRs than any policy holds (4.17 has 2): a larger count is refused.
const MAX_POLICY_MSRS: u32 = 1024;

/// One of Xen's system policies (`XEN_SYSCTL_cpu_policy_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SystemPolicy {
    /// The CPU as Xen found it.
    Raw,
    /// The CPU as Xen uses it (after its own command-line choices).
    Host,
    /// The most a PV guest can be given: the limit a restore is held to.
    PvMax,
    /// What a PV guest gets without a `cpuid=` line.
    PvDefault,
}

impl SystemPolicy {
    fn index(self) -> u32 {
        match self {
            SystemPolicy::Raw => XEN_SYSCTL_cpu_policy_raw,
            SystemPolicy::Host => XEN_SYSCTL_cpu_policy_host,
            SystemPolicy::PvMax => XEN_SYSCTL_cpu_policy_pv_max,
            SystemPolicy::PvDefault => XEN_SYSCTL_cpu_policy_pv_default,
        }
    }
}

/// An `xc_cpu_policy_t`, freed on drop.
struct PolicyHandle {
    ptr: NonNull<xc_cpu_policy_t>,
    lib: Arc<XenGuest>,
}

impl Drop for PolicyHandle {
    fn drop(&mut self) {
        // SAFETY: the pointer came from xc_cpu_policy_init and is destroyed once.
        unsafe { self.lib.xc_cpu_policy_destroy(self.ptr.as_ptr()) };
    }
}

/// Reads CPU policies through libxenguest, on an open hypercall interface.
#[derive(Debug)]
pub struct CpuPolicies {
    xc: XcInterface,
    lib: Arc<XenGuest>,
}

impl CpuPolicies {
    /// Uses `xc` for libxenguest's calls.
    pub fn new(lib: Arc<XenGuest>, xc: XcInterface) -> CpuPolicies {
        CpuPolicies { xc, lib }
    }

    fn handle(&self) -> Result<PolicyHandle, XenError> {
        // SAFETY: no arguments; the result is NULL or a fresh policy.
        let ptr = unsafe { self.lib.xc_cpu_policy_init() };
        NonNull::new(ptr)
            .map(|ptr| PolicyHandle {
                ptr,
                lib: self.lib.clone(),
            })
            .ok_or_else(|| errno_error("xc_cpu_policy_init"))
    }

    /// One of Xen's system policies.
    pub fn system(&self, which: SystemPolicy) -> Result<CpuPolicy, XenError> {
        let policy = self.handle()?;
        // SAFETY: the interface is open, the policy fresh.
        let rc = unsafe {
            self.lib
                .xc_cpu_policy_get_system(self.xc.as_ptr(), which.index(), policy.ptr.as_ptr())
        };
        if rc != 0 {
            return Err(self.xc.error("xc_cpu_policy_get_system"));
        }
        self.serialise(&policy)
    }

    /// A domain's policy: what its CPUID answers (through Xen) since it was built.
    pub fn domain(&self, domid: u32) -> Result<CpuPolicy, XenError> {
        let policy = self.handle()?;
        // SAFETY: the interface is open, the policy fresh.
        let rc = unsafe {
            self.lib
                .xc_cpu_policy_get_domain(self.xc.as_ptr(), domid, policy.ptr.as_ptr())
        };
        if rc != 0 {
            return Err(self.xc.error("xc_cpu_policy_get_domain"));
        }
        self.serialise(&policy)
    }

    /// Xen's levelling capabilities (`XEN_SYSCTL_CPU_LEVELCAP_*`).
    pub fn levelling_caps(&self) -> Result<LevellingCaps, XenError> {
        let mut caps = 0u32;
        // SAFETY: the interface is open and `caps` valid for writes.
        let rc = unsafe {
            self.lib
                .xc_get_cpu_levelling_caps(self.xc.as_ptr(), &mut caps)
        };
        if rc != 0 {
            return Err(self.xc.error("xc_get_cpu_levelling_caps"));
        }
        Ok(LevellingCaps(caps))
    }

    fn serialise(&self, policy: &PolicyHandle) -> Result<CpuPolicy, XenError> {
        let (mut nr_leaves, mut nr_msrs) = (0u32, 0u32);
        // SAFETY: the interface is open; both counts are valid for writes.
        let rc = unsafe {
            self.lib
                .xc_cpu_policy_get_size(self.xc.as_ptr(), &mut nr_leaves, &mut nr_msrs)
        };
        if rc != 0 {
            return Err(self.xc.error("xc_cpu_policy_get_size"));
        }
        if nr_leaves as usize > MAX_POLICY_LEAVES || nr_msrs > MAX_POLICY_MSRS {
            return Err(XenError::Call {
                call: "xc_cpu_policy_get_size",
                source: std::io::Error::other(format!(
                    "{nr_leaves} leaves and {nr_msrs} MSRs: more than any Xen policy holds"
                )),
            });
        }
        // SAFETY: both are plain integers, for which zero is valid.
        let mut leaves: Vec<xen_cpuid_leaf_t> =
            vec![unsafe { std::mem::zeroed() }; nr_leaves as usize];
        // SAFETY: as above.
        let mut msrs: Vec<xen_msr_entry_t> = vec![unsafe { std::mem::zeroed() }; nr_msrs as usize];
        // SAFETY: the arrays hold the counts passed; libxenguest writes at most that many and
        // stores the numbers written back into the counts.
        let rc = unsafe {
            self.lib.xc_cpu_policy_serialise(
                self.xc.as_ptr(),
                policy.ptr.as_ptr(),
                leaves.as_mut_ptr(),
                &mut nr_leaves,
                msrs.as_mut_ptr(),
                &mut nr_msrs,
            )
        };
        if rc != 0 {
            return Err(self.xc.error("xc_cpu_policy_serialise"));
        }
        leaves.truncate(nr_leaves as usize);
        Ok(CpuPolicy {
            leaves: leaves
                .iter()
                .map(|l| CpuidLeaf {
                    leaf: l.leaf,
                    subleaf: l.subleaf,
                    a: l.a,
                    b: l.b,
                    c: l.c,
                    d: l.d,
                })
                .collect(),
        })
    }
}
