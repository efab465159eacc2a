//! Temp files next to the file being written, safe against killed writers and pid namespaces.
//!
//! A temp file is named `.NAME.xenadm-tmp-R` (or `.NAME.xenadm-tmpx-R`), where `R` is 16
//! random hex digits, so two writers never pick the same name, whatever their pids (in a
//! container every writer may be pid 1); it is created with `O_EXCL`, and on a name clash
//! another name is drawn. Its writer holds an exclusive `flock` on it for as long as it lives,
//! so a writer killed with SIGKILL leaves a file that nobody holds.
//!
//! Before creating its own, a writer removes such leftovers in the folder: only names of this
//! exact form, only regular files, only when nobody holds their lock. The `tmp` form is made
//! with `O_TMPFILE` and locked before it gets a name (`linkat`), so an unlocked one is always
//! a leftover. The `tmpx` form (filesystems without `O_TMPFILE`) gets its lock just after its
//! name, so it is also required to be older than [`STALE_AFTER`]. A writer removes only the
//! temp files it created itself (never one whose creation failed).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::hash::{BuildHasher as _, Hasher as _};
use std::io;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::fcntl::{AT_FDCWD, AtFlags, OFlag};

/// The mark of temp files locked before they get a name (`O_TMPFILE` + `linkat`).
const LINKED_MARK: &str = ".xenadm-tmp-";
/// The mark of temp files created by name (`O_EXCL`), locked just after.
const NAMED_MARK: &str = ".xenadm-tmpx-";
/// An unlocked `tmpx` leftover is removed once it is this old (its writer takes the lock
/// within microseconds of creating it).
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(60);
/// Names drawn before giving up (each clash is a 1 in 2^64 event).
const ATTEMPTS: usize = 16;
const RANDOM_DIGITS: usize = 16;

/// A temp file this process created and holds locked. Removed on drop unless
/// [`renamed`](Self::renamed) was called.
#[derive(Debug)]
pub(crate) struct Temp {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
    keep: bool,
}

impl Temp {
    /// The temp file was renamed into place: nothing to remove.
    pub(crate) fn renamed(mut self) {
        self.keep = true;
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.keep {
            // Ours: created by this process (O_EXCL or linkat succeeded) and still locked.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// 64 random bits from the standard library's OS-seeded hasher keys.
fn random_suffix() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()) ^ d.as_secs()),
    );
    format!("{:016x}", hasher.finish())
}

fn temp_name(target: &Path, mark: &str) -> PathBuf {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    target.with_file_name(format!(".{name}{mark}{}", random_suffix()))
}

fn folder(target: &Path) -> &Path {
    target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Creates a new, empty, locked temp file next to `target` with `mode`, after removing stale
/// leftovers of killed writers in that folder.
pub(crate) fn create(target: &Path, mode: u32) -> io::Result<Temp> {
    let dir = folder(target);
    remove_stale(dir);
    if let Some(temp) = create_linked(target, dir, mode)? {
        return Ok(temp);
    }
    for _ in 0..ATTEMPTS {
        let path = temp_name(target, NAMED_MARK);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
        {
            Ok(file) => {
                // From here on the file is ours (and removed on error by Temp's drop).
                let temp = Temp {
                    file,
                    path,
                    keep: false,
                };
                temp.file.lock()?;
                return Ok(temp);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temp file name",
    ))
}

/// `O_TMPFILE`, locked, then linked under a fresh name; `None` where the filesystem or the
/// kernel cannot (then the caller creates it by name).
fn create_linked(target: &Path, dir: &Path, mode: u32) -> io::Result<Option<Temp>> {
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .mode(mode)
        .custom_flags(OFlag::O_TMPFILE.bits())
        .open(dir)
    {
        Ok(file) => file,
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc_errno::EOPNOTSUPP | libc_errno::EISDIR | libc_errno::EINVAL)
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    file.lock()?;
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    for _ in 0..ATTEMPTS {
        let path = temp_name(target, LINKED_MARK);
        match nix::unistd::linkat(
            AT_FDCWD,
            proc_path.as_str(),
            AT_FDCWD,
            &path,
            AtFlags::AT_SYMLINK_FOLLOW,
        ) {
            Ok(()) => {
                return Ok(Some(Temp {
                    file,
                    path,
                    keep: false,
                }));
            }
            Err(nix::errno::Errno::EEXIST) => {}
            // No /proc, or a filesystem that cannot link it: create by name instead.
            Err(_) => return Ok(None),
        }
    }
    Ok(None)
}

/// Errno values used above, from nix (the crate forbids unsafe and has no libc dependency).
mod libc_errno {
    use nix::errno::Errno;
    pub const EOPNOTSUPP: i32 = Errno::EOPNOTSUPP as i32;
    pub const EISDIR: i32 = Errno::EISDIR as i32;
    pub const EINVAL: i32 = Errno::EINVAL as i32;
}

/// Whether `name` is one of our temp names, and of which form (`true`: locked before named).
fn our_temp_name(name: &str) -> Option<bool> {
    let (mark, linked) = if let Some(i) = name.rfind(LINKED_MARK) {
        (i + LINKED_MARK.len(), true)
    } else {
        (name.rfind(NAMED_MARK)? + NAMED_MARK.len(), false)
    };
    let random = &name[mark..];
    let ours = name.starts_with('.')
        && mark > LINKED_MARK.len() + 1
        && random.len() == RANDOM_DIGITS
        && random.bytes().all(|b| b.is_ascii_hexdigit());
    ours.then_some(linked)
}

/// Removes leftovers of killed writers in `dir` (best effort: errors are ignored); returns
/// how many were removed.
pub(crate) fn remove_stale(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(linked) = name.to_str().and_then(our_temp_name) else {
            continue;
        };
        if remove_if_stale(&entry.path(), linked).unwrap_or(false) {
            removed += 1;
        }
    }
    removed
}

fn remove_if_stale(path: &Path, linked: bool) -> io::Result<bool> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(false);
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(false),
        Err(TryLockError::Error(e)) => return Err(e),
    }
    if !linked {
        let age = meta.modified()?.elapsed().unwrap_or(Duration::ZERO);
        if age < STALE_AFTER {
            return Ok(false);
        }
    }
    // Still the file we locked under that name.
    let now = fs::symlink_metadata(path)?;
    if now.ino() != meta.ino() || now.dev() != meta.dev() {
        return Ok(false);
    }
    fs::remove_file(path)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_are_random_and_recognised() {
        let target = Path::new("/boot/grub/grub.cfg");
        let a = temp_name(target, LINKED_MARK);
        let b = temp_name(target, LINKED_MARK);
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".grub.cfg.xenadm-tmp-"), "{name}");
        assert_eq!(our_temp_name(name), Some(true));
        let x = temp_name(target, NAMED_MARK);
        assert_eq!(
            our_temp_name(x.file_name().unwrap().to_str().unwrap()),
            Some(false)
        );
        for other in [
            "grub.cfg",
            ".grub.xenadm-4242-0",
            ".grub.xenadm-tmp-123",
            ".grub.xenadm-tmp-0123456789abcdeg",
            "grub.xenadm-tmp-0123456789abcdef",
            ".xenadm-tmp-0123456789abcdef",
        ] {
            assert_eq!(our_temp_name(other), None, "{other}");
        }
    }

    #[test]
    fn test_a_held_temp_is_never_removed_and_a_dropped_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("grub");
        let temp = create(&target, 0o600).unwrap();
        assert!(temp.path.exists());
        assert_eq!(remove_stale(dir.path()), 0, "in use");
        let path = temp.path.clone();
        drop(temp);
        assert!(!path.exists());
    }

    #[test]
    fn test_a_leftover_of_a_dead_writer_is_removed_but_not_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("grub");
        // A killed writer's file: it exists, nobody holds it.
        let temp = create(&target, 0o600).unwrap();
        let left = temp.path.clone();
        temp.renamed();
        // Not ours: similar names, a folder, a fresh unlocked tmpx.
        let fresh_x = dir.path().join(".grub.xenadm-tmpx-0123456789abcdef");
        fs::write(&fresh_x, "x").unwrap();
        fs::write(dir.path().join(".grub.xenadm-4242-0"), "x").unwrap();
        fs::create_dir(dir.path().join(".grub.xenadm-tmp-0123456789abcdef")).unwrap();
        assert_eq!(remove_stale(dir.path()), 1);
        assert!(!left.exists());
        assert!(fresh_x.exists(), "younger than STALE_AFTER");
        assert!(dir.path().join(".grub.xenadm-4242-0").exists());
        // An old unlocked tmpx is a leftover.
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(1);
        File::options()
            .write(true)
            .open(&fresh_x)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(remove_stale(dir.path()), 1);
        assert!(!fresh_x.exists());
    }
}
