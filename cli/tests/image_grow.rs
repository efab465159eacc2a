//! `xenadm image grow` on real files: growth, refusals that leave the file byte-equal, exit
//! codes, hints, JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use common::{stderr, stdout, xenadm_in};

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let [low, high, ..] = i.to_le_bytes();
            low.wrapping_mul(31).wrapping_add(seed) ^ (high >> 1)
        })
        .collect()
}

/// A sparse image: `data` at the start, then a hole up to `size`.
fn sparse_image(path: &Path, data: &[u8], size: u64) {
    let mut f = File::create(path).unwrap();
    f.write_all(data).unwrap();
    f.set_len(size).unwrap();
    f.sync_all().unwrap();
}

/// The first `len` bytes of a file.
fn head(path: &Path, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    std::io::Read::read_exact(&mut File::open(path).unwrap(), &mut buf).unwrap();
    buf
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn test_grow_sparse_to_dd_size() {
    let dir = scratch();
    let img = dir.path().join("guest.img");
    sparse_image(&img, &bytes(1 << 20, 1), 1 << 30);
    let blocks = fs::metadata(&img).unwrap().blocks();
    let out = xenadm_in(
        dir.path(),
        &["image", "grow", "guest.img", "--to", "16000M"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("grew guest.img from 1 GiB to 15.6 GiB"),
        "{text}"
    );
    assert!(text.contains("1073741824 -> 16777216000 bytes"), "{text}");
    assert!(text.contains("ftruncate"), "{text}");
    assert!(text.contains("synced"), "{text}");
    assert!(text.contains("no loop device uses this file"), "{text}");
    assert!(text.contains("next, in the guest:"), "{text}");
    let meta = fs::metadata(&img).unwrap();
    assert_eq!(meta.len(), 16000 << 20);
    assert_eq!(meta.blocks(), blocks);
    assert_eq!(head(&img, 1 << 20), bytes(1 << 20, 1));
}

#[test]
fn test_grow_allocated_json() {
    let dir = scratch();
    let img = dir.path().join("full.img");
    fs::write(&img, bytes(3_000_001, 2)).unwrap();
    let out = xenadm_in(
        dir.path(),
        &["--json", "image", "grow", "full.img", "--by", "5MB"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["old_size_bytes"], 3_000_001);
    assert_eq!(v["new_size_bytes"], 8_000_001);
    assert_eq!(v["added_bytes"], 5_000_000);
    assert_eq!(v["nature"], "allocated");
    assert_eq!(v["method"], "fallocate");
    assert_eq!(v["dry_run"], false);
    assert!(v["allocated_after_bytes"].as_u64().unwrap() >= 8_000_001);
    assert_eq!(v["loops"], serde_json::json!([]));
    assert!(!v["next_steps"].as_array().unwrap().is_empty());
    let content = fs::read(&img).unwrap();
    assert_eq!(content.len(), 8_000_001);
    assert_eq!(content[..3_000_001], bytes(3_000_001, 2)[..]);
    assert!(content[3_000_001..].iter().all(|&b| b == 0));
}

#[test]
fn test_sparse_and_allocate_override_the_nature() {
    let dir = scratch();
    let img = dir.path().join("s.img");
    sparse_image(&img, b"x", 1 << 20);
    let out = xenadm_in(
        dir.path(),
        &[
            "--json",
            "image",
            "grow",
            "s.img",
            "--by",
            "1M",
            "--allocate",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["method"], "fallocate");
    let out = xenadm_in(
        dir.path(),
        &["--json", "image", "grow", "s.img", "--by", "1M", "--sparse"],
    );
    assert_eq!(json(&out)["method"], "truncate");
    let out = xenadm_in(
        dir.path(),
        &[
            "image",
            "grow",
            "s.img",
            "--by",
            "1M",
            "--sparse",
            "--allocate",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// The "must show": a smaller or equal target is refused, the current size is in the
/// message, and the file is byte-equal (same size, blocks and modification time).
#[test]
fn test_shrink_is_refused_file_byte_equal() {
    let dir = scratch();
    let img = dir.path().join("keep.img");
    sparse_image(&img, &bytes(1_500_000, 3), 20 << 30);
    let before = head(&img, 1_500_000);
    let meta = fs::metadata(&img).unwrap();
    for size in ["10G", "21474836479", "1M", "0"] {
        let out = xenadm_in(dir.path(), &["image", "grow", "keep.img", "--to", size]);
        assert_eq!(out.status.code(), Some(1), "{size}");
        let err = stderr(&out);
        assert!(
            err.starts_with("xenadm: error: keep.img is already 20 GiB (21474836480 bytes)"),
            "{err}"
        );
        assert!(err.contains("never shrunk: the file is unchanged"), "{err}");
        assert!(err.contains("hint: "), "{err}");
        assert!(stdout(&out).is_empty());
    }
    let out = xenadm_in(dir.path(), &["image", "grow", "keep.img", "--by", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(head(&img, 1_500_000), before);
    let after = fs::metadata(&img).unwrap();
    assert_eq!(after.len(), meta.len());
    assert_eq!(after.blocks(), meta.blocks());
    assert_eq!(after.mtime_nsec(), meta.mtime_nsec());
    assert_eq!(after.mtime(), meta.mtime());
}

#[test]
fn test_bad_sizes_are_usage_errors() {
    let dir = scratch();
    let img = dir.path().join("a.img");
    sparse_image(&img, b"a", 4096);
    for (size, why) in [
        ("abc", "expected a decimal number"),
        ("-1G", "no sign"),
        ("+1G", "no sign"),
        ("--5", "no sign"),
        ("1Q", "unknown unit `Q`"),
        ("1b", "ambiguous"),
        ("99999999999999999999", "larger than 2^64 - 1 bytes"),
        ("1.3K", "not a whole number of bytes"),
        ("", "empty"),
    ] {
        let out = xenadm_in(dir.path(), &["image", "grow", "a.img", "--to", size]);
        assert_eq!(out.status.code(), Some(2), "{size}");
        assert!(stderr(&out).contains(why), "{size}: {}", stderr(&out));
    }
    // Neither or both of --to and --by.
    let out = xenadm_in(dir.path(), &["image", "grow", "a.img"]);
    assert_eq!(out.status.code(), Some(2));
    let out = xenadm_in(
        dir.path(),
        &["image", "grow", "a.img", "--to", "1G", "--by", "1G"],
    );
    assert_eq!(out.status.code(), Some(2));
    // Overflow of current + increment is a typed error, exit 1.
    let out = xenadm_in(
        dir.path(),
        &["image", "grow", "a.img", "--by", "18446744073709551615"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("beyond the largest possible file size"));
    assert_eq!(fs::read(&img).unwrap().len(), 4096);
}

#[test]
fn test_bad_paths_name_the_file_and_the_fix() {
    let dir = scratch();
    let cases: Vec<(&str, &str)> = vec![
        ("missing.img", "missing.img does not exist"),
        (".", ". is a folder, not an image file"),
        ("/dev/null", "/dev/null is a character device"),
    ];
    for (path, message) in cases {
        let out = xenadm_in(dir.path(), &["image", "grow", path, "--by", "1G"]);
        assert_eq!(out.status.code(), Some(1), "{path}");
        let err = stderr(&out);
        assert!(err.contains(message), "{path}: {err}");
        assert!(err.contains("hint: "), "{path}: {err}");
    }
    assert!(!dir.path().join("missing.img").exists());
    if Path::new("/dev/loop0").exists() {
        let out = xenadm_in(dir.path(), &["image", "grow", "/dev/loop0", "--by", "1G"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("is a block device"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("lvextend"), "{}", stderr(&out));
    }
}

#[test]
fn test_qcow2_is_refused_naming_qemu_img() {
    let dir = scratch();
    let img = dir.path().join("guest.qcow2");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparse-img/tests/data/disk.qcow2");
    fs::copy(&data, &img).unwrap();
    let before = fs::read(&img).unwrap();
    let out = xenadm_in(dir.path(), &["image", "grow", "guest.qcow2", "--by", "10G"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("guest.qcow2 is a qcow2 image, not a raw one"),
        "{err}"
    );
    assert!(
        err.contains("hint: use `qemu-img resize IMAGE +SIZE`"),
        "{err}"
    );
    assert_eq!(fs::read(&img).unwrap(), before);
}

#[test]
fn test_not_enough_space_is_refused() {
    let dir = scratch();
    let img = dir.path().join("full.img");
    fs::write(&img, bytes(8192, 4)).unwrap();
    let out = xenadm_in(dir.path(), &["image", "grow", "full.img", "--by", "1E"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("not enough free space for full.img"), "{err}");
    assert!(err.contains("--sparse"), "{err}");
    assert_eq!(fs::read(&img).unwrap(), bytes(8192, 4));
}

#[test]
fn test_dry_run_changes_nothing() {
    let dir = scratch();
    let img = dir.path().join("dry.img");
    fs::write(&img, bytes(4096, 5)).unwrap();
    let out = xenadm_in(
        dir.path(),
        &["image", "grow", "dry.img", "--to", "1G", "--dry-run"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("would grow dry.img from 4 KiB to 1 GiB"));
    assert!(stdout(&out).contains("dry run, nothing changed"));
    assert_eq!(fs::read(&img).unwrap(), bytes(4096, 5));
}

#[test]
fn test_guest_steps_follow_the_partition_table() {
    let dir = scratch();
    let img = dir.path().join("gpt.img");
    let mut head = vec![0u8; 4096];
    head[510] = 0x55;
    head[511] = 0xaa;
    head[512..520].copy_from_slice(b"EFI PART");
    sparse_image(&img, &head, 1 << 30);
    let out = xenadm_in(
        dir.path(),
        &["--json", "image", "grow", "gpt.img", "--by", "1G"],
    );
    let v = json(&out);
    assert_eq!(v["contents"], "GPT partition table");
    let steps = v["next_steps"].to_string();
    assert!(steps.contains("growpart"), "{steps}");
    assert!(steps.contains("backup header"), "{steps}");
    assert!(steps.contains("resize2fs"), "{steps}");
}

#[test]
fn test_sparse_overcommit_warns() {
    let dir = scratch();
    let img = dir.path().join("huge.img");
    sparse_image(&img, b"x", 1 << 20);
    let out = xenadm_in(dir.path(), &["image", "grow", "huge.img", "--to", "15T"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("xenadm: warning: huge.img can now take"),
        "{err}"
    );
    assert!(err.contains("I/O errors"), "{err}");
    let quiet = xenadm_in(
        dir.path(),
        &["-q", "image", "grow", "huge.img", "--by", "1"],
    );
    assert!(quiet.status.success());
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));
}
