//! Extent maps: which byte ranges of a file hold data, are holes, or are allocated but
//! unwritten (fallocate).
//!
//! FIEMAP tells all three; SEEK_DATA/SEEK_HOLE only data and holes (an unwritten range reads
//! as a hole there on ext4 and XFS, which is why `du` and SEEK_DATA disagree about fallocated
//! space). [`MapMethod::Auto`] uses FIEMAP and falls back to SEEK_DATA where the filesystem has
//! no FIEMAP (tmpfs, NFS, ...).

use std::fs::File;
use std::io;
use std::os::fd::AsFd as _;
use std::path::Path;

use nix::errno::Errno;
use nix::unistd::{Whence, lseek};

use crate::error::SparseImgError;
use crate::ioctl::{self, FIEMAP_EXTENT_LAST, FIEMAP_EXTENT_UNWRITTEN, FIEMAP_FLAG_SYNC};
use crate::open::open_image;

/// What a range of a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtentKind {
    /// Written data (also data not yet written back, and inline data).
    Data,
    /// A hole: no blocks; reads as zeros.
    Hole,
    /// Blocks allocated (fallocate) but never written: reads as zeros, counts as used.
    Unwritten,
}

impl ExtentKind {
    /// `data`, `hole` or `unwritten`.
    pub fn name(self) -> &'static str {
        match self {
            ExtentKind::Data => "data",
            ExtentKind::Hole => "hole",
            ExtentKind::Unwritten => "unwritten",
        }
    }
}

impl std::fmt::Display for ExtentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One range of a file. Neighbouring ranges of the same kind are merged, so a data range
/// that is physically fragmented is one extent here (filefrag counts its pieces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Extent {
    /// Where it starts in the file.
    pub offset_bytes: u64,
    /// How long it is (> 0).
    pub length_bytes: u64,
    /// What it is.
    pub kind: ExtentKind,
}

impl Extent {
    /// Where it ends (exclusive).
    pub fn end_bytes(&self) -> u64 {
        self.offset_bytes + self.length_bytes
    }
}

/// How to map a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MapMethod {
    /// FIEMAP, or SEEK_DATA/SEEK_HOLE where the filesystem has no FIEMAP.
    #[default]
    Auto,
    /// FIEMAP only (an error where unsupported).
    Fiemap,
    /// SEEK_DATA/SEEK_HOLE only: no unwritten ranges.
    SeekData,
}

/// Which method produced a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MapSource {
    /// The FS_IOC_FIEMAP ioctl.
    Fiemap,
    /// lseek with SEEK_DATA and SEEK_HOLE.
    SeekData,
}

impl MapSource {
    /// `fiemap` or `seek_data`.
    pub fn name(self) -> &'static str {
        match self {
            MapSource::Fiemap => "fiemap",
            MapSource::SeekData => "seek_data",
        }
    }
}

/// Counts and byte totals per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ExtentTotals {
    /// Data extents.
    pub data_extents: u64,
    /// Holes.
    pub hole_extents: u64,
    /// Unwritten extents.
    pub unwritten_extents: u64,
    /// Bytes of data.
    pub data_bytes: u64,
    /// Bytes in holes.
    pub hole_bytes: u64,
    /// Bytes allocated but unwritten.
    pub unwritten_bytes: u64,
}

/// A file's extents, from offset 0 to its size, without gaps.
///
/// ```
/// use std::io::{Seek, SeekFrom, Write};
/// use sparse_img::{ExtentKind, ExtentMap};
///
/// let mut file = tempfile::NamedTempFile::new()?;
/// file.as_file().set_len(1 << 20)?;                 // 1 MiB hole
/// file.seek(SeekFrom::Start(64 << 10))?;
/// file.write_all(&[0xab; 4096])?;                   // 4 KiB of data at 64 KiB
/// let map = ExtentMap::read(file.path())?;
/// assert_eq!(map.size_bytes, 1 << 20);
/// assert!(map.extents.iter().any(|e| e.kind == ExtentKind::Data && e.offset_bytes == 64 << 10));
/// assert_eq!(map.totals().data_bytes, 4096);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ExtentMap {
    /// The file's size when it was mapped.
    pub size_bytes: u64,
    /// How the map was made.
    pub source: MapSource,
    /// The extents in file order; they cover `[0, size_bytes)` exactly.
    pub extents: Vec<Extent>,
}

impl ExtentMap {
    /// Maps the file at `path` with [`MapMethod::Auto`].
    pub fn read(path: &Path) -> Result<ExtentMap, SparseImgError> {
        ExtentMap::read_with(path, MapMethod::Auto)
    }

    /// Maps the file at `path` with the given method.
    pub fn read_with(path: &Path, method: MapMethod) -> Result<ExtentMap, SparseImgError> {
        let (file, meta) = open_image(path, false)?;
        ExtentMap::of_file(&file, std::os::unix::fs::MetadataExt::size(&meta), method).map_err(
            |source| SparseImgError::Io {
                path: path.to_path_buf(),
                action: "map the extents of",
                source,
            },
        )
    }

    /// Maps an open file of `size_bytes` bytes.
    pub fn of_file(file: &File, size_bytes: u64, method: MapMethod) -> io::Result<ExtentMap> {
        match method {
            MapMethod::SeekData => seek_map(file, size_bytes),
            MapMethod::Fiemap => fiemap_map(file, size_bytes),
            MapMethod::Auto => match fiemap_map(file, size_bytes) {
                Err(e) if fiemap_unsupported(&e) => seek_map(file, size_bytes),
                other => other,
            },
        }
    }

    /// Counts and bytes per kind.
    pub fn totals(&self) -> ExtentTotals {
        let mut totals = ExtentTotals::default();
        for extent in &self.extents {
            let (count, bytes) = match extent.kind {
                ExtentKind::Data => (&mut totals.data_extents, &mut totals.data_bytes),
                ExtentKind::Hole => (&mut totals.hole_extents, &mut totals.hole_bytes),
                ExtentKind::Unwritten => {
                    (&mut totals.unwritten_extents, &mut totals.unwritten_bytes)
                }
            };
            *count += 1;
            *bytes += extent.length_bytes;
        }
        totals
    }
}

fn fiemap_unsupported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(nix::libc::EOPNOTSUPP | nix::libc::ENOTTY | nix::libc::ENOSYS)
    )
}

/// Builds a gap-free, merged extent list.
struct Builder {
    size: u64,
    pos: u64,
    extents: Vec<Extent>,
}

impl Builder {
    fn new(size: u64) -> Builder {
        Builder {
            size,
            pos: 0,
            extents: Vec::new(),
        }
    }

    /// Adds `[offset, offset + length)` (clipped to the file size), with a hole before it
    /// if there is a gap.
    fn push(&mut self, offset: u64, length: u64, kind: ExtentKind) {
        let start = offset.max(self.pos);
        let end = offset.saturating_add(length).min(self.size);
        if end <= start {
            return;
        }
        if start > self.pos {
            self.append(self.pos, start, ExtentKind::Hole);
        }
        self.append(start, end, kind);
    }

    fn append(&mut self, start: u64, end: u64, kind: ExtentKind) {
        match self.extents.last_mut() {
            Some(last) if last.kind == kind && last.end_bytes() == start => {
                last.length_bytes = end - last.offset_bytes;
            }
            _ => self.extents.push(Extent {
                offset_bytes: start,
                length_bytes: end - start,
                kind,
            }),
        }
        self.pos = end;
    }

    fn finish(mut self, source: MapSource) -> ExtentMap {
        if self.pos < self.size {
            self.append(self.pos, self.size, ExtentKind::Hole);
        }
        ExtentMap {
            size_bytes: self.size,
            source,
            extents: self.extents,
        }
    }
}

fn fiemap_map(file: &File, size: u64) -> io::Result<ExtentMap> {
    let mut builder = Builder::new(size);
    let mut request = ioctl::FiemapRequest::new();
    let mut start = 0u64;
    let mut flags = FIEMAP_FLAG_SYNC;
    while start < size {
        let extents = ioctl::fiemap(file, &mut request, start, size - start, flags)?;
        // Writing back once is enough.
        flags = 0;
        let Some(last) = extents.last() else {
            break;
        };
        let next = last.fe_logical.saturating_add(last.fe_length);
        let done = last.fe_flags & FIEMAP_EXTENT_LAST != 0;
        for extent in extents {
            let kind = if extent.fe_flags & FIEMAP_EXTENT_UNWRITTEN != 0 {
                ExtentKind::Unwritten
            } else {
                ExtentKind::Data
            };
            builder.push(extent.fe_logical, extent.fe_length, kind);
        }
        if done || next <= start {
            break;
        }
        start = next;
    }
    Ok(builder.finish(MapSource::Fiemap))
}

fn seek_map(file: &File, size: u64) -> io::Result<ExtentMap> {
    let mut builder = Builder::new(size);
    let to_off = |v: u64| i64::try_from(v).map_err(io::Error::other);
    let to_u64 = |v: i64| u64::try_from(v).map_err(io::Error::other);
    let mut pos = 0u64;
    while pos < size {
        let data = match lseek(file.as_fd(), to_off(pos)?, Whence::SeekData) {
            Ok(data) => to_u64(data)?,
            Err(Errno::ENXIO) => break,
            Err(Errno::EINVAL) if pos == 0 => {
                // No SEEK_DATA on this filesystem: all of it counts as data.
                builder.push(0, size, ExtentKind::Data);
                break;
            }
            Err(e) => return Err(e.into()),
        };
        let hole = to_u64(lseek(file.as_fd(), to_off(data)?, Whence::SeekHole)?)?;
        builder.push(data, hole.saturating_sub(data), ExtentKind::Data);
        if hole <= pos {
            break;
        }
        pos = hole;
    }
    Ok(builder.finish(MapSource::SeekData))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(offset_bytes: u64, length_bytes: u64, kind: ExtentKind) -> Extent {
        Extent {
            offset_bytes,
            length_bytes,
            kind,
        }
    }

    #[test]
    fn test_builder_fills_gaps_merges_and_clips() {
        let mut b = Builder::new(100);
        b.push(10, 10, ExtentKind::Data);
        b.push(20, 5, ExtentKind::Data);
        b.push(30, 10, ExtentKind::Unwritten);
        b.push(90, 50, ExtentKind::Data);
        let map = b.finish(MapSource::Fiemap);
        assert_eq!(
            map.extents,
            vec![
                ext(0, 10, ExtentKind::Hole),
                ext(10, 15, ExtentKind::Data),
                ext(25, 5, ExtentKind::Hole),
                ext(30, 10, ExtentKind::Unwritten),
                ext(40, 50, ExtentKind::Hole),
                ext(90, 10, ExtentKind::Data),
            ]
        );
        let t = map.totals();
        assert_eq!((t.data_extents, t.data_bytes), (2, 25));
        assert_eq!((t.hole_extents, t.hole_bytes), (3, 65));
        assert_eq!((t.unwritten_extents, t.unwritten_bytes), (1, 10));
    }

    #[test]
    fn test_builder_empty_and_all_hole() {
        assert!(
            Builder::new(0)
                .finish(MapSource::SeekData)
                .extents
                .is_empty()
        );
        let map = Builder::new(5).finish(MapSource::SeekData);
        assert_eq!(map.extents, vec![ext(0, 5, ExtentKind::Hole)]);
    }

    #[test]
    fn test_builder_ignores_overlap_and_beyond_eof() {
        let mut b = Builder::new(50);
        b.push(0, 30, ExtentKind::Data);
        b.push(10, 10, ExtentKind::Unwritten);
        b.push(60, 10, ExtentKind::Data);
        let map = b.finish(MapSource::Fiemap);
        assert_eq!(
            map.extents,
            vec![ext(0, 30, ExtentKind::Data), ext(30, 20, ExtentKind::Hole)]
        );
    }
}
