//! The crate's error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::format::ImageFormat;
use crate::size::ByteSize;

/// Everything that can go wrong in this crate. Each variant names the file or device, and the
/// sizes and offsets involved. Whenever a growth fails, the image is left as it was (see
/// [`grow`](crate::grow())).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SparseImgError {
    /// The path does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file or a folder on its path may not be read (or written, for a growth).
    #[error("permission denied: {}", path.display())]
    PermissionDenied {
        /// The path given.
        path: PathBuf,
        /// The refusal (EACCES, or EPERM for an immutable file).
        #[source]
        source: io::Error,
    },
    /// The path is a folder, a block device or another non-regular file.
    #[error("{} is {kind}, not an image file", path.display())]
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it is.
        kind: FileKind,
    },
    /// The image lies on a read-only filesystem.
    #[error("{} is on a read-only filesystem", path.display())]
    ReadOnlyFilesystem {
        /// The image.
        path: PathBuf,
    },
    /// The file holds a format with its own header (qcow2, VMDK, ...): growing it as a raw
    /// file would not grow the virtual disk, or would corrupt it.
    #[error(
        "{} is a {} image, not a raw one: growing the file would not grow its virtual disk",
        path.display(),
        format.name()
    )]
    ForeignFormat {
        /// The image.
        path: PathBuf,
        /// The format its magic number (or name) says.
        format: ImageFormat,
    },
    /// A size given as text is not a size.
    #[error("invalid size `{input}`: {problem}")]
    InvalidSize {
        /// The text.
        input: String,
        /// What is wrong with it.
        problem: SizeProblem,
    },
    /// Current size plus the increment is beyond the largest possible file (2^63 - 1 bytes).
    #[error(
        "{}: {current_bytes} + {add_bytes} bytes is beyond the largest possible file size (2^63 - 1 bytes)",
        path.display()
    )]
    SizeOverflow {
        /// The image.
        path: PathBuf,
        /// Its current size.
        current_bytes: u64,
        /// The increment asked for.
        add_bytes: u64,
    },
    /// The target size is not larger than the current size: images are only ever grown.
    #[error(
        "{} is already {} ({current_bytes} bytes); the target {} ({target_bytes} bytes) is not larger, and images are only grown, never shrunk: the file is unchanged",
        path.display(),
        ByteSize::from_bytes(*current_bytes),
        ByteSize::from_bytes(*target_bytes)
    )]
    NotLarger {
        /// The image.
        path: PathBuf,
        /// Its current size (from fstat).
        current_bytes: u64,
        /// The size asked for.
        target_bytes: u64,
    },
    /// The filesystem has less free space than the allocation needs.
    #[error(
        "not enough free space for {}: allocating {} ({needed_bytes} bytes) needs more than the {} ({available_bytes} bytes) free on its filesystem; the file is unchanged",
        path.display(),
        ByteSize::from_bytes(*needed_bytes),
        ByteSize::from_bytes(*available_bytes)
    )]
    NoSpace {
        /// The image.
        path: PathBuf,
        /// Bytes the allocation needs.
        needed_bytes: u64,
        /// Bytes available to unprivileged users (statvfs `f_bavail`).
        available_bytes: u64,
    },
    /// The filesystem does not allow a file this large (EFBIG; ext4 with 4 KiB blocks stops at
    /// 16 TiB).
    #[error(
        "{}: {target_bytes} bytes is larger than its filesystem allows for one file; the file is unchanged",
        path.display()
    )]
    TooLargeForFilesystem {
        /// The image.
        path: PathBuf,
        /// The size asked for.
        target_bytes: u64,
        /// The kernel's refusal.
        #[source]
        source: io::Error,
    },
    /// An interrupted growth of this image is recorded in its journal, and the growth asked
    /// for is a different one.
    #[error(
        "an interrupted growth of {} from {} to {} is pending ({} records it; the file is now {current_bytes} bytes): run the same command again, or `--to {target_bytes}`, to finish it first",
        path.display(),
        ByteSize::from_bytes(*old_bytes),
        ByteSize::from_bytes(*target_bytes),
        journal.display()
    )]
    PendingGrow {
        /// The image.
        path: PathBuf,
        /// The journal.
        journal: PathBuf,
        /// Size before the interrupted growth.
        old_bytes: u64,
        /// Size it was growing to.
        target_bytes: u64,
        /// Size now.
        current_bytes: u64,
    },
    /// The file where the grow journal belongs is not a journal.
    #[error(
        "{} is not a xenadm grow journal; if no growth of {} is running, remove it",
        journal.display(),
        path.display()
    )]
    BadJournal {
        /// The image.
        path: PathBuf,
        /// The file in the journal's place.
        journal: PathBuf,
    },
    /// The growth was cancelled (SIGINT or SIGTERM) while the new range was being made.
    #[error(
        "growing {} was interrupted; {}",
        path.display(),
        if *restored { format!("the file was cut back to its old size ({old_bytes} bytes), its content is intact") } else { format!("its old content is intact, but the file could not be cut back to its old size ({old_bytes} bytes): run the same command again to finish the growth") }
    )]
    Interrupted {
        /// The image.
        path: PathBuf,
        /// Its size before (and after, when restored).
        old_bytes: u64,
        /// The file was cut back to `old_bytes`.
        restored: bool,
    },
    /// Another process holds the image's growth lock (another `grow` is running on it).
    #[error("{} is being grown by another process", path.display())]
    Busy {
        /// The image.
        path: PathBuf,
    },
    /// Allocating or zero-filling the new range failed part-way.
    #[error(
        "{}: {} {length_bytes} bytes at offset {offset_bytes} failed; {}",
        path.display(),
        if *zero_fill { "writing zeros to" } else { "allocating" },
        if *restored { "the file was cut back to its old size, its content is intact" } else { "its old content is intact, but the file could not be cut back to its old size" }
    )]
    Allocate {
        /// The image.
        path: PathBuf,
        /// Where the failed range starts (at or after the old end).
        offset_bytes: u64,
        /// How long the failed range is.
        length_bytes: u64,
        /// Whether zeros were being written (fallocate unsupported or zero-fill asked for).
        zero_fill: bool,
        /// Whether the file was truncated back to its old size afterwards.
        restored: bool,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// Another system call on a file failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done, e.g. "open", "map the extents of".
        action: &'static str,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// A loop-device operation failed.
    #[error("{}: {operation} failed", device.display())]
    Loop {
        /// The loop device (or `/dev/loop-control`).
        device: PathBuf,
        /// The operation, e.g. "LOOP_SET_CAPACITY".
        operation: &'static str,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
}

impl SparseImgError {
    /// What the administrator can do about this error, as a tool embedding the crate may show
    /// it (the `xenadm` CLI prints it as `hint:`). `None` where the fix is in the tool's own
    /// hands (which option to give, which of its commands to run): the tool words that itself.
    pub fn fix(&self) -> Option<&'static str> {
        Some(match self {
            SparseImgError::NotFound { .. } => {
                "check the path: is the name spelled right, and is the file on this host?"
            }
            SparseImgError::PermissionDenied { .. } => {
                "run as root; an immutable file (`lsattr`) must first be made writable with `chattr -i`"
            }
            SparseImgError::ReadOnlyFilesystem { .. } => {
                "remount the filesystem read-write (`mount -o remount,rw MOUNTPOINT`), or copy the image to a writable one"
            }
            SparseImgError::ForeignFormat { format, .. } => format.resize_advice(),
            SparseImgError::InvalidSize { .. } => {
                "sizes are bytes, K/M/G/T (binary, as dd and qemu-img read them) or KB/MB/GB/TB (decimal), e.g. 20G or 16000M"
            }
            SparseImgError::SizeOverflow { .. } => "give a smaller size",
            SparseImgError::TooLargeForFilesystem { .. } => {
                "ext4 with 4 KiB blocks allows 16 TiB per file: use XFS, or give the guest a second disk"
            }
            SparseImgError::PendingGrow { .. } => {
                "an earlier growth was killed part-way; run it again as it was first given to finish it (its journal, .IMAGE.xenadm-grow, says how far), then grow further"
            }
            SparseImgError::Allocate { .. } => {
                "check the filesystem (`dmesg`) and its free space, then run the same command again"
            }
            _ => return None,
        })
    }

    /// An I/O error on `path`, mapped to the typed variants where one fits (missing file,
    /// permission, read-only filesystem, folder).
    pub(crate) fn from_io(path: &std::path::Path, action: &'static str, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.raw_os_error() {
            Some(nix::libc::ENOENT) => SparseImgError::NotFound { path },
            Some(nix::libc::EACCES | nix::libc::EPERM) => {
                SparseImgError::PermissionDenied { path, source }
            }
            Some(nix::libc::EROFS) => SparseImgError::ReadOnlyFilesystem { path },
            Some(nix::libc::EISDIR) => SparseImgError::NotAFile {
                path,
                kind: FileKind::Directory,
            },
            _ => SparseImgError::Io {
                path,
                action,
                source,
            },
        }
    }
}

/// What a path is, when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A folder.
    Directory,
    /// A block device (a disk, partition, LVM volume or loop device).
    BlockDevice,
    /// A character device.
    CharDevice,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// Anything else.
    Other,
}

impl FileKind {
    /// From a file type; `None` for a regular file.
    pub fn of(file_type: std::fs::FileType) -> Option<FileKind> {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_file() {
            None
        } else if file_type.is_dir() {
            Some(FileKind::Directory)
        } else if file_type.is_block_device() {
            Some(FileKind::BlockDevice)
        } else if file_type.is_char_device() {
            Some(FileKind::CharDevice)
        } else if file_type.is_fifo() {
            Some(FileKind::Fifo)
        } else if file_type.is_socket() {
            Some(FileKind::Socket)
        } else {
            Some(FileKind::Other)
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a folder",
            FileKind::BlockDevice => "a block device",
            FileKind::CharDevice => "a character device",
            FileKind::Fifo => "a named pipe",
            FileKind::Socket => "a socket",
            FileKind::Other => "not a regular file",
        })
    }
}

/// The units [`SizeProblem`]'s messages offer.
const UNITS: &str = "use bytes, K/M/G/T/P/E or KiB/MiB/GiB/TiB/PiB/EiB (binary, as dd and qemu-img read them) or KB/MB/GB/TB/PB/EB (decimal)";

/// What is wrong with a size given as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SizeProblem {
    /// Nothing was given.
    #[error("empty: {}", UNITS)]
    Empty,
    /// The text starts with `+` or `-`.
    #[error("a size has no sign: give the new total size with --to, or the increment with --by")]
    Signed,
    /// The text does not start with a decimal number.
    #[error("expected a decimal number: {}", UNITS)]
    NotANumber,
    /// The unit after the number is not one this crate reads.
    #[error("unknown unit `{unit}`: {}", UNITS)]
    UnknownUnit {
        /// The unit as given.
        unit: String,
    },
    /// `b` alone, or after a prefix: dd reads it as 512-byte blocks, qemu-img as bytes, others
    /// as bits.
    #[error(
        "`{unit}` is ambiguous (dd reads `b` as 512-byte blocks, qemu-img as bytes, others as bits): write B for bytes"
    )]
    AmbiguousUnit {
        /// The unit as given.
        unit: String,
    },
    /// A fraction that is not a whole number of bytes (e.g. `1.3K`, or `1.5` without a unit).
    #[error("not a whole number of bytes")]
    NotWholeBytes,
    /// More than 2^64 - 1 bytes.
    #[error("larger than 2^64 - 1 bytes")]
    Overflow,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_fix_is_the_crates_own_advice() {
        let path = PathBuf::from("x.img");
        let missing = SparseImgError::NotFound { path: path.clone() };
        assert!(missing.fix().unwrap().starts_with("check the path"));
        let qcow2 = SparseImgError::ForeignFormat {
            path: path.clone(),
            format: ImageFormat::Qcow2,
        };
        assert_eq!(qcow2.fix(), Some(ImageFormat::Qcow2.resize_advice()));
        // Which size to give is the embedding tool's to word (its options).
        let smaller = SparseImgError::NotLarger {
            path,
            current_bytes: 2,
            target_bytes: 1,
        };
        assert_eq!(smaller.fix(), None);
    }
}
