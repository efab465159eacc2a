//! Loop devices for tests, attached with sparse-img's own ioctls.

use std::path::Path;

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
