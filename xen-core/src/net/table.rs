//! `xenadm net`'s view: every vif joined with its domain's name, as JSON rows and as an
//! aligned table whose counter groups say whose view they are (the guest's).

use std::collections::HashMap;

#[cfg(feature = "serde")]
use serde::Serialize;

use super::Vif;
use crate::XenError;
use crate::host::{DomId, DomainName, Host, HostBackend, SampleFlags};
use crate::render::printable;

/// One vif and its domain's name, as `xenadm net --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct NetRow<'a> {
    /// The domain's name; `null` when it is not known.
    pub domain: Option<&'a DomainName>,
    /// The vif.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub vif: &'a Vif,
}

/// Joins each vif with its domain's name from `names` (none when it is not there).
pub fn rows<'a>(vifs: &'a [Vif], names: &'a HashMap<DomId, DomainName>) -> Vec<NetRow<'a>> {
    vifs.iter()
        .map(|vif| NetRow {
            domain: names.get(&vif.domid),
            vif,
        })
        .collect()
}

/// Domain names by domid, from one sample of `host` (no statistics are read).
pub fn domain_names<B: HostBackend>(
    host: &mut Host<B>,
) -> Result<HashMap<DomId, DomainName>, XenError> {
    let sample = host.sample(SampleFlags::empty())?;
    Ok(sample
        .domains
        .into_iter()
        .map(|d| (d.domid, d.name))
        .collect())
}

/// Column titles; the counters sit under two group titles that say whose view they are.
const HEADINGS: [&str; 14] = [
    "Name", "ID", "Devid", "Vif", "Bridge", "State", "bytes", "pkts", "err", "drop", "bytes",
    "pkts", "err", "drop",
];
/// The first counter column of each group, and its title.
const GROUPS: [(usize, &str); 2] = [(6, "RX (guest receives)"), (10, "TX (guest sends)")];
/// Columns before this are text (left-aligned); the rest are numbers (right-aligned), except
/// that ID and Devid are numbers too.
const FIRST_COUNTER: usize = 6;

fn cells(row: &NetRow<'_>) -> Vec<String> {
    let v = row.vif;
    let c = &v.counters;
    vec![
        row.domain
            .map_or_else(|| "-".to_string(), |n| printable(&n.to_string_lossy())),
        v.domid.to_string(),
        v.devid.to_string(),
        printable(&v.interface),
        v.bridge
            .as_deref()
            .map_or_else(|| "-".to_string(), printable),
        v.operstate.to_string(),
        c.guest_rx_bytes.to_string(),
        c.guest_rx_packets.to_string(),
        c.guest_rx_errors.to_string(),
        c.guest_rx_drops.to_string(),
        c.guest_tx_bytes.to_string(),
        c.guest_tx_packets.to_string(),
        c.guest_tx_errors.to_string(),
        c.guest_tx_drops.to_string(),
    ]
}

/// The aligned table, like xl's lists: group titles, headings, one line per vif; numbers
/// right-aligned, control characters in names shown as `?`.
pub fn table(rows: &[NetRow<'_>]) -> String {
    let cells: Vec<Vec<String>> = std::iter::once(HEADINGS.map(str::to_string).to_vec())
        .chain(rows.iter().map(cells))
        .collect();
    let mut widths = [0usize; HEADINGS.len()];
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let starts: Vec<usize> = widths
        .iter()
        .scan(0, |at, w| {
            let start = *at;
            *at += w + 2;
            Some(start)
        })
        .collect();

    let mut groups = String::new();
    for (column, title) in GROUPS {
        let used = groups.chars().count();
        let at = starts[column].max(if groups.is_empty() { 0 } else { used + 2 });
        groups.extend(std::iter::repeat_n(' ', at - used));
        groups.push_str(title);
    }
    let mut out = groups;
    out.push('\n');
    for row in &cells {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            let pad = " ".repeat(width - cell.chars().count());
            if i >= FIRST_COUNTER || i == 1 || i == 2 {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
            line.push_str("  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::VifStats;
    use crate::net::VifCounters;

    fn vif(domid: u32, name: &str, rx: u64, tx: u64) -> Vif {
        let backend = VifStats {
            rx_bytes: rx,
            tx_bytes: tx,
            ..Default::default()
        };
        Vif {
            domid: DomId(domid),
            interface: name.into(),
            bridge: Some("xenbr0".into()),
            counters: VifCounters::from_backend(&backend),
            ..Default::default()
        }
    }

    #[test]
    fn test_table_aligns_and_states_the_guest_view() {
        let vifs = [
            vif(1, "vif1.0", 2792, 3934),
            vif(12, "vif12.0", 0, 123_456_789),
        ];
        let names = HashMap::from([(DomId(1), DomainName::new(&b"web\n1 \xff"[..]))]);
        let rows = rows(&vifs, &names);
        assert_eq!(rows[1].domain, None);
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        // The group titles start over their first columns.
        let rx_title = lines[0].find("RX (guest receives)").unwrap();
        let tx_title = lines[0].find("TX (guest sends)").unwrap();
        assert!(rx_title < tx_title);
        assert!(lines[2].starts_with("web?1 \u{fffd}  "), "{}", lines[2]);
        assert!(lines[3].starts_with("-     "), "{}", lines[3]);
        // Numbers are right-aligned: every row has the same length up to the last column.
        assert_eq!(lines[1].len(), lines[3].len());
        // Guest RX is the backend's tx.
        let words: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(&words[6..8], ["123456789", "0"]);
    }
}
