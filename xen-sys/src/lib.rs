//! Raw FFI to the Xen toolstack libraries (libxenstat, libxenctrl, libxenguest, libxenlight,
//! libxenstore, libxentoollog, libxenevtchn), loaded at run time by **versioned soname**.
//!
//! Nothing links against Xen: a program using this crate starts on any Linux host and gets a
//! clear [`XenSysError`] where the libraries are missing or of a version the bindings do not
//! serve. The bindings were generated ahead of time from the Xen 4.17 headers by
//! `generate/generate.sh` (bindgen 0.72.1) and serve Xen **4.17 to 4.22**; see [`v4_17`] for
//! what was checked and why.
//!
//! * Per-release libraries (libxenstat, libxenctrl, libxenguest, libxenlight) are tried as
//!   `lib*.so.4.22`, `.so.4.21`, ... down to `.so.4.17`; the stable ones as
//!   `libxenstore.so.4`, `libxentoollog.so.1` and `libxenevtchn.so.1`.
//! * [`LIBDIR_ENV`] (`XENADM_XEN_LIBDIR`) names a folder to search instead of the system
//!   library path. Load the libraries in [`XenLibrary::ALL`] order from such a folder, so that
//!   each one's Xen dependencies are already mapped by soname when it loads.
//! * [`Loaded`] keeps the library mapped and dereferences to its generated function table
//!   ([`XenStat`], [`XenCtrl`], [`XenGuest`], [`XenLight`], [`XenStore`], [`XenToolLog`]). Every function
//!   is `unsafe`: the safe owner types live in `xen-core`.
//!
//! # Example
//!
//! Which Xen libraries this host has, and where they came from:
//!
//! ```
//! use xen_sys::{LoadOptions, XenLibrary};
//!
//! let options = LoadOptions::from_env();
//! for library in XenLibrary::ALL {
//!     match xen_sys::probe(library, &options) {
//!         Ok(origin) => println!(
//!             "{library}: {} ({})",
//!             origin.candidate,
//!             origin.path.as_deref().map_or("?".into(), |p| p.display().to_string()),
//!         ),
//!         // Not a Xen host: the error names every soname tried and the fix.
//!         Err(err) => println!("{library}: {err}"),
//!     }
//! }
//!
//! // Calling into a library: unsafe, because these are raw C functions.
//! if let Ok(xenstore) = xen_sys::XenStore::load() {
//!     // SAFETY: xs_open takes flags and returns a handle or NULL.
//!     let handle = unsafe { xenstore.xs_open(xen_sys::v4_17::types::XS_OPEN_READONLY.into()) };
//!     if !handle.is_null() {
//!         // SAFETY: `handle` came from xs_open and is closed once.
//!         unsafe { xenstore.xs_close(handle) };
//!     }
//! }
//! ```

mod error;
mod library;
mod load;
pub mod v4_17;

pub use error::XenSysError;
pub use library::{
    Candidate, FileVersion, SUPPORTED_MAJOR, SUPPORTED_MINORS, SonameScheme, XenLibrary,
    XenVersion, supported_range,
};
pub use load::{
    FnTable, LIBDIR_ENV, LoadOptions, Loaded, Origin, SearchPath, XenCtrl, XenEvtchn, XenGuest,
    XenLight, XenStat, XenStore, XenToolLog, probe,
};
