//! The whole of growing an image that guests use: its loop devices looked up first, the
//! growth itself ([`grow`]), then every loop device refreshed and its result kept, and what the
//! guest should do next, by what the disk holds. This is `xenadm image grow`'s sequence, for
//! any caller: a Xen-aware one (online resize through xenstore or QMP) runs it and adds its
//! own per-domain results next to the per-device ones.

use std::path::Path;

use crate::advice::{LoopRefresh, guest_steps, refresh_loops};
use crate::error::SparseImgError;
use crate::grow::{GrowMethod, GrowOptions, GrowReport, Progress, grow};
use crate::loops::loops_for;

/// Options for [`grow_image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GrowImageOptions {
    /// The growth itself (target, mode, dry run, raw check).
    pub grow: GrowOptions,
    /// Refresh the loop devices backed by the image (`losetup -c`) so that a running guest
    /// sees the new size. Without it they are neither looked up nor touched.
    pub refresh_loops: bool,
}

impl GrowImageOptions {
    /// Grow with `grow`, then refresh the loop devices.
    pub fn new(grow: GrowOptions) -> GrowImageOptions {
        GrowImageOptions {
            grow,
            refresh_loops: true,
        }
    }
}

/// What [`grow_image`] did (or, on a dry run, would do).
///
/// With the `serde` feature it serializes as the growth's fields ([`GrowReport`]) followed by
/// `loops` (`null` when they were not refreshed).
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct GrowImageReport {
    /// The growth.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub grow: GrowReport,
    /// One entry per loop device backed by the image, in device order; `None` when
    /// [`GrowImageOptions::refresh_loops`] was off. A device that failed to refresh carries
    /// its error here (every device is tried).
    pub loops: Option<Vec<LoopRefresh>>,
}

impl GrowImageReport {
    /// What to run in the guest, in order, so that its partition and filesystem use the new
    /// space ([`guest_steps`] for what the disk holds).
    pub fn guest_steps(&self) -> Vec<&'static str> {
        guest_steps(self.grow.contents, self.grow.new_size_bytes)
    }

    /// Takes the loop devices' errors out of the report, in device order (the entries stay,
    /// without their error).
    pub fn take_loop_errors(&mut self) -> Vec<SparseImgError> {
        self.loops
            .iter_mut()
            .flatten()
            .filter_map(|entry| entry.error.take())
            .collect()
    }
}

/// Grows the raw image at `path` and lets the loop devices backed by it see the new size:
///
/// 1. its loop devices are looked up first ([`crate::loops_for`]), so that a failure to find
///    them stops the command before the file changes;
/// 2. the image grows ([`grow`], with all its rules: grow only, journal, fsync; `progress`
///    sees the allocation and may cancel it);
/// 3. [`Progress::grown`] is called: the growth is final from here on;
/// 4. each loop device is refreshed (`LOOP_SET_CAPACITY`, read back with `BLKGETSIZE64`), or
///    on a dry run only told what it would show; a device's failure is kept in its entry.
///
/// ```
/// use sparse_img::{GrowImageOptions, GrowOptions, GrowTarget, NoProgress, grow_image};
///
/// let image = tempfile::NamedTempFile::new()?;
/// image.as_file().set_len(1 << 20)?;
/// let options = GrowImageOptions::new(GrowOptions::new(GrowTarget::By("1M".parse()?)));
/// let report = grow_image(image.path(), &options, &mut NoProgress)?;
/// assert_eq!(report.grow.new_size_bytes, 2 << 20);
/// assert_eq!(report.loops.as_deref().map(<[_]>::len), Some(0)); // no loop device uses it
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn grow_image(
    path: &Path,
    options: &GrowImageOptions,
    progress: &mut dyn Progress,
) -> Result<GrowImageReport, SparseImgError> {
    let devices = if options.refresh_loops {
        Some(loops_for(path)?)
    } else {
        None
    };
    let grow = grow(path, &options.grow, progress)?;
    progress.grown(&grow);
    let loops = devices
        .as_deref()
        .map(|devices| refresh_loops(devices, grow.new_size_bytes, grow.dry_run));
    Ok(GrowImageReport { grow, loops })
}

impl GrowReport {
    /// After a sparse growth (`ftruncate`): how much more the image can take as its guest
    /// writes, when that is more than its filesystem has free (the guest would then get I/O
    /// errors if it filled its disk). `None` when the space is there, or was reserved.
    pub fn overcommit_bytes(&self) -> Option<u64> {
        if self.method != GrowMethod::Truncate {
            return None;
        }
        let could_grow = self
            .new_size_bytes
            .saturating_sub(self.allocated_after_bytes);
        (could_grow > self.space.free_bytes).then_some(could_grow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grow::{GrowMode, GrowTarget, NoProgress};
    use crate::size::ByteSize;

    fn image(len: u64) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(len).unwrap();
        file
    }

    fn options(by: u64) -> GrowImageOptions {
        let mut grow = GrowOptions::new(GrowTarget::By(ByteSize::from_bytes(by)));
        grow.mode = GrowMode::Sparse;
        GrowImageOptions::new(grow)
    }

    /// Records the calls the sequence makes.
    #[derive(Default)]
    struct Calls(Vec<u64>);

    impl Progress for Calls {
        fn grown(&mut self, report: &GrowReport) {
            self.0.push(report.new_size_bytes);
        }
    }

    #[test]
    fn test_grows_then_reports_loops_and_calls_grown_once() {
        let file = image(1 << 20);
        let mut calls = Calls::default();
        let report = grow_image(file.path(), &options(1 << 20), &mut calls).unwrap();
        assert_eq!(file.as_file().metadata().unwrap().len(), 2 << 20);
        assert_eq!(calls.0, [2 << 20]);
        assert!(report.loops.as_ref().is_some_and(Vec::is_empty));
        assert_eq!(report.guest_steps().len(), 1);
    }

    #[test]
    fn test_without_refresh_the_loops_are_not_looked_up() {
        let file = image(1 << 20);
        let mut options = options(4096);
        options.refresh_loops = false;
        let mut report = grow_image(file.path(), &options, &mut NoProgress).unwrap();
        assert!(report.loops.is_none());
        assert!(report.take_loop_errors().is_empty());
    }

    #[test]
    fn test_a_refused_growth_does_not_call_grown() {
        let file = image(1 << 20);
        let mut grow = GrowOptions::new(GrowTarget::To(ByteSize::from_bytes(4096)));
        grow.mode = GrowMode::Sparse;
        let mut calls = Calls::default();
        let err = grow_image(file.path(), &GrowImageOptions::new(grow), &mut calls).unwrap_err();
        assert!(matches!(err, SparseImgError::NotLarger { .. }), "{err:?}");
        assert!(calls.0.is_empty());
    }

    #[test]
    fn test_a_missing_image_fails_before_anything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.img");
        let err = grow_image(&path, &options(1), &mut NoProgress).unwrap_err();
        assert!(matches!(err, SparseImgError::NotFound { .. }), "{err:?}");
        assert!(!path.exists());
    }

    #[test]
    fn test_overcommit_only_for_sparse_growth_beyond_free_space() {
        let file = image(1 << 20);
        let mut options = options(1 << 20);
        options.grow.dry_run = true;
        let mut report = grow_image(file.path(), &options, &mut NoProgress)
            .unwrap()
            .grow;
        report.space.free_bytes = (2 << 20) - 1;
        assert_eq!(report.overcommit_bytes(), Some(2 << 20));
        report.space.free_bytes = 2 << 20;
        assert_eq!(report.overcommit_bytes(), None);
        report.space.free_bytes = 0;
        report.method = GrowMethod::Fallocate;
        assert_eq!(report.overcommit_bytes(), None);
    }
}
