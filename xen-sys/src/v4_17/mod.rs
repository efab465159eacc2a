//! Bindings generated from the Xen **4.17** headers (Debian 12 `libxen-dev` 4.17.7, x86_64) by
//! `generate/generate.sh` (bindgen 0.72.1). Do not edit the generated files by hand; rerun the
//! script.
//!
//! # Which Xen versions these bindings serve
//!
//! Xen **4.17 to 4.22** ([`SUPPORTED_MINORS`](crate::SUPPORTED_MINORS)). Everything bound here
//! was checked to be identical across those releases:
//!
//! * libxenstat: all opaque handles and accessors; `xenstat.h` is byte-identical 4.17–4.22.
//! * libxentoollog (`.so.1`) and libxenstore (`.so.4`): stable ABIs.
//! * libxenctrl: only calls whose structs are stable 4.17–4.22 on x86:
//!   `xc_domaininfo_t` (112 bytes), `xc_vcpuinfo_t`, `xc_physinfo_t` (later releases only
//!   rename its padding), the `XENVER_*` structs (hypercall ABI). Not bound, on purpose:
//!   `xc_domain_getinfo`/`xc_dominfo_t` (removed in 4.18) and `xc_domain_getinfo_single`
//!   (added in 4.18); use [`xc_domain_getinfolist`](xenctrl::XenCtrlFns::xc_domain_getinfolist)
//!   and check each entry's `domain`. libxenctrl hides `XEN_DOMCTL_INTERFACE_VERSION`
//!   (0x15 on 4.17, 0x16, 0x17, 0x18 on 4.22) behind these calls, so it never reaches callers.
//! * libxenevtchn (`.so.1`): stable ABI; only `xenevtchn_open`/`_close`, for the handle the
//!   suspend event channel calls of libxenguest take.
//! * libxenguest, saving: `xc_domain_save` with `struct save_callbacks` (7 pointers, 56 bytes)
//!   and `struct precopy_stats` (24 bytes, passed **by value** to the policy callback), the
//!   `XCFLAGS_*` and `XGS_POLICY_*` values and the suspend event channel calls; the 4.17
//!   signature (with `xc_stream_type_t` and `recv_fd`) is unchanged up to 4.22.
//! * libxenctrl, scheduling: `xc_sched_credit{,2}_domain_{get,set}` over the hypercall ABI's
//!   `struct xen_domctl_sched_credit{,2}` (weight, cap: two `u16`).
//! * libxenguest: the CPU policy calls (`xc_cpu_policy_*`, `xc_get_cpu_levelling_caps`),
//!   which pass the policy as an opaque `xc_cpu_policy_t` and serialise it into the hypercall
//!   ABI's `xen_cpuid_leaf_t` (24 bytes) and `xen_msr_entry_t` (16 bytes) arrays. Checked
//!   against the 4.17 headers here; on another release the loader names any missing symbol.
//! * libxenlight: the pointer-only subset. `libxl_dominfo` (120 bytes) is unchanged since 4.16,
//!   `libxl_domain_restore_params` (24 bytes) since 4.9. [`libxl_domain_config`] grows every
//!   release, so it is opaque here: allocate [`DomainConfigStorage`] and let libxl's own
//!   `_init`/`_from_json`/`_dispose` touch it.
//!
//! The layouts are those of **x86_64**; bindgen's compile-time layout checks in
//! [`types`] fail the build on a target where they differ.
//!
//! # Traps the signatures do not show
//!
//! * `libxl_domain_restore_params_init` sets `stream_version = 1`; streams written by
//!   `libxl_domain_suspend` need 2.
//! * `LIBXL_SUSPEND_LIVE` is 2, but libxc's `XCFLAGS_LIVE` is 1.
//! * SUSE's patched libxenlight changes the real `libxl_domain_suspend` to take a props pointer
//!   instead of `int flags`; these bindings follow upstream.
//! * `libxl_childproc_setmode` keeps the hooks pointer: the hooks must outlive the ctx.

#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    missing_debug_implementations,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    reason = "bindgen output: C names, layouts checked at compile time, unsafe wrappers are 1:1 calls"
)]

pub mod types;
pub mod xenctrl;
pub mod xenevtchn;
pub mod xenguest;
pub mod xenlight;
pub mod xenstat;
pub mod xenstore;
pub mod xentoollog;

/// A libxl domain configuration, opaque: its size changes in every Xen release (1288 bytes on
/// 4.17/x86_64), so xenadm never reads its fields. Only libxl's functions touch it; xenadm edits
/// the configuration as JSON (`libxl_domain_config_to_json` / `_from_json`).
#[repr(C)]
pub struct libxl_domain_config {
    _opaque: [u8; 0],
    _not_send_sync_unpin: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// Bytes reserved for one [`libxl_domain_config`]: far above any release's size (1288 on 4.17,
/// growing by a few dozen bytes a release), so one allocation fits every supported libxl.
pub const LIBXL_DOMAIN_CONFIG_ALLOC_BYTES: usize = 64 * 1024;

/// Zeroed, 16-byte aligned room for one [`libxl_domain_config`].
///
/// Call `libxl_domain_config_init` on [`DomainConfigStorage::as_mut_ptr`] before any other
/// libxl call and `libxl_domain_config_dispose` before dropping it.
#[repr(C, align(16))]
pub struct DomainConfigStorage([u8; LIBXL_DOMAIN_CONFIG_ALLOC_BYTES]);

impl DomainConfigStorage {
    /// A zeroed buffer on the heap (it is too big for a comfortable stack slot).
    pub fn new_boxed() -> Box<DomainConfigStorage> {
        Box::new(DomainConfigStorage([0; LIBXL_DOMAIN_CONFIG_ALLOC_BYTES]))
    }

    /// The pointer to pass to libxl.
    pub fn as_mut_ptr(&mut self) -> *mut libxl_domain_config {
        self.0.as_mut_ptr().cast()
    }
}

impl core::fmt::Debug for DomainConfigStorage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DomainConfigStorage { .. }")
    }
}
