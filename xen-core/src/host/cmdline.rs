//! The running hypervisor's command line on its own: `xenadm boot show` compares it with the
//! options GRUB will give Xen at the next boot, without opening everything `xl info` needs.

use std::sync::Arc;

use xen_sys::{LoadOptions, XenCtrl, XenToolLog};

use crate::XenError;
use crate::ffi::{XcInterface, XtlLogger, dom0};

/// The command line the running Xen was booted with (`xl info`'s `xen_commandline`), with
/// the libraries found as the environment says (`XENADM_XEN_LIBDIR`).
///
/// # Errors
///
/// As [`running_commandline_with`].
pub fn running_commandline() -> Result<String, XenError> {
    running_commandline_with(&LoadOptions::from_env())
}

/// The command line the running Xen was booted with, loading libxenctrl as `libraries` says.
///
/// # Errors
///
/// [`XenError`] when libxenctrl cannot be loaded, this is not a dom0 we may drive (no Xen,
/// a guest, not root), or the hypervisor refuses `XENVER_commandline`.
pub fn running_commandline_with(libraries: &LoadOptions) -> Result<String, XenError> {
    // Dependency order, so that a folder's libraries resolve each other by soname.
    let _toollog = XenToolLog::load_with(libraries)?;
    let ctrl = Arc::new(XenCtrl::load_with(libraries)?);
    dom0::check()?;
    XcInterface::open(ctrl, XtlLogger::tracing())?.commandline()
}
