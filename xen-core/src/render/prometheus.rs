//! The Prometheus text exposition format (version 0.0.4) of a sample: host and domain
//! metrics for `xenadm exporter`.
//!
//! # Names, units and labels
//!
//! Names follow the Prometheus conventions: base units (seconds, bytes), `_total` on
//! counters, one metric family per quantity. Counters are cumulative since the domain started,
//! as Xen keeps them, so they restart from zero when a domain reboots (it gets a new domid).
//!
//! Per-domain series carry `domain` (the name) and `domid`. Both are needed: names are
//! the stable identity administrators query by, and the domid tells a rebooted domain's new
//! counters from the old ones (and two domains whose names differ only in bytes that are not
//! UTF-8, which print alike). The UUID is on `xen_domain_info` only, to keep the other series
//! short; join on it with `* on(domid) group_left(uuid) xen_domain_info`.
//! Device series add `devid` (the Xen device number, as `xl network-list` and
//! `xl block-list` show it), vCPU series `vcpu`.
//!
//! Network metrics are from the **guest's** point of view, as in
//! [`VifCounters`](crate::net::VifCounters): `xen_domain_network_receive_bytes_total` is what
//! the guest received, which dom0's `vifD.N` counts as transmitted (xentop's NETTX).
//!
//! | metric | type | labels | unit, source |
//! |---|---|---|---|
//! | `xen_up` | gauge | | 1 when sampling the host succeeded; when it failed, only this and the scrape duration are exported |
//! | `xen_scrape_duration_seconds` | gauge | | time to take the sample |
//! | `xen_info` | gauge | `version` | always 1; the hypervisor version |
//! | `xen_host_cpus` | gauge | | physical CPUs |
//! | `xen_host_cpu_frequency_hertz` | gauge | | CPU clock |
//! | `xen_host_memory_total_bytes` | gauge | | host memory |
//! | `xen_host_memory_free_bytes` | gauge | | memory given to no domain |
//! | `xen_domains` | gauge | `state` | domains with that state flag (a domain with two flags, e.g. shutdown and crashed, counts in both, as in xentop's summary) |
//! | `xen_domain_info` | gauge | `domain`, `domid`, `uuid` | always 1 (`uuid` absent when unknown) |
//! | `xen_domain_state` | gauge | `domain`, `domid`, `state` | 1 when the flag is set, else 0, for each of the six flags |
//! | `xen_domain_cpu_seconds_total` | counter | `domain`, `domid` | CPU time |
//! | `xen_domain_memory_bytes` | gauge | `domain`, `domid` | current memory |
//! | `xen_domain_memory_max_bytes` | gauge | `domain`, `domid` | maximum memory; absent for domains without a limit |
//! | `xen_domain_vcpus` | gauge | `domain`, `domid` | vCPU slots (highest vCPU id + 1) |
//! | `xen_domain_vcpus_online` | gauge | `domain`, `domid` | online vCPUs |
//! | `xen_domain_vcpu_cpu_seconds_total` | counter | `domain`, `domid`, `vcpu` | CPU time of one vCPU |
//! | `xen_domain_network_receive_bytes_total` | counter | `domain`, `domid`, `devid` | bytes the guest received (backend tx) |
//! | `xen_domain_network_receive_packets_total` | counter | same | packets the guest received |
//! | `xen_domain_network_receive_errors_total` | counter | same | errors on the way to the guest |
//! | `xen_domain_network_receive_drops_total` | counter | same | packets dropped on the way to the guest |
//! | `xen_domain_network_transmit_bytes_total` | counter | same | bytes the guest sent (backend rx) |
//! | `xen_domain_network_transmit_packets_total` | counter | same | packets the guest sent |
//! | `xen_domain_network_transmit_errors_total` | counter | same | errors on what the guest sent |
//! | `xen_domain_network_transmit_drops_total` | counter | same | packets the guest sent that dom0 dropped |
//! | `xen_domain_block_read_requests_total` | counter | `domain`, `domid`, `devid` | read requests |
//! | `xen_domain_block_write_requests_total` | counter | same | write requests |
//! | `xen_domain_block_read_bytes_total` | counter | same | bytes read (sectors × 512) |
//! | `xen_domain_block_write_bytes_total` | counter | same | bytes written (sectors × 512) |
//! | `xen_domain_block_out_of_requests_total` | counter | same | requests that found the ring full (xentop's VBD_OO) |
//!
//! A VBD whose counters could not be read (xentop prints `-`) has no block series.
//!
//! # Label values
//!
//! Domain names are bytes; the format is UTF-8, so bytes that are not UTF-8 become U+FFFD
//! (the `domid` label keeps such names apart). Backslash, double quote and newline are
//! escaped as the format requires (`\\`, `\"`, `\n`); every other character is kept.
//!
//! ```
//! use std::time::Duration;
//! use xen_core::host::{DomId, DomainName, DomainStats, Sample};
//! use xen_core::render::prometheus::{self, Scrape};
//!
//! let mut web = DomainStats::default();
//! web.domid = DomId(1);
//! web.name = DomainName::new("web \"1\"");
//! web.cpu_time_ns = 12_500_000_000;
//! let mut sample = Sample::default();
//! sample.domains.push(web);
//!
//! let text = prometheus::to_string(&Scrape::ok(&sample, Duration::from_millis(3)));
//! assert!(text.contains("xen_domain_cpu_seconds_total{domain=\"web \\\"1\\\"\",domid=\"1\"} 12.5\n"));
//! assert!(text.contains("xen_up 1\n"));
//! ```
// Length note: over 700 lines only with the unit tests at the bottom (the exposition writer is
// about 570 lines, most of it the metric catalogue documented above); the tests pin the
// exposition text of every metric family.

use std::io::{self, Write};
use std::time::Duration;

use crate::host::{DomainState, DomainStats, Sample, Uuid};

/// The HTTP `Content-Type` of this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What one scrape produced: a sample, or the fact that sampling failed, and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct Scrape<'a> {
    /// The sample; `None` when sampling failed (then `xen_up` is 0).
    pub sample: Option<&'a Sample>,
    /// Time spent taking the sample.
    pub duration: Duration,
}

impl<'a> Scrape<'a> {
    /// A successful scrape.
    pub fn ok(sample: &'a Sample, duration: Duration) -> Scrape<'a> {
        Scrape {
            sample: Some(sample),
            duration,
        }
    }

    /// A scrape whose sample failed.
    pub fn failed(duration: Duration) -> Scrape<'static> {
        Scrape {
            sample: None,
            duration,
        }
    }
}

/// The six state flags with their label values, in xentop's order of the summary line.
const STATES: [(DomainState, &str); 6] = [
    (DomainState::RUNNING, "running"),
    (DomainState::BLOCKED, "blocked"),
    (DomainState::PAUSED, "paused"),
    (DomainState::CRASHED, "crashed"),
    (DomainState::DYING, "dying"),
    (DomainState::SHUTDOWN, "shutdown"),
];

/// Bytes per VBD sector, whatever the device's own sector size (blkback counts 512-byte
/// units).
const SECTOR_BYTES: u64 = 512;

/// Writes the exposition of `scrape` to `out`.
pub fn write(scrape: &Scrape<'_>, out: &mut impl Write) -> io::Result<()> {
    out.write_all(&to_bytes(scrape))
}

/// The exposition of `scrape` as text.
pub fn to_string(scrape: &Scrape<'_>) -> String {
    // Only `&str` pieces are written, so the bytes are UTF-8; the lossy path never runs.
    String::from_utf8(to_bytes(scrape))
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// The exposition of `scrape` as UTF-8 bytes, ready to send.
pub fn to_bytes(scrape: &Scrape<'_>) -> Vec<u8> {
    let domains = scrape.sample.map_or(0, |s| s.domains.len());
    let mut text = Text {
        out: Vec::with_capacity(2048 + domains * 4096),
    };
    text.family(
        "xen_up",
        "gauge",
        "1 when the Xen host could be sampled, else 0.",
    );
    put(&mut text.out, "xen_up ");
    text.out
        .push(if scrape.sample.is_some() { b'1' } else { b'0' });
    text.out.push(b'\n');
    text.family(
        "xen_scrape_duration_seconds",
        "gauge",
        "Time taken to sample the Xen host.",
    );
    put(&mut text.out, "xen_scrape_duration_seconds ");
    push_seconds(
        &mut text.out,
        u64::try_from(scrape.duration.as_nanos()).unwrap_or(u64::MAX),
    );
    text.out.push(b'\n');
    if let Some(sample) = scrape.sample {
        host_metrics(&mut text, sample);
        domain_metrics(&mut text, sample);
    }
    text.out
}

fn host_metrics(text: &mut Text, sample: &Sample) {
    let node = &sample.node;
    if let Some(version) = &node.xen_version {
        text.family("xen_info", "gauge", "The Xen hypervisor; always 1.");
        put(&mut text.out, "xen_info{version=\"");
        push_escaped(&mut text.out, version);
        put(&mut text.out, "\"} 1\n");
    }
    text.single("xen_host_cpus", "Physical CPUs.", u64::from(node.num_cpus));
    text.single(
        "xen_host_cpu_frequency_hertz",
        "CPU clock frequency.",
        node.cpu_hz,
    );
    text.single(
        "xen_host_memory_total_bytes",
        "Host memory.",
        node.total_memory_kib.saturating_mul(1024),
    );
    text.single(
        "xen_host_memory_free_bytes",
        "Host memory given to no domain.",
        node.free_memory_kib.saturating_mul(1024),
    );
    text.family(
        "xen_domains",
        "gauge",
        "Domains with the state flag set (a domain with two flags counts in both).",
    );
    for (flag, name) in STATES {
        let count = sample
            .domains
            .iter()
            .filter(|d| d.state.contains(flag))
            .count();
        put(&mut text.out, "xen_domains{state=\"");
        put(&mut text.out, name);
        put(&mut text.out, "\"} ");
        push_u64(&mut text.out, count as u64);
        text.out.push(b'\n');
    }
}

/// A value of one series.
#[derive(Clone, Copy)]
enum Value {
    Count(u64),
    SecondsFromNs(u64),
}

fn domain_metrics(text: &mut Text, sample: &Sample) {
    // `domain="...",domid="..."`, escaped once per domain and reused by every series.
    let labelled: Vec<(Vec<u8>, &DomainStats)> = sample
        .domains
        .iter()
        .map(|d| {
            let mut labels = Vec::with_capacity(32 + d.name.as_bytes().len());
            put(&mut labels, "domain=\"");
            push_escaped(&mut labels, &d.name.to_string_lossy());
            put(&mut labels, "\",domid=\"");
            push_u64(&mut labels, u64::from(d.domid.0));
            labels.push(b'"');
            (labels, d)
        })
        .collect();
    if labelled.is_empty() {
        return;
    }

    text.family(
        "xen_domain_info",
        "gauge",
        "A domain, with its UUID; always 1.",
    );
    for (labels, d) in &labelled {
        put(&mut text.out, "xen_domain_info{");
        text.out.extend_from_slice(labels);
        if let Some(uuid) = &d.uuid {
            put(&mut text.out, ",uuid=\"");
            push_uuid(&mut text.out, uuid);
            text.out.push(b'"');
        }
        put(&mut text.out, "} 1\n");
    }
    text.family(
        "xen_domain_state",
        "gauge",
        "1 when the domain has the state flag, else 0.",
    );
    for (labels, d) in &labelled {
        for (flag, name) in STATES {
            text.series_start("xen_domain_state", labels);
            put(&mut text.out, ",state=\"");
            put(&mut text.out, name);
            put(&mut text.out, "\"} ");
            text.out
                .push(if d.state.contains(flag) { b'1' } else { b'0' });
            text.out.push(b'\n');
        }
    }

    // Name, type, help, and the value (none: no series for that domain).
    type PerDomain = (
        &'static str,
        &'static str,
        &'static str,
        fn(&DomainStats) -> Option<Value>,
    );
    let per_domain: [PerDomain; 5] = [
        (
            "xen_domain_cpu_seconds_total",
            "counter",
            "CPU time used by the domain.",
            |d| Some(Value::SecondsFromNs(d.cpu_time_ns)),
        ),
        (
            "xen_domain_memory_bytes",
            "gauge",
            "Current memory of the domain.",
            |d| Some(Value::Count(d.memory_kib.saturating_mul(1024))),
        ),
        (
            "xen_domain_memory_max_bytes",
            "gauge",
            "Maximum memory of the domain (absent when unlimited).",
            |d| {
                d.max_memory_kib
                    .map(|kib| Value::Count(kib.saturating_mul(1024)))
            },
        ),
        (
            "xen_domain_vcpus",
            "gauge",
            "vCPU slots of the domain (highest vCPU id + 1).",
            |d| Some(Value::Count(u64::from(d.max_vcpus))),
        ),
        (
            "xen_domain_vcpus_online",
            "gauge",
            "Online vCPUs of the domain.",
            |d| Some(Value::Count(u64::from(d.online_vcpus))),
        ),
    ];
    for (name, kind, help, value) in per_domain {
        text.family(name, kind, help);
        for (labels, d) in &labelled {
            if let Some(value) = value(d) {
                text.series_start(name, labels);
                put(&mut text.out, "} ");
                text.value(value);
            }
        }
    }

    let vcpu = "xen_domain_vcpu_cpu_seconds_total";
    text.family(vcpu, "counter", "CPU time used by one vCPU.");
    for (labels, d) in &labelled {
        for v in &d.vcpus {
            text.series_start(vcpu, labels);
            put(&mut text.out, ",vcpu=\"");
            push_u64(&mut text.out, u64::from(v.id));
            put(&mut text.out, "\"} ");
            text.value(Value::SecondsFromNs(v.cpu_time_ns));
        }
    }

    type VifField = fn(&crate::host::VifStats) -> u64;
    // Guest view: the guest receives what the backend transmits.
    let network: [(&str, &str, VifField); 8] = [
        (
            "xen_domain_network_receive_bytes_total",
            "Bytes the guest received on the vif (dom0 backend tx).",
            |v| v.tx_bytes,
        ),
        (
            "xen_domain_network_receive_packets_total",
            "Packets the guest received on the vif (dom0 backend tx).",
            |v| v.tx_packets,
        ),
        (
            "xen_domain_network_receive_errors_total",
            "Errors on packets to the guest (dom0 backend tx).",
            |v| v.tx_errors,
        ),
        (
            "xen_domain_network_receive_drops_total",
            "Packets to the guest that were dropped (dom0 backend tx).",
            |v| v.tx_drops,
        ),
        (
            "xen_domain_network_transmit_bytes_total",
            "Bytes the guest sent on the vif (dom0 backend rx).",
            |v| v.rx_bytes,
        ),
        (
            "xen_domain_network_transmit_packets_total",
            "Packets the guest sent on the vif (dom0 backend rx).",
            |v| v.rx_packets,
        ),
        (
            "xen_domain_network_transmit_errors_total",
            "Errors on packets from the guest (dom0 backend rx).",
            |v| v.rx_errors,
        ),
        (
            "xen_domain_network_transmit_drops_total",
            "Packets from the guest that dom0 dropped (dom0 backend rx).",
            |v| v.rx_drops,
        ),
    ];
    for (name, help, field) in network {
        text.family(name, "counter", help);
        for (labels, d) in &labelled {
            for vif in &d.vifs {
                text.device_series(name, labels, vif.devid, field(vif));
            }
        }
    }

    type VbdField = fn(&crate::host::VbdStats) -> u64;
    let block: [(&str, &str, VbdField); 5] = [
        (
            "xen_domain_block_read_requests_total",
            "Read requests of the virtual block device.",
            |v| v.read_requests,
        ),
        (
            "xen_domain_block_write_requests_total",
            "Write requests of the virtual block device.",
            |v| v.write_requests,
        ),
        (
            "xen_domain_block_read_bytes_total",
            "Bytes read by the virtual block device (512-byte sectors).",
            |v| v.read_sectors.saturating_mul(SECTOR_BYTES),
        ),
        (
            "xen_domain_block_write_bytes_total",
            "Bytes written by the virtual block device (512-byte sectors).",
            |v| v.write_sectors.saturating_mul(SECTOR_BYTES),
        ),
        (
            "xen_domain_block_out_of_requests_total",
            "Requests that found the virtual block device's ring full.",
            |v| v.oo_requests,
        ),
    ];
    for (name, help, field) in block {
        text.family(name, "counter", help);
        for (labels, d) in &labelled {
            for vbd in d.vbds.iter().filter(|v| !v.error) {
                text.device_series(name, labels, vbd.devid, field(vbd));
            }
        }
    }
}

/// The exposition being written.
struct Text {
    out: Vec<u8>,
}

impl Text {
    /// The `# HELP` and `# TYPE` lines of a family (help texts here need no escaping).
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        put(&mut self.out, "# HELP ");
        put(&mut self.out, name);
        self.out.push(b' ');
        put(&mut self.out, help);
        put(&mut self.out, "\n# TYPE ");
        put(&mut self.out, name);
        self.out.push(b' ');
        put(&mut self.out, kind);
        self.out.push(b'\n');
    }

    /// A family with one unlabelled integer series.
    fn single(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, "gauge", help);
        put(&mut self.out, name);
        self.out.push(b' ');
        push_u64(&mut self.out, value);
        self.out.push(b'\n');
    }

    /// `name{labels` (the caller adds more labels and the closing brace).
    fn series_start(&mut self, name: &str, labels: &[u8]) {
        put(&mut self.out, name);
        self.out.push(b'{');
        self.out.extend_from_slice(labels);
    }

    fn device_series(&mut self, name: &str, labels: &[u8], devid: u32, value: u64) {
        self.series_start(name, labels);
        put(&mut self.out, ",devid=\"");
        push_u64(&mut self.out, u64::from(devid));
        put(&mut self.out, "\"} ");
        push_u64(&mut self.out, value);
        self.out.push(b'\n');
    }

    /// A value and the end of the line.
    fn value(&mut self, value: Value) {
        match value {
            Value::Count(n) => push_u64(&mut self.out, n),
            Value::SecondsFromNs(ns) => push_seconds(&mut self.out, ns),
        }
        self.out.push(b'\n');
    }
}

fn put(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
}

/// The usual 8-4-4-4-12 lowercase form (what `Uuid`'s `Display` prints, without the
/// formatting machinery: this runs once per domain per scrape).
fn push_uuid(out: &mut Vec<u8>, uuid: &Uuid) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in uuid.0.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 0xf)]);
    }
}

/// A label value with `\`, `"` and newline escaped.
fn push_escaped(out: &mut Vec<u8>, value: &str) {
    // Most names need no escaping: copy them whole.
    if !value.contains(['\\', '"', '\n']) {
        put(out, value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => put(out, "\\\\"),
            '"' => put(out, "\\\""),
            '\n' => put(out, "\\n"),
            c => put(out, c.encode_utf8(&mut [0; 4])),
        }
    }
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    // Two digits per division: most values here have 5 to 13 digits.
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while n >= 100 {
        // Below 100, so the cast cannot truncate.
        let pair = usize::from((n % 100) as u8) * 2;
        n /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        // Below 100 here.
        let pair = usize::from((n % 100) as u8) * 2;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        // Below 10 here.
        digits[at] = b'0' + (n % 10) as u8;
    }
    out.extend_from_slice(&digits[at..]);
}

/// Nanoseconds as exact decimal seconds: `12.5`, `0.000000001`, `3`.
fn push_seconds(out: &mut Vec<u8>, ns: u64) {
    push_u64(out, ns / 1_000_000_000);
    let mut fraction = ns % 1_000_000_000;
    if fraction == 0 {
        return;
    }
    let mut digits = [b'0'; 9];
    for digit in digits.iter_mut().rev() {
        // Below 10, so the cast cannot truncate.
        *digit = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    let end = digits
        .iter()
        .rposition(|&d| d != b'0')
        .map_or(0, |last| last + 1);
    out.push(b'.');
    out.extend_from_slice(&digits[..end]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{DomId, DomainName, Uuid, VbdStats, VcpuStats, VifStats};

    fn seconds(ns: u64) -> String {
        let mut s = Vec::new();
        push_seconds(&mut s, ns);
        String::from_utf8(s).unwrap()
    }

    #[test]
    fn test_seconds_are_exact_decimals() {
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(1), "0.000000001");
        assert_eq!(seconds(12_500_000_000), "12.5");
        assert_eq!(seconds(3_000_000_000), "3");
        assert_eq!(seconds(1_020_304_050), "1.02030405");
        assert_eq!(seconds(u64::MAX), "18446744073.709551615");
    }

    #[test]
    fn test_integers() {
        for n in [
            0,
            7,
            10,
            99,
            100,
            101,
            1_234_567_890,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut s = Vec::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string().as_bytes());
        }
    }

    #[test]
    fn test_uuid_as_display_prints_it() {
        let uuid = Uuid([
            0x20, 0xe9, 0xdb, 0x37, 0xa6, 0xea, 0x42, 0xb4, 0x96, 0x11, 0x9b, 0x9d, 0x2a, 0xa1,
            0xcc, 0x27,
        ]);
        let mut s = Vec::new();
        push_uuid(&mut s, &uuid);
        assert_eq!(String::from_utf8(s).unwrap(), uuid.to_string());
    }

    #[test]
    fn test_label_escaping() {
        let mut s = Vec::new();
        push_escaped(&mut s, "a\\b\"c\nd é");
        assert_eq!(String::from_utf8(s).unwrap(), "a\\\\b\\\"c\\nd é");
    }

    #[test]
    fn test_failed_scrape_has_only_up_and_duration() {
        let text = to_string(&Scrape::failed(Duration::from_micros(1500)));
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(samples, ["xen_up 0", "xen_scrape_duration_seconds 0.0015"]);
    }

    fn domain(domid: u32, name: &[u8]) -> DomainStats {
        DomainStats {
            domid: DomId(domid),
            name: DomainName::new(name),
            ..DomainStats::default()
        }
    }

    #[test]
    fn test_guest_view_of_network_and_bytes_of_sectors() {
        let mut d = domain(3, b"db");
        d.vifs.push(VifStats {
            devid: 1,
            rx_bytes: 100,
            tx_bytes: 900,
            ..VifStats::default()
        });
        d.vbds.push(VbdStats {
            devid: 51712,
            read_sectors: 3,
            ..VbdStats::default()
        });
        d.vbds.push(VbdStats {
            devid: 51728,
            error: true,
            ..VbdStats::default()
        });
        let mut sample = Sample::default();
        sample.domains.push(d);
        let text = to_string(&Scrape::ok(&sample, Duration::ZERO));
        assert!(text.contains(
            "xen_domain_network_receive_bytes_total{domain=\"db\",domid=\"3\",devid=\"1\"} 900\n"
        ));
        assert!(text.contains(
            "xen_domain_network_transmit_bytes_total{domain=\"db\",domid=\"3\",devid=\"1\"} 100\n"
        ));
        assert!(text.contains(
            "xen_domain_block_read_bytes_total{domain=\"db\",domid=\"3\",devid=\"51712\"} 1536\n"
        ));
        assert!(!text.contains("51728"), "failed VBD is absent");
    }

    #[test]
    fn test_non_utf8_name_uuid_states_and_unlimited_memory() {
        let mut d = domain(4, b"bad\xff name");
        d.uuid = Some(Uuid([0xab; 16]));
        d.state = DomainState::SHUTDOWN | DomainState::CRASHED;
        d.max_memory_kib = None;
        d.vcpus.push(VcpuStats {
            id: 1,
            online: true,
            cpu_time_ns: 2_000_000_001,
        });
        let mut sample = Sample::default();
        sample.domains.push(d);
        let text = to_string(&Scrape::ok(&sample, Duration::ZERO));
        let labels = "domain=\"bad\u{fffd} name\",domid=\"4\"";
        assert!(text.contains(&format!(
            "xen_domain_info{{{labels},uuid=\"abababab-abab-abab-abab-abababababab\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "xen_domain_state{{{labels},state=\"crashed\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "xen_domain_state{{{labels},state=\"running\"}} 0\n"
        )));
        assert!(text.contains("xen_domains{state=\"shutdown\"} 1\n"));
        assert!(text.contains("xen_domains{state=\"crashed\"} 1\n"));
        assert!(text.contains(&format!(
            "xen_domain_vcpu_cpu_seconds_total{{{labels},vcpu=\"1\"}} 2.000000001\n"
        )));
        assert!(!text.contains("xen_domain_memory_max_bytes{"));
    }
}
