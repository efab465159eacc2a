//! The host view's text formats for a 200-domain sample: `xentop -b` (plain and with
//! `-n -x -v -f`), NDJSON and CSV records (`xen_core::render`), plus the CPU% and delta maths
//! they include.
//!
//! Target (issue 7): formatting a sample of 200 domains for batch, JSON and exporter output
//! <= 1 ms each. The exporter's figure is in `exporter.rs`. Each domain here has 4 vCPUs, two
//! vifs and two VBDs; the pair of samples is 3 s apart, so every rate is computed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use xen_core::host::{
    DomId, DomainName, DomainState, DomainStats, Interval, Sample, Uuid, VbdKind, VbdStats,
    VcpuStats, VifStats,
};
use xen_core::render::xentop::{self, BatchOptions};
use xen_core::render::{csv, json, record};

/// 200 domains; `step` advances every counter, as a later sample would.
fn sample(step: u64) -> Sample {
    let mut sample = Sample::default();
    sample.monotonic_ns = 1_000_000_000_000 + step * 3_000_000_000;
    sample.unix_time_ns = 1_764_140_000_000_000_000 + step * 3_000_000_000;
    sample.node.num_cpus = 64;
    sample.node.total_memory_kib = 512 * 1024 * 1024;
    for id in 0..200u32 {
        let n = u64::from(id);
        let mut d = DomainStats::default();
        d.domid = DomId(id);
        d.name = DomainName::new(if id == 0 {
            "Domain-0".to_string()
        } else {
            format!("guest-{id:03}.example.org")
        });
        d.uuid = Some(Uuid([u8::try_from(id % 256).unwrap(); 16]));
        d.state = if id % 3 == 0 {
            DomainState::RUNNING
        } else {
            DomainState::BLOCKED
        };
        d.cpu_time_ns = n * 7_000_000_000_000 + step * (n % 17) * 250_000_000;
        d.memory_kib = 2 * 1024 * 1024;
        d.max_memory_kib = (id != 0).then_some(2 * 1024 * 1024 + 1024);
        d.online_vcpus = 4;
        d.max_vcpus = 4;
        d.vcpus = (0..4)
            .map(|v| {
                let mut vcpu = VcpuStats::default();
                vcpu.id = v;
                vcpu.online = true;
                vcpu.cpu_time_ns = d.cpu_time_ns / 4;
                vcpu
            })
            .collect();
        d.vifs = (0..2)
            .map(|v| {
                let mut vif = VifStats::default();
                vif.devid = v;
                vif.rx_bytes = n * 9_000_000_000 + step * 1_000_000;
                vif.rx_packets = n * 6_000_000 + step * 700;
                vif.tx_bytes = n * 3_000_000_000 + step * 500_000;
                vif.tx_packets = n * 2_000_000 + step * 400;
                vif
            })
            .collect();
        d.vbds = (0..2)
            .map(|v| {
                let mut vbd = VbdStats::default();
                vbd.devid = 51712 + 16 * v;
                vbd.kind = VbdKind::BlkBack;
                vbd.read_requests = n * 100_000 + step * 30;
                vbd.write_requests = n * 50_000 + step * 20;
                vbd.read_sectors = n * 8_000_000 + step * 240;
                vbd.write_sectors = n * 4_000_000 + step * 160;
                vbd
            })
            .collect();
        sample.domains.push(d);
    }
    sample
}

fn formats(c: &mut Criterion) {
    let before = sample(0);
    let after = sample(1);
    let mut out = Vec::with_capacity(1 << 20);

    let plain = BatchOptions::default();
    let mut full = BatchOptions::default();
    full.networks = true;
    full.vbds = true;
    full.vcpus = true;
    full.full_names = true;

    c.bench_function("host_view/xentop_batch_200", |b| {
        b.iter(|| {
            out.clear();
            let interval = Interval::new(Some(black_box(&before)), black_box(&after));
            xentop::write_iteration(&mut out, &interval, &plain).unwrap();
            black_box(out.len())
        })
    });
    c.bench_function("host_view/xentop_batch_full_200", |b| {
        b.iter(|| {
            out.clear();
            let interval = Interval::new(Some(black_box(&before)), black_box(&after));
            xentop::write_iteration(&mut out, &interval, &full).unwrap();
            black_box(out.len())
        })
    });
    c.bench_function("host_view/json_200", |b| {
        b.iter(|| {
            out.clear();
            let interval = Interval::new(Some(black_box(&before)), black_box(&after));
            json::write_sample(&mut out, &interval, 1).unwrap();
            black_box(out.len())
        })
    });
    c.bench_function("host_view/csv_200", |b| {
        b.iter(|| {
            out.clear();
            let interval = Interval::new(Some(black_box(&before)), black_box(&after));
            csv::write_sample(&mut out, &interval, 1).unwrap();
            black_box(out.len())
        })
    });
    c.bench_function("host_view/rates_200", |b| {
        b.iter(|| {
            let interval = Interval::new(Some(black_box(&before)), black_box(&after));
            black_box(record::records(&interval, 1).len())
        })
    });
    // The exporter's 200-domain figure: benches/benches/exporter.rs.

    // Sanity: the formats hold what they should.
    let interval = Interval::new(Some(&before), &after);
    out.clear();
    xentop::write_iteration(&mut out, &interval, &plain).unwrap();
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 201);
    out.clear();
    json::write_sample(&mut out, &interval, 1).unwrap();
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 200);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = formats
}
criterion_main!(benches);
