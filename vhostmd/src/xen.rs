//! The Xen VM source: the domains of the host this runs on, through `xen-core`.

use std::fmt;

use xen_core::XenError;
use xen_core::host::{DomainStats, Host, HostBackend, SampleFlags, XenBackend};

use crate::error::VhostmdError;
use crate::vms::{Vm, VmSource, VmStats};

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
    vm.stats = VmStats::new(Some(domain.cpu_time_ns), Some(domain.memory_kib));
    vm
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
        self.open()?;
        let host = self.host.as_mut().ok_or_else(|| VhostmdError::VmSource {
            source_name: "xen",
            message: "the Xen host is not open".into(),
        })?;
        // UUIDs, but no vCPU, network or block details: the per-VM collectors need only CPU
        // time and memory, and skipping them keeps an update cheap.
        let mut sample = host
            .sample(SampleFlags::IDENTITY)
            .map_err(VhostmdError::XenSource)?;
        sample.domains.sort_by_key(|d| d.domid);
        Ok(sample.domains.iter().map(vm_of).collect())
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

    #[test]
    fn test_new_opens_nothing_until_asked() {
        let vms = XenVms::new();
        assert!(format!("{vms:?}").contains("open: false"));
    }
}
