//! Prometheus exposition of a 200-domain sample (`xen_core::render::prometheus`).
//!
//! Target (issue 7): formatting a sample of 200 domains for the exporter <= 1 ms. Each domain
//! has 2 vCPUs, one vif and one VBD, a UUID and a name: 27 series a domain, 5,400 in all
//! (about 690 KB of text).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use xen_core::host::{
    DomId, DomainName, DomainState, DomainStats, Sample, Uuid, VbdKind, VbdStats, VcpuStats,
    VifStats,
};
use xen_core::render::prometheus::{self, Scrape};

fn sample_of(domains: u32) -> Sample {
    let mut sample = Sample::default();
    sample.node.xen_version = Some("4.17.5".into());
    sample.node.num_cpus = 64;
    sample.node.cpu_hz = 2_596_144_000;
    sample.node.total_memory_kib = 512 * 1024 * 1024;
    sample.node.free_memory_kib = 37 * 1024 * 1024;
    for id in 0..domains {
        let mut d = DomainStats::default();
        d.domid = DomId(id);
        d.name = DomainName::new(format!("guest-{id:03}.example.org"));
        let mut uuid = [0x5a; 16];
        uuid[..4].copy_from_slice(&id.to_be_bytes());
        d.uuid = Some(Uuid(uuid));
        d.state = if id % 3 == 0 {
            DomainState::RUNNING
        } else {
            DomainState::BLOCKED
        };
        d.cpu_time_ns = 123_456_789_012 + u64::from(id) * 1_000_003;
        d.memory_kib = 4 * 1024 * 1024;
        d.max_memory_kib = Some(4 * 1024 * 1024 + 1024);
        d.online_vcpus = 2;
        d.max_vcpus = 2;
        for vcpu in 0..2 {
            let mut v = VcpuStats::default();
            v.id = vcpu;
            v.online = true;
            v.cpu_time_ns = 61_728_394_506 + u64::from(vcpu);
            d.vcpus.push(v);
        }
        let mut vif = VifStats::default();
        vif.rx_bytes = 987_654_321_000;
        vif.rx_packets = 876_543_210;
        vif.tx_bytes = 1_234_567_890_123;
        vif.tx_packets = 765_432_109;
        vif.rx_drops = 12;
        d.vifs.push(vif);
        let mut vbd = VbdStats::default();
        vbd.devid = 51712;
        vbd.kind = VbdKind::BlkBack;
        vbd.read_requests = 4_567_890;
        vbd.write_requests = 3_456_789;
        vbd.read_sectors = 456_789_012;
        vbd.write_sectors = 345_678_901;
        d.vbds.push(vbd);
        sample.domains.push(d);
    }
    sample
}

fn bench(c: &mut Criterion) {
    let sample = sample_of(200);
    let scrape = Scrape::ok(&sample, Duration::from_micros(1234));
    let text = prometheus::to_string(&scrape);
    assert!(text.lines().count() > 5_400, "{}", text.lines().count());
    // What the exporter sends.
    c.bench_function("exporter/prometheus_bytes_200_domains", |b| {
        b.iter(|| prometheus::to_bytes(black_box(&scrape)))
    });
    // The same as a `String` (adds a UTF-8 check of the whole text).
    c.bench_function("exporter/prometheus_string_200_domains", |b| {
        b.iter(|| prometheus::to_string(black_box(&scrape)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
