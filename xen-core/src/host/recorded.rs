//! A backend that replays recorded samples: for tests, benchmarks, and tools that render
//! captures made elsewhere.

use std::collections::VecDeque;

use crate::XenError;
use crate::host::HostTopology;
use crate::host::backend::HostBackend;
use crate::host::model::{HostInfo, Sample, SampleFlags};

/// Replays a fixed host info and a list of samples, one per [`HostBackend::sample`] call.
///
/// Like the real backend, a sample only carries the details the caller asked for: vCPUs,
/// vifs, VBDs and the Xen version are dropped unless their [`SampleFlags`] are set. After the
/// last sample, `sample` fails with [`XenError::RecordingExhausted`] (or starts over, with
/// [`RecordedBackend::looping`]).
///
/// ```
/// use xen_core::host::{Host, HostInfo, RecordedBackend, Sample, SampleFlags};
///
/// let mut host = Host::with_backend(RecordedBackend::new(
///     HostInfo::default(),
///     vec![Sample::default(), Sample::default()],
/// ));
/// assert!(host.sample(SampleFlags::all()).is_ok());
/// assert!(host.sample(SampleFlags::all()).is_ok());
/// assert!(host.sample(SampleFlags::all()).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct RecordedBackend {
    info: HostInfo,
    all: Vec<Sample>,
    pending: VecDeque<Sample>,
    looping: bool,
}

impl RecordedBackend {
    /// A backend that answers `info` and then `samples` in order.
    pub fn new(info: HostInfo, samples: Vec<Sample>) -> RecordedBackend {
        RecordedBackend {
            info,
            pending: samples.iter().cloned().collect(),
            all: samples,
            looping: false,
        }
    }

    /// Starts over after the last sample instead of failing (for benchmarks and demos). The
    /// clocks keep advancing: each round is shifted by the recording's length, so rates
    /// stay sensible.
    pub fn looping(mut self) -> RecordedBackend {
        self.looping = true;
        self
    }

    /// Appends a sample to replay.
    pub fn push(&mut self, sample: Sample) {
        self.all.push(sample.clone());
        self.pending.push_back(sample);
    }

    /// Samples not replayed yet (in the current round).
    pub fn remaining(&self) -> usize {
        self.pending.len()
    }

    /// Refills the queue for another round, shifted in time past the last sample.
    fn next_round(&mut self) {
        let (Some(first), Some(last)) = (self.all.first(), self.all.last()) else {
            return;
        };
        // One average interval between rounds, so the first sample of a round is not at the
        // same instant as the last of the previous one.
        let span_mono = last.monotonic_ns.saturating_sub(first.monotonic_ns);
        let span_unix = last.unix_time_ns.saturating_sub(first.unix_time_ns);
        let gaps = u64::try_from(self.all.len().saturating_sub(1))
            .unwrap_or(u64::MAX)
            .max(1);
        let shift_mono = span_mono.saturating_add(span_mono / gaps).max(1);
        let shift_unix = span_unix.saturating_add(span_unix / gaps).max(1);
        for sample in &mut self.all {
            sample.monotonic_ns = sample.monotonic_ns.saturating_add(shift_mono);
            sample.unix_time_ns = sample.unix_time_ns.saturating_add(shift_unix);
        }
        self.pending = self.all.iter().cloned().collect();
    }
}

impl HostBackend for RecordedBackend {
    fn host_info(&mut self) -> Result<HostInfo, XenError> {
        // The topology is answered separately, as the real backend does.
        Ok(HostInfo {
            topology: None,
            ..self.info.clone()
        })
    }

    fn topology(&mut self) -> Result<HostTopology, XenError> {
        self.info.topology.clone().ok_or(XenError::Unavailable {
            what: "the CPU and NUMA topology",
            source_kind: "recording (made without `xl info -n`)",
        })
    }

    fn sample(&mut self, flags: SampleFlags) -> Result<Sample, XenError> {
        if self.pending.is_empty() && self.looping {
            self.next_round();
        }
        let mut sample = self
            .pending
            .pop_front()
            .ok_or(XenError::RecordingExhausted {
                recorded: self.all.len(),
            })?;
        if !flags.contains(SampleFlags::XEN_VERSION) {
            sample.node.xen_version = None;
        }
        for domain in &mut sample.domains {
            if !flags.contains(SampleFlags::VCPUS) {
                domain.vcpus.clear();
            }
            if !flags.contains(SampleFlags::NETWORKS) {
                domain.vifs.clear();
            }
            if !flags.contains(SampleFlags::VBDS) {
                domain.vbds.clear();
            }
        }
        Ok(sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::model::{DomainStats, VbdStats, VcpuStats, VifStats};

    fn sample_at(ns: u64) -> Sample {
        let mut domain = DomainStats::default();
        domain.vcpus.push(VcpuStats::default());
        domain.vifs.push(VifStats::default());
        domain.vbds.push(VbdStats::default());
        let mut sample = Sample {
            monotonic_ns: ns,
            unix_time_ns: ns + 1_700_000_000_000_000_000,
            domains: vec![domain],
            ..Sample::default()
        };
        sample.node.xen_version = Some("4.17.5".into());
        sample
    }

    #[test]
    fn test_replays_in_order_then_reports_exhaustion() {
        let mut backend =
            RecordedBackend::new(HostInfo::default(), vec![sample_at(1), sample_at(2)]);
        assert_eq!(backend.remaining(), 2);
        assert_eq!(
            backend
                .sample(SampleFlags::all())
                .map(|s| s.monotonic_ns)
                .ok(),
            Some(1)
        );
        assert_eq!(
            backend
                .sample(SampleFlags::all())
                .map(|s| s.monotonic_ns)
                .ok(),
            Some(2)
        );
        match backend.sample(SampleFlags::all()) {
            Err(XenError::RecordingExhausted { recorded: 2 }) => {}
            other => panic!("expected exhaustion, got {other:?}"),
        }
    }

    #[test]
    fn test_flags_drop_details_not_asked_for() {
        let mut backend =
            RecordedBackend::new(HostInfo::default(), vec![sample_at(1), sample_at(2)]);
        let bare = backend.sample(SampleFlags::empty()).unwrap();
        assert!(bare.domains[0].vcpus.is_empty());
        assert!(bare.domains[0].vifs.is_empty());
        assert!(bare.domains[0].vbds.is_empty());
        assert_eq!(bare.node.xen_version, None);
        let full = backend.sample(SampleFlags::all()).unwrap();
        assert_eq!(full.domains[0].vcpus.len(), 1);
        assert_eq!(full.domains[0].vifs.len(), 1);
        assert_eq!(full.domains[0].vbds.len(), 1);
        assert_eq!(full.node.xen_version.as_deref(), Some("4.17.5"));
    }

    #[test]
    fn test_looping_keeps_time_moving_forward() {
        let mut backend =
            RecordedBackend::new(HostInfo::default(), vec![sample_at(0), sample_at(1_000)])
                .looping();
        let times: Vec<u64> = (0..5)
            .map(|_| backend.sample(SampleFlags::all()).unwrap().monotonic_ns)
            .collect();
        assert_eq!(times, vec![0, 1_000, 2_000, 3_000, 4_000]);
    }

    #[test]
    fn test_host_info_is_replayed() {
        let info = HostInfo {
            host: "xenlab".into(),
            ..HostInfo::default()
        };
        let mut backend = RecordedBackend::new(info, Vec::new());
        assert_eq!(backend.host_info().unwrap().host, "xenlab");
        assert!(backend.sample(SampleFlags::all()).is_err());
    }
}
