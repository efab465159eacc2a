//! Owner types for the C handles of the Xen libraries, one per handle, each closed in `Drop`
//! and none `Clone`. Their methods return plain Rust values.
//!
//! | type | C handle | opened by | closed by |
//! |---|---|---|---|
//! | [`XtlLogger`] | `xentoollog_logger` | Rust vtable / `xtl_createlogger_stdiostream` | `xtl_logger_destroy` |
//! | [`XcInterface`] | `xc_interface` | `xc_interface_open` | `xc_interface_close` |
//! | [`XenStatHandle`] | `xenstat_handle` | `xenstat_init` | `xenstat_uninit` |
//! | [`XenStatNode`] | `xenstat_node` | `xenstat_get_node` | `xenstat_free_node` |
//! | [`XenStoreHandle`] | `xs_handle` | `xs_open` | `xs_close` |
//! | [`XsTransaction`] | `xs_transaction_t` | `xs_transaction_start` | `xs_transaction_end` |
//! | [`LibxlCtx`] | `libxl_ctx` | `libxl_ctx_alloc` | `libxl_ctx_free` |
//! | [`SuspendChannel`] | `xenevtchn_handle` + suspend port | `xenevtchn_open` + `xc_suspend_evtchn_init_exclusive` | `xc_suspend_evtchn_release` + `xenevtchn_close` |
//! | [`DomainSaver`] (per call) | `struct save_callbacks` | [`DomainSaver::save`] | its return |
//! | [`CpuPolicies`] (per call) | `xc_cpu_policy_t` | `xc_cpu_policy_init` | `xc_cpu_policy_destroy` |
//!
//! Each keeps an `Arc` of its loaded library ([`xen_sys::Loaded`]), and whatever the C side
//! keeps pointers to (the logger, libxl's child-process hooks), so nothing dangles. Check
//! [`dom0::check`] before opening handles: it turns "no hypervisor", "a guest" and "not root"
//! into clear errors.
//!
//! ```
//! use std::sync::Arc;
//! use xen_core::ffi::{XcInterface, XtlLogger, dom0};
//!
//! fn host_cpus() -> Result<u32, xen_core::XenError> {
//!     let ctrl = Arc::new(xen_sys::XenCtrl::load()?);
//!     dom0::check()?;
//!     let xc = XcInterface::open(ctrl, XtlLogger::tracing())?;
//!     Ok(xc.physinfo()?.nr_cpus)
//! }
//! // Outside a dom0 this says why, e.g. "not a Xen dom0: /dev/xen/privcmd: no such device ...".
//! match host_cpus() {
//!     Ok(cpus) => println!("{cpus} CPUs"),
//!     Err(err) => println!("{err}"),
//! }
//! ```

mod cpu_policy;
pub mod dom0;
pub mod libxl;
mod libxl_config;
mod libxl_migrate;
mod logger;
mod save;
mod xenctrl;
mod xenstat;
mod xenstore;

pub use cpu_policy::{CpuPolicies, SystemPolicy};
pub use libxl::{LibxlCtx, LibxlDomain};
pub use libxl_config::DomainConfig;
pub use libxl_migrate::SuspendAbi;
pub use logger::{LogLevel, ProgressCall, ProgressHook, XtlLogger};
pub use save::{CreditParams, CreditScheduler, DomainSaver, SaveCallbacks, SuspendChannel};
pub use xenctrl::{DomainInfo, PhysInfo, VcpuInfo, VersionInfo, XcInterface};
pub use xenstat::{
    StatDomain, StatNetwork, StatNode, StatVbd, StatVcpu, XenStatHandle, XenStatNode,
};
pub use xenstore::{XenStoreHandle, XsTransaction};

use std::ffi::c_char;

use crate::XenError;

/// The error of a call that returned failure and left errno.
fn errno_error(call: &'static str) -> XenError {
    XenError::Call {
        call,
        source: std::io::Error::last_os_error(),
    }
}

/// Text of a fixed-size C `char` array: up to the first NUL (or the whole array), lossily
/// decoded.
fn string_from_c_chars(chars: &[c_char]) -> String {
    let bytes: Vec<u8> = chars.iter().map(|&c| c as u8).collect();
    string_from_bytes(&bytes)
}

/// Text of a byte buffer holding a C string: up to the first NUL (or the whole buffer).
fn string_from_bytes(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_char_arrays_end_at_the_first_nul_or_the_array() {
        let mut extra = [0 as c_char; 16];
        for (slot, byte) in extra.iter_mut().zip(b".5") {
            *slot = *byte as c_char;
        }
        assert_eq!(string_from_c_chars(&extra), ".5");
        let full = [b'x' as c_char; 4];
        assert_eq!(string_from_c_chars(&full), "xxxx");
        assert_eq!(string_from_bytes(&[0, b'a']), "");
        assert_eq!(string_from_bytes(&[0xe2, 0x82, 0xac, 0]), "€");
        assert_eq!(string_from_bytes(&[0xff, 0]), "\u{fffd}");
    }
}
