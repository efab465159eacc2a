//! Growing real images in a scratch folder: every kind of growth keeps the old content
//! (checksum), sparse stays sparse, allocated grows allocated, odd sizes land exactly, and
//! every refusal leaves the file byte-equal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs;
use std::path::Path;

use common::{allocated, allocated_file, checksum, scratch, sparse_file, zeros_between};
use nix::fcntl::{Flock, FlockArg};
use sparse_img::{
    ByteSize, ExtentKind, ExtentMap, GrowMethod, GrowMode, GrowOptions, GrowReport, GrowTarget,
    ImageFormat, MapMethod, Nature, NoProgress, Progress, SparseImgError, grow,
};

fn to(bytes: u64) -> GrowOptions {
    GrowOptions::new(GrowTarget::To(ByteSize::from_bytes(bytes)))
}

fn by(bytes: u64) -> GrowOptions {
    GrowOptions::new(GrowTarget::By(ByteSize::from_bytes(bytes)))
}

fn with_mode(mut options: GrowOptions, mode: GrowMode) -> GrowOptions {
    options.mode = mode;
    options
}

fn run(path: &Path, options: &GrowOptions) -> GrowReport {
    grow(path, options, &mut NoProgress).unwrap()
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

#[test]
fn test_sparse_image_grows_sparse_with_blocks_unchanged() {
    let dir = scratch();
    let img = dir.path().join("sparse.img");
    sparse_file(&img, 64 << 20, &[(0, 65536), (40 << 20, 4096)], 1);
    let sum = checksum(&img, 64 << 20);
    let blocks = allocated(&img);

    let report = run(&img, &to(1 << 40));
    assert_eq!(report.nature, Nature::Sparse);
    assert_eq!(report.method, GrowMethod::Truncate);
    assert_eq!(report.old_size_bytes, 64 << 20);
    assert_eq!(report.new_size_bytes, 1 << 40);
    assert_eq!(size(&img), 1 << 40);
    assert_eq!(allocated(&img), blocks, "st_blocks must not change");
    assert_eq!(report.allocated_after_bytes, blocks);
    assert_eq!(checksum(&img, 64 << 20), sum);
    let map = ExtentMap::read(&img).unwrap();
    let last = map.extents.last().unwrap();
    assert_eq!(last.kind, ExtentKind::Hole);
    assert_eq!(last.end_bytes(), 1 << 40);
}

#[test]
fn test_allocated_image_grows_allocated() {
    let dir = scratch();
    let img = dir.path().join("full.img");
    allocated_file(&img, 8 << 20, 2);
    let sum = checksum(&img, 8 << 20);

    let report = run(&img, &by(24 << 20));
    assert_eq!(report.nature, Nature::Allocated);
    assert_eq!(report.method, GrowMethod::Fallocate);
    assert!(!report.fallocate_unsupported);
    assert_eq!(size(&img), 32 << 20);
    assert!(allocated(&img) >= 32 << 20, "{}", allocated(&img));
    assert_eq!(checksum(&img, 8 << 20), sum);
    assert!(zeros_between(&img, 8 << 20, 32 << 20));
    // The new range is reserved but unwritten; the old one is data.
    let map = ExtentMap::read_with(&img, MapMethod::Fiemap).unwrap();
    let kinds: Vec<_> = map
        .extents
        .iter()
        .map(|e| (e.offset_bytes, e.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![(0, ExtentKind::Data), (8 << 20, ExtentKind::Unwritten)]
    );
}

#[test]
fn test_odd_sizes_grow_exactly_in_every_mode() {
    let dir = scratch();
    // Neither a multiple of 512 nor of 1 MiB: the dd recipe `seek=OLDEND` loses the tail here.
    let old = 1_500_000u64;
    let targets = [1_500_001u64, 3_000_001, (5 << 20) + 333];
    for mode in [
        GrowMode::Keep,
        GrowMode::Sparse,
        GrowMode::Allocate,
        GrowMode::ZeroFill,
    ] {
        for (i, &target) in targets.iter().enumerate() {
            let img = dir.path().join(format!("odd-{mode:?}-{i}.img"));
            allocated_file(&img, usize::try_from(old).unwrap(), 3 + i as u64);
            let sum = checksum(&img, old);
            let report = run(&img, &with_mode(to(target), mode));
            assert_eq!(size(&img), target, "{mode:?} {target}");
            assert_eq!(report.new_size_bytes, target);
            assert_eq!(checksum(&img, old), sum, "{mode:?} {target}");
            assert!(zeros_between(&img, old, target), "{mode:?} {target}");
        }
    }
}

#[test]
fn test_by_and_to_agree_with_dd_units() {
    let dir = scratch();
    let img = dir.path().join("units.img");
    sparse_file(&img, 1 << 20, &[], 0);
    // `--to 16000M` is what `bs=1M seek=16000` means.
    run(&img, &to("16000M".parse::<ByteSize>().unwrap().bytes()));
    assert_eq!(size(&img), 16000 << 20);
    run(&img, &by("1.5G".parse::<ByteSize>().unwrap().bytes()));
    assert_eq!(size(&img), (16000 << 20) + (3 << 29));
}

#[test]
fn test_zero_fill_writes_data_and_reports_progress() {
    #[derive(Default)]
    struct Recorder {
        total: u64,
        last: u64,
        calls: u32,
        finished: bool,
    }
    impl Progress for Recorder {
        fn start(&mut self, total_bytes: u64) {
            self.total = total_bytes;
        }
        fn advance(&mut self, done_bytes: u64) {
            assert!(done_bytes >= self.last);
            self.last = done_bytes;
            self.calls += 1;
        }
        fn finish(&mut self) {
            self.finished = true;
        }
    }
    let dir = scratch();
    let img = dir.path().join("zeros.img");
    allocated_file(&img, 1 << 20, 4);
    let sum = checksum(&img, 1 << 20);
    let mut recorder = Recorder::default();
    let report = grow(
        &img,
        &with_mode(by((4 << 20) + 7), GrowMode::ZeroFill),
        &mut recorder,
    )
    .unwrap();
    assert_eq!(report.method, GrowMethod::ZeroFill);
    assert_eq!(recorder.total, (4 << 20) + 7);
    assert_eq!(recorder.last, recorder.total);
    assert!(recorder.calls >= 4 && recorder.finished);
    assert_eq!(checksum(&img, 1 << 20), sum);
    assert!(zeros_between(&img, 1 << 20, (5 << 20) + 7));
    let map = ExtentMap::read(&img).unwrap();
    assert!(map.extents.iter().all(|e| e.kind == ExtentKind::Data));
}

#[test]
fn test_allocate_mode_on_sparse_image_keeps_old_holes() {
    let dir = scratch();
    let img = dir.path().join("mixed.img");
    sparse_file(&img, 4 << 20, &[(1 << 20, 4096)], 5);
    let sum = checksum(&img, 4 << 20);
    let report = run(&img, &with_mode(to(8 << 20), GrowMode::Allocate));
    assert_eq!(report.nature, Nature::Sparse);
    assert_eq!(report.method, GrowMethod::Fallocate);
    assert_eq!(checksum(&img, 4 << 20), sum);
    let map = ExtentMap::read_with(&img, MapMethod::Fiemap).unwrap();
    assert_eq!(map.extents.first().unwrap().kind, ExtentKind::Hole);
    assert_eq!(map.extents.last().unwrap().kind, ExtentKind::Unwritten);
    assert_eq!(map.extents.last().unwrap().offset_bytes, 4 << 20);
}

#[test]
fn test_sparse_mode_on_allocated_image() {
    let dir = scratch();
    let img = dir.path().join("full-sparse.img");
    allocated_file(&img, 1 << 20, 6);
    let blocks = allocated(&img);
    let report = run(&img, &with_mode(to(100 << 20), GrowMode::Sparse));
    assert_eq!(report.nature, Nature::Allocated);
    assert_eq!(report.method, GrowMethod::Truncate);
    assert_eq!(allocated(&img), blocks);
}

/// Shrinking is refused with the current size in the message; `--to` the same size succeeds
/// without touching the file (a script can run it again); either way the file is byte-equal,
/// with the same size, blocks and modification time.
#[test]
fn test_shrink_is_refused_and_equal_is_done_file_byte_equal() {
    let dir = scratch();
    let img = dir.path().join("keep.img");
    sparse_file(&img, 3_000_000, &[(0, 1_000_000), (2_000_000, 999_999)], 7);
    let before = fs::read(&img).unwrap();
    let meta_before = fs::metadata(&img).unwrap();
    let blocks_before = allocated(&img);
    for mode in [GrowMode::Keep, GrowMode::Allocate, GrowMode::ZeroFill] {
        let report = grow(&img, &with_mode(to(3_000_000), mode), &mut NoProgress).unwrap();
        assert_eq!(report.old_size_bytes, 3_000_000);
        assert_eq!(report.new_size_bytes, 3_000_000);
        assert_eq!(report.added_bytes(), 0);
    }
    for target in [0u64, 1, 1 << 20, 2_999_999] {
        for mode in [GrowMode::Keep, GrowMode::Allocate, GrowMode::ZeroFill] {
            let err = grow(&img, &with_mode(to(target), mode), &mut NoProgress).unwrap_err();
            match &err {
                SparseImgError::NotLarger {
                    current_bytes,
                    target_bytes,
                    ..
                } => {
                    assert_eq!(*current_bytes, 3_000_000);
                    assert_eq!(*target_bytes, target);
                }
                other => panic!("{other:?}"),
            }
            let text = err.to_string();
            assert!(text.contains("3000000 bytes"), "{text}");
            assert!(text.contains("2.9 MiB"), "{text}");
        }
    }
    let err = grow(&img, &by(0), &mut NoProgress).unwrap_err();
    assert!(matches!(err, SparseImgError::NotLarger { .. }));
    let err = grow(&img, &by(u64::MAX), &mut NoProgress).unwrap_err();
    assert!(
        matches!(err, SparseImgError::SizeOverflow { .. }),
        "{err:?}"
    );
    let err = grow(&img, &to(u64::MAX), &mut NoProgress).unwrap_err();
    assert!(
        matches!(err, SparseImgError::SizeOverflow { .. }),
        "{err:?}"
    );
    assert_eq!(fs::read(&img).unwrap(), before);
    let meta_after = fs::metadata(&img).unwrap();
    assert_eq!(
        meta_after.modified().unwrap(),
        meta_before.modified().unwrap()
    );
    assert_eq!(allocated(&img), blocks_before);
}

#[test]
fn test_dry_run_changes_nothing() {
    let dir = scratch();
    let img = dir.path().join("dry.img");
    allocated_file(&img, 1 << 20, 8);
    let before = fs::read(&img).unwrap();
    let mut options = to(64 << 20);
    options.dry_run = true;
    let report = run(&img, &options);
    assert!(report.dry_run);
    assert_eq!(report.method, GrowMethod::Fallocate);
    assert_eq!(report.new_size_bytes, 64 << 20);
    assert_eq!(fs::read(&img).unwrap(), before);
}

#[test]
fn test_not_enough_free_space_is_refused_before_allocating() {
    let dir = scratch();
    let img = dir.path().join("huge.img");
    allocated_file(&img, 1 << 20, 9);
    let before = fs::read(&img).unwrap();
    // Far more than any test machine has free, far less than the largest file.
    let err = grow(&img, &by(1 << 60), &mut NoProgress).unwrap_err();
    match &err {
        SparseImgError::NoSpace {
            needed_bytes,
            available_bytes,
            ..
        } => {
            assert_eq!(*needed_bytes, 1 << 60);
            assert!(available_bytes < needed_bytes);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("the file is unchanged"));
    assert_eq!(fs::read(&img).unwrap(), before);
}

#[test]
fn test_bad_paths_are_typed_errors() {
    let dir = scratch();
    let err = grow(&dir.path().join("missing.img"), &by(1), &mut NoProgress).unwrap_err();
    assert!(matches!(err, SparseImgError::NotFound { .. }), "{err:?}");
    assert!(!dir.path().join("missing.img").exists());
    let err = grow(dir.path(), &by(1), &mut NoProgress).unwrap_err();
    assert!(matches!(err, SparseImgError::NotAFile { .. }), "{err:?}");
    assert!(err.to_string().contains("is a folder"), "{err}");
    let err = grow(Path::new("/dev/null"), &by(1), &mut NoProgress).unwrap_err();
    assert!(matches!(err, SparseImgError::NotAFile { .. }), "{err:?}");
    if let Some(block) = ["/dev/loop0", "/dev/vda", "/dev/sda"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
    {
        let err = grow(block, &by(1), &mut NoProgress).unwrap_err();
        assert!(
            matches!(err, SparseImgError::NotAFile { .. }),
            "{}: {err:?}",
            block.display()
        );
    }
}

/// An immutable file (chattr +i) cannot be opened for writing, even by root.
#[test]
fn test_immutable_file_is_permission_denied() {
    if !common::have_tool("chattr") {
        return;
    }
    let dir = scratch();
    let img = dir.path().join("immutable.img");
    allocated_file(&img, 4096, 10);
    let status = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&img)
        .status()
        .unwrap();
    if !status.success() {
        common::skip("chattr +i is not supported on the scratch filesystem");
        return;
    }
    struct Mutable<'a>(&'a Path);
    impl Drop for Mutable<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(self.0)
                .status();
        }
    }
    let _guard = Mutable(&img);
    let err = grow(&img, &by(4096), &mut NoProgress).unwrap_err();
    assert!(
        matches!(err, SparseImgError::PermissionDenied { .. }),
        "{err:?}"
    );
    assert_eq!(size(&img), 4096);
}

#[test]
fn test_concurrent_grow_is_busy() {
    let dir = scratch();
    let img = dir.path().join("busy.img");
    allocated_file(&img, 4096, 11);
    let held = Flock::lock(fs::File::open(&img).unwrap(), FlockArg::LockExclusive).unwrap();
    let err = grow(&img, &by(4096), &mut NoProgress).unwrap_err();
    assert!(matches!(err, SparseImgError::Busy { .. }), "{err:?}");
    drop(held);
    run(&img, &by(4096));
    assert_eq!(size(&img), 8192);
}

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Real images made by qemu-img are refused by their magic, with the right tool named;
/// the copies are byte-equal afterwards.
#[test]
fn test_formats_are_refused_naming_the_tool() {
    let dir = scratch();
    let cases = [
        ("disk.qcow", ImageFormat::Qcow),
        ("disk.qcow2", ImageFormat::Qcow2),
        ("disk.qed", ImageFormat::Qed),
        ("disk.vmdk", ImageFormat::Vmdk),
        ("flat.vmdk", ImageFormat::VmdkDescriptor),
        ("flat-flat.vmdk", ImageFormat::VmdkFlatExtent),
        ("disk.vdi", ImageFormat::Vdi),
        ("disk.vpc", ImageFormat::Vpc),
        ("fixed.vpc", ImageFormat::Vpc),
        ("disk.vhdx", ImageFormat::Vhdx),
        ("disk.parallels", ImageFormat::Parallels),
    ];
    for (name, format) in cases {
        let img = dir.path().join(name);
        fs::copy(data(name), &img).unwrap();
        let before = fs::read(&img).unwrap();
        let err = grow(&img, &by(1 << 20), &mut NoProgress).unwrap_err();
        match &err {
            SparseImgError::ForeignFormat { format: found, .. } => {
                assert_eq!(*found, format, "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(err.to_string().contains(format.name()), "{err}");
        if matches!(format, ImageFormat::Qcow2 | ImageFormat::Qed) {
            assert!(format.resize_advice().contains("qemu-img resize"));
        }
        assert_eq!(fs::read(&img).unwrap(), before, "{name}");
    }
}

#[test]
fn test_assume_raw_overrides_a_guest_written_magic() {
    let dir = scratch();
    let img = dir.path().join("looks-like-qcow2.img");
    let mut bytes = vec![0u8; 8192];
    bytes[..8].copy_from_slice(b"QFI\xfb\0\0\0\x03");
    fs::write(&img, &bytes).unwrap();
    assert!(matches!(
        grow(&img, &by(4096), &mut NoProgress),
        Err(SparseImgError::ForeignFormat { .. })
    ));
    let mut options = by(4096);
    options.assume_raw = true;
    run(&img, &options);
    assert_eq!(size(&img), 12288);
    assert_eq!(fs::read(&img).unwrap()[..8192], bytes[..]);
}
