//! `xenadm image grow`: `--dry-run` predicts the real run (zero-fill where the file cannot have
//! fallocate, a size the filesystem refuses), `--to` the current size can be run again, and a
//! loop device with a size limit is not reported as grown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs::{self, File};
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use test_support::ext2::Ext2Mount;

use common::{have_tool, stderr, stdout, xenadm_in};

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json", "image", "grow"];
    all.extend_from_slice(args);
    let out = xenadm_in(dir, &all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn test_dry_run_on_ext2_predicts_zero_fill_as_the_real_run_does() {
    let Some(fs) = Ext2Mount::new(Path::new(env!("CARGO_TARGET_TMPDIR")), 64 << 20) else {
        return;
    };
    // An allocated image: its growth keeps it allocated (fallocate, or zeros).
    let mut f = File::create(fs.mnt().join("a.img")).unwrap();
    f.write_all(&vec![7u8; 1 << 20]).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let dry = json(fs.mnt(), &["a.img", "--to", "2M", "--dry-run"]);
    let real = json(fs.mnt(), &["a.img", "--to", "2M"]);
    assert_eq!(real["method"], "zero_fill", "{real}");
    assert_eq!(dry["method"], real["method"], "dry {dry}\nreal {real}");
    assert_eq!(dry["fallocate_unsupported"], true, "{dry}");
    let text = stdout(&xenadm_in(
        fs.mnt(),
        &["image", "grow", "a.img", "--to", "3M", "--dry-run"],
    ));
    assert!(text.contains("zeros would be written"), "{text}");
}

#[test]
fn test_dry_run_refuses_a_size_the_filesystem_refuses() {
    let dir = scratch();
    File::create(dir.path().join("b.img"))
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let huge = "9223372036854775807";
    let real = xenadm_in(dir.path(), &["image", "grow", "b.img", "--to", huge]);
    let dry = xenadm_in(
        dir.path(),
        &["image", "grow", "b.img", "--to", huge, "--dry-run"],
    );
    // Whatever the filesystem here allows, the dry run says what the real run does.
    assert_eq!(dry.status.code(), real.status.code(), "{}", stderr(&dry));
    if real.status.code() == Some(1) {
        assert!(
            stderr(&dry).contains("larger than its filesystem allows"),
            "{}",
            stderr(&dry)
        );
        assert!(stdout(&dry).is_empty());
    }
    assert_eq!(
        fs::metadata(dir.path().join("b.img")).unwrap().len(),
        1 << 20
    );
}

#[test]
fn test_grow_to_the_current_size_succeeds_and_changes_nothing() {
    let dir = scratch();
    let img = dir.path().join("c.img");
    File::create(&img).unwrap().set_len(4 << 20).unwrap();
    let before = fs::metadata(&img).unwrap();
    for _ in 0..2 {
        let out = xenadm_in(dir.path(), &["image", "grow", "c.img", "--to", "4M"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with("c.img is already 4 MiB (4194304 bytes): nothing to do"),
            "{}",
            stdout(&out)
        );
    }
    let after = fs::metadata(&img).unwrap();
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(after.len(), before.len());
    assert_eq!(after.mtime_nsec(), before.mtime_nsec());
    // Smaller, and --by 0, are still refused.
    for args in [["--to", "3M"], ["--by", "0"]] {
        let out = xenadm_in(dir.path(), &["image", "grow", "c.img", args[0], args[1]]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
}

/// Detaches a loop device when the test ends.
struct Loop(String);

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

#[test]
fn test_loop_device_with_a_size_limit_is_not_reported_as_grown() {
    if !have_tool("losetup") {
        return;
    }
    let dir = scratch();
    let img = dir.path().join("d.img");
    File::create(&img).unwrap().set_len(4 << 20).unwrap();
    let out = Command::new("losetup")
        .args(["--sizelimit", "1048576", "-f", "--show"])
        .arg(&img)
        .output()
        .unwrap();
    if !out.status.success() {
        assert!(
            std::env::var_os("XENADM_REQUIRE_TOOLS").is_none_or(|v| v != "1"),
            "losetup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("SKIPPED: no loop device (root needed)");
        return;
    }
    let device = Loop(String::from_utf8(out.stdout).unwrap().trim().to_string());
    let out = xenadm_in(dir.path(), &["image", "grow", "d.img", "--to", "8M"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{}: not grown: its size limit keeps it at 1048576 bytes",
            device.0
        )),
        "{text}"
    );
    assert!(
        !text.contains("-> 8388608 bytes (LOOP_SET_CAPACITY"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("losetup --sizelimit"),
        "{}",
        stderr(&out)
    );
    let v = json(dir.path(), &["d.img", "--to", "9M"]);
    assert_eq!(v["loops"][0]["capped_by_sizelimit"], true, "{v}");
}
