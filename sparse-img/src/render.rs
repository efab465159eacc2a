//! xenadm's text for the reports: `xenadm image usage`, `map` and `grow` print these, and any
//! tool that wants the same words can (the JSON shapes are the `serde` feature's).

use std::fmt::Write as _;
use std::path::Path;

use text_table::columns;

use crate::extents::ExtentMap;
use crate::grow::GrowMethod;
use crate::grow_image::GrowImageReport;
use crate::size::ByteSize;
use crate::usage::UsageReport;

pub use crate::grow_notes::{
    grow_loop_warnings, grow_next_steps, grow_overcommit_warning, grow_resume_note,
};

/// A (label, value) row of the grow report.
fn row(label: &str, value: String) -> (String, String) {
    (label.to_string(), value)
}

/// `16 GiB`
pub fn human(bytes: u64) -> String {
    ByteSize::from_bytes(bytes).to_string()
}

/// The overcommit sentence for a filesystem: the `shortfall_bytes` the host lacks on the
/// filesystem mounted at `mount_point` if every guest fills its disk.
pub fn overcommit_line(shortfall_bytes: u64, mount_point: &Path) -> String {
    format!(
        "if these guests fill their disks the host needs {} more than it has on {}: they will get I/O errors",
        human(shortfall_bytes),
        mount_point.display()
    )
}

/// `xenadm image usage`: a table of the images, a table of their filesystems, and a line per
/// filesystem on whether the images fit if every guest fills its disk.
pub fn usage_text(report: &UsageReport) -> String {
    let mut text = String::new();
    if report.images.is_empty() {
        text.push_str("no images found\n");
        return text;
    }
    let mut rows = vec![
        [
            "IMAGE",
            "FORMAT",
            "SIZE",
            "VIRTUAL",
            "ALLOCATED",
            "%",
            "SPARSE",
            "DATA",
            "HOLES",
            "UNWRITTEN",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let count = |n: Option<u64>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
    for image in &report.images {
        let ext = image.extents;
        rows.push(vec![
            image.path.display().to_string(),
            image.format.name().to_string(),
            human(image.size_bytes),
            image
                .virtual_size_bytes
                .map_or_else(|| "?".to_string(), human),
            human(image.allocated_bytes),
            format!("{}%", image.allocated_percent()),
            if image.is_sparse() { "yes" } else { "no" }.to_string(),
            count(ext.map(|e| e.data_extents)),
            count(ext.map(|e| e.hole_extents)),
            count(ext.map(|e| e.unwritten_extents)),
        ]);
    }
    text.push_str(&columns(&rows));
    text.push('\n');
    let mut rows = vec![
        [
            "FILESYSTEM",
            "SIZE",
            "FREE",
            "IMAGES",
            "ALLOCATED",
            "COULD GROW",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for fs in &report.filesystems {
        rows.push(vec![
            fs.mount_point.display().to_string(),
            human(fs.space.total_bytes),
            human(fs.space.free_bytes),
            fs.image_count.to_string(),
            human(fs.allocated_bytes),
            human(fs.could_grow_bytes),
        ]);
    }
    text.push_str(&columns(&rows));
    for fs in &report.filesystems {
        if fs.is_overcommitted() {
            let _ = writeln!(
                text,
                "overcommitted: {}",
                overcommit_line(fs.shortfall_bytes(), &fs.mount_point)
            );
        } else {
            let _ = writeln!(
                text,
                "{}: the images fit even if every guest fills its disk ({} to spare)",
                fs.mount_point.display(),
                human(fs.space.free_bytes - fs.could_grow_bytes)
            );
        }
    }
    text
}

/// Text chunks of at most about this many bytes are handed to `emit`.
const MAP_CHUNK_BYTES: usize = 64 << 10;

/// `xenadm image map`: a summary line, then one line per extent in aligned columns, handed to
/// `emit` in chunks (a map can have hundreds of thousands of lines: no need to hold them all);
/// the first error of `emit` ends it.
pub fn map_text<E>(
    path: &Path,
    map: &ExtentMap,
    mut emit: impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    let t = map.totals();
    let mut text = String::with_capacity(MAP_CHUNK_BYTES + 256);
    let _ = writeln!(
        text,
        "{}: {} ({} bytes) from {}: data {} in {}, holes {} in {}, unwritten {} in {}",
        path.display(),
        human(map.size_bytes),
        map.size_bytes,
        map.source.name(),
        human(t.data_bytes),
        extents(t.data_extents),
        human(t.hole_bytes),
        extents(t.hole_extents),
        human(t.unwritten_bytes),
        extents(t.unwritten_extents),
    );
    let width = map.size_bytes.to_string().len().max("OFFSET".len());
    let _ = writeln!(text, "{:<width$}  {:<width$}  KIND", "OFFSET", "LENGTH");
    for e in &map.extents {
        let _ = writeln!(
            text,
            "{:<width$}  {:<width$}  {}",
            e.offset_bytes,
            e.length_bytes,
            e.kind.name()
        );
        if text.len() >= MAP_CHUNK_BYTES {
            emit(&text)?;
            text.clear();
        }
    }
    emit(&text)
}

/// `1 extent`, `2 extents`.
fn extents(count: u64) -> String {
    if count == 1 {
        "1 extent".to_string()
    } else {
        format!("{count} extents")
    }
}

/// `xenadm image grow`: what was done (or would be, on a dry run) to the image and each loop
/// device, then `steps`, numbered, under "next, in the guest:".
pub fn grow_text(image: &GrowImageReport, steps: &[String]) -> String {
    let (report, loops) = (&image.grow, image.loops.as_deref());
    let mut text = String::new();
    let verb = if report.dry_run { "would grow" } else { "grew" };
    let unchanged = report.old_size_bytes == report.new_size_bytes;
    if unchanged {
        let _ = writeln!(
            text,
            "{} is already {} ({} bytes): nothing to do",
            report.path.display(),
            human(report.new_size_bytes),
            report.new_size_bytes
        );
    } else {
        let _ = writeln!(
            text,
            "{verb} {} from {} to {} (+{}){}",
            report.path.display(),
            human(report.old_size_bytes),
            human(report.new_size_bytes),
            human(report.added_bytes()),
            if report.dry_run {
                ": dry run, nothing changed"
            } else {
                ""
            }
        );
    }
    let how = match (report.method, report.fallocate_unsupported, report.dry_run) {
        _ if unchanged => "none: the file already has that size",
        (GrowMethod::Truncate, _, _) => {
            "sparse: ftruncate, the new range is a hole (nothing written)"
        }
        (GrowMethod::Fallocate, _, _) => {
            "allocated: fallocate, the new range is reserved (unwritten, reads as zeros)"
        }
        (_, true, true) => {
            "allocated: the file cannot have fallocate here (no extents: ext2/ext3), zeros would be written at the end"
        }
        (_, true, false) => {
            "allocated: the filesystem has no fallocate, zeros were written at the end"
        }
        (_, false, true) => "allocated: zeros would be written at the end",
        _ => "allocated: zeros written at the end",
    };
    let mut rows = vec![
        row(
            "size",
            format!(
                "{} -> {} bytes",
                report.old_size_bytes, report.new_size_bytes
            ),
        ),
        row("image was", report.nature.name().to_string()),
        row("method", how.to_string()),
        row(
            "allocated",
            format!(
                "{} -> {}",
                human(report.allocated_before_bytes),
                human(report.allocated_after_bytes)
            ),
        ),
        row(
            "free space",
            format!("{} on its filesystem", human(report.space.free_bytes)),
        ),
        row("disk holds", report.contents.describe().to_string()),
    ];
    if !report.dry_run && !unchanged {
        rows.push(row("synced", "yes (fsync)".to_string()));
    }
    match loops {
        None => rows.push(row("loop devices", "not refreshed (--no-loop)".to_string())),
        Some([]) => rows.push(row(
            "loop devices",
            "none: no loop device uses this file".to_string(),
        )),
        Some(devices) => {
            for (i, d) in devices.iter().enumerate() {
                let state = match (&d.new_size_bytes, &d.error) {
                    _ if d.capped_by_sizelimit => format!(
                        "{}: not grown: its size limit keeps it at {} bytes (losetup --sizelimit)",
                        d.device.display(),
                        d.expected_size_bytes
                    ),
                    (Some(size), _) => format!(
                        "{}: {} -> {size} bytes (LOOP_SET_CAPACITY, read back with BLKGETSIZE64)",
                        d.device.display(),
                        d.old_size_bytes
                    ),
                    (None, Some(err)) => format!("{}: FAILED: {err}", d.device.display()),
                    (None, None) => format!(
                        "{}: would be refreshed ({} -> {} bytes)",
                        d.device.display(),
                        d.old_size_bytes,
                        d.expected_size_bytes
                    ),
                };
                let label = if i == 0 { "loop devices" } else { "" };
                rows.push(row(label, state));
            }
        }
    }
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(label, value)| vec![String::new(), label, value])
        .collect();
    text.push_str(&columns(&table));
    if !steps.is_empty() {
        text.push_str("next, in the guest:\n");
        for (i, step) in steps.iter().enumerate() {
            let _ = writeln!(text, "  {}. {step}", i + 1);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::advice::LoopRefresh;
    use crate::extents::{Extent, ExtentKind, MapSource};
    use crate::format::Contents;
    use crate::fs::FsSpace;
    use crate::grow::{GrowReport, Nature};

    #[test]
    fn test_overcommit_sentence() {
        assert_eq!(
            overcommit_line(120 << 30, Path::new("/var")),
            "if these guests fill their disks the host needs 120 GiB more than it has on /var: they will get I/O errors"
        );
    }

    fn grown(loops: Option<Vec<LoopRefresh>>, dry_run: bool) -> GrowImageReport {
        GrowImageReport {
            grow: GrowReport {
                path: PathBuf::from("/images/web.img"),
                old_size_bytes: 100 << 20,
                new_size_bytes: 120 << 20,
                nature: Nature::Allocated,
                method: GrowMethod::ZeroFill,
                fallocate_unsupported: true,
                allocated_before_bytes: 100 << 20,
                allocated_after_bytes: 120 << 20,
                space: FsSpace {
                    total_bytes: 1 << 30,
                    free_bytes: 512 << 20,
                    block_size_bytes: 4096,
                    read_only: false,
                },
                contents: Contents::Xfs,
                dry_run,
                resumed_at_bytes: None,
            },
            loops,
        }
    }

    #[test]
    fn test_grow_text_lists_each_device_and_numbers_the_steps() {
        let loops = vec![
            LoopRefresh {
                device: PathBuf::from("/dev/loop0"),
                old_size_bytes: 100 << 20,
                new_size_bytes: Some(120 << 20),
                expected_size_bytes: 120 << 20,
                capped_by_sizelimit: false,
                sizelimit_bytes: 0,
                error: None,
            },
            LoopRefresh {
                device: PathBuf::from("/dev/loop1"),
                old_size_bytes: 100 << 20,
                new_size_bytes: None,
                expected_size_bytes: 120 << 20,
                capped_by_sizelimit: false,
                sizelimit_bytes: 0,
                error: Some(crate::SparseImgError::NotFound {
                    path: PathBuf::from("/dev/loop1"),
                }),
            },
        ];
        let text = grow_text(&grown(Some(loops), false), &["a".into(), "b".into()]);
        assert_eq!(
            text,
            "grew /images/web.img from 100 MiB to 120 MiB (+20 MiB)
  size          104857600 -> 125829120 bytes
  image was     allocated
  method        allocated: the filesystem has no fallocate, zeros were written at the end
  allocated     100 MiB -> 120 MiB
  free space    512 MiB on its filesystem
  disk holds    XFS filesystem on the whole disk
  synced        yes (fsync)
  loop devices  /dev/loop0: 104857600 -> 125829120 bytes (LOOP_SET_CAPACITY, read back with BLKGETSIZE64)
                /dev/loop1: FAILED: /dev/loop1 does not exist
next, in the guest:
  1. a
  2. b
"
        );
        let dry = grow_text(&grown(None, true), &[]);
        assert!(dry.starts_with(
            "would grow /images/web.img from 100 MiB to 120 MiB (+20 MiB): dry run, nothing changed\n"
        ));
        assert!(dry.contains("ext2/ext3"), "{dry}");
        assert!(dry.contains("loop devices  not refreshed (--no-loop)\n"));
        assert!(!dry.contains("synced") && !dry.contains("next, in the guest"));
    }

    #[test]
    fn test_map_text_in_chunks_and_stops_at_the_first_error() {
        let extents: Vec<Extent> = (0..10_000u64)
            .map(|i| Extent {
                offset_bytes: i * 4096,
                length_bytes: 4096,
                kind: if i % 2 == 0 {
                    ExtentKind::Data
                } else {
                    ExtentKind::Hole
                },
            })
            .collect();
        let map = ExtentMap {
            size_bytes: 10_000 * 4096,
            source: MapSource::SeekData,
            extents,
        };
        let mut chunks = Vec::new();
        map_text(Path::new("x.img"), &map, |chunk| {
            chunks.push(chunk.to_string());
            Ok::<(), ()>(())
        })
        .unwrap();
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|c| c.len() < MAP_CHUNK_BYTES + 256));
        let text = chunks.concat();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "x.img: 39.1 MiB (40960000 bytes) from seek_data: data 19.5 MiB in 5000 extents, holes 19.5 MiB in 5000 extents, unwritten 0 B in 0 extents"
            )
        );
        assert_eq!(lines.next(), Some("OFFSET    LENGTH    KIND"));
        assert_eq!(lines.next(), Some("0         4096      data"));
        assert_eq!(text.lines().count(), 10_002);
        let mut calls = 0;
        let stopped = map_text(Path::new("x.img"), &map, |_| {
            calls += 1;
            Err("closed")
        });
        assert_eq!((stopped, calls), (Err("closed"), 1));
    }

    #[test]
    fn test_usage_text_tables_and_overcommit() {
        let empty = UsageReport {
            images: Vec::new(),
            filesystems: Vec::new(),
            skipped: Vec::new(),
        };
        assert_eq!(usage_text(&empty), "no images found\n");
        let report = UsageReport {
            images: vec![crate::usage::ImageUsage {
                path: PathBuf::from("/images/a.img"),
                format: crate::ImageFormat::Raw,
                size_bytes: 8 << 30,
                virtual_size_bytes: Some(8 << 30),
                allocated_bytes: 1 << 30,
                extents: None,
                map_source: None,
                device: 1,
                inode: 2,
            }],
            filesystems: vec![crate::usage::FilesystemUsage {
                device: 1,
                mount_point: PathBuf::from("/images"),
                space: FsSpace {
                    total_bytes: 4 << 30,
                    free_bytes: 3 << 30,
                    block_size_bytes: 4096,
                    read_only: false,
                },
                image_count: 1,
                size_bytes: 8 << 30,
                allocated_bytes: 1 << 30,
                could_grow_bytes: 7 << 30,
            }],
            skipped: Vec::new(),
        };
        assert_eq!(
            usage_text(&report),
            "IMAGE          FORMAT  SIZE   VIRTUAL  ALLOCATED  %    SPARSE  DATA  HOLES  UNWRITTEN
/images/a.img  raw     8 GiB  8 GiB    1 GiB      12%  yes     -     -      -

FILESYSTEM  SIZE   FREE   IMAGES  ALLOCATED  COULD GROW
/images     4 GiB  3 GiB  1       1 GiB      7 GiB
overcommitted: if these guests fill their disks the host needs 4 GiB more than it has on /images: they will get I/O errors
"
        );
    }
}
