//! Raw disk images, done safely: real usage, extent maps, grow-only resizing and loop-device
//! capacity.
//!
//! A Xen guest on a sparse image gets I/O errors when the host's filesystem fills up, and the
//! usual way to grow an image, `dd if=/dev/zero of=IMG bs=1M count=0 seek=N`, silently
//! *shrinks* it when N is too small. This crate replaces that recipe and its companions
//! (`du`, `filefrag`, `losetup -j`, `losetup -c`):
//!
//! * [`usage`]: per image the apparent size, allocated bytes and data/hole/unwritten extents;
//!   per filesystem the free space and whether the images could outgrow it (overcommit);
//! * [`ExtentMap`]: the extent list, from FIEMAP (which tells fallocated, unwritten ranges
//!   apart) or SEEK_DATA/SEEK_HOLE;
//! * [`grow()`]: grow-only resizing that keeps the image sparse or allocated, never writes below
//!   the old end (taken from `fstat`), checks free space first, refuses qcow2 and other formats
//!   ([`ImageFormat`]), and syncs; a journal next to the image ([`journal_path`]) lets the
//!   next run of the same command finish a growth killed part-way, and a growth cancelled
//!   through [`Progress::cancelled`] is cut back to the old size;
//! * [`loops_for`] and [`refresh_capacity`]: the loop devices an image backs (matched by device
//!   and inode, like `losetup -j`) and `LOOP_SET_CAPACITY`, so a running guest sees the new size;
//! * [`refresh_loops`] and [`guest_steps`]: after a growth, the loop devices refreshed (each
//!   result kept) and what to run in the guest, by what the disk holds ([`Contents`]);
//! * [`grow_image`]: the whole sequence (loop devices looked up, growth, refresh, results per
//!   device in a [`GrowImageReport`]) as `xenadm image grow` runs it, for embedders to extend;
//! * [`ByteSize`]: sizes as dd and qemu-img write them (`16000M`, `20G`, `1TiB`, `500GB`).
//!
//! # Example
//!
//! ```
//! use std::io::Write as _;
//! use sparse_img::{ByteSize, GrowOptions, GrowTarget, GrowMethod, NoProgress, SparseImgError};
//!
//! // A 1 MiB sparse image with some data at its start.
//! let mut image = tempfile::NamedTempFile::new()?;
//! image.write_all(b"guest data")?;
//! image.as_file().set_len(1 << 20)?;
//! let path = image.path();
//!
//! // Shrinking is refused, and the file is left as it was.
//! let shrink = GrowOptions::new(GrowTarget::To("512K".parse()?));
//! let err = sparse_img::grow(path, &shrink, &mut NoProgress).unwrap_err();
//! assert!(matches!(err, SparseImgError::NotLarger { current_bytes: 1048576, .. }));
//!
//! // Growing a sparse image keeps it sparse: one ftruncate, nothing written.
//! let report = sparse_img::grow(path, &GrowOptions::new(GrowTarget::By("1G".parse()?)), &mut NoProgress)?;
//! assert_eq!(report.new_size_bytes, (1 << 20) + (1 << 30));
//! assert_eq!(report.method, GrowMethod::Truncate);
//! assert_eq!(report.allocated_after_bytes, report.allocated_before_bytes);
//! assert_eq!(ByteSize::from_bytes(report.added_bytes()).to_string(), "1 GiB");
//!
//! // Any loop devices backed by it would now be refreshed; here there are none.
//! for device in sparse_img::loops_for(path)? {
//!     sparse_img::refresh_capacity(&device.device)?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The library never prints. Everything it does not know how to do safely is an error
//! ([`SparseImgError`]) naming the file, the sizes and the cause. The only `unsafe` code is the
//! ioctl module (FIEMAP, loop and block-device ioctls, written by hand: no libclang at build
//! time).

#![deny(unsafe_code)]
#![deny(missing_docs)]

mod advice;
mod error;
mod extents;
mod format;
mod fs;
mod grow;
mod grow_image;
mod grow_notes;
#[allow(unsafe_code)]
mod ioctl;
mod journal;
#[cfg(feature = "serde")]
mod json;
mod loops;
mod open;
pub mod render;
mod size;
mod status;
mod usage;

pub use advice::{LoopRefresh, guest_steps, refresh_loops};
pub use error::{FileKind, SizeProblem, SparseImgError};
pub use extents::{Extent, ExtentKind, ExtentMap, ExtentTotals, MapMethod, MapSource};
pub use format::{Contents, ImageFormat, Probe, probe};
pub use fs::{FsSpace, mount_point};
pub use grow::{
    GrowMethod, GrowMode, GrowOptions, GrowReport, GrowTarget, MAX_FILE_BYTES, Nature, NoProgress,
    Progress, grow,
};
pub use grow_image::{GrowImageOptions, GrowImageReport, grow_image};
pub use journal::{JOURNAL_SUFFIX, journal_path};
pub use loops::{
    AttachOptions, AttachedLoop, LoopDevice, LoopMatch, attach, block_device_size_bytes, loops_for,
    refresh_capacity,
};
pub use size::ByteSize;
pub use status::ImagesStatus;
pub use usage::{FilesystemUsage, ImageUsage, Skipped, UsageOptions, UsageReport, usage};
