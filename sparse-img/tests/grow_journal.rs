//! Interrupted growths (issue 14 item 5): a cancelled one is cut back to the old size; after a
//! kill (simulated here by leaving the journal and a part-grown file, as a killed run does)
//! the same command, `--by` included, reaches the size first asked for; a file already at the
//! target is only synced.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use sparse_img::{
    ByteSize, GrowMethod, GrowMode, GrowOptions, GrowTarget, NoProgress, Progress, SparseImgError,
    grow, journal_path,
};

const MIB: u64 = 1 << 20;

fn by(bytes: u64) -> GrowTarget {
    GrowTarget::By(ByteSize::from_bytes(bytes))
}

fn to(bytes: u64) -> GrowTarget {
    GrowTarget::To(ByteSize::from_bytes(bytes))
}

fn options(target: GrowTarget, mode: GrowMode) -> GrowOptions {
    let mut o = GrowOptions::new(target);
    o.mode = mode;
    o
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

/// Cancels after `after` checks.
struct CancelAfter(u32);

impl Progress for CancelAfter {
    fn cancelled(&mut self) -> bool {
        if self.0 == 0 {
            return true;
        }
        self.0 -= 1;
        false
    }
}

/// What a killed run leaves: the journal of a growth from `old` to `target`, and the file
/// grown part-way with zeros to `reached`.
fn killed_run(img: &Path, old: u64, target: u64, reached: u64) {
    let name = img.file_name().unwrap().to_str().unwrap();
    fs::write(
        img.with_file_name(format!(".{name}.xenadm-grow")),
        format!(
            "xenadm grow journal 1\nold_size_bytes={old}\ntarget_size_bytes={target}\nmethod=zero_fill\n"
        ),
    )
    .unwrap();
    let mut f = OpenOptions::new().append(true).open(img).unwrap();
    f.write_all(&vec![0u8; usize::try_from(reached - old).unwrap()])
        .unwrap();
}

#[test]
fn test_a_cancelled_zero_fill_is_cut_back_to_the_old_size() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.img");
    fs::write(&img, b"old content").unwrap();
    let err = grow(
        &img,
        &options(by(8 * MIB), GrowMode::ZeroFill),
        &mut CancelAfter(3),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SparseImgError::Interrupted {
                old_bytes: 11,
                restored: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("cut back to its old size"));
    assert_eq!(fs::read(&img).unwrap(), b"old content");
    assert_eq!(names(dir.path()), ["a.img"], "no journal left");
}

#[test]
fn test_rerun_by_after_a_kill_reaches_the_size_first_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.img");
    fs::write(&img, vec![7u8; usize::try_from(MIB).unwrap()]).unwrap();
    // 1 MiB grown --by 4 MiB, killed at 3 MiB: the rerun of --by 4 MiB ends at 5 MiB, not 7.
    killed_run(&img, MIB, 5 * MIB, 3 * MIB);
    let report = grow(&img, &options(by(4 * MIB), GrowMode::Keep), &mut NoProgress).unwrap();
    assert_eq!(report.old_size_bytes, MIB);
    assert_eq!(report.new_size_bytes, 5 * MIB);
    assert_eq!(report.resumed_at_bytes, Some(3 * MIB));
    assert_eq!(report.method, GrowMethod::ZeroFill, "the journal's method");
    assert_eq!(fs::metadata(&img).unwrap().len(), 5 * MIB);
    let bytes = fs::read(&img).unwrap();
    assert!(
        bytes[..usize::try_from(MIB).unwrap()]
            .iter()
            .all(|&b| b == 7)
    );
    assert!(
        bytes[usize::try_from(MIB).unwrap()..]
            .iter()
            .all(|&b| b == 0)
    );
    assert_eq!(names(dir.path()), ["a.img"]);
}

#[test]
fn test_a_file_already_at_the_target_is_synced_and_done() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.img");
    fs::write(&img, b"x").unwrap();
    // Killed after the last write, before the fsync and the journal's removal.
    killed_run(&img, 1, MIB, MIB);
    let report = grow(&img, &options(to(MIB), GrowMode::Keep), &mut NoProgress).unwrap();
    assert_eq!(report.resumed_at_bytes, Some(MIB));
    assert_eq!(report.new_size_bytes, MIB);
    assert_eq!(names(dir.path()), ["a.img"]);
}

#[test]
fn test_another_growth_is_refused_while_one_is_pending() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.img");
    fs::write(&img, b"x").unwrap();
    killed_run(&img, 1, MIB, 4096);
    let err = grow(&img, &options(to(2 * MIB), GrowMode::Keep), &mut NoProgress).unwrap_err();
    assert!(
        matches!(
            err,
            SparseImgError::PendingGrow {
                old_bytes: 1,
                target_bytes: 1_048_576,
                current_bytes: 4096,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fs::metadata(&img).unwrap().len(), 4096, "untouched");
    assert!(journal_path(&img).exists());
}

#[test]
fn test_a_stale_journal_is_dropped_and_a_bad_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.img");
    fs::write(&img, vec![1u8; 8192]).unwrap();
    // The file was changed since (larger than the journal's target): not ours to finish.
    killed_run(&img, 1, 4096, 4096);
    fs::write(&img, vec![1u8; 8192]).unwrap();
    let report = grow(&img, &options(by(4096), GrowMode::Keep), &mut NoProgress).unwrap();
    assert_eq!(report.new_size_bytes, 12288);
    assert_eq!(report.resumed_at_bytes, None);
    assert_eq!(names(dir.path()), ["a.img"]);

    fs::write(journal_path(&img), "not a journal").unwrap();
    let err = grow(&img, &options(by(4096), GrowMode::Keep), &mut NoProgress).unwrap_err();
    assert!(matches!(err, SparseImgError::BadJournal { .. }), "{err:?}");
    assert_eq!(fs::metadata(&img).unwrap().len(), 12288);
}

#[test]
fn test_no_journal_is_left_by_any_method() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.img");
    fs::write(&img, b"x").unwrap();
    for mode in [GrowMode::Sparse, GrowMode::Allocate, GrowMode::ZeroFill] {
        grow(&img, &options(by(MIB), mode), &mut NoProgress).unwrap();
        assert_eq!(names(dir.path()), ["a.img"], "{mode:?}");
    }
    assert_eq!(fs::metadata(&img).unwrap().len(), 1 + 3 * MIB);
}
