//! One flat record per domain per sample: what `xenadm top --csv` and `--json` stream.
//!
//! The model is virt-top's CSV (a per-domain block of cumulative values and per-interval
//! deltas), flattened to one record per domain so that every row has the same columns. Field
//! names are stable snake_case with their unit; see [`FIELDS`] for the list. Network counters
//! are from the dom0 backend's view, like xentop's NETTX/NETRX: `net_rx_bytes` is what the
//! guest sent. Values that cannot be known are null (JSON) or empty (CSV): deltas and
//! percentages in the first sample or for a new domain, `max_memory_kib` of an unlimited
//! domain, VBD counters when every VBD failed to report.

use crate::host::{DomId, DomainName, Interval, Totals, VbdTotals};

/// The field names, in output order.
pub const FIELDS: [&str; 32] = [
    "sample",
    "unix_time_ns",
    "interval_ns",
    "domid",
    "name",
    "state",
    "cpu_time_ns",
    "delta_cpu_time_ns",
    "cpu_percent",
    "cpu_host_percent",
    "memory_kib",
    "memory_percent",
    "max_memory_kib",
    "vcpus",
    "online_vcpus",
    "nets",
    "net_rx_bytes",
    "net_tx_bytes",
    "delta_net_rx_bytes",
    "delta_net_tx_bytes",
    "vbds",
    "vbd_oo_requests",
    "vbd_read_requests",
    "vbd_write_requests",
    "vbd_read_sectors",
    "vbd_write_sectors",
    "delta_vbd_oo_requests",
    "delta_vbd_read_requests",
    "delta_vbd_write_requests",
    "delta_vbd_read_sectors",
    "delta_vbd_write_sectors",
    "ssid",
];

/// One domain in one sample, with its rates over the interval.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DomainRecord<'a> {
    /// 0-based number of the sample in this run.
    pub sample: u64,
    /// When the sample was taken (Unix time).
    pub unix_time_ns: u64,
    /// Time since the previous sample.
    pub interval_ns: Option<u64>,
    /// Domain id.
    pub domid: DomId,
    /// Domain name.
    pub name: &'a DomainName,
    /// xentop's state letters, e.g. `--b---`.
    pub state: [u8; 6],
    /// CPU time since the domain started.
    pub cpu_time_ns: u64,
    /// CPU time used in the interval.
    pub delta_cpu_time_ns: Option<u64>,
    /// Percent of one physical CPU over the interval (xentop's CPU(%)).
    pub cpu_percent: Option<f64>,
    /// Percent of all physical CPUs over the interval (virt-top's %CPU).
    pub cpu_host_percent: Option<f64>,
    /// Current memory.
    pub memory_kib: u64,
    /// Current memory in percent of the host's.
    pub memory_percent: Option<f64>,
    /// Maximum memory; `None` when unlimited.
    pub max_memory_kib: Option<u64>,
    /// vCPU slots (xentop's VCPUS).
    pub vcpus: u32,
    /// Online vCPUs (`xl list`'s VCPUs).
    pub online_vcpus: u32,
    /// Number of vifs.
    pub nets: u32,
    /// Σ bytes the backends received (the guest sent).
    pub net_rx_bytes: u64,
    /// Σ bytes the backends sent (the guest received).
    pub net_tx_bytes: u64,
    /// `net_rx_bytes` over the interval.
    pub delta_net_rx_bytes: Option<u64>,
    /// `net_tx_bytes` over the interval.
    pub delta_net_tx_bytes: Option<u64>,
    /// Number of VBDs.
    pub vbds: u32,
    /// Σ VBD counters (`None` when every VBD failed to report).
    pub vbd: Option<VbdTotals>,
    /// The VBD counters over the interval.
    pub delta_vbd: Option<VbdTotals>,
    /// XSM/Flask security id.
    pub ssid: u32,
}

/// A value of a record field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// An integer.
    Int(u64),
    /// A real number (finite).
    Float(f64),
    /// Text, as bytes (names may be invalid UTF-8; writers replace bad bytes with U+FFFD).
    Text(&'a [u8]),
    /// Unknown.
    Null,
}

impl<'a> DomainRecord<'a> {
    /// The values in [`FIELDS`] order.
    pub fn values(&self) -> [Value<'_>; 32] {
        let int = |v: Option<u64>| v.map_or(Value::Null, Value::Int);
        let float = |v: Option<f64>| {
            v.filter(|x| x.is_finite())
                .map_or(Value::Null, Value::Float)
        };
        let vbd = |f: fn(&VbdTotals) -> u64| int(self.vbd.as_ref().map(f));
        let delta_vbd = |f: fn(&VbdTotals) -> u64| int(self.delta_vbd.as_ref().map(f));
        [
            Value::Int(self.sample),
            Value::Int(self.unix_time_ns),
            int(self.interval_ns),
            Value::Int(u64::from(self.domid.0)),
            Value::Text(self.name.as_bytes()),
            Value::Text(&self.state),
            Value::Int(self.cpu_time_ns),
            int(self.delta_cpu_time_ns),
            float(self.cpu_percent),
            float(self.cpu_host_percent),
            Value::Int(self.memory_kib),
            float(self.memory_percent),
            int(self.max_memory_kib),
            Value::Int(u64::from(self.vcpus)),
            Value::Int(u64::from(self.online_vcpus)),
            Value::Int(u64::from(self.nets)),
            Value::Int(self.net_rx_bytes),
            Value::Int(self.net_tx_bytes),
            int(self.delta_net_rx_bytes),
            int(self.delta_net_tx_bytes),
            Value::Int(u64::from(self.vbds)),
            vbd(|v| v.oo_requests),
            vbd(|v| v.read_requests),
            vbd(|v| v.write_requests),
            vbd(|v| v.read_sectors),
            vbd(|v| v.write_sectors),
            delta_vbd(|v| v.oo_requests),
            delta_vbd(|v| v.read_requests),
            delta_vbd(|v| v.write_requests),
            delta_vbd(|v| v.read_sectors),
            delta_vbd(|v| v.write_sectors),
            Value::Int(u64::from(self.ssid)),
        ]
    }
}

/// The records of one sample, in domid order (as virt-top orders its domains).
///
/// ```
/// use xen_core::host::{DomainStats, Interval, Sample};
/// use xen_core::render::record;
///
/// let mut sample = Sample::default();
/// sample.domains.push(DomainStats::default());
/// let records = record::records(&Interval::first(&sample), 0);
/// assert_eq!(records.len(), 1);
/// assert_eq!(records[0].cpu_percent, None); // no previous sample yet
/// ```
pub fn records<'a>(interval: &Interval<'a>, sample: u64) -> Vec<DomainRecord<'a>> {
    let current = interval.current();
    let total_kib = current.node.total_memory_kib;
    let mut out: Vec<DomainRecord<'a>> = current
        .domains
        .iter()
        .map(|d| {
            let totals = Totals::of(d);
            let delta = interval.delta(d);
            let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            DomainRecord {
                sample,
                unix_time_ns: current.unix_time_ns,
                interval_ns: interval.elapsed_ns(),
                domid: d.domid,
                name: &d.name,
                state: crate::render::xentop::state_letters(d.state),
                cpu_time_ns: d.cpu_time_ns,
                delta_cpu_time_ns: delta.and_then(|x| x.cpu_time_ns),
                cpu_percent: interval.cpu_percent_checked(d),
                cpu_host_percent: interval.cpu_host_percent_checked(d),
                memory_kib: d.memory_kib,
                memory_percent: (total_kib > 0)
                    .then(|| d.memory_kib as f64 / total_kib as f64 * 100.0),
                max_memory_kib: d.max_memory_kib,
                vcpus: d.max_vcpus,
                online_vcpus: d.online_vcpus,
                nets: count(d.vifs.len()),
                net_rx_bytes: totals.net_rx_bytes,
                net_tx_bytes: totals.net_tx_bytes,
                delta_net_rx_bytes: delta.and_then(|x| x.net_rx_bytes),
                delta_net_tx_bytes: delta.and_then(|x| x.net_tx_bytes),
                vbds: count(d.vbds.len()),
                vbd: totals.vbd,
                delta_vbd: delta.and_then(|x| {
                    Some(VbdTotals {
                        oo_requests: x.vbd_oo_requests?,
                        read_requests: x.vbd_read_requests?,
                        write_requests: x.vbd_write_requests?,
                        read_sectors: x.vbd_read_sectors?,
                        write_sectors: x.vbd_write_sectors?,
                    })
                }),
                ssid: d.ssid,
            }
        })
        .collect();
    out.sort_by_key(|r| r.domid);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{DomainStats, Sample, VbdStats};

    #[test]
    fn test_values_line_up_with_fields() {
        let name = DomainName::new("x");
        let record = DomainRecord {
            sample: 1,
            unix_time_ns: 2,
            interval_ns: None,
            domid: DomId(3),
            name: &name,
            state: *b"-----r",
            cpu_time_ns: 4,
            delta_cpu_time_ns: Some(5),
            cpu_percent: Some(f64::NAN),
            cpu_host_percent: None,
            memory_kib: 6,
            memory_percent: Some(0.5),
            max_memory_kib: None,
            vcpus: 7,
            online_vcpus: 8,
            nets: 9,
            net_rx_bytes: 10,
            net_tx_bytes: 11,
            delta_net_rx_bytes: None,
            delta_net_tx_bytes: None,
            vbds: 12,
            vbd: None,
            delta_vbd: None,
            ssid: 13,
        };
        let values = record.values();
        let find = |field: &str| values[FIELDS.iter().position(|f| *f == field).unwrap()];
        assert_eq!(find("sample"), Value::Int(1));
        assert_eq!(find("domid"), Value::Int(3));
        assert_eq!(find("name"), Value::Text(b"x"));
        assert_eq!(find("cpu_percent"), Value::Null, "NaN is not a value");
        assert_eq!(find("memory_percent"), Value::Float(0.5));
        assert_eq!(find("vcpus"), Value::Int(7));
        assert_eq!(find("ssid"), Value::Int(13));
        assert_eq!(find("vbd_read_requests"), Value::Null);
    }

    #[test]
    fn test_records_are_in_domid_order_with_deltas() {
        let dom = |id: u32, cpu: u64, rd: u64| DomainStats {
            domid: DomId(id),
            cpu_time_ns: cpu,
            vbds: vec![VbdStats {
                read_requests: rd,
                ..VbdStats::default()
            }],
            ..DomainStats::default()
        };
        let before = Sample {
            domains: vec![dom(0, 0, 10)],
            ..Sample::default()
        };
        let mut after = Sample {
            monotonic_ns: 1_000_000_000,
            domains: vec![dom(2, 7, 3), dom(0, 500_000_000, 25)],
            ..Sample::default()
        };
        after.node.num_cpus = 4;
        after.node.total_memory_kib = 100;
        let records = records(&Interval::new(Some(&before), &after), 1);
        assert_eq!(records[0].domid, DomId(0));
        assert_eq!(records[0].cpu_percent, Some(50.0));
        assert_eq!(records[0].cpu_host_percent, Some(12.5));
        assert_eq!(records[0].delta_vbd.map(|v| v.read_requests), Some(15));
        assert_eq!(records[0].memory_percent, Some(0.0));
        assert_eq!(records[1].domid, DomId(2));
        assert_eq!(records[1].cpu_percent, None);
        assert_eq!(records[1].delta_vbd, None);
    }
}
