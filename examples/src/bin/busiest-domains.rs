//! Embeds `xen-core` the way a monitoring agent would: two samples of the running Xen host,
//! then the domains ranked by CPU use between them, with their memory and network traffic.
//! Run it in a Xen dom0 as root; elsewhere it prints why it cannot.
//!
//! `cargo run -p xenadm-examples --bin busiest-domains -- [SECONDS]`

use std::process::ExitCode;
use std::time::Duration;

use xen_core::XenError;
use xen_core::host::{Host, SampleFlags, XenBackend};

fn main() -> ExitCode {
    let seconds = std::env::args()
        .nth(1)
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    match run(Duration::from_secs_f64(seconds.max(0.1))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("busiest-domains: {err}");
            let mut cause = std::error::Error::source(&err);
            while let Some(c) = cause {
                eprintln!("  caused by: {c}");
                cause = c.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn run(interval: Duration) -> Result<(), XenError> {
    let mut host = Host::with_backend(XenBackend::open()?);
    let flags = SampleFlags::NETWORKS | SampleFlags::XEN_VERSION;
    let first = host.sample(flags)?;
    std::thread::sleep(interval);
    let second = host.sample(flags)?;
    let wall_ns = second
        .monotonic_ns
        .saturating_sub(first.monotonic_ns)
        .max(1);

    // Percent of one physical CPU, as xentop counts it; a domain new since the first sample
    // has no rate yet.
    let mut rows: Vec<(f64, &xen_core::host::DomainStats)> = second
        .domains
        .iter()
        .map(|d| {
            let before = first.domains.iter().find(|p| p.domid == d.domid);
            let pct = before.map_or(0.0, |p| {
                d.cpu_time_ns.saturating_sub(p.cpu_time_ns) as f64 * 100.0 / wall_ns as f64
            });
            (pct, d)
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));

    println!(
        "Xen {} · {} CPUs · {} of {} MiB free",
        second.node.xen_version.as_deref().unwrap_or("?"),
        second.node.num_cpus,
        second.node.free_memory_kib / 1024,
        second.node.total_memory_kib / 1024
    );
    println!(
        "{:>5}  {:<20} {:>6} {:>9} {:>12} {:>12}",
        "ID", "NAME", "CPU%", "MEM(MiB)", "GUEST RX", "GUEST TX"
    );
    for (pct, d) in rows {
        // vif counters are the backend's view: what it transmits, the guest receives.
        let guest_rx: u64 = d.vifs.iter().map(|v| v.tx_bytes).sum();
        let guest_tx: u64 = d.vifs.iter().map(|v| v.rx_bytes).sum();
        println!(
            "{:>5}  {:<20} {:>6.1} {:>9} {:>12} {:>12}",
            d.domid,
            d.name.to_string_lossy(),
            pct,
            d.memory_kib / 1024,
            guest_rx,
            guest_tx
        );
    }
    Ok(())
}
