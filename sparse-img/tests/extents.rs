//! Extent maps checked against real files built with known data, holes and fallocated ranges,
//! through FIEMAP and SEEK_DATA/SEEK_HOLE; and `usage` on folders of real images.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs::{self, File};
use std::path::PathBuf;

use common::{allocated_file, scratch, sparse_file};
use nix::fcntl::{FallocateFlags, fallocate};
use sparse_img::{
    Extent, ExtentKind, ExtentMap, ImageFormat, MapMethod, MapSource, SparseImgError, UsageOptions,
    usage,
};

/// One filesystem block (4 KiB), as a length and as an offset.
const BLOCK: usize = 4096;
const K4: u64 = BLOCK as u64;

fn ext(offset_bytes: u64, length_bytes: u64, kind: ExtentKind) -> Extent {
    Extent {
        offset_bytes,
        length_bytes,
        kind,
    }
}

fn summary(map: &ExtentMap) -> Vec<(u64, u64, ExtentKind)> {
    map.extents
        .iter()
        .map(|e| (e.offset_bytes, e.length_bytes, e.kind))
        .collect()
}

#[test]
fn test_known_layout_both_methods() {
    use ExtentKind::{Data, Hole};
    let dir = scratch();
    let img = dir.path().join("known.img");
    // Block-aligned data so both methods see exactly these ranges.
    sparse_file(
        &img,
        100 * K4 + 123,
        &[(0, 2 * BLOCK), (10 * K4, BLOCK), (50 * K4, 5 * BLOCK)],
        1,
    );
    let expected = vec![
        (0, 2 * K4, Data),
        (2 * K4, 8 * K4, Hole),
        (10 * K4, K4, Data),
        (11 * K4, 39 * K4, Hole),
        (50 * K4, 5 * K4, Data),
        (55 * K4, 45 * K4 + 123, Hole),
    ];
    for method in [MapMethod::Auto, MapMethod::Fiemap, MapMethod::SeekData] {
        let map = ExtentMap::read_with(&img, method).unwrap();
        assert_eq!(summary(&map), expected, "{method:?}");
        assert_eq!(map.size_bytes, 100 * K4 + 123);
        let totals = map.totals();
        assert_eq!(totals.data_extents, 3);
        assert_eq!(totals.hole_extents, 3);
        assert_eq!(totals.data_bytes, 8 * K4);
    }
    assert_eq!(
        ExtentMap::read(&img).unwrap().source,
        MapSource::Fiemap,
        "the scratch folder is on a filesystem with FIEMAP"
    );
}

#[test]
fn test_data_at_the_end_and_tail_block() {
    use ExtentKind::{Data, Hole};
    let dir = scratch();
    let img = dir.path().join("tail.img");
    // Data in the last, partial block: the extent is clipped to the file size.
    sparse_file(&img, 8 * K4 + 100, &[(8 * K4, 100)], 2);
    for method in [MapMethod::Fiemap, MapMethod::SeekData] {
        let map = ExtentMap::read_with(&img, method).unwrap();
        assert_eq!(
            summary(&map),
            vec![(0, 8 * K4, Hole), (8 * K4, 100, Data)],
            "{method:?}"
        );
    }
}

/// fallocated ranges: FIEMAP says unwritten, SEEK_DATA calls them holes (du counts them).
#[test]
fn test_unwritten_ranges() {
    use ExtentKind::{Data, Hole, Unwritten};
    let dir = scratch();
    let img = dir.path().join("falloc.img");
    sparse_file(&img, 64 * K4, &[(0, BLOCK)], 3);
    let f = fs::OpenOptions::new().write(true).open(&img).unwrap();
    fallocate(
        &f,
        FallocateFlags::FALLOC_FL_KEEP_SIZE,
        (16 * K4) as i64,
        (8 * K4) as i64,
    )
    .unwrap();
    f.sync_all().unwrap();
    let map = ExtentMap::read_with(&img, MapMethod::Fiemap).unwrap();
    assert_eq!(
        summary(&map),
        vec![
            (0, K4, Data),
            (K4, 15 * K4, Hole),
            (16 * K4, 8 * K4, Unwritten),
            (24 * K4, 40 * K4, Hole),
        ]
    );
    let seek = ExtentMap::read_with(&img, MapMethod::SeekData).unwrap();
    assert_eq!(seek.totals().unwritten_extents, 0);
    assert_eq!(seek.totals().data_bytes, K4);
    // Written just now, not yet synced by anyone: FIEMAP's sync makes it data, not unwritten.
    let f = fs::OpenOptions::new().write(true).open(&img).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[0xee; 4096], 20 * K4).unwrap();
    drop(f);
    let map = ExtentMap::read_with(&img, MapMethod::Fiemap).unwrap();
    assert!(
        map.extents.contains(&ext(20 * K4, K4, Data)),
        "{:?}",
        summary(&map)
    );
}

#[test]
fn test_many_alternating_extents_and_empty_file() {
    let dir = scratch();
    let img = dir.path().join("many.img");
    // 3,000 data blocks, each followed by a hole: more than one FIEMAP call's worth.
    let data: Vec<(u64, usize)> = (0..3000).map(|i| (i * 2 * K4, BLOCK)).collect();
    sparse_file(&img, 6000 * K4, &data, 4);
    let fiemap = ExtentMap::read_with(&img, MapMethod::Fiemap).unwrap();
    let seek = ExtentMap::read_with(&img, MapMethod::SeekData).unwrap();
    assert_eq!(fiemap.extents.len(), 6000);
    assert_eq!(summary(&fiemap), summary(&seek));
    for (i, e) in fiemap.extents.iter().enumerate() {
        assert_eq!(e.offset_bytes, i as u64 * K4);
        assert_eq!(e.length_bytes, K4);
        let kind = if i % 2 == 0 {
            ExtentKind::Data
        } else {
            ExtentKind::Hole
        };
        assert_eq!(e.kind, kind);
    }

    let empty = dir.path().join("empty.img");
    File::create(&empty).unwrap();
    assert!(ExtentMap::read(&empty).unwrap().extents.is_empty());
}

#[test]
fn test_map_errors_are_typed() {
    let dir = scratch();
    assert!(matches!(
        ExtentMap::read(&dir.path().join("none")),
        Err(SparseImgError::NotFound { .. })
    ));
    assert!(matches!(
        ExtentMap::read(dir.path()),
        Err(SparseImgError::NotAFile { .. })
    ));
}

fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn test_usage_of_a_folder() {
    let dir = scratch();
    let images = dir.path().join("images");
    fs::create_dir_all(images.join("guest2")).unwrap();
    sparse_file(&images.join("a.img"), 16 << 20, &[(0, 1 << 20)], 5);
    allocated_file(&images.join("guest2/b.img"), 2 << 20, 6);
    // A hard link is counted once.
    fs::hard_link(images.join("a.img"), images.join("a-link.img")).unwrap();
    fs::copy(data_file("disk.qcow2"), images.join("c.qcow2")).unwrap();

    let report = usage(std::slice::from_ref(&images), &UsageOptions::default()).unwrap();
    let names: Vec<_> = report
        .images
        .iter()
        .map(|i| {
            i.path
                .strip_prefix(&images)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names, vec!["a-link.img", "c.qcow2", "guest2/b.img"]);
    let a = &report.images[0];
    assert_eq!(a.size_bytes, 16 << 20);
    assert_eq!(a.allocated_bytes, 1 << 20);
    assert!(a.is_sparse());
    assert_eq!(a.allocated_percent(), 6);
    let totals = a.extents.unwrap();
    assert_eq!((totals.data_extents, totals.hole_extents), (1, 1));
    assert_eq!(a.could_grow_bytes(), 15 << 20);
    let c = &report.images[1];
    assert_eq!(c.format, ImageFormat::Qcow2);
    assert_eq!(c.virtual_size_bytes, Some(64 << 20));
    let b = &report.images[2];
    assert!(!b.is_sparse());
    assert_eq!(b.could_grow_bytes(), 0);

    assert_eq!(report.filesystems.len(), 1);
    let fs_usage = &report.filesystems[0];
    assert_eq!(fs_usage.image_count, 3);
    assert_eq!(fs_usage.could_grow_bytes, (15 << 20) + c.could_grow_bytes());
    assert!(!fs_usage.is_overcommitted());

    // Without extents: sizes only. Depth 0: the subfolder is not entered.
    let mut options = UsageOptions::default();
    options.extents = false;
    options.max_depth = 0;
    let report = usage(std::slice::from_ref(&images), &options).unwrap();
    assert_eq!(report.images.len(), 2);
    assert!(report.images.iter().all(|i| i.extents.is_none()));
}

/// Sparse images whose full size is more than the filesystem has free: overcommitted.
#[test]
fn test_overcommit_is_detected() {
    let dir = scratch();
    // ext4 allows 16 TiB per file: two 8 TiB images.
    for name in ["big1.img", "big2.img"] {
        sparse_file(&dir.path().join(name), 8 << 40, &[(0, 4096)], 7);
    }
    let report = usage(&[dir.path().to_path_buf()], &UsageOptions::default()).unwrap();
    let fs_usage = &report.filesystems[0];
    assert_eq!(fs_usage.could_grow_bytes, (16 << 40) - 8192);
    assert!(fs_usage.is_overcommitted());
    assert_eq!(
        fs_usage.shortfall_bytes(),
        fs_usage.could_grow_bytes - fs_usage.space.free_bytes
    );
}

#[test]
fn test_usage_errors() {
    let dir = scratch();
    assert!(matches!(
        usage(&[dir.path().join("none")], &UsageOptions::default()),
        Err(SparseImgError::NotFound { .. })
    ));
    assert!(matches!(
        usage(&[PathBuf::from("/dev/null")], &UsageOptions::default()),
        Err(SparseImgError::NotAFile { .. })
    ));
}
