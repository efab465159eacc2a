//! The crate's one error type.

use std::io;
use std::path::PathBuf;

use crate::library::XenLibrary;
use crate::load::{LIBDIR_ENV, SearchPath};

/// Why a Xen library could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XenSysError {
    /// No supported soname of the library exists where we looked.
    #[error(
        "{library} not found: tried {} {searched}; xenadm must run in a Xen dom0 with the Xen \
         {} tools libraries installed (Debian: `apt install xen-utils-4.17`, which brings \
         libxenmisc4.17)",
        .tried.join(", "),
        crate::library::supported_range()
    )]
    NotFound {
        /// The library.
        library: XenLibrary,
        /// Every soname or path tried, in order.
        tried: Vec<String>,
        /// Where the names were looked up.
        searched: SearchPath,
    },
    /// The library exists, but only in versions the bindings do not serve.
    #[error(
        "{library}: found only {} {searched}, but xenadm supports {}",
        .found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        .library.accepted()
    )]
    UnsupportedVersion {
        /// The library.
        library: XenLibrary,
        /// The files found, each of an unsupported version.
        found: Vec<PathBuf>,
        /// Where they were found.
        searched: SearchPath,
    },
    /// A supported soname exists but the dynamic linker refused it (a dependency is missing,
    /// wrong architecture, damaged file).
    #[error("cannot load {library} from {candidate}")]
    Load {
        /// The library.
        library: XenLibrary,
        /// The soname or path handed to the dynamic linker.
        candidate: String,
        /// The linker's message.
        #[source]
        source: libloading::Error,
    },
    /// The library loaded but lacks a function the bindings need.
    #[error("{library} ({candidate}) has no symbol `{symbol}`")]
    MissingSymbol {
        /// The library.
        library: XenLibrary,
        /// The soname or path it was loaded from.
        candidate: String,
        /// The missing function.
        symbol: String,
        /// The linker's message.
        #[source]
        source: libloading::Error,
    },
    /// `XENADM_XEN_LIBDIR` names a folder that cannot be read.
    #[error("{LIBDIR_ENV}={}: cannot read this folder", dir.display())]
    LibDir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}
