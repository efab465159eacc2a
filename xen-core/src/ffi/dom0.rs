//! Is this a Xen dom0 we may drive? Checked before opening the libraries' handles, so that the
//! answer is one clear error instead of a failed hypercall (and libxenstat's `perror` noise).

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use crate::XenError;

/// Where the checks look. [`Dom0Paths::default`] is the real system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dom0Paths {
    /// The hypercall device (Linux privcmd driver).
    pub privcmd: PathBuf,
    /// The same device on xenfs, used by old kernels.
    pub legacy_privcmd: PathBuf,
    /// xenfs's capabilities file: `control_d` in dom0, empty in a guest.
    pub capabilities: PathBuf,
}

impl Default for Dom0Paths {
    fn default() -> Dom0Paths {
        Dom0Paths {
            privcmd: PathBuf::from("/dev/xen/privcmd"),
            legacy_privcmd: PathBuf::from("/proc/xen/privcmd"),
            capabilities: PathBuf::from(xen_role::CAPABILITIES),
        }
    }
}

/// What `NotDom0` says when there is no hypercall device.
pub const NO_HYPERVISOR: &str =
    "no such device: not running on the Xen hypervisor, or the xen_privcmd module is not loaded";

/// What `NotDom0` says in a guest.
pub const GUEST: &str = "no `control_d`: this is a Xen guest (domU), not the control domain";

/// Checks the real system: see [`check_at`].
pub fn check() -> Result<(), XenError> {
    check_at(&Dom0Paths::default())
}

/// Checks that the hypercall device exists, that xenfs (when mounted) says this is the control
/// domain, and that this user may open the device read-write (root).
pub fn check_at(paths: &Dom0Paths) -> Result<(), XenError> {
    let device = if paths.privcmd.exists() {
        &paths.privcmd
    } else if paths.legacy_privcmd.exists() {
        &paths.legacy_privcmd
    } else {
        return Err(XenError::NotDom0 {
            path: paths.privcmd.clone(),
            what: NO_HYPERVISOR,
        });
    };
    // xenfs may not be mounted; then only the device tells.
    if let Ok(capabilities) = std::fs::read_to_string(&paths.capabilities)
        && !xen_role::has_control_d(&capabilities)
    {
        return Err(XenError::NotDom0 {
            path: paths.capabilities.clone(),
            what: GUEST,
        });
    }
    match OpenOptions::new().read(true).write(true).open(device) {
        Ok(_) => Ok(()),
        Err(source) => Err(open_error(device, source)),
    }
}

/// The error for a failed open of the hypercall device.
fn open_error(device: &Path, source: io::Error) -> XenError {
    if source.kind() == io::ErrorKind::PermissionDenied {
        XenError::PermissionDenied {
            path: device.to_owned(),
            source,
        }
    } else {
        XenError::HostFile {
            path: device.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dir: &Path) -> Dom0Paths {
        Dom0Paths {
            privcmd: dir.join("privcmd"),
            legacy_privcmd: dir.join("proc-privcmd"),
            capabilities: dir.join("capabilities"),
        }
    }

    #[test]
    fn no_device_means_no_hypervisor() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        let err = check_at(&paths).unwrap_err();
        assert!(
            matches!(&err, XenError::NotDom0 { path, what } if *path == paths.privcmd && *what == NO_HYPERVISOR),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("not a Xen dom0: "), "{err}");
    }

    #[test]
    fn a_guest_is_told_apart_from_dom0() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        std::fs::write(&paths.privcmd, b"").unwrap();
        std::fs::write(&paths.capabilities, b"").unwrap();
        let err = check_at(&paths).unwrap_err();
        assert!(
            matches!(&err, XenError::NotDom0 { what, .. } if *what == GUEST),
            "{err:?}"
        );

        std::fs::write(&paths.capabilities, b"control_d\n").unwrap();
        check_at(&paths).unwrap();
        // Without xenfs mounted the device alone decides.
        std::fs::remove_file(&paths.capabilities).unwrap();
        check_at(&paths).unwrap();
    }

    #[test]
    fn the_legacy_device_counts() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        std::fs::write(&paths.legacy_privcmd, b"").unwrap();
        check_at(&paths).unwrap();
    }

    #[test]
    fn permission_denied_says_run_as_root() {
        let err = open_error(
            Path::new("/dev/xen/privcmd"),
            io::ErrorKind::PermissionDenied.into(),
        );
        assert!(matches!(err, XenError::PermissionDenied { .. }), "{err:?}");
        assert!(err.to_string().contains("as root"), "{err}");
        let other = open_error(Path::new("/dev/xen/privcmd"), io::ErrorKind::Other.into());
        assert!(matches!(other, XenError::HostFile { .. }), "{other:?}");
    }

    #[test]
    fn this_machine_has_no_hypervisor() {
        // The development and CI machines run no Xen; under the lab's dom0 (root) this passes.
        if Path::new("/dev/xen/privcmd").exists() {
            check().unwrap();
        } else {
            assert!(matches!(check(), Err(XenError::NotDom0 { .. })));
        }
    }
}
