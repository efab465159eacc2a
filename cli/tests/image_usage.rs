//! `xenadm image usage`, `xenadm image map` and the Images section of `xenadm status`, on
//! real files with known holes and fallocated ranges.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs::{self, File};
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::process::Command;

use common::{have_tool, stderr, stdout, xenadm, xenadm_in};

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// `size` bytes with 4 KiB blocks of 0xab at the given block numbers.
fn with_blocks(path: &Path, size: u64, blocks: &[u64]) {
    let f = File::create(path).unwrap();
    f.set_len(size).unwrap();
    for &b in blocks {
        f.write_all_at(&[0xab; 4096], b * 4096).unwrap();
    }
    f.sync_all().unwrap();
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn test_map_text_and_json() {
    let dir = scratch();
    let img = dir.path().join("map.img");
    with_blocks(&img, 40960, &[0, 1, 5]);
    let out = xenadm_in(dir.path(), &["image", "map", "map.img"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "map.img: 40 KiB (40960 bytes) from fiemap: data 12 KiB in 2 extents, holes 28 KiB in 2 extents, unwritten 0 B in 0 extents\n\
         OFFSET  LENGTH  KIND\n\
         0       8192    data\n\
         8192    12288   hole\n\
         20480   4096    data\n\
         24576   16384   hole\n"
    );
    let out = xenadm_in(dir.path(), &["--json", "image", "map", "map.img"]);
    let v = json(&out);
    assert_eq!(v["size_bytes"], 40960);
    assert_eq!(v["source"], "fiemap");
    assert_eq!(
        v["extents"][1],
        serde_json::json!({"offset_bytes": 8192, "length_bytes": 12288, "kind": "hole"})
    );
    let out = xenadm_in(
        dir.path(),
        &["--json", "image", "map", "map.img", "--method", "seek-data"],
    );
    let seek = json(&out);
    assert_eq!(seek["source"], "seek_data");
    assert_eq!(seek["extents"], v["extents"]);
}

#[test]
fn test_map_shows_unwritten_ranges_like_filefrag() {
    let dir = scratch();
    let img = dir.path().join("falloc.img");
    with_blocks(&img, 0, &[]);
    let status = Command::new("fallocate")
        .args(["-l", "1M"])
        .arg(&img)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        assert!(have_tool("fallocate"));
        return;
    }
    File::options()
        .write(true)
        .open(&img)
        .unwrap()
        .write_all_at(&[1; 4096], 8192)
        .unwrap();
    let out = xenadm_in(dir.path(), &["--json", "image", "map", "falloc.img"]);
    let v = json(&out);
    let kinds: Vec<_> = v["extents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, vec!["unwritten", "data", "unwritten"]);
    if have_tool("filefrag") {
        let out = Command::new("filefrag")
            .arg("-e")
            .arg(&img)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.matches("unwritten").count(), 2, "{text}");
    }
}

#[test]
fn test_usage_folder_text_and_json() {
    let dir = scratch();
    let images = dir.path().join("images");
    fs::create_dir(&images).unwrap();
    with_blocks(&images.join("a.img"), 1 << 20, &[0, 10]);
    fs::write(images.join("b.img"), vec![7u8; 65536]).unwrap();
    let out = xenadm_in(dir.path(), &["image", "usage", "images"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("IMAGE "), "{text}");
    let row = |name: &str| -> Vec<String> {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        line.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    assert_eq!(
        row("images/a.img"),
        [
            "images/a.img",
            "raw",
            "1 MiB",
            "1 MiB",
            "8 KiB",
            "0%",
            "yes",
            "2",
            "2",
            "0"
        ]
    );
    assert_eq!(
        row("images/b.img"),
        [
            "images/b.img",
            "raw",
            "64 KiB",
            "64 KiB",
            "64 KiB",
            "100%",
            "no",
            "1",
            "0",
            "0"
        ]
    );
    assert!(text.contains("\nFILESYSTEM "), "{text}");
    assert!(
        text.contains("the images fit even if every guest fills its disk"),
        "{text}"
    );

    let out = xenadm_in(dir.path(), &["--json", "image", "usage", "images"]);
    let v = json(&out);
    let a = &v["images"][0];
    assert_eq!(a["path"], "images/a.img");
    assert_eq!(a["format"], "raw");
    assert_eq!(a["size_bytes"], 1 << 20);
    assert_eq!(a["allocated_bytes"], 8192);
    assert_eq!(a["sparse"], true);
    assert_eq!(a["data_extents"], 2);
    assert_eq!(a["hole_extents"], 2);
    assert_eq!(a["unwritten_extents"], 0);
    assert_eq!(a["could_grow_bytes"], (1 << 20) - 8192);
    assert_eq!(a["map_source"], "fiemap");
    let b = &v["images"][1];
    assert_eq!(b["sparse"], false);
    assert_eq!(b["could_grow_bytes"], 0);
    let fs0 = &v["filesystems"][0];
    assert_eq!(fs0["image_count"], 2);
    assert_eq!(fs0["could_grow_bytes"], (1 << 20) - 8192);
    assert_eq!(fs0["overcommitted"], false);
    assert_eq!(fs0["shortfall_bytes"], 0);
    assert!(fs0["free_bytes"].as_u64().unwrap() > 0);

    let out = xenadm_in(
        dir.path(),
        &["--json", "image", "usage", "--no-extents", "images"],
    );
    assert!(json(&out)["images"][0]["data_extents"].is_null());
}

/// Sparse images that together are larger than the free space: the overcommit warning.
#[test]
fn test_usage_overcommit_warning() {
    let dir = scratch();
    for name in ["g1.img", "g2.img"] {
        with_blocks(&dir.path().join(name), 8 << 40, &[0]);
    }
    let out = xenadm_in(dir.path(), &["image", "usage", "."]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("overcommitted: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("if these guests fill their disks the host needs ")
            && line.ends_with(": they will get I/O errors"),
        "{line}"
    );
    let v = json(&xenadm_in(dir.path(), &["--json", "image", "usage", "."]));
    let fs0 = &v["filesystems"][0];
    assert_eq!(fs0["overcommitted"], true);
    assert_eq!(
        fs0["shortfall_bytes"].as_u64().unwrap(),
        fs0["could_grow_bytes"].as_u64().unwrap() - fs0["free_bytes"].as_u64().unwrap()
    );
}

#[test]
fn test_usage_errors() {
    let dir = scratch();
    let out = xenadm_in(dir.path(), &["image", "usage", "nothing-here"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nothing-here does not exist"));
    assert!(stderr(&out).contains("hint: "));
    let out = xenadm_in(dir.path(), &["image", "map", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is a folder"));
    let out = xenadm_in(dir.path(), &["image", "usage", "."]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "no images found\n");
}

#[test]
fn test_status_has_an_images_section() {
    let out = xenadm(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("\nImages\n"), "{text}");
    assert!(text.contains("/var/lib/xen/images"), "{text}");
    let v = json(&xenadm(&["--json", "status"]));
    let images = &v["images"];
    assert_eq!(images["folder"], "/var/lib/xen/images");
    if images["available"] == false {
        assert!(
            images["reason"]
                .as_str()
                .unwrap()
                .contains("/var/lib/xen/images")
        );
        assert!(text.contains("unavailable: "), "{text}");
    } else {
        assert!(images["image_count"].is_u64());
        assert!(text.contains("overcommit"), "{text}");
    }
}
