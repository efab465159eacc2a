//! `xl info` text back into [`HostInfo`].

use crate::XenError;
use crate::host::HostInfo;
use crate::host::capture::xl_info_topology::{Table, table_line};
use crate::host::capture::{Locator, Token, lines, lossy, tokens};

const XL_INFO: Locator = Locator { format: "xl info" };

/// Keys that must be present.
const REQUIRED: [&str; 4] = ["nr_cpus", "total_memory", "xen_major", "xen_minor"];

/// Parses `xl info` (or `xl info -n`) output: `key<padding>: value` lines.
///
/// Memory figures (MiB) become KiB; `free_memory`, which xl prints net of outstanding claims,
/// gets the claims added back, so that [`render::xl_info`](crate::render::xl_info) gives the
/// same text. The `-n` tables become [`HostInfo::topology`]; unknown keys (from other xl versions) are
/// ignored; `nr_cpus`, `total_memory`, `xen_major` and `xen_minor` are required.
///
/// ```
/// let info = xen_core::host::capture::parse_xl_info(b"nr_cpus                : 2\n\
/// cpu_mhz                : 2596.144\n\
/// total_memory           : 2047\n\
/// xen_major              : 4\n\
/// xen_minor              : 17\n\
/// xen_extra              : .5\n")?;
/// assert_eq!(info.cpu_khz, 2_596_144);
/// assert_eq!(info.total_memory_kib, 2047 * 1024);
/// assert_eq!(info.xen_version(), "4.17.5");
/// # Ok::<(), xen_core::XenError>(())
/// ```
pub fn parse_xl_info(text: &[u8]) -> Result<HostInfo, XenError> {
    let mut info = HostInfo::default();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut free_mib: Option<(u64, usize, usize)> = None;
    let mut table: Option<Table> = None;
    let mut last_line = 0;
    for (number, line) in lines(text) {
        last_line = number;
        if let Some(kind) = table {
            let topology = info.topology.get_or_insert_with(Default::default);
            if table_line(kind, number, line, topology)? {
                continue;
            }
            table = None;
        }
        let field = split_field(line);
        let known = field.and_then(|(key, _, _)| known_key(key));
        let Some((_, value, value_at)) = field else {
            return Err(XL_INFO.error(number, 0, "expected `key : value`"));
        };
        let Some(key) = known else {
            continue;
        };
        if let Some(kind) = Table::started_by(key) {
            let topology = info.topology.get_or_insert_with(Default::default);
            if kind == Table::Device {
                topology.pci_devices.get_or_insert_with(Vec::new);
            }
            table = Some(kind);
            continue;
        }
        if !seen.contains(&key) {
            seen.push(key);
        }
        let at = Token {
            text: value,
            start: value_at,
        };
        let text = || String::from_utf8_lossy(value).into_owned();
        let mib = |at: Token<'_>| -> Result<u64, XenError> {
            XL_INFO
                .u64(number, at, key)?
                .checked_mul(1024)
                .ok_or_else(|| XL_INFO.error(number, at.start, format!("{key}: too large")))
        };
        match key {
            "host" => info.host = text(),
            "release" => info.release = text(),
            "version" => info.version = text(),
            "machine" => info.machine = text(),
            "nr_cpus" => info.nr_cpus = XL_INFO.u32(number, at, key)?,
            "max_cpu_id" => info.max_cpu_id = XL_INFO.u32(number, at, key)?,
            "nr_nodes" => info.nr_nodes = XL_INFO.u32(number, at, key)?,
            "cores_per_socket" => info.cores_per_socket = XL_INFO.u32(number, at, key)?,
            "threads_per_core" => info.threads_per_core = XL_INFO.u32(number, at, key)?,
            "cpu_mhz" => info.cpu_khz = parse_mhz(number, at)?,
            "hw_caps" => info.hw_caps = parse_hw_caps(number, at)?,
            "virt_caps" => {
                info.virt_caps = tokens(value)
                    .iter()
                    .map(|t| String::from_utf8_lossy(t.text).into_owned())
                    .collect();
            }
            "total_memory" => info.total_memory_kib = mib(at)?,
            "free_memory" => {
                free_mib = Some((XL_INFO.u64(number, at, key)?, number, value_at));
            }
            "sharing_freed_memory" => info.sharing_freed_memory_kib = mib(at)?,
            "sharing_used_memory" => info.sharing_used_memory_kib = mib(at)?,
            "outstanding_claims" => info.outstanding_claims_kib = mib(at)?,
            "free_cpus" => info.free_cpus = XL_INFO.u32(number, at, key)?,
            "xen_major" => info.xen_major = XL_INFO.u32(number, at, key)?,
            "xen_minor" => info.xen_minor = XL_INFO.u32(number, at, key)?,
            "xen_extra" => info.xen_extra = text(),
            "xen_caps" => info.xen_caps = text(),
            "xen_scheduler" => info.xen_scheduler = text(),
            "xen_pagesize" => info.xen_pagesize = XL_INFO.u32(number, at, key)?,
            "platform_params" => info.platform_params = text(),
            "xen_changeset" => info.xen_changeset = text(),
            "xen_commandline" => info.xen_commandline = text(),
            "cc_compiler" => info.cc_compiler = text(),
            "cc_compile_by" => info.cc_compile_by = text(),
            "cc_compile_domain" => info.cc_compile_domain = text(),
            "cc_compile_date" => info.cc_compile_date = text(),
            "build_id" => info.build_id = Some(text()),
            // Derived (xen_version) or constant (xend_config_format).
            _ => {}
        }
    }
    if let Some((free, number, at)) = free_mib {
        info.free_memory_kib = free
            .checked_mul(1024)
            .and_then(|kib| kib.checked_add(info.outstanding_claims_kib))
            .ok_or_else(|| XL_INFO.error(number, at, "free_memory: too large"))?;
    }
    if let Some(missing) = REQUIRED.iter().find(|k| !seen.contains(k)) {
        return Err(XL_INFO.error(
            last_line + 1,
            0,
            format!("no `{missing}` line: is this `xl info` output?"),
        ));
    }
    Ok(info)
}

/// `key<spaces>:` then, after one space, the value (kept as is, trailing blanks included).
/// Returns the key, the value and the value's offset.
fn split_field(line: &[u8]) -> Option<(&[u8], &[u8], usize)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let key = line[..colon].trim_ascii_end();
    if key.is_empty() {
        return None;
    }
    let rest = &line[colon + 1..];
    match rest.first() {
        None => Some((key, rest, colon + 1)),
        Some(b' ') => Some((key, &rest[1..], colon + 2)),
        // `virt_caps` has no space after the colon when it lists nothing, and one before
        // each capability otherwise; other values always follow ": ".
        Some(_) => None,
    }
}

fn known_key(key: &[u8]) -> Option<&'static str> {
    const KEYS: [&str; 37] = [
        "host",
        "release",
        "version",
        "machine",
        "nr_cpus",
        "max_cpu_id",
        "nr_nodes",
        "cores_per_socket",
        "threads_per_core",
        "cpu_mhz",
        "hw_caps",
        "virt_caps",
        "total_memory",
        "free_memory",
        "sharing_freed_memory",
        "sharing_used_memory",
        "outstanding_claims",
        "free_cpus",
        "xen_major",
        "xen_minor",
        "xen_extra",
        "xen_version",
        "xen_caps",
        "xen_scheduler",
        "xen_pagesize",
        "platform_params",
        "xen_changeset",
        "xen_commandline",
        "cc_compiler",
        "cc_compile_by",
        "cc_compile_domain",
        "cc_compile_date",
        "build_id",
        "xend_config_format",
        "cpu_topology",
        "device topology",
        "numa_info",
    ];
    KEYS.iter().copied().find(|k| k.as_bytes() == key)
}

/// `2596.144` → 2596144 kHz (xl prints `kHz / 1000 "." kHz % 1000` with 3 digits).
fn parse_mhz(number: usize, at: Token<'_>) -> Result<u32, XenError> {
    let bad = || {
        XL_INFO.error(
            number,
            at.start,
            format!(
                "cpu_mhz: expected MHz with 3 decimals, found {:?}",
                lossy(at.text)
            ),
        )
    };
    let dot = at.text.iter().position(|&b| b == b'.').ok_or_else(bad)?;
    let (whole, fraction) = (&at.text[..dot], &at.text[dot + 1..]);
    if fraction.len() != 3 {
        return Err(bad());
    }
    let whole = super::parse_decimal(whole).ok_or_else(bad)?;
    let fraction = super::parse_decimal(fraction).ok_or_else(bad)?;
    whole
        .checked_mul(1000)
        .and_then(|k| k.checked_add(fraction))
        .and_then(|k| u32::try_from(k).ok())
        .ok_or_else(bad)
}

/// Eight 8-digit hex words separated by `:`.
fn parse_hw_caps(number: usize, at: Token<'_>) -> Result<[u32; 8], XenError> {
    let mut caps = [0u32; 8];
    let mut words = at.text.split(|&b| b == b':');
    let mut offset = at.start;
    for cap in &mut caps {
        let word = words.next().unwrap_or_default();
        let hex = std::str::from_utf8(word).ok().filter(|w| w.len() == 8);
        *cap = hex
            .and_then(|w| u32::from_str_radix(w, 16).ok())
            .ok_or_else(|| {
                XL_INFO.error(
                    number,
                    offset,
                    "hw_caps: expected 8 hex words like 1fcbf3fd:...",
                )
            })?;
        offset += word.len() + 1;
    }
    if words.next().is_some() {
        return Err(XL_INFO.error(number, offset - 1, "hw_caps: more than 8 words"));
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "nr_cpus                : 2\ntotal_memory           : 2047\nxen_major              : 4\nxen_minor              : 17\n";

    fn location(err: XenError) -> (usize, usize) {
        match err {
            XenError::Capture { line, column, .. } => (line, column),
            other => panic!("not a capture error: {other}"),
        }
    }

    #[test]
    fn test_free_memory_gets_claims_back() {
        let text = format!("{MINIMAL}free_memory            : 900\noutstanding_claims     : 100\n");
        let info = parse_xl_info(text.as_bytes()).unwrap();
        assert_eq!(info.free_memory_kib, 1000 * 1024);
        assert_eq!(info.outstanding_claims_kib, 100 * 1024);
    }

    #[test]
    fn test_values_keep_trailing_blanks_and_empty_values() {
        let text = format!(
            "{MINIMAL}xen_caps               : a b \nxen_changeset          : \nvirt_caps              :\n"
        );
        let info = parse_xl_info(text.as_bytes()).unwrap();
        assert_eq!(info.xen_caps, "a b ");
        assert_eq!(info.xen_changeset, "");
        assert!(info.virt_caps.is_empty());
    }

    #[test]
    fn test_numa_tables_end_at_the_next_key_and_unknown_keys_are_ignored() {
        let text = format!(
            "{MINIMAL}cpu_topology           :\ncpu:    core    socket     node\n  0:       0        0        0\nnuma_info              :\nnode:    memsize    memfree    distances\n   0:      2047        936      10\nnew_key_of_xen_9       : 1\nfree_cpus              : 3\n"
        );
        let info = parse_xl_info(text.as_bytes()).unwrap();
        assert_eq!(info.free_cpus, 3);
        let topology = info.topology.unwrap();
        assert_eq!(topology.cpus.len(), 1);
        assert_eq!(topology.pci_devices, None, "no device table");
        assert_eq!(topology.nodes[0].free_bytes, Some(936 << 20));
    }

    /// A two-socket, two-node host with devices, an offline CPU (no row) and an unknown
    /// distance: parse, render, same text.
    const TWO_NODES: &str = "cpu_topology           :
cpu:    core    socket     node
  0:       0        0        0
  1:       0        1        1
  3:       1        1       -1
device topology        :
device           node
0000:00:00.0      0
0000:3b:1f.6      1
numa_info              :
node:    memsize    memfree    distances
   0:     65430      12000      10,21
   1:     65536      64000      21,-1
";

    #[test]
    fn test_topology_tables_round_trip() {
        let text = format!("{MINIMAL}{TWO_NODES}");
        let info = parse_xl_info(text.as_bytes()).unwrap();
        let topology = info.topology.clone().unwrap();
        assert_eq!(topology.cpus[2].cpu, 3);
        assert_eq!(topology.cpus[2].node, None);
        let devices = topology.pci_devices.unwrap();
        assert_eq!(devices[1].to_string(), "0000:3b:1f.6");
        assert_eq!(devices[1].node, Some(1));
        assert_eq!(topology.nodes[1].distances, [Some(21), None]);
        let mut out = Vec::new();
        crate::render::xl_info::write(&mut out, &info).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains(TWO_NODES), "{out}");
    }

    #[test]
    fn test_bad_table_rows_are_located() {
        for (row, at) in [
            ("  1:       0        x        0\n", (7, 21)),
            ("  1:       0        0\n", (7, 22)),
            ("  1:       0        0        0   9\n", (7, 34)),
            ("99999999999:       0        0        0\n", (7, 1)),
        ] {
            let text = format!(
                "{MINIMAL}cpu_topology           :\ncpu:    core    socket     node\n{row}"
            );
            let err = parse_xl_info(text.as_bytes()).unwrap_err();
            assert_eq!(location(err), at, "{row:?}");
        }
        let text = format!("{MINIMAL}device topology        :\n0000:00:zz.0      0\n");
        assert_eq!(
            location(parse_xl_info(text.as_bytes()).unwrap_err()),
            (6, 1)
        );
        let text =
            format!("{MINIMAL}numa_info              :\n   0:      2047        936      10,x\n");
        assert_eq!(
            location(parse_xl_info(text.as_bytes()).unwrap_err()),
            (6, 36)
        );
    }

    #[test]
    fn test_errors_are_located() {
        assert_eq!(location(parse_xl_info(b"").unwrap_err()), (1, 1));
        assert_eq!(location(parse_xl_info(b"just text\n").unwrap_err()), (1, 1));
        let bad_number = format!("{MINIMAL}max_cpu_id             : x1\n");
        assert_eq!(
            location(parse_xl_info(bad_number.as_bytes()).unwrap_err()),
            (5, 26)
        );
        let bad_mhz = format!("{MINIMAL}cpu_mhz                : 2596.14\n");
        assert_eq!(
            location(parse_xl_info(bad_mhz.as_bytes()).unwrap_err()),
            (5, 26)
        );
        let bad_caps = format!("{MINIMAL}hw_caps                : 00000000:0000000g:00000000\n");
        assert_eq!(
            location(parse_xl_info(bad_caps.as_bytes()).unwrap_err()),
            (5, 35)
        );
        let missing = "nr_cpus                : 2\n";
        assert_eq!(
            location(parse_xl_info(missing.as_bytes()).unwrap_err()),
            (2, 1)
        );
    }
}
