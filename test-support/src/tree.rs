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
