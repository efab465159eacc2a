//! The Xen VM source: the domains of the host this runs on, through `xen-core`, and the
//! hypervisor's view of the host (physinfo: physical CPUs, total and free memory) for the host
//! collectors.

use std::error::Error as _;
use std::fmt;
use std::path::Path;

use xen_core::XenError;
use xen_core::host::{DomainStats, Host, HostBackend, Sample, SampleFlags, XenBackend};

use crate::error::VhostmdError;
use crate::host::{HostStats, HostView, Snapshot};
use crate::vms::{NoVms, StaticVms, VirshVms, Vm, VmSource, VmStats};

/// The running domains of a Xen host, Domain-0 included (as upstream vhostmd lists them
/// through libvirt on Xen), in domain-id order, with CPU time and memory for the built-in
/// per-VM collectors.
///
/// [`XenVms::new`] opens nothing: the daemon calls [`VmSource::open`] after daemonising and
/// before dropping privileges, because the hypervisor interface needs root and must not cross
/// a `fork`.
pub struct XenVms<B = XenBackend> {
    host: Option<Host<B>>,
    opener: fn() -> Result<B, XenError>,
}

impl XenVms<XenBackend> {
    /// The Xen host this process runs on (opened by [`VmSource::open`]).
    pub fn new() -> XenVms<XenBackend> {
        XenVms {
            host: None,
            opener: XenBackend::open,
        }
    }
}

impl Default for XenVms<XenBackend> {
    fn default() -> Self {
        XenVms::new()
    }
}

impl<B: HostBackend> XenVms<B> {
    /// A source over an already open backend (tests, or embedders with their own backend).
    pub fn with_backend(backend: B) -> XenVms<B> {
        XenVms {
            host: Some(Host::with_backend(backend)),
            opener: || {
                Err(XenError::Call {
                    call: "XenVms::with_backend (no re-open)",
                    source: std::io::Error::from(std::io::ErrorKind::Unsupported),
                })
            },
        }
    }
}

impl<B> fmt::Debug for XenVms<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XenVms")
            .field("open", &self.host.is_some())
            .finish()
    }
}

fn vm_of(domain: &DomainStats) -> Vm {
    let uuid = domain.uuid.map(|u| u.to_string()).unwrap_or_default();
    let mut vm = Vm::new(domain.domid.0, domain.name.to_string_lossy(), uuid);
    vm.stats = VmStats::new(Some(domain.cpu_time_ns), Some(domain.memory_kib))
        .with_limits(domain.max_memory_kib, Some(domain.online_vcpus));
    vm
}

/// The host as the hypervisor sees it: libxenstat's node figures are physinfo's (`nr_cpus`,
/// `total_pages`, `free_pages`); CPU time is every domain's, memory allocated to guests every
/// domain's but Domain-0's.
fn host_of(sample: &Sample) -> HostStats {
    let cpu_time_ns = sample
        .domains
        .iter()
        .fold(0u64, |sum, d| sum.saturating_add(d.cpu_time_ns));
    let guest_memory_kib = sample
        .domains
        .iter()
        .filter(|d| d.domid.0 != 0)
        .fold(0u64, |sum, d| sum.saturating_add(d.memory_kib));
    let mhz = u32::try_from(sample.node.cpu_hz / 1_000_000).ok();
    HostStats::new(
        sample.node.num_cpus,
        sample.node.total_memory_kib,
        sample.node.free_memory_kib,
    )
    .with_usage(cpu_time_ns, guest_memory_kib)
    .with_cpu_mhz(mhz.filter(|&m| m > 0))
}

/// An error and its causes on one line, for [`HostView::Unavailable`].
fn chain(err: &VhostmdError) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        line.push_str(": ");
        line.push_str(&s.to_string());
        source = s.source();
    }
    line
}

impl<B: HostBackend> XenVms<B> {
    /// One sample of the host and its domains (UUIDs, no vCPU, network or block details: the
    /// collectors need only CPU time, memory and limits, and skipping them keeps an update
    /// cheap), domains in id order.
    fn take_sample(&mut self) -> Result<Sample, VhostmdError> {
        if self.host.is_none() {
            let backend = (self.opener)().map_err(VhostmdError::XenSource)?;
            self.host = Some(Host::with_backend(backend));
        }
        let host = self.host.as_mut().ok_or_else(|| VhostmdError::VmSource {
            source_name: "xen",
            message: "the Xen host is not open".into(),
        })?;
        let mut sample = host
            .sample(SampleFlags::IDENTITY)
            .map_err(VhostmdError::XenSource)?;
        sample.domains.sort_by_key(|d| d.domid);
        Ok(sample)
    }

    /// The hypervisor's view of the host, or an unavailable view and why.
    fn host_view(&mut self) -> (HostView, Option<VhostmdError>) {
        match self.take_sample() {
            Ok(sample) => (HostView::Hypervisor(host_of(&sample)), None),
            Err(e) => (HostView::Unavailable(chain(&e)), Some(e)),
        }
    }
}

impl<B: HostBackend + Send> VmSource for XenVms<B> {
    fn name(&self) -> &'static str {
        "xen"
    }

    fn open(&mut self) -> Result<(), VhostmdError> {
        if self.host.is_none() {
            let backend = (self.opener)().map_err(VhostmdError::XenSource)?;
            self.host = Some(Host::with_backend(backend));
        }
        Ok(())
    }

    fn list(&mut self) -> Result<Vec<Vm>, VhostmdError> {
        Ok(self.take_sample()?.domains.iter().map(vm_of).collect())
    }

    /// The domains and the hypervisor's host figures from one sample.
    fn snapshot(&mut self) -> Snapshot {
        match self.take_sample() {
            Ok(sample) => Snapshot::new(
                HostView::Hypervisor(host_of(&sample)),
                sample.domains.iter().map(vm_of).collect(),
            ),
            Err(e) => Snapshot::failed(HostView::Unavailable(chain(&e)), e),
        }
    }
}

/// Another VM source (libvirt, a static list, none) with the Xen hypervisor's view of the
/// host: what the `vhostmd` binary uses in a Xen dom0 when the VMs do not come from Xen, so
/// that host metrics describe the machine, not dom0.
pub struct XenHost<B = XenBackend> {
    vms: Box<dyn VmSource>,
    xen: XenVms<B>,
}

impl XenHost<XenBackend> {
    /// `vms`' VMs, the host this process runs on (opened by [`VmSource::open`]).
    pub fn new(vms: Box<dyn VmSource>) -> XenHost<XenBackend> {
        XenHost {
            vms,
            xen: XenVms::new(),
        }
    }
}

impl<B: HostBackend> XenHost<B> {
    /// `vms`' VMs, host figures from this backend (tests, embedders).
    pub fn with_backend(vms: Box<dyn VmSource>, backend: B) -> XenHost<B> {
        XenHost {
            vms,
            xen: XenVms::with_backend(backend),
        }
    }
}

impl<B> fmt::Debug for XenHost<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XenHost")
            .field("vms", &self.vms)
            .field("xen", &self.xen)
            .finish()
    }
}

impl<B: HostBackend + Send> VmSource for XenHost<B> {
    fn name(&self) -> &'static str {
        self.vms.name()
    }

    fn open(&mut self) -> Result<(), VhostmdError> {
        self.xen.open()?;
        self.vms.open()
    }

    fn check(&self) -> Result<(), VhostmdError> {
        self.vms.check()
    }

    fn list(&mut self) -> Result<Vec<Vm>, VhostmdError> {
        self.vms.list()
    }

    fn snapshot(&mut self) -> Snapshot {
        let mut snapshot = self.vms.snapshot();
        let (view, problem) = self.xen.host_view();
        snapshot.host = view;
        if let Some(e) = problem {
            snapshot.problem.get_or_insert(e);
        }
        snapshot
    }
}

/// Where the daemon's list of running VMs comes from (the drop-in's `--vm-source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VmSourceKind {
    /// [`VmSourceKind::Xen`] in a Xen dom0, else [`VmSourceKind::Libvirt`].
    Auto,
    /// libvirt, read-only, through `virsh -r` ([`VirshVms`]).
    Libvirt,
    /// The Xen host's domains ([`XenVms`]).
    Xen,
    /// No VMs: host metrics only ([`NoVms`]).
    None,
}

impl VmSourceKind {
    /// The daemon's VM source on this machine: `self`, unless a fixed list file (`vms`,
    /// [`StaticVms`]) replaces it; `connect` is libvirt's URI. In a Xen dom0 the host metrics
    /// are the hypervisor's (dom0's own `/proc` describes dom0 alone): the Xen source gives them
    /// with its domains, and any other source is wrapped in [`XenHost`].
    ///
    /// # Errors
    ///
    /// [`VhostmdError::Read`] or a line's error when the `vms` file cannot be read.
    pub fn open_here(
        self,
        vms: Option<&Path>,
        connect: Option<String>,
    ) -> Result<Box<dyn VmSource>, VhostmdError> {
        let dom0 = xen_role::detect().role == xen_role::XenRole::Dom0;
        self.open_for(vms, connect, dom0)
    }

    /// [`VmSourceKind::open_here`] on a machine that is a Xen dom0 or not.
    fn open_for(
        self,
        vms: Option<&Path>,
        connect: Option<String>,
        dom0: bool,
    ) -> Result<Box<dyn VmSource>, VhostmdError> {
        let kind = match self {
            VmSourceKind::Auto if dom0 => VmSourceKind::Xen,
            VmSourceKind::Auto => VmSourceKind::Libvirt,
            other => other,
        };
        let source: Box<dyn VmSource> = match (vms, kind) {
            (Some(file), _) => Box::new(StaticVms::read(file)?),
            (None, VmSourceKind::Xen) => return Ok(Box::new(XenVms::new())),
            (None, VmSourceKind::None) => Box::new(NoVms),
            (None, _) => Box::new(VirshVms::new(connect)),
        };
        Ok(if dom0 {
            Box::new(XenHost::new(source))
        } else {
            source
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_core::host::{DomId, DomainName, HostInfo, Sample, Uuid};

    #[derive(Debug)]
    struct Fixed {
        samples: Vec<Result<Sample, ()>>,
    }

    impl HostBackend for Fixed {
        fn host_info(&mut self) -> Result<HostInfo, XenError> {
            Ok(HostInfo::default())
        }

        fn sample(&mut self, _flags: SampleFlags) -> Result<Sample, XenError> {
            match self.samples.remove(0) {
                Ok(s) => Ok(s),
                Err(()) => Err(XenError::Call {
                    call: "xenstat_get_node",
                    source: std::io::Error::from_raw_os_error(libc::EACCES),
                }),
            }
        }
    }

    fn domain(id: u32, name: &[u8], cpu_ns: u64, mem_kib: u64) -> DomainStats {
        let mut d = DomainStats::default();
        d.domid = DomId(id);
        d.name = DomainName::new(name);
        d.cpu_time_ns = cpu_ns;
        d.memory_kib = mem_kib;
        d.uuid = Some(Uuid([u8::try_from(id).unwrap_or(u8::MAX); 16]));
        d
    }

    #[test]
    fn test_lists_domains_in_id_order_with_stats() {
        let mut sample = Sample::default();
        sample.domains = vec![
            domain(7, b"web 1", 3_500_000_000, 65_536),
            domain(0, b"Domain-0", 29_000_000_000, 1_048_576),
            domain(3, b"bad\xffname", 1, 2),
        ];
        let mut vms = XenVms::with_backend(Fixed {
            samples: vec![Ok(sample)],
        });
        let list = vms.list().unwrap();
        let ids: Vec<u32> = list.iter().map(|v| v.id).collect();
        assert_eq!(ids, [0, 3, 7]);
        assert_eq!(list[2].name, "web 1");
        assert_eq!(list[1].name, "bad\u{fffd}name");
        assert_eq!(list[0].uuid, "00000000-0000-0000-0000-000000000000");
        assert_eq!(list[2].stats.cpu_time_ns, Some(3_500_000_000));
        assert_eq!(list[2].stats.memory_kib, Some(65_536));
    }

    #[test]
    fn test_a_failing_sample_is_a_source_error_with_its_cause() {
        let mut vms = XenVms::with_backend(Fixed {
            samples: vec![Err(())],
        });
        match vms.list() {
            Err(err @ VhostmdError::XenSource(_)) => {
                // The daemon logs the whole chain on one line, as before.
                let line = crate::log::chain(&err);
                assert!(
                    line.starts_with(
                        "cannot list virtual machines from xen: xenstat_get_node failed"
                    ),
                    "{line}"
                );
                assert!(line.contains("Permission denied"), "{line}");
            }
            other => panic!("expected a VM source error, got {other:?}"),
        }
    }

    fn xen_sample() -> Sample {
        let mut sample = Sample::default();
        sample.node.num_cpus = 2;
        sample.node.cpu_hz = 2_400_000_000;
        sample.node.total_memory_kib = 2047 * 1024;
        sample.node.free_memory_kib = 800 * 1024;
        let mut guest = domain(5, b"sap1", 2_250_000_000, 131_072);
        guest.max_memory_kib = Some(132_096);
        guest.online_vcpus = 2;
        sample.domains = vec![guest, domain(0, b"Domain-0", 29_000_000_000, 1_048_576)];
        sample
    }

    #[test]
    fn test_snapshot_gives_the_hypervisors_host_view_and_vm_limits() {
        let mut vms = XenVms::with_backend(Fixed {
            samples: vec![Ok(xen_sample()), Err(())],
        });
        let snap = vms.snapshot();
        assert!(snap.problem.is_none());
        let expected = HostStats::new(2, 2047 * 1024, 800 * 1024)
            .with_usage(31_250_000_000, 131_072)
            .with_cpu_mhz(Some(2400));
        assert_eq!(snap.host, HostView::Hypervisor(expected));
        assert_eq!(snap.vms.len(), 2);
        assert_eq!(snap.vms[1].name, "sap1");
        assert_eq!(snap.vms[1].stats.max_memory_kib, Some(132_096));
        assert_eq!(snap.vms[1].stats.vcpus, Some(2));
        // The next sample fails: no VMs, and the host view says why instead of falling back
        // to dom0's own figures.
        let snap = vms.snapshot();
        assert!(snap.vms.is_empty());
        assert!(matches!(snap.problem, Some(VhostmdError::XenSource(_))));
        match snap.host {
            HostView::Unavailable(why) => assert!(why.contains("Permission denied"), "{why}"),
            other => panic!("expected an unavailable view, got {other:?}"),
        }
    }

    #[test]
    fn test_another_vm_source_gets_the_xen_host_view() {
        let list = crate::StaticVms::new(vec![Vm::new(9, "listed", "u-9")]);
        let mut source = XenHost::with_backend(
            Box::new(list),
            Fixed {
                samples: vec![Ok(xen_sample()), Err(())],
            },
        );
        assert_eq!(source.name(), "static list");
        let snap = source.snapshot();
        let ids: Vec<u32> = snap.vms.iter().map(|v| v.id).collect();
        assert_eq!(ids, [9], "the VMs are the wrapped source's");
        match snap.host {
            HostView::Hypervisor(h) => {
                assert_eq!((h.physical_cpus, h.total_memory_kib), (2, 2047 * 1024));
            }
            other => panic!("expected the hypervisor's view, got {other:?}"),
        }
        let snap = source.snapshot();
        assert_eq!(
            snap.vms.len(),
            1,
            "the VM list survives a failed host sample"
        );
        assert!(matches!(snap.host, HostView::Unavailable(_)));
        assert!(snap.problem.is_some());
    }

    #[test]
    fn test_new_opens_nothing_until_asked() {
        let vms = XenVms::new();
        assert!(format!("{vms:?}").contains("open: false"));
    }

    #[test]
    fn test_vm_source_by_machine() {
        let open = |kind: VmSourceKind, vms: Option<&Path>, dom0: bool| {
            format!("{:?}", kind.open_for(vms, None, dom0).unwrap())
        };
        // Auto: Xen's domains in a dom0, libvirt elsewhere.
        assert!(open(VmSourceKind::Auto, None, true).starts_with("XenVms"));
        assert!(open(VmSourceKind::Auto, None, false).starts_with("VirshVms"));
        // In a dom0 any other source gets the hypervisor's host figures.
        assert!(open(VmSourceKind::Libvirt, None, true).starts_with("XenHost"));
        assert!(open(VmSourceKind::None, None, true).starts_with("XenHost { vms: NoVms"));
        assert!(open(VmSourceKind::None, None, false).starts_with("NoVms"));
        // A fixed list replaces the choice, Xen's included.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vms");
        std::fs::write(&file, "1\tweb1\t20e9db37-a6ea-42b4-9611-9b9d2aa1cc27\n").unwrap();
        let fixed = open(VmSourceKind::Xen, Some(&file), true);
        assert!(fixed.starts_with("XenHost { vms: StaticVms"), "{fixed}");
        assert!(open(VmSourceKind::Xen, Some(&file), false).starts_with("StaticVms"));
    }
}
