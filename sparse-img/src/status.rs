//! A folder of images in brief, for a host overview (`xenadm status`): how many, their
//! apparent and allocated totals, and per filesystem its free space and overcommit.

use std::path::{Path, PathBuf};

use crate::render::{human, overcommit_line};
use crate::usage::{FilesystemUsage, UsageOptions, UsageReport, usage};

/// The images of a folder in brief. Reading never fails: when the folder cannot be read,
/// [`ImagesStatus::reason`] says why.
///
/// With the `serde` feature it serializes with `folder`, `available`, `reason`,
/// `image_count`, `size_bytes`, `allocated_bytes` and `filesystems`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ImagesStatus {
    /// The folder.
    pub folder: PathBuf,
    /// Whether it could be read.
    pub available: bool,
    /// Why not, when it could not.
    pub reason: Option<String>,
    /// Images found.
    pub image_count: u64,
    /// Their apparent sizes, summed.
    pub size_bytes: u64,
    /// Their allocated bytes, summed.
    pub allocated_bytes: u64,
    /// The filesystems holding them.
    pub filesystems: Vec<FilesystemUsage>,
}

impl ImagesStatus {
    /// Measures the images below `folder` (sizes only, no extent maps).
    pub fn read(folder: &Path) -> ImagesStatus {
        let options = UsageOptions {
            extents: false,
            ..UsageOptions::default()
        };
        match usage(&[folder.to_path_buf()], &options) {
            Ok(report) => ImagesStatus::of(folder, &report),
            Err(err) => ImagesStatus {
                folder: folder.to_path_buf(),
                available: false,
                reason: Some(err.to_string()),
                image_count: 0,
                size_bytes: 0,
                allocated_bytes: 0,
                filesystems: Vec::new(),
            },
        }
    }

    /// The brief of a [`usage`] report of `folder`.
    pub fn of(folder: &Path, report: &UsageReport) -> ImagesStatus {
        ImagesStatus {
            folder: folder.to_path_buf(),
            available: true,
            reason: None,
            image_count: report.images.len() as u64,
            size_bytes: report.size_bytes(),
            allocated_bytes: report.allocated_bytes(),
            filesystems: report.filesystems.clone(),
        }
    }

    /// The status lines, label and value.
    pub fn rows(&self) -> Vec<(String, String)> {
        let row = |label: &str, value: String| (label.to_string(), value);
        let mut rows = vec![row("folder", self.folder.display().to_string())];
        if let Some(reason) = &self.reason {
            rows.push(row("images", format!("unavailable: {reason}")));
            return rows;
        }
        rows.push(row(
            "images",
            if self.image_count == 0 {
                "none".to_string()
            } else {
                let percent = if self.size_bytes == 0 {
                    0
                } else {
                    u128::from(self.allocated_bytes) * 100 / u128::from(self.size_bytes)
                };
                format!(
                    "{}: {} apparent, {} allocated ({percent}%)",
                    self.image_count,
                    human(self.size_bytes),
                    human(self.allocated_bytes)
                )
            },
        ));
        for fs in &self.filesystems {
            rows.push(row(
                "filesystem",
                format!(
                    "{}: {} free of {}; the images could grow by {}",
                    fs.mount_point.display(),
                    human(fs.space.free_bytes),
                    human(fs.space.total_bytes),
                    human(fs.could_grow_bytes)
                ),
            ));
            rows.push(row(
                "overcommit",
                if fs.is_overcommitted() {
                    overcommit_line(fs.shortfall_bytes(), &fs.mount_point)
                } else {
                    "none: every guest can fill its disk".to_string()
                },
            ));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(rows: &[(String, String)], label: &str) -> String {
        rows.iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
            .unwrap()
    }

    /// A folder of images (the real default folder may not exist here).
    #[test]
    fn test_rows_totals_and_overcommit() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.img", "b.img"] {
            let f = std::fs::File::create(dir.path().join(name)).unwrap();
            f.set_len(8 << 40).unwrap();
        }
        let status = ImagesStatus::read(dir.path());
        let rows = status.rows();
        assert_eq!(value(&rows, "folder"), dir.path().display().to_string());
        assert_eq!(
            value(&rows, "images"),
            "2: 16 TiB apparent, 0 B allocated (0%)"
        );
        assert!(value(&rows, "filesystem").contains("the images could grow by 16 TiB"));
        assert!(value(&rows, "overcommit").starts_with("if these guests fill their disks"));
        assert_eq!(status.image_count, 2);
        assert!(status.available && status.filesystems[0].is_overcommitted());
    }

    #[test]
    fn test_an_unreadable_folder_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let status = ImagesStatus::read(&missing);
        assert!(!status.available);
        let rows = status.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1].1,
            format!("unavailable: {} does not exist", missing.display())
        );
        let empty = ImagesStatus::read(dir.path());
        assert_eq!(value(&empty.rows(), "images"), "none");
    }
}
