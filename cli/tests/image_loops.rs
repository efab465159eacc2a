//! `xenadm image grow` and `xenadm image loops` with real loop devices: the device sees the
//! new size (read back with BLKGETSIZE64), `--no-loop` leaves it alone, and `loops` prints
//! what `losetup -j` prints. Devices are attached with autoclear and detached by a guard on
//! drop, also when an assertion fails. Where loop devices cannot be used the tests say why
//! and skip, except in CI (XENADM_REQUIRE_TOOLS=1), where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs::File;
use std::io::Write as _;
use std::path::Path;

use common::{have_tool, stderr, stdout, xenadm_in};
use sparse_img::block_device_size_bytes;
use test_support::loops::attach_or_skip;

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn image(path: &Path, data: &[u8], size: u64) {
    let mut f = File::create(path).unwrap();
    f.write_all(data).unwrap();
    f.set_len(size).unwrap();
    f.sync_all().unwrap();
}

#[test]
fn test_grow_refreshes_the_loop_device() {
    let dir = scratch();
    let img = dir.path().join("guest.img");
    image(&img, b"guest data", 64 << 20);
    let Some(attached) = attach_or_skip(&img) else {
        return;
    };
    let device = attached.device().display().to_string();

    let out = xenadm_in(dir.path(), &["image", "grow", "guest.img", "--by", "64M"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let expected = format!(
        "{device}: 67108864 -> 134217728 bytes (LOOP_SET_CAPACITY, read back with BLKGETSIZE64)"
    );
    assert!(text.contains(&expected), "{text}");
    assert!(text.contains("VBD Resize"), "{text}");
    assert_eq!(
        block_device_size_bytes(attached.device()).unwrap(),
        128 << 20
    );

    // JSON, and a second device on the same file (a hard link).
    let link = dir.path().join("link.img");
    std::fs::hard_link(&img, &link).unwrap();
    let Some(second) = attach_or_skip(&link) else {
        return;
    };
    let out = xenadm_in(
        dir.path(),
        &["--json", "image", "grow", "guest.img", "--to", "200000000"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let loops = v["loops"].as_array().unwrap();
    assert_eq!(loops.len(), 2, "{v}");
    for entry in loops {
        assert_eq!(entry["old_size_bytes"], 128 << 20);
        assert_eq!(entry["new_size_bytes"], 200_000_000);
        assert_eq!(entry["expected_size_bytes"], 200_000_000);
        assert!(entry["error"].is_null());
    }
    assert_eq!(
        block_device_size_bytes(second.device()).unwrap(),
        200_000_000
    );
}

#[test]
fn test_no_loop_leaves_the_device_alone() {
    let dir = scratch();
    let img = dir.path().join("guest.img");
    image(&img, b"data", 16 << 20);
    let Some(attached) = attach_or_skip(&img) else {
        return;
    };
    let out = xenadm_in(
        dir.path(),
        &["image", "grow", "guest.img", "--by", "16M", "--no-loop"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("not refreshed (--no-loop)"));
    assert_eq!(
        block_device_size_bytes(attached.device()).unwrap(),
        16 << 20
    );
    // A dry run names the device and the size it would get, and changes nothing.
    let out = xenadm_in(
        dir.path(),
        &["image", "grow", "guest.img", "--by", "16M", "--dry-run"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{}: would be refreshed (16777216 -> 50331648 bytes)",
            attached.device().display()
        )),
        "{text}"
    );
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 32 << 20);
}

#[test]
fn test_loops_prints_what_losetup_prints() {
    let dir = scratch();
    let img = dir.path().join("guest.img");
    image(&img, b"x", 8 << 20);
    let out = xenadm_in(dir.path(), &["image", "loops", "guest.img"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "");
    let Some(first) = attach_or_skip(&img) else {
        return;
    };
    let Some(second) = attach_or_skip(&img) else {
        return;
    };
    let out = xenadm_in(dir.path(), &["image", "loops", "guest.img"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ours = stdout(&out);
    assert_eq!(ours.lines().count(), 2, "{ours}");
    if have_tool("losetup") {
        let theirs = test_support::loops::losetup_j(&img);
        let ours: Vec<String> = ours.lines().map(str::to_string).collect();
        assert_eq!(ours, theirs);
    }
    let out = xenadm_in(dir.path(), &["--json", "image", "loops", "guest.img"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    // Listed by device number; which of the two got the lower number depends on what other
    // tests freed meanwhile.
    let mut devices: Vec<&str> = list.iter().map(|e| e["device"].as_str().unwrap()).collect();
    let mut attached = vec![
        first.device().to_str().unwrap(),
        second.device().to_str().unwrap(),
    ];
    devices.sort_unstable();
    attached.sort_unstable();
    assert_eq!(devices, attached);
    for entry in list {
        assert_eq!(entry["size_bytes"], 8 << 20);
        assert_eq!(entry["matched_by"], "inode");
        assert_eq!(entry["offset_bytes"], 0);
        assert_eq!(entry["autoclear"], true);
    }
}

#[test]
fn test_loops_errors() {
    let dir = scratch();
    let out = xenadm_in(dir.path(), &["image", "loops", "missing.img"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.img does not exist"));
    let out = xenadm_in(dir.path(), &["image", "loops", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is a folder"));
}
