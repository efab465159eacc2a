//! Where samples come from.

use crate::XenError;
use crate::host::HostTopology;
use crate::host::model::{DomainStats, HostInfo, Sample, SampleFlags};

/// A source of host facts and statistics samples.
///
/// The real backend reads Xen through libxenstat and libxenctrl; tests use a recorded one.
pub trait HostBackend {
    /// The `xl info` facts.
    fn host_info(&mut self) -> Result<HostInfo, XenError>;
    /// One statistics sample of the host and every domain, with the details `flags` ask for.
    fn sample(&mut self, flags: SampleFlags) -> Result<Sample, XenError>;
    /// The CPU, PCI device and NUMA topology (`xl info -n`). Backends that have none say so.
    fn topology(&mut self) -> Result<HostTopology, XenError> {
        Err(XenError::Unavailable {
            what: "the CPU and NUMA topology",
            source_kind: "backend",
        })
    }
}

/// A Xen host seen through a backend.
#[derive(Debug)]
pub struct Host<B> {
    backend: B,
}

impl<B: HostBackend> Host<B> {
    /// A host over the given backend.
    pub fn with_backend(backend: B) -> Host<B> {
        Host { backend }
    }

    /// The `xl info` facts: Xen version, capabilities, CPUs, memory, scheduler.
    pub fn info(&mut self) -> Result<HostInfo, XenError> {
        self.backend.host_info()
    }

    /// The `xl info` facts with the CPU, device and NUMA topology (`xl info -n`).
    pub fn info_with_topology(&mut self) -> Result<HostInfo, XenError> {
        let mut info = self.backend.host_info()?;
        info.topology = Some(self.backend.topology()?);
        Ok(info)
    }

    /// The CPU, PCI device and NUMA topology alone.
    pub fn topology(&mut self) -> Result<HostTopology, XenError> {
        self.backend.topology()
    }

    /// Every domain, in domid order, with vCPU, vif and vbd details.
    pub fn domains(&mut self) -> Result<Vec<DomainStats>, XenError> {
        let mut sample = self.backend.sample(SampleFlags::all())?;
        sample.domains.sort_by_key(|d| d.domid);
        Ok(sample.domains)
    }

    /// One sample with the details `flags` ask for (cheaper than [`Host::domains`] when the
    /// caller needs no vCPU, network or block details).
    pub fn sample(&mut self, flags: SampleFlags) -> Result<Sample, XenError> {
        self.backend.sample(flags)
    }

    /// The backend, e.g. to inspect a recorded one in tests.
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }
}
