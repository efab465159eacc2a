//! Embeds `xen-core` the way a monitoring agent would: two samples of the running Xen host,
//! then the domains ranked by CPU use between them, with their memory and network traffic.
//! Run it in a Xen dom0 as root; elsewhere it prints why it cannot.
//!
//! `cargo run -p xenadm-examples --bin busiest-domains -- [SECONDS]`

use std::process::ExitCode;
use std::time::Duration;

use xen_core::XenError;
use xen_core::host::{DomainStats, Host, Interval, SampleFlags, Totals, XenBackend};

fn main() -> ExitCode {
    let seconds = std::env::args()
        .nth(1)
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    match run(Duration::from_secs_f64(seconds.max(0.1))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("busiest-domains: {err}");
            let causes = std::iter::successors(std::error::Error::source(&err), |&c| c.source());
            for cause in causes {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(pause: Duration) -> Result<(), XenError> {
    let mut host = Host::with_backend(XenBackend::open()?);
    let flags = SampleFlags::NETWORKS | SampleFlags::XEN_VERSION;
    let first = host.sample(flags)?;
    std::thread::sleep(pause);
    let second = host.sample(flags)?;

    // The library's interval maths: CPU% of one physical CPU as xentop counts it (0.0 for a
    // domain new since the first sample), matched by domid and UUID.
    let interval = Interval::new(Some(&first), &second);
    let mut rows: Vec<(f64, &DomainStats)> = second
        .domains
        .iter()
        .map(|d| (interval.cpu_percent(d), d))
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
        let totals = Totals::of(d);
        let (guest_rx, guest_tx) = (totals.net_tx_bytes, totals.net_rx_bytes);
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
