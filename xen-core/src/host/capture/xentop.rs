//! `xentop -b` text back into samples.

// Length note: about 800 lines of code and 160 of tests: one total parser for `xentop -b`
// output, whose domain, vCPU, network and VBD rows share the column and location state; split
// by row kind it would pass that state across files. Candidate for a split into header/row
// modules when it next changes.

use std::collections::HashMap;

use crate::XenError;
use crate::host::capture::{Locator, Token, lines, lossy, tokens};
use crate::host::{
    DomId, DomainName, DomainState, DomainStats, Sample, VbdKind, VbdStats, VbdTotals, VcpuStats,
    VifStats,
};
use crate::render::xentop::Column;

const XENTOP: Locator = Locator {
    format: "xentop -b",
};

/// Most vCPUs, vifs or VBDs one row may ask [`XentopBatch::to_samples`] to create (Xen's
/// own limit on vCPUs per domain), so that a few bytes of text cannot ask for gigabytes.
pub const MAX_DEVICES_PER_ROW: u32 = 8192;

/// Most vCPUs, vifs and VBDs a whole reconstruction may create.
pub const MAX_DEVICES: u64 = 1 << 20;

/// A parsed `xentop -b` capture: the figures exactly as printed.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct XentopBatch {
    /// The iterations in order (each starts at a header line).
    pub iterations: Vec<XentopIteration>,
}

/// One iteration of the table.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct XentopIteration {
    /// Line of its header (1-based).
    pub line: usize,
    /// Its domains, in printed order.
    pub rows: Vec<XentopRow>,
}

/// One domain line with its detail lines, as printed.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct XentopRow {
    /// Line of the row (1-based).
    pub line: usize,
    /// NAME as printed (truncated to 10 bytes unless the capture used `-f`).
    pub name: DomainName,
    /// STATE.
    pub state: DomainState,
    /// CPU(sec).
    pub cpu_seconds: u64,
    /// CPU(%) in tenths of a percent.
    pub cpu_percent_tenths: u64,
    /// MEM(k).
    pub memory_kib: u64,
    /// MEM(%) in tenths.
    pub memory_percent_tenths: u64,
    /// MAXMEM(k); `None` for `no limit`.
    pub max_memory_kib: Option<u64>,
    /// MAXMEM(%) in tenths; `None` for `n/a`.
    pub max_memory_percent_tenths: Option<u64>,
    /// VCPUS.
    pub vcpus: u32,
    /// NETS.
    pub nets: u32,
    /// NETTX(k).
    pub net_tx_kib: u64,
    /// NETRX(k).
    pub net_rx_kib: u64,
    /// VBDS.
    pub vbds: u32,
    /// VBD_OO, VBD_RD, VBD_WR, VBD_RSECT, VBD_WSECT; `None` when printed `-`.
    pub vbd: Option<VbdTotals>,
    /// SSID.
    pub ssid: u32,
    /// `-v`: `(vcpu, seconds)` of the online vCPUs; `None` without a VCPUs line.
    pub vcpu_seconds: Option<Vec<(u32, u64)>>,
    /// `-n`: one entry per `NetN` line (device numbers are not printed: `devid` is N).
    pub vifs: Vec<VifStats>,
    /// `-x`: one entry per `VBD` line.
    pub vbd_lines: Vec<VbdStats>,
}

/// What [`XentopBatch::to_samples`] needs that the text does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconstructOptions {
    /// Time between iterations (the capture's `-d`); 1 s by default.
    pub interval_ns: u64,
    /// The host's memory (`xl info` total_memory × 1024). `None` infers a value that gives
    /// every printed MEM(%) and MAXMEM(%).
    pub total_memory_kib: Option<u64>,
    /// Physical CPUs of the host (0 = unknown).
    pub num_cpus: u32,
    /// Unix time of the first iteration.
    pub start_unix_time_ns: u64,
}

impl Default for ReconstructOptions {
    fn default() -> ReconstructOptions {
        ReconstructOptions {
            interval_ns: 1_000_000_000,
            total_memory_kib: None,
            num_cpus: 0,
            start_unix_time_ns: 0,
        }
    }
}

/// Parses `xentop -b` output, with any of `-n -x -v -f` (and `-r` when `repeated_headers`:
/// then a header does not start an iteration, a name seen before in the iteration does).
///
/// Rows are read from the right, so names may hold spaces; everything before the STATE
/// field is the name.
///
/// ```
/// let text = b"      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID
///   Domain-0 -----r         20    0.0    1048576   50.0   no limit       n/a     2    0        0        0    0        0        0        0          0          0    0
/// ";
/// let batch = xen_core::host::capture::parse_xentop_batch(text, false)?;
/// let row = &batch.iterations[0].rows[0];
/// assert_eq!(row.name.as_bytes(), b"Domain-0");
/// assert_eq!(row.max_memory_kib, None);
/// # Ok::<(), xen_core::XenError>(())
/// ```
pub fn parse_xentop_batch(text: &[u8], repeated_headers: bool) -> Result<XentopBatch, XenError> {
    let mut batch = XentopBatch::default();
    // Whether the previous line was a VCPUs line (its continuation lines may follow).
    let mut in_vcpus = false;
    for (number, line) in lines(text) {
        let t = tokens(line);
        if is_header(&t) {
            in_vcpus = false;
            if !repeated_headers || batch.iterations.is_empty() {
                batch.iterations.push(XentopIteration {
                    line: number,
                    rows: Vec::new(),
                });
            }
            continue;
        }
        let Some(iteration) = batch.iterations.last_mut() else {
            return Err(XENTOP.error(number, 0, "expected the xentop header line first"));
        };
        let first = t.first().map_or(&b""[..], |t| t.text);
        if first == b"VCPUs(sec):" {
            let row = last_row(iteration, number)?;
            let mut list = Vec::new();
            parse_vcpu_pairs(number, &t[1..], &mut list)?;
            row.vcpu_seconds = Some(list);
            in_vcpus = true;
            continue;
        }
        if in_vcpus && !t.is_empty() && t[0].start > 0 && looks_like_vcpu_pairs(&t) {
            let row = last_row(iteration, number)?;
            let list = row.vcpu_seconds.get_or_insert_with(Vec::new);
            parse_vcpu_pairs(number, &t, list)?;
            continue;
        }
        in_vcpus = false;
        if first.starts_with(b"Net") && t.get(1).is_some_and(|t| t.text == b"RX:") {
            let row = last_row(iteration, number)?;
            let vif = parse_net_line(number, &t, row.vifs.len())?;
            row.vifs.push(vif);
            continue;
        }
        if first == b"VBD" {
            let row = last_row(iteration, number)?;
            row.vbd_lines.push(parse_vbd_line(number, line)?);
            continue;
        }
        let row = parse_row(number, line, &t)?;
        if repeated_headers && iteration.rows.iter().any(|r| r.name == row.name) {
            batch.iterations.push(XentopIteration {
                line: number,
                rows: vec![row],
            });
        } else {
            iteration.rows.push(row);
        }
    }
    Ok(batch)
}

fn is_header(t: &[Token<'_>]) -> bool {
    t.len() == Column::ALL.len()
        && t.iter()
            .zip(Column::ALL)
            .all(|(token, column)| token.text == column.header().as_bytes())
}

fn last_row(iteration: &mut XentopIteration, number: usize) -> Result<&mut XentopRow, XenError> {
    iteration
        .rows
        .last_mut()
        .ok_or_else(|| XENTOP.error(number, 0, "a detail line before any domain line"))
}

fn looks_like_vcpu_pairs(t: &[Token<'_>]) -> bool {
    t.len().is_multiple_of(2)
        && t.chunks(2).all(|pair| {
            pair[0].text.ends_with(b":")
                && pair[0].text.len() > 1
                && pair[1].text.ends_with(b"s")
                && pair[1].text.len() > 1
        })
}

/// ` %2u: %10llus` pairs.
fn parse_vcpu_pairs(
    number: usize,
    t: &[Token<'_>],
    list: &mut Vec<(u32, u64)>,
) -> Result<(), XenError> {
    if !t.len().is_multiple_of(2) {
        let at = t.last().map_or(0, |t| t.start);
        return Err(XENTOP.error(number, at, "expected `N: SECONDSs` pairs"));
    }
    for pair in t.chunks(2) {
        let (id, seconds) = (pair[0], pair[1]);
        let id_text = id.text.strip_suffix(b":").ok_or_else(|| {
            XENTOP.error(number, id.start, "expected a vCPU number followed by `:`")
        })?;
        let secs_text = seconds.text.strip_suffix(b"s").ok_or_else(|| {
            XENTOP.error(number, seconds.start, "expected seconds followed by `s`")
        })?;
        let id = XENTOP.u32(
            number,
            Token {
                text: id_text,
                start: id.start,
            },
            "vCPU",
        )?;
        let secs = XENTOP.u64(
            number,
            Token {
                text: secs_text,
                start: seconds.start,
            },
            "vCPU seconds",
        )?;
        list.push((id, secs));
    }
    Ok(())
}

/// `NetN RX: Xbytes Ypkts Zerr Wdrop  TX: Xbytes Ypkts Zerr Wdrop`.
fn parse_net_line(number: usize, t: &[Token<'_>], index: usize) -> Result<VifStats, XenError> {
    if t.len() != 11 || t[6].text != b"TX:" {
        return Err(XENTOP.error(
            number,
            t.first().map_or(0, |t| t.start),
            "expected `NetN RX: Nbytes Npkts Nerr Ndrop  TX: Nbytes Npkts Nerr Ndrop`",
        ));
    }
    let expected = format!("Net{index}");
    if t[0].text != expected.as_bytes() {
        return Err(XENTOP.error(
            number,
            t[0].start,
            format!("expected {expected} (vifs are numbered in order)"),
        ));
    }
    let counter = |token: Token<'_>, suffix: &[u8], what: &str| -> Result<u64, XenError> {
        let digits = token.text.strip_suffix(suffix).ok_or_else(|| {
            XENTOP.error(
                number,
                token.start,
                format!("{what}: expected a number followed by {:?}", lossy(suffix)),
            )
        })?;
        XENTOP.u64(
            number,
            Token {
                text: digits,
                start: token.start,
            },
            what,
        )
    };
    Ok(VifStats {
        devid: u32::try_from(index).unwrap_or(u32::MAX),
        rx_bytes: counter(t[2], b"bytes", "RX bytes")?,
        rx_packets: counter(t[3], b"pkts", "RX packets")?,
        rx_errors: counter(t[4], b"err", "RX errors")?,
        rx_drops: counter(t[5], b"drop", "RX drops")?,
        tx_bytes: counter(t[7], b"bytes", "TX bytes")?,
        tx_packets: counter(t[8], b"pkts", "TX packets")?,
        tx_errors: counter(t[9], b"err", "TX errors")?,
        tx_drops: counter(t[10], b"drop", "TX drops")?,
    })
}

/// `VBD TYPE DEV [MA:MI]  OO: N   RD: N   WR: N   RSECT: N   WSECT: N` (or `-` for each).
fn parse_vbd_line(number: usize, line: &[u8]) -> Result<VbdStats, XenError> {
    let shape =
        "expected `VBD TYPE DEVICE [MAJOR:MINOR]  OO: N   RD: N   WR: N   RSECT: N   WSECT: N`";
    let close = line
        .iter()
        .position(|&b| b == b']')
        .ok_or_else(|| XENTOP.error(number, 0, shape))?;
    let head = tokens(&line[..close + 1]);
    let tail: Vec<Token<'_>> = tokens(&line[close + 1..])
        .into_iter()
        .map(|t| Token {
            text: t.text,
            start: t.start + close + 1,
        })
        .collect();
    // VBD, type, device, then the bracket (which may hold blanks: `[ 3: 0]`).
    if head.len() < 4 || !head[3].text.starts_with(b"[") || tail.len() != 10 {
        return Err(XENTOP.error(number, 0, shape));
    }
    let kind = match head[1].text {
        b"Unidentified" => VbdKind::Unidentified,
        b"BlkBack" => VbdKind::BlkBack,
        b"BlkTap" => VbdKind::BlkTap,
        b"Tapdisk3" => VbdKind::Tapdisk3,
        other => {
            return Err(XENTOP.error(
                number,
                head[1].start,
                format!("unknown VBD type {:?}", lossy(other)),
            ));
        }
    };
    let mut vbd = VbdStats {
        kind,
        devid: XENTOP.u32(number, head[2], "VBD device")?,
        ..VbdStats::default()
    };
    let labels: [&[u8]; 5] = [b"OO:", b"RD:", b"WR:", b"RSECT:", b"WSECT:"];
    let mut values = [None; 5];
    for (i, label) in labels.iter().enumerate() {
        let (name, value) = (tail[2 * i], tail[2 * i + 1]);
        if name.text != *label {
            return Err(XENTOP.error(number, name.start, format!("expected {:?}", lossy(label))));
        }
        values[i] = if value.text == b"-" {
            None
        } else {
            Some(XENTOP.u64(number, value, &lossy(label))?)
        };
    }
    match values {
        [Some(oo), Some(rd), Some(wr), Some(rs), Some(ws)] => {
            vbd.oo_requests = oo;
            vbd.read_requests = rd;
            vbd.write_requests = wr;
            vbd.read_sectors = rs;
            vbd.write_sectors = ws;
        }
        [None, None, None, None, None] => vbd.error = true,
        _ => {
            return Err(XENTOP.error(
                number,
                tail[1].start,
                "either all VBD counters or none are `-`",
            ));
        }
    }
    Ok(vbd)
}

/// A table row, read from the right.
fn parse_row(number: usize, line: &[u8], t: &[Token<'_>]) -> Result<XentopRow, XenError> {
    let short = || {
        XENTOP.error(
            number,
            line.len(),
            "expected a domain line: NAME STATE and 17 numbers (is a column missing?)",
        )
    };
    // 18 fields after the name; `no limit` takes two tokens.
    let n = t.len();
    if n < 19 {
        return Err(short());
    }
    let from_end = |k: usize| t[n - k];
    let mut row = XentopRow {
        line: number,
        ..XentopRow::default()
    };
    row.ssid = XENTOP.u32(number, from_end(1), "SSID")?;
    let vbd_fields = [
        from_end(6),
        from_end(5),
        from_end(4),
        from_end(3),
        from_end(2),
    ];
    row.vbd = if vbd_fields.iter().all(|f| f.text == b"-") {
        None
    } else {
        let [oo, rd, wr, rs, ws] = vbd_fields;
        Some(VbdTotals {
            oo_requests: XENTOP.u64(number, oo, "VBD_OO")?,
            read_requests: XENTOP.u64(number, rd, "VBD_RD")?,
            write_requests: XENTOP.u64(number, wr, "VBD_WR")?,
            read_sectors: XENTOP.u64(number, rs, "VBD_RSECT")?,
            write_sectors: XENTOP.u64(number, ws, "VBD_WSECT")?,
        })
    };
    row.vbds = XENTOP.u32(number, from_end(7), "VBDS")?;
    row.net_rx_kib = XENTOP.u64(number, from_end(8), "NETRX(k)")?;
    row.net_tx_kib = XENTOP.u64(number, from_end(9), "NETTX(k)")?;
    row.nets = XENTOP.u32(number, from_end(10), "NETS")?;
    row.vcpus = XENTOP.u32(number, from_end(11), "VCPUS")?;
    let max_pct = from_end(12);
    let state_at = if max_pct.text == b"n/a" {
        if n < 20 || from_end(14).text != b"no" || from_end(13).text != b"limit" {
            return Err(XENTOP.error(
                number,
                max_pct.start,
                "MAXMEM(%) is n/a but MAXMEM(k) is not `no limit`",
            ));
        }
        n - 19
    } else {
        row.max_memory_percent_tenths = Some(XENTOP.tenths(number, max_pct, "MAXMEM(%)")?);
        row.max_memory_kib = Some(XENTOP.u64(number, from_end(13), "MAXMEM(k)")?);
        n - 18
    };
    // state_at >= 1 because n >= 19 (20 with `no limit`), leaving one token for the name.
    let [state, cpu, cpu_pct, mem, mem_pct] = [0, 1, 2, 3, 4].map(|k| t[state_at + k]);
    row.memory_percent_tenths = XENTOP.tenths(number, mem_pct, "MEM(%)")?;
    row.memory_kib = XENTOP.u64(number, mem, "MEM(k)")?;
    row.cpu_percent_tenths = XENTOP.tenths(number, cpu_pct, "CPU(%)")?;
    row.cpu_seconds = XENTOP.u64(number, cpu, "CPU(sec)")?;
    row.state = parse_state(number, state)?;
    // The name is right-aligned: drop the padding before it and the one separating blank.
    // Only spaces are padding (xentop's `%10s`); other blanks belong to the name.
    let padded = &line[..state.start.saturating_sub(1)];
    let name = &padded[padded
        .iter()
        .position(|&b| b != b' ')
        .unwrap_or(padded.len())..];
    if name.is_empty() {
        return Err(XENTOP.error(number, 0, "a domain line without a name"));
    }
    row.name = DomainName::new(name);
    Ok(row)
}

/// `d s b c p r`, each letter or `-`.
fn parse_state(number: usize, token: Token<'_>) -> Result<DomainState, XenError> {
    let letters: [u8; 6] = token.text.try_into().map_err(|_| {
        XENTOP.error(
            number,
            token.start,
            "STATE: expected 6 letters like `--b---`",
        )
    })?;
    let mut state = DomainState::empty();
    for (i, (&ch, (letter, flag))) in letters
        .iter()
        .zip([
            (b'd', DomainState::DYING),
            (b's', DomainState::SHUTDOWN),
            (b'b', DomainState::BLOCKED),
            (b'c', DomainState::CRASHED),
            (b'p', DomainState::PAUSED),
            (b'r', DomainState::RUNNING),
        ])
        .enumerate()
    {
        if ch == letter {
            state |= flag;
        } else if ch != b'-' {
            return Err(XENTOP.error(
                number,
                token.start + i,
                format!(
                    "STATE: expected {:?} or '-' at position {}",
                    char::from(letter),
                    i + 1
                ),
            ));
        }
    }
    Ok(state)
}

impl XentopBatch {
    /// Samples that render back to this text with
    /// [`render::xentop`](crate::render::xentop), given the capture's options.
    ///
    /// What the text rounds is chosen to fit: CPU times (whole seconds are printed) so that
    /// consecutive iterations give the printed CPU(%) over `interval_ns`; the host memory so
    /// that every MEM(%) and MAXMEM(%) comes out as printed; without `-n`/`-x` lines, the first
    /// vif and VBD carry the domain's totals. Domains are matched between iterations by name
    /// (and position among equal names) and given invented domids: 0 for `Domain-0`, then 1, 2,
    /// ... in order of appearance. A domain whose CPU(sec) went down with a CPU(%) of 0.0 was
    /// restarted and gets a new domid.
    ///
    /// Fails, naming the line, when the figures cannot come from one run (e.g. a CPU(%) that
    /// does not fit the CPU(sec) around it with this interval).
    pub fn to_samples(&self, options: &ReconstructOptions) -> Result<Vec<Sample>, XenError> {
        let total_memory_kib = match options.total_memory_kib {
            Some(total) => total,
            None => self.infer_total_memory()?,
        };
        let mut devices = 0u64;
        for row in self.iterations.iter().flat_map(|it| &it.rows) {
            for (count, what) in [(row.vcpus, "VCPUS"), (row.nets, "NETS"), (row.vbds, "VBDS")] {
                if count > MAX_DEVICES_PER_ROW {
                    return Err(XENTOP.error(
                        row.line,
                        0,
                        format!(
                            "{what} {count} is more than a domain can have ({MAX_DEVICES_PER_ROW})"
                        ),
                    ));
                }
                devices += u64::from(count);
            }
            if devices > MAX_DEVICES {
                return Err(XENTOP.error(
                    row.line,
                    0,
                    format!("the capture describes more than {MAX_DEVICES} vCPUs, vifs and VBDs"),
                ));
            }
        }
        let ids = self.assign_domids();
        let cpu_times = self.solve_cpu_times(options.interval_ns, &ids)?;
        let mut samples = Vec::with_capacity(self.iterations.len());
        for (k, iteration) in self.iterations.iter().enumerate() {
            let k64 = u64::try_from(k).unwrap_or(u64::MAX);
            let at = options.interval_ns.saturating_mul(k64);
            let mut sample = Sample {
                monotonic_ns: at,
                unix_time_ns: options.start_unix_time_ns.saturating_add(at),
                ..Sample::default()
            };
            sample.node.total_memory_kib = total_memory_kib;
            sample.node.num_cpus = options.num_cpus;
            for (i, row) in iteration.rows.iter().enumerate() {
                let domid = ids[k][i];
                sample.domains.push(row.to_domain(domid, cpu_times[k][i])?);
            }
            samples.push(sample);
        }
        Ok(samples)
    }

    /// Domain ids per iteration and row. A row continues the domain of the previous
    /// iteration with the same name and rank among equal names, unless it restarted.
    fn assign_domids(&self) -> Vec<Vec<DomId>> {
        let mut next = 1u32;
        // (name, rank among equal names) -> (domid, CPU(sec)) in the previous iteration.
        let mut previous: HashMap<(&DomainName, usize), (DomId, u64)> = HashMap::new();
        let mut out = Vec::with_capacity(self.iterations.len());
        for iteration in &self.iterations {
            let mut current = HashMap::with_capacity(iteration.rows.len());
            let mut ranks: HashMap<&DomainName, usize> = HashMap::new();
            let mut dom0_taken = false;
            let mut ids = Vec::with_capacity(iteration.rows.len());
            for row in &iteration.rows {
                let rank = ranks.entry(&row.name).or_insert(0);
                let key = (&row.name, *rank);
                *rank += 1;
                let restarted =
                    |old_seconds: u64| row.cpu_percent_tenths == 0 && row.cpu_seconds < old_seconds;
                let id = match previous.get(&key) {
                    Some(&(id, old_seconds)) if !restarted(old_seconds) => id,
                    _ if row.name.as_bytes() == b"Domain-0" && !dom0_taken => DomId(0),
                    _ => {
                        let id = DomId(next);
                        next = next.saturating_add(1);
                        id
                    }
                };
                dom0_taken |= id == DomId(0);
                current.insert(key, (id, row.cpu_seconds));
                ids.push(id);
            }
            previous = current;
            out.push(ids);
        }
        out
    }

    /// CPU time per iteration and row: within a run of consecutive iterations of one domain
    /// the increments are fixed by CPU(%), and the start is the smallest that keeps every
    /// CPU(sec) as printed.
    fn solve_cpu_times(
        &self,
        interval_ns: u64,
        ids: &[Vec<DomId>],
    ) -> Result<Vec<Vec<u64>>, XenError> {
        const NS: i128 = 1_000_000_000;
        let mut out: Vec<Vec<u64>> = self
            .iterations
            .iter()
            .map(|it| vec![0; it.rows.len()])
            .collect();
        // (iteration, row) of every run; a run ends when an iteration lacks its domain.
        let mut runs: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut open: HashMap<DomId, usize> = HashMap::new();
        for (k, iteration_ids) in ids.iter().enumerate() {
            for (i, &id) in iteration_ids.iter().enumerate() {
                let continues = open
                    .get(&id)
                    .copied()
                    .filter(|&r| runs[r].last().is_some_and(|&(pk, _)| pk + 1 == k));
                match continues {
                    Some(r) => runs[r].push((k, i)),
                    None => {
                        open.insert(id, runs.len());
                        runs.push(vec![(k, i)]);
                    }
                }
            }
        }
        for run in &runs {
            // Offsets of each iteration's CPU time from the run's first.
            let mut offset: i128 = 0;
            let mut low: i128 = 0;
            let mut high: i128 = i128::MAX;
            let mut offsets = Vec::with_capacity(run.len());
            for (j, &(k, i)) in run.iter().enumerate() {
                let row = &self.iterations[k].rows[i];
                if j > 0 {
                    // xentop: pct = (Δns / 10) / (interval_ns / 1000), so Δns = tenths × interval / 1000.
                    offset += i128::from(row.cpu_percent_tenths) * i128::from(interval_ns) / 1000;
                }
                let seconds = i128::from(row.cpu_seconds);
                low = low.max(seconds * NS - offset);
                high = high.min((seconds + 1) * NS - offset);
                offsets.push(offset);
                if low >= high {
                    return Err(XENTOP.error(
                        row.line,
                        0,
                        format!(
                            "CPU(sec) and CPU(%) of {:?} do not fit the iterations before with a {} ns interval",
                            row.name.to_string_lossy(),
                            interval_ns
                        ),
                    ));
                }
            }
            for (&(k, i), offset) in run.iter().zip(offsets) {
                out[k][i] = u64::try_from(low + offset).unwrap_or(u64::MAX);
            }
        }
        Ok(out)
    }

    /// A host memory size (KiB) for which every printed MEM(%) and MAXMEM(%) comes out the same.
    fn infer_total_memory(&self) -> Result<u64, XenError> {
        let mut low = 0.0f64; // exclusive
        let mut high = f64::INFINITY; // inclusive
        let rows = self.iterations.iter().flat_map(|it| &it.rows);
        for row in rows.clone() {
            let pairs = [
                Some((row.memory_kib, row.memory_percent_tenths)),
                row.max_memory_kib.zip(row.max_memory_percent_tenths),
            ];
            for (value, tenths) in pairs.into_iter().flatten() {
                if value == 0 {
                    continue;
                }
                // value / T × 100 rounds to tenths / 10.
                let v = value as f64 * 1000.0;
                low = low.max(v / (tenths as f64 + 0.5));
                if tenths > 0 {
                    high = high.min(v / (tenths as f64 - 0.5));
                }
            }
        }
        let total = if high.is_finite() {
            (low + high) / 2.0
        } else if low > 0.0 {
            low * 2.0
        } else {
            1024.0 * 1024.0
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let total = total.round() as u64;
        // Check: the midpoint may still miss when the range is narrower than one KiB.
        for row in rows {
            let pairs = [
                Some((row.memory_kib, row.memory_percent_tenths, "MEM(%)")),
                row.max_memory_kib
                    .zip(row.max_memory_percent_tenths)
                    .map(|(v, t)| (v, t, "MAXMEM(%)")),
            ];
            for (value, tenths, what) in pairs.into_iter().flatten() {
                let printed = format!("{:.1}", value as f64 / total.max(1) as f64 * 100.0);
                let wanted = format!("{}.{}", tenths / 10, tenths % 10);
                if printed != wanted {
                    return Err(XENTOP.error(
                        row.line,
                        0,
                        format!(
                            "no host memory size gives every {what}; give it (e.g. from `xl info`)"
                        ),
                    ));
                }
            }
        }
        Ok(total.max(1))
    }
}

impl XentopRow {
    /// The domain as a sample holds it (see [`XentopBatch::to_samples`]).
    fn to_domain(&self, domid: DomId, cpu_time_ns: u64) -> Result<DomainStats, XenError> {
        let mut d = DomainStats {
            domid,
            name: self.name.clone(),
            state: self.state,
            cpu_time_ns,
            memory_kib: self.memory_kib,
            max_memory_kib: self.max_memory_kib,
            max_vcpus: self.vcpus,
            online_vcpus: self.vcpus,
            ssid: self.ssid,
            ..DomainStats::default()
        };
        if let Some(list) = &self.vcpu_seconds {
            d.vcpus = (0..self.vcpus)
                .map(|id| {
                    let online = list.iter().find(|(v, _)| *v == id);
                    VcpuStats {
                        id,
                        online: online.is_some(),
                        cpu_time_ns: online.map_or(0, |(_, s)| s.saturating_mul(1_000_000_000)),
                    }
                })
                .collect();
            d.online_vcpus = u32::try_from(list.len()).unwrap_or(u32::MAX);
        }
        let inconsistent = |what: &str| {
            XENTOP.error(
                self.line,
                0,
                format!(
                    "{what} of {:?} are not zero but it has none",
                    self.name.to_string_lossy()
                ),
            )
        };
        d.vifs = if self.vifs.is_empty() {
            let mut vifs: Vec<VifStats> = (0..self.nets)
                .map(|devid| VifStats {
                    devid,
                    ..VifStats::default()
                })
                .collect();
            match vifs.first_mut() {
                Some(first) => {
                    first.tx_bytes = self.net_tx_kib.saturating_mul(1024);
                    first.rx_bytes = self.net_rx_kib.saturating_mul(1024);
                }
                None if self.net_tx_kib != 0 || self.net_rx_kib != 0 => {
                    return Err(inconsistent("NETTX/NETRX"));
                }
                None => {}
            }
            vifs
        } else {
            self.vifs.clone()
        };
        d.vbds = if self.vbd_lines.is_empty() {
            let error = self.vbd.is_none();
            let mut vbds: Vec<VbdStats> = (0..self.vbds)
                .map(|_| VbdStats {
                    error,
                    ..VbdStats::default()
                })
                .collect();
            match (vbds.first_mut(), self.vbd) {
                (Some(first), Some(t)) => {
                    first.oo_requests = t.oo_requests;
                    first.read_requests = t.read_requests;
                    first.write_requests = t.write_requests;
                    first.read_sectors = t.read_sectors;
                    first.write_sectors = t.write_sectors;
                }
                (None, Some(t)) if t != VbdTotals::default() => {
                    return Err(inconsistent("VBD counters"));
                }
                (None, None) => return Err(inconsistent("VBD counters (`-`)")),
                _ => {}
            }
            vbds
        } else {
            self.vbd_lines.clone()
        };
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID\n";

    fn row(name: &str, cpu: u64, pct: &str) -> String {
        format!(
            "{name:>10} --b--- {cpu:>10} {pct:>6}      65536    3.1      66560       3.2     1    0        0        0    0        0        0        0          0          0    0\n"
        )
    }

    fn location(err: XenError) -> (usize, usize) {
        match err {
            XenError::Capture { line, column, .. } => (line, column),
            other => panic!("not a capture error: {other}"),
        }
    }

    #[test]
    fn test_names_with_spaces_and_no_limit() {
        let text = format!(
            "{HEADER}Windows7 ( --b---      92470    0.0    8388608   12.5   no limit       n/a     4    0        0        0    1        -        -        -          -          -    7\n"
        );
        let batch = parse_xentop_batch(text.as_bytes(), false).unwrap();
        let r = &batch.iterations[0].rows[0];
        assert_eq!(r.name.as_bytes(), b"Windows7 (");
        assert_eq!(r.max_memory_kib, None);
        assert_eq!(r.vbd, None);
        assert_eq!(r.ssid, 7);
        assert_eq!(r.memory_percent_tenths, 125);
    }

    #[test]
    fn test_cpu_times_fit_seconds_and_percent() {
        // web1 of the real capture: 3 s, then 4 s at 8.5 %, then 4 s at 15.6 %.
        let text = format!(
            "{HEADER}{}{HEADER}{}{HEADER}{}",
            row("web1", 3, "0.0"),
            row("web1", 4, "8.5"),
            row("web1", 4, "15.6")
        );
        let batch = parse_xentop_batch(text.as_bytes(), false).unwrap();
        let samples = batch.to_samples(&ReconstructOptions::default()).unwrap();
        let times: Vec<u64> = samples.iter().map(|s| s.domains[0].cpu_time_ns).collect();
        assert_eq!(times, [3_915_000_000, 4_000_000_000, 4_156_000_000]);
        assert_eq!(samples[0].domains[0].domid, DomId(1));
    }

    #[test]
    fn test_impossible_cpu_figures_are_located() {
        // 2 s then 2 s at 150 %: the time cannot stay below 3 s.
        let text = format!(
            "{HEADER}{}{HEADER}{}",
            row("a", 2, "0.0"),
            row("a", 2, "150.0")
        );
        let batch = parse_xentop_batch(text.as_bytes(), false).unwrap();
        let err = batch
            .to_samples(&ReconstructOptions::default())
            .unwrap_err();
        assert_eq!(location(err), (4, 1));
    }

    #[test]
    fn test_device_counts_are_bounded() {
        let text = format!(
            "{HEADER}{}",
            row("a", 1, "0.0").replace("     1    0 ", "  9999    0 ")
        );
        let batch = parse_xentop_batch(text.as_bytes(), false).unwrap();
        assert_eq!(batch.iterations[0].rows[0].vcpus, 9999);
        let err = batch
            .to_samples(&ReconstructOptions::default())
            .unwrap_err();
        assert_eq!(location(err), (2, 1));
    }

    #[test]
    fn test_restarted_domain_gets_a_new_domid() {
        let text = format!(
            "{HEADER}{}{HEADER}{}",
            row("a", 50, "0.0"),
            row("a", 1, "0.0")
        );
        let batch = parse_xentop_batch(text.as_bytes(), false).unwrap();
        let samples = batch.to_samples(&ReconstructOptions::default()).unwrap();
        assert_ne!(samples[0].domains[0].domid, samples[1].domains[0].domid);
    }

    #[test]
    fn test_total_memory_is_inferred_from_percentages() {
        let text = format!("{HEADER}{}", row("a", 1, "0.0"));
        let batch = parse_xentop_batch(text.as_bytes(), false).unwrap();
        let samples = batch.to_samples(&ReconstructOptions::default()).unwrap();
        let total = samples[0].node.total_memory_kib as f64;
        assert_eq!(format!("{:.1}", 65536.0 / total * 100.0), "3.1");
        assert_eq!(format!("{:.1}", 66560.0 / total * 100.0), "3.2");
    }

    #[test]
    fn test_repeated_headers_split_iterations_by_repeated_names() {
        let text = format!(
            "{HEADER}{}{HEADER}{}{HEADER}{}{HEADER}{}",
            row("a", 1, "0.0"),
            row("b", 1, "0.0"),
            row("a", 1, "0.0"),
            row("b", 1, "0.0")
        );
        let batch = parse_xentop_batch(text.as_bytes(), true).unwrap();
        assert_eq!(batch.iterations.len(), 2);
        assert_eq!(batch.iterations[1].rows.len(), 2);
        assert_eq!(
            parse_xentop_batch(text.as_bytes(), false)
                .unwrap()
                .iterations
                .len(),
            4
        );
    }

    #[test]
    fn test_errors_are_located() {
        let err = |text: String| location(parse_xentop_batch(text.as_bytes(), false).unwrap_err());
        assert_eq!(err(row("a", 1, "0.0")), (1, 1));
        assert_eq!(
            err(format!("{HEADER}VCPUs(sec):   0:          5s\n")),
            (2, 1)
        );
        assert_eq!(err(format!("{HEADER}{}", row("a", 1, "x.0"))), (2, 33));
        assert_eq!(
            err(format!(
                "{HEADER}{}",
                row("a", 1, "0.0").replace("--b---", "--x---")
            )),
            (2, 14)
        );
        assert_eq!(err(format!("{HEADER}a b c\n")), (2, 6));
        assert_eq!(
            err(format!(
                "{HEADER}{}Net1 RX: 0bytes 0pkts 0err 0drop  TX: 0bytes 0pkts 0err 0drop\n",
                row("a", 1, "0.0")
            )),
            (3, 1)
        );
        assert_eq!(
            err(format!(
                "{HEADER}{}VBD Foo 768 [ 3: 0]  OO: 0 RD: 0 WR: 0 RSECT: 0 WSECT: 0\n",
                row("a", 1, "0.0")
            )),
            (3, 5)
        );
        assert_eq!(
            err(format!(
                "{HEADER}{}VBD BlkBack 768 [ 3: 0]  OO: - RD: 0 WR: 0 RSECT: 0 WSECT: 0\n",
                row("a", 1, "0.0")
            )),
            (3, 30)
        );
    }
}
