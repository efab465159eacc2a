//! The five Xen libraries, their sonames, and which file names count as which version.

use std::fmt;
use std::ops::RangeInclusive;

/// Xen releases whose libraries the bindings serve: 4.17 to 4.22 (see [`crate::v4_17`]).
pub const SUPPORTED_MINORS: RangeInclusive<u32> = 17..=22;

/// The Xen major version of every supported release.
pub const SUPPORTED_MAJOR: u32 = 4;

/// A Xen release, e.g. 4.17.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct XenVersion {
    /// Major number (4).
    pub major: u32,
    /// Minor number (17 for 4.17).
    pub minor: u32,
}

impl XenVersion {
    /// Whether the bindings serve this release.
    pub fn is_supported(self) -> bool {
        self.major == SUPPORTED_MAJOR && SUPPORTED_MINORS.contains(&self.minor)
    }
}

impl fmt::Display for XenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The supported releases as text, e.g. `4.17 to 4.22`.
pub fn supported_range() -> String {
    format!(
        "{SUPPORTED_MAJOR}.{} to {SUPPORTED_MAJOR}.{}",
        SUPPORTED_MINORS.start(),
        SUPPORTED_MINORS.end()
    )
}

/// How a library's soname carries its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SonameScheme {
    /// `lib*.so.<xen major>.<xen minor>`: the ABI changes with every Xen release.
    PerRelease,
    /// `lib*.so.<major>`: a stable ABI with one soname across releases.
    Stable {
        /// The soname's major number.
        major: u32,
    },
}

/// One of the Xen tools libraries xenadm loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum XenLibrary {
    /// libxenstat: statistics for xentop.
    XenStat,
    /// libxenctrl: hypercall wrappers.
    XenCtrl,
    /// libxenguest: domain building and CPU policies (`xc_cpu_policy_*`).
    XenGuest,
    /// libxenlight (libxl): the toolstack.
    XenLight,
    /// libxenstore: the xenstore client.
    XenStore,
    /// libxentoollog: the loggers libxenctrl and libxl write to.
    XenToolLog,
    /// libxenevtchn: event channels (a guest's suspend event channel).
    XenEvtchn,
}

impl XenLibrary {
    /// Every library, in dependency order (a library's Xen dependencies come before it), which
    /// is the order to load them from one folder.
    pub const ALL: [XenLibrary; 7] = [
        XenLibrary::XenToolLog,
        XenLibrary::XenEvtchn,
        XenLibrary::XenStore,
        XenLibrary::XenCtrl,
        XenLibrary::XenGuest,
        XenLibrary::XenStat,
        XenLibrary::XenLight,
    ];

    /// The file name before `.so`, e.g. `libxenstat`.
    pub fn stem(self) -> &'static str {
        match self {
            XenLibrary::XenStat => "libxenstat",
            XenLibrary::XenCtrl => "libxenctrl",
            XenLibrary::XenGuest => "libxenguest",
            XenLibrary::XenLight => "libxenlight",
            XenLibrary::XenStore => "libxenstore",
            XenLibrary::XenToolLog => "libxentoollog",
            XenLibrary::XenEvtchn => "libxenevtchn",
        }
    }

    /// How its soname is versioned.
    pub fn scheme(self) -> SonameScheme {
        match self {
            XenLibrary::XenStat
            | XenLibrary::XenCtrl
            | XenLibrary::XenGuest
            | XenLibrary::XenLight => SonameScheme::PerRelease,
            XenLibrary::XenStore => SonameScheme::Stable { major: 4 },
            XenLibrary::XenToolLog | XenLibrary::XenEvtchn => SonameScheme::Stable { major: 1 },
        }
    }

    /// The sonames to try, newest supported release first.
    pub fn candidates(self) -> Vec<Candidate> {
        match self.scheme() {
            SonameScheme::PerRelease => SUPPORTED_MINORS
                .rev()
                .map(|minor| {
                    let version = XenVersion {
                        major: SUPPORTED_MAJOR,
                        minor,
                    };
                    Candidate {
                        soname: format!("{}.so.{version}", self.stem()),
                        xen_version: Some(version),
                    }
                })
                .collect(),
            SonameScheme::Stable { major } => vec![Candidate {
                soname: format!("{}.so.{major}", self.stem()),
                xen_version: None,
            }],
        }
    }

    /// What a file name says about this library: `None` if the name is not one of its files
    /// (or is the unversioned development symlink `lib*.so`), otherwise whether the version in
    /// it is one the bindings serve.
    pub fn classify_file_name(self, name: &str) -> Option<FileVersion> {
        let suffix = name.strip_prefix(self.stem())?.strip_prefix(".so.")?;
        let mut numbers = suffix.split('.').map(str::parse::<u32>);
        let first = numbers.next()?.ok()?;
        let second = numbers.next().transpose().ok()?;
        if numbers.any(|n| n.is_err()) {
            return None;
        }
        let supported = match self.scheme() {
            SonameScheme::PerRelease => second.is_some_and(|minor| {
                XenVersion {
                    major: first,
                    minor,
                }
                .is_supported()
            }),
            SonameScheme::Stable { major } => first == major,
        };
        Some(if supported {
            FileVersion::Supported
        } else {
            FileVersion::Unsupported
        })
    }

    /// Which sonames xenadm accepts, for messages: e.g. `libxenstat.so.4.17 to .so.4.22`.
    pub fn accepted(self) -> String {
        match self.scheme() {
            SonameScheme::PerRelease => format!(
                "{}.so.{SUPPORTED_MAJOR}.{} to .so.{SUPPORTED_MAJOR}.{} (Xen {})",
                self.stem(),
                SUPPORTED_MINORS.start(),
                SUPPORTED_MINORS.end(),
                supported_range()
            ),
            SonameScheme::Stable { major } => format!("{}.so.{major}", self.stem()),
        }
    }
}

impl fmt::Display for XenLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stem())
    }
}

/// One soname to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// e.g. `libxenstat.so.4.17`.
    pub soname: String,
    /// The Xen release it belongs to (per-release libraries only).
    pub xen_version: Option<XenVersion>,
}

/// Whether a library file found on disk has a version the bindings serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileVersion {
    /// One of [`XenLibrary::candidates`], or its full `x.y.z` file.
    Supported,
    /// Another version (too old, too new, or another soname major).
    Unsupported,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_release_candidates_go_newest_first_down_to_4_17() {
        let names: Vec<String> = XenLibrary::XenStat
            .candidates()
            .into_iter()
            .map(|c| c.soname)
            .collect();
        assert_eq!(
            names.first().map(String::as_str),
            Some("libxenstat.so.4.22")
        );
        assert_eq!(names.last().map(String::as_str), Some("libxenstat.so.4.17"));
        assert_eq!(names.len(), SUPPORTED_MINORS.count());
        let versions: Vec<u32> = XenLibrary::XenCtrl
            .candidates()
            .iter()
            .filter_map(|c| c.xen_version.map(|v| v.minor))
            .collect();
        assert!(versions.windows(2).all(|w| w[0] == w[1] + 1));
    }

    #[test]
    fn stable_libraries_have_one_soname() {
        let store = XenLibrary::XenStore.candidates();
        assert_eq!(store.len(), 1);
        assert_eq!(store[0].soname, "libxenstore.so.4");
        assert_eq!(store[0].xen_version, None);
        assert_eq!(
            XenLibrary::XenToolLog.candidates()[0].soname,
            "libxentoollog.so.1"
        );
    }

    #[test]
    fn file_names_are_classified_by_version() {
        use FileVersion::*;
        let stat = XenLibrary::XenStat;
        assert_eq!(
            stat.classify_file_name("libxenstat.so.4.17"),
            Some(Supported)
        );
        assert_eq!(
            stat.classify_file_name("libxenstat.so.4.17.0"),
            Some(Supported)
        );
        assert_eq!(
            stat.classify_file_name("libxenstat.so.4.22"),
            Some(Supported)
        );
        assert_eq!(
            stat.classify_file_name("libxenstat.so.4.16"),
            Some(Unsupported)
        );
        assert_eq!(
            stat.classify_file_name("libxenstat.so.4.23"),
            Some(Unsupported)
        );
        assert_eq!(
            stat.classify_file_name("libxenstat.so.5.0"),
            Some(Unsupported)
        );
        assert_eq!(
            stat.classify_file_name("libxenstat.so.4"),
            Some(Unsupported)
        );
        // Not a versioned file of this library.
        assert_eq!(stat.classify_file_name("libxenstat.so"), None);
        assert_eq!(stat.classify_file_name("libxenstat.a"), None);
        assert_eq!(stat.classify_file_name("libxenstat.so.4.17.bak"), None);
        assert_eq!(stat.classify_file_name("libxenctrl.so.4.17"), None);
        let store = XenLibrary::XenStore;
        assert_eq!(
            store.classify_file_name("libxenstore.so.4"),
            Some(Supported)
        );
        assert_eq!(
            store.classify_file_name("libxenstore.so.4.0"),
            Some(Supported)
        );
        assert_eq!(
            store.classify_file_name("libxenstore.so.3.0"),
            Some(Unsupported)
        );
        assert_eq!(
            store.classify_file_name("libxenstore.so.5"),
            Some(Unsupported)
        );
    }

    #[test]
    fn messages_name_the_range() {
        assert_eq!(supported_range(), "4.17 to 4.22");
        assert_eq!(
            XenLibrary::XenLight.accepted(),
            "libxenlight.so.4.17 to .so.4.22 (Xen 4.17 to 4.22)"
        );
        assert_eq!(XenLibrary::XenToolLog.accepted(), "libxentoollog.so.1");
    }
}
