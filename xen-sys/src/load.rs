//! Finding and opening the Xen libraries at run time, by versioned soname.

use std::ffi::{CStr, OsString, c_void};
use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use libloading::Library;

use crate::error::XenSysError;
use crate::library::{FileVersion, XenLibrary, XenVersion};
use crate::v4_17::{xenctrl, xenevtchn, xenguest, xenlight, xenstat, xenstore, xentoollog};

/// The environment variable naming a folder to load the Xen libraries from instead of the
/// system library path. When set (and not empty), only that folder is searched.
pub const LIBDIR_ENV: &str = "XENADM_XEN_LIBDIR";

/// Where the libraries are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchPath {
    /// The dynamic linker's usual search: `LD_LIBRARY_PATH`, the ld.so cache, the default folders.
    System,
    /// Only this folder (from [`LIBDIR_ENV`] or [`LoadOptions::in_dir`]).
    Dir(PathBuf),
}

impl fmt::Display for SearchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchPath::System => f.write_str("in the system library path"),
            SearchPath::Dir(dir) => write!(f, "in {LIBDIR_ENV}={}", dir.display()),
        }
    }
}

/// How to find the libraries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Search only this folder; `None` searches the system library path.
    pub lib_dir: Option<PathBuf>,
}

impl LoadOptions {
    /// The options the environment asks for: [`LIBDIR_ENV`] when set and not empty.
    pub fn from_env() -> LoadOptions {
        LoadOptions::from_env_value(std::env::var_os(LIBDIR_ENV))
    }

    /// The options for a given value of [`LIBDIR_ENV`] (an empty value counts as unset).
    pub fn from_env_value(value: Option<OsString>) -> LoadOptions {
        LoadOptions {
            lib_dir: value.filter(|v| !v.is_empty()).map(PathBuf::from),
        }
    }

    /// Search only `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> LoadOptions {
        LoadOptions {
            lib_dir: Some(dir.into()),
        }
    }

    /// Where these options search.
    pub fn search_path(&self) -> SearchPath {
        match &self.lib_dir {
            Some(dir) => SearchPath::Dir(dir.clone()),
            None => SearchPath::System,
        }
    }
}

/// Where a loaded library came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The library.
    pub library: XenLibrary,
    /// The soname (system search) or path (folder search) that loaded.
    pub candidate: String,
    /// The file the dynamic linker mapped, when it can tell.
    pub path: Option<PathBuf>,
    /// The Xen release of a per-release library (`None` for the stable ones).
    pub xen_version: Option<XenVersion>,
}

/// A generated function table of one library (see [`crate::v4_17`]).
pub trait FnTable: Sized {
    /// The library the table belongs to.
    const LIBRARY: XenLibrary;
    /// Every symbol the table resolves.
    const SYMBOLS: &'static [&'static str];

    /// Resolves every symbol.
    ///
    /// # Safety
    ///
    /// `library` must be a build of [`Self::LIBRARY`] whose functions have the signatures of
    /// the generated bindings (a version in [`crate::SUPPORTED_MINORS`]).
    unsafe fn from_library(library: Library) -> Result<Self, libloading::Error>;
}

macro_rules! fn_table {
    ($table:ty, $library:expr, $symbols:expr) => {
        impl FnTable for $table {
            const LIBRARY: XenLibrary = $library;
            const SYMBOLS: &'static [&'static str] = $symbols;

            unsafe fn from_library(library: Library) -> Result<Self, libloading::Error> {
                // SAFETY: the caller guarantees `library` is this table's library.
                unsafe { <$table>::from_library(library) }
            }
        }
    };
}

fn_table!(xenstat::XenStatFns, XenLibrary::XenStat, xenstat::SYMBOLS);
fn_table!(xenctrl::XenCtrlFns, XenLibrary::XenCtrl, xenctrl::SYMBOLS);
fn_table!(
    xenguest::XenGuestFns,
    XenLibrary::XenGuest,
    xenguest::SYMBOLS
);
fn_table!(
    xenlight::XenLightFns,
    XenLibrary::XenLight,
    xenlight::SYMBOLS
);
fn_table!(
    xenstore::XenStoreFns,
    XenLibrary::XenStore,
    xenstore::SYMBOLS
);
fn_table!(
    xentoollog::XenToolLogFns,
    XenLibrary::XenToolLog,
    xentoollog::SYMBOLS
);
fn_table!(
    xenevtchn::XenEvtchnFns,
    XenLibrary::XenEvtchn,
    xenevtchn::SYMBOLS
);

/// A loaded library: its function table (reached through `Deref`) and where it came from.
/// The library stays mapped while this value lives.
pub struct Loaded<F> {
    fns: F,
    origin: Origin,
}

/// libxenstat, loaded.
pub type XenStat = Loaded<xenstat::XenStatFns>;
/// libxenctrl, loaded.
pub type XenCtrl = Loaded<xenctrl::XenCtrlFns>;
/// libxenguest, loaded.
pub type XenGuest = Loaded<xenguest::XenGuestFns>;
/// libxenlight, loaded.
pub type XenLight = Loaded<xenlight::XenLightFns>;
/// libxenstore, loaded.
pub type XenStore = Loaded<xenstore::XenStoreFns>;
/// libxentoollog, loaded.
pub type XenToolLog = Loaded<xentoollog::XenToolLogFns>;
/// libxenevtchn, loaded.
pub type XenEvtchn = Loaded<xenevtchn::XenEvtchnFns>;

impl<F: FnTable> Loaded<F> {
    /// Loads the library as the environment asks ([`LoadOptions::from_env`]).
    pub fn load() -> Result<Loaded<F>, XenSysError> {
        Loaded::load_with(&LoadOptions::from_env())
    }

    /// Loads the library: each supported soname, newest release first, until one loads.
    pub fn load_with(options: &LoadOptions) -> Result<Loaded<F>, XenSysError> {
        let (library, origin) = open(F::LIBRARY, options)?;
        check_symbols(&library, F::LIBRARY, &origin.candidate, F::SYMBOLS)?;
        // SAFETY: `open` only loads sonames of `F::LIBRARY` in supported versions, whose
        // signatures are those of the generated table (see the v4_17 module).
        let fns = unsafe { F::from_library(library) }.map_err(|source| XenSysError::Load {
            library: F::LIBRARY,
            candidate: origin.candidate.clone(),
            source,
        })?;
        Ok(Loaded { fns, origin })
    }
}

impl<F> Loaded<F> {
    /// Where the library came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

impl<F> Deref for Loaded<F> {
    type Target = F;

    fn deref(&self) -> &F {
        &self.fns
    }
}

impl<F> fmt::Debug for Loaded<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Loads one library without binding its functions and says where it came from: what
/// `xenadm status` and the crate example show.
pub fn probe(library: XenLibrary, options: &LoadOptions) -> Result<Origin, XenSysError> {
    let (_library, origin) = open(library, options)?;
    Ok(origin)
}

/// Opens the first candidate that loads.
fn open(library: XenLibrary, options: &LoadOptions) -> Result<(Library, Origin), XenSysError> {
    let searched = options.search_path();
    if let SearchPath::Dir(dir) = &searched {
        std::fs::read_dir(dir).map_err(|source| XenSysError::LibDir {
            dir: dir.clone(),
            source,
        })?;
    }
    let mut tried = Vec::new();
    let mut refused: Option<(String, libloading::Error)> = None;
    for candidate in library.candidates() {
        let target: OsString = match &searched {
            SearchPath::System => OsString::from(&candidate.soname),
            SearchPath::Dir(dir) => dir.join(&candidate.soname).into_os_string(),
        };
        let shown = target.to_string_lossy().into_owned();
        tried.push(shown.clone());
        if matches!(searched, SearchPath::Dir(_)) && !Path::new(&target).exists() {
            continue;
        }
        // SAFETY: `target` is a Xen tools library (by soname, or in the folder the
        // administrator named); its initialisers are plain C constructors that ask nothing of
        // the caller.
        match unsafe { Library::new(&target) } {
            Ok(loaded) => {
                let path = mapped_path(&loaded, library);
                let origin = Origin {
                    library,
                    candidate: shown,
                    path,
                    xen_version: candidate.xen_version,
                };
                return Ok((loaded, origin));
            }
            Err(error) if is_not_found(&error, &candidate.soname) => {}
            Err(error) => {
                refused.get_or_insert((shown, error));
            }
        }
    }
    if let Some((candidate, source)) = refused {
        return Err(XenSysError::Load {
            library,
            candidate,
            source,
        });
    }
    let found = unsupported_files(library, &searched);
    if found.is_empty() {
        Err(XenSysError::NotFound {
            library,
            tried,
            searched,
        })
    } else {
        Err(XenSysError::UnsupportedVersion {
            library,
            found,
            searched,
        })
    }
}

/// Whether the linker's message says the candidate itself does not exist (and not, say, one of
/// its dependencies). glibc: `NAME: cannot open shared object file: No such file or directory`;
/// musl: `Error loading shared library NAME: No such file or directory`.
fn is_not_found(error: &libloading::Error, soname: &str) -> bool {
    let message = error.to_string();
    message.starts_with(&format!("{soname}: cannot open shared object file"))
        || message.starts_with(&format!(
            "Error loading shared library {soname}: No such file"
        ))
}

/// Checks every symbol before the generated loader runs, so that a missing one is reported by
/// name.
pub(crate) fn check_symbols(
    library: &Library,
    which: XenLibrary,
    candidate: &str,
    symbols: &[&str],
) -> Result<(), XenSysError> {
    for symbol in symbols {
        // SAFETY: the symbol is only looked up, never called or read through this pointer.
        let found = unsafe { library.get::<*const c_void>(symbol.as_bytes()) };
        if let Err(source) = found {
            return Err(XenSysError::MissingSymbol {
                library: which,
                candidate: candidate.to_owned(),
                symbol: (*symbol).to_owned(),
                source,
            });
        }
    }
    Ok(())
}

/// The file the dynamic linker mapped for `library`, found with `dladdr` on its first symbol.
fn mapped_path(library: &Library, which: XenLibrary) -> Option<PathBuf> {
    let first = match which {
        XenLibrary::XenStat => xenstat::SYMBOLS.first(),
        XenLibrary::XenCtrl => xenctrl::SYMBOLS.first(),
        XenLibrary::XenGuest => xenguest::SYMBOLS.first(),
        XenLibrary::XenLight => xenlight::SYMBOLS.first(),
        XenLibrary::XenStore => xenstore::SYMBOLS.first(),
        XenLibrary::XenToolLog => xentoollog::SYMBOLS.first(),
        XenLibrary::XenEvtchn => xenevtchn::SYMBOLS.first(),
    }?;
    // SAFETY: only the address is used, as an argument to dladdr.
    let symbol = unsafe { library.get::<*const c_void>(first.as_bytes()) }.ok()?;
    let address: *const c_void = *symbol;
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: `address` lies in a mapped object and `info` is valid for writes.
    let found = unsafe { libc::dladdr(address, info.as_mut_ptr()) };
    if found == 0 {
        return None;
    }
    // SAFETY: dladdr returned non-zero, so it filled `info`.
    let info = unsafe { info.assume_init() };
    if info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated string owned by the dynamic linker, valid while the
    // object is loaded (we copy it at once).
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    use std::os::unix::ffi::OsStrExt as _;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes())))
}

/// Files of `library` in versions the bindings do not serve, where `searched` looks.
fn unsupported_files(library: XenLibrary, searched: &SearchPath) -> Vec<PathBuf> {
    let dirs = match searched {
        SearchPath::Dir(dir) => vec![dir.clone()],
        SearchPath::System => system_library_dirs(),
    };
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if library.classify_file_name(name) == Some(FileVersion::Unsupported) {
                found.push(dir.join(name));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The folders the dynamic linker searches by default, plus `LD_LIBRARY_PATH`: where to look
/// for library files of other versions when no supported one loads.
fn system_library_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
    for dir in [
        "/usr/local/lib".to_owned(),
        format!("/usr/local/lib/{multiarch}"),
        format!("/usr/lib/{multiarch}"),
        format!("/lib/{multiarch}"),
        "/usr/lib64".to_owned(),
        "/lib64".to_owned(),
        "/usr/lib".to_owned(),
        "/lib".to_owned(),
    ] {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_value_selects_the_folder() {
        assert_eq!(
            LoadOptions::from_env_value(None).search_path(),
            SearchPath::System
        );
        assert_eq!(
            LoadOptions::from_env_value(Some(OsString::new())).search_path(),
            SearchPath::System
        );
        assert_eq!(
            LoadOptions::from_env_value(Some("/opt/xen/lib".into())).search_path(),
            SearchPath::Dir("/opt/xen/lib".into())
        );
    }

    #[test]
    fn empty_folder_reports_every_candidate_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let err = XenStat::load_with(&LoadOptions::in_dir(dir.path())).unwrap_err();
        let XenSysError::NotFound {
            library,
            tried,
            searched,
        } = &err
        else {
            panic!("expected NotFound, got {err:?}");
        };
        assert_eq!(*library, XenLibrary::XenStat);
        assert_eq!(tried.len(), crate::SUPPORTED_MINORS.count());
        assert_eq!(
            tried[0],
            dir.path().join("libxenstat.so.4.22").display().to_string()
        );
        assert_eq!(
            tried.last().unwrap(),
            &dir.path().join("libxenstat.so.4.17").display().to_string()
        );
        assert_eq!(searched, &SearchPath::Dir(dir.path().to_owned()));
        let text = err.to_string();
        assert!(text.starts_with("libxenstat not found: tried "), "{text}");
        assert!(text.contains(&format!("in XENADM_XEN_LIBDIR={}", dir.path().display())));
        assert!(text.contains("Xen dom0"), "{text}");
        assert!(text.contains("4.17 to 4.22"), "{text}");
    }

    #[test]
    fn only_other_versions_present_says_which() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "libxenstat.so.4.16",
            "libxenstat.so.5.0",
            "libxenstat.so",
            "libxenctrl.so.4.17",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let err = XenStat::load_with(&LoadOptions::in_dir(dir.path())).unwrap_err();
        let XenSysError::UnsupportedVersion { found, .. } = &err else {
            panic!("expected UnsupportedVersion, got {err:?}");
        };
        assert_eq!(
            found,
            &vec![
                dir.path().join("libxenstat.so.4.16"),
                dir.path().join("libxenstat.so.5.0")
            ]
        );
        let text = err.to_string();
        assert!(text.contains("libxenstat.so.4.16"), "{text}");
        assert!(
            text.contains("supports libxenstat.so.4.17 to .so.4.22"),
            "{text}"
        );

        let store = XenStore::load_with(&LoadOptions::in_dir(dir.path())).unwrap_err();
        assert!(matches!(store, XenSysError::NotFound { .. }), "{store:?}");
    }

    #[test]
    fn a_broken_file_of_a_supported_version_is_a_load_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libxenstore.so.4"), b"not an ELF file").unwrap();
        let err = XenStore::load_with(&LoadOptions::in_dir(dir.path())).unwrap_err();
        let XenSysError::Load { candidate, .. } = &err else {
            panic!("expected Load, got {err:?}");
        };
        assert_eq!(
            candidate,
            &dir.path().join("libxenstore.so.4").display().to_string()
        );
    }

    #[test]
    fn unreadable_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = XenCtrl::load_with(&LoadOptions::in_dir(&missing)).unwrap_err();
        assert!(
            matches!(&err, XenSysError::LibDir { dir, .. } if dir == &missing),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("XENADM_XEN_LIBDIR="));
    }

    #[test]
    fn missing_symbol_is_named() {
        // Any loaded library works for the check; libc is always there.
        // SAFETY: loading libc again only bumps its reference count.
        let libc = unsafe { Library::new("libc.so.6") }.unwrap();
        check_symbols(&libc, XenLibrary::XenStat, "libc.so.6", &["malloc", "free"]).unwrap();
        let err = check_symbols(
            &libc,
            XenLibrary::XenStat,
            "libc.so.6",
            &["malloc", "xenstat_no_such_function"],
        )
        .unwrap_err();
        let XenSysError::MissingSymbol {
            symbol, candidate, ..
        } = &err
        else {
            panic!("expected MissingSymbol, got {err:?}");
        };
        assert_eq!(symbol, "xenstat_no_such_function");
        assert_eq!(candidate, "libc.so.6");
        assert_eq!(
            err.to_string(),
            "libxenstat (libc.so.6) has no symbol `xenstat_no_such_function`"
        );
    }

    #[test]
    fn not_found_messages_are_told_apart_from_dependency_failures() {
        let missing = libloading::Error::DlOpen {
            desc: c"libxenstat.so.4.22: cannot open shared object file: No such file or directory"
                .into(),
        };
        assert!(is_not_found(&missing, "libxenstat.so.4.22"));
        let dependency = libloading::Error::DlOpen {
            desc: c"libxenctrl.so.4.17: cannot open shared object file: No such file or directory"
                .into(),
        };
        assert!(!is_not_found(&dependency, "libxenstat.so.4.17"));
    }
}
