//! The real backend: libxenstat for the samples, libxenctrl for what libxenstat lacks (UUIDs,
//! online vCPUs) and for the `xl info` facts.
//!
//! The mapping from the C values to the model is plain functions at the end of this file, so
//! that it is tested without Xen.

// Length note: over 700 lines only with the unit tests at the bottom (the backend itself is
// about 410 lines); they drive it through fake FFI results.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use xen_sys::v4_17::types::{
    XEN_SCHEDULER_ARINC653, XEN_SCHEDULER_CREDIT, XEN_SCHEDULER_CREDIT2, XEN_SCHEDULER_NULL,
    XEN_SCHEDULER_RTDS, XEN_SYSCTL_PHYSCAP_directio, XEN_SYSCTL_PHYSCAP_gnttab_v1,
    XEN_SYSCTL_PHYSCAP_gnttab_v2, XEN_SYSCTL_PHYSCAP_hap, XEN_SYSCTL_PHYSCAP_hvm,
    XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share, XEN_SYSCTL_PHYSCAP_pv, XEN_SYSCTL_PHYSCAP_shadow,
    XEN_SYSCTL_PHYSCAP_vmtrace, XEN_SYSCTL_PHYSCAP_vpmu, XENSTAT_NETWORK, XENSTAT_VBD,
    XENSTAT_VCPU, XENSTAT_XEN_VERSION,
};
use xen_sys::{LoadOptions, XenCtrl, XenStat, XenStore, XenToolLog};

use crate::XenError;
use crate::ffi::{
    DomainInfo, PhysInfo, StatDomain, StatNode, VersionInfo, XcInterface, XenStatHandle,
    XenStoreHandle, XtlLogger, dom0,
};
use crate::host::HostTopology;
use crate::host::backend::HostBackend;
use crate::host::model::{
    DomId, DomainName, DomainState, DomainStats, HostInfo, NodeStats, Sample, SampleFlags, Uuid,
    VbdKind, VbdStats, VcpuStats, VifStats,
};
use crate::host::pci_sysfs::{PCI_DEVICES, list_pci_devices};

// The model's flags are libxenstat's, bit for bit.
const _: () = {
    assert!(SampleFlags::VCPUS.bits() == XENSTAT_VCPU);
    assert!(SampleFlags::NETWORKS.bits() == XENSTAT_NETWORK);
    assert!(SampleFlags::XEN_VERSION.bits() == XENSTAT_XEN_VERSION);
    assert!(SampleFlags::VBDS.bits() == XENSTAT_VBD);
};

/// How often a sample is tried: `xenstat_get_node` fails as a whole when a domain dies while
/// its vCPUs are being read, and the next try no longer sees that domain.
const SAMPLE_ATTEMPTS: usize = 3;

/// Reads the running Xen host through its libraries.
#[derive(Debug)]
pub struct XenBackend {
    // Fields drop in order: the handles first, then the libraries they were loaded with.
    stat: XenStatHandle,
    xc: XcInterface,
    _store: Arc<XenStore>,
    _toollog: Arc<XenToolLog>,
}

impl XenBackend {
    /// Opens the Xen libraries (as [`LoadOptions::from_env`] says: `XENADM_XEN_LIBDIR`) and
    /// the hypervisor interfaces.
    pub fn open() -> Result<XenBackend, XenError> {
        XenBackend::open_with(&LoadOptions::from_env())
    }

    /// Opens the Xen libraries found as `libraries` says, then checks that this is a dom0 we
    /// may drive (root, xenstored running) before opening libxenctrl and libxenstat.
    pub fn open_with(libraries: &LoadOptions) -> Result<XenBackend, XenError> {
        // Dependency order, so that a folder's libraries resolve each other by soname.
        let toollog = Arc::new(XenToolLog::load_with(libraries)?);
        let store = Arc::new(XenStore::load_with(libraries)?);
        let ctrl = Arc::new(XenCtrl::load_with(libraries)?);
        let stat = Arc::new(XenStat::load_with(libraries)?);

        dom0::check()?;
        // libxenstat needs xenstored; ask first, so that its absence is a clear error rather
        // than libxenstat's perror line.
        drop(XenStoreHandle::open(Arc::clone(&store))?);
        let xc = XcInterface::open(ctrl, XtlLogger::tracing())?;
        let stat = XenStatHandle::open(stat)?;
        Ok(XenBackend {
            stat,
            xc,
            _store: store,
            _toollog: toollog,
        })
    }

    /// One libxenstat sample, retried when a domain vanished during it.
    fn stat_node(&mut self, flags: SampleFlags) -> Result<StatNode, XenError> {
        let mut attempt = 1;
        loop {
            // Only libxenstat's own XENSTAT_* bits go to libxenstat.
            let xenstat_flags = flags.difference(SampleFlags::IDENTITY);
            match self.stat.node(xenstat_flags.bits()) {
                Ok(node) => return Ok(node.snapshot()),
                Err(error) if attempt >= SAMPLE_ATTEMPTS => return Err(error),
                Err(error) => {
                    tracing::debug!(target: "xen", %error, attempt, "retrying xenstat_get_node");
                    attempt += 1;
                }
            }
        }
    }
}

impl HostBackend for XenBackend {
    fn host_info(&mut self) -> Result<HostInfo, XenError> {
        let uts = nix::sys::utsname::uname().map_err(|errno| XenError::Call {
            call: "uname",
            source: std::io::Error::from(errno),
        })?;
        let uname = Uname {
            host: uts.nodename().to_string_lossy().into_owned(),
            release: uts.release().to_string_lossy().into_owned(),
            version: uts.version().to_string_lossy().into_owned(),
            machine: uts.machine().to_string_lossy().into_owned(),
        };
        let facts = HypervisorFacts {
            phys: self.xc.physinfo()?,
            version: self.xc.version_info()?,
            sched_id: self.xc.sched_id()?,
            free_cpus: self.xc.free_cpus()?,
            sharing_pages: self.xc.sharing_pages()?,
        };
        Ok(host_info(uname, &facts))
    }

    /// As libxl_get_cpu_topology, libxl_get_pci_topology and libxl_get_numainfo: the device
    /// table is left out (not an error) when the devices cannot be listed or Xen refuses.
    fn topology(&mut self) -> Result<HostTopology, XenError> {
        let cpus = self.xc.cpu_topology()?;
        let pci_devices = list_pci_devices(Path::new(PCI_DEVICES)).and_then(|mut devices| {
            let nodes = self.xc.pci_nodes(&devices).ok()?;
            for (device, node) in devices.iter_mut().zip(nodes) {
                device.node = node;
            }
            Some(devices)
        });
        let nodes = self.xc.numa_nodes()?;
        Ok(HostTopology {
            cpus,
            pci_devices,
            nodes,
        })
    }

    fn sample(&mut self, flags: SampleFlags) -> Result<Sample, XenError> {
        let monotonic_ns = monotonic_ns()?;
        let unix_time_ns = unix_time_ns();
        let node = self.stat_node(flags)?;
        let infos: HashMap<DomId, DomainInfo> = if flags.contains(SampleFlags::IDENTITY) {
            self.xc
                .domains()?
                .into_iter()
                .map(|info| (info.domid, info))
                .collect()
        } else {
            HashMap::new()
        };
        Ok(sample(monotonic_ns, unix_time_ns, &node, &infos))
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
fn monotonic_ns() -> Result<u64, XenError> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_err(|errno| {
        XenError::Call {
            call: "clock_gettime",
            source: std::io::Error::from(errno),
        }
    })?;
    let secs = u64::try_from(now.tv_sec()).unwrap_or(0);
    let nanos = u64::try_from(now.tv_nsec()).unwrap_or(0);
    Ok(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

/// Unix time in nanoseconds (0 before 1970, which a dom0 clock never is).
fn unix_time_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

// ---- Mapping C values to the model (pure) ----

/// The uname fields `xl info` starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Uname {
    host: String,
    release: String,
    version: String,
    machine: String,
}

/// Everything `xl info` asks the hypervisor.
#[derive(Debug, Clone, Default)]
struct HypervisorFacts {
    phys: PhysInfo,
    version: VersionInfo,
    sched_id: u32,
    free_cpus: u32,
    /// (freed by sharing, used by shared frames), in pages.
    sharing_pages: (u64, u64),
}

/// A sample from libxenstat's node and libxenctrl's domain list.
///
/// libxenstat's list decides which domains there are. A domain it saw that libxenctrl no
/// longer knows (destroyed between the two calls) keeps its libxenstat values, without UUID,
/// and counts its online vCPUs from the vCPU details when they were sampled.
fn sample(
    monotonic_ns: u64,
    unix_time_ns: u64,
    node: &StatNode,
    infos: &HashMap<DomId, DomainInfo>,
) -> Sample {
    Sample {
        monotonic_ns,
        unix_time_ns,
        node: node_stats(node),
        domains: node
            .domains
            .iter()
            .map(|domain| domain_stats(domain, infos.get(&DomId(domain.id))))
            .collect(),
    }
}

fn node_stats(node: &StatNode) -> NodeStats {
    NodeStats {
        xen_version: node.xen_version.clone(),
        num_cpus: node.num_cpus,
        cpu_hz: node.cpu_hz,
        total_memory_kib: node.tot_mem_bytes / 1024,
        free_memory_kib: node.free_mem_bytes / 1024,
    }
}

fn domain_stats(domain: &StatDomain, info: Option<&DomainInfo>) -> DomainStats {
    let online_from_details = domain.vcpus.iter().filter(|v| v.online).count();
    DomainStats {
        domid: DomId(domain.id),
        name: DomainName::new(domain.name.clone()),
        uuid: info.map(|info| Uuid(info.handle)),
        state: state(domain),
        cpu_time_ns: domain.cpu_ns,
        memory_kib: domain.cur_mem_bytes / 1024,
        max_memory_kib: max_memory_kib(domain.max_mem_bytes),
        online_vcpus: match info {
            Some(info) => info.nr_online_vcpus,
            None => u32::try_from(online_from_details).unwrap_or(u32::MAX),
        },
        max_vcpus: domain.num_vcpus,
        ssid: domain.ssid,
        vcpus: domain
            .vcpus
            .iter()
            .zip(0..)
            .map(|(vcpu, id)| VcpuStats {
                id,
                online: vcpu.online,
                cpu_time_ns: vcpu.ns,
            })
            .collect(),
        vifs: domain
            .networks
            .iter()
            .map(|n| VifStats {
                devid: n.id,
                rx_bytes: n.rbytes,
                rx_packets: n.rpackets,
                rx_errors: n.rerrs,
                rx_drops: n.rdrop,
                tx_bytes: n.tbytes,
                tx_packets: n.tpackets,
                tx_errors: n.terrs,
                tx_drops: n.tdrop,
            })
            .collect(),
        vbds: domain
            .vbds
            .iter()
            .map(|v| VbdStats {
                devid: v.dev,
                kind: vbd_kind(v.kind),
                error: v.error,
                oo_requests: v.oo_reqs,
                read_requests: v.rd_reqs,
                write_requests: v.wr_reqs,
                read_sectors: v.rd_sects,
                write_sectors: v.wr_sects,
            })
            .collect(),
    }
}

/// The model's state flags. libxenstat splits "shut down" into `shutdown` (any reason but a
/// crash) and `crashed`; the model follows `xl list`: SHUTDOWN for any reason, plus CRASHED
/// when the reason was a crash.
fn state(domain: &StatDomain) -> DomainState {
    let mut state = DomainState::empty();
    state.set(DomainState::RUNNING, domain.running);
    state.set(DomainState::BLOCKED, domain.blocked);
    state.set(DomainState::PAUSED, domain.paused);
    state.set(DomainState::SHUTDOWN, domain.shutdown || domain.crashed);
    state.set(DomainState::CRASHED, domain.crashed);
    state.set(DomainState::DYING, domain.dying);
    state
}

/// libxenstat reports an unlimited domain (`max_pages == UINT_MAX`) as `(unsigned long
/// long)-1` bytes, which xentop prints as `no limit`.
fn max_memory_kib(max_mem_bytes: u64) -> Option<u64> {
    (max_mem_bytes != u64::MAX).then_some(max_mem_bytes / 1024)
}

/// libxenstat's VBD types (xentop's names: Unidentified, BlkBack, BlkTap, Tapdisk3).
fn vbd_kind(kind: u32) -> VbdKind {
    match kind {
        1 => VbdKind::BlkBack,
        2 => VbdKind::BlkTap,
        3 => VbdKind::Tapdisk3,
        _ => VbdKind::Unidentified,
    }
}

/// `xl info`'s facts, computed as tools/xl/xl_info.c and libxl do.
fn host_info(uname: Uname, facts: &HypervisorFacts) -> HostInfo {
    let phys = &facts.phys;
    let version = &facts.version;
    let kib = |pages: u64| pages.saturating_mul(u64::from(version.pagesize) / 1024);
    HostInfo {
        host: uname.host,
        release: uname.release,
        version: uname.version,
        machine: uname.machine,
        nr_cpus: phys.nr_cpus,
        max_cpu_id: phys.max_cpu_id,
        nr_nodes: phys.nr_nodes,
        cores_per_socket: phys.cores_per_socket,
        threads_per_core: phys.threads_per_core,
        cpu_khz: phys.cpu_khz,
        hw_caps: phys.hw_cap,
        virt_caps: virt_caps(phys.capabilities),
        total_memory_kib: kib(phys.total_pages),
        // Raw free memory; `xl info` prints it net of outstanding claims (the renderer
        // subtracts them).
        free_memory_kib: kib(phys.free_pages),
        sharing_freed_memory_kib: kib(facts.sharing_pages.0),
        sharing_used_memory_kib: kib(facts.sharing_pages.1),
        outstanding_claims_kib: kib(phys.outstanding_pages),
        free_cpus: facts.free_cpus,
        xen_major: version.major,
        xen_minor: version.minor,
        xen_extra: version.extra.clone(),
        xen_caps: version.capabilities.clone(),
        xen_scheduler: scheduler_name(facts.sched_id).to_owned(),
        xen_pagesize: version.pagesize,
        platform_params: format!("virt_start=0x{:x}", version.virt_start),
        xen_changeset: version.changeset.clone(),
        xen_commandline: version.commandline.clone(),
        cc_compiler: version.compiler.clone(),
        cc_compile_by: version.compile_by.clone(),
        cc_compile_domain: version.compile_domain.clone(),
        cc_compile_date: version.compile_date.clone(),
        build_id: version.build_id.clone(),
        topology: None,
    }
}

/// `virt_caps` in xl's order (Xen 4.17). The directio capability shows as `hvm_directio`
/// and/or `pv_directio`, depending on which guest types exist.
fn virt_caps(capabilities: u32) -> Vec<String> {
    let has = |bit: u32| capabilities & bit != 0;
    let directio = has(XEN_SYSCTL_PHYSCAP_directio);
    [
        ("pv", has(XEN_SYSCTL_PHYSCAP_pv)),
        ("hvm", has(XEN_SYSCTL_PHYSCAP_hvm)),
        ("hvm_directio", has(XEN_SYSCTL_PHYSCAP_hvm) && directio),
        ("pv_directio", has(XEN_SYSCTL_PHYSCAP_pv) && directio),
        ("hap", has(XEN_SYSCTL_PHYSCAP_hap)),
        ("shadow", has(XEN_SYSCTL_PHYSCAP_shadow)),
        (
            "iommu_hap_pt_share",
            has(XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share),
        ),
        ("vmtrace", has(XEN_SYSCTL_PHYSCAP_vmtrace)),
        ("vpmu", has(XEN_SYSCTL_PHYSCAP_vpmu)),
        ("gnttab-v1", has(XEN_SYSCTL_PHYSCAP_gnttab_v1)),
        ("gnttab-v2", has(XEN_SYSCTL_PHYSCAP_gnttab_v2)),
    ]
    .into_iter()
    .filter(|&(_, present)| present)
    .map(|(name, _)| name.to_owned())
    .collect()
}

/// libxl's name of a `XEN_SCHEDULER_*` id.
fn scheduler_name(id: u32) -> &'static str {
    match id {
        4 => "sedf",
        XEN_SCHEDULER_CREDIT => "credit",
        XEN_SCHEDULER_CREDIT2 => "credit2",
        XEN_SCHEDULER_ARINC653 => "arinc653",
        XEN_SCHEDULER_RTDS => "rtds",
        XEN_SCHEDULER_NULL => "null",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::{StatNetwork, StatVbd, StatVcpu};

    /// web1 as libxenstat reported it in the lab (testdata/xen-real, xentop -b -n -x -v).
    fn web1() -> StatDomain {
        StatDomain {
            id: 1,
            name: b"web1".to_vec(),
            blocked: true,
            cpu_ns: 4_000_000_000,
            cur_mem_bytes: 65536 * 1024,
            max_mem_bytes: 66560 * 1024,
            num_vcpus: 1,
            vcpus: vec![StatVcpu {
                online: true,
                ns: 4_000_000_000,
            }],
            networks: vec![StatNetwork {
                rbytes: 2792,
                rpackets: 14,
                tbytes: 3934,
                tpackets: 25,
                ..StatNetwork::default()
            }],
            vbds: vec![StatVbd {
                kind: 1,
                dev: 51728,
                rd_reqs: 7,
                rd_sects: 200,
                ..StatVbd::default()
            }],
            ..StatDomain::default()
        }
    }

    fn info(domid: u32, online: u32, handle: [u8; 16]) -> DomainInfo {
        DomainInfo {
            domid: DomId(domid),
            nr_online_vcpus: online,
            handle,
            ..DomainInfo::default()
        }
    }

    #[test]
    fn state_flags_follow_xl_list() {
        let none = StatDomain::default();
        assert_eq!(state(&none), DomainState::empty());
        let running = StatDomain {
            running: true,
            ..StatDomain::default()
        };
        assert_eq!(state(&running), DomainState::RUNNING);
        let paused = StatDomain {
            blocked: true,
            paused: true,
            ..StatDomain::default()
        };
        assert_eq!(state(&paused), DomainState::BLOCKED | DomainState::PAUSED);
        // libxenstat: shutdown and crashed are exclusive; the model sets SHUTDOWN for both.
        let crashed = StatDomain {
            crashed: true,
            ..StatDomain::default()
        };
        assert_eq!(
            state(&crashed),
            DomainState::SHUTDOWN | DomainState::CRASHED
        );
        let off = StatDomain {
            shutdown: true,
            dying: true,
            ..StatDomain::default()
        };
        assert_eq!(state(&off), DomainState::SHUTDOWN | DomainState::DYING);
    }

    #[test]
    fn unlimited_memory_is_none() {
        assert_eq!(max_memory_kib(u64::MAX), None);
        assert_eq!(max_memory_kib(66560 * 1024), Some(66560));
        // Only libxenstat's exact marker means unlimited.
        assert_eq!(
            max_memory_kib(u64::MAX - 4095),
            Some((u64::MAX - 4095) / 1024)
        );
        assert_eq!(max_memory_kib(0), Some(0));
    }

    #[test]
    fn vbd_types_are_named_as_xentop_does() {
        assert_eq!(vbd_kind(0), VbdKind::Unidentified);
        assert_eq!(vbd_kind(1), VbdKind::BlkBack);
        assert_eq!(vbd_kind(2), VbdKind::BlkTap);
        assert_eq!(vbd_kind(3), VbdKind::Tapdisk3);
        assert_eq!(vbd_kind(99), VbdKind::Unidentified);
    }

    #[test]
    fn a_domain_merges_xenstat_and_xenctrl() {
        let uuid = [
            0x20, 0xe9, 0xdb, 0x37, 0xa6, 0xea, 0x42, 0xb4, 0x96, 0x11, 0x9b, 0x9d, 0x2a, 0xa1,
            0xcc, 0x27,
        ];
        let stats = domain_stats(&web1(), Some(&info(1, 1, uuid)));
        assert_eq!(stats.domid, DomId(1));
        assert_eq!(stats.name.as_bytes(), b"web1");
        assert_eq!(
            stats.uuid.map(|u| u.to_string()).as_deref(),
            Some("20e9db37-a6ea-42b4-9611-9b9d2aa1cc27")
        );
        assert_eq!(stats.state, DomainState::BLOCKED);
        assert_eq!(stats.cpu_time_ns, 4_000_000_000);
        assert_eq!(
            (stats.memory_kib, stats.max_memory_kib),
            (65536, Some(66560))
        );
        assert_eq!((stats.online_vcpus, stats.max_vcpus), (1, 1));
        assert_eq!(stats.vcpus.len(), 1);
        assert_eq!((stats.vcpus[0].id, stats.vcpus[0].online), (0, true));
        let vif = &stats.vifs[0];
        assert_eq!(
            (vif.rx_bytes, vif.rx_packets, vif.tx_bytes, vif.tx_packets),
            (2792, 14, 3934, 25)
        );
        let vbd = &stats.vbds[0];
        assert_eq!(
            (vbd.devid, vbd.kind, vbd.error),
            (51728, VbdKind::BlkBack, false)
        );
        assert_eq!(
            (vbd.read_requests, vbd.read_sectors, vbd.write_requests),
            (7, 200, 0)
        );
    }

    #[test]
    fn a_domain_gone_from_xenctrl_keeps_its_xenstat_values() {
        let mut d = web1();
        d.num_vcpus = 4;
        let offline = StatVcpu {
            online: false,
            ns: 0,
        };
        d.vcpus.extend([
            offline,
            offline,
            StatVcpu {
                online: true,
                ns: 1,
            },
        ]);
        let stats = domain_stats(&d, None);
        assert_eq!(stats.uuid, None);
        assert_eq!(stats.online_vcpus, 2);
        assert_eq!(stats.max_vcpus, 4);
        assert_eq!(stats.memory_kib, 65536);
    }

    #[test]
    fn a_sample_keeps_xenstat_order_and_node_numbers() {
        let dom0 = StatDomain {
            name: b"Domain-0".to_vec(),
            max_mem_bytes: u64::MAX,
            ..StatDomain::default()
        };
        let node = StatNode {
            xen_version: Some("4.17.5".to_owned()),
            num_cpus: 2,
            cpu_hz: 2_596_144_000,
            tot_mem_bytes: 2047 * 1024 * 1024,
            free_mem_bytes: 936 * 1024 * 1024 + 512,
            domains: vec![web1(), dom0],
        };
        // Domain 1 is unknown to xenctrl (gone); dom0 is known.
        let infos = HashMap::from([(DomId(0), info(0, 2, [0; 16]))]);
        let sample = sample(7, 11, &node, &infos);
        assert_eq!((sample.monotonic_ns, sample.unix_time_ns), (7, 11));
        assert_eq!(sample.node.xen_version.as_deref(), Some("4.17.5"));
        assert_eq!(
            (sample.node.num_cpus, sample.node.cpu_hz),
            (2, 2_596_144_000)
        );
        assert_eq!(sample.node.total_memory_kib, 2047 * 1024);
        assert_eq!(sample.node.free_memory_kib, 936 * 1024);
        let ids: Vec<u32> = sample.domains.iter().map(|d| d.domid.0).collect();
        assert_eq!(ids, [1, 0]);
        assert_eq!(sample.domains[0].uuid, None);
        let dom0 = &sample.domains[1];
        assert_eq!(
            dom0.uuid.map(|u| u.to_string()).as_deref(),
            Some("00000000-0000-0000-0000-000000000000")
        );
        assert_eq!((dom0.online_vcpus, dom0.max_memory_kib), (2, None));
    }

    #[test]
    fn virt_caps_follow_xl_order() {
        // The lab host: pv hvm hap shadow gnttab-v1 gnttab-v2.
        let lab = XEN_SYSCTL_PHYSCAP_hvm
            | XEN_SYSCTL_PHYSCAP_pv
            | XEN_SYSCTL_PHYSCAP_hap
            | XEN_SYSCTL_PHYSCAP_shadow
            | XEN_SYSCTL_PHYSCAP_gnttab_v1
            | XEN_SYSCTL_PHYSCAP_gnttab_v2;
        assert_eq!(
            virt_caps(lab),
            ["pv", "hvm", "hap", "shadow", "gnttab-v1", "gnttab-v2"]
        );
        assert_eq!(
            virt_caps(XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_directio),
            ["hvm", "hvm_directio"]
        );
        assert_eq!(
            virt_caps(XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_directio),
            ["pv", "hvm", "hvm_directio", "pv_directio"]
        );
        assert!(virt_caps(0).is_empty());
        assert!(virt_caps(XEN_SYSCTL_PHYSCAP_directio).is_empty());
    }

    #[test]
    fn schedulers_have_libxl_names() {
        assert_eq!(scheduler_name(XEN_SCHEDULER_CREDIT2), "credit2");
        assert_eq!(scheduler_name(XEN_SCHEDULER_CREDIT), "credit");
        assert_eq!(scheduler_name(XEN_SCHEDULER_NULL), "null");
        assert_eq!(scheduler_name(XEN_SCHEDULER_RTDS), "rtds");
        assert_eq!(scheduler_name(XEN_SCHEDULER_ARINC653), "arinc653");
        assert_eq!(scheduler_name(4), "sedf");
        assert_eq!(scheduler_name(42), "unknown");
    }

    /// The lab host's facts, as the hypervisor reports them (testdata/xen-real/xl-info.guests.txt).
    fn lab_facts() -> HypervisorFacts {
        let phys = PhysInfo {
            threads_per_core: 1,
            cores_per_socket: 2,
            nr_cpus: 2,
            max_cpu_id: 1,
            nr_nodes: 1,
            cpu_khz: 2_596_144,
            capabilities: XEN_SYSCTL_PHYSCAP_hvm
                | XEN_SYSCTL_PHYSCAP_pv
                | XEN_SYSCTL_PHYSCAP_hap
                | XEN_SYSCTL_PHYSCAP_shadow
                | XEN_SYSCTL_PHYSCAP_gnttab_v1
                | XEN_SYSCTL_PHYSCAP_gnttab_v2,
            total_pages: 2047 * 256 + 100,
            free_pages: 936 * 256 + 3,
            hw_cap: [
                0x1fcb_f3fd,
                0xf6f8_320b,
                0xec50_0800,
                0x0000_0177,
                0x0000_0005,
                0x219c_43a9,
                0x0040_020c,
                0,
            ],
            ..PhysInfo::default()
        };
        let version = VersionInfo {
            major: 4,
            minor: 17,
            extra: ".5".to_owned(),
            compiler: "x86_64-linux-gnu-gcc (Debian 12.2.0-14+deb12u1) 12.2.0".to_owned(),
            compile_by: "pkg-xen-devel".to_owned(),
            compile_domain: "lists.alioth.debian.org".to_owned(),
            compile_date: "Sat Nov 29 13:52:25 UTC 2025".to_owned(),
            capabilities: "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64 "
                .to_owned(),
            virt_start: 0xffff_8000_0000_0000,
            pagesize: 4096,
            commandline: "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M".to_owned(),
            build_id: Some("39a640e6f1412319235087391df9f1c5e13ae920".to_owned()),
            ..VersionInfo::default()
        };
        HypervisorFacts {
            phys,
            version,
            sched_id: XEN_SCHEDULER_CREDIT2,
            free_cpus: 0,
            sharing_pages: (0, 0),
        }
    }

    #[test]
    fn host_info_renders_like_the_lab_xl_info() {
        let uname = Uname {
            host: "xenlab".to_owned(),
            release: "6.1.0-56-amd64".to_owned(),
            version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)".to_owned(),
            machine: "x86_64".to_owned(),
        };
        let info = host_info(uname, &lab_facts());
        let mut text = Vec::new();
        crate::render::xl_info::write(&mut text, &info).unwrap();
        let text = String::from_utf8(text).unwrap();
        // The lines of the lab's real `xl info` that do not depend on the command line above.
        let expected = include_str!("../../tests/data/xen-backend/xl-info.guests.txt");
        for key in [
            "host",
            "release",
            "machine",
            "nr_cpus",
            "max_cpu_id",
            "nr_nodes",
            "cores_per_socket",
            "threads_per_core",
            "cpu_mhz",
            "hw_caps",
            "virt_caps",
            "total_memory",
            "free_memory",
            "sharing_freed_memory",
            "outstanding_claims",
            "free_cpus",
            "xen_major",
            "xen_minor",
            "xen_extra",
            "xen_version",
            "xen_caps",
            "xen_scheduler",
            "xen_pagesize",
            "platform_params",
            "xen_changeset",
            "cc_compiler",
            "cc_compile_by",
            "cc_compile_domain",
            "cc_compile_date",
            "build_id",
        ] {
            let line = |text: &str| {
                text.lines()
                    .find(|l| l.split(':').next().map(str::trim_end) == Some(key))
                    .map(str::to_owned)
            };
            assert_eq!(line(&text), line(expected), "{key}");
            assert!(
                line(expected).is_some(),
                "{key} missing from the lab capture"
            );
        }
    }

    #[test]
    fn memory_fields_are_pages_times_page_size() {
        let mut facts = lab_facts();
        facts.phys.outstanding_pages = 256;
        facts.sharing_pages = (512, 3);
        let info = host_info(Uname::default(), &facts);
        assert_eq!(info.total_memory_kib, (2047 * 256 + 100) * 4);
        assert_eq!(info.free_memory_kib, (936 * 256 + 3) * 4);
        assert_eq!(info.outstanding_claims_kib, 1024);
        assert_eq!(
            (info.sharing_freed_memory_kib, info.sharing_used_memory_kib),
            (2048, 12)
        );
        assert_eq!(info.platform_params, "virt_start=0xffff800000000000");
        assert_eq!(info.xen_version(), "4.17.5");
    }
}
