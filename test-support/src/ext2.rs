//! A real ext2 filesystem in a file, loop-mounted for one test: ext2 files have no extents, so
//! fallocate is unsupported there and growth writes zeros. Unmounted when dropped.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::{have_tool, run_ok, skip};

/// A loop-mounted ext2 filesystem in a scratch folder under `base`.
#[derive(Debug)]
pub struct Ext2Mount {
    mnt: PathBuf,
    _dir: tempfile::TempDir,
}

impl Ext2Mount {
    /// Makes a `size_bytes` ext2 filesystem under `base` and mounts it, or skips (`None`)
    /// where mkfs.ext2, mount or loop mounting (root) is missing; fails instead in CI.
    #[allow(clippy::unwrap_used, clippy::panic)] // test support: a panic is a failed test
    pub fn new(base: &Path, size_bytes: u64) -> Option<Ext2Mount> {
        if !have_tool("mkfs.ext2") || !have_tool("mount") {
            return None;
        }
        let dir = tempfile::tempdir_in(base).unwrap();
        let image = dir.path().join("ext2.img");
        File::create(&image).unwrap().set_len(size_bytes).unwrap();
        run_ok(Command::new("mkfs.ext2").args(["-q", "-F"]).arg(&image));
        let mnt = dir.path().join("mnt");
        fs::create_dir(&mnt).unwrap();
        let out = Command::new("mount")
            .args(["-t", "ext2", "-o", "loop"])
            .arg(&image)
            .arg(&mnt)
            .output()
            .unwrap();
        if !out.status.success() {
            skip(&format!(
                "cannot loop-mount ext2 (root needed): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return None;
        }
        Some(Ext2Mount { mnt, _dir: dir })
    }

    /// Where it is mounted.
    pub fn mnt(&self) -> &Path {
        &self.mnt
    }
}

impl Drop for Ext2Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
    }
}
