//! What a file holds: its image format (by magic number) and, for raw images, the partition
//! table or filesystem the guest sees, so that growth can be refused or followed by the right
//! guest-side steps.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

/// An image file's format, as qemu-img names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
    /// No known header: the file is the disk, byte for byte.
    Raw,
    /// QEMU copy-on-write version 1 (`QFI\xfb`, version 1).
    Qcow,
    /// QEMU copy-on-write version 2 or 3 (`QFI\xfb`).
    Qcow2,
    /// QEMU enhanced disk (`QED\0`).
    Qed,
    /// VMware sparse extent (`KDMV`).
    Vmdk,
    /// VMware text descriptor (`# Disk DescriptorFile`).
    VmdkDescriptor,
    /// The raw data of a VMware flat disk (`*-flat.vmdk`): its size is recorded in the
    /// descriptor file beside it.
    VmdkFlatExtent,
    /// Hyper-V VHDX (`vhdxfile`).
    Vhdx,
    /// VirtualBox VDI (signature `0xbeda107f`).
    Vdi,
    /// Virtual PC / Hyper-V VHD, also Xen blktap's vhd (`conectix` footer).
    Vpc,
    /// Parallels (`WithoutFreeSpace`).
    Parallels,
}

impl ImageFormat {
    /// The qemu-img name (`raw`, `qcow2`, `vpc`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Raw => "raw",
            ImageFormat::Qcow => "qcow",
            ImageFormat::Qcow2 => "qcow2",
            ImageFormat::Qed => "qed",
            ImageFormat::Vmdk | ImageFormat::VmdkDescriptor | ImageFormat::VmdkFlatExtent => "vmdk",
            ImageFormat::Vhdx => "vhdx",
            ImageFormat::Vdi => "vdi",
            ImageFormat::Vpc => "vpc",
            ImageFormat::Parallels => "parallels",
        }
    }

    /// Whether the file is the disk itself (growing the file grows the disk).
    pub fn is_raw(self) -> bool {
        self == ImageFormat::Raw
    }

    /// How to grow an image of this format instead (a shell command line or advice).
    pub fn resize_advice(self) -> &'static str {
        match self {
            ImageFormat::Raw => "xenadm image grow",
            ImageFormat::Qcow2 | ImageFormat::Qed => {
                "use `qemu-img resize IMAGE +SIZE` with the guest shut down (it refuses while QEMU holds the image)"
            }
            ImageFormat::VmdkDescriptor | ImageFormat::VmdkFlatExtent => {
                "grow the disk through its descriptor with VMware's tools (`vmware-vdiskmanager -x SIZE`), or `qemu-img convert -O raw` it first and grow the raw copy"
            }
            ImageFormat::Vdi | ImageFormat::Vpc | ImageFormat::Vmdk => {
                "qemu-img cannot resize this format: `VBoxManage modifymedium disk IMAGE --resize MiB`, or `qemu-img convert -O raw` (or qcow2) it and grow the copy"
            }
            ImageFormat::Vhdx => {
                "qemu-img cannot resize VHDX: use Hyper-V's `Resize-VHD`, or `qemu-img convert -O raw` (or qcow2) it and grow the copy"
            }
            ImageFormat::Qcow | ImageFormat::Parallels => {
                "qemu-img cannot resize this format: `qemu-img convert -O qcow2` it, then `qemu-img resize` the copy"
            }
        }
    }
}

impl std::fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a raw image holds at its start: decides which guest tool grows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Contents {
    /// The file is empty.
    Empty,
    /// Nothing this crate recognises (all zeros, or an unknown layout).
    Unknown,
    /// A GUID partition table (`EFI PART` at byte 512).
    Gpt,
    /// An MBR (DOS) partition table (`55 aa` at byte 510).
    Mbr,
    /// An ext2/3/4 filesystem on the whole disk.
    Ext,
    /// An XFS filesystem on the whole disk.
    Xfs,
    /// A btrfs filesystem on the whole disk.
    Btrfs,
    /// An LVM physical volume on the whole disk.
    LvmPv,
    /// A LUKS encrypted volume on the whole disk.
    Luks,
    /// Swap space on the whole disk.
    Swap,
}

impl Contents {
    /// A short description, e.g. "GPT partition table".
    pub fn describe(self) -> &'static str {
        match self {
            Contents::Empty => "empty",
            Contents::Unknown => "unknown contents",
            Contents::Gpt => "GPT partition table",
            Contents::Mbr => "MBR partition table",
            Contents::Ext => "ext2/3/4 filesystem on the whole disk",
            Contents::Xfs => "XFS filesystem on the whole disk",
            Contents::Btrfs => "btrfs filesystem on the whole disk",
            Contents::LvmPv => "LVM physical volume on the whole disk",
            Contents::Luks => "LUKS volume on the whole disk",
            Contents::Swap => "swap space on the whole disk",
        }
    }
}

/// What [`probe`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Probe {
    /// The format.
    pub format: ImageFormat,
    /// The size of the disk the guest sees, where the format records it (raw: the file
    /// size; VHDX: not read).
    pub virtual_size_bytes: Option<u64>,
    /// For raw images, what the disk starts with; `Unknown` for other formats.
    pub contents: Contents,
}

const HEAD_BYTES: usize = 4096;
const BTRFS_MAGIC_OFFSET: u64 = 0x1_0040;

/// Reads the start (and end) of an open image of `size_bytes` bytes and tells its format and
/// contents. `path` is used only for the name of VMware flat extents.
pub fn probe(file: &File, size_bytes: u64, path: &Path) -> io::Result<Probe> {
    if size_bytes == 0 {
        return Ok(Probe {
            format: ImageFormat::Raw,
            virtual_size_bytes: Some(0),
            contents: Contents::Empty,
        });
    }
    let mut head = [0u8; HEAD_BYTES];
    let head_len = read_full_at(file, &mut head, 0)?;
    let head = &head[..head_len];
    let mut tail = [0u8; 512];
    let tail_len = if size_bytes >= 1024 {
        read_full_at(file, &mut tail, size_bytes - 512)?
    } else {
        0
    };
    let (format, virtual_size_bytes) = detect_format(head, &tail[..tail_len]);
    let format = match format {
        ImageFormat::Raw if is_flat_extent_name(path) => ImageFormat::VmdkFlatExtent,
        other => other,
    };
    if !format.is_raw() {
        return Ok(Probe {
            format,
            virtual_size_bytes,
            contents: Contents::Unknown,
        });
    }
    let mut btrfs = [0u8; 8];
    let btrfs_len = if size_bytes >= BTRFS_MAGIC_OFFSET + 8 {
        read_full_at(file, &mut btrfs, BTRFS_MAGIC_OFFSET)?
    } else {
        0
    };
    Ok(Probe {
        format,
        virtual_size_bytes: Some(size_bytes),
        contents: detect_contents(head, &btrfs[..btrfs_len]),
    })
}

/// Reads until `buf` is full or the end of the file; returns the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn is_flat_extent_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.to_ascii_lowercase().ends_with("-flat.vmdk"))
}

fn be_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let slice = bytes.get(at..at + 8)?;
    Some(u64::from_be_bytes(slice.try_into().ok()?))
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let slice = bytes.get(at..at + 8)?;
    Some(u64::from_le_bytes(slice.try_into().ok()?))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes(slice.try_into().ok()?))
}

/// The format from the first bytes and the last 512 bytes (VHD footer), with the virtual
/// size where the header records it.
fn detect_format(head: &[u8], tail: &[u8]) -> (ImageFormat, Option<u64>) {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"QFI\xfb") {
        let version = head
            .get(4..8)
            .map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]));
        let format = if version == Some(1) {
            ImageFormat::Qcow
        } else {
            ImageFormat::Qcow2
        };
        return (format, be_u64(head, 24));
    }
    if starts(b"QED\0") {
        return (ImageFormat::Qed, le_u64(head, 48));
    }
    if starts(b"KDMV") {
        return (
            ImageFormat::Vmdk,
            le_u64(head, 12).and_then(|s| s.checked_mul(512)),
        );
    }
    if starts(b"# Disk DescriptorFile") {
        return (ImageFormat::VmdkDescriptor, None);
    }
    if starts(b"vhdxfile") {
        return (ImageFormat::Vhdx, None);
    }
    if le_u32(head, 0x40) == Some(0xbeda_107f) {
        return (ImageFormat::Vdi, le_u64(head, 0x170));
    }
    if starts(b"conectix") {
        return (ImageFormat::Vpc, be_u64(head, 48));
    }
    if tail.starts_with(b"conectix") {
        return (ImageFormat::Vpc, be_u64(tail, 48));
    }
    if starts(b"WithoutFreeSpace") || starts(b"WithouFreSpacExt") {
        return (
            ImageFormat::Parallels,
            le_u64(head, 36).and_then(|s| s.checked_mul(512)),
        );
    }
    (ImageFormat::Raw, None)
}

/// The partition table or filesystem at the start of a raw disk.
fn detect_contents(head: &[u8], btrfs: &[u8]) -> Contents {
    let at = |offset: usize, magic: &[u8]| {
        head.get(offset..offset + magic.len())
            .is_some_and(|b| b == magic)
    };
    if at(0, b"LUKS\xba\xbe") {
        Contents::Luks
    } else if at(0, b"XFSB") {
        Contents::Xfs
    } else if at(512, b"EFI PART") {
        Contents::Gpt
    } else if (0..4).any(|sector| at(sector * 512, b"LABELONE")) {
        Contents::LvmPv
    } else if at(1080, &[0x53, 0xef]) {
        Contents::Ext
    } else if btrfs == b"_BHRfS_M" {
        Contents::Btrfs
    } else if at(4086, b"SWAPSPACE2") || at(4086, b"SWAP-SPACE") {
        Contents::Swap
    } else if at(510, &[0x55, 0xaa]) {
        Contents::Mbr
    } else {
        Contents::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_with(offset: usize, magic: &[u8]) -> Vec<u8> {
        let mut head = vec![0u8; HEAD_BYTES];
        head[offset..offset + magic.len()].copy_from_slice(magic);
        head
    }

    #[test]
    fn test_qcow2_magic_and_virtual_size() {
        let mut head = head_with(0, b"QFI\xfb\0\0\0\x03");
        head[24..32].copy_from_slice(&(64u64 << 20).to_be_bytes());
        assert_eq!(
            detect_format(&head, &[]),
            (ImageFormat::Qcow2, Some(64 << 20))
        );
        head[7] = 1;
        assert_eq!(detect_format(&head, &[]).0, ImageFormat::Qcow);
    }

    #[test]
    fn test_fixed_vhd_footer_at_the_end() {
        let mut tail = vec![0u8; 512];
        tail[..8].copy_from_slice(b"conectix");
        tail[48..56].copy_from_slice(&(1u64 << 20).to_be_bytes());
        assert_eq!(
            detect_format(&[0u8; 4096], &tail),
            (ImageFormat::Vpc, Some(1 << 20))
        );
    }

    #[test]
    fn test_zeros_are_raw() {
        assert_eq!(
            detect_format(&[0u8; 4096], &[0u8; 512]),
            (ImageFormat::Raw, None)
        );
        assert_eq!(detect_format(&[], &[]), (ImageFormat::Raw, None));
        assert_eq!(detect_contents(&[0u8; 4096], &[]), Contents::Unknown);
    }

    #[test]
    fn test_contents() {
        assert_eq!(
            detect_contents(&head_with(512, b"EFI PART"), &[]),
            Contents::Gpt
        );
        assert_eq!(
            detect_contents(&head_with(510, &[0x55, 0xaa]), &[]),
            Contents::Mbr
        );
        assert_eq!(
            detect_contents(&head_with(1080, &[0x53, 0xef]), &[]),
            Contents::Ext
        );
        assert_eq!(detect_contents(&head_with(0, b"XFSB"), &[]), Contents::Xfs);
        assert_eq!(
            detect_contents(&head_with(512, b"LABELONE"), &[]),
            Contents::LvmPv
        );
        assert_eq!(
            detect_contents(&head_with(4086, b"SWAPSPACE2"), &[]),
            Contents::Swap
        );
        assert_eq!(
            detect_contents(&head_with(0, b"LUKS\xba\xbe"), &[]),
            Contents::Luks
        );
        assert_eq!(detect_contents(&[0u8; 4096], b"_BHRfS_M"), Contents::Btrfs);
        // A GPT disk also carries a protective MBR: GPT wins.
        let mut gpt = head_with(512, b"EFI PART");
        gpt[510..512].copy_from_slice(&[0x55, 0xaa]);
        assert_eq!(detect_contents(&gpt, &[]), Contents::Gpt);
    }

    #[test]
    fn test_flat_extent_by_name() {
        assert!(is_flat_extent_name(Path::new("/x/disk-flat.vmdk")));
        assert!(is_flat_extent_name(Path::new("DISK-FLAT.VMDK")));
        assert!(!is_flat_extent_name(Path::new("disk.img")));
    }
}
