//! Loop devices for tests, attached with sparse-img's own ioctls.

use std::path::Path;
use std::process::Command;

use sparse_img::{AttachOptions, AttachedLoop};

/// Attaches `path` to a loop device with autoclear, so even a killed test leaves no device
/// behind; the guard detaches on drop, also when an assertion fails. `None` (after saying why,
/// see [`crate::tools::skip`]) where loop devices cannot be used, unless in CI.
pub fn attach_or_skip(path: &Path) -> Option<AttachedLoop> {
    let mut options = AttachOptions::default();
    options.autoclear = true;
    match sparse_img::attach(path, &options) {
        Ok(attached) => Some(attached),
        Err(err) => {
            crate::tools::skip(&format!(
                "loop devices cannot be used here: {err} ({:?})",
                std::error::Error::source(&err)
            ));
            None
        }
    }
}

/// What `losetup -j IMAGE` prints, one line per device, sorted by device number (losetup
/// lists in sysfs order; xenadm and sparse-img sort by number).
pub fn losetup_j(image: &Path) -> Vec<String> {
    let out = crate::tools::run_ok(Command::new("losetup").arg("-j").arg(image));
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort_by_key(|l| {
        l.trim_start_matches("/dev/loop")
            .split(':')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
    });
    lines
}
