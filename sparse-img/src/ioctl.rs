//! The only unsafe code in the crate: the ioctls, each wrapped in a safe function.
//!
//! Layouts and numbers come from `<linux/fiemap.h>`, `<linux/loop.h>` and `<linux/fs.h>`; the
//! struct sizes are checked at compile time. Every wrapper takes open files (so the descriptor
//! is valid for the call) and owned or exclusively borrowed buffers of the exact type the
//! kernel reads or writes.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// `struct fiemap` without its flexible array of extents.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FiemapHeader {
    fm_start: u64,
    fm_length: u64,
    fm_flags: u32,
    fm_mapped_extents: u32,
    fm_extent_count: u32,
    fm_reserved: u32,
}

/// `struct fiemap_extent`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FiemapExtent {
    /// Byte offset in the file.
    pub fe_logical: u64,
    fe_physical: u64,
    /// Length in bytes.
    pub fe_length: u64,
    fe_reserved64: [u64; 2],
    /// `FIEMAP_EXTENT_*` flags.
    pub fe_flags: u32,
    fe_reserved: [u32; 3],
}

/// Extents asked for per FIEMAP call (56 bytes each; filefrag asks for about 290).
pub(crate) const FIEMAP_EXTENTS_PER_CALL: u32 = 1024;

/// `FIEMAP_FLAG_SYNC`: write dirty pages back first, so that data just written is not
/// reported as delayed or unwritten.
pub(crate) const FIEMAP_FLAG_SYNC: u32 = 0x1;
/// `FIEMAP_EXTENT_LAST`.
pub(crate) const FIEMAP_EXTENT_LAST: u32 = 0x1;
/// `FIEMAP_EXTENT_UNWRITTEN`: allocated (fallocate) but never written; reads as zeros.
pub(crate) const FIEMAP_EXTENT_UNWRITTEN: u32 = 0x800;

/// A `struct fiemap` with room for [`FIEMAP_EXTENTS_PER_CALL`] extents.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct FiemapRequest {
    header: FiemapHeader,
    extents: [FiemapExtent; FIEMAP_EXTENTS_PER_CALL as usize],
}

impl FiemapRequest {
    /// A zeroed request on the heap (57 KiB).
    pub(crate) fn new() -> Box<FiemapRequest> {
        Box::new(FiemapRequest {
            header: FiemapHeader::default(),
            extents: [FiemapExtent::default(); FIEMAP_EXTENTS_PER_CALL as usize],
        })
    }
}

/// `struct loop_info64`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopInfo64 {
    /// The backing file's device, as the kernel encodes a dev_t (`huge_encode_dev`).
    pub lo_device: u64,
    /// The backing file's inode.
    pub lo_inode: u64,
    lo_rdevice: u64,
    /// Offset into the backing file.
    pub lo_offset: u64,
    /// Size limit (0: none).
    pub lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    /// `LO_FLAGS_*`.
    pub lo_flags: u32,
    /// The first 63 bytes of the backing file's name, NUL-terminated.
    pub lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

impl LoopInfo64 {
    /// All zeros.
    pub(crate) fn zeroed() -> LoopInfo64 {
        LoopInfo64 {
            lo_device: 0,
            lo_inode: 0,
            lo_rdevice: 0,
            lo_offset: 0,
            lo_sizelimit: 0,
            lo_number: 0,
            lo_encrypt_type: 0,
            lo_encrypt_key_size: 0,
            lo_flags: 0,
            lo_file_name: [0; 64],
            lo_crypt_name: [0; 64],
            lo_encrypt_key: [0; 32],
            lo_init: [0; 2],
        }
    }
}

/// `struct loop_config` (LOOP_CONFIGURE, Linux 5.8+).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// `LO_FLAGS_READ_ONLY`.
pub(crate) const LO_FLAGS_READ_ONLY: u32 = 1;
/// `LO_FLAGS_AUTOCLEAR`: detach when the last opener closes the device.
pub(crate) const LO_FLAGS_AUTOCLEAR: u32 = 4;

const _: () = assert!(std::mem::size_of::<FiemapHeader>() == 32);
const _: () = assert!(std::mem::size_of::<FiemapExtent>() == 56);
const _: () = assert!(std::mem::size_of::<LoopInfo64>() == 232);
const _: () = assert!(std::mem::size_of::<LoopConfig>() == 304);

mod raw {
    use super::{FiemapHeader, LoopConfig, LoopInfo64};

    // FS_IOC_FIEMAP = _IOWR('f', 11, struct fiemap)
    nix::ioctl_readwrite!(fs_ioc_fiemap, b'f', 11, FiemapHeader);
    // BLKGETSIZE64 = _IOR(0x12, 114, size_t)
    nix::ioctl_read!(blk_get_size64, 0x12, 114, u64);
    // FS_IOC_GETFLAGS = _IOR('f', 1, long); the kernel writes an int into it.
    nix::ioctl_read!(fs_ioc_getflags, b'f', 1, std::ffi::c_long);
    nix::ioctl_write_int_bad!(loop_set_fd, 0x4C00);
    nix::ioctl_none_bad!(loop_clr_fd, 0x4C01);
    nix::ioctl_write_ptr_bad!(loop_set_status64, 0x4C04, LoopInfo64);
    nix::ioctl_read_bad!(loop_get_status64, 0x4C05, LoopInfo64);
    nix::ioctl_none_bad!(loop_set_capacity, 0x4C07);
    nix::ioctl_write_ptr_bad!(loop_configure, 0x4C0A, LoopConfig);
    nix::ioctl_none_bad!(loop_ctl_get_free, 0x4C82);
}

/// FS_IOC_FIEMAP for `[start, start + length)`: fills `request` and returns its extents.
pub(crate) fn fiemap<'r>(
    file: &File,
    request: &'r mut FiemapRequest,
    start: u64,
    length: u64,
    flags: u32,
) -> io::Result<&'r [FiemapExtent]> {
    request.header = FiemapHeader {
        fm_start: start,
        fm_length: length,
        fm_flags: flags,
        fm_mapped_extents: 0,
        fm_extent_count: FIEMAP_EXTENTS_PER_CALL,
        fm_reserved: 0,
    };
    let ptr = std::ptr::from_mut(request).cast::<FiemapHeader>();
    // SAFETY: `file` is an open descriptor. `ptr` points to a live, exclusively borrowed
    // `#[repr(C)]` FiemapRequest: a `struct fiemap` header followed by room for exactly
    // `fm_extent_count` extents, which is all the kernel writes.
    unsafe { raw::fs_ioc_fiemap(file.as_raw_fd(), ptr) }.map_err(io::Error::from)?;
    let mapped = request
        .header
        .fm_mapped_extents
        .min(FIEMAP_EXTENTS_PER_CALL) as usize;
    Ok(&request.extents[..mapped])
}

/// BLKGETSIZE64: a block device's size in bytes.
pub(crate) fn block_device_size(device: &File) -> io::Result<u64> {
    let mut size = 0u64;
    // SAFETY: `device` is an open descriptor and `size` is a live u64, the exact type the
    // kernel writes for BLKGETSIZE64.
    unsafe { raw::blk_get_size64(device.as_raw_fd(), &raw mut size) }.map_err(io::Error::from)?;
    Ok(size)
}

/// `FS_EXTENT_FL`: the inode maps its blocks with extents (ext4), which fallocate needs.
pub(crate) const FS_EXTENT_FL: u32 = 0x0008_0000;

/// FS_IOC_GETFLAGS: the inode's flags (`chattr`'s), e.g. [`FS_EXTENT_FL`].
pub(crate) fn inode_flags(file: &File) -> io::Result<u32> {
    let mut flags: std::ffi::c_long = 0;
    // SAFETY: `file` is an open descriptor and `flags` a live, zeroed c_long, the type the
    // request number encodes; the kernel writes an int (its low 4 bytes) into it.
    unsafe { raw::fs_ioc_getflags(file.as_raw_fd(), &raw mut flags) }.map_err(io::Error::from)?;
    Ok(u32::try_from(flags & 0xffff_ffff).unwrap_or(0))
}

/// LOOP_GET_STATUS64.
pub(crate) fn loop_get_status(device: &File) -> io::Result<LoopInfo64> {
    let mut info = LoopInfo64::zeroed();
    // SAFETY: `device` is an open descriptor and `info` a live `#[repr(C)] loop_info64`, the
    // exact type the kernel writes.
    unsafe { raw::loop_get_status64(device.as_raw_fd(), &raw mut info) }
        .map_err(io::Error::from)?;
    Ok(info)
}

/// LOOP_SET_CAPACITY: the kernel re-reads the backing file's size.
pub(crate) fn loop_set_capacity(device: &File) -> io::Result<()> {
    // SAFETY: `device` is an open descriptor; this ioctl takes no argument.
    unsafe { raw::loop_set_capacity(device.as_raw_fd()) }.map_err(io::Error::from)?;
    Ok(())
}

/// LOOP_CTL_GET_FREE on `/dev/loop-control`: the number of a free loop device (created if
/// needed).
pub(crate) fn loop_ctl_get_free(control: &File) -> io::Result<u32> {
    // SAFETY: `control` is an open descriptor; this ioctl takes no argument and returns the
    // device number.
    let number = unsafe { raw::loop_ctl_get_free(control.as_raw_fd()) }.map_err(io::Error::from)?;
    u32::try_from(number).map_err(io::Error::other)
}

/// Binds `backing` to the free loop `device`: LOOP_CONFIGURE, or LOOP_SET_FD and
/// LOOP_SET_STATUS64 on kernels before 5.8.
pub(crate) fn loop_attach(
    device: &File,
    backing: &File,
    flags: u32,
    name: &[u8],
) -> io::Result<()> {
    let mut info = LoopInfo64::zeroed();
    info.lo_flags = flags;
    let len = name.len().min(info.lo_file_name.len() - 1);
    info.lo_file_name[..len].copy_from_slice(&name[..len]);
    let backing_fd = backing.as_fd().as_raw_fd();
    let config = LoopConfig {
        fd: u32::try_from(backing_fd).map_err(io::Error::other)?,
        block_size: 0,
        info,
        reserved: [0; 8],
    };
    // SAFETY: `device` and `backing` are open descriptors; `config` is a live `#[repr(C)]
    // loop_config` that the kernel only reads.
    match unsafe { raw::loop_configure(device.as_raw_fd(), &raw const config) } {
        Ok(_) => return Ok(()),
        Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOTTY) => {}
        Err(errno) => return Err(errno.into()),
    }
    // SAFETY: both descriptors are open; LOOP_SET_FD takes the backing descriptor by value.
    unsafe { raw::loop_set_fd(device.as_raw_fd(), backing_fd) }.map_err(io::Error::from)?;
    // SAFETY: `device` is open; `info` is a live `loop_info64` the kernel only reads.
    let status = unsafe { raw::loop_set_status64(device.as_raw_fd(), &raw const info) };
    if let Err(errno) = status {
        let _ = loop_detach(device);
        return Err(errno.into());
    }
    Ok(())
}

/// LOOP_CLR_FD: unbinds the device (lazily, when it is still open elsewhere).
pub(crate) fn loop_detach(device: &File) -> io::Result<()> {
    // SAFETY: `device` is an open descriptor; this ioctl takes no argument.
    unsafe { raw::loop_clr_fd(device.as_raw_fd()) }.map_err(io::Error::from)?;
    Ok(())
}
