//! The crate's one error type. Every variant names where the problem is: the library call,
//! the domain, the sysfs path, or the byte offset in a stream.

use std::io;
use std::path::PathBuf;

use crate::host::DomId;

/// Why a xen-core operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XenError {
    // ---- Xen libraries and hypervisor calls (ffi, host backend) ----
    /// A Xen library call failed.
    #[error("{call} failed")]
    Call {
        /// The C function, e.g. `xenstat_get_node`.
        call: &'static str,
        /// The errno it left.
        #[source]
        source: io::Error,
    },
    /// A domain vanished or could not be read.
    #[error("domain {domid}: {what}")]
    Domain {
        /// The domain.
        domid: DomId,
        /// What went wrong.
        what: String,
    },

    // ---- Host files (sysfs, procfs) ----
    /// Reading a host file failed.
    #[error("cannot read {}", path.display())]
    HostFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A host file held something unexpected.
    #[error("{}:{line}: {message}", path.display())]
    HostFileFormat {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What was wrong.
        message: String,
    },
    // ---- Migration streams (stream module) ----
}
