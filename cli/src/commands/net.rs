//! `xenadm net`: every vif with its domain, bridge, state and counters, read from sysfs.
//!
//! Counters are from the guest's point of view: RX is what the guest received, which dom0's
//! `vifD.N` counts as transmitted (xentop's NETTX). Domain names come from the Xen libraries
//! when they are available; without them the table still lists every vif by domid.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use xen_core::host::{DomId, DomainName, Host, SampleFlags, XenBackend};
use xen_core::net::{SysfsNet, Vif};

use crate::error::CliError;
use crate::output::Output;

/// The live system's sysfs.
const SYSTEM_SYSFS: &str = "/sys";

/// Options of `xenadm net`.
#[derive(Debug, clap::Args)]
pub struct NetArgs {
    /// Read this sysfs tree instead of the live one (e.g. a copy from another host; domain
    /// names are then not looked up, as they belong to that host).
    #[arg(long, value_name = "DIR", default_value = SYSTEM_SYSFS)]
    pub sysfs_root: PathBuf,
}

/// One vif and its domain's name, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct NetRow<'a> {
    /// The domain's name; `null` when it is not known.
    pub domain: Option<&'a DomainName>,
    /// The vif.
    #[serde(flatten)]
    pub vif: &'a Vif,
}

/// Runs `xenadm net`.
pub fn run(args: &NetArgs, out: &Output) -> Result<u8, CliError> {
    let vifs = SysfsNet::at(&args.sysfs_root).vifs()?;
    let live = args.sysfs_root == Path::new(SYSTEM_SYSFS);
    if vifs.is_empty() {
        // No vifs on a machine that is not a dom0 means "no Xen here", not "no guests".
        let host = xen_role::detect();
        if live && host.role != xen_role::XenRole::Dom0 {
            return Err(CliError::NotDom0 {
                command: "net",
                role: host.role.to_string(),
                evidence: host.evidence,
            });
        }
        out.warn(format_args!(
            "no vif under {}: no running guest has a network interface",
            args.sysfs_root.join("class/net").display()
        ));
    }
    let names = if live && !vifs.is_empty() {
        live_domain_names(out)
    } else {
        HashMap::new()
    };
    let rows: Vec<NetRow<'_>> = vifs
        .iter()
        .map(|vif| NetRow {
            domain: names.get(&vif.domid),
            vif,
        })
        .collect();
    if out.json {
        out.print_json(&rows)?;
    } else {
        out.print(&table(&rows))?;
    }
    Ok(0)
}

/// Domain names by domid from the Xen libraries; empty (with a warning) without them.
fn live_domain_names(out: &Output) -> HashMap<DomId, DomainName> {
    let sample = XenBackend::open()
        .and_then(|backend| Host::with_backend(backend).sample(SampleFlags::empty()));
    match sample {
        Ok(sample) => sample
            .domains
            .into_iter()
            .map(|d| (d.domid, d.name))
            .collect(),
        Err(err) => {
            out.warn(format_args!(
                "domain names unavailable ({err}); showing domids only"
            ));
            HashMap::new()
        }
    }
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

/// The aligned table, like xl's lists.
pub fn table(rows: &[NetRow<'_>]) -> String {
    let mut cells: Vec<Vec<String>> = vec![HEADINGS.iter().map(|h| h.to_string()).collect()];
    for row in rows {
        let v = row.vif;
        let c = &v.counters;
        cells.push(vec![
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
        ]);
    }
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

    let mut out = String::new();
    let mut groups = String::new();
    for (column, title) in GROUPS {
        let at = starts[column].max(if groups.is_empty() {
            0
        } else {
            groups.chars().count() + 2
        });
        groups.extend(std::iter::repeat_n(' ', at - groups.chars().count()));
        groups.push_str(title);
    }
    out.push_str(&groups);
    out.push('\n');
    for row in &cells {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            let pad = width - cell.chars().count();
            let right = i >= FIRST_COUNTER || i == 1 || i == 2;
            if right {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
            line.push_str("  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Control characters (a newline in a domain name) would break the table: shown as `?`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_core::host::VifStats;
    use xen_core::net::VifCounters;

    fn vif(domid: u32, name: &str, rx: u64, tx: u64) -> Vif {
        let mut v = Vif::default();
        v.domid = DomId(domid);
        v.interface = name.into();
        v.bridge = Some("xenbr0".into());
        let mut backend = VifStats::default();
        backend.rx_bytes = rx;
        backend.tx_bytes = tx;
        v.counters = VifCounters::from_backend(&backend);
        v
    }

    #[test]
    fn test_table_aligns_and_states_the_guest_view() {
        let name = DomainName::new(&b"web\n1 \xff"[..]);
        let a = vif(1, "vif1.0", 2792, 3934);
        let b = vif(12, "vif12.0", 0, 123_456_789);
        let rows = [
            NetRow {
                domain: Some(&name),
                vif: &a,
            },
            NetRow {
                domain: None,
                vif: &b,
            },
        ];
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].contains("RX (guest receives)") && lines[0].contains("TX (guest sends)"));
        // The group titles start over their first columns.
        let rx_title = lines[0].find("RX (").unwrap();
        let tx_title = lines[0].find("TX (").unwrap();
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
