//! The crate's one error type. Every variant names where the problem is: the library call,
//! the domain, the sysfs path, or the byte offset in a stream.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;
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
    /// A vCPU of a domain could not be read (the domain may have gone).
    #[error("domain {domid}: vCPU {vcpu}")]
    Vcpu {
        /// The domain.
        domid: DomId,
        /// The vCPU.
        vcpu: u32,
        /// The failed call.
        #[source]
        source: Box<XenError>,
    },
    /// A libxenctrl call failed and libxenctrl said why (`xc_get_last_error`).
    #[error("{call} failed: libxenctrl: {message}")]
    Libxc {
        /// The C function, e.g. `xc_domain_getinfolist`.
        call: &'static str,
        /// libxenctrl's error code (`XC_INTERNAL_ERROR`, ...).
        code: u32,
        /// libxenctrl's own message.
        message: String,
        /// The errno it left.
        #[source]
        source: io::Error,
    },
    /// A Xen library is missing, of a version xenadm does not support, or lacks a function.
    #[error(transparent)]
    Library(#[from] xen_sys::XenSysError),
    /// This host cannot drive Xen: no hypervisor interface, or a guest rather than dom0.
    #[error("not a Xen dom0: {}: {what}", path.display())]
    NotDom0 {
        /// The file that tells (`/dev/xen/privcmd`, `/proc/xen/capabilities`).
        path: PathBuf,
        /// What it says.
        what: &'static str,
    },
    /// The hypervisor interface exists but this user may not open it.
    #[error("{}: permission denied; xenadm must run as root in dom0", path.display())]
    PermissionDenied {
        /// The device, `/dev/xen/privcmd`.
        path: PathBuf,
        /// The open error.
        #[source]
        source: io::Error,
    },
    /// A libxl call returned an error code.
    #[error("{call} failed: libxl error {code} ({})", crate::ffi::libxl::error_name(*code))]
    Libxl {
        /// The C function, e.g. `libxl_ctx_alloc`.
        call: &'static str,
        /// The `libxl_error` code (negative).
        code: i32,
    },
    /// A xenstore call failed.
    #[error("{call} {path:?} failed")]
    Xenstore {
        /// The C function, e.g. `xs_read`.
        call: &'static str,
        /// The xenstore path.
        path: String,
        /// The errno it left.
        #[source]
        source: io::Error,
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

    // ---- Host view (captured tool output, recorded samples, domain lookup) ----
    /// Captured text of `xl list`, `xl info` or `xentop -b` could not be read.
    #[error("{format} text, line {line}, column {column}: {message}")]
    Capture {
        /// Which tool's output, e.g. `xentop -b`.
        format: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column (in bytes).
        column: usize,
        /// What was wrong.
        message: String,
    },
    /// A recorded backend was asked for more samples than it holds.
    #[error("the recording holds only {recorded} samples")]
    RecordingExhausted {
        /// How many samples it held.
        recorded: usize,
    },
    /// The source cannot give this fact, e.g. a recording of `xl info` made without `-n`.
    #[error("{what} is not available from this {source_kind}")]
    Unavailable {
        /// The fact, e.g. `the CPU and NUMA topology`.
        what: &'static str,
        /// What was asked, e.g. `recording (made without xl info -n)`.
        source_kind: &'static str,
    },
    /// No domain has the name or id the user gave.
    #[error("{query:?} is not the name or id of a domain")]
    NoSuchDomain {
        /// What the user gave.
        query: String,
    },
    // ---- Migration preflight (preflight module) ----
    /// A domain's libxl configuration (`libxl_domain_config_to_json`) could not be read.
    #[error("domain {domid}: its libxl configuration: {what}")]
    GuestConfig {
        /// The domain.
        domid: DomId,
        /// What is malformed.
        what: String,
    },
    /// The target of a migration could not be probed, or answered something unreadable.
    #[error("probing {host}: {what}")]
    Probe {
        /// The target host as given.
        host: String,
        /// What went wrong, with the line and column of bad output.
        what: String,
    },
    // ---- Migration streams (stream module) ----
    /// A migration stream or save file is malformed, truncated or of an unsupported kind; the
    /// error carries the byte offset and the layer.
    #[error(transparent)]
    Stream(#[from] crate::stream::StreamError),
    /// Reading a migration stream failed.
    #[error("cannot read {what} at byte {offset}")]
    StreamRead {
        /// The file name, or `standard input`.
        what: String,
        /// Bytes read before the failure.
        offset: u64,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Writing a migration stream (or relaying it) failed.
    #[error("cannot write {what} at byte {offset}")]
    StreamWrite {
        /// The destination, e.g. `standard output`.
        what: String,
        /// Bytes written before the failure.
        offset: u64,
        /// Why.
        #[source]
        source: io::Error,
    },
    // ---- Live migration (migrate module) ----
    /// A live migration step failed.
    #[error(transparent)]
    Migrate(#[from] crate::migrate::MigrateError),
    // ---- Prometheus exporter (exporter module) ----
    /// The exporter could not bind its listening socket.
    #[error("cannot listen on {addr}")]
    ExporterListen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The exporter's server stopped with an error.
    #[error("the exporter stopped serving")]
    ExporterServe(#[source] io::Error),
    // ---- Online disk resize (vbd module) ----
    /// A domain's QEMU (its QMP socket) could not be asked, or refused.
    #[error("domain {domid}: QEMU at {socket}: {what}")]
    Qmp {
        /// The domain QEMU serves.
        domid: DomId,
        /// The QMP socket, e.g. `/var/run/xen/qmp-libxl-3`.
        socket: PathBuf,
        /// What failed: the command and QEMU's own error text, or the protocol problem.
        what: String,
        /// The I/O error, when the socket failed.
        #[source]
        source: Option<io::Error>,
    },
}

impl XenError {
    /// What the administrator can do about this error, as a tool embedding the crate may show
    /// it (the `xenadm` CLI prints it as `hint:`). `None` where the fix is in the tool's own
    /// hands (which of its commands or options to use, how it is run): the tool words that
    /// itself.
    pub fn fix(&self) -> Option<&'static str> {
        Some(match self {
            XenError::Libxl { .. } | XenError::Xenstore { .. } => {
                "check that xenstored runs and that the Xen tools match the running hypervisor (`xl info` should work)"
            }
            XenError::Vcpu { .. } => {
                "the domain may have been destroyed meanwhile; run the command again"
            }
            XenError::HostFile { .. } => "check that the file exists and is readable",
            XenError::HostFileFormat { .. } => {
                "the file is not in the format the kernel or Xen tools write"
            }
            XenError::ExporterListen { source, .. } => match source.kind() {
                io::ErrorKind::PermissionDenied => {
                    "ports below 1024 need root; use a port such as 9753"
                }
                io::ErrorKind::AddrNotAvailable => {
                    "the address is not one of this host's; use 127.0.0.1, 0.0.0.0 or one of `ip -br addr`"
                }
                _ => return None,
            },
            XenError::StreamWrite { .. } => {
                "the reader on the other end went away (for relay: check the receiving `xl migrate-receive`)"
            }
            _ => return None,
        })
    }
}

/// An error and its causes on one line, joined by `: ` (`{}`), as a log line or a metric
/// label shows them; the workspace's one chain printer (the `xenadm` CLI uses it too).
///
/// ```
/// use xen_core::ErrorChain;
///
/// let err = std::io::Error::other("disk on fire");
/// assert_eq!(ErrorChain(&err).to_string(), "disk on fire");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        causes(self.0).try_for_each(|cause| write!(f, ": {cause}"))
    }
}

/// The causes of `err`, nearest first (its `source()`, that one's, and so on).
pub fn causes<'a>(
    err: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(err.source(), |&cause| cause.source())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_fix_is_the_crates_own_advice() {
        let unreadable = XenError::HostFile {
            path: PathBuf::from("/sys/class/net/vif1.0/statistics/rx_bytes"),
            source: io::Error::other("gone"),
        };
        assert_eq!(
            unreadable.fix(),
            Some("check that the file exists and is readable")
        );
        // Which command lists the domains is the tool's to word.
        let missing = XenError::NoSuchDomain {
            query: "web1".to_string(),
        };
        assert_eq!(missing.fix(), None);
    }
}
