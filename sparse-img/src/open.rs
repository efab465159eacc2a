//! Opening an image: regular files only, never created, checked after opening.

use std::fs::{self, File, Metadata, OpenOptions};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use crate::error::{FileKind, SparseImgError};

/// Opens the regular file at `path` for reading, or with `grow` for reading and appending.
///
/// The path is checked before opening (so a device or FIFO is never opened) and the open file
/// again after (in case the path changed in between). With `grow` the file is opened
/// `O_APPEND`: every `write` lands at the end of the file, whatever the offset, so writes
/// below the old end are impossible. The file is never created.
pub(crate) fn open_image(path: &Path, grow: bool) -> Result<(File, Metadata), SparseImgError> {
    let meta = fs::metadata(path).map_err(|e| SparseImgError::from_io(path, "read", e))?;
    check_regular(path, &meta)?;
    let mut options = OpenOptions::new();
    options.read(true).append(grow);
    options.custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK);
    let file = options
        .open(path)
        .map_err(|e| SparseImgError::from_io(path, "open", e))?;
    let meta = file
        .metadata()
        .map_err(|e| SparseImgError::from_io(path, "read the metadata of", e))?;
    check_regular(path, &meta)?;
    Ok((file, meta))
}

fn check_regular(path: &Path, meta: &Metadata) -> Result<(), SparseImgError> {
    match FileKind::of(meta.file_type()) {
        None => Ok(()),
        Some(kind) => Err(SparseImgError::NotAFile {
            path: path.to_path_buf(),
            kind,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_refuses_folder_device_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            open_image(dir.path(), false),
            Err(SparseImgError::NotAFile {
                kind: FileKind::Directory,
                ..
            })
        ));
        assert!(matches!(
            open_image(Path::new("/dev/null"), true),
            Err(SparseImgError::NotAFile {
                kind: FileKind::CharDevice,
                ..
            })
        ));
        assert!(matches!(
            open_image(&dir.path().join("nope.img"), true),
            Err(SparseImgError::NotFound { .. })
        ));
        // Never created.
        assert!(!dir.path().join("nope.img").exists());
    }
}
