//! libxenstore: reading and writing the xenstore tree, optionally inside a transaction.

use std::ffi::{CStr, CString, c_char, c_uint, c_void};
use std::io;
use std::ptr::NonNull;
use std::sync::Arc;

use xen_sys::XenStore;
use xen_sys::v4_17::types::{XBT_NULL, xs_handle, xs_transaction_t};

use crate::XenError;
use crate::host::DomId;

/// An open xenstore connection (the xenstored socket or `/dev/xen/xenbus`). Closed on drop.
#[derive(Debug)]
pub struct XenStoreHandle {
    handle: NonNull<xs_handle>,
    lib: Arc<XenStore>,
}

// SAFETY: a xenstore connection is not bound to the thread that opened it (libxenstore locks
// its socket per request); XenStoreHandle is not Sync.
unsafe impl Send for XenStoreHandle {}

/// A xenstore transaction: aborted on drop unless [`XsTransaction::commit`] ran.
#[derive(Debug)]
pub struct XsTransaction<'h> {
    store: &'h XenStoreHandle,
    id: xs_transaction_t,
    finished: bool,
}

impl XenStoreHandle {
    /// `xs_open(0)`: connects to xenstored.
    pub fn open(lib: Arc<XenStore>) -> Result<XenStoreHandle, XenError> {
        // SAFETY: flags 0; returns a handle or NULL with errno set.
        let handle = unsafe { lib.xs_open(0) };
        match NonNull::new(handle) {
            Some(handle) => Ok(XenStoreHandle { handle, lib }),
            None => Err(super::errno_error("xs_open")),
        }
    }

    /// The value at `path`, or `None` when there is no such node.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, XenError> {
        self.read_in(XBT_NULL, path)
    }

    /// The children of `path`, or `None` when there is no such node.
    pub fn directory(&self, path: &str) -> Result<Option<Vec<Vec<u8>>>, XenError> {
        self.directory_in(XBT_NULL, path)
    }

    /// Writes `value` at `path`, creating the node.
    pub fn write(&self, path: &str, value: &[u8]) -> Result<(), XenError> {
        self.write_in(XBT_NULL, path, value)
    }

    /// Removes `path` and everything below it.
    pub fn remove(&self, path: &str) -> Result<(), XenError> {
        self.remove_in(XBT_NULL, path)
    }

    /// A domain's home, e.g. `/local/domain/3`.
    pub fn domain_path(&self, domid: DomId) -> Result<String, XenError> {
        // SAFETY: the handle is open; the result is NULL or a malloc'd C string.
        let path = unsafe { self.lib.xs_get_domain_path(self.handle.as_ptr(), domid.0) };
        if path.is_null() {
            return Err(XenError::Xenstore {
                call: "xs_get_domain_path",
                path: format!("domain {domid}"),
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: non-NULL and NUL-terminated; malloc'd by libxenstore and freed once here.
        let text = unsafe {
            let text = CStr::from_ptr(path).to_string_lossy().into_owned();
            libc::free(path.cast::<c_void>());
            text
        };
        Ok(text)
    }

    /// Starts a transaction.
    pub fn transaction(&self) -> Result<XsTransaction<'_>, XenError> {
        // SAFETY: the handle is open.
        let id = unsafe { self.lib.xs_transaction_start(self.handle.as_ptr()) };
        if id == XBT_NULL {
            return Err(XenError::Xenstore {
                call: "xs_transaction_start",
                path: String::new(),
                source: io::Error::last_os_error(),
            });
        }
        Ok(XsTransaction {
            store: self,
            id,
            finished: false,
        })
    }

    fn read_in(&self, t: xs_transaction_t, path: &str) -> Result<Option<Vec<u8>>, XenError> {
        let c_path = c_path("xs_read", path)?;
        let mut len: c_uint = 0;
        // SAFETY: the handle is open, the path is a C string, `len` is valid for writes; the
        // result is NULL or a malloc'd buffer of `len` bytes.
        let value = unsafe {
            self.lib
                .xs_read(self.handle.as_ptr(), t, c_path.as_ptr(), &mut len)
        };
        if value.is_null() {
            return none_if_missing("xs_read", path);
        }
        // SAFETY: `value` holds `len` bytes; it is freed once, after copying.
        let bytes = unsafe {
            let bytes = std::slice::from_raw_parts(value.cast::<u8>(), len as usize).to_vec();
            libc::free(value);
            bytes
        };
        Ok(Some(bytes))
    }

    fn directory_in(
        &self,
        t: xs_transaction_t,
        path: &str,
    ) -> Result<Option<Vec<Vec<u8>>>, XenError> {
        let c_path = c_path("xs_directory", path)?;
        let mut count: c_uint = 0;
        // SAFETY: as for xs_read; the result is NULL or one malloc'd block holding `count`
        // string pointers and the strings.
        let list = unsafe {
            self.lib
                .xs_directory(self.handle.as_ptr(), t, c_path.as_ptr(), &mut count)
        };
        if list.is_null() {
            return none_if_missing("xs_directory", path);
        }
        // SAFETY: `list` has `count` entries, each a C string in the same block, which is
        // freed once after copying.
        let names = unsafe {
            let entries: &[*mut c_char] = std::slice::from_raw_parts(list, count as usize);
            let names = entries
                .iter()
                .map(|&name| CStr::from_ptr(name).to_bytes().to_vec())
                .collect();
            libc::free(list.cast::<c_void>());
            names
        };
        Ok(Some(names))
    }

    fn write_in(&self, t: xs_transaction_t, path: &str, value: &[u8]) -> Result<(), XenError> {
        let c_path = c_path("xs_write", path)?;
        let len = c_uint::try_from(value.len()).map_err(|_| XenError::Xenstore {
            call: "xs_write",
            path: path.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "value too long"),
        })?;
        // SAFETY: the handle is open; `value` is `len` readable bytes.
        let ok = unsafe {
            self.lib.xs_write(
                self.handle.as_ptr(),
                t,
                c_path.as_ptr(),
                value.as_ptr().cast::<c_void>(),
                len,
            )
        };
        if ok {
            Ok(())
        } else {
            Err(xs_error("xs_write", path))
        }
    }

    fn remove_in(&self, t: xs_transaction_t, path: &str) -> Result<(), XenError> {
        let c_path = c_path("xs_rm", path)?;
        // SAFETY: the handle is open and the path is a C string.
        let ok = unsafe { self.lib.xs_rm(self.handle.as_ptr(), t, c_path.as_ptr()) };
        if ok {
            Ok(())
        } else {
            Err(xs_error("xs_rm", path))
        }
    }
}

impl Drop for XenStoreHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from xs_open and is closed once; transactions borrow it, so
        // none is open.
        unsafe { self.lib.xs_close(self.handle.as_ptr()) };
    }
}

impl XsTransaction<'_> {
    /// The value at `path` in this transaction.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, XenError> {
        self.store.read_in(self.id, path)
    }

    /// The children of `path` in this transaction.
    pub fn directory(&self, path: &str) -> Result<Option<Vec<Vec<u8>>>, XenError> {
        self.store.directory_in(self.id, path)
    }

    /// Writes `value` at `path` in this transaction.
    pub fn write(&self, path: &str, value: &[u8]) -> Result<(), XenError> {
        self.store.write_in(self.id, path, value)
    }

    /// Removes `path` in this transaction.
    pub fn remove(&self, path: &str) -> Result<(), XenError> {
        self.store.remove_in(self.id, path)
    }

    /// Commits. `Ok(false)` means another writer got in first (`EAGAIN`): nothing was written,
    /// start a new transaction and try again.
    pub fn commit(mut self) -> Result<bool, XenError> {
        self.finished = true;
        // SAFETY: the transaction is open on this handle and ends once.
        let ok = unsafe {
            self.store
                .lib
                .xs_transaction_end(self.store.handle.as_ptr(), self.id, false)
        };
        if ok {
            return Ok(true);
        }
        let source = io::Error::last_os_error();
        if source.raw_os_error() == Some(libc::EAGAIN) {
            return Ok(false);
        }
        Err(XenError::Xenstore {
            call: "xs_transaction_end",
            path: String::new(),
            source,
        })
    }
}

impl Drop for XsTransaction<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // SAFETY: the transaction is open on this handle and ends once (aborted).
            unsafe {
                self.store
                    .lib
                    .xs_transaction_end(self.store.handle.as_ptr(), self.id, true)
            };
        }
    }
}

fn c_path(call: &'static str, path: &str) -> Result<CString, XenError> {
    CString::new(path).map_err(|_| XenError::Xenstore {
        call,
        path: path.escape_debug().to_string(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"),
    })
}

fn xs_error(call: &'static str, path: &str) -> XenError {
    XenError::Xenstore {
        call,
        path: path.to_owned(),
        source: io::Error::last_os_error(),
    }
}

/// After a NULL result: `None` when errno says the node does not exist, else the error.
fn none_if_missing<T>(call: &'static str, path: &str) -> Result<Option<T>, XenError> {
    let source = io::Error::last_os_error();
    if source.raw_os_error() == Some(libc::ENOENT) {
        Ok(None)
    } else {
        Err(XenError::Xenstore {
            call,
            path: path.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_nul_are_refused_before_any_call() {
        let err = c_path("xs_read", "/local/domain/0\0/name").unwrap_err();
        let XenError::Xenstore { call, path, source } = err else {
            panic!()
        };
        assert_eq!(call, "xs_read");
        assert_eq!(path, "/local/domain/0\\0/name");
        assert_eq!(source.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(c_path("xs_read", "/vm").unwrap().as_bytes(), b"/vm");
    }
}
