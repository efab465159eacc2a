//! libxenlight: a `libxl_ctx`, set up for a program that also has children of its own.
//!
//! Only pointer-only calls are used (see [`xen_sys::v4_17`]); the migration work builds on
//! this context.

use std::ffi::{CStr, CString, c_int, c_void};
use std::ptr::NonNull;
use std::sync::Arc;

use xen_sys::XenLight;
use xen_sys::v4_17::types::{
    LIBXL_VERSION, libxl_childproc_hooks, libxl_ctx, libxl_dominfo, libxl_error_ERROR_INVAL,
    libxl_sigchld_owner_libxl_sigchld_owner_libxl_always_selective_reap,
};

use super::logger::XtlLogger;
use crate::XenError;
use crate::host::DomId;

/// An open libxl context. Freed on drop.
///
/// It runs in libxl's "selective reap" child mode: libxl reaps only the helpers it forks, and
/// the program waits for its own children (an ssh transport, say) with `waitpid` on their pid,
/// which is what `std::process::Child::wait` does.
#[derive(Debug)]
pub struct LibxlCtx {
    pub(super) ctx: NonNull<libxl_ctx>,
    pub(super) lib: Arc<XenLight>,
    // libxl keeps pointers to both (the hooks are not copied), so they live as long as the
    // ctx; Drop frees the ctx first.
    _hooks: Box<libxl_childproc_hooks>,
    _logger: XtlLogger,
}

// SAFETY: libxl contexts are thread-safe (libxl locks the ctx internally) and not bound to the
// creating thread; LibxlCtx is not Sync.
unsafe impl Send for LibxlCtx {}

/// A domain as `libxl_list_domain` reports it (what `xl list` prints).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LibxlDomain {
    /// The domain.
    pub domid: DomId,
    /// Its UUID.
    pub uuid: [u8; 16],
    /// XSM security id.
    pub ssidref: u32,
    /// Running on a CPU now.
    pub running: bool,
    /// Blocked.
    pub blocked: bool,
    /// Paused.
    pub paused: bool,
    /// Shut down.
    pub shutdown: bool,
    /// Being destroyed.
    pub dying: bool,
    /// The `LIBXL_SHUTDOWN_REASON_*` code (valid when shut down).
    pub shutdown_reason: i32,
    /// Current memory.
    pub current_memkb: u64,
    /// Maximum memory.
    pub max_memkb: u64,
    /// CPU time.
    pub cpu_time_ns: u64,
    /// Highest vCPU id.
    pub vcpu_max_id: u32,
    /// vCPUs online.
    pub vcpu_online: u32,
    /// CPU pool.
    pub cpupool: u32,
    /// `LIBXL_DOMAIN_TYPE_*` (1 HVM, 2 PV, 3 PVH).
    pub domain_type: i32,
}

impl LibxlCtx {
    /// `libxl_ctx_alloc`, logging through `logger`, then the selective-reap child mode.
    pub fn open(lib: Arc<XenLight>, logger: XtlLogger) -> Result<LibxlCtx, XenError> {
        let mut ctx: *mut libxl_ctx = std::ptr::null_mut();
        // SAFETY: `ctx` is valid for writes; the logger outlives the ctx (kept beside it).
        let rc =
            unsafe { lib.libxl_ctx_alloc(&mut ctx, LIBXL_VERSION as c_int, 0, logger.as_ptr()) };
        let ctx = match NonNull::new(ctx) {
            Some(ctx) if rc == 0 => ctx,
            _ => {
                return Err(XenError::Libxl {
                    call: "libxl_ctx_alloc",
                    code: rc,
                });
            }
        };
        let hooks = Box::new(libxl_childproc_hooks {
            chldowner: libxl_sigchld_owner_libxl_sigchld_owner_libxl_always_selective_reap,
            fork_replacement: None,
            reaped_callback: None,
        });
        // SAFETY: the ctx is fresh (no children yet, as libxl requires) and the hooks live in a
        // box kept as long as the ctx.
        unsafe { lib.libxl_childproc_setmode(ctx.as_ptr(), &*hooks, std::ptr::null_mut()) };
        Ok(LibxlCtx {
            ctx,
            lib,
            _hooks: hooks,
            _logger: logger,
        })
    }

    /// The raw context and library, for the calls in sibling modules.
    pub(super) fn raw(&self) -> (*mut libxl_ctx, &XenLight) {
        (self.ctx.as_ptr(), &self.lib)
    }

    /// Every domain, in domid order.
    pub fn list_domains(&self) -> Result<Vec<LibxlDomain>, XenError> {
        let mut count: c_int = 0;
        // SAFETY: the ctx is open; the result is NULL or `count` entries freed below.
        let list = unsafe { self.lib.libxl_list_domain(self.ctx.as_ptr(), &mut count) };
        if list.is_null() {
            return Err(XenError::Libxl {
                call: "libxl_list_domain",
                code: xen_sys::v4_17::types::libxl_error_ERROR_FAIL,
            });
        }
        let len = usize::try_from(count).unwrap_or(0);
        // SAFETY: `list` holds `count` initialised entries; it is freed once, after copying.
        let domains = unsafe {
            let domains = std::slice::from_raw_parts(list, len)
                .iter()
                .map(libxl_domain)
                .collect();
            self.lib.libxl_dominfo_list_free(list, count);
            domains
        };
        Ok(domains)
    }

    /// A domain's name, or `None` when it has none (or does not exist).
    pub fn domid_to_name(&self, domid: DomId) -> Option<Vec<u8>> {
        // SAFETY: the ctx is open; the result is NULL or a malloc'd C string.
        let name = unsafe { self.lib.libxl_domid_to_name(self.ctx.as_ptr(), domid.0) };
        if name.is_null() {
            return None;
        }
        // SAFETY: NUL-terminated, malloc'd by libxl, freed once after copying.
        unsafe {
            let bytes = CStr::from_ptr(name).to_bytes().to_vec();
            libc::free(name.cast::<c_void>());
            Some(bytes)
        }
    }

    /// The domain with this name, or `None` when there is none.
    pub fn name_to_domid(&self, name: &str) -> Result<Option<DomId>, XenError> {
        let Ok(c_name) = CString::new(name) else {
            return Ok(None);
        };
        let mut domid = 0u32;
        // SAFETY: the ctx is open, the name a C string, `domid` valid for writes.
        let rc = unsafe {
            self.lib
                .libxl_name_to_domid(self.ctx.as_ptr(), c_name.as_ptr(), &mut domid)
        };
        match rc {
            0 => Ok(Some(DomId(domid))),
            // libxl's answer for "no domain of that name".
            code if code == libxl_error_ERROR_INVAL => Ok(None),
            code => Err(XenError::Libxl {
                call: "libxl_name_to_domid",
                code,
            }),
        }
    }
}

impl Drop for LibxlCtx {
    fn drop(&mut self) {
        // SAFETY: the ctx came from libxl_ctx_alloc and is freed once; its hooks and logger
        // are dropped after this.
        unsafe { self.lib.libxl_ctx_free(self.ctx.as_ptr()) };
    }
}

pub(super) fn libxl_domain(info: &libxl_dominfo) -> LibxlDomain {
    LibxlDomain {
        domid: DomId(info.domid),
        uuid: info.uuid.uuid,
        ssidref: info.ssidref,
        running: info.running,
        blocked: info.blocked,
        paused: info.paused,
        shutdown: info.shutdown,
        dying: info.dying,
        shutdown_reason: info.shutdown_reason,
        current_memkb: info.current_memkb,
        max_memkb: info.max_memkb,
        cpu_time_ns: info.cpu_time,
        vcpu_max_id: info.vcpu_max_id,
        vcpu_online: info.vcpu_online,
        cpupool: info.cpupool,
        domain_type: info.domain_type,
    }
}

/// The name of a libxl error code (`libxl_error` in libxl's IDL), e.g. `ERROR_FAIL` for -3.
pub fn error_name(code: i32) -> &'static str {
    const NAMES: [&str; 32] = [
        "ERROR_NONSPECIFIC",
        "ERROR_VERSION",
        "ERROR_FAIL",
        "ERROR_NI",
        "ERROR_NOMEM",
        "ERROR_INVAL",
        "ERROR_BADFAIL",
        "ERROR_GUEST_TIMEDOUT",
        "ERROR_TIMEDOUT",
        "ERROR_NOPARAVIRT",
        "ERROR_NOT_READY",
        "ERROR_OSEVENT_REG_FAIL",
        "ERROR_BUFFERFULL",
        "ERROR_UNKNOWN_CHILD",
        "ERROR_LOCK_FAIL",
        "ERROR_JSON_CONFIG_EMPTY",
        "ERROR_DEVICE_EXISTS",
        "ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH",
        "ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED",
        "ERROR_VNUMA_CONFIG_INVALID",
        "ERROR_DOMAIN_NOTFOUND",
        "ERROR_ABORTED",
        "ERROR_NOTFOUND",
        "ERROR_DOMAIN_DESTROYED",
        "ERROR_FEATURE_REMOVED",
        "ERROR_PROTOCOL_ERROR_QMP",
        "ERROR_UNKNOWN_QMP_ERROR",
        "ERROR_QMP_GENERIC_ERROR",
        "ERROR_QMP_COMMAND_NOT_FOUND",
        "ERROR_QMP_DEVICE_NOT_ACTIVE",
        "ERROR_QMP_DEVICE_NOT_FOUND",
        "ERROR_QEMU_API",
    ];
    usize::try_from(code.unsigned_abs())
        .ok()
        .filter(|_| code < 0)
        .and_then(|n| NAMES.get(n - 1))
        .copied()
        .unwrap_or("unknown libxl error")
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_sys::v4_17::types::*;

    #[test]
    fn error_names_follow_the_idl() {
        assert_eq!(error_name(libxl_error_ERROR_FAIL), "ERROR_FAIL");
        assert_eq!(
            error_name(libxl_error_ERROR_NONSPECIFIC),
            "ERROR_NONSPECIFIC"
        );
        assert_eq!(
            error_name(libxl_error_ERROR_GUEST_TIMEDOUT),
            "ERROR_GUEST_TIMEDOUT"
        );
        assert_eq!(error_name(libxl_error_ERROR_QEMU_API), "ERROR_QEMU_API");
        assert_eq!(error_name(0), "unknown libxl error");
        assert_eq!(error_name(3), "unknown libxl error");
        assert_eq!(error_name(-33), "unknown libxl error");
        assert_eq!(error_name(i32::MIN), "unknown libxl error");
    }

    #[test]
    fn dominfo_is_copied_field_by_field() {
        // SAFETY: libxl_dominfo is integers, bools (0 is false) and a pointer (NULL).
        let mut raw: libxl_dominfo = unsafe { std::mem::zeroed() };
        raw.domid = 3;
        raw.uuid.uuid = [0xab; 16];
        raw.running = true;
        raw.shutdown = true;
        raw.shutdown_reason = libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_CRASH;
        raw.current_memkb = 65536;
        raw.max_memkb = 66560;
        raw.vcpu_online = 1;
        raw.domain_type = libxl_domain_type_LIBXL_DOMAIN_TYPE_PV;
        let domain = libxl_domain(&raw);
        assert_eq!(domain.domid, DomId(3));
        assert_eq!(domain.uuid, [0xab; 16]);
        assert!(domain.running && domain.shutdown && !domain.paused);
        assert_eq!(domain.shutdown_reason, 3);
        assert_eq!((domain.current_memkb, domain.max_memkb), (65536, 66560));
        assert_eq!((domain.vcpu_online, domain.domain_type), (1, 2));
    }
}
