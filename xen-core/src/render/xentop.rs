//! xentop's table, byte for byte as `xentop -b` prints it (tools/xentop/xentop.c).
//!
//! Each iteration prints the header once (before every domain with `-r`), then one row per
//! domain, each followed by its detail lines (`-v` vCPUs, `-n` vifs, `-x` VBDs). What scripts
//! written for `xentop -b` rely on, and this module reproduces:
//!
//! * the 19 columns right-aligned and joined by one space; NAME is `%10.10s` (truncated to 10
//!   bytes) unless full names are asked for, then as wide as the longest name;
//! * NETTX(k), NETRX(k), VBD_RD, VBD_WR, VBD_RSECT and VBD_WSECT widen, every iteration, to
//!   `(unsigned)(log10(max + 1) + 1)` digits of their largest value;
//! * MAXMEM(k) prints `no limit` and MAXMEM(%) `n/a` for an unlimited domain; VBD columns print
//!   `-` when every VBD of the domain failed to report;
//! * CPU(%) is 0.0 in the first iteration and for domains not in the previous sample
//!   ([`Interval::cpu_percent`]);
//! * rows are sorted by name with `strcasecmp` (ASCII case-insensitive), the default of
//!   xentop's sort; `dom0_first` (xentop `-z`) puts `Domain-0` first;
//! * an iteration without domains prints nothing, not even the header.
// Length note: over 700 lines only with the unit tests at the bottom (the renderer itself is
// about 570 lines); they pin xentop's byte-exact layout column by column.

use std::cmp::Ordering;
use std::io::{self, Write};

use crate::host::{DomainState, DomainStats, Interval, Totals, VbdKind};
use crate::render::digits::{write_str_right, write_u64, write_u64_right};

/// xentop's 19 columns, in display order. Also the sort keys of its `S` key, which cycles
/// through them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Column {
    /// NAME (sorted ascending, case-insensitively).
    #[default]
    Name,
    /// STATE (dying first, then shutdown, blocked, crashed, paused, running).
    State,
    /// CPU(sec).
    CpuSeconds,
    /// CPU(%).
    CpuPercent,
    /// MEM(k).
    Memory,
    /// MEM(%).
    MemoryPercent,
    /// MAXMEM(k).
    MaxMemory,
    /// MAXMEM(%).
    MaxMemoryPercent,
    /// VCPUS.
    Vcpus,
    /// NETS.
    Nets,
    /// NETTX(k).
    NetTx,
    /// NETRX(k).
    NetRx,
    /// VBDS.
    Vbds,
    /// VBD_OO.
    VbdOo,
    /// VBD_RD.
    VbdRead,
    /// VBD_WR.
    VbdWrite,
    /// VBD_RSECT.
    VbdReadSectors,
    /// VBD_WSECT.
    VbdWriteSectors,
    /// SSID (sorted ascending).
    Ssid,
}

impl Column {
    /// Every column in display order.
    pub const ALL: [Column; 19] = [
        Column::Name,
        Column::State,
        Column::CpuSeconds,
        Column::CpuPercent,
        Column::Memory,
        Column::MemoryPercent,
        Column::MaxMemory,
        Column::MaxMemoryPercent,
        Column::Vcpus,
        Column::Nets,
        Column::NetTx,
        Column::NetRx,
        Column::Vbds,
        Column::VbdOo,
        Column::VbdRead,
        Column::VbdWrite,
        Column::VbdReadSectors,
        Column::VbdWriteSectors,
        Column::Ssid,
    ];

    /// The header text, e.g. `CPU(%)`.
    pub fn header(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::State => "STATE",
            Column::CpuSeconds => "CPU(sec)",
            Column::CpuPercent => "CPU(%)",
            Column::Memory => "MEM(k)",
            Column::MemoryPercent => "MEM(%)",
            Column::MaxMemory => "MAXMEM(k)",
            Column::MaxMemoryPercent => "MAXMEM(%)",
            Column::Vcpus => "VCPUS",
            Column::Nets => "NETS",
            Column::NetTx => "NETTX(k)",
            Column::NetRx => "NETRX(k)",
            Column::Vbds => "VBDS",
            Column::VbdOo => "VBD_OO",
            Column::VbdRead => "VBD_RD",
            Column::VbdWrite => "VBD_WR",
            Column::VbdReadSectors => "VBD_RSECT",
            Column::VbdWriteSectors => "VBD_WSECT",
            Column::Ssid => "SSID",
        }
    }

    /// The width before any widening.
    pub fn default_width(self) -> usize {
        match self {
            Column::Name | Column::CpuSeconds | Column::Memory | Column::MaxMemory => 10,
            Column::VbdReadSectors | Column::VbdWriteSectors => 10,
            Column::State | Column::CpuPercent | Column::MemoryPercent => 6,
            Column::MaxMemoryPercent => 9,
            Column::Vcpus => 5,
            Column::Nets | Column::Vbds | Column::Ssid => 4,
            Column::NetTx | Column::NetRx | Column::VbdOo | Column::VbdRead | Column::VbdWrite => 8,
        }
    }

    /// The next sort column, as xentop's `S` key cycles.
    pub fn next(self) -> Column {
        let at = Column::ALL.iter().position(|&c| c == self).unwrap_or(0);
        Column::ALL[(at + 1) % Column::ALL.len()]
    }

    fn index(self) -> usize {
        Column::ALL.iter().position(|&c| c == self).unwrap_or(0)
    }
}

/// What an iteration shows (xentop's command-line switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BatchOptions {
    /// `-n`: a line per vif after each domain.
    pub networks: bool,
    /// `-x`: a line per VBD after each domain.
    pub vbds: bool,
    /// `-v`: the vCPU times after each domain.
    pub vcpus: bool,
    /// `-r`: the header before every domain.
    pub repeat_header: bool,
    /// `-f`: full names instead of the first 10 bytes.
    pub full_names: bool,
    /// `-z`: `Domain-0` first, the others sorted after it.
    pub dom0_first: bool,
    /// The sort column (xentop's default is NAME).
    pub sort: Column,
}

/// One domain's numbers as the table shows them.
#[derive(Debug, Clone)]
struct Row<'a> {
    domain: &'a DomainStats,
    cpu_percent: f64,
    totals: Totals,
}

/// One iteration of the table: domains sorted, column widths computed. Render it whole with
/// [`Table::write`], or line by line (an interactive screen does).
#[derive(Debug, Clone)]
pub struct Table<'a> {
    rows: Vec<Row<'a>>,
    widths: [usize; 19],
    total_memory_kib: u64,
    options: BatchOptions,
}

impl<'a> Table<'a> {
    /// Sorts the interval's domains and sizes the columns, as xentop does each iteration.
    pub fn new(interval: &Interval<'a>, options: &BatchOptions) -> Table<'a> {
        let sample = interval.current();
        let mut rows: Vec<Row<'a>> = sample
            .domains
            .iter()
            .map(|domain| Row {
                domain,
                cpu_percent: interval.cpu_percent(domain),
                totals: Totals::of(domain),
            })
            .collect();
        let mut sort_from = 0;
        if options.dom0_first {
            // xentop swaps the last domain named exactly "Domain-0" to the front.
            if let Some(at) = rows
                .iter()
                .rposition(|r| r.domain.name.as_bytes() == b"Domain-0")
            {
                rows.swap(0, at);
                sort_from = 1;
            }
        }
        let sort = options.sort;
        if let Some(rest) = rows.get_mut(sort_from..) {
            rest.sort_by(|a, b| compare(sort, a, b));
        }
        let mut widths = Column::ALL.map(Column::default_width);
        for row in &rows {
            if options.full_names {
                let w = &mut widths[Column::Name.index()];
                *w = (*w).max(row.domain.name.as_bytes().len());
            }
            let vbd = row.totals.vbd.unwrap_or_default();
            for (column, value) in [
                (Column::NetTx, row.totals.net_tx_bytes / 1024),
                (Column::NetRx, row.totals.net_rx_bytes / 1024),
                (Column::VbdRead, vbd.read_requests),
                (Column::VbdWrite, vbd.write_requests),
                (Column::VbdReadSectors, vbd.read_sectors),
                (Column::VbdWriteSectors, vbd.write_sectors),
            ] {
                let w = &mut widths[column.index()];
                *w = (*w).max(int_field_width(value.wrapping_add(1)));
            }
        }
        Table {
            rows,
            widths,
            total_memory_kib: sample.node.total_memory_kib,
            options: *options,
        }
    }

    /// Number of domains (rows).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no domains.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The domain of row `index`, in display order.
    pub fn domain(&self, index: usize) -> Option<&'a DomainStats> {
        self.rows.get(index).map(|r| r.domain)
    }

    /// The width of a column in this iteration.
    pub fn width(&self, column: Column) -> usize {
        self.widths[column.index()]
    }

    /// The whole iteration, as `xentop -b` prints it.
    pub fn write<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        for index in 0..self.rows.len() {
            if index == 0 || self.options.repeat_header {
                self.write_header(out)?;
            }
            self.write_row(out, index)?;
            self.write_details(out, index)?;
        }
        Ok(())
    }

    /// The header line.
    pub fn write_header<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        for (i, column) in Column::ALL.iter().enumerate() {
            if i != 0 {
                out.write_all(b" ")?;
            }
            write_str_right(out, column.header().as_bytes(), self.widths[i])?;
        }
        out.write_all(b"\n")
    }

    /// The table line of row `index` (nothing if there is no such row).
    pub fn write_row<W: Write + ?Sized>(&self, out: &mut W, index: usize) -> io::Result<()> {
        let Some(row) = self.rows.get(index) else {
            return Ok(());
        };
        let d = row.domain;
        let w = |column: Column| self.widths[column.index()];
        // NAME: "%10.10s", or "%*s" with full names.
        let name = d.name.as_bytes();
        let name = if self.options.full_names {
            name
        } else {
            &name[..name.len().min(10)]
        };
        write_str_right(out, name, w(Column::Name))?;
        out.write_all(b" ")?;
        out.write_all(&state_letters(d.state))?;
        out.write_all(b" ")?;
        write_u64_right(out, d.cpu_time_ns / 1_000_000_000, 10)?;
        write!(out, " {:>6.1} ", row.cpu_percent)?;
        write_u64_right(out, d.memory_kib, 10)?;
        out.write_all(b" ")?;
        write_percent(out, d.memory_kib, self.total_memory_kib, 6)?;
        out.write_all(b" ")?;
        match d.max_memory_kib {
            Some(max) => {
                write_u64_right(out, max, 10)?;
                out.write_all(b" ")?;
                write_percent(out, max, self.total_memory_kib, 9)?;
            }
            None => out.write_all(b"  no limit       n/a")?,
        }
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        for (value, width) in [
            (u64::from(d.max_vcpus), 5),
            (count(d.vifs.len()), 4),
            (row.totals.net_tx_bytes / 1024, w(Column::NetTx)),
            (row.totals.net_rx_bytes / 1024, w(Column::NetRx)),
            (count(d.vbds.len()), 4),
        ] {
            out.write_all(b" ")?;
            write_u64_right(out, value, width)?;
        }
        let vbd_columns = [
            Column::VbdOo,
            Column::VbdRead,
            Column::VbdWrite,
            Column::VbdReadSectors,
            Column::VbdWriteSectors,
        ];
        match row.totals.vbd {
            Some(v) => {
                let values = [
                    v.oo_requests,
                    v.read_requests,
                    v.write_requests,
                    v.read_sectors,
                    v.write_sectors,
                ];
                for (value, column) in values.into_iter().zip(vbd_columns) {
                    out.write_all(b" ")?;
                    write_u64_right(out, value, w(column))?;
                }
            }
            None => {
                for column in vbd_columns {
                    out.write_all(b" ")?;
                    write_str_right(out, b"-", w(column))?;
                }
            }
        }
        out.write_all(b" ")?;
        write_u64_right(out, u64::from(d.ssid), 4)?;
        out.write_all(b"\n")
    }

    /// The detail lines of row `index` that the options ask for (`-v`, `-n`, `-x`).
    pub fn write_details<W: Write + ?Sized>(&self, out: &mut W, index: usize) -> io::Result<()> {
        let Some(row) = self.rows.get(index) else {
            return Ok(());
        };
        if self.options.vcpus {
            write_vcpus(out, row.domain)?;
        }
        if self.options.networks {
            write_networks(out, row.domain)?;
        }
        if self.options.vbds {
            write_vbds(out, row.domain)?;
        }
        Ok(())
    }
}

/// Writes one iteration of `xentop -b` for `interval` (see the [module docs](self)).
///
/// ```
/// use xen_core::host::{DomainName, DomainStats, Interval, Sample};
/// use xen_core::render::xentop::{self, BatchOptions};
///
/// let mut sample = Sample::default();
/// sample.node.total_memory_kib = 2_096_128;
/// let mut dom0 = DomainStats::default();
/// dom0.name = DomainName::new("Domain-0");
/// dom0.memory_kib = 1_048_576;
/// dom0.max_memory_kib = Some(1_048_576);
/// dom0.max_vcpus = 2;
/// sample.domains.push(dom0);
///
/// let mut text = Vec::new();
/// xentop::write_iteration(&mut text, &Interval::first(&sample), &BatchOptions::default())?;
/// assert_eq!(
///     String::from_utf8_lossy(&text).lines().nth(1),
///     Some("  Domain-0 ------          0    0.0    1048576   50.0    1048576      50.0     2    0        0        0    0        0        0        0          0          0    0")
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_iteration<W: Write + ?Sized>(
    out: &mut W,
    interval: &Interval<'_>,
    options: &BatchOptions,
) -> io::Result<()> {
    Table::new(interval, options).write(out)
}

/// xentop's six state letters: dying, shutdown, blocked, crashed, paused, running.
pub fn state_letters(state: DomainState) -> [u8; 6] {
    let letter = |flag: DomainState, ch: u8| if state.contains(flag) { ch } else { b'-' };
    [
        letter(DomainState::DYING, b'd'),
        letter(DomainState::SHUTDOWN, b's'),
        letter(DomainState::BLOCKED, b'b'),
        letter(DomainState::CRASHED, b'c'),
        letter(DomainState::PAUSED, b'p'),
        letter(DomainState::RUNNING, b'r'),
    ]
}

/// xentop's `INT_FIELD_WIDTH(n)`: `(unsigned int)(log10(n) + 1)`, in floating point as C
/// computes it (0 for n = 0, which C leaves undefined and which never widens a column).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn int_field_width(n: u64) -> usize {
    // Saturating float-to-int cast: -inf (n = 0) becomes 0.
    ((n as f64).log10() + 1.0) as usize
}

/// `%*.1f` of `part / whole * 100`, as xentop computes it in doubles; C's `inf`/`-nan` for an
/// unknown (zero) host total.
fn write_percent<W: Write + ?Sized>(
    out: &mut W,
    part: u64,
    whole: u64,
    width: usize,
) -> io::Result<()> {
    if whole == 0 {
        let text = if part == 0 { "-nan" } else { "inf" };
        return write!(out, "{text:>width$}");
    }
    let pct = part as f64 / whole as f64 * 100.0;
    write!(out, "{pct:>width$.1}")
}

/// `VCPUs(sec): ` then ` %2u: %10llus` per online vCPU, 5 per line.
fn write_vcpus<W: Write + ?Sized>(out: &mut W, domain: &DomainStats) -> io::Result<()> {
    out.write_all(b"VCPUs(sec): ")?;
    for vcpu in domain.vcpus.iter().filter(|v| v.online) {
        if vcpu.id != 0 && vcpu.id % 5 == 0 {
            out.write_all(b"\n        ")?;
        }
        out.write_all(b" ")?;
        write_u64_right(out, u64::from(vcpu.id), 2)?;
        out.write_all(b": ")?;
        write_u64_right(out, vcpu.cpu_time_ns / 1_000_000_000, 10)?;
        out.write_all(b"s")?;
    }
    out.write_all(b"\n")
}

/// One line per vif, numbered by position; counters in bytes, from the backend's view.
fn write_networks<W: Write + ?Sized>(out: &mut W, domain: &DomainStats) -> io::Result<()> {
    for (i, vif) in domain.vifs.iter().enumerate() {
        out.write_all(b"Net")?;
        write_u64(out, u64::try_from(i).unwrap_or(u64::MAX))?;
        out.write_all(b" RX: ")?;
        for (value, unit) in [
            (vif.rx_bytes, &b"bytes "[..]),
            (vif.rx_packets, b"pkts "),
            (vif.rx_errors, b"err "),
            (vif.rx_drops, b"drop  TX: "),
            (vif.tx_bytes, b"bytes "),
            (vif.tx_packets, b"pkts "),
            (vif.tx_errors, b"err "),
            (vif.tx_drops, b"drop\n"),
        ] {
            write_u64_right(out, value, 8)?;
            out.write_all(unit)?;
        }
    }
    Ok(())
}

/// One line per VBD: type, device number, `[major:minor]` in hex, counters or `-`.
fn write_vbds<W: Write + ?Sized>(out: &mut W, domain: &DomainStats) -> io::Result<()> {
    for vbd in &domain.vbds {
        let kind = match vbd.kind {
            VbdKind::BlkBack => "BlkBack",
            VbdKind::BlkTap => "BlkTap",
            VbdKind::Tapdisk3 => "Tapdisk3",
            _ => "Unidentified",
        };
        // linux/kdev_t.h (user space): MAJOR = dev >> 8, MINOR = dev & 0xff.
        write!(
            out,
            "VBD {kind} {:>4} [{:>2x}:{:>2x}]  OO: ",
            vbd.devid,
            vbd.devid >> 8,
            vbd.devid & 0xff
        )?;
        let values = [
            (vbd.oo_requests, 8, &b"   RD: "[..]),
            (vbd.read_requests, 8, b"   WR: "),
            (vbd.write_requests, 8, b"   RSECT: "),
            (vbd.read_sectors, 10, b"   WSECT: "),
            (vbd.write_sectors, 10, b"\n"),
        ];
        for (value, width, next) in values {
            if vbd.error {
                write_str_right(out, b"-", width)?;
            } else {
                write_u64_right(out, value, width)?;
            }
            out.write_all(next)?;
        }
    }
    Ok(())
}

/// `strcasecmp` in the C locale: bytes compared after ASCII lowercasing.
fn strcasecmp(a: &[u8], b: &[u8]) -> Ordering {
    a.iter()
        .map(u8::to_ascii_lowercase)
        .cmp(b.iter().map(u8::to_ascii_lowercase))
}

/// xentop's compare functions: NAME and SSID ascending, STATE by flag priority, every other
/// column descending. Ties keep the backend's order (the sort is stable).
fn compare(column: Column, a: &Row<'_>, b: &Row<'_>) -> Ordering {
    let (x, y) = (a.domain, b.domain);
    let vbd = |r: &Row<'_>| r.totals.vbd.unwrap_or_default();
    let descending = |p: u64, q: u64| q.cmp(&p);
    match column {
        Column::Name => strcasecmp(x.name.as_bytes(), y.name.as_bytes()),
        Column::State => {
            for flag in [
                DomainState::DYING,
                DomainState::SHUTDOWN,
                DomainState::BLOCKED,
                DomainState::CRASHED,
                DomainState::PAUSED,
                DomainState::RUNNING,
            ] {
                match (x.state.contains(flag), y.state.contains(flag)) {
                    (true, false) => return Ordering::Less,
                    (false, true) => return Ordering::Greater,
                    _ => {}
                }
            }
            Ordering::Equal
        }
        Column::CpuSeconds => descending(x.cpu_time_ns, y.cpu_time_ns),
        Column::CpuPercent => b.cpu_percent.total_cmp(&a.cpu_percent),
        Column::Memory | Column::MemoryPercent => descending(x.memory_kib, y.memory_kib),
        Column::MaxMemory | Column::MaxMemoryPercent => descending(
            x.max_memory_kib.unwrap_or(u64::MAX),
            y.max_memory_kib.unwrap_or(u64::MAX),
        ),
        Column::Vcpus => descending(u64::from(x.max_vcpus), u64::from(y.max_vcpus)),
        Column::Nets => y.vifs.len().cmp(&x.vifs.len()),
        Column::NetTx => descending(a.totals.net_tx_bytes, b.totals.net_tx_bytes),
        Column::NetRx => descending(a.totals.net_rx_bytes, b.totals.net_rx_bytes),
        Column::Vbds => y.vbds.len().cmp(&x.vbds.len()),
        Column::VbdOo => descending(vbd(a).oo_requests, vbd(b).oo_requests),
        Column::VbdRead => descending(vbd(a).read_requests, vbd(b).read_requests),
        Column::VbdWrite => descending(vbd(a).write_requests, vbd(b).write_requests),
        Column::VbdReadSectors => descending(vbd(a).read_sectors, vbd(b).read_sectors),
        Column::VbdWriteSectors => descending(vbd(a).write_sectors, vbd(b).write_sectors),
        Column::Ssid => x.ssid.cmp(&y.ssid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{DomId, DomainName, Sample, VbdStats, VcpuStats, VifStats};

    fn dom(name: &str, domid: u32) -> DomainStats {
        DomainStats {
            name: DomainName::new(name),
            domid: DomId(domid),
            max_vcpus: 1,
            max_memory_kib: Some(1024),
            memory_kib: 1024,
            ..DomainStats::default()
        }
    }

    fn render(sample: &Sample, options: &BatchOptions) -> String {
        let mut out = Vec::new();
        write_iteration(&mut out, &Interval::first(sample), options).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn names(text: &str) -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim_start().starts_with("NAME"))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect()
    }

    fn sample(domains: Vec<DomainStats>) -> Sample {
        let mut s = Sample::default();
        s.node.total_memory_kib = 1 << 20;
        s.domains = domains;
        s
    }

    #[test]
    fn test_sorted_case_insensitively_by_name() {
        let s = sample(vec![
            dom("web", 3),
            dom("Domain-0", 0),
            dom("alpha", 5),
            dom("Beta", 4),
        ]);
        assert_eq!(
            names(&render(&s, &BatchOptions::default())),
            ["alpha", "Beta", "Domain-0", "web"]
        );
    }

    #[test]
    fn test_dom0_first() {
        let s = sample(vec![dom("web", 3), dom("Domain-0", 0), dom("alpha", 5)]);
        let options = BatchOptions {
            dom0_first: true,
            ..BatchOptions::default()
        };
        assert_eq!(names(&render(&s, &options)), ["Domain-0", "alpha", "web"]);
    }

    #[test]
    fn test_sort_by_cpu_seconds_is_descending_and_cycles() {
        let mut a = dom("a", 1);
        a.cpu_time_ns = 5_000_000_000;
        let mut b = dom("b", 2);
        b.cpu_time_ns = 9_000_000_000;
        let s = sample(vec![a, b]);
        let options = BatchOptions {
            sort: Column::Name.next().next(),
            ..BatchOptions::default()
        };
        assert_eq!(options.sort, Column::CpuSeconds);
        assert_eq!(names(&render(&s, &options)), ["b", "a"]);
        assert_eq!(Column::Ssid.next(), Column::Name);
    }

    #[test]
    fn test_names_truncate_to_ten_bytes_unless_full() {
        let s = sample(vec![dom("a-very-long-domain-name", 1)]);
        let text = render(&s, &BatchOptions::default());
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .starts_with("a-very-lon ------")
        );
        let full = render(
            &s,
            &BatchOptions {
                full_names: true,
                ..BatchOptions::default()
            },
        );
        let mut lines = full.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("                   NAME  STATE")
        );
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("a-very-long-domain-name ------")
        );
    }

    #[test]
    fn test_names_are_bytes_cut_at_ten_like_c() {
        // %10.10s counts bytes: "abcdefghiü" (11 bytes) is cut inside the "ü", and a name
        // with invalid UTF-8 is printed as it is.
        let mut s = sample(vec![dom("abcdefghiü", 1), dom("x", 2)]);
        let mut odd = dom("", 3);
        odd.name = DomainName::new(b"bad\xff name".to_vec());
        s.domains.push(odd);
        let mut out = Vec::new();
        write_iteration(&mut out, &Interval::first(&s), &BatchOptions::default()).unwrap();
        let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
        assert!(lines[1].starts_with(b"abcdefghi\xc3 ------"));
        assert!(lines[2].starts_with(b" bad\xff name ------"));
        assert!(lines[3].starts_with(b"         x ------"));
    }

    #[test]
    fn test_growing_columns_widen_one_digit_early_like_xentop() {
        let mut d = dom("big", 1);
        // 99,999,999 reads: log10(10^8) + 1 = 9 columns, although the value has 8 digits.
        d.vbds = vec![VbdStats {
            read_requests: 99_999_999,
            ..VbdStats::default()
        }];
        let text = render(&sample(vec![d]), &BatchOptions::default());
        let header = text.lines().next().unwrap();
        assert!(header.contains(" VBD_OO    VBD_RD   VBD_WR "), "{header}");
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .contains("        0  99999999        0")
        );
    }

    #[test]
    fn test_no_limit_and_failed_vbds() {
        let mut d = dom("x", 1);
        d.max_memory_kib = None;
        d.vbds = vec![VbdStats {
            devid: 51712,
            kind: VbdKind::BlkBack,
            error: true,
            ..VbdStats::default()
        }];
        let options = BatchOptions {
            vbds: true,
            ..BatchOptions::default()
        };
        let text = render(&sample(vec![d]), &options);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].contains("  no limit       n/a "), "{}", lines[1]);
        assert!(lines[1].ends_with("    1        -        -        -          -          -    0"));
        assert_eq!(
            lines[2],
            "VBD BlkBack 51712 [ca: 0]  OO:        -   RD:        -   WR:        -   RSECT:          -   WSECT:          -"
        );
    }

    #[test]
    fn test_vcpu_lines_wrap_after_five_and_skip_offline() {
        let mut d = dom("v", 1);
        d.max_vcpus = 7;
        d.vcpus = (0..7)
            .map(|id| VcpuStats {
                id,
                online: id != 2,
                cpu_time_ns: u64::from(id) * 1_000_000_000,
            })
            .collect();
        let options = BatchOptions {
            vcpus: true,
            ..BatchOptions::default()
        };
        let text = render(&sample(vec![d]), &options);
        let lines: Vec<&str> = text.lines().skip(2).collect();
        assert_eq!(
            lines,
            [
                "VCPUs(sec):   0:          0s  1:          1s  3:          3s  4:          4s",
                "          5:          5s  6:          6s",
            ]
        );
    }

    #[test]
    fn test_network_lines_are_bytes_and_numbered_by_position() {
        let mut d = dom("n", 1);
        d.vifs = vec![
            VifStats {
                devid: 4,
                rx_bytes: 2564,
                rx_packets: 13,
                tx_bytes: 3692,
                tx_packets: 24,
                ..VifStats::default()
            },
            VifStats::default(),
        ];
        let options = BatchOptions {
            networks: true,
            ..BatchOptions::default()
        };
        let text = render(&sample(vec![d]), &options);
        let lines: Vec<&str> = text.lines().collect();
        // NETTX(k) is the backend's tx (3692 / 1024 = 3), NETRX(k) its rx.
        assert!(
            lines[1].contains("    2        3        2    0"),
            "{}",
            lines[1]
        );
        assert_eq!(
            lines[2],
            "Net0 RX:     2564bytes       13pkts        0err        0drop  TX:     3692bytes       24pkts        0err        0drop"
        );
        assert!(lines[3].starts_with("Net1 RX:        0bytes"));
    }

    #[test]
    fn test_repeat_header_and_empty_iteration() {
        let s = sample(vec![dom("a", 1), dom("b", 2)]);
        let options = BatchOptions {
            repeat_header: true,
            ..BatchOptions::default()
        };
        let text = render(&s, &options);
        assert_eq!(text.lines().filter(|l| l.contains("NAME")).count(), 2);
        assert_eq!(render(&sample(Vec::new()), &options), "");
    }

    #[test]
    fn test_percent_of_unknown_total_prints_like_c() {
        let mut s = sample(vec![dom("a", 1)]);
        s.node.total_memory_kib = 0;
        let text = render(&s, &BatchOptions::default());
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .contains("   1024    inf       1024       inf")
        );
    }

    #[test]
    fn test_int_field_width() {
        assert_eq!(int_field_width(0), 0);
        assert_eq!(int_field_width(1), 1);
        assert_eq!(int_field_width(9), 1);
        assert_eq!(int_field_width(10), 2);
        assert_eq!(int_field_width(100_000_000), 9);
        assert_eq!(int_field_width(u64::MAX), 20);
    }
}
