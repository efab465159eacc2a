//! `image grow` with the running guests: sparse-img's growth, then each guest disk told and
//! checked.

use std::path::Path;

use sparse_img::{GrowImageOptions, GrowImageReport, Progress, SparseImgError};

use super::{
    BackendKind, DiskOutcome, DiskUser, GuestDisk, LoopId, OnlineOptions, Qmp, StoreRead,
    after_growth, disk_users, open_store, qmp_socket,
};
use crate::ErrorChain;

/// The guests' side of a growth.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct GuestsReport {
    /// Every domain's virtual disk that uses the image, with what its guest is now offered.
    pub disks: Vec<GuestDisk>,
    /// Why the guests could not be looked up (xenstore could not be opened or read); the
    /// growth itself is done.
    pub error: Option<String>,
}

impl GuestsReport {
    /// The disks whose guest does not (yet) see the new size, or that failed.
    pub fn unconfirmed(&self) -> impl Iterator<Item = &GuestDisk> {
        self.disks
            .iter()
            .filter(|d| !matches!(d.outcome, DiskOutcome::Confirmed | DiskOutcome::NotAsked))
    }
}

/// What [`grow_image_online`] did.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct OnlineGrowReport {
    /// The growth and the loop devices (sparse-img's report).
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub image: GrowImageReport,
    /// The running guests that use the image; `None` when this is not a Xen dom0.
    pub guests: Option<GuestsReport>,
}

/// [`sparse_img::grow_image`], and in a Xen dom0 the guests that use the image: found in
/// xenstore before the growth, then (unless this is a dry run or the loop devices are not
/// refreshed) QEMU asked to resize qdisk disks and every backend's `sectors` awaited. A
/// failure on the guests' side never undoes or fails the growth: it is in
/// [`GuestsReport::error`] or the disk's [`DiskOutcome`].
pub fn grow_image_online(
    path: &Path,
    options: &GrowImageOptions,
    online: &OnlineOptions,
    progress: &mut dyn Progress,
) -> Result<OnlineGrowReport, SparseImgError> {
    if xen_role::detect().role != xen_role::XenRole::Dom0 {
        let image = sparse_img::grow_image(path, options, progress)?;
        return Ok(OnlineGrowReport {
            image,
            guests: None,
        });
    }
    // Look the guests up before the growth: what they are offered now, and a xenstore
    // problem known before the file changes.
    let store = open_store();
    let found = match &store {
        Ok(store) => find(store, path).map_err(|e| ErrorChain(&e).to_string()),
        Err(e) => Err(ErrorChain(e).to_string()),
    };
    let image = sparse_img::grow_image(path, options, progress)?;
    let guests = match (&store, found) {
        (Ok(store), Ok(users)) => GuestsReport {
            disks: tell(store, path, &image, &users, options, online),
            error: None,
        },
        (_, Err(error)) => GuestsReport {
            disks: Vec::new(),
            error: Some(error),
        },
        // `found` is an error whenever the store is.
        (Err(e), Ok(_)) => GuestsReport {
            disks: Vec::new(),
            error: Some(ErrorChain(e).to_string()),
        },
    };
    Ok(OnlineGrowReport {
        image,
        guests: Some(guests),
    })
}

/// The disks that use `path`, matched by the file and its loop devices.
fn find(store: &dyn StoreRead, path: &Path) -> Result<Vec<DiskUser>, crate::XenError> {
    let loops: Vec<LoopId> = sparse_img::loops_for(path)
        .unwrap_or_default()
        .iter()
        .map(|l| LoopId::of(&l.device))
        .collect();
    disk_users(store, path, &loops)
}

/// After the growth: each disk told (qdisk) and awaited, or `NotAsked` on a dry run or when
/// the loop devices were left alone.
pub(crate) fn tell(
    store: &dyn StoreRead,
    path: &Path,
    image: &GrowImageReport,
    users: &[DiskUser],
    options: &GrowImageOptions,
    online: &OnlineOptions,
) -> Vec<GuestDisk> {
    let new_size = image.grow.new_size_bytes;
    // A disk on one of the image's loop devices is offered what that device shows.
    let expected = |user: &DiskUser| -> u64 {
        let device = user.device.as_deref();
        image
            .loops
            .iter()
            .flatten()
            .find(|l| user.backend == BackendKind::Vbd && device == Some(l.device.as_path()))
            .map_or(new_size, |l| {
                l.new_size_bytes.unwrap_or(l.expected_size_bytes)
            })
    };
    if image.grow.dry_run || !options.refresh_loops {
        return users
            .iter()
            .map(|user| GuestDisk {
                user: user.clone(),
                expected_bytes: expected(user),
                guest_bytes: user.sectors.map(|s| user.size_bytes(s)),
                qmp_node: None,
                outcome: DiskOutcome::NotAsked,
            })
            .collect();
    }
    let mut connect =
        |user: &DiskUser| Qmp::connect(user.domid, &qmp_socket(user.domid), online.qmp_timeout);
    after_growth(store, path, users, &expected, &mut connect, online)
}

/// The warnings after `image grow`'s report about the guests: why they could not be looked
/// up, and each disk whose guest is not offered the new size (then the command fails:
/// [`GuestsReport::unconfirmed`]).
pub fn guests_warnings(report: &GuestsReport) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(error) = &report.error {
        warnings.push(format!(
            "the image grew, but which running guests use it could not be looked up in xenstore: {error}"
        ));
    }
    for disk in report.unconfirmed() {
        warnings.push(format!(
            "domain {} ({}) {}: its backend ({}) does not offer the new size; check `xl block-list {}` and dom0's dmesg, or restart the guest",
            disk.user.domid, disk.user.domain, disk.user.vdev, disk.user.backend_path, disk.user.domid
        ));
    }
    warnings
}

/// The guests' part of `image grow`'s text: one line per disk, naming the domain, the device
/// as the guest sees it, the backend, and what the guest is offered now.
pub fn guests_text(report: &GuestsReport) -> String {
    use std::fmt::Write as _;
    let size = |b: u64| sparse_img::ByteSize::from_bytes(b).to_string();
    let mut text = String::new();
    if let Some(error) = &report.error {
        let _ = writeln!(text, "Guests: not looked up: {error}");
        return text;
    }
    if report.disks.is_empty() {
        let _ = writeln!(
            text,
            "Guests: no domain's disk uses this image (xenstore backends)"
        );
        return text;
    }
    let _ = writeln!(text, "Guests using it (xenstore backends):");
    for disk in &report.disks {
        let user = &disk.user;
        let name = if user.domain.is_empty() {
            "(no name)"
        } else {
            &user.domain
        };
        let via = match (user.backend, &user.device, &disk.qmp_node) {
            (BackendKind::Vbd, Some(dev), _) => format!("blkback on {}", dev.display()),
            (BackendKind::Vbd, None, _) => "blkback".to_string(),
            (BackendKind::Qdisk, _, Some(node)) => format!("QEMU (qdisk, block node {node})"),
            (BackendKind::Qdisk, _, None) => "QEMU (qdisk)".to_string(),
        };
        let sees = disk
            .guest_bytes
            .map_or_else(|| "an unknown size".to_string(), size);
        let outcome = match &disk.outcome {
            DiskOutcome::Confirmed => "confirmed".to_string(),
            DiskOutcome::NotAsked => format!(
                "not told (dry run or --no-loop); would be {}",
                size(disk.expected_bytes)
            ),
            DiskOutcome::NotYet => format!(
                "NOT YET {} (the backend did not take the new size in time)",
                size(disk.expected_bytes)
            ),
            DiskOutcome::Failed(why) => format!("FAILED: {why}"),
        };
        let _ = writeln!(
            text,
            "  {name} (domain {}) {}, {via}: the guest sees {sees}: {outcome}",
            user.domid, user.vdev
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::DomId;

    #[test]
    fn test_text_names_domain_device_size_and_outcome() {
        let user = DiskUser {
            domid: DomId(3),
            domain: "web1".into(),
            vdev: "xvdb".into(),
            devid: 51728,
            backend: BackendKind::Vbd,
            backend_path: "/local/domain/0/backend/vbd/3/51728".into(),
            device: Some("/dev/loop0".into()),
            sectors: Some(131_072),
            sector_size: 512,
        };
        let mut qdisk = user.clone();
        qdisk.backend = BackendKind::Qdisk;
        qdisk.vdev = "xvdc".into();
        let report = GuestsReport {
            disks: vec![
                GuestDisk {
                    user,
                    expected_bytes: 96 << 20,
                    guest_bytes: Some(96 << 20),
                    qmp_node: None,
                    outcome: DiskOutcome::Confirmed,
                },
                GuestDisk {
                    user: qdisk,
                    expected_bytes: 96 << 20,
                    guest_bytes: Some(64 << 20),
                    qmp_node: None,
                    outcome: DiskOutcome::Failed(
                        "domain 3: QEMU at /var/run/xen/qmp-libxl-3: cannot connect".into(),
                    ),
                },
            ],
            error: None,
        };
        let text = guests_text(&report);
        assert_eq!(
            text,
            "Guests using it (xenstore backends):\n  \
             web1 (domain 3) xvdb, blkback on /dev/loop0: the guest sees 96 MiB: confirmed\n  \
             web1 (domain 3) xvdc, QEMU (qdisk): the guest sees 64 MiB: FAILED: domain 3: QEMU at /var/run/xen/qmp-libxl-3: cannot connect\n"
        );
        assert_eq!(report.unconfirmed().count(), 1);
        let warnings = guests_warnings(&report);
        assert_eq!(
            warnings,
            [
                "domain 3 (web1) xvdc: its backend (/local/domain/0/backend/vbd/3/51728) does not offer the new size; check `xl block-list 3` and dom0's dmesg, or restart the guest"
            ]
        );
        let unlooked = GuestsReport {
            disks: Vec::new(),
            error: Some("cannot open xenstore".into()),
        };
        assert_eq!(
            guests_warnings(&unlooked),
            [
                "the image grew, but which running guests use it could not be looked up in xenstore: cannot open xenstore"
            ]
        );
        let none = GuestsReport::default();
        assert!(guests_warnings(&none).is_empty());
        assert!(guests_text(&none).contains("no domain's disk uses this image"));
    }
}
