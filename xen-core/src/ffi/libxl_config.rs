//! libxl calls about a domain's configuration and the host's memory: the configuration as
//! JSON (what `xl list -l` prints), the memory a domain needs on a new host, and the free
//! memory here.

use std::ffi::{CStr, c_void};

use xen_sys::v4_17::DomainConfigStorage;

use super::libxl::LibxlCtx;
use crate::XenError;
use crate::host::DomId;

/// A domain's libxl configuration, read back from the running domain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DomainConfig {
    /// `libxl_domain_config_to_json` of it.
    pub json: String,
    /// `libxl_domain_need_memory`: what building it again on a host takes, in KiB.
    pub need_memory_kib: u64,
}

/// A `libxl_domain_config` in its oversized storage: init on creation, dispose on drop.
struct ConfigGuard<'a> {
    storage: Box<DomainConfigStorage>,
    ctx: &'a LibxlCtx,
}

impl<'a> ConfigGuard<'a> {
    fn new(ctx: &'a LibxlCtx) -> ConfigGuard<'a> {
        let mut storage = DomainConfigStorage::new_boxed();
        let (_, lib) = ctx.raw();
        // SAFETY: the storage is zeroed and larger than any release's libxl_domain_config.
        unsafe { lib.libxl_domain_config_init(storage.as_mut_ptr()) };
        ConfigGuard { storage, ctx }
    }
}

impl Drop for ConfigGuard<'_> {
    fn drop(&mut self) {
        let (_, lib) = self.ctx.raw();
        // SAFETY: initialised in `new`, disposed once.
        unsafe { lib.libxl_domain_config_dispose(self.storage.as_mut_ptr()) };
    }
}

impl LibxlCtx {
    /// The domain's configuration as libxl keeps it, and the memory it needs on a host.
    pub fn domain_config(&self, domid: DomId) -> Result<DomainConfig, XenError> {
        let (ctx, lib) = self.raw();
        let mut config = ConfigGuard::new(self);
        // SAFETY: the ctx is open, the config initialised; NULL ao_how makes the call
        // synchronous.
        let rc = unsafe {
            lib.libxl_retrieve_domain_configuration(
                ctx,
                domid.0,
                config.storage.as_mut_ptr(),
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(XenError::Libxl {
                call: "libxl_retrieve_domain_configuration",
                code: rc,
            });
        }
        // SAFETY: the config was filled by libxl; the result is NULL or a malloc'd C string.
        let text = unsafe { lib.libxl_domain_config_to_json(ctx, config.storage.as_mut_ptr()) };
        if text.is_null() {
            return Err(XenError::Libxl {
                call: "libxl_domain_config_to_json",
                code: xen_sys::v4_17::types::libxl_error_ERROR_FAIL,
            });
        }
        // SAFETY: NUL-terminated, malloc'd by libxl, freed once after copying.
        let json = unsafe {
            let json = CStr::from_ptr(text).to_string_lossy().into_owned();
            libc::free(text.cast::<c_void>());
            json
        };
        // After the JSON: need_memory fills in defaults in the config it is given.
        let mut need = 0u64;
        // SAFETY: the ctx is open, the config filled, `need` valid for writes.
        let rc = unsafe {
            lib.libxl_domain_need_memory(ctx, config.storage.as_mut_ptr(), domid.0, &mut need)
        };
        if rc != 0 {
            return Err(XenError::Libxl {
                call: "libxl_domain_need_memory",
                code: rc,
            });
        }
        Ok(DomainConfig {
            json,
            need_memory_kib: need,
        })
    }

    /// Memory free for new domains (`libxl_get_free_memory`), in KiB.
    pub fn free_memory_kib(&self) -> Result<u64, XenError> {
        let (ctx, lib) = self.raw();
        let mut free = 0u64;
        // SAFETY: the ctx is open and `free` valid for writes.
        let rc = unsafe { lib.libxl_get_free_memory(ctx, &mut free) };
        if rc != 0 {
            return Err(XenError::Libxl {
                call: "libxl_get_free_memory",
                code: rc,
            });
        }
        Ok(free)
    }
}
