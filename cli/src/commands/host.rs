//! Shared by the host-view commands (`list`, `info`, `top`): opening the Xen host, reading
//! saved captures for `--replay`, and hints for Xen errors.

use std::io::{self, Write as _};
use std::path::Path;

use xen_core::XenError;
use xen_core::host::{Host, XenBackend};

use crate::error::CliError;

/// The running Xen host, through its libraries.
pub fn open() -> Result<Host<XenBackend>, CliError> {
    Ok(Host::with_backend(XenBackend::open()?))
}

/// The bytes of a saved capture (`--replay FILE`; `-` is standard input).
pub fn read_capture(path: &Path) -> Result<Vec<u8>, CliError> {
    let read = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map(|_| bytes)
    } else {
        std::fs::read(path)
    };
    read.map_err(|source| {
        CliError::Xen(XenError::HostFile {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Writes rendered text to stdout as bytes: domain names are bytes, and `xl`/xentop print
/// them unchanged, invalid UTF-8 included.
pub fn print_bytes(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).map_err(CliError::Output)?;
    stdout.flush().map_err(CliError::Output)?;
    Ok(())
}

/// What the administrator can do about a xen-core error: the fixes that name xenadm's own
/// commands and options here, the rest from [`XenError::fix`].
pub fn hint(err: &XenError) -> Option<&'static str> {
    match err {
        // [ffi variants]
        XenError::Library(_) => Some(
            "xenadm needs the Xen tools' libraries of a dom0, Xen 4.17 or later (Debian: xen-utils-4.17); XENADM_XEN_LIBDIR may name their folder; `xenadm status` says whether this host is a dom0",
        ),
        XenError::NotDom0 { .. } => Some(
            "list, info and top read the Xen host: run them in dom0 of a host booted with Xen; `xenadm status` says what this host is",
        ),
        XenError::PermissionDenied { .. } => Some("run xenadm as root in dom0 (e.g. with sudo)"),
        // [/ffi variants]
        XenError::Call { .. } | XenError::Libxc { .. } => Some(
            "run xenadm as root in a Xen dom0 with the Xen tools installed (Debian: xen-utils); `xenadm status` says whether this host is a dom0",
        ),
        XenError::Capture { .. } => Some(
            "--replay takes the unedited output of the same command: `xl list`, `xl info` or `xentop -b` (with -r when the capture used it; for `top --replay`, -d with the interval it was taken at, when it is not one of 0.5, 1, 2, 3, 5, 10, 15, 30 or 60 s)",
        ),
        XenError::Unavailable { .. } => {
            Some("replay the output of `xl info -n` to use -n (plain `xl info` has no tables)")
        }
        XenError::NoSuchDomain { .. } => Some("`xenadm list` shows every domain's name and id"),
        XenError::Stream(_) => Some(
            "`xenadm stream verify FILE` lists every problem with its byte offset; a save file cut short or copied in text mode fails this way",
        ),
        XenError::ExporterListen { source, .. } if source.kind() == io::ErrorKind::AddrInUse => {
            Some("another program serves on this port (see `ss -ltnp`); pick another with --listen")
        }
        XenError::StreamRead { .. } => {
            Some("check the path and that it is a file from `xl save` (or `-` for stdin)")
        }
        _ => err.fix(),
    }
}
