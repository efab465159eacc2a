//! Real loop devices (root and /dev/loop-control; skipped with a reason elsewhere, required in
//! CI): find the devices of an image like `losetup -j`, grow the image and refresh the device
//! capacity like `losetup -c`, and filesystems on loop devices for the cases a normal scratch
//! folder cannot show (no fallocate, read-only, full).
//!
//! Every device is attached with autoclear and held by a guard that detaches it on drop, so
//! nothing is left behind when an assertion fails (or the test process is killed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{allocated_file, attach_or_skip, checksum, scratch, small_fs, sparse_file};
use sparse_img::{
    ByteSize, GrowImageOptions, GrowMethod, GrowMode, GrowOptions, GrowTarget, LoopMatch,
    NoProgress, SparseImgError, block_device_size_bytes, grow, grow_image, loops_for,
    refresh_capacity,
};

fn by(bytes: u64) -> GrowOptions {
    GrowOptions::new(GrowTarget::By(ByteSize::from_bytes(bytes)))
}

#[test]
fn test_find_by_inode_through_links_and_renames() {
    let dir = scratch();
    let img = dir.path().join("guest.img");
    sparse_file(&img, 8 << 20, &[(0, 4096)], 1);
    let other = dir.path().join("other.img");
    sparse_file(&other, 1 << 20, &[], 2);
    let Some(attached) = attach_or_skip(&img) else {
        return;
    };
    let found = loops_for(&img).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let dev = &found[0];
    assert_eq!(dev.device, attached.device());
    assert_eq!(dev.matched_by, LoopMatch::Inode);
    assert_eq!(dev.size_bytes, 8 << 20);
    assert_eq!(dev.offset_bytes, 0);
    assert!(dev.autoclear);
    assert_eq!(dev.backing_file, img.canonicalize().unwrap());
    assert!(loops_for(&other).unwrap().is_empty());

    // A hard link matches; after a rename the device still matches and sysfs shows the new
    // path.
    let link = dir.path().join("link.img");
    fs::hard_link(&img, &link).unwrap();
    assert_eq!(loops_for(&link).unwrap().len(), 1);
    let renamed = dir.path().join("renamed.img");
    fs::rename(&img, &renamed).unwrap();
    let found = loops_for(&renamed).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].backing_file, renamed.canonicalize().unwrap());
    attached.detach().unwrap();
    // The kernel finishes a detach when the last opener closes the device (udev probing it,
    // or another test scanning the loop devices), so give it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !loops_for(&renamed).unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "still attached");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// `xenadm image loops` prints what `losetup -j` prints.
#[test]
fn test_losetup_line_matches_util_linux() {
    if !common::have_tool("losetup") {
        return;
    }
    let dir = scratch();
    let img = dir.path().join("compare.img");
    sparse_file(&img, 4 << 20, &[], 3);
    let Some(_first) = attach_or_skip(&img) else {
        return;
    };
    let Some(_second) = attach_or_skip(&img) else {
        return;
    };
    let ours: Vec<String> = loops_for(&img)
        .unwrap()
        .iter()
        .map(|d| d.losetup_line())
        .collect();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours, test_support::loops::losetup_j(&img));
}

/// Grow the file, then LOOP_SET_CAPACITY: the device shows the new size (read back with
/// BLKGETSIZE64); before the refresh it still shows the old one.
#[test]
fn test_grow_then_refresh_capacity() {
    for (name, allocated) in [("sparse.img", false), ("full.img", true)] {
        let dir = scratch();
        let img = dir.path().join(name);
        if allocated {
            allocated_file(&img, 4 << 20, 4);
        } else {
            sparse_file(&img, 4 << 20, &[(0, 4096)], 4);
        }
        let sum = checksum(&img, 4 << 20);
        let Some(attached) = attach_or_skip(&img) else {
            return;
        };
        let device = attached.device().to_path_buf();
        assert_eq!(block_device_size_bytes(&device).unwrap(), 4 << 20);

        let report = grow(&img, &by((12 << 20) + 512), &mut NoProgress).unwrap();
        assert_eq!(
            report.method,
            if allocated {
                GrowMethod::Fallocate
            } else {
                GrowMethod::Truncate
            }
        );
        assert_eq!(
            block_device_size_bytes(&device).unwrap(),
            4 << 20,
            "the device keeps its size until told"
        );
        let new_size = refresh_capacity(&device).unwrap();
        assert_eq!(new_size, (16 << 20) + 512);
        assert_eq!(block_device_size_bytes(&device).unwrap(), new_size);
        let listed = loops_for(&img).unwrap();
        assert_eq!(listed[0].size_bytes, new_size);
        assert_eq!(checksum(&img, 4 << 20), sum);
        // The old data reads back through the device too.
        assert_eq!(checksum(&device, 4 << 20), sum);
    }
}

/// The whole sequence (`xenadm image grow`'s): the devices are found before the growth and
/// refreshed after it, each with its own result; a dry run changes neither file nor device.
#[test]
fn test_grow_image_refreshes_every_device() {
    let dir = scratch();
    let img = dir.path().join("guest.img");
    sparse_file(&img, 4 << 20, &[(0, 4096)], 5);
    let (Some(first), Some(second)) = (attach_or_skip(&img), attach_or_skip(&img)) else {
        return;
    };
    let mut options = GrowImageOptions::new(by(4 << 20));
    options.grow.dry_run = true;
    let dry = grow_image(&img, &options, &mut NoProgress).unwrap();
    let loops = dry.loops.as_deref().unwrap();
    assert_eq!(loops.len(), 2, "{loops:?}");
    assert!(
        loops
            .iter()
            .all(|l| l.new_size_bytes.is_none() && l.error.is_none())
    );
    assert!(loops.iter().all(|l| l.expected_size_bytes == 8 << 20));
    assert_eq!(fs::metadata(&img).unwrap().len(), 4 << 20);
    assert_eq!(block_device_size_bytes(first.device()).unwrap(), 4 << 20);

    options.grow.dry_run = false;
    let mut report = grow_image(&img, &options, &mut NoProgress).unwrap();
    let loops = report.loops.as_deref().unwrap();
    let mut devices: Vec<_> = loops.iter().map(|l| l.device.clone()).collect();
    devices.sort();
    let mut attached = vec![first.device().to_path_buf(), second.device().to_path_buf()];
    attached.sort();
    assert_eq!(devices, attached);
    for entry in loops {
        assert_eq!(entry.old_size_bytes, 4 << 20);
        assert_eq!(entry.new_size_bytes, Some(8 << 20));
        assert!(!entry.size_differs() && !entry.capped_by_sizelimit);
        assert_eq!(block_device_size_bytes(&entry.device).unwrap(), 8 << 20);
    }
    assert!(report.take_loop_errors().is_empty());
    assert_eq!(report.grow.new_size_bytes, 8 << 20);
}

#[test]
fn test_refresh_of_a_non_loop_is_a_loop_error() {
    let err = refresh_capacity(Path::new("/dev/null")).unwrap_err();
    assert!(matches!(err, SparseImgError::Loop { .. }), "{err:?}");
    let err = refresh_capacity(Path::new("/dev/loop-none")).unwrap_err();
    assert!(matches!(err, SparseImgError::Loop { .. }), "{err:?}");
}

/// ext2 has no fallocate: an allocating grow writes zeros at the exact end instead.
#[test]
fn test_fallocate_unsupported_falls_back_to_zeros() {
    let dir = scratch();
    let Some(small) = small_fs(dir.path(), "ext2", 64, "rw") else {
        return;
    };
    let img = small.mount.dir.join("guest.img");
    allocated_file(&img, 1_000_001, 5);
    let sum = checksum(&img, 1_000_001);
    let report = grow(&img, &by(3 << 20), &mut NoProgress).unwrap();
    assert_eq!(report.method, GrowMethod::ZeroFill);
    assert!(report.fallocate_unsupported);
    assert_eq!(fs::metadata(&img).unwrap().len(), 1_000_001 + (3 << 20));
    assert!(common::allocated(&img) >= 1_000_001 + (3 << 20));
    assert_eq!(checksum(&img, 1_000_001), sum);
    assert!(common::zeros_between(
        &img,
        1_000_001,
        1_000_001 + (3 << 20)
    ));
}

/// A full filesystem: the allocation is refused before anything is written.
#[test]
fn test_no_space_on_a_small_filesystem() {
    let dir = scratch();
    let Some(small) = small_fs(dir.path(), "ext4", 32, "rw") else {
        return;
    };
    let img = small.mount.dir.join("guest.img");
    allocated_file(&img, 8 << 20, 6);
    let before = fs::read(&img).unwrap();
    let err = grow(&img, &by(64 << 20), &mut NoProgress).unwrap_err();
    assert!(matches!(err, SparseImgError::NoSpace { .. }), "{err:?}");
    assert_eq!(fs::read(&img).unwrap(), before);
    // Sparse growth needs no space now: allowed (this is how overcommit happens).
    let mut sparse = by(64 << 20);
    sparse.mode = GrowMode::Sparse;
    grow(&img, &sparse, &mut NoProgress).unwrap();
    assert_eq!(fs::metadata(&img).unwrap().len(), 72 << 20);
}

#[test]
fn test_read_only_filesystem() {
    let dir = scratch();
    let Some(small) = small_fs(dir.path(), "ext4", 16, "rw") else {
        return;
    };
    let img = small.mount.dir.join("guest.img");
    allocated_file(&img, 1 << 20, 7);
    let before = fs::read(&img).unwrap();
    test_support::tools::run_ok(
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&small.mount.dir),
    );
    let err = grow(&img, &by(1 << 20), &mut NoProgress).unwrap_err();
    assert!(
        matches!(err, SparseImgError::ReadOnlyFilesystem { .. }),
        "{err:?}"
    );
    assert_eq!(fs::read(&img).unwrap(), before);
}
