//! The libxl calls of a live migration (reference `migration.md` §4.5-§4.7): the stored config
//! as JSON, suspend into a descriptor (both ABIs of `libxl_domain_suspend`), resume, rename,
//! destroy, unpause, and restore from a descriptor with stream version 2.
//!
//! The domain config stays opaque ([`DomainConfigStorage`]): only libxl's `_init`, `_to_json`,
//! `_from_json`, `_dispose` and `create_restore` touch it; every edit is made on the JSON.

use std::ffi::{CStr, CString, c_int, c_void};
use std::os::fd::{AsRawFd as _, BorrowedFd};

use xen_sys::v4_17::DomainConfigStorage;
use xen_sys::v4_17::types::{
    LIBXL_SUSPEND_DEBUG, LIBXL_SUSPEND_LIVE, libxl_asyncop_how,
    libxl_checkpointed_stream_LIBXL_CHECKPOINTED_STREAM_NONE, libxl_ctx,
    libxl_domain_restore_params, libxl_dominfo, libxl_error_ERROR_DOMAIN_NOTFOUND,
    libxl_error_ERROR_FAIL,
};

use super::libxl::{LibxlCtx, LibxlDomain};
use crate::XenError;
use crate::host::DomId;

/// How `libxl_domain_suspend`'s fourth argument is passed (reference `migration.md` §4.5 point
/// 4). No exported symbol tells the two builds apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SuspendAbi {
    /// Upstream Xen: `int flags`.
    Upstream,
    /// SUSE's patched libxl: `const libxl_domain_suspend_props *` ({flags, max_iters,
    /// min_remaining}, here xl's defaults 5 and 50).
    Props,
    /// Right for both (the default): a pointer to a props struct placed at an address whose
    /// low 32 bits are the flags. Upstream reads the low half of the register as `flags`, SUSE
    /// reads the whole register as the pointer.
    #[default]
    Neutral,
}

impl SuspendAbi {
    /// Parses `upstream`, `props` (or `suse`) and `neutral`.
    pub fn from_name(name: &str) -> Option<SuspendAbi> {
        match name {
            "upstream" => Some(SuspendAbi::Upstream),
            "props" | "suse" => Some(SuspendAbi::Props),
            "neutral" => Some(SuspendAbi::Neutral),
            _ => None,
        }
    }
}

/// SUSE's `libxl_domain_suspend_props`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct SuspendProps {
    pub(crate) flags: u32,
    pub(crate) max_iters: u32,
    pub(crate) min_remaining: u32,
}

/// xl's precopy defaults (`LIBXL_XGS_POLICY_MAX_ITERATIONS`, `..._TARGET_DIRTY_COUNT`).
const PROPS_MAX_ITERS: u32 = 5;
const PROPS_MIN_REMAINING: u32 = 50;

/// The upstream signature, as bound.
pub(crate) type SuspendFn =
    unsafe extern "C" fn(*mut libxl_ctx, u32, c_int, c_int, *const libxl_asyncop_how) -> c_int;
/// SUSE's signature.
type SuspendPropsFn = unsafe extern "C" fn(
    *mut libxl_ctx,
    u32,
    c_int,
    *const SuspendProps,
    *const libxl_asyncop_how,
) -> c_int;

/// One page mapped at an address whose low 32 bits are zero, unmapped on drop.
struct LowZeroPage {
    base: *mut c_void,
}

impl LowZeroPage {
    fn map() -> Result<LowZeroPage, XenError> {
        for k in 0x10usize..0x7000 {
            let hint = (k << 32) as *mut c_void;
            // SAFETY: an anonymous private mapping that must not replace anything
            // (MAP_FIXED_NOREPLACE); a result other than `hint` is unmapped again at once.
            let base = unsafe {
                libc::mmap(
                    hint,
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                    -1,
                    0,
                )
            };
            if base == hint {
                return Ok(LowZeroPage { base });
            }
            if base != libc::MAP_FAILED {
                // SAFETY: a mapping of ours at another address (an old kernel took the hint as
                // a hint), unused.
                unsafe { libc::munmap(base, 4096) };
            }
        }
        Err(XenError::Call {
            call: "mmap (a page at a 4 GiB boundary for the ABI-neutral suspend call)",
            source: std::io::Error::last_os_error(),
        })
    }
}

impl Drop for LowZeroPage {
    fn drop(&mut self) {
        // SAFETY: mapped by `map`, unmapped once; nothing points into it any more.
        unsafe { libc::munmap(self.base, 4096) };
    }
}

/// Calls a `libxl_domain_suspend` (`f`, typed as upstream's) with `flags` the way `abi` says.
///
/// # Safety
///
/// `f` is a `libxl_domain_suspend` of the kind `abi` names (any kind for
/// [`SuspendAbi::Neutral`]), and its other arguments are valid for it.
pub(crate) unsafe fn call_suspend(
    f: SuspendFn,
    ctx: *mut libxl_ctx,
    domid: u32,
    fd: c_int,
    flags: u32,
    abi: SuspendAbi,
) -> Result<c_int, XenError> {
    let props = SuspendProps {
        flags,
        max_iters: PROPS_MAX_ITERS,
        min_remaining: PROPS_MIN_REMAINING,
    };
    // The two signatures differ only in the fourth argument, passed in a 64-bit register on
    // x86_64 SysV; the callee reads it as the type of the build it is.
    match abi {
        SuspendAbi::Upstream => {
            // SAFETY: `f` is an upstream build (caller's promise); valid arguments.
            Ok(unsafe { f(ctx, domid, fd, flags as c_int, std::ptr::null()) })
        }
        SuspendAbi::Props => {
            // SAFETY: same C ABI, the pointer type of SUSE's fourth argument.
            let g = unsafe { std::mem::transmute::<SuspendFn, SuspendPropsFn>(f) };
            // SAFETY: `f` is a SUSE build (caller's promise); `props` lives across the call.
            Ok(unsafe { g(ctx, domid, fd, &props, std::ptr::null()) })
        }
        SuspendAbi::Neutral => {
            let page = LowZeroPage::map()?;
            // The flags are below 4, so the struct fits in the page at offset `flags`; it is
            // unaligned, which x86 reads fine.
            let at = page
                .base
                .cast::<u8>()
                .wrapping_add(flags as usize)
                .cast::<SuspendProps>();
            // SAFETY: `at` is inside the page (offset < 4, 12 bytes), which is writable.
            unsafe { at.write_unaligned(props) };
            // SAFETY: same C ABI, the pointer type of SUSE's fourth argument.
            let g = unsafe { std::mem::transmute::<SuspendFn, SuspendPropsFn>(f) };
            // SAFETY: an upstream build reads the register's low half, the flags (the
            // address's low 32 bits); a SUSE build reads the struct at the address, which
            // stays mapped across the call.
            let rc = unsafe { g(ctx, domid, fd, at, std::ptr::null()) };
            drop(page);
            Ok(rc)
        }
    }
}

/// libxl's suspend flags: always live (xl's migration is always live), plus debug.
pub(crate) fn suspend_flags(debug: bool) -> u32 {
    LIBXL_SUSPEND_LIVE | if debug { LIBXL_SUSPEND_DEBUG } else { 0 }
}

fn libxl_error(call: &'static str, code: c_int) -> XenError {
    XenError::Libxl { call, code }
}

/// A config inside libxl's opaque storage, disposed on drop.
struct Config<'a> {
    ctx: &'a LibxlCtx,
    storage: Box<DomainConfigStorage>,
}

impl<'a> Config<'a> {
    fn new(ctx: &'a LibxlCtx) -> Config<'a> {
        let mut storage = DomainConfigStorage::new_boxed();
        // SAFETY: zeroed storage larger than any libxl_domain_config.
        unsafe { ctx.lib.libxl_domain_config_init(storage.as_mut_ptr()) };
        Config { ctx, storage }
    }

    fn json_text(&mut self) -> Result<String, XenError> {
        // SAFETY: an initialised config; the result is NULL or a malloc'd C string.
        let text = unsafe {
            self.ctx
                .lib
                .libxl_domain_config_to_json(self.ctx.ctx.as_ptr(), self.storage.as_mut_ptr())
        };
        if text.is_null() {
            return Err(libxl_error(
                "libxl_domain_config_to_json",
                libxl_error_ERROR_FAIL,
            ));
        }
        // SAFETY: NUL-terminated, malloc'd by libxl, freed once after copying.
        unsafe {
            let json = CStr::from_ptr(text).to_string_lossy().into_owned();
            libc::free(text.cast::<c_void>());
            Ok(json)
        }
    }

    fn from_json(ctx: &'a LibxlCtx, json: &str) -> Result<Config<'a>, XenError> {
        let text = CString::new(json)
            .map_err(|_| libxl_error("libxl_domain_config_from_json", libxl_error_ERROR_FAIL))?;
        let mut config = Config::new(ctx);
        // SAFETY: an initialised config and a C string.
        let rc = unsafe {
            ctx.lib.libxl_domain_config_from_json(
                ctx.ctx.as_ptr(),
                config.storage.as_mut_ptr(),
                text.as_ptr(),
            )
        };
        if rc != 0 {
            return Err(libxl_error("libxl_domain_config_from_json", rc));
        }
        Ok(config)
    }
}

impl Drop for Config<'_> {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, disposed once.
        unsafe {
            self.ctx
                .lib
                .libxl_domain_config_dispose(self.storage.as_mut_ptr())
        };
    }
}

fn c_name(call: &'static str, name: &str) -> Result<CString, XenError> {
    CString::new(name)
        .map_err(|_| libxl_error(call, xen_sys::v4_17::types::libxl_error_ERROR_INVAL))
}

impl LibxlCtx {
    /// `libxl_domain_info`: `None` when there is no such domain.
    pub fn domain_info(&self, domid: DomId) -> Result<Option<LibxlDomain>, XenError> {
        // SAFETY: libxl_dominfo is plain data; _init sets it up, _dispose frees what libxl
        // put in it.
        let mut info: libxl_dominfo = unsafe { std::mem::zeroed() };
        // SAFETY: see above; the ctx is open.
        let rc = unsafe {
            self.lib.libxl_dominfo_init(&mut info);
            self.lib
                .libxl_domain_info(self.ctx.as_ptr(), &mut info, domid.0)
        };
        let result = match rc {
            0 => Ok(Some(super::libxl::libxl_domain(&info))),
            code if code == libxl_error_ERROR_DOMAIN_NOTFOUND => Ok(None),
            code => Err(libxl_error("libxl_domain_info", code)),
        };
        // SAFETY: initialised above, disposed once.
        unsafe { self.lib.libxl_dominfo_dispose(&mut info) };
        result
    }

    /// The config libxl stored when the domain was created, as JSON
    /// (`libxl_retrieve_domain_configuration` + `libxl_domain_config_to_json`).
    pub fn domain_config_json(&self, domid: DomId) -> Result<String, XenError> {
        let mut config = Config::new(self);
        // SAFETY: an initialised config; synchronous (no ao_how).
        let rc = unsafe {
            self.lib.libxl_retrieve_domain_configuration(
                self.ctx.as_ptr(),
                domid.0,
                config.storage.as_mut_ptr(),
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(libxl_error("libxl_retrieve_domain_configuration", rc));
        }
        config.json_text()
    }

    /// A config JSON as libxl reads and writes it back (checks a `-C` file).
    pub fn normalize_config_json(&self, json: &str) -> Result<String, XenError> {
        Config::from_json(self, json)?.json_text()
    }

    /// `libxl_domain_suspend(domid, fd, LIVE[|DEBUG])`, synchronous: returns when the whole
    /// stream is written and the domain is suspended (or failed).
    pub fn suspend(
        &self,
        domid: DomId,
        fd: BorrowedFd<'_>,
        debug: bool,
        abi: SuspendAbi,
    ) -> Result<(), XenError> {
        // SAFETY: the bound symbol is libxenlight's libxl_domain_suspend; `abi` is the
        // caller's statement of its kind (Neutral is right for both); the fd stays open for
        // the call.
        let rc = unsafe {
            call_suspend(
                self.lib.libxl_domain_suspend,
                self.ctx.as_ptr(),
                domid.0,
                fd.as_raw_fd(),
                suspend_flags(debug),
                abi,
            )?
        };
        match rc {
            0 => Ok(()),
            code => Err(libxl_error("libxl_domain_suspend", code)),
        }
    }

    /// `libxl_domain_resume(domid, suspend_cancel = 1)`: the guest continues where it was
    /// suspended (cooperative resume, as xl's rollback).
    pub fn resume(&self, domid: DomId) -> Result<(), XenError> {
        // SAFETY: the ctx is open; synchronous.
        let rc = unsafe {
            self.lib
                .libxl_domain_resume(self.ctx.as_ptr(), domid.0, 1, std::ptr::null())
        };
        match rc {
            0 => Ok(()),
            code => Err(libxl_error("libxl_domain_resume", code)),
        }
    }

    /// `libxl_domain_rename`.
    pub fn rename(&self, domid: DomId, old: &str, new: &str) -> Result<(), XenError> {
        let old = c_name("libxl_domain_rename", old)?;
        let new = c_name("libxl_domain_rename", new)?;
        // SAFETY: the ctx is open; both names are C strings.
        let rc = unsafe {
            self.lib
                .libxl_domain_rename(self.ctx.as_ptr(), domid.0, old.as_ptr(), new.as_ptr())
        };
        match rc {
            0 => Ok(()),
            code => Err(libxl_error("libxl_domain_rename", code)),
        }
    }

    /// `libxl_domain_destroy`, synchronous.
    pub fn destroy(&self, domid: DomId) -> Result<(), XenError> {
        // SAFETY: the ctx is open; synchronous.
        let rc = unsafe {
            self.lib
                .libxl_domain_destroy(self.ctx.as_ptr(), domid.0, std::ptr::null())
        };
        match rc {
            0 => Ok(()),
            code => Err(libxl_error("libxl_domain_destroy", code)),
        }
    }

    /// `libxl_domain_unpause`.
    pub fn unpause(&self, domid: DomId) -> Result<(), XenError> {
        // SAFETY: the ctx is open; synchronous.
        let rc = unsafe {
            self.lib
                .libxl_domain_unpause(self.ctx.as_ptr(), domid.0, std::ptr::null())
        };
        match rc {
            0 => Ok(()),
            code => Err(libxl_error("libxl_domain_unpause", code)),
        }
    }

    /// `libxl_domain_create_restore` from `fd` with the config `json`, params
    /// `{checkpointed_stream = NONE, stream_version}` (2 for every stream libxl's suspend
    /// writes; `_init` alone would say 1). The domain is left paused. libxl reads the stream
    /// with exact-length reads, so whatever follows its END is still unread in `fd`.
    pub fn create_restore(
        &self,
        json: &str,
        fd: BorrowedFd<'_>,
        stream_version: u32,
    ) -> Result<DomId, XenError> {
        let mut config = Config::from_json(self, json)?;
        // SAFETY: plain data, set up by _init and freed by _dispose.
        let mut params: libxl_domain_restore_params = unsafe { std::mem::zeroed() };
        let mut domid: u32 = u32::MAX;
        // SAFETY: initialised params and config; the fd stays open for the call; synchronous.
        let rc = unsafe {
            self.lib.libxl_domain_restore_params_init(&mut params);
            params.checkpointed_stream =
                libxl_checkpointed_stream_LIBXL_CHECKPOINTED_STREAM_NONE as c_int;
            params.stream_version = stream_version;
            let rc = self.lib.libxl_domain_create_restore(
                self.ctx.as_ptr(),
                config.storage.as_mut_ptr(),
                &mut domid,
                fd.as_raw_fd(),
                -1,
                &params,
                std::ptr::null(),
                std::ptr::null(),
            );
            self.lib.libxl_domain_restore_params_dispose(&mut params);
            rc
        };
        match rc {
            0 => Ok(DomId(domid)),
            code => Err(libxl_error("libxl_domain_create_restore", code)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// What the fakes saw: (fourth argument as the callee reads it, props if any).
    /// (fourth argument as the callee reads it, the props if it read a struct).
    type Seen = (u64, Option<(u32, u32, u32)>);
    static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

    unsafe extern "C" fn fake_upstream(
        _ctx: *mut libxl_ctx,
        _domid: u32,
        _fd: c_int,
        flags: c_int,
        _ao: *const libxl_asyncop_how,
    ) -> c_int {
        SEEN.lock().unwrap().push((flags as u32 as u64, None));
        0
    }

    unsafe extern "C" fn fake_props(
        _ctx: *mut libxl_ctx,
        _domid: u32,
        _fd: c_int,
        props: *const SuspendProps,
        _ao: *const libxl_asyncop_how,
    ) -> c_int {
        // SAFETY: the caller passes a valid (possibly unaligned) props pointer.
        let p = unsafe { props.read_unaligned() };
        SEEN.lock()
            .unwrap()
            .push((props as u64, Some((p.flags, p.max_iters, p.min_remaining))));
        0
    }

    fn run(f: SuspendFn, abi: SuspendAbi, debug: bool) -> Seen {
        SEEN.lock().unwrap().clear();
        // SAFETY: the fakes read nothing but their fourth argument.
        let rc = unsafe {
            call_suspend(f, std::ptr::null_mut(), 1, 5, suspend_flags(debug), abi).unwrap()
        };
        assert_eq!(rc, 0);
        SEEN.lock().unwrap()[0]
    }

    #[test]
    fn test_both_suspend_abis_get_the_flags() {
        // SAFETY: the same C ABI; the fourth argument differs, which is what is tested.
        let props_fn: SuspendFn =
            unsafe { std::mem::transmute::<SuspendPropsFn, SuspendFn>(fake_props) };
        // Upstream form to an upstream build: the flags.
        assert_eq!(
            run(fake_upstream, SuspendAbi::Upstream, false).0 & 0xffff_ffff,
            2
        );
        assert_eq!(
            run(fake_upstream, SuspendAbi::Upstream, true).0 & 0xffff_ffff,
            3
        );
        // Props form to a SUSE build: a struct with the flags and xl's defaults.
        assert_eq!(run(props_fn, SuspendAbi::Props, false).1, Some((2, 5, 50)));
        // The neutral form is right for both builds.
        for debug in [false, true] {
            let flags = suspend_flags(debug);
            let (word, _) = run(fake_upstream, SuspendAbi::Neutral, debug);
            assert_eq!(word & 0xffff_ffff, u64::from(flags));
            let (pointer, props) = run(props_fn, SuspendAbi::Neutral, debug);
            assert_eq!(pointer & 0xffff_ffff, u64::from(flags));
            assert_eq!(props, Some((flags, 5, 50)));
        }
    }

    #[test]
    fn test_abi_names() {
        assert_eq!(SuspendAbi::from_name("suse"), Some(SuspendAbi::Props));
        assert_eq!(SuspendAbi::from_name("neutral"), Some(SuspendAbi::Neutral));
        assert_eq!(
            SuspendAbi::from_name("upstream"),
            Some(SuspendAbi::Upstream)
        );
        assert_eq!(SuspendAbi::from_name("x"), None);
    }
}
