//! Which domains use a disk image: the virtual block devices in dom0's xenstore backend folders.
//!
//! libxl writes one folder per disk, `/local/domain/0/backend/vbd/DOMID/DEVID` for blkback
//! (`phy`, files through the `block` script's loop device) and `.../backend/qdisk/DOMID/DEVID`
//! for disks QEMU serves. The keys read here: `params` (the target as configured: a file, a
//! device, or `FORMAT:PATH` for qdisk), `physical-device` (blkback's `MAJOR:MINOR` in hex, from
//! the hotplug script), `physical-device-path`, `dev` (the guest's name, `xvdb`), `sectors`
//! and `sector-size` (what the backend offers the guest), `frontend-id`.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::XenError;
use crate::host::DomId;

/// Reads xenstore: the real connection, or a map in tests.
pub trait StoreRead {
    /// The value at `path`, or `None` when there is no such node.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, XenError>;
    /// The children of `path`, or `None` when there is no such node.
    fn directory(&self, path: &str) -> Result<Option<Vec<Vec<u8>>>, XenError>;
}

impl StoreRead for crate::ffi::XenStoreHandle {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, XenError> {
        crate::ffi::XenStoreHandle::read(self, path)
    }

    fn directory(&self, path: &str) -> Result<Option<Vec<Vec<u8>>>, XenError> {
        crate::ffi::XenStoreHandle::directory(self, path)
    }
}

/// Who serves a virtual disk to the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
#[non_exhaustive]
pub enum BackendKind {
    /// dom0's kernel (blkback): a block device, for files a loop device.
    Vbd,
    /// QEMU (qdisk): the file itself.
    Qdisk,
}

impl BackendKind {
    /// The xenstore folder name under `backend/`.
    pub fn folder(self) -> &'static str {
        match self {
            BackendKind::Vbd => "vbd",
            BackendKind::Qdisk => "qdisk",
        }
    }
}

/// A domain's virtual disk whose backend uses the image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DiskUser {
    /// The domain.
    pub domid: DomId,
    /// Its name (`/local/domain/N/name`), empty when it has none.
    pub domain: String,
    /// The guest's device name (`dev`, e.g. `xvdb`), or the device id when absent.
    pub vdev: String,
    /// The device id (the folder name).
    pub devid: u32,
    /// blkback or QEMU.
    pub backend: BackendKind,
    /// The backend's xenstore folder.
    pub backend_path: String,
    /// The block device blkback uses (`physical-device-path`, e.g. `/dev/loop0`).
    pub device: Option<PathBuf>,
    /// `sectors` when the disk was found (units: see [`DiskUser::size_bytes`]).
    pub sectors: Option<u64>,
    /// `sector-size` (512 when absent).
    pub sector_size: u32,
}

impl DiskUser {
    /// The size the backend offers the guest: blkback counts `sectors` in 512-byte units
    /// whatever the logical sector size, QEMU in `sector-size` units.
    pub fn size_bytes(&self, sectors: u64) -> u64 {
        match self.backend {
            BackendKind::Vbd => sectors.saturating_mul(512),
            BackendKind::Qdisk => sectors.saturating_mul(u64::from(self.sector_size)),
        }
    }

    /// `sectors` for a disk of `bytes`, in this backend's units.
    pub fn sectors_for(&self, bytes: u64) -> u64 {
        match self.backend {
            BackendKind::Vbd => bytes / 512,
            BackendKind::Qdisk => bytes / u64::from(self.sector_size.max(1)),
        }
    }
}

/// One of the image's loop devices, as the matcher needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopId {
    /// `/dev/loopN`.
    pub device: PathBuf,
    /// Its device number's major and minor.
    pub rdev: Option<(u64, u64)>,
}

impl LoopId {
    /// The loop device at `device`, its number read with `stat` (`None` if that fails).
    pub fn of(device: &Path) -> LoopId {
        let rdev = std::fs::metadata(device).ok().map(|m| {
            (
                nix::sys::stat::major(m.rdev()),
                nix::sys::stat::minor(m.rdev()),
            )
        });
        LoopId {
            device: device.to_path_buf(),
            rdev,
        }
    }
}

fn text(bytes: Option<Vec<u8>>) -> Option<String> {
    bytes.map(|b| String::from_utf8_lossy(&b).trim().to_string())
}

/// The path in `params`: qdisk writes `FORMAT:PATH` (`raw:/var/lib/xen/a.img`), blkback the path.
fn params_path(params: &str) -> &str {
    match params.split_once(':') {
        Some((format, path)) if path.starts_with('/') && !format.contains('/') => path,
        _ => params,
    }
}

/// `physical-device`'s `MAJOR:MINOR` (hex, as libxl's hotplug script writes it).
fn parse_major_minor(text: &str) -> Option<(u64, u64)> {
    let (major, minor) = text.split_once(':')?;
    Some((
        u64::from_str_radix(major, 16).ok()?,
        u64::from_str_radix(minor, 16).ok()?,
    ))
}

/// Whether two paths name the same file (device and inode), else the same text.
fn same_file(a: &Path, image: Option<(u64, u64)>, image_path: &Path) -> bool {
    match (std::fs::metadata(a), image) {
        (Ok(m), Some(id)) => (m.dev(), m.ino()) == id,
        _ => a == image_path,
    }
}

/// The domains' virtual disks that use `image`, directly (`params`) or through one of its loop
/// devices (`params`, `physical-device-path` or `physical-device`), from dom0's backend
/// folders of both kinds; sorted by domain and device id. Folders that vanish while being read
/// (a domain shutting down) are skipped.
pub fn disk_users(
    store: &dyn StoreRead,
    image: &Path,
    loops: &[LoopId],
) -> Result<Vec<DiskUser>, XenError> {
    let image_id = std::fs::metadata(image).ok().map(|m| (m.dev(), m.ino()));
    let mut users = Vec::new();
    for kind in [BackendKind::Vbd, BackendKind::Qdisk] {
        let base = format!("/local/domain/0/backend/{}", kind.folder());
        for domain in store.directory(&base)?.unwrap_or_default() {
            let Some(domid) = std::str::from_utf8(&domain)
                .ok()
                .and_then(|d| d.parse::<u32>().ok())
            else {
                continue;
            };
            let dom_path = format!("{base}/{domid}");
            for dev in store.directory(&dom_path)?.unwrap_or_default() {
                let Some(devid) = std::str::from_utf8(&dev)
                    .ok()
                    .and_then(|d| d.parse::<u32>().ok())
                else {
                    continue;
                };
                let path = format!("{dom_path}/{devid}");
                let read = |key: &str| store.read(&format!("{path}/{key}")).map(text);
                let params = read("params")?.unwrap_or_default();
                let device = read("physical-device-path")?.filter(|p| !p.is_empty());
                let major_minor = read("physical-device")?.and_then(|t| parse_major_minor(&t));
                let target = params_path(&params);
                let uses = (!target.is_empty() && same_file(Path::new(target), image_id, image))
                    || loops.iter().any(|l| {
                        Path::new(target) == l.device
                            || device.as_deref().is_some_and(|d| Path::new(d) == l.device)
                            || (major_minor.is_some() && major_minor == l.rdev)
                    });
                if !uses {
                    continue;
                }
                let name =
                    text(store.read(&format!("/local/domain/{domid}/name"))?).unwrap_or_default();
                users.push(DiskUser {
                    domid: DomId(domid),
                    domain: name,
                    vdev: read("dev")?
                        .filter(|d| !d.is_empty())
                        .unwrap_or_else(|| devid.to_string()),
                    devid,
                    backend: kind,
                    backend_path: path.clone(),
                    device: device.map(PathBuf::from),
                    sectors: read("sectors")?.and_then(|s| s.parse().ok()),
                    sector_size: read("sector-size")?
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(512),
                });
            }
        }
    }
    users.sort_by_key(|u| (u.domid, u.devid));
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A xenstore tree as a map of paths to values; directories are derived.
    #[derive(Debug, Default)]
    pub(crate) struct FakeStore(pub BTreeMap<String, String>);

    impl FakeStore {
        pub(crate) fn set(&mut self, path: &str, value: &str) {
            self.0.insert(path.to_string(), value.to_string());
        }
    }

    impl StoreRead for FakeStore {
        fn read(&self, path: &str) -> Result<Option<Vec<u8>>, XenError> {
            Ok(self.0.get(path).map(|v| v.as_bytes().to_vec()))
        }

        fn directory(&self, path: &str) -> Result<Option<Vec<Vec<u8>>>, XenError> {
            let prefix = format!("{path}/");
            let mut children: Vec<Vec<u8>> = self
                .0
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .map(|rest| rest.split('/').next().unwrap_or(rest).as_bytes().to_vec())
                .collect();
            children.dedup();
            Ok((!children.is_empty()).then_some(children))
        }
    }

    pub(crate) fn backend(
        store: &mut FakeStore,
        kind: &str,
        domid: u32,
        devid: u32,
        keys: &[(&str, &str)],
    ) {
        for (k, v) in keys {
            store.set(
                &format!("/local/domain/0/backend/{kind}/{domid}/{devid}/{k}"),
                v,
            );
        }
    }

    #[test]
    fn test_finds_loop_backed_and_qdisk_users_and_skips_others() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("data.img");
        std::fs::write(&image, b"x").unwrap();
        let other = dir.path().join("other.img");
        std::fs::write(&other, b"y").unwrap();
        let link = dir.path().join("link.img");
        std::os::unix::fs::symlink(&image, &link).unwrap();
        let mut s = FakeStore::default();
        s.set("/local/domain/3/name", "web1");
        s.set("/local/domain/5/name", "db1");
        // A file through the block script: params is the file, the hotplug script names the loop.
        backend(
            &mut s,
            "vbd",
            3,
            51728,
            &[
                ("params", image.to_str().unwrap()),
                ("physical-device", "7:0"),
                ("physical-device-path", "/dev/loop0"),
                ("dev", "xvdb"),
                ("sectors", "2048"),
                ("sector-size", "512"),
            ],
        );
        // A phy disk on a loop device the administrator set up: only the major:minor matches.
        backend(
            &mut s,
            "vbd",
            5,
            51712,
            &[
                ("params", "/dev/mapper/x"),
                ("physical-device", "7:2"),
                ("dev", "xvda"),
            ],
        );
        // Another image: not a user.
        backend(
            &mut s,
            "vbd",
            5,
            51713,
            &[
                ("params", other.to_str().unwrap()),
                ("physical-device", "7:1"),
                ("dev", "xvdb"),
            ],
        );
        // QEMU serving the image through a symlink, FORMAT:PATH.
        backend(
            &mut s,
            "qdisk",
            5,
            51714,
            &[
                ("params", &format!("raw:{}", link.display())),
                ("dev", "xvdc"),
                ("sectors", "4"),
                ("sector-size", "4096"),
            ],
        );
        let loops = [
            LoopId {
                device: "/dev/loop0".into(),
                rdev: Some((7, 0)),
            },
            LoopId {
                device: "/dev/loop2".into(),
                rdev: Some((7, 2)),
            },
        ];
        let users = disk_users(&s, &image, &loops).unwrap();
        let seen: Vec<(u32, &str, &str, BackendKind)> = users
            .iter()
            .map(|u| (u.domid.0, u.domain.as_str(), u.vdev.as_str(), u.backend))
            .collect();
        assert_eq!(
            seen,
            [
                (3, "web1", "xvdb", BackendKind::Vbd),
                (5, "db1", "xvda", BackendKind::Vbd),
                (5, "db1", "xvdc", BackendKind::Qdisk),
            ]
        );
        assert_eq!(users[0].sectors, Some(2048));
        assert_eq!(users[0].size_bytes(2048), 1 << 20);
        assert_eq!(users[0].device.as_deref(), Some(Path::new("/dev/loop0")));
        assert_eq!(users[2].size_bytes(4), 16384);
        assert_eq!(users[2].sectors_for(16384), 4);
        // No backends at all (no guests): nobody.
        assert!(
            disk_users(&FakeStore::default(), &image, &loops)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn test_params_and_major_minor_parsing() {
        assert_eq!(params_path("raw:/a/b.img"), "/a/b.img");
        assert_eq!(params_path("aio:/a/b.img"), "/a/b.img");
        assert_eq!(params_path("/a/b:c.img"), "/a/b:c.img");
        assert_eq!(params_path("/dev/loop0"), "/dev/loop0");
        assert_eq!(parse_major_minor("fd:10"), Some((253, 16)));
        assert_eq!(parse_major_minor("7:0"), Some((7, 0)));
        assert_eq!(parse_major_minor("zz"), None);
    }
}
