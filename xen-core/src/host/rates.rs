//! Rates between two samples: CPU% exactly as xentop computes it, and per-interval deltas.
//!
//! xentop keys a domain's previous sample by **domid** (`xenstat_node_domain(prev, domid)`),
//! so a domain that is new since the previous sample, or the first sample of all, gets a CPU%
//! of 0.0. Here a domid whose UUID changed between the samples (the id was reused by a new
//! domain) counts as new too, and a counter that went backwards gives no delta instead of
//! xentop's wrapped-around huge number.

use crate::host::model::{DomId, DomainStats, Sample};

/// A sample together with the one before it, for rates and deltas.
///
/// ```
/// use xen_core::host::{DomainStats, Interval, Sample};
///
/// let mut before = Sample::default();
/// let mut dom = DomainStats::default();
/// dom.cpu_time_ns = 5_000_000_000;
/// before.domains.push(dom.clone());
///
/// let mut after = before.clone();
/// after.monotonic_ns = 2_000_000_000; // two seconds later
/// after.domains[0].cpu_time_ns += 3_000_000_000; // 1.5 CPUs busy
///
/// let interval = Interval::new(Some(&before), &after);
/// assert_eq!(interval.cpu_percent(&after.domains[0]), 150.0);
/// assert_eq!(Interval::first(&after).cpu_percent(&after.domains[0]), 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct Interval<'a> {
    previous: Option<&'a Sample>,
    current: &'a Sample,
    /// `(domid, index in previous.domains)`, sorted by domid, for lookups in O(log n).
    previous_index: Vec<(DomId, usize)>,
}

/// How much a domain's counters grew over an interval. A field is `None` when the counter
/// cannot be compared: the domain is new, the counter went backwards (a reset), or it is
/// missing on either side (every VBD failed to report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DomainDelta {
    /// Wall time between the samples.
    pub elapsed_ns: u64,
    /// CPU time used in the interval.
    pub cpu_time_ns: Option<u64>,
    /// Bytes received by the dom0 backends of the domain's vifs (sent by the guest).
    pub net_rx_bytes: Option<u64>,
    /// Bytes sent by the dom0 backends (received by the guest).
    pub net_tx_bytes: Option<u64>,
    /// VBD read requests.
    pub vbd_read_requests: Option<u64>,
    /// VBD write requests.
    pub vbd_write_requests: Option<u64>,
    /// VBD sectors read.
    pub vbd_read_sectors: Option<u64>,
    /// VBD sectors written.
    pub vbd_write_sectors: Option<u64>,
    /// VBD requests refused because the ring was full.
    pub vbd_oo_requests: Option<u64>,
}

impl<'a> Interval<'a> {
    /// The first sample of a run: no previous one, so every CPU% is 0.0 and there are no
    /// deltas.
    pub fn first(current: &'a Sample) -> Interval<'a> {
        Interval::new(None, current)
    }

    /// `current` and the sample before it (if any).
    pub fn new(previous: Option<&'a Sample>, current: &'a Sample) -> Interval<'a> {
        let mut previous_index: Vec<(DomId, usize)> = previous
            .map(|p| {
                p.domains
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (d.domid, i))
                    .collect()
            })
            .unwrap_or_default();
        // Stable, so with a duplicated domid the first entry wins, as in xenstat's lookup.
        previous_index.sort_by_key(|&(domid, _)| domid);
        Interval {
            previous,
            current,
            previous_index,
        }
    }

    /// The newer sample.
    pub fn current(&self) -> &'a Sample {
        self.current
    }

    /// The older sample, if any.
    pub fn previous(&self) -> Option<&'a Sample> {
        self.previous
    }

    /// Wall time between the samples; `None` for the first sample or when the clock did not
    /// advance.
    pub fn elapsed_ns(&self) -> Option<u64> {
        let previous = self.previous?;
        self.current
            .monotonic_ns
            .checked_sub(previous.monotonic_ns)
            .filter(|&ns| ns > 0)
    }

    /// The same domain in the previous sample: same domid, and the same UUID when both
    /// samples know it.
    pub fn previous_of(&self, domain: &DomainStats) -> Option<&'a DomainStats> {
        let previous = self.previous?;
        let at = self
            .previous_index
            .partition_point(|&(domid, _)| domid < domain.domid);
        let &(domid, index) = self.previous_index.get(at)?;
        if domid != domain.domid {
            return None;
        }
        let old = previous.domains.get(index)?;
        match (old.uuid, domain.uuid) {
            (Some(a), Some(b)) if a != b => None,
            _ => Some(old),
        }
    }

    /// xentop's CPU(%): CPU time used in the interval over wall time, in percent of **one**
    /// physical CPU (a domain keeping 4 vCPUs busy shows 400.0). 0.0 when there is no
    /// previous sample of the domain, as xentop prints it.
    pub fn cpu_percent(&self, domain: &DomainStats) -> f64 {
        self.cpu_percent_checked(domain).unwrap_or(0.0)
    }

    /// [`Interval::cpu_percent`], but `None` instead of 0.0 when it cannot be computed.
    pub fn cpu_percent_checked(&self, domain: &DomainStats) -> Option<f64> {
        let elapsed_ns = self.elapsed_ns()?;
        let used_ns = domain
            .cpu_time_ns
            .checked_sub(self.previous_of(domain)?.cpu_time_ns)?;
        // xentop: ((Δns) / 10.0) / Δµs, with the wall time from gettimeofday in µs.
        Some((used_ns as f64 / 10.0) / (elapsed_ns as f64 / 1000.0))
    }

    /// virt-top's %CPU: [`Interval::cpu_percent`] divided by the host's physical CPUs, so 100
    /// means the whole machine. `None` when the CPU count is unknown (0).
    pub fn cpu_host_percent_checked(&self, domain: &DomainStats) -> Option<f64> {
        let cpus = self.current.node.num_cpus;
        (cpus > 0).then_some(())?;
        Some(self.cpu_percent_checked(domain)? / f64::from(cpus))
    }

    /// How much the domain's counters grew since the previous sample; `None` when the
    /// domain (or the whole previous sample) is missing.
    pub fn delta(&self, domain: &DomainStats) -> Option<DomainDelta> {
        let elapsed_ns = self.elapsed_ns()?;
        let old = self.previous_of(domain)?;
        let new_totals = Totals::of(domain);
        let old_totals = Totals::of(old);
        let grew = |new: Option<u64>, old: Option<u64>| new?.checked_sub(old?);
        Some(DomainDelta {
            elapsed_ns,
            cpu_time_ns: domain.cpu_time_ns.checked_sub(old.cpu_time_ns),
            net_rx_bytes: new_totals.net_rx_bytes.checked_sub(old_totals.net_rx_bytes),
            net_tx_bytes: new_totals.net_tx_bytes.checked_sub(old_totals.net_tx_bytes),
            vbd_read_requests: grew(
                new_totals.vbd.map(|v| v.read_requests),
                old_totals.vbd.map(|v| v.read_requests),
            ),
            vbd_write_requests: grew(
                new_totals.vbd.map(|v| v.write_requests),
                old_totals.vbd.map(|v| v.write_requests),
            ),
            vbd_read_sectors: grew(
                new_totals.vbd.map(|v| v.read_sectors),
                old_totals.vbd.map(|v| v.read_sectors),
            ),
            vbd_write_sectors: grew(
                new_totals.vbd.map(|v| v.write_sectors),
                old_totals.vbd.map(|v| v.write_sectors),
            ),
            vbd_oo_requests: grew(
                new_totals.vbd.map(|v| v.oo_requests),
                old_totals.vbd.map(|v| v.oo_requests),
            ),
        })
    }
}

/// A domain's counters summed over its devices, as xentop's table shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Totals {
    /// Σ vif `rx_bytes` (xentop's NETRX(k) × 1024).
    pub net_rx_bytes: u64,
    /// Σ vif `tx_bytes` (xentop's NETTX(k) × 1024).
    pub net_tx_bytes: u64,
    /// Σ over the VBDs that reported; `None` when the domain has VBDs and none of them
    /// reported (xentop prints `-`). A domain without VBDs has all-zero totals.
    pub vbd: Option<VbdTotals>,
}

/// VBD counters summed over a domain's VBDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VbdTotals {
    /// Requests refused because the ring was full.
    pub oo_requests: u64,
    /// Read requests.
    pub read_requests: u64,
    /// Write requests.
    pub write_requests: u64,
    /// Sectors read.
    pub read_sectors: u64,
    /// Sectors written.
    pub write_sectors: u64,
}

impl Totals {
    /// Sums the domain's vifs and VBDs (wrapping like xentop's `unsigned long long` sums,
    /// which cannot matter for real counters).
    pub fn of(domain: &DomainStats) -> Totals {
        let mut totals = Totals::default();
        for vif in &domain.vifs {
            totals.net_rx_bytes = totals.net_rx_bytes.wrapping_add(vif.rx_bytes);
            totals.net_tx_bytes = totals.net_tx_bytes.wrapping_add(vif.tx_bytes);
        }
        let mut vbd = VbdTotals::default();
        let mut reported = domain.vbds.is_empty();
        for dev in domain.vbds.iter().filter(|v| !v.error) {
            reported = true;
            vbd.oo_requests = vbd.oo_requests.wrapping_add(dev.oo_requests);
            vbd.read_requests = vbd.read_requests.wrapping_add(dev.read_requests);
            vbd.write_requests = vbd.write_requests.wrapping_add(dev.write_requests);
            vbd.read_sectors = vbd.read_sectors.wrapping_add(dev.read_sectors);
            vbd.write_sectors = vbd.write_sectors.wrapping_add(dev.write_sectors);
        }
        totals.vbd = reported.then_some(vbd);
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::model::{Uuid, VbdStats, VifStats};

    fn domain(domid: u32, cpu_time_ns: u64) -> DomainStats {
        DomainStats {
            domid: DomId(domid),
            cpu_time_ns,
            ..DomainStats::default()
        }
    }

    fn sample(at_ns: u64, domains: Vec<DomainStats>) -> Sample {
        Sample {
            monotonic_ns: at_ns,
            domains,
            ..Sample::default()
        }
    }

    #[test]
    fn test_cpu_percent_is_of_one_cpu() {
        let before = sample(1_000_000_000, vec![domain(3, 10_000_000_000)]);
        // 1.5 s later, 6 s of CPU used: four busy vCPUs.
        let after = sample(2_500_000_000, vec![domain(3, 16_000_000_000)]);
        let interval = Interval::new(Some(&before), &after);
        assert_eq!(interval.cpu_percent(&after.domains[0]), 400.0);
        assert_eq!(interval.elapsed_ns(), Some(1_500_000_000));
    }

    #[test]
    fn test_cpu_percent_follows_xentop_arithmetic() {
        // 98 ms of CPU in 1.000123 s: xentop's ((Δns/10)/Δµs).
        let before = sample(0, vec![domain(0, 30_000_000_000)]);
        let after = sample(1_000_123_000, vec![domain(0, 30_098_000_000)]);
        let pct = Interval::new(Some(&before), &after).cpu_percent(&after.domains[0]);
        assert_eq!(pct, (98_000_000.0 / 10.0) / 1_000_123.0);
        assert_eq!(format!("{pct:6.1}"), "   9.8");
    }

    #[test]
    fn test_first_sample_and_new_domain_give_zero() {
        let before = sample(0, vec![domain(0, 1_000)]);
        let after = sample(1_000_000_000, vec![domain(0, 500_001_000), domain(7, 900)]);
        assert_eq!(Interval::first(&after).cpu_percent(&after.domains[0]), 0.0);
        assert_eq!(Interval::first(&after).delta(&after.domains[0]), None);
        let interval = Interval::new(Some(&before), &after);
        assert_eq!(interval.cpu_percent(&after.domains[0]), 50.0);
        assert_eq!(interval.cpu_percent(&after.domains[1]), 0.0);
        assert_eq!(interval.cpu_percent_checked(&after.domains[1]), None);
    }

    #[test]
    fn test_rows_are_keyed_by_domid_not_position_or_name() {
        let mut a = domain(5, 1_000_000_000);
        a.name = crate::host::DomainName::new("web");
        let before = sample(0, vec![domain(0, 0), a.clone()]);
        let mut renamed = domain(5, 1_200_000_000);
        renamed.name = crate::host::DomainName::new("web-renamed");
        let after = sample(1_000_000_000, vec![renamed, domain(0, 0)]);
        let interval = Interval::new(Some(&before), &after);
        let pct = interval.cpu_percent(&after.domains[0]);
        assert!((pct - 20.0).abs() < 1e-9, "{pct}");
    }

    #[test]
    fn test_a_domain_that_disappeared_leaves_the_others_alone() {
        let before = sample(
            0,
            vec![domain(0, 0), domain(5, 7_000_000_000), domain(9, 0)],
        );
        let after = sample(
            1_000_000_000,
            vec![domain(0, 100_000_000), domain(9, 300_000_000)],
        );
        let interval = Interval::new(Some(&before), &after);
        let pcts: Vec<f64> = after
            .domains
            .iter()
            .map(|d| interval.cpu_percent(d))
            .collect();
        assert_eq!(pcts, [10.0, 30.0]);
    }

    #[test]
    fn test_reused_domid_with_new_uuid_is_a_new_domain() {
        let mut old = domain(9, 50_000_000_000);
        old.uuid = Some(Uuid([1; 16]));
        let mut new = domain(9, 60_000_000_000);
        new.uuid = Some(Uuid([2; 16]));
        let before = sample(0, vec![old]);
        let after = sample(1_000_000_000, vec![new]);
        let interval = Interval::new(Some(&before), &after);
        assert_eq!(interval.cpu_percent_checked(&after.domains[0]), None);
    }

    #[test]
    fn test_counter_going_backwards_gives_no_rate() {
        let before = sample(0, vec![domain(4, 9_000_000_000)]);
        let after = sample(1_000_000_000, vec![domain(4, 1_000_000_000)]);
        let interval = Interval::new(Some(&before), &after);
        assert_eq!(interval.cpu_percent(&after.domains[0]), 0.0);
        let delta = interval.delta(&after.domains[0]);
        assert_eq!(delta.map(|d| d.cpu_time_ns), Some(None));
    }

    #[test]
    fn test_clock_not_advancing_gives_no_rate() {
        let before = sample(5, vec![domain(1, 0)]);
        let after = sample(5, vec![domain(1, 1_000)]);
        let interval = Interval::new(Some(&before), &after);
        assert_eq!(interval.elapsed_ns(), None);
        assert_eq!(interval.cpu_percent(&after.domains[0]), 0.0);
    }

    #[test]
    fn test_host_percent_divides_by_cpus() {
        let before = sample(0, vec![domain(1, 0)]);
        let mut after = sample(1_000_000_000, vec![domain(1, 2_000_000_000)]);
        after.node.num_cpus = 8;
        let interval = Interval::new(Some(&before), &after);
        assert_eq!(
            interval.cpu_host_percent_checked(&after.domains[0]),
            Some(25.0)
        );
    }

    #[test]
    fn test_deltas_sum_devices_and_skip_failed_vbds() {
        let vif = |rx, tx| VifStats {
            rx_bytes: rx,
            tx_bytes: tx,
            ..VifStats::default()
        };
        let vbd = |rd, error| VbdStats {
            read_requests: rd,
            read_sectors: rd * 8,
            error,
            ..VbdStats::default()
        };
        let mut old = domain(2, 0);
        old.vifs = vec![vif(100, 1_000), vif(50, 0)];
        old.vbds = vec![vbd(10, false), vbd(999, true)];
        let mut new = domain(2, 0);
        new.vifs = vec![vif(300, 1_500), vif(60, 0)];
        new.vbds = vec![vbd(15, false), vbd(5, true)];
        let before = sample(0, vec![old]);
        let after = sample(2_000_000_000, vec![new]);
        let delta = Interval::new(Some(&before), &after).delta(&after.domains[0]);
        let delta = delta.unwrap_or_default();
        assert_eq!(delta.elapsed_ns, 2_000_000_000);
        assert_eq!(delta.net_rx_bytes, Some(210));
        assert_eq!(delta.net_tx_bytes, Some(500));
        assert_eq!(delta.vbd_read_requests, Some(5));
        assert_eq!(delta.vbd_read_sectors, Some(40));
    }

    #[test]
    fn test_totals_all_vbds_failed_is_none_and_no_vbds_is_zero() {
        let mut d = domain(1, 0);
        assert_eq!(Totals::of(&d).vbd, Some(VbdTotals::default()));
        d.vbds = vec![VbdStats {
            error: true,
            ..VbdStats::default()
        }];
        assert_eq!(Totals::of(&d).vbd, None);
    }
}
