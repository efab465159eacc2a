//! Loop devices: which ones an image backs (`losetup -j`), refreshing their capacity after a
//! growth (`losetup -c`), and attaching/detaching (for tests and tools that need a device).
//!
//! Matching follows util-linux: a device matches when the device and inode in its
//! `LOOP_GET_STATUS64` equal the image's `st_dev` and `st_ino`, so hard links and renamed
//! files match. Without permission to open the device, the full backing path from sysfs is
//! compared with the image's canonical path instead.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::{FileKind, SparseImgError};
use crate::ioctl;

/// How a loop device was matched to the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoopMatch {
    /// Same device and inode (LOOP_GET_STATUS64).
    Inode,
    /// Same path in sysfs `loop/backing_file` (the device could not be opened).
    Path,
}

impl LoopMatch {
    /// `inode` or `path`.
    pub fn name(self) -> &'static str {
        match self {
            LoopMatch::Inode => "inode",
            LoopMatch::Path => "path",
        }
    }
}

/// A loop device backed by an image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct LoopDevice {
    /// `/dev/loopN`.
    pub device: PathBuf,
    /// N.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub number: u32,
    /// The backing file's current path (sysfs; ends in ` (deleted)` once it is removed).
    pub backing_file: PathBuf,
    /// The backing file's device number as the kernel encodes it (`lo_device`), if the
    /// device could be opened.
    pub backing_device: Option<u64>,
    /// The backing file's inode, if the device could be opened.
    pub backing_inode: Option<u64>,
    /// Where the device starts in the file.
    pub offset_bytes: u64,
    /// The most of the file the device shows (0: no limit).
    pub sizelimit_bytes: u64,
    /// The device's size now.
    pub size_bytes: u64,
    /// Attached read-only.
    pub read_only: bool,
    /// Detaches itself when last closed.
    pub autoclear: bool,
    /// How it was matched.
    pub matched_by: LoopMatch,
}

impl LoopDevice {
    /// The line `losetup -j` prints for this device (without the newline), e.g.
    /// `/dev/loop0: [65024]:10018850 (/var/lib/xen/images/lo.img), offset 4096`.
    pub fn losetup_line(&self) -> String {
        let mut line = match (self.backing_device, self.backing_inode) {
            (Some(dev), Some(ino)) => format!(
                "{}: [{dev:04}]:{ino} ({})",
                self.device.display(),
                self.backing_file.display()
            ),
            _ => format!(
                "{}: []: ({})",
                self.device.display(),
                self.backing_file.display()
            ),
        };
        if self.offset_bytes != 0 {
            line.push_str(&format!(", offset {}", self.offset_bytes));
        }
        if self.sizelimit_bytes != 0 {
            line.push_str(&format!(", sizelimit {}", self.sizelimit_bytes));
        }
        line
    }

    /// The size the device should have for a backing file of `file_bytes`: what lies after
    /// its offset, capped by its size limit.
    pub fn expected_size_bytes(&self, file_bytes: u64) -> u64 {
        let after_offset = file_bytes.saturating_sub(self.offset_bytes);
        if self.sizelimit_bytes == 0 {
            after_offset
        } else {
            after_offset.min(self.sizelimit_bytes)
        }
    }
}

/// The loop devices backed by the file at `path`, sorted by number (`losetup -j PATH`).
pub fn loops_for(path: &Path) -> Result<Vec<LoopDevice>, SparseImgError> {
    let meta = fs::metadata(path).map_err(|e| SparseImgError::from_io(path, "read", e))?;
    if let Some(kind) = FileKind::of(meta.file_type()) {
        return Err(SparseImgError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    find_in(
        Path::new("/sys/block"),
        Path::new("/dev"),
        path,
        meta.dev(),
        meta.ino(),
    )
    .map_err(|source| SparseImgError::Io {
        path: PathBuf::from("/sys/block"),
        action: "list loop devices in",
        source,
    })
}

/// Splits a kernel-encoded dev_t (`huge_encode_dev`) into major and minor.
fn decode_kernel_dev(dev: u64) -> (u64, u64) {
    ((dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xf_ff00))
}

/// Scans `sys_block` (normally /sys/block) for bound loop devices backed by (dev, ino), or by
/// the canonical form of `path` where a device cannot be opened.
fn find_in(
    sys_block: &Path,
    dev_dir: &Path,
    path: &Path,
    dev: u64,
    ino: u64,
) -> io::Result<Vec<LoopDevice>> {
    // Resolved only if needed: usually every device can be opened.
    let canonical = std::cell::OnceCell::new();
    let canonical =
        || canonical.get_or_init(|| path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
    let entries = match fs::read_dir(sys_block) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let wanted = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_prefix("loop"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let sys = entry.path();
        // Only bound devices have loop/backing_file.
        let Ok(backing) = fs::read(sys.join("loop/backing_file")) else {
            continue;
        };
        let backing_file = PathBuf::from(std::ffi::OsStr::from_bytes(trim_newline(&backing)));
        let device = dev_dir.join(format!("loop{number}"));
        let status = File::open(&device).and_then(|f| ioctl::loop_get_status(&f));
        let (matched_by, backing_device, backing_inode, offset, sizelimit) = match status {
            Ok(info) => {
                if decode_kernel_dev(info.lo_device) != wanted || info.lo_inode != ino {
                    continue;
                }
                (
                    LoopMatch::Inode,
                    Some(info.lo_device),
                    Some(info.lo_inode),
                    info.lo_offset,
                    info.lo_sizelimit,
                )
            }
            Err(_) => {
                if backing_file != *canonical() {
                    continue;
                }
                (
                    LoopMatch::Path,
                    None,
                    None,
                    read_number(&sys.join("loop/offset")),
                    read_number(&sys.join("loop/sizelimit")),
                )
            }
        };
        found.push(LoopDevice {
            device,
            number,
            backing_file,
            backing_device,
            backing_inode,
            offset_bytes: offset,
            sizelimit_bytes: sizelimit,
            size_bytes: read_number(&sys.join("size")).saturating_mul(512),
            read_only: read_number(&sys.join("ro")) != 0,
            autoclear: read_number(&sys.join("loop/autoclear")) != 0,
            matched_by,
        });
    }
    found.sort_by_key(|d| d.number);
    Ok(found)
}

fn trim_newline(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\n").unwrap_or(bytes)
}

/// A decimal number in a sysfs file (0 if missing or malformed).
fn read_number(path: &Path) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn loop_error(device: &Path, operation: &'static str, source: io::Error) -> SparseImgError {
    SparseImgError::Loop {
        device: device.to_path_buf(),
        operation,
        source,
    }
}

/// `losetup -c`: makes the loop `device` re-read its backing file's size
/// (LOOP_SET_CAPACITY), then returns its new size (BLKGETSIZE64). Call it after the file has
/// grown, never before.
pub fn refresh_capacity(device: &Path) -> Result<u64, SparseImgError> {
    let file = File::open(device).map_err(|e| loop_error(device, "open", e))?;
    ioctl::loop_set_capacity(&file).map_err(|e| loop_error(device, "LOOP_SET_CAPACITY", e))?;
    ioctl::block_device_size(&file).map_err(|e| loop_error(device, "BLKGETSIZE64", e))
}

/// A block device's size (BLKGETSIZE64).
pub fn block_device_size_bytes(device: &Path) -> Result<u64, SparseImgError> {
    let file = File::open(device).map_err(|e| loop_error(device, "open", e))?;
    ioctl::block_device_size(&file).map_err(|e| loop_error(device, "BLKGETSIZE64", e))
}

/// Options for [`attach`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AttachOptions {
    /// Attach read-only.
    pub read_only: bool,
    /// Let the kernel detach the device when its last opener closes it. The returned
    /// [`AttachedLoop`] keeps it open, so the device then goes away even if this process is
    /// killed.
    pub autoclear: bool,
}

/// A loop device attached by [`attach`]; detached when dropped (or with [`detach`]).
///
/// [`detach`]: AttachedLoop::detach
#[derive(Debug)]
pub struct AttachedLoop {
    device: PathBuf,
    file: Option<File>,
}

impl AttachedLoop {
    /// `/dev/loopN`.
    pub fn device(&self) -> &Path {
        &self.device
    }

    /// Detaches the device (LOOP_CLR_FD). While another process still has the device open
    /// (udev probing it, say), the kernel finishes the detach when that process closes it.
    pub fn detach(mut self) -> Result<(), SparseImgError> {
        match self.file.take() {
            Some(file) => {
                ioctl::loop_detach(&file).map_err(|e| loop_error(&self.device, "LOOP_CLR_FD", e))
            }
            None => Ok(()),
        }
    }
}

impl Drop for AttachedLoop {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let _ = ioctl::loop_detach(&file);
        }
    }
}

/// Attaches the regular file at `path` to a free loop device (`losetup -f PATH`).
/// Needs root (CAP_SYS_ADMIN) and `/dev/loop-control`.
pub fn attach(path: &Path, options: &AttachOptions) -> Result<AttachedLoop, SparseImgError> {
    let meta = fs::metadata(path).map_err(|e| SparseImgError::from_io(path, "read", e))?;
    if let Some(kind) = FileKind::of(meta.file_type()) {
        return Err(SparseImgError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    // Never O_APPEND here: the loop driver would then write every block at the file's end.
    let backing = OpenOptions::new()
        .read(true)
        .write(!options.read_only)
        .custom_flags(nix::libc::O_NOCTTY)
        .open(path)
        .map_err(|e| SparseImgError::from_io(path, "open", e))?;
    let control_path = Path::new("/dev/loop-control");
    let control = OpenOptions::new()
        .read(true)
        .write(true)
        .open(control_path)
        .map_err(|e| loop_error(control_path, "open", e))?;
    let mut flags = 0;
    if options.read_only {
        flags |= ioctl::LO_FLAGS_READ_ONLY;
    }
    if options.autoclear {
        flags |= ioctl::LO_FLAGS_AUTOCLEAR;
    }
    let name = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    // Another process may take the free device between GET_FREE and the attach: retry.
    let mut last_error = None;
    for _ in 0..16 {
        let number = ioctl::loop_ctl_get_free(&control)
            .map_err(|e| loop_error(control_path, "LOOP_CTL_GET_FREE", e))?;
        let device = PathBuf::from(format!("/dev/loop{number}"));
        let file = OpenOptions::new()
            .read(true)
            .write(!options.read_only)
            .open(&device)
            .map_err(|e| loop_error(&device, "open", e))?;
        match ioctl::loop_attach(&file, &backing, flags, name.as_os_str().as_bytes()) {
            Ok(()) => {
                return Ok(AttachedLoop {
                    device,
                    file: Some(file),
                });
            }
            Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) => last_error = Some(e),
            Err(e) => return Err(loop_error(&device, "LOOP_CONFIGURE", e)),
        }
    }
    Err(loop_error(
        control_path,
        "attach (every free device was taken by another process)",
        last_error.unwrap_or_else(|| io::Error::from_raw_os_error(nix::libc::EBUSY)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_decode_kernel_dev() {
        // 254:0 (virtio) encodes as 65024; 8:1 as 2049; minor 300 splits.
        assert_eq!(decode_kernel_dev(65024), (254, 0));
        assert_eq!(decode_kernel_dev(2049), (8, 1));
        let encoded = (300 & 0xff) | (7 << 8) | ((300 & !0xff) << 12);
        assert_eq!(decode_kernel_dev(encoded), (7, 300));
    }

    #[test]
    fn test_losetup_line() {
        let mut dev = LoopDevice {
            device: PathBuf::from("/dev/loop0"),
            number: 0,
            backing_file: PathBuf::from("/var/lib/xen/images/lo.img"),
            backing_device: Some(65024),
            backing_inode: Some(10_018_850),
            offset_bytes: 0,
            sizelimit_bytes: 0,
            size_bytes: 1 << 20,
            read_only: false,
            autoclear: false,
            matched_by: LoopMatch::Inode,
        };
        assert_eq!(
            dev.losetup_line(),
            "/dev/loop0: [65024]:10018850 (/var/lib/xen/images/lo.img)"
        );
        dev.backing_device = Some(64);
        dev.offset_bytes = 4096;
        dev.sizelimit_bytes = 8192;
        assert_eq!(
            dev.losetup_line(),
            "/dev/loop0: [0064]:10018850 (/var/lib/xen/images/lo.img), offset 4096, sizelimit 8192"
        );
        dev.backing_inode = None;
        assert_eq!(
            dev.losetup_line(),
            "/dev/loop0: []: (/var/lib/xen/images/lo.img), offset 4096, sizelimit 8192"
        );
        assert_eq!(dev.expected_size_bytes(4096 + 100_000), 8192);
        dev.sizelimit_bytes = 0;
        assert_eq!(dev.expected_size_bytes(4096 + 100_000), 100_000);
        assert_eq!(dev.expected_size_bytes(10), 0);
    }

    /// A fake /sys/block whose devices cannot be opened (no /dev nodes): matching falls back
    /// to the backing path.
    #[test]
    fn test_find_by_path_in_fake_sysfs() {
        let root = tempfile::tempdir().unwrap();
        let sys = root.path().join("sys");
        let add = |name: &str, backing: Option<&str>, size: &str| {
            let dir = sys.join(name);
            fs::create_dir_all(dir.join("loop")).unwrap();
            fs::write(dir.join("size"), size).unwrap();
            if let Some(b) = backing {
                fs::write(dir.join("loop/backing_file"), format!("{b}\n")).unwrap();
                fs::write(dir.join("loop/offset"), "512\n").unwrap();
                fs::write(dir.join("loop/autoclear"), "1\n").unwrap();
            }
        };
        add("loop3", Some("/img/a.img"), "2048\n");
        add("loop1", Some("/img/a.img"), "8\n");
        add("loop2", Some("/img/b.img"), "8\n");
        add("loop0", None, "0\n");
        add("sda", Some("/img/a.img"), "8\n");
        let found = find_in(
            &sys,
            &root.path().join("dev"),
            Path::new("/img/a.img"),
            1,
            2,
        )
        .unwrap();
        let names: Vec<_> = found.iter().map(|d| d.number).collect();
        assert_eq!(names, vec![1, 3]);
        assert_eq!(found[1].size_bytes, 2048 * 512);
        assert_eq!(found[1].offset_bytes, 512);
        assert!(found[1].autoclear);
        assert_eq!(found[1].matched_by, LoopMatch::Path);
        assert_eq!(
            found[1].losetup_line(),
            format!(
                "{}: []: (/img/a.img), offset 512",
                found[1].device.display()
            )
        );
        assert!(
            find_in(
                &root.path().join("none"),
                root.path(),
                Path::new("/x"),
                1,
                2
            )
            .unwrap()
            .is_empty()
        );
    }
}
