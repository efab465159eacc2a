//! Helpers for the sparse-img integration tests: real files in a scratch folder on the build
//! disk, checksums, and loop devices and mounts that are always cleaned up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test
#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::hash::Hasher as _;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sparse_img::{AttachOptions, AttachedLoop};

/// A scratch folder under cargo's target tmp dir: on the build disk (a real filesystem with
/// FIEMAP), not a tmpfs /tmp.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Deterministic pseudo-random bytes (xorshift64*), different per seed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
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

/// A checksum (SipHash with fixed keys) of the first `len` bytes of a file.
pub fn checksum(path: &Path, len: u64) -> u64 {
    let mut f = File::open(path).unwrap().take(len);
    let mut hasher = std::hash::DefaultHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.write(&buf[..n]);
        total += n as u64;
    }
    assert_eq!(total, len, "{} is shorter than {len} bytes", path.display());
    hasher.finish()
}

/// Whether every byte of `path` in `[from, to)` is zero.
pub fn zeros_between(path: &Path, from: u64, to: u64) -> bool {
    let f = File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = from;
    while pos < to {
        let n = usize::try_from((to - pos).min(buf.len() as u64)).unwrap();
        f.read_exact_at(&mut buf[..n], pos).unwrap();
        if buf[..n].iter().any(|&b| b != 0) {
            return false;
        }
        pos += n as u64;
    }
    true
}

/// Allocated bytes (`st_blocks` × 512).
pub fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata(path).unwrap().blocks() * 512
}

/// `XENADM_REQUIRE_TOOLS=1` (CI): what a test needs must be there.
pub fn required() -> bool {
    std::env::var_os("XENADM_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

/// Skips (returns false, saying why) or, in CI, fails.
pub fn skip(why: &str) -> bool {
    assert!(
        !required(),
        "required in CI (XENADM_REQUIRE_TOOLS=1): {why}"
    );
    eprintln!("SKIPPED: {why}");
    false
}

/// Whether a command is installed.
pub fn have_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    found || skip(&format!("`{name}` is not installed"))
}

/// Attaches `path` to a loop device with the crate's own ioctls (autoclear, so even a killed
/// test leaves no device behind; the guard detaches on drop, also when an assertion fails).
/// `None` (after printing why) where loop devices cannot be used, unless in CI.
pub fn attach_or_skip(path: &Path) -> Option<AttachedLoop> {
    let mut options = AttachOptions::default();
    options.autoclear = true;
    match sparse_img::attach(path, &options) {
        Ok(attached) => Some(attached),
        Err(err) => {
            skip(&format!(
                "loop devices cannot be used here: {err} ({:?})",
                std::error::Error::source(&err)
            ));
            None
        }
    }
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
    let out = Command::new(format!("mkfs.{fs_type}"))
        .args(["-q", "-F"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let attached = attach_or_skip(&image)?;
    let mount = Mount::new(attached.device(), &dir.join("mnt"), options)?;
    Some(SmallFs { mount, attached })
}
