//! The sentences `xenadm image grow` adds around its report: the note on a finished
//! interrupted growth, the warnings about loop devices and overcommit, and the next steps.
//! They are decided here (what applies to this growth) so that a frontend only prints them.

use crate::grow::GrowReport;
use crate::grow_image::GrowImageReport;
use crate::render::human;

/// The note when this run finished (or found finished) a growth an earlier, interrupted run
/// had started; `None` for an ordinary growth.
pub fn grow_resume_note(report: &GrowReport) -> Option<String> {
    let at = report.resumed_at_bytes?;
    Some(if at == report.new_size_bytes {
        format!(
            "note: {} was already at {} bytes, the size an interrupted growth asked for: synced it",
            report.path.display(),
            report.new_size_bytes
        )
    } else {
        format!(
            "note: finished an interrupted growth of {} from {} to {} bytes (it had reached {at})",
            report.path.display(),
            report.old_size_bytes,
            report.new_size_bytes
        )
    })
}

/// The warnings about the loop devices, in device order: a size limit that hides the new
/// space, a size other than expected, and every refresh failure but the first (the first is
/// the command's error, given after the report: [`GrowImageReport::take_loop_errors`]).
pub fn grow_loop_warnings(image: &GrowImageReport) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut seen_error = false;
    for entry in image.loops.iter().flatten() {
        if entry.capped_by_sizelimit {
            warnings.push(format!(
                "{} has a size limit of {} bytes (losetup --sizelimit): it stays at {} bytes and cannot show the new space; detach it (`losetup -d {}`) and attach the image again without --sizelimit, or with a larger one",
                entry.device.display(),
                entry.sizelimit_bytes,
                entry.expected_size_bytes,
                entry.device.display()
            ));
        }
        if entry.size_differs() {
            warnings.push(format!(
                "{} shows {} bytes, not {}: check its offset and size limit with `losetup -l {}`",
                entry.device.display(),
                entry.new_size_bytes.unwrap_or_default(),
                entry.expected_size_bytes,
                entry.device.display()
            ));
        }
        if let Some(err) = &entry.error {
            if seen_error {
                warnings.push(err.to_string());
            }
            seen_error = true;
        }
    }
    warnings
}

/// The warning when a sparse growth lets the image take more than its filesystem has free
/// ([`GrowReport::overcommit_bytes`]).
pub fn grow_overcommit_warning(report: &GrowReport) -> Option<String> {
    let could_grow = report.overcommit_bytes()?;
    Some(format!(
        "{} can now take {} more as its guest writes, but its filesystem has {} free: if the guest fills its disk it will get I/O errors (`xenadm image usage` shows all images; `--allocate` reserves the space now)",
        report.path.display(),
        human(could_grow),
        human(report.space.free_bytes)
    ))
}

/// What to do next: the loop devices on the host (by whether they were refreshed and how many
/// there are), then the guest ([`GrowImageReport::guest_steps`], by what the disk holds).
pub fn grow_next_steps(image: &GrowImageReport) -> Vec<String> {
    let host = match image.loops.as_deref() {
        None => {
            "The loop devices were not refreshed (--no-loop): for a running guest to see the new size, run `losetup -c DEVICE` for each device `xenadm image loops IMAGE` lists."
        }
        Some([]) => {
            "No loop device uses this file. A guest whose disk QEMU serves (qdisk) sees the new size only after its device model is told (QMP `block_resize`) or the guest restarts; a stopped guest sees it when it starts."
        }
        Some(_) => {
            "The guest's disk shows the new size once its loop device is refreshed (done above, or on a dry run: done by the real run): xen-blkback passes it to the running guest (dom0's `dmesg` says \"VBD Resize\"). Check in the guest with `lsblk` or `fdisk -l`."
        }
    };
    std::iter::once(host)
        .chain(image.guest_steps())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::advice::LoopRefresh;
    use crate::error::SparseImgError;
    use crate::format::Contents;
    use crate::fs::FsSpace;
    use crate::grow::{GrowMethod, Nature};

    fn report(method: GrowMethod, free_bytes: u64) -> GrowReport {
        GrowReport {
            path: PathBuf::from("/images/web.img"),
            old_size_bytes: 100 << 20,
            new_size_bytes: 120 << 20,
            nature: Nature::Sparse,
            method,
            fallocate_unsupported: false,
            allocated_before_bytes: 0,
            allocated_after_bytes: 0,
            space: FsSpace {
                total_bytes: 1 << 30,
                free_bytes,
                block_size_bytes: 4096,
                read_only: false,
            },
            contents: Contents::Unknown,
            dry_run: false,
            resumed_at_bytes: None,
        }
    }

    fn device(n: u32) -> LoopRefresh {
        LoopRefresh {
            device: PathBuf::from(format!("/dev/loop{n}")),
            old_size_bytes: 100 << 20,
            new_size_bytes: Some(120 << 20),
            expected_size_bytes: 120 << 20,
            capped_by_sizelimit: false,
            sizelimit_bytes: 0,
            error: None,
        }
    }

    fn image(loops: Option<Vec<LoopRefresh>>) -> GrowImageReport {
        GrowImageReport {
            grow: report(GrowMethod::Truncate, 512 << 20),
            loops,
        }
    }

    #[test]
    fn test_resume_note_says_whether_the_growth_was_finished_or_only_synced() {
        let mut grown = report(GrowMethod::Truncate, 512 << 20);
        assert_eq!(grow_resume_note(&grown), None);
        grown.resumed_at_bytes = Some(110 << 20);
        assert_eq!(
            grow_resume_note(&grown).unwrap(),
            "note: finished an interrupted growth of /images/web.img from 104857600 to 125829120 bytes (it had reached 115343360)"
        );
        grown.resumed_at_bytes = Some(120 << 20);
        assert_eq!(
            grow_resume_note(&grown).unwrap(),
            "note: /images/web.img was already at 125829120 bytes, the size an interrupted growth asked for: synced it"
        );
    }

    #[test]
    fn test_loop_warnings_name_limits_odd_sizes_and_later_failures() {
        assert!(grow_loop_warnings(&image(None)).is_empty());
        assert!(grow_loop_warnings(&image(Some(vec![device(0)]))).is_empty());
        let mut capped = device(0);
        capped.capped_by_sizelimit = true;
        capped.sizelimit_bytes = 100 << 20;
        capped.expected_size_bytes = 100 << 20;
        capped.new_size_bytes = Some(100 << 20);
        let mut odd = device(1);
        odd.new_size_bytes = Some(1 << 20);
        let failed = |n: u32| {
            let mut d = device(n);
            d.new_size_bytes = None;
            d.error = Some(SparseImgError::NotFound {
                path: PathBuf::from(format!("/dev/loop{n}")),
            });
            d
        };
        let warnings = grow_loop_warnings(&image(Some(vec![capped, odd, failed(2), failed(3)])));
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].starts_with("/dev/loop0 has a size limit of 104857600 bytes"));
        assert!(warnings[0].contains("`losetup -d /dev/loop0`"));
        assert_eq!(
            warnings[1],
            "/dev/loop1 shows 1048576 bytes, not 125829120: check its offset and size limit with `losetup -l /dev/loop1`"
        );
        // The first failure (loop2) is the command's error, not a warning.
        assert!(warnings[2].contains("/dev/loop3"), "{}", warnings[2]);
    }

    #[test]
    fn test_overcommit_warning_only_for_a_sparse_growth_beyond_free_space() {
        assert!(grow_overcommit_warning(&report(GrowMethod::Truncate, 512 << 20)).is_none());
        assert!(grow_overcommit_warning(&report(GrowMethod::Fallocate, 1 << 20)).is_none());
        let warning = grow_overcommit_warning(&report(GrowMethod::Truncate, 1 << 20)).unwrap();
        assert!(
            warning.starts_with("/images/web.img can now take 120 MiB more as its guest writes, but its filesystem has 1 MiB free"),
            "{warning}"
        );
    }

    #[test]
    fn test_next_steps_start_with_the_loop_devices_then_the_guest() {
        let unrefreshed = grow_next_steps(&image(None));
        assert!(unrefreshed[0].contains("--no-loop"));
        let none = grow_next_steps(&image(Some(Vec::new())));
        assert!(none[0].starts_with("No loop device uses this file."));
        let one = grow_next_steps(&image(Some(vec![device(0)])));
        assert!(one[0].contains("xen-blkback"));
        assert_eq!(
            one[1..],
            image(None)
                .guest_steps()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()[..]
        );
    }
}
