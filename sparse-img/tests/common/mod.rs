//! Helpers for the sparse-img integration tests: real files in a scratch folder on the build
//! disk, checksums, and loop devices and mounts that are always cleaned up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test
#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sparse_img::AttachedLoop;
// Written once for every crate's tests (each test binary uses some of them).
#[allow(unused_imports)]
pub use test_support::files::{checksum, pattern, zeros_between};
#[allow(unused_imports)]
pub use test_support::loops::attach_or_skip;
#[allow(unused_imports)]
pub use test_support::tools::{have_tool, required, skip};

/// A scratch folder under cargo's target tmp dir: on the build disk (a real filesystem with
/// FIEMAP), not a tmpfs /tmp.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Writes a fully allocated file of `len` pseudo-random bytes.
pub fn allocated_file(path: &Path, len: usize, seed: u64) {
    let mut f = File::create(path).unwrap();
    f.write_all(&pattern(len, seed)).unwrap();
    f.sync_all().unwrap();
}

/// Writes a sparse file of `size` bytes with pseudo-random data at each `(offset, len)`.
pub fn sparse_file(path: &Path, size: u64, data: &[(u64, usize)], seed: u64) {
    let f = File::create(path).unwrap();
    f.set_len(size).unwrap();
    for (i, &(offset, len)) in data.iter().enumerate() {
        f.write_all_at(&pattern(len, seed + i as u64), offset)
            .unwrap();
    }
    f.sync_all().unwrap();
}

/// Allocated bytes (`st_blocks` × 512).
pub fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata(path).unwrap().blocks() * 512
}

/// A mounted filesystem, unmounted on drop (lazily, so a busy mount never blocks cleanup).
pub struct Mount {
    pub dir: PathBuf,
}

impl Mount {
    /// Mounts `device` on `dir` with `mount -o OPTIONS`.
    pub fn new(device: &Path, dir: &Path, options: &str) -> Option<Mount> {
        fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-o", options])
            .arg(device)
            .arg(dir)
            .output()
            .unwrap();
        if !out.status.success() {
            skip(&format!(
                "cannot mount {}: {}",
                device.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
            return None;
        }
        Some(Mount {
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// A filesystem in an image file on a loop device, mounted. Fields drop in order: first the
/// mount, then the loop device.
pub struct SmallFs {
    pub mount: Mount,
    pub attached: AttachedLoop,
}

/// A small ext2 filesystem (no extents: fallocate is unsupported there) or ext4, in an image
/// file under `dir`, attached and mounted at `dir/mnt` with mount `options`.
pub fn small_fs(dir: &Path, fs_type: &str, size_mib: u64, options: &str) -> Option<SmallFs> {
    if !have_tool(&format!("mkfs.{fs_type}")) || !have_tool("mount") {
        return None;
    }
    let image = dir.join(format!("{fs_type}.img"));
    let f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&image)
        .unwrap();
    f.set_len(size_mib << 20).unwrap();
    drop(f);
    test_support::tools::run_ok(
        Command::new(format!("mkfs.{fs_type}"))
            .args(["-q", "-F"])
            .arg(&image),
    );
    let attached = attach_or_skip(&image)?;
    let mount = Mount::new(attached.device(), &dir.join("mnt"), options)?;
    Some(SmallFs { mount, attached })
}
