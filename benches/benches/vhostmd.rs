//! vhostmd: one update cycle with the 20 metrics of the timing configurations
//! (`vhostmd/tests/data/timing/`, from upstream's timing harness).
//!
//! Targets (issue 6): native collectors <= 0.5 ms CPU per cycle; shell actions no slower than
//! upstream (15-20 ms CPU for 20 `echo` actions, 52-59 ms for 20 /proc pipelines). A cycle
//! here is: collect every metric, render the document, write it to the metrics disk.
//! The sentinel metrics of the harness configs (`AEnd`, `ZStart`: timestamps and a SIGTERM to
//! the parent) are removed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use vhostmd::{CollectOptions, Collecting, Config, MetricsDisk, Vm, VmStats};

fn timing_config(name: &str) -> Config {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vhostmd/tests/data/timing")
        .join(format!("{name}.conf"));
    let mut config = Config::read(&path).unwrap();
    config
        .metrics
        .retain(|m| m.name != "AEnd" && m.name != "ZStart");
    assert_eq!(config.metrics.len(), 20, "{name}");
    config
}

fn cycle(c: &mut Criterion, id: &str, config: Config, vms: &[Vm]) {
    let dir = tempfile::tempdir().unwrap();
    let mut disk =
        MetricsDisk::create(&dir.path().join("vhostmd0"), config.disk.size_bytes).unwrap();
    let mut collecting =
        Collecting::new(config, CollectOptions::default().with_action_stderr(false));
    c.bench_function(id, |b| {
        b.iter(|| {
            let update = collecting.collect(black_box(vms));
            assert!(update.errors.is_empty(), "{:?}", update.errors);
            disk.update(update.document().as_bytes()).unwrap();
        })
    });
}

fn bench(c: &mut Criterion) {
    cycle(c, "vhostmd/cycle_native_20", timing_config("native"), &[]);
    // Native per-VM metrics too: the default config's VM metric for 10 VMs.
    let mut vm_config = timing_config("native");
    let vm_metric = Config::parse(
        br#"<vhostmd><globals><disk><name/><path/><size unit="k">256</size></disk>
        <update_period>1</update_period><path/><transport>vbd</transport></globals><metrics>
        <metric type="real64" context="vm" unit="s"><name>TotalCPUTime</name><action>@builtin</action></metric>
        </metrics></vhostmd>"#,
        Path::new("vm.conf"),
    )
    .unwrap()
    .metrics;
    vm_config.metrics.extend(vm_metric);
    let vms: Vec<Vm> = (1..=10)
        .map(|i| {
            let mut vm = Vm::new(
                i,
                format!("guest-{i}"),
                format!("00000000-0000-0000-0000-{i:012}"),
            );
            vm.stats = VmStats::new(Some(u64::from(i) * 1_000_000_000), Some(1 << 20));
            vm
        })
        .collect();
    cycle(c, "vhostmd/cycle_native_20_plus_10_vms", vm_config, &vms);
}

fn bench_shell(c: &mut Criterion) {
    cycle(
        c,
        "vhostmd/cycle_shell_trivial_20",
        timing_config("trivial"),
        &[],
    );
    cycle(c, "vhostmd/cycle_shell_real_20", timing_config("real"), &[]);
}

criterion_group!(benches, bench);
criterion_group! {
    name = shell;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = bench_shell
}
criterion_main!(benches, shell);
