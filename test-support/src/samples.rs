//! The real Xen 4.17 host of `xen-core/tests/data/xen-real-net` as a [`Sample`] built field by
//! field (feature `samples`): its node as `xl info` showed it, dom0 and the guest `web1` with
//! the counters of the second iteration of `xentop -b -d 1 -i 2 -n -x -v -f`
//! (`xen-core/tests/data/prometheus/README.md`). Tests add what they exercise (an awkward
//! name, another iteration to take rates from).

use xen_core::host::{
    DomId, DomainName, DomainState, DomainStats, NodeStats, Sample, Uuid, VbdKind, VbdStats,
    VcpuStats, VifStats,
};

/// An online vCPU `id` that has run `seconds`.
pub fn vcpu(id: u32, seconds: u64) -> VcpuStats {
    let mut v = VcpuStats::default();
    v.id = id;
    v.online = true;
    v.cpu_time_ns = seconds * 1_000_000_000;
    v
}

/// The host: node, then dom0 and `web1` (one vif, one blkback disk).
pub fn real_host() -> Sample {
    let mut node = NodeStats::default();
    node.xen_version = Some("4.17.5".into());
    node.num_cpus = 2;
    node.cpu_hz = 2_596_144_000;
    node.total_memory_kib = 2047 * 1024;
    node.free_memory_kib = 936 * 1024;

    let mut dom0 = DomainStats::default();
    dom0.domid = DomId(0);
    dom0.name = DomainName::new("Domain-0");
    dom0.uuid = Some(Uuid([0; 16]));
    dom0.state = DomainState::RUNNING;
    dom0.cpu_time_ns = 30_000_000_000;
    dom0.memory_kib = 1_048_576;
    dom0.max_memory_kib = Some(1_048_576);
    dom0.online_vcpus = 2;
    dom0.max_vcpus = 2;
    dom0.vcpus = vec![vcpu(0, 18), vcpu(1, 12)];

    let mut web1 = DomainStats::default();
    web1.domid = DomId(1);
    web1.name = DomainName::new("web1");
    web1.uuid = Some(Uuid([
        0x20, 0xe9, 0xdb, 0x37, 0xa6, 0xea, 0x42, 0xb4, 0x96, 0x11, 0x9b, 0x9d, 0x2a, 0xa1, 0xcc,
        0x27,
    ]));
    web1.state = DomainState::BLOCKED;
    web1.cpu_time_ns = 4_000_000_000;
    web1.memory_kib = 65_536;
    web1.max_memory_kib = Some(66_560);
    web1.online_vcpus = 1;
    web1.max_vcpus = 1;
    web1.vcpus = vec![vcpu(0, 4)];
    let mut vif = VifStats::default();
    vif.devid = 0;
    vif.rx_bytes = 2792;
    vif.rx_packets = 14;
    vif.tx_bytes = 3934;
    vif.tx_packets = 25;
    web1.vifs = vec![vif];
    let mut vbd = VbdStats::default();
    vbd.devid = 51728;
    vbd.kind = VbdKind::BlkBack;
    vbd.read_requests = 7;
    vbd.read_sectors = 200;
    web1.vbds = vec![vbd];

    let mut sample = Sample::default();
    sample.node = node;
    sample.domains = vec![dom0, web1];
    sample
}
