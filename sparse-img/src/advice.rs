//! After an image grew: refreshing the loop devices it backs, and what to do in the guest so
//! that its partition and filesystem use the new space (by what the disk holds).

use std::path::PathBuf;

use crate::error::SparseImgError;
use crate::format::Contents;
use crate::loops::{LoopDevice, refresh_capacity};

/// What became of one loop device after the growth.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct LoopRefresh {
    /// `/dev/loopN`.
    pub device: PathBuf,
    /// Its size before.
    pub old_size_bytes: u64,
    /// Read back with BLKGETSIZE64 after LOOP_SET_CAPACITY (`None` on a dry run or failure).
    pub new_size_bytes: Option<u64>,
    /// What the device should show: the file after its offset, capped by its size limit.
    pub expected_size_bytes: u64,
    /// The device's size limit (`losetup --sizelimit`) keeps it below the file's new size:
    /// refreshing cannot show the guest the new space.
    pub capped_by_sizelimit: bool,
    /// The size limit (0: none).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub sizelimit_bytes: u64,
    /// Why refreshing it failed.
    #[cfg_attr(
        feature = "serde",
        serde(serialize_with = "crate::json::error_message")
    )]
    pub error: Option<SparseImgError>,
}

impl LoopRefresh {
    /// Whether the device was refreshed but shows another size than expected (an offset or
    /// size limit the administrator should look at).
    pub fn size_differs(&self) -> bool {
        self.new_size_bytes
            .is_some_and(|size| size != self.expected_size_bytes)
    }
}

/// Refreshes each of `devices` (found with [`crate::loops_for`] before the growth) so that it
/// shows the file's new size, `new_size_bytes`; on a dry run only says what each would show.
/// Every device is tried: a failure is kept in its entry, not returned.
pub fn refresh_loops(
    devices: &[LoopDevice],
    new_size_bytes: u64,
    dry_run: bool,
) -> Vec<LoopRefresh> {
    devices
        .iter()
        .map(|device| {
            let expected = device.expected_size_bytes(new_size_bytes);
            let mut entry = LoopRefresh {
                device: device.device.clone(),
                old_size_bytes: device.size_bytes,
                new_size_bytes: None,
                expected_size_bytes: expected,
                capped_by_sizelimit: device.sizelimit_bytes != 0
                    && expected < new_size_bytes.saturating_sub(device.offset_bytes),
                sizelimit_bytes: device.sizelimit_bytes,
                error: None,
            };
            if !dry_run {
                match refresh_capacity(&device.device) {
                    Ok(size) => entry.new_size_bytes = Some(size),
                    Err(err) => entry.error = Some(err),
                }
            }
            entry
        })
        .collect()
}

/// The last step for a partitioned disk: grow what the partition holds.
const PARTITION_FS: &str = "Then grow what the partition holds: ext2/3/4 `resize2fs /dev/xvdaN` (works mounted); XFS `xfs_growfs MOUNTPOINT`; btrfs `btrfs filesystem resize max MOUNTPOINT`; LVM `pvresize /dev/xvdaN`, then `lvextend -r -l +100%FREE VG/LV`.";

/// What to run in the guest, in order, so that a disk holding `contents` and now
/// `new_size_bytes` long is used to its end (device names as a Xen PV guest sees them).
///
/// ```
/// use sparse_img::{Contents, guest_steps};
///
/// let steps = guest_steps(Contents::Xfs, 20 << 30);
/// assert_eq!(steps.len(), 1);
/// assert!(steps[0].contains("xfs_growfs"));
/// // An MBR table cannot address past 2 TiB: converting to GPT comes first.
/// assert!(guest_steps(Contents::Mbr, 3 << 40).iter().any(|s| s.contains("sgdisk -g")));
/// ```
pub fn guest_steps(contents: Contents, new_size_bytes: u64) -> Vec<&'static str> {
    match contents {
        Contents::Gpt => vec![
            "The disk has a GPT partition table whose backup header is still at the old end: `growpart /dev/xvda N` (cloud-guest-utils) moves it and grows the last partition N; or `sgdisk -e /dev/xvda`, then `parted /dev/xvda resizepart N 100%`.",
            PARTITION_FS,
        ],
        Contents::Mbr => {
            let mut steps = vec![
                "The disk has an MBR partition table: `growpart /dev/xvda N` (cloud-guest-utils) or `parted /dev/xvda resizepart N 100%` grows the last partition N.",
            ];
            if new_size_bytes > 2 << 40 {
                steps.push("An MBR partition table cannot use space past 2 TiB: convert it to GPT first (`sgdisk -g /dev/xvda`).");
            }
            steps.push(PARTITION_FS);
            steps
        }
        Contents::Ext => vec![
            "The whole disk is an ext2/3/4 filesystem: `resize2fs /dev/xvdX` grows it (also while mounted).",
        ],
        Contents::Xfs => vec![
            "The whole disk is an XFS filesystem: `xfs_growfs MOUNTPOINT` grows it (it must be mounted).",
        ],
        Contents::Btrfs => vec![
            "The whole disk is a btrfs filesystem: `btrfs filesystem resize max MOUNTPOINT` grows it.",
        ],
        Contents::LvmPv => vec![
            "The whole disk is an LVM physical volume: `pvresize /dev/xvdX`, then `lvextend -r -l +100%FREE VG/LV` grows a volume and its filesystem.",
        ],
        Contents::Luks => vec![
            "The whole disk is a LUKS volume: `cryptsetup resize NAME` (the opened mapping), then grow the filesystem inside it.",
        ],
        Contents::Swap => vec![
            "The whole disk is swap, which does not grow in place: `swapoff /dev/xvdX && mkswap -U UUID /dev/xvdX && swapon /dev/xvdX` (the UUID from `blkid`, so /etc/fstab still matches).",
        ],
        Contents::Empty | Contents::Unknown => vec![
            "Grow the partition (`growpart /dev/xvda N`) and then its filesystem (`resize2fs`, `xfs_growfs`, `btrfs filesystem resize max`, or `pvresize` for LVM).",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_partitioned_disks_get_partition_then_filesystem() {
        for contents in [Contents::Gpt, Contents::Mbr] {
            let steps = guest_steps(contents, 10 << 30);
            assert_eq!(steps.len(), 2, "{contents:?}");
            assert!(steps[0].contains("growpart"));
            assert_eq!(steps[1], PARTITION_FS);
        }
        assert_eq!(guest_steps(Contents::Mbr, 2 << 40).len(), 2);
        assert_eq!(guest_steps(Contents::Mbr, (2 << 40) + 1).len(), 3);
    }

    #[test]
    fn test_every_content_kind_has_advice() {
        for contents in [
            Contents::Empty,
            Contents::Unknown,
            Contents::Ext,
            Contents::Xfs,
            Contents::Btrfs,
            Contents::LvmPv,
            Contents::Luks,
            Contents::Swap,
        ] {
            assert_eq!(guest_steps(contents, 1 << 30).len(), 1, "{contents:?}");
        }
    }

    #[test]
    fn test_no_devices_nothing_to_refresh() {
        assert!(refresh_loops(&[], 1 << 20, false).is_empty());
    }
}
