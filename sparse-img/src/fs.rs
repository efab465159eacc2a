//! The filesystem under an image: free space and mount point.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use nix::sys::statvfs::{FsFlags, Statvfs, fstatvfs, statvfs};

/// Size and free space of a filesystem (statvfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FsSpace {
    /// Size of the filesystem.
    pub total_bytes: u64,
    /// Space unprivileged users may still allocate (`f_bavail`): root's reserved blocks are
    /// not counted, so guests do not eat them.
    pub free_bytes: u64,
    /// The fundamental block size (`f_frsize`).
    pub block_size_bytes: u64,
    /// Mounted read-only.
    pub read_only: bool,
}

impl FsSpace {
    /// The filesystem holding an open file.
    pub fn of_file(file: &File) -> io::Result<FsSpace> {
        Ok(FsSpace::from_statvfs(&fstatvfs(file)?))
    }

    /// The filesystem holding `path`.
    pub fn of_path(path: &Path) -> io::Result<FsSpace> {
        Ok(FsSpace::from_statvfs(&statvfs(path)?))
    }

    fn from_statvfs(st: &Statvfs) -> FsSpace {
        let frsize = st.fragment_size().max(1);
        FsSpace {
            total_bytes: st.blocks().saturating_mul(frsize),
            free_bytes: st.blocks_available().saturating_mul(frsize),
            block_size_bytes: frsize,
            read_only: st.flags().contains(FsFlags::ST_RDONLY),
        }
    }
}

/// The mount point of the filesystem holding `path`: the highest ancestor on the same device.
/// Falls back to the path itself when it cannot be resolved.
pub fn mount_point(path: &Path) -> PathBuf {
    let Ok(path) = path.canonicalize() else {
        return path.to_path_buf();
    };
    let Ok(dev) = path.metadata().map(|m| m.dev()) else {
        return path;
    };
    let mut mount = path.as_path();
    while let Some(parent) = mount.parent() {
        match parent.metadata() {
            Ok(meta) if meta.dev() == dev => mount = parent,
            _ => break,
        }
    }
    mount.to_path_buf()
}

/// Rounds `bytes` up to a multiple of `block` (> 0), saturating.
pub(crate) fn round_up(bytes: u64, block: u64) -> u64 {
    let block = block.max(1);
    bytes.div_ceil(block).saturating_mul(block)
}

/// Whether fallocate cannot work on `file`: on the ext2/ext3/ext4 family (one superblock
/// magic) only files mapped with extents support it; ext2 and ext3 files (and ext4 files
/// made without extents) answer EOPNOTSUPP, and the grow then writes zeros instead. Other
/// filesystems are not known to refuse it here (their real run still falls back if they do).
pub(crate) fn fallocate_unsupported(file: &File) -> bool {
    let ext_family = nix::sys::statfs::fstatfs(file)
        .is_ok_and(|st| st.filesystem_type() == nix::sys::statfs::EXT4_SUPER_MAGIC);
    ext_family
        && crate::ioctl::inode_flags(file)
            .is_ok_and(|flags| flags & crate::ioctl::FS_EXTENT_FL == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_space_of_temp_dir() {
        let dir = tempfile::tempdir().unwrap();
        let space = FsSpace::of_path(dir.path()).unwrap();
        assert!(space.total_bytes >= space.free_bytes);
        assert!(space.block_size_bytes >= 512);
        assert!(!space.read_only);
    }

    #[test]
    fn test_mount_point_of_root_is_root() {
        assert_eq!(mount_point(Path::new("/")), PathBuf::from("/"));
        let dir = tempfile::tempdir().unwrap();
        assert!(dir.path().starts_with(mount_point(dir.path())));
    }

    #[test]
    fn test_round_up() {
        assert_eq!(round_up(0, 4096), 0);
        assert_eq!(round_up(1, 4096), 4096);
        assert_eq!(round_up(4096, 4096), 4096);
        assert_eq!(round_up(u64::MAX, 4096), u64::MAX);
    }
}
