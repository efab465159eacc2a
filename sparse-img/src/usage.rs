//! Real usage of images, per image and per filesystem, and the overcommit check: can the host
//! hold every image filled to its full size?

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::error::{FileKind, SparseImgError};
use crate::extents::{ExtentMap, ExtentTotals, MapMethod, MapSource};
use crate::format::{ImageFormat, probe};
use crate::fs::{FsSpace, mount_point};
use crate::open::open_image;

/// Options for [`usage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UsageOptions {
    /// Map each image's extents (data, holes, unwritten). Without it only sizes are read,
    /// which is one `fstat` and a few header bytes per image.
    pub extents: bool,
    /// How deep to descend into folders (0: only the files directly in a folder given).
    pub max_depth: usize,
}

impl Default for UsageOptions {
    fn default() -> UsageOptions {
        UsageOptions {
            extents: true,
            max_depth: 4,
        }
    }
}

/// One image's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageUsage {
    /// The image.
    pub path: PathBuf,
    /// Its format.
    pub format: ImageFormat,
    /// Apparent size (`st_size`, `ls -l`, `du --apparent-size`).
    pub size_bytes: u64,
    /// The disk size the guest sees, where known (raw: the file size; qcow2 and others: from
    /// their header).
    pub virtual_size_bytes: Option<u64>,
    /// Allocated bytes (`st_blocks` × 512, what `du` shows): data and unwritten extents.
    pub allocated_bytes: u64,
    /// Extent counts and bytes, when asked for.
    pub extents: Option<ExtentTotals>,
    /// How the extents were mapped.
    pub map_source: Option<MapSource>,
    /// The filesystem's device (`st_dev`).
    pub device: u64,
    /// The inode.
    pub inode: u64,
}

impl ImageUsage {
    /// Allocated bytes as a percentage of the apparent size (0 for an empty file).
    pub fn allocated_percent(&self) -> u64 {
        if self.size_bytes == 0 {
            return 0;
        }
        let percent = u128::from(self.allocated_bytes) * 100 / u128::from(self.size_bytes);
        u64::try_from(percent).unwrap_or(u64::MAX)
    }

    /// Whether fewer bytes are allocated than the file's size.
    pub fn is_sparse(&self) -> bool {
        self.allocated_bytes < self.size_bytes
    }

    /// How much more the image can take from its filesystem if the guest fills its disk:
    /// the virtual size (or apparent size) less what is allocated.
    pub fn could_grow_bytes(&self) -> u64 {
        self.virtual_size_bytes
            .unwrap_or(self.size_bytes)
            .saturating_sub(self.allocated_bytes)
    }
}

/// Usage of one filesystem by the images on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FilesystemUsage {
    /// The filesystem's device (`st_dev`).
    pub device: u64,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Its size and free space.
    pub space: FsSpace,
    /// Images on it.
    pub image_count: u64,
    /// Their apparent sizes, summed.
    pub size_bytes: u64,
    /// Their allocated bytes, summed.
    pub allocated_bytes: u64,
    /// How much they can still grow, summed ([`ImageUsage::could_grow_bytes`]).
    pub could_grow_bytes: u64,
}

impl FilesystemUsage {
    /// How much more space the images need than is free, if every guest fills its disk
    /// (0: they fit).
    pub fn shortfall_bytes(&self) -> u64 {
        self.could_grow_bytes.saturating_sub(self.space.free_bytes)
    }

    /// Whether the images can outgrow the free space (guests would then get I/O errors).
    pub fn is_overcommitted(&self) -> bool {
        self.shortfall_bytes() > 0
    }
}

/// A file inside a folder that could not be measured.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::json::message"))]
    pub error: SparseImgError,
}

/// What [`usage`] found.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct UsageReport {
    /// Every image, in the order given (folders sorted by name), each once even if reached
    /// through several paths or hard links.
    pub images: Vec<ImageUsage>,
    /// The filesystems holding them, in order of first appearance.
    pub filesystems: Vec<FilesystemUsage>,
    /// Files in folders that could not be measured.
    pub skipped: Vec<Skipped>,
}

impl UsageReport {
    /// The images' apparent sizes, summed.
    pub fn size_bytes(&self) -> u64 {
        self.images.iter().map(|i| i.size_bytes).sum()
    }

    /// The images' allocated bytes, summed.
    pub fn allocated_bytes(&self) -> u64 {
        self.images.iter().map(|i| i.allocated_bytes).sum()
    }

    /// Allocated bytes as a percentage of the apparent sizes (0 without any).
    pub fn allocated_percent(&self) -> u64 {
        let size = self.size_bytes();
        if size == 0 {
            return 0;
        }
        let percent = u128::from(self.allocated_bytes()) * 100 / u128::from(size);
        u64::try_from(percent).unwrap_or(u64::MAX)
    }
}

/// Measures the images at `paths`: files, or folders whose regular files (symbolic links to
/// files included, links to folders not followed) are taken as images. A path given that is
/// missing, unreadable or not a file or folder is an error; a file inside a folder that
/// cannot be read is listed in [`UsageReport::skipped`].
pub fn usage(paths: &[PathBuf], options: &UsageOptions) -> Result<UsageReport, SparseImgError> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|e| SparseImgError::from_io(path, "read", e))?;
        if meta.is_dir() {
            collect_folder(path, options.max_depth, &mut files, &mut skipped)?;
        } else if let Some(kind) = FileKind::of(meta.file_type()) {
            return Err(SparseImgError::NotAFile {
                path: path.clone(),
                kind,
            });
        } else {
            files.push((path.clone(), true));
        }
    }

    let mut seen = HashSet::new();
    let mut images = Vec::new();
    for (path, given) in files {
        match measure(&path, options) {
            Ok(image) => {
                if seen.insert((image.device, image.inode)) {
                    images.push(image);
                }
            }
            Err(error) if !given => skipped.push(Skipped { path, error }),
            Err(error) => return Err(error),
        }
    }
    let filesystems = per_filesystem(&images);
    Ok(UsageReport {
        images,
        filesystems,
        skipped,
    })
}

/// Lists the regular files under `folder`, sorted by name, descending `depth` more levels.
fn collect_folder(
    folder: &Path,
    depth: usize,
    files: &mut Vec<(PathBuf, bool)>,
    skipped: &mut Vec<Skipped>,
) -> Result<(), SparseImgError> {
    let entries = fs::read_dir(folder).map_err(|e| SparseImgError::from_io(folder, "list", e))?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if depth > 0
                && let Err(error) = collect_folder(&path, depth - 1, files, skipped)
            {
                skipped.push(Skipped { path, error });
            }
        } else if file_type.is_file()
            || (file_type.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_file()))
        {
            files.push((path, false));
        }
    }
    Ok(())
}

fn measure(path: &Path, options: &UsageOptions) -> Result<ImageUsage, SparseImgError> {
    let (file, meta) = open_image(path, false)?;
    let found = probe(&file, meta.size(), path).map_err(|source| SparseImgError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    })?;
    let map = if options.extents {
        Some(
            ExtentMap::of_file(&file, meta.size(), MapMethod::Auto).map_err(|source| {
                SparseImgError::Io {
                    path: path.to_path_buf(),
                    action: "map the extents of",
                    source,
                }
            })?,
        )
    } else {
        None
    };
    Ok(ImageUsage {
        path: path.to_path_buf(),
        format: found.format,
        size_bytes: meta.size(),
        virtual_size_bytes: found.virtual_size_bytes,
        allocated_bytes: meta.blocks().saturating_mul(512),
        extents: map.as_ref().map(ExtentMap::totals),
        map_source: map.as_ref().map(|m| m.source),
        device: meta.dev(),
        inode: meta.ino(),
    })
}

fn per_filesystem(images: &[ImageUsage]) -> Vec<FilesystemUsage> {
    let mut order = Vec::new();
    let mut by_device: BTreeMap<u64, FilesystemUsage> = BTreeMap::new();
    for image in images {
        let fs = by_device.entry(image.device).or_insert_with(|| {
            order.push(image.device);
            let parent = image.path.parent().unwrap_or(Path::new("."));
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            FilesystemUsage {
                device: image.device,
                mount_point: mount_point(parent),
                space: FsSpace::of_path(&image.path).unwrap_or(FsSpace {
                    total_bytes: 0,
                    free_bytes: 0,
                    block_size_bytes: 0,
                    read_only: false,
                }),
                image_count: 0,
                size_bytes: 0,
                allocated_bytes: 0,
                could_grow_bytes: 0,
            }
        });
        fs.image_count += 1;
        fs.size_bytes = fs.size_bytes.saturating_add(image.size_bytes);
        fs.allocated_bytes = fs.allocated_bytes.saturating_add(image.allocated_bytes);
        fs.could_grow_bytes = fs.could_grow_bytes.saturating_add(image.could_grow_bytes());
    }
    order
        .into_iter()
        .filter_map(|dev| by_device.remove(&dev))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(size: u64, allocated: u64, virtual_size: Option<u64>) -> ImageUsage {
        ImageUsage {
            path: PathBuf::from("/i/a.img"),
            format: ImageFormat::Raw,
            size_bytes: size,
            virtual_size_bytes: virtual_size,
            allocated_bytes: allocated,
            extents: None,
            map_source: None,
            device: 1,
            inode: 2,
        }
    }

    #[test]
    fn test_image_arithmetic() {
        let sparse = image(100, 25, Some(100));
        assert_eq!(sparse.allocated_percent(), 25);
        assert!(sparse.is_sparse());
        assert_eq!(sparse.could_grow_bytes(), 75);
        let qcow2 = image(10, 8, Some(1000));
        assert_eq!(qcow2.could_grow_bytes(), 992);
        // Preallocated past its size (e.g. XFS speculative preallocation).
        let over = image(100, 120, None);
        assert_eq!(over.could_grow_bytes(), 0);
        assert!(!over.is_sparse());
        assert_eq!(image(0, 0, None).allocated_percent(), 0);
    }

    #[test]
    fn test_shortfall() {
        let mut fs = FilesystemUsage {
            device: 1,
            mount_point: PathBuf::from("/"),
            space: FsSpace {
                total_bytes: 1000,
                free_bytes: 100,
                block_size_bytes: 4096,
                read_only: false,
            },
            image_count: 2,
            size_bytes: 500,
            allocated_bytes: 280,
            could_grow_bytes: 220,
        };
        assert_eq!(fs.shortfall_bytes(), 120);
        assert!(fs.is_overcommitted());
        fs.could_grow_bytes = 100;
        assert!(!fs.is_overcommitted());
    }
}
