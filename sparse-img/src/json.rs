//! The JSON shapes of the reports (feature `serde`), as `xenadm image ... --json` prints
//! them: sizes in `_bytes` fields, kinds as their short names, derived figures (percentages,
//! overcommit) included so that a reader needs no arithmetic. Field order is part of the
//! format.

use serde::ser::{Serialize, SerializeStruct as _, Serializer};

use crate::error::SparseImgError;
use crate::extents::{ExtentKind, MapSource};
use crate::format::ImageFormat;
use crate::grow::{GrowMethod, GrowReport, Nature};
use crate::loops::LoopMatch;
use crate::usage::{FilesystemUsage, ImageUsage};

/// Serializes an optional error as its message (`null` without one).
pub(crate) fn error_message<S: Serializer>(
    error: &Option<SparseImgError>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match error {
        Some(error) => serializer.collect_str(error),
        None => serializer.serialize_none(),
    }
}

/// Serializes an error as its message.
pub(crate) fn message<S: Serializer>(
    error: &SparseImgError,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(error)
}

/// Enums serialize as their `name()`.
macro_rules! by_name {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }
    )*};
}

by_name!(
    ExtentKind,
    MapSource,
    ImageFormat,
    Nature,
    GrowMethod,
    LoopMatch
);

impl Serialize for GrowReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("GrowReport", 12)?;
        s.serialize_field("path", &self.path)?;
        s.serialize_field("dry_run", &self.dry_run)?;
        s.serialize_field("old_size_bytes", &self.old_size_bytes)?;
        s.serialize_field("new_size_bytes", &self.new_size_bytes)?;
        s.serialize_field("added_bytes", &self.added_bytes())?;
        s.serialize_field("nature", &self.nature)?;
        s.serialize_field("method", &self.method)?;
        s.serialize_field("fallocate_unsupported", &self.fallocate_unsupported)?;
        s.serialize_field("allocated_before_bytes", &self.allocated_before_bytes)?;
        s.serialize_field("allocated_after_bytes", &self.allocated_after_bytes)?;
        s.serialize_field("free_bytes", &self.space.free_bytes)?;
        s.serialize_field("contents", self.contents.describe())?;
        s.end()
    }
}

impl Serialize for ImageUsage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ext = self.extents;
        let mut s = serializer.serialize_struct("ImageUsage", 15)?;
        s.serialize_field("path", &self.path)?;
        s.serialize_field("format", &self.format)?;
        s.serialize_field("size_bytes", &self.size_bytes)?;
        s.serialize_field("virtual_size_bytes", &self.virtual_size_bytes)?;
        s.serialize_field("allocated_bytes", &self.allocated_bytes)?;
        s.serialize_field("allocated_percent", &self.allocated_percent())?;
        s.serialize_field("sparse", &self.is_sparse())?;
        s.serialize_field("could_grow_bytes", &self.could_grow_bytes())?;
        s.serialize_field("map_source", &self.map_source)?;
        s.serialize_field("data_extents", &ext.map(|e| e.data_extents))?;
        s.serialize_field("hole_extents", &ext.map(|e| e.hole_extents))?;
        s.serialize_field("unwritten_extents", &ext.map(|e| e.unwritten_extents))?;
        s.serialize_field("data_bytes", &ext.map(|e| e.data_bytes))?;
        s.serialize_field("hole_bytes", &ext.map(|e| e.hole_bytes))?;
        s.serialize_field("unwritten_bytes", &ext.map(|e| e.unwritten_bytes))?;
        s.end()
    }
}

impl Serialize for FilesystemUsage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("FilesystemUsage", 10)?;
        s.serialize_field("mount_point", &self.mount_point)?;
        s.serialize_field("device", &self.device)?;
        s.serialize_field("total_bytes", &self.space.total_bytes)?;
        s.serialize_field("free_bytes", &self.space.free_bytes)?;
        s.serialize_field("image_count", &self.image_count)?;
        s.serialize_field("size_bytes", &self.size_bytes)?;
        s.serialize_field("allocated_bytes", &self.allocated_bytes)?;
        s.serialize_field("could_grow_bytes", &self.could_grow_bytes)?;
        s.serialize_field("shortfall_bytes", &self.shortfall_bytes())?;
        s.serialize_field("overcommitted", &self.is_overcommitted())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::advice::LoopRefresh;
    use crate::extents::{Extent, ExtentMap, ExtentTotals};
    use crate::format::Contents;
    use crate::fs::FsSpace;
    use crate::grow::{GrowMethod, GrowReport, Nature};
    use crate::grow_image::GrowImageReport;
    use crate::loops::{LoopDevice, LoopMatch};
    use crate::usage::{FilesystemUsage, ImageUsage, Skipped, UsageReport};
    use crate::{ExtentKind, ImageFormat, MapSource, SparseImgError};

    fn space(free_bytes: u64) -> FsSpace {
        FsSpace {
            total_bytes: 3 << 30,
            free_bytes,
            block_size_bytes: 4096,
            read_only: false,
        }
    }

    fn json(value: &impl serde::Serialize) -> String {
        serde_json::to_string_pretty(value).unwrap()
    }

    fn grow_report() -> GrowReport {
        GrowReport {
            path: PathBuf::from("/images/web.img"),
            old_size_bytes: 100 << 20,
            new_size_bytes: 120 << 20,
            nature: Nature::Sparse,
            method: GrowMethod::Truncate,
            fallocate_unsupported: false,
            allocated_before_bytes: 4096,
            allocated_after_bytes: 8192,
            space: space(1 << 30),
            contents: Contents::Ext,
            dry_run: false,
            resumed_at_bytes: Some(1),
        }
    }

    /// The field order and names are `xenadm image grow --json`'s.
    #[test]
    fn test_grow_image_report_shape() {
        let report = GrowImageReport {
            grow: grow_report(),
            loops: Some(vec![LoopRefresh {
                device: PathBuf::from("/dev/loop3"),
                old_size_bytes: 100 << 20,
                new_size_bytes: None,
                expected_size_bytes: 50_000_000,
                capped_by_sizelimit: true,
                sizelimit_bytes: 50_000_000,
                error: Some(SparseImgError::NotFound {
                    path: PathBuf::from("/dev/loop3"),
                }),
            }]),
        };
        assert_eq!(
            json(&report),
            r#"{
  "path": "/images/web.img",
  "dry_run": false,
  "old_size_bytes": 104857600,
  "new_size_bytes": 125829120,
  "added_bytes": 20971520,
  "nature": "sparse",
  "method": "truncate",
  "fallocate_unsupported": false,
  "allocated_before_bytes": 4096,
  "allocated_after_bytes": 8192,
  "free_bytes": 1073741824,
  "contents": "ext2/3/4 filesystem on the whole disk",
  "loops": [
    {
      "device": "/dev/loop3",
      "old_size_bytes": 104857600,
      "new_size_bytes": null,
      "expected_size_bytes": 50000000,
      "capped_by_sizelimit": true,
      "error": "/dev/loop3 does not exist"
    }
  ]
}"#
        );
        let unrefreshed = GrowImageReport {
            grow: grow_report(),
            loops: None,
        };
        assert!(json(&unrefreshed).ends_with("\"loops\": null\n}"));
    }

    #[test]
    fn test_usage_report_shape() {
        let image = |extents: Option<ExtentTotals>| ImageUsage {
            path: PathBuf::from("/images/a.img"),
            format: ImageFormat::Raw,
            size_bytes: 1000,
            virtual_size_bytes: Some(1000),
            allocated_bytes: 250,
            extents,
            map_source: extents.map(|_| MapSource::SeekData),
            device: 7,
            inode: 9,
        };
        let totals = ExtentTotals {
            data_extents: 1,
            hole_extents: 2,
            unwritten_extents: 3,
            data_bytes: 4,
            hole_bytes: 5,
            unwritten_bytes: 6,
        };
        let report = UsageReport {
            images: vec![image(Some(totals)), image(None)],
            filesystems: vec![FilesystemUsage {
                device: 7,
                mount_point: PathBuf::from("/images"),
                space: space(500),
                image_count: 2,
                size_bytes: 2000,
                allocated_bytes: 500,
                could_grow_bytes: 1500,
            }],
            skipped: vec![Skipped {
                path: PathBuf::from("/images/b.img"),
                error: SparseImgError::NotFound {
                    path: PathBuf::from("/images/b.img"),
                },
            }],
        };
        let text = json(&report);
        let with_extents = r#"      "path": "/images/a.img",
      "format": "raw",
      "size_bytes": 1000,
      "virtual_size_bytes": 1000,
      "allocated_bytes": 250,
      "allocated_percent": 25,
      "sparse": true,
      "could_grow_bytes": 750,
      "map_source": "seek_data",
      "data_extents": 1,
      "hole_extents": 2,
      "unwritten_extents": 3,
      "data_bytes": 4,
      "hole_bytes": 5,
      "unwritten_bytes": 6
"#;
        assert!(text.contains(with_extents), "{text}");
        assert!(text.contains(
            r#"      "map_source": null,
      "data_extents": null,
      "hole_extents": null,
      "unwritten_extents": null,
      "data_bytes": null,
      "hole_bytes": null,
      "unwritten_bytes": null
"#
        ));
        assert!(text.contains(
            r#"  "filesystems": [
    {
      "mount_point": "/images",
      "device": 7,
      "total_bytes": 3221225472,
      "free_bytes": 500,
      "image_count": 2,
      "size_bytes": 2000,
      "allocated_bytes": 500,
      "could_grow_bytes": 1500,
      "shortfall_bytes": 1000,
      "overcommitted": true
    }
  ],
  "skipped": [
    {
      "path": "/images/b.img",
      "error": "/images/b.img does not exist"
    }
  ]
}"#
        ));
        assert_eq!(report.size_bytes(), 2000);
        assert_eq!(report.allocated_bytes(), 500);
        assert_eq!(report.allocated_percent(), 25);
    }

    #[test]
    fn test_map_and_loop_device_shapes() {
        let map = ExtentMap {
            size_bytes: 8192,
            source: MapSource::Fiemap,
            extents: vec![
                Extent {
                    offset_bytes: 0,
                    length_bytes: 4096,
                    kind: ExtentKind::Unwritten,
                },
                Extent {
                    offset_bytes: 4096,
                    length_bytes: 4096,
                    kind: ExtentKind::Hole,
                },
            ],
        };
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            r#"{"size_bytes":8192,"source":"fiemap","extents":[{"offset_bytes":0,"length_bytes":4096,"kind":"unwritten"},{"offset_bytes":4096,"length_bytes":4096,"kind":"hole"}]}"#
        );
        let device = LoopDevice {
            device: PathBuf::from("/dev/loop0"),
            number: 0,
            backing_file: PathBuf::from("/images/a.img"),
            backing_device: Some(65024),
            backing_inode: None,
            offset_bytes: 4096,
            sizelimit_bytes: 0,
            size_bytes: 1 << 20,
            read_only: true,
            autoclear: false,
            matched_by: LoopMatch::Path,
        };
        assert_eq!(
            serde_json::to_string(&device).unwrap(),
            r#"{"device":"/dev/loop0","backing_file":"/images/a.img","backing_device":65024,"backing_inode":null,"offset_bytes":4096,"sizelimit_bytes":0,"size_bytes":1048576,"read_only":true,"autoclear":false,"matched_by":"path"}"#
        );
    }
}
