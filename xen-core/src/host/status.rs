//! One host's place in a Xen system, as `xenadm status` reports it: the role this machine
//! has (from [`xen_role`]), the hypervisor and, on a dom0 whose Xen libraries open, its
//! domains counted by state.

#[cfg(feature = "serde")]
use serde::Serialize;
use std::path::Path;

use xen_role::XenRole;

use super::{DomainState, Host, HostBackend, Sample, SampleFlags};
use crate::XenError;

/// Domains counted by state flag (a domain with two flags counts under both, as in
/// xentop's summary line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct StateCounts {
    /// Domains, dom0 included.
    pub domains: usize,
    /// Running.
    pub running: usize,
    /// Blocked.
    pub blocked: usize,
    /// Paused.
    pub paused: usize,
    /// Crashed.
    pub crashed: usize,
    /// Dying.
    pub dying: usize,
    /// Shut down.
    pub shutdown: usize,
}

impl StateCounts {
    /// The counts of one sample.
    pub fn of(sample: &Sample) -> StateCounts {
        let count = |flag| {
            sample
                .domains
                .iter()
                .filter(|d| d.state.contains(flag))
                .count()
        };
        StateCounts {
            domains: sample.domains.len(),
            running: count(DomainState::RUNNING),
            blocked: count(DomainState::BLOCKED),
            paused: count(DomainState::PAUSED),
            crashed: count(DomainState::CRASHED),
            dying: count(DomainState::DYING),
            shutdown: count(DomainState::SHUTDOWN),
        }
    }

    /// xentop's words: `1 running, 2 blocked, 0 paused, 0 crashed, 0 dying, 0 shutdown`.
    pub fn states_text(&self) -> String {
        format!(
            "{} running, {} blocked, {} paused, {} crashed, {} dying, {} shutdown",
            self.running, self.blocked, self.paused, self.crashed, self.dying, self.shutdown
        )
    }
}

/// A dom0's view of its host through the Xen libraries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct XenHostStatus {
    /// The hypervisor's version, e.g. `4.17.5`.
    pub xen_version: Option<String>,
    /// The domains by state.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub counts: StateCounts,
}

impl XenHostStatus {
    /// From one sample.
    pub fn of(sample: &Sample) -> XenHostStatus {
        XenHostStatus {
            xen_version: sample.node.xen_version.clone(),
            counts: StateCounts::of(sample),
        }
    }

    /// `3: 1 running, 2 blocked, 0 paused, 0 crashed, 0 dying, 0 shutdown`.
    pub fn summary(&self) -> String {
        format!("{}: {}", self.counts.domains, self.counts.states_text())
    }
}

/// This host's place in a Xen system.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
#[non_exhaustive]
pub struct XenStatus {
    /// `none`, `dom0` or `domU`.
    pub role: XenRole,
    /// The hypervisor named by /sys/hypervisor/type (`xen`), when there is one.
    pub hypervisor: Option<String>,
    /// Xen version from /sys/hypervisor/version, when running on Xen.
    pub version: Option<String>,
    /// The file that decided the role.
    pub evidence: String,
    /// What the Xen libraries report, on a dom0 where they open.
    pub host: Option<XenHostStatus>,
    /// Why the Xen libraries could not report, on a dom0 (set by the caller, who words it).
    pub host_error: Option<String>,
}

impl XenStatus {
    /// The role, hypervisor and version from /sys/hypervisor and /proc/xen under `root`
    /// ([`xen_role::detect_at`]); the Xen libraries are not opened.
    pub fn detect_at(root: &Path) -> XenStatus {
        let found = xen_role::detect_at(root);
        XenStatus {
            role: found.role,
            hypervisor: found.hypervisor,
            version: found.version.map(|v| v.to_string()),
            evidence: found.evidence.to_string(),
            host: None,
            host_error: None,
        }
    }

    /// On a dom0, opens the host with `open_host` and counts its domains; elsewhere does
    /// nothing (a guest or a bare machine has no Xen libraries to ask).
    pub fn read_host<B: HostBackend>(
        &mut self,
        open_host: impl FnOnce() -> Result<Host<B>, XenError>,
    ) -> Result<(), XenError> {
        if self.role == XenRole::Dom0 {
            let sample = open_host()?.sample(SampleFlags::XEN_VERSION)?;
            self.host = Some(XenHostStatus::of(&sample));
        }
        Ok(())
    }

    /// The status lines: role (with its evidence), hypervisor and version, domains.
    pub fn rows(&self) -> Vec<(String, String)> {
        let row = |label: &str, value: String| (label.to_string(), value);
        let mut rows = vec![row("role", format!("{} ({})", self.role, self.evidence))];
        if self.role != XenRole::None {
            let version = self
                .host
                .as_ref()
                .and_then(|h| h.xen_version.clone())
                .or_else(|| self.version.clone())
                .unwrap_or_else(|| "version unknown".to_string());
            let kind = self.hypervisor.as_deref().unwrap_or("xen");
            rows.push(row("hypervisor", format!("{kind} {version}")));
        }
        if let Some(host) = &self.host {
            rows.push(row("domains", host.summary()));
        }
        if let Some(err) = &self.host_error {
            rows.push(row("domains", format!("unavailable: {err}")));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{DomainStats, RecordedBackend};
    use test_support::tree::{write, xen_dom0};

    fn dom0_root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        xen_dom0(dir.path(), Some(["4", "17", ".5"]));
        dir
    }

    fn no_host() -> Result<Host<RecordedBackend>, XenError> {
        panic!("the Xen libraries must not be opened here")
    }

    #[test]
    fn test_without_xen_one_row_and_no_library() {
        let dir = tempfile::tempdir().unwrap();
        let mut status = XenStatus::detect_at(dir.path());
        status.read_host(no_host).unwrap();
        let rows = status.rows();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].1.starts_with("not a Xen host"), "{rows:?}");
        write(dir.path(), "sys/hypervisor/type", "xen\n");
        let mut domu = XenStatus::detect_at(dir.path());
        domu.read_host(no_host).unwrap();
        assert_eq!(
            domu.rows()[1],
            ("hypervisor".into(), "xen version unknown".into())
        );
    }

    #[test]
    fn test_dom0_counts_domains_by_state() {
        let dir = dom0_root();
        let mut status = XenStatus::detect_at(dir.path());
        assert_eq!(status.version.as_deref(), Some("4.17.5"));
        assert_eq!(status.evidence, "/proc/xen/capabilities has control_d");
        let mut sample = Sample::default();
        sample.node.xen_version = Some("4.17.7".into());
        for state in [
            DomainState::RUNNING,
            DomainState::BLOCKED,
            DomainState::SHUTDOWN | DomainState::CRASHED,
        ] {
            sample.domains.push(DomainStats {
                state,
                ..Default::default()
            });
        }
        let recorded = RecordedBackend::new(Default::default(), vec![sample]);
        status
            .read_host(|| Ok(Host::with_backend(recorded)))
            .unwrap();
        let rows = status.rows();
        assert_eq!(rows[1].1, "xen 4.17.7");
        assert_eq!(
            rows[2].1,
            "3: 1 running, 1 blocked, 0 paused, 1 crashed, 0 dying, 1 shutdown"
        );
        status.host = None;
        status.host_error = Some("no libxenstat".into());
        assert_eq!(status.rows()[1].1, "xen 4.17.5");
        assert_eq!(status.rows()[2].1, "unavailable: no libxenstat");
    }
}
