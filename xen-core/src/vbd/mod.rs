//! Online disk resize: after an image grew (sparse-img), which running guests use it, telling
//! their backends, and confirming what each guest is now offered.
//!
//! * [`disk_users`]: the domains' virtual disks whose backend uses the image, from dom0's
//!   xenstore (`backend/vbd` for blkback, `backend/qdisk` for QEMU), matched by the file itself
//!   or one of its loop devices;
//! * [`after_growth`]: for disks QEMU serves, QMP `block_resize` on the domain's socket
//!   ([`qmp_socket`]); blkback notices a loop device's new capacity by itself (its ring thread
//!   checks the size at least every 100 ms); then, for every disk, wait until the backend's
//!   `sectors` shows the new size (the guest's blkfront reads it from there and resizes
//!   `/sys/block/xvdX`). Each disk gets its own [`DiskOutcome`]; one failing does not stop the
//!   others.
//!
//! * [`grow_image_online`]: `xenadm image grow`'s one call: sparse-img's growth, then the above
//!   in a Xen dom0 (elsewhere the growth alone, as before).
//!
//! ```
//! use xen_core::vbd::{StoreRead, disk_users};
//!
//! // No guest uses anything: nobody to tell.
//! struct Empty;
//! impl StoreRead for Empty {
//!     fn read(&self, _: &str) -> Result<Option<Vec<u8>>, xen_core::XenError> { Ok(None) }
//!     fn directory(&self, _: &str) -> Result<Option<Vec<Vec<u8>>>, xen_core::XenError> { Ok(None) }
//! }
//! assert!(disk_users(&Empty, std::path::Path::new("/var/lib/xen/a.img"), &[])?.is_empty());
//! # Ok::<(), xen_core::XenError>(())
//! ```

mod online;
mod qmp;
mod users;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use online::{GuestsReport, OnlineGrowReport, grow_image_online, guests_text, guests_warnings};
pub use qmp::{BlockNode, Qmp, qmp_socket};
pub use users::{BackendKind, DiskUser, LoopId, StoreRead, disk_users};

use crate::XenError;
use crate::ffi::XenStoreHandle;

/// Opens xenstore (libxenstore loaded as `XENADM_XEN_LIBDIR` says) after checking that this
/// is a dom0 we may drive.
pub fn open_store() -> Result<XenStoreHandle, XenError> {
    let libraries = xen_sys::LoadOptions::from_env();
    let lib = Arc::new(xen_sys::XenStore::load_with(&libraries)?);
    crate::ffi::dom0::check()?;
    XenStoreHandle::open(lib)
}

/// How long [`after_growth`] waits, and how it asks QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OnlineOptions {
    /// How long to wait for every backend to show the new size.
    pub timeout: Duration,
    /// How often `sectors` is read meanwhile.
    pub poll: Duration,
    /// Read and write timeout on a QMP socket.
    pub qmp_timeout: Duration,
}

impl Default for OnlineOptions {
    fn default() -> OnlineOptions {
        OnlineOptions {
            timeout: Duration::from_secs(15),
            poll: Duration::from_millis(100),
            qmp_timeout: Duration::from_secs(10),
        }
    }
}

/// What became of one guest disk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case", tag = "status", content = "why")
)]
#[non_exhaustive]
pub enum DiskOutcome {
    /// The backend offers the guest the new size.
    Confirmed,
    /// The backend still showed another size when the wait ended.
    NotYet,
    /// Telling the backend failed (QEMU's error, a vanished device); the text says why.
    Failed(String),
    /// Nothing was told: a dry run, or the loop devices were not refreshed (`--no-loop`).
    NotAsked,
}

/// One guest disk after the growth.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct GuestDisk {
    /// The disk and its domain, as found before the growth (`sectors` then).
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub user: DiskUser,
    /// What the backend should offer now.
    pub expected_bytes: u64,
    /// What it offers now (`sectors` read last, in bytes).
    pub guest_bytes: Option<u64>,
    /// How QEMU was asked (qdisk only): the block node given to `block_resize`.
    pub qmp_node: Option<String>,
    /// Confirmed, not yet, or failed.
    pub outcome: DiskOutcome,
}

fn read_sectors(store: &dyn StoreRead, user: &DiskUser) -> Result<Option<u64>, XenError> {
    let value = store.read(&format!("{}/sectors", user.backend_path))?;
    Ok(value.and_then(|v| String::from_utf8_lossy(&v).trim().parse().ok()))
}

/// After `image` grew: asks QEMU to resize each qdisk user (`block_resize` to
/// `expected_bytes(user)`), then waits until every user's backend `sectors` shows
/// `expected_bytes(user)` or `options.timeout` passed. `expected_bytes` gives the size a disk
/// should have: the file's new size, or for a loop device what the device shows (offset, size
/// limit). `connect` opens a domain's QMP socket (tests give a fake).
pub fn after_growth(
    store: &dyn StoreRead,
    image: &Path,
    users: &[DiskUser],
    expected_bytes: &dyn Fn(&DiskUser) -> u64,
    connect: &mut dyn FnMut(&DiskUser) -> Result<Qmp, XenError>,
    options: &OnlineOptions,
) -> Vec<GuestDisk> {
    let mut disks: Vec<GuestDisk> = users
        .iter()
        .map(|user| GuestDisk {
            user: user.clone(),
            expected_bytes: expected_bytes(user),
            guest_bytes: None,
            qmp_node: None,
            outcome: DiskOutcome::NotYet,
        })
        .collect();
    for disk in disks
        .iter_mut()
        .filter(|d| d.user.backend == BackendKind::Qdisk)
    {
        let asked = connect(&disk.user).and_then(|mut qmp| {
            let node = qmp.node_for(image)?;
            qmp.block_resize(&node, disk.expected_bytes)?;
            Ok(node)
        });
        match asked {
            Ok(BlockNode::NodeName(n) | BlockNode::Device(n)) => disk.qmp_node = Some(n),
            Err(e) => disk.outcome = DiskOutcome::Failed(crate::ErrorChain(&e).to_string()),
        }
    }
    let deadline = Instant::now() + options.timeout;
    loop {
        for disk in disks
            .iter_mut()
            .filter(|d| d.outcome == DiskOutcome::NotYet)
        {
            match read_sectors(store, &disk.user) {
                Ok(Some(sectors)) => {
                    let bytes = disk.user.size_bytes(sectors);
                    disk.guest_bytes = Some(bytes);
                    if sectors == disk.user.sectors_for(disk.expected_bytes) {
                        disk.outcome = DiskOutcome::Confirmed;
                    }
                }
                Ok(None) => {
                    disk.outcome = DiskOutcome::Failed(format!(
                        "{}/sectors is gone (the device was detached or the domain stopped)",
                        disk.user.backend_path
                    ));
                }
                Err(e) => disk.outcome = DiskOutcome::Failed(crate::ErrorChain(&e).to_string()),
            }
        }
        if disks.iter().all(|d| d.outcome != DiskOutcome::NotYet) || Instant::now() >= deadline {
            return disks;
        }
        std::thread::sleep(options.poll);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::DomId;
    use serde_json::json;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// A store whose values the test changes between reads.
    struct Shared(RefCell<BTreeMap<String, String>>, RefCell<u32>);

    impl StoreRead for Shared {
        fn read(&self, path: &str) -> Result<Option<Vec<u8>>, XenError> {
            // blkback notices the new size after a few reads.
            *self.1.borrow_mut() += 1;
            if *self.1.borrow() == 3 {
                self.0
                    .borrow_mut()
                    .insert("/be/vbd/3/51728/sectors".into(), "2080768".into());
            }
            Ok(self.0.borrow().get(path).map(|v| v.as_bytes().to_vec()))
        }

        fn directory(&self, _: &str) -> Result<Option<Vec<Vec<u8>>>, XenError> {
            Ok(None)
        }
    }

    fn user(domid: u32, backend: BackendKind, path: &str, vdev: &str) -> DiskUser {
        DiskUser {
            domid: DomId(domid),
            domain: format!("g{domid}"),
            vdev: vdev.into(),
            devid: 51728,
            backend,
            backend_path: path.into(),
            device: None,
            sectors: Some(2048),
            sector_size: 512,
        }
    }

    #[test]
    fn test_blkback_confirmed_qdisk_asked_and_failures_kept_per_disk() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("d.img");
        std::fs::write(&image, b"x").unwrap();
        let socket = dir.path().join("qmp");
        let img = image.display().to_string();
        let (server, seen) = qmp::tests::fake_qemu(&socket, move |req| {
            match req["execute"].as_str() {
                Some("query-block") => {
                    json!({"return": [{"device": "", "inserted": {"file": img, "node-name": "xvdc"}}]})
                }
                _ => json!({"return": {}}),
            }
        });
        let mut values = BTreeMap::new();
        values.insert("/be/vbd/3/51728/sectors".to_string(), "2048".to_string());
        // QEMU writes the new size as soon as block_resize returns (here: already there).
        values.insert(
            "/be/qdisk/4/51728/sectors".to_string(),
            "2080768".to_string(),
        );
        values.insert("/be/vbd/6/51728/sectors".to_string(), "2048".to_string());
        let store = Shared(RefCell::new(values), RefCell::new(0));
        let users = [
            user(3, BackendKind::Vbd, "/be/vbd/3/51728", "xvdb"),
            user(4, BackendKind::Qdisk, "/be/qdisk/4/51728", "xvdc"),
            user(5, BackendKind::Qdisk, "/be/qdisk/5/51728", "xvdd"),
            user(6, BackendKind::Vbd, "/be/vbd/6/51728", "xvde"),
        ];
        let options = OnlineOptions {
            timeout: Duration::from_millis(500),
            poll: Duration::from_millis(10),
            qmp_timeout: Duration::from_secs(5),
        };
        let new_bytes = 2_080_768 * 512;
        let mut connect = |u: &DiskUser| {
            if u.domid.0 == 4 {
                Qmp::connect(u.domid, &socket, options.qmp_timeout)
            } else {
                Qmp::connect(u.domid, &dir.path().join("absent"), options.qmp_timeout)
            }
        };
        let disks = after_growth(
            &store,
            &image,
            &users,
            &|_| new_bytes,
            &mut connect,
            &options,
        );
        server.join().unwrap();
        assert_eq!(disks[0].outcome, DiskOutcome::Confirmed);
        assert_eq!(disks[0].guest_bytes, Some(new_bytes));
        assert_eq!(disks[1].outcome, DiskOutcome::Confirmed);
        assert_eq!(disks[1].qmp_node.as_deref(), Some("xvdc"));
        assert_eq!(
            seen.lock().unwrap()[2]["arguments"]["size"],
            json!(new_bytes)
        );
        match &disks[2].outcome {
            DiskOutcome::Failed(why) => assert!(
                why.contains("domain 5: QEMU at") && why.contains("cannot connect"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
        // blkback never noticed within the wait: said so, with what the guest still sees.
        assert_eq!(disks[3].outcome, DiskOutcome::NotYet);
        assert_eq!(disks[3].guest_bytes, Some(2048 * 512));
    }
}
