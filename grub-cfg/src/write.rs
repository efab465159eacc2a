//! Safe writes: replace a file atomically (temp file in the same folder, fsync, rename, fsync
//! the folder; mode and owner kept; a backup next to it; refused when the file changed since it
//! was read), or overwrite a fixed-size file in place (grubenv). Temp files: [`crate::temp`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use crate::error::GrubCfgError;
use crate::temp::{self, Temp};

/// How files are written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Keep the previous content as `<file>.xenadm-bak` next to the file (default: yes).
    pub backup: bool,
}

impl Default for WriteOptions {
    fn default() -> WriteOptions {
        WriteOptions { backup: true }
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct WriteReport {
    /// The file written.
    pub path: PathBuf,
    /// Where the previous content was saved, if a backup was made.
    pub backup: Option<PathBuf>,
}

/// The suffix of backup files.
pub const BACKUP_SUFFIX: &str = ".xenadm-bak";

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> GrubCfgError + '_ {
    move |source| GrubCfgError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn read_current(path: &Path) -> Result<Vec<u8>, GrubCfgError> {
    let mut file = File::open(path).map_err(|source| GrubCfgError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|source| GrubCfgError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(bytes)
}

/// Fails with [`GrubCfgError::Changed`] unless `path` still holds `expected`.
fn unchanged(path: &Path, expected: &[u8]) -> Result<(), GrubCfgError> {
    if read_current(path)? == expected {
        Ok(())
    } else {
        Err(GrubCfgError::Changed {
            path: path.to_path_buf(),
        })
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Writes `bytes` to a new temp file next to `path` with `meta`'s mode and owner, synced.
fn temp_copy(path: &Path, bytes: &[u8], meta: &fs::Metadata) -> Result<Temp, GrubCfgError> {
    let result = (|| {
        // On error the temp file (ours) is removed when dropped.
        let mut temp = temp::create(path, 0o600)?;
        temp.file.write_all(bytes)?;
        temp.file.set_permissions(meta.permissions())?;
        if let Err(e) = std::os::unix::fs::fchown(&temp.file, Some(meta.uid()), Some(meta.gid())) {
            // Only root may give a file away; an unprivileged user editing their own copy
            // already owns the temp file like the original.
            let ours = temp.file.metadata()?;
            if ours.uid() != meta.uid() || ours.gid() != meta.gid() {
                return Err(e);
            }
        }
        temp.file.sync_all()?;
        Ok(temp)
    })();
    result.map_err(|source| GrubCfgError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn sync_dir(path: &Path) -> Result<(), GrubCfgError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(write_err(path))
}

/// Saves `old` as the backup of `path`.
fn backup(path: &Path, old: &[u8], meta: &fs::Metadata) -> Result<PathBuf, GrubCfgError> {
    let target = with_suffix(path, BACKUP_SUFFIX);
    let temp = temp_copy(&target, old, meta)?;
    fs::rename(&temp.path, &target).map_err(|source| GrubCfgError::Write {
        path: target.clone(),
        source,
    })?;
    temp.renamed();
    Ok(target)
}

/// Replaces `path` (whose content was read as `old`) with `new`: temp file in the same
/// folder, mode and owner copied, fsync, rename, fsync of the folder. Refused with
/// [`GrubCfgError::Changed`] when the file no longer holds `old`.
pub(crate) fn replace_file(
    path: &Path,
    old: &[u8],
    new: &[u8],
    options: &WriteOptions,
) -> Result<WriteReport, GrubCfgError> {
    let meta = fs::metadata(path).map_err(|source| GrubCfgError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    unchanged(path, old)?;
    let backup = if options.backup {
        Some(backup(path, old, &meta)?)
    } else {
        None
    };
    let temp = temp_copy(path, new, &meta)?;
    unchanged(path, old).and_then(|()| fs::rename(&temp.path, path).map_err(write_err(path)))?;
    temp.renamed();
    sync_dir(path)?;
    Ok(WriteReport {
        path: path.to_path_buf(),
        backup,
    })
}

/// Creates `path` with `bytes` (mode 0644), atomically; fails if it exists.
pub(crate) fn create_file(path: &Path, bytes: &[u8]) -> Result<WriteReport, GrubCfgError> {
    let result = (|| {
        let mut temp = temp::create(path, 0o644)?;
        temp.file.write_all(bytes)?;
        temp.file.sync_all()?;
        if path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the file appeared while it was being created",
            ));
        }
        fs::rename(&temp.path, path)?;
        temp.renamed();
        Ok(())
    })();
    result.map_err(|source| GrubCfgError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    sync_dir(path)?;
    Ok(WriteReport {
        path: path.to_path_buf(),
        backup: None,
    })
}

/// Overwrites `path` in place (same inode and blocks, no rename, no truncation): for grubenv,
/// whose sectors GRUB itself rewrites at boot. `new` must have the file's size.
pub(crate) fn overwrite_in_place(
    path: &Path,
    old: &[u8],
    new: &[u8],
    options: &WriteOptions,
) -> Result<WriteReport, GrubCfgError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|source| GrubCfgError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    let meta = file.metadata().map_err(write_err(path))?;
    let mut current = Vec::new();
    file.read_to_end(&mut current)
        .map_err(|source| GrubCfgError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if current != old || new.len() != old.len() {
        return Err(GrubCfgError::Changed {
            path: path.to_path_buf(),
        });
    }
    let backup = if options.backup {
        Some(backup(path, old, &meta)?)
    } else {
        None
    };
    file.write_all_at(new, 0).map_err(write_err(path))?;
    file.sync_all().map_err(write_err(path))?;
    Ok(WriteReport {
        path: path.to_path_buf(),
        backup,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn test_replace_keeps_mode_and_backs_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grub");
        fs::write(&path, "old\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let report = replace_file(&path, b"old\n", b"new\n", &WriteOptions::default()).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read(report.backup.unwrap()).unwrap(), b"old\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temp file left: {names:?}");
    }

    #[test]
    fn test_replace_refuses_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grub");
        fs::write(&path, "changed\n").unwrap();
        let err = replace_file(&path, b"old\n", b"new\n", &WriteOptions::default()).unwrap_err();
        assert!(matches!(err, GrubCfgError::Changed { .. }));
        assert_eq!(fs::read(&path).unwrap(), b"changed\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn test_in_place_keeps_inode() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grubenv");
        fs::write(&path, [b'#'; 16]).unwrap();
        let inode = fs::metadata(&path).unwrap().ino();
        let options = WriteOptions { backup: false };
        overwrite_in_place(&path, &[b'#'; 16], &[b'x'; 16], &options).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
        assert_eq!(fs::read(&path).unwrap(), [b'x'; 16]);
    }
}
