//! Growing a raw image, safely.
//!
//! The rules, each enforced here rather than left to the caller:
//!
//! * grow only: a target not larger than the current size is refused, naming the current size,
//!   and the file is untouched;
//! * the old end comes from `fstat` of the open file, never from the caller;
//! * nothing below the old end is written: the file is opened `O_APPEND`, so the kernel puts
//!   every write at the end, `ftruncate` only ever raises the size, and `fallocate` only
//!   reserves blocks (it never changes data);
//! * images with a format header (qcow2, VMDK, ...) are refused: growing the file would not
//!   grow their virtual disk;
//! * free space is checked before allocating; if allocating fails part-way the file is cut
//!   back to its old size;
//! * `fsync` at the end.
//!
//! Interrupted growths: a journal (`.NAME.xenadm-grow`, see [`journal_path`]) records the old
//! size, the target and the method while the image changes. After a kill -9 the file holds its
//! old content followed by zeros (or a hole, or reserved blocks), and the next run of the same
//! command (`--to` or `--by`) finds the journal and finishes the growth to the size first
//! asked for; if the file is already there it only syncs it. A growth cancelled through
//! [`Progress::cancelled`] (SIGINT, SIGTERM) is cut back to the old size.
// Length note: over 700 lines only with its unit tests (the code is about 640 lines): one
// growth sequence whose rules (grow only, O_APPEND, journal, fsync, cut back on cancel) share
// the open file and the journal; the tests use real files in temporary folders.

use std::fs::File;
use std::io::{self, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{FallocateFlags, Flock, FlockArg, fallocate};

use crate::error::SparseImgError;
use crate::format::{Contents, probe};
use crate::fs::{FsSpace, round_up};
use crate::journal::{self, Journal, journal_path};
use crate::open::open_image;
use crate::size::ByteSize;

/// The largest size a file can have (`off_t` is signed).
pub const MAX_FILE_BYTES: u64 = i64::MAX as u64;

/// Bytes per `fallocate` call (progress is reported between calls).
const FALLOCATE_CHUNK_BYTES: u64 = 1 << 30;
/// Bytes per `write` when zero-filling.
const ZERO_CHUNK_BYTES: usize = 1 << 20;

/// How large the image should become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrowTarget {
    /// This total size.
    To(ByteSize),
    /// The current size plus this much.
    By(ByteSize),
}

/// How the new range is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GrowMode {
    /// Keep the image's nature ([`Nature::of`]): a sparse image grows sparse, a fully
    /// allocated one gets the new range allocated.
    #[default]
    Keep,
    /// A hole (`ftruncate`): instant, uses no space now.
    Sparse,
    /// Reserved blocks (`fallocate`), or zeros written where fallocate is unsupported.
    Allocate,
    /// Zeros written (slow: the whole range is written). What [`GrowMode::Allocate`] falls
    /// back to; useful where unwritten extents are unwanted.
    ZeroFill,
}

/// Whether an image is sparse or fully allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Nature {
    /// Fewer bytes allocated than its size (it has holes), or empty.
    Sparse,
    /// At least as many bytes allocated (`st_blocks` × 512) as its size.
    Allocated,
}

impl Nature {
    /// The nature of a file of `size_bytes` with `allocated_bytes` allocated.
    pub fn of(size_bytes: u64, allocated_bytes: u64) -> Nature {
        if size_bytes > 0 && allocated_bytes >= size_bytes {
            Nature::Allocated
        } else {
            Nature::Sparse
        }
    }

    /// `sparse` or `allocated`.
    pub fn name(self) -> &'static str {
        match self {
            Nature::Sparse => "sparse",
            Nature::Allocated => "allocated",
        }
    }
}

/// The system call that made the new range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrowMethod {
    /// `ftruncate`: the new range is a hole.
    Truncate,
    /// `fallocate`: the new range is reserved, unwritten.
    Fallocate,
    /// `write` of zeros at the end.
    ZeroFill,
}

impl GrowMethod {
    /// `truncate`, `fallocate` or `zero_fill`.
    pub fn name(self) -> &'static str {
        match self {
            GrowMethod::Truncate => "truncate",
            GrowMethod::Fallocate => "fallocate",
            GrowMethod::ZeroFill => "zero_fill",
        }
    }
}

/// Options for [`grow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GrowOptions {
    /// The new size.
    pub target: GrowTarget,
    /// How to make the new range.
    pub mode: GrowMode,
    /// Check everything and report what would be done, changing nothing.
    pub dry_run: bool,
    /// Treat the file as raw even if its first bytes look like a format header (a guest can
    /// write such bytes to its own disk).
    pub assume_raw: bool,
}

impl GrowOptions {
    /// Grow to `target`, keeping the image's nature.
    pub fn new(target: GrowTarget) -> GrowOptions {
        GrowOptions {
            target,
            mode: GrowMode::Keep,
            dry_run: false,
            assume_raw: false,
        }
    }
}

/// Receives progress while a range is allocated or zero-filled.
pub trait Progress {
    /// The range to do, in bytes.
    fn start(&mut self, total_bytes: u64) {
        let _ = total_bytes;
    }
    /// Bytes done so far.
    fn advance(&mut self, done_bytes: u64) {
        let _ = done_bytes;
    }
    /// Done (or failed).
    fn finish(&mut self) {}
    /// Asked between chunks of allocating or zero-filling: `true` stops the growth and cuts
    /// the file back to its old size ([`SparseImgError::Interrupted`]).
    fn cancelled(&mut self) -> bool {
        false
    }
    /// Called by [`crate::grow_image`] once the growth is done and synced (or, on a dry run,
    /// checked), before the loop devices are refreshed: from here on nothing is cut back, so
    /// a caller that turned signals into [`Progress::cancelled`] can let them through again.
    fn grown(&mut self, report: &GrowReport) {
        let _ = report;
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// What [`grow`] did (or, with `dry_run`, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GrowReport {
    /// The image.
    pub path: PathBuf,
    /// Size before (from fstat).
    pub old_size_bytes: u64,
    /// Size after.
    pub new_size_bytes: u64,
    /// The image's nature before.
    pub nature: Nature,
    /// How the new range was made.
    pub method: GrowMethod,
    /// Zeros were written because the filesystem has no fallocate.
    pub fallocate_unsupported: bool,
    /// Allocated bytes (`st_blocks` × 512) before.
    pub allocated_before_bytes: u64,
    /// Allocated bytes after.
    pub allocated_after_bytes: u64,
    /// The filesystem's space afterwards.
    pub space: FsSpace,
    /// What the disk starts with (partition table or filesystem).
    pub contents: Contents,
    /// Nothing was changed.
    pub dry_run: bool,
    /// An interrupted growth was found (its journal) with the file at this size, and
    /// finished; equal to `new_size_bytes` when the file was already there and only synced.
    pub resumed_at_bytes: Option<u64>,
}

impl GrowReport {
    /// Bytes added.
    pub fn added_bytes(&self) -> u64 {
        self.new_size_bytes - self.old_size_bytes
    }
}

/// Grows the raw image at `path`.
///
/// * Grow only: a target not larger than the current size is refused
///   ([`SparseImgError::NotLarger`], naming the current size) and the file is untouched.
/// * The old end comes from `fstat` of the open file, never from the caller.
/// * Nothing below the old end is written: the file is opened `O_APPEND`, so the kernel puts
///   every write at the end; `ftruncate` only ever raises the size; `fallocate` only reserves
///   blocks.
/// * Images with a format header (qcow2, VMDK, ...) are refused
///   ([`SparseImgError::ForeignFormat`]) unless [`GrowOptions::assume_raw`].
/// * Free space is checked before allocating; if allocating fails part-way the file is cut
///   back to its old size. `fsync` at the end. An exclusive `flock` keeps two growths apart.
///
/// On error the image is as it was, except after a failed `fsync` (reported as
/// [`SparseImgError::Io`]). If the process dies while writing zeros, the file holds its old
/// content followed by zeros; growing again to the same size finishes the job.
pub fn grow(
    path: &Path,
    options: &GrowOptions,
    progress: &mut dyn Progress,
) -> Result<GrowReport, SparseImgError> {
    // Opened for appending even on a dry run: it checks permissions and the filesystem.
    let (file, _) = open_image(path, true)?;
    let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => locked,
        Err((_, Errno::EWOULDBLOCK)) => {
            return Err(SparseImgError::Busy {
                path: path.to_path_buf(),
            });
        }
        Err((_, errno)) => return Err(io_error(path, "lock", errno.into())),
    };
    let meta = file
        .metadata()
        .map_err(|e| io_error(path, "read the metadata of", e))?;
    let size = meta.size();
    let allocated_before = meta.blocks().saturating_mul(512);
    let pending = pending_growth(path, size, options.target)?;

    let found = probe(&file, size, path).map_err(|e| io_error(path, "read", e))?;
    if !found.format.is_raw() && !options.assume_raw {
        return Err(SparseImgError::ForeignFormat {
            path: path.to_path_buf(),
            format: found.format,
        });
    }

    let (old, target) = match pending {
        Some(j) => (j.old, j.target),
        None => (size, target_bytes(path, size, options.target)?),
    };
    let nature = Nature::of(size, allocated_before);
    let method = match (pending, options.mode, nature) {
        (Some(j), _, _) => j.method,
        (None, GrowMode::Sparse, _) | (None, GrowMode::Keep, Nature::Sparse) => {
            GrowMethod::Truncate
        }
        (None, GrowMode::Allocate, _) | (None, GrowMode::Keep, Nature::Allocated) => {
            GrowMethod::Fallocate
        }
        (None, GrowMode::ZeroFill, _) => GrowMethod::ZeroFill,
    };

    let space = FsSpace::of_file(&file).map_err(|e| io_error(path, "statvfs", e))?;
    if space.read_only {
        return Err(SparseImgError::ReadOnlyFilesystem {
            path: path.to_path_buf(),
        });
    }
    if method != GrowMethod::Truncate {
        let needed = round_up(target, space.block_size_bytes)
            .saturating_sub(round_up(size, space.block_size_bytes));
        if needed > space.free_bytes {
            return Err(SparseImgError::NoSpace {
                path: path.to_path_buf(),
                needed_bytes: needed,
                available_bytes: space.free_bytes,
            });
        }
    }

    let mut report = GrowReport {
        path: path.to_path_buf(),
        old_size_bytes: old,
        new_size_bytes: target,
        nature,
        method,
        fallocate_unsupported: false,
        allocated_before_bytes: allocated_before,
        allocated_after_bytes: allocated_before,
        space,
        contents: found.contents,
        dry_run: options.dry_run,
        resumed_at_bytes: pending.map(|_| size),
    };
    if options.dry_run {
        predict(&file, path, &mut report)?;
        return Ok(report);
    }
    if size == target && pending.is_none() {
        // Already at the size asked for: nothing to write, nothing to journal.
        return Ok(report);
    }

    let journal_err = |e| io_error(&journal_path(path), "write the grow journal", e);
    if pending.is_none() {
        journal::write(
            path,
            Journal {
                old,
                target,
                method,
            },
        )
        .map_err(journal_err)?;
    }
    match method {
        _ if size == target => {}
        GrowMethod::Truncate => file.set_len(target).map_err(|e| {
            // Nothing changed: the journal has nothing to finish.
            let _ = journal::remove(path);
            if e.raw_os_error() == Some(nix::libc::EFBIG) {
                SparseImgError::TooLargeForFilesystem {
                    path: path.to_path_buf(),
                    target_bytes: target,
                    source: e,
                }
            } else {
                io_error(path, "grow", e)
            }
        })?,
        GrowMethod::Fallocate | GrowMethod::ZeroFill => {
            progress.start(target - size);
            let filled = fill(&file, size, target, method, progress);
            progress.finish();
            match filled {
                Ok(fell_back) => {
                    if fell_back {
                        report.method = GrowMethod::ZeroFill;
                        report.fallocate_unsupported = true;
                    }
                }
                Err(failure) => {
                    let err = failure.into_error(&file, path, old, target);
                    // Cut back: the journal has nothing left to finish.
                    if file.metadata().is_ok_and(|m| m.size() == old) {
                        let _ = file.sync_all();
                        journal::remove(path).map_err(journal_err)?;
                    }
                    return Err(err);
                }
            }
        }
    }

    file.sync_all().map_err(|e| io_error(path, "fsync", e))?;
    journal::remove(path).map_err(journal_err)?;
    let after = file
        .metadata()
        .map_err(|e| io_error(path, "read the metadata of", e))?;
    if after.size() != target {
        return Err(io_error(
            path,
            "grow",
            io::Error::other(format!(
                "the size is {} bytes after growing to {target}: another process changed it",
                after.size()
            )),
        ));
    }
    report.allocated_after_bytes = after.blocks().saturating_mul(512);
    report.space = FsSpace::of_file(&file).unwrap_or(report.space);
    Ok(report)
}

/// What a dry run can know of the real run without changing anything: a size beyond what
/// the filesystem allows for a file (lseek past its limit fails as truncate would), and
/// fallocate that the file cannot have (ext2/ext3-style files, without extents).
fn predict(file: &File, path: &Path, report: &mut GrowReport) -> Result<(), SparseImgError> {
    let target = report.new_size_bytes;
    if target > report.old_size_bytes {
        let mut probe = file;
        let fits = i64::try_from(target).is_ok()
            && io::Seek::seek(&mut probe, io::SeekFrom::Start(target)).is_ok();
        let _ = io::Seek::seek(&mut probe, io::SeekFrom::Start(0));
        if !fits {
            return Err(SparseImgError::TooLargeForFilesystem {
                path: path.to_path_buf(),
                target_bytes: target,
                source: io::Error::from_raw_os_error(nix::libc::EFBIG),
            });
        }
    }
    if report.method == GrowMethod::Fallocate && crate::fs::fallocate_unsupported(file) {
        report.method = GrowMethod::ZeroFill;
        report.fallocate_unsupported = true;
    }
    Ok(())
}

/// The interrupted growth recorded in the journal, when the file is where it left it and
/// `asked` is the same growth; a stale journal (the file was changed since) is removed.
fn pending_growth(
    path: &Path,
    size: u64,
    asked: GrowTarget,
) -> Result<Option<Journal>, SparseImgError> {
    let journal_file = journal_path(path);
    let journal_err = |e| io_error(&journal_file, "read the grow journal", e);
    journal::remove_leftover_temp(path).map_err(journal_err)?;
    let j = match journal::read(path).map_err(journal_err)? {
        None => return Ok(None),
        Some(None) => {
            return Err(SparseImgError::BadJournal {
                path: path.to_path_buf(),
                journal: journal_file,
            });
        }
        Some(Some(j)) => j,
    };
    if size < j.old || size > j.target {
        // Not where the interrupted growth left it: someone changed the file since.
        journal::remove(path).map_err(journal_err)?;
        return Ok(None);
    }
    let same = match asked {
        GrowTarget::To(t) => t.bytes() == j.target,
        GrowTarget::By(b) => j.old.checked_add(b.bytes()) == Some(j.target),
    };
    if !same {
        return Err(SparseImgError::PendingGrow {
            path: path.to_path_buf(),
            journal: journal_file,
            old_bytes: j.old,
            target_bytes: j.target,
            current_bytes: size,
        });
    }
    Ok(Some(j))
}

/// The target size, checked: larger than `old` and a possible file size.
fn target_bytes(path: &Path, old: u64, target: GrowTarget) -> Result<u64, SparseImgError> {
    let target_spec = target;
    let overflow = |add: u64| SparseImgError::SizeOverflow {
        path: path.to_path_buf(),
        current_bytes: old,
        add_bytes: add,
    };
    let target = match target {
        GrowTarget::To(size) => size.bytes(),
        GrowTarget::By(size) => old
            .checked_add(size.bytes())
            .ok_or_else(|| overflow(size.bytes()))?,
    };
    // `--to` the size it already has: done already (a script can run the same command
    // twice). `--by 0` and smaller sizes are still refused.
    let already = matches!(target_spec, GrowTarget::To(_)) && target == old;
    if target <= old && !already {
        return Err(SparseImgError::NotLarger {
            path: path.to_path_buf(),
            current_bytes: old,
            target_bytes: target,
        });
    }
    if target > MAX_FILE_BYTES {
        return Err(overflow(target - old));
    }
    Ok(target)
}

/// Where filling the new range failed.
struct FillFailure {
    offset: u64,
    length: u64,
    zero_fill: bool,
    source: io::Error,
    /// Stopped by [`Progress::cancelled`], not by an error.
    cancelled: bool,
}

impl FillFailure {
    fn cancelled(offset: u64, length: u64, zero_fill: bool) -> FillFailure {
        FillFailure {
            offset,
            length,
            zero_fill,
            source: io::ErrorKind::Interrupted.into(),
            cancelled: true,
        }
    }
}

impl FillFailure {
    /// Cuts the file back to `old` (only if it grew) and names the failure.
    fn into_error(self, file: &File, path: &Path, old: u64, target: u64) -> SparseImgError {
        let restored = match file.metadata() {
            Ok(meta) if meta.size() > old => file.set_len(old).is_ok(),
            Ok(_) => true,
            Err(_) => false,
        };
        let path = path.to_path_buf();
        if self.cancelled {
            return SparseImgError::Interrupted {
                path,
                old_bytes: old,
                restored,
            };
        }
        match self.source.raw_os_error() {
            Some(nix::libc::ENOSPC) if restored => SparseImgError::NoSpace {
                needed_bytes: target - old,
                available_bytes: FsSpace::of_file(file).map_or(0, |s| s.free_bytes),
                path,
            },
            Some(nix::libc::EFBIG) if restored => SparseImgError::TooLargeForFilesystem {
                path,
                target_bytes: target,
                source: self.source,
            },
            _ => SparseImgError::Allocate {
                path,
                offset_bytes: self.offset,
                length_bytes: self.length,
                zero_fill: self.zero_fill,
                restored,
                source: self.source,
            },
        }
    }
}

/// Fills `[old, target)` with fallocate (falling back to zeros where unsupported) or zeros.
/// Returns whether it fell back.
fn fill(
    file: &File,
    old: u64,
    target: u64,
    method: GrowMethod,
    progress: &mut dyn Progress,
) -> Result<bool, FillFailure> {
    let mut offset = old;
    if method == GrowMethod::Fallocate {
        while offset < target {
            let length = (target - offset).min(FALLOCATE_CHUNK_BYTES);
            if progress.cancelled() {
                return Err(FillFailure::cancelled(offset, length, false));
            }
            let to_off = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            match fallocate(
                file,
                FallocateFlags::empty(),
                to_off(offset),
                to_off(length),
            ) {
                Ok(()) => {
                    offset += length;
                    progress.advance(offset - old);
                }
                Err(Errno::EOPNOTSUPP) => {
                    zero_fill(file, offset, target, old, progress)?;
                    return Ok(true);
                }
                Err(errno) => {
                    return Err(FillFailure {
                        offset,
                        length,
                        zero_fill: false,
                        source: errno.into(),
                        cancelled: false,
                    });
                }
            }
        }
        return Ok(false);
    }
    zero_fill(file, offset, target, old, progress)?;
    Ok(false)
}

/// Appends zeros from `offset` (the current end) up to `target`. The file is `O_APPEND`, so
/// each write lands at the end whatever happens around it.
fn zero_fill(
    file: &File,
    mut offset: u64,
    target: u64,
    old: u64,
    progress: &mut dyn Progress,
) -> Result<(), FillFailure> {
    let zeros = vec![0u8; ZERO_CHUNK_BYTES];
    let mut writer = file;
    while offset < target {
        let length = usize::try_from(target - offset)
            .unwrap_or(usize::MAX)
            .min(ZERO_CHUNK_BYTES);
        if progress.cancelled() {
            return Err(FillFailure::cancelled(offset, target - offset, true));
        }
        if let Err(source) = writer.write_all(&zeros[..length]) {
            return Err(FillFailure {
                offset,
                length: target - offset,
                zero_fill: true,
                source,
                cancelled: false,
            });
        }
        offset += length as u64;
        progress.advance(offset - old);
    }
    Ok(())
}

fn io_error(path: &Path, action: &'static str, source: io::Error) -> SparseImgError {
    SparseImgError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_nature() {
        assert_eq!(Nature::of(0, 0), Nature::Sparse);
        assert_eq!(Nature::of(4096, 0), Nature::Sparse);
        assert_eq!(Nature::of(4096, 4096), Nature::Allocated);
        // A 1,500,000-byte file written in full has its last block allocated whole.
        assert_eq!(Nature::of(1_500_000, 1_503_232), Nature::Allocated);
        assert_eq!(Nature::of(1_500_000, 1_499_136), Nature::Sparse);
    }

    /// A fill that failed part-way (here ENOSPC after 3 of 8 bytes) is cut back to the old
    /// size and reported as the typed error.
    #[test]
    fn test_failed_fill_is_cut_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.img");
        std::fs::write(&path, b"old!").unwrap();
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        (&file).write_all(b"zzz").unwrap();
        let failure = FillFailure {
            offset: 7,
            length: 5,
            zero_fill: true,
            source: io::Error::from_raw_os_error(nix::libc::ENOSPC),
            cancelled: false,
        };
        let err = failure.into_error(&file, &path, 4, 12);
        assert!(
            matches!(
                err,
                SparseImgError::NoSpace {
                    needed_bytes: 8,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"old!");

        (&file).write_all(b"zz").unwrap();
        let failure = FillFailure {
            offset: 6,
            length: 6,
            zero_fill: false,
            source: io::Error::from_raw_os_error(nix::libc::EIO),
            cancelled: false,
        };
        let err = failure.into_error(&file, &path, 4, 12);
        assert!(
            matches!(
                err,
                SparseImgError::Allocate {
                    offset_bytes: 6,
                    restored: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("cut back to its old size"));
        assert_eq!(std::fs::read(&path).unwrap(), b"old!");
    }

    #[test]
    fn test_target_is_checked() {
        let p = Path::new("x.img");
        let to = |n| GrowTarget::To(ByteSize::from_bytes(n));
        let by = |n| GrowTarget::By(ByteSize::from_bytes(n));
        assert_eq!(target_bytes(p, 100, to(200)).unwrap(), 200);
        assert_eq!(target_bytes(p, 100, by(1)).unwrap(), 101);
        // `--to` the current size is done already; `--by 0` is refused.
        assert_eq!(target_bytes(p, 100, to(100)).unwrap(), 100);
        assert!(matches!(
            target_bytes(p, 100, to(99)),
            Err(SparseImgError::NotLarger {
                current_bytes: 100,
                target_bytes: 99,
                ..
            })
        ));
        assert!(matches!(
            target_bytes(p, 100, by(0)),
            Err(SparseImgError::NotLarger { .. })
        ));
        assert!(matches!(
            target_bytes(p, 100, to(50)),
            Err(SparseImgError::NotLarger { .. })
        ));
        assert!(matches!(
            target_bytes(p, 100, by(u64::MAX)),
            Err(SparseImgError::SizeOverflow { .. })
        ));
        assert!(matches!(
            target_bytes(p, 100, to(MAX_FILE_BYTES + 1)),
            Err(SparseImgError::SizeOverflow { .. })
        ));
    }
}
