//! Is this machine a Xen dom0, a Xen guest (domU), or not on Xen at all?
//!
//! One answer for every crate of the workspace, read from the files Linux shows under a root
//! directory (`/` on the real system, a tree of test files in tests):
//!
//! 1. `/proc/xen/capabilities` (xenfs) decides when it can be read: `control_d` among its
//!    words means the control domain, anything else a guest;
//! 2. else `/sys/hypervisor/type` reading `xen` means a guest (a dom0 mounts xenfs: the Xen
//!    tools need it);
//! 3. else the machine is not on Xen.
//!
//! The hypervisor's version comes from `/sys/hypervisor/version/{major,minor,extra}`.
//!
//! The crate has no dependencies (serde is optional) and loads no Xen library, so that crates
//! that must build and run anywhere (grub-cfg, vhostmd) can ask too.
//!
//! # Example
//!
//! ```
//! use xen_role::{XenRole, detect_at};
//!
//! let root = tempfile::tempdir()?;
//! std::fs::create_dir_all(root.path().join("proc/xen"))?;
//! std::fs::write(root.path().join("proc/xen/capabilities"), "control_d\n")?;
//! let host = detect_at(root.path());
//! assert_eq!(host.role, XenRole::Dom0);
//! assert_eq!(host.evidence, "/proc/xen/capabilities has control_d");
//! # Ok::<(), std::io::Error>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::fs;
use std::path::Path;

/// xenfs's capabilities file: `control_d` in dom0, empty in a guest.
pub const CAPABILITIES: &str = "/proc/xen/capabilities";
/// The hypervisor's name (`xen`) in sysfs.
pub const HYPERVISOR_TYPE: &str = "/sys/hypervisor/type";
/// The directory with the hypervisor's `major`, `minor` and `extra` version files.
pub const HYPERVISOR_VERSION: &str = "/sys/hypervisor/version";

/// This machine's place in a Xen system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
pub enum XenRole {
    /// Not running on Xen.
    None,
    /// The control domain: may drive the hypervisor through the Xen libraries.
    Dom0,
    /// A Xen guest.
    DomU,
}

impl XenRole {
    /// Whether the machine runs on Xen at all (dom0 or guest).
    pub fn on_xen(self) -> bool {
        self != XenRole::None
    }
}

impl fmt::Display for XenRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            XenRole::None => "not a Xen host",
            XenRole::Dom0 => "Xen dom0 (control domain)",
            XenRole::DomU => "Xen guest (domU)",
        })
    }
}

/// The running hypervisor's version as sysfs gives it, each part trimmed of white space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HypervisorVersion {
    /// `major`, e.g. `4`.
    pub major: String,
    /// `minor`, e.g. `17`.
    pub minor: String,
    /// `extra`, e.g. `.5` or `.6-pre` (empty when the file is missing).
    pub extra: String,
}

impl HypervisorVersion {
    /// `(major, minor)` as numbers, when both are.
    pub fn release(&self) -> Option<(u32, u32)> {
        Some((self.major.parse().ok()?, self.minor.parse().ok()?))
    }
}

impl fmt::Display for HypervisorVersion {
    /// `4.17.5`: major, a dot, minor, then extra as it is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}{}", self.major, self.minor, self.extra)
    }
}

/// What [`detect_at`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct XenHost {
    /// dom0, domU or none.
    pub role: XenRole,
    /// The hypervisor `/sys/hypervisor/type` names (`xen`), when it names one.
    pub hypervisor: Option<String>,
    /// The hypervisor's version, when sysfs gives `major` and `minor`.
    pub version: Option<HypervisorVersion>,
    /// Which file decided the role, and how, e.g. `/proc/xen/capabilities has control_d`.
    pub evidence: &'static str,
}

/// Whether the text of `/proc/xen/capabilities` names the control domain.
///
/// ```
/// assert!(xen_role::has_control_d("control_d\n"));
/// assert!(!xen_role::has_control_d(""));
/// assert!(!xen_role::has_control_d("no_control_d"));
/// ```
pub fn has_control_d(capabilities: &str) -> bool {
    capabilities
        .split_whitespace()
        .any(|word| word == "control_d")
}

/// The real system: [`detect_at`] of `/`.
pub fn detect() -> XenHost {
    detect_at(Path::new("/"))
}

/// Decides the role from the files under `root` (see the crate documentation for the rules).
/// Never fails: an unreadable file counts as a missing one.
pub fn detect_at(root: &Path) -> XenHost {
    let read = |path: &str| fs::read_to_string(root.join(path.trim_start_matches('/'))).ok();
    let hypervisor = read(HYPERVISOR_TYPE).map(|s| s.trim().to_owned());
    let (role, evidence) = match (read(CAPABILITIES), hypervisor.as_deref()) {
        (Some(caps), _) if has_control_d(&caps) => {
            (XenRole::Dom0, "/proc/xen/capabilities has control_d")
        }
        (Some(_), _) => (XenRole::DomU, "/proc/xen/capabilities lacks control_d"),
        (None, Some("xen")) => (XenRole::DomU, "/sys/hypervisor/type is xen, no /proc/xen"),
        (None, _) => (
            XenRole::None,
            "no /proc/xen and /sys/hypervisor/type is not xen",
        ),
    };
    let version_part = |part: &str| read(&format!("{HYPERVISOR_VERSION}/{part}"));
    let version = match (version_part("major"), version_part("minor")) {
        (Some(major), Some(minor)) => Some(HypervisorVersion {
            major: major.trim().to_owned(),
            minor: minor.trim().to_owned(),
            extra: version_part("extra")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
        }),
        _ => None,
    };
    XenHost {
        role,
        hypervisor: hypervisor.filter(|t| !t.is_empty()),
        version,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use test_support::tree::{write, xen_dom0};

    #[test]
    fn test_no_files_is_not_xen() {
        let dir = tempfile::tempdir().unwrap();
        let host = detect_at(dir.path());
        assert_eq!(host.role, XenRole::None);
        assert!(!host.role.on_xen());
        assert_eq!(host.hypervisor, None);
        assert_eq!(host.version, None);
    }

    #[test]
    fn test_dom0_with_version() {
        let dir = tempfile::tempdir().unwrap();
        xen_dom0(dir.path(), Some(["4", "17", ".5"]));
        let host = detect_at(dir.path());
        assert_eq!(host.role, XenRole::Dom0);
        assert_eq!(host.hypervisor.as_deref(), Some("xen"));
        let version = host.version.unwrap();
        assert_eq!(version.to_string(), "4.17.5");
        assert_eq!(version.release(), Some((4, 17)));
    }

    #[test]
    fn test_guest_with_and_without_xenfs() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sys/hypervisor/type", "xen\n");
        let host = detect_at(dir.path());
        assert_eq!(host.role, XenRole::DomU);
        assert_eq!(host.evidence, "/sys/hypervisor/type is xen, no /proc/xen");
        write(dir.path(), "proc/xen/capabilities", "");
        let host = detect_at(dir.path());
        assert_eq!(host.role, XenRole::DomU);
        assert_eq!(host.evidence, "/proc/xen/capabilities lacks control_d");
    }

    #[test]
    fn test_control_d_is_a_word_not_a_substring() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "proc/xen/capabilities", "not_control_d\n");
        assert_eq!(detect_at(dir.path()).role, XenRole::DomU);
    }

    #[test]
    fn test_other_hypervisor_is_not_xen() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sys/hypervisor/type", "kvm\n");
        let host = detect_at(dir.path());
        assert_eq!(host.role, XenRole::None);
        assert_eq!(host.hypervisor.as_deref(), Some("kvm"));
    }

    #[test]
    fn test_version_without_extra_and_odd_numbers() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sys/hypervisor/version/major", "4\n");
        write(dir.path(), "sys/hypervisor/version/minor", "x\n");
        let version = detect_at(dir.path()).version.unwrap();
        assert_eq!(version.to_string(), "4.x");
        assert_eq!(version.release(), None);
    }
}
