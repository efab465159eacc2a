//! Trees of small files standing in for `/sys`, `/proc` or `/etc` under a test root.

use std::fs;
use std::path::Path;

/// Writes `text` to `root/rel`, creating the folders on the way.
///
/// ```
/// let root = tempfile::tempdir().unwrap();
/// test_support::tree::write(root.path(), "sys/hypervisor/type", "xen\n");
/// assert_eq!(std::fs::read_to_string(root.path().join("sys/hypervisor/type")).unwrap(), "xen\n");
/// ```
pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A Xen dom0 under `root`, as `/proc/xen` and `/sys/hypervisor` show one: the control domain's
/// capabilities, hypervisor type `xen`, and with `version` (`["4", "17", ".5"]`: major, minor,
/// extra) its version files; without, a hypervisor that does not show its version.
///
/// ```
/// let root = tempfile::tempdir().unwrap();
/// test_support::tree::xen_dom0(root.path(), Some(["4", "17", ".5"]));
/// let minor = root.path().join("sys/hypervisor/version/minor");
/// assert_eq!(std::fs::read_to_string(minor).unwrap(), "17\n");
/// ```
pub fn xen_dom0(root: &Path, version: Option<[&str; 3]>) {
    write(root, "proc/xen/capabilities", "control_d\n");
    write(root, "sys/hypervisor/type", "xen\n");
    if let Some([major, minor, extra]) = version {
        write(root, "sys/hypervisor/version/major", &format!("{major}\n"));
        write(root, "sys/hypervisor/version/minor", &format!("{minor}\n"));
        write(root, "sys/hypervisor/version/extra", &format!("{extra}\n"));
    }
}
