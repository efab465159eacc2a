//! The `xl info -n` tables (cpu_topology, device topology, numa_info) back into
//! [`HostTopology`].

use crate::XenError;
use crate::host::capture::{Locator, Token, lossy, tokens};
use crate::host::{CpuTopology, HostTopology, NumaNode, PciTopology};

const XL_INFO: Locator = Locator { format: "xl info" };

/// The table being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Table {
    Cpu,
    Device,
    Numa,
}

impl Table {
    /// The table a key line starts, if any.
    pub(super) fn started_by(key: &str) -> Option<Table> {
        match key {
            "cpu_topology" => Some(Table::Cpu),
            "device topology" => Some(Table::Device),
            "numa_info" => Some(Table::Numa),
            _ => None,
        }
    }

    fn header(self) -> &'static [u8] {
        match self {
            Table::Cpu => b"cpu:    core    socket     node",
            Table::Device => b"device           node",
            Table::Numa => b"node:    memsize    memfree    distances",
        }
    }
}

/// Takes `line` into `topology` when it belongs to `table` (its header, a row, or the "no
/// data" line): `Ok(true)`. `Ok(false)` when the table has ended and the line is something
/// else (the next `key : value`). A line that looks like a row but is not one is an error.
pub(super) fn table_line(
    table: Table,
    number: usize,
    line: &[u8],
    topology: &mut HostTopology,
) -> Result<bool, XenError> {
    if line == table.header() {
        return Ok(true);
    }
    let words = tokens(line);
    let Some(first) = words.first() else {
        return Ok(false);
    };
    match table {
        Table::Cpu => {
            let Some(cpu) = row_index(number, *first)? else {
                return Ok(false);
            };
            let [_, core, socket, node] =
                exactly::<4>(number, line, &words, "cpu core socket node")?;
            topology.cpus.push(CpuTopology {
                cpu,
                core: id(number, core, "core")?,
                socket: id(number, socket, "socket")?,
                node: id(number, node, "node")?,
            });
        }
        Table::Device => {
            if line == b"No device topology data available" {
                return Ok(true);
            }
            let Some(mut device) = pci_name(number, *first)? else {
                return Ok(false);
            };
            let [_, node] = exactly::<2>(number, line, &words, "device node")?;
            device.node = id(number, node, "node")?;
            topology
                .pci_devices
                .get_or_insert_with(Vec::new)
                .push(device);
        }
        Table::Numa => {
            let Some(node) = row_index(number, *first)? else {
                return Ok(false);
            };
            let [_, size, free, distances] =
                exactly::<4>(number, line, &words, "node memsize memfree distances")?;
            let distances = split_commas(distances)
                .into_iter()
                .map(|d| id(number, d, "distance"))
                .collect::<Result<_, _>>()?;
            topology.nodes.push(NumaNode {
                node,
                memory_bytes: Some(mib_to_bytes(number, size, "memsize")?),
                free_bytes: Some(mib_to_bytes(number, free, "memfree")?),
                distances,
            });
        }
    }
    Ok(true)
}

/// `12:` → 12; `None` when the token is not a row number at all.
fn row_index(number: usize, token: Token<'_>) -> Result<Option<u32>, XenError> {
    let Some(digits) = token.text.strip_suffix(b":") else {
        return Ok(None);
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    let at = Token {
        text: digits,
        start: token.start,
    };
    XL_INFO.u32(number, at, "row number").map(Some)
}

/// The tokens of a row that must have exactly `N`.
fn exactly<'a, const N: usize>(
    number: usize,
    line: &[u8],
    words: &[Token<'a>],
    columns: &str,
) -> Result<[Token<'a>; N], XenError> {
    <[Token<'a>; N]>::try_from(words).map_err(|_| {
        XL_INFO.error(
            number,
            words.get(N).map_or(line.len(), |w| w.start),
            format!("expected {N} columns ({columns}), found {}", words.len()),
        )
    })
}

/// An id or distance: xl prints Xen's all-ones "unknown" with `%d`, as `-1`.
fn id(number: usize, token: Token<'_>, what: &str) -> Result<Option<u32>, XenError> {
    if token.text == b"-1" {
        return Ok(None);
    }
    XL_INFO.u32(number, token, what).map(Some)
}

fn mib_to_bytes(number: usize, token: Token<'_>, what: &str) -> Result<u64, XenError> {
    XL_INFO
        .u64(number, token, what)?
        .checked_mul(1 << 20)
        .ok_or_else(|| XL_INFO.error(number, token.start, format!("{what}: too large")))
}

/// `10,20,-1` → its three tokens.
fn split_commas(token: Token<'_>) -> Vec<Token<'_>> {
    let mut start = token.start;
    token
        .text
        .split(|&b| b == b',')
        .map(|text| {
            let t = Token { text, start };
            start += text.len() + 1;
            t
        })
        .collect()
}

/// `0000:3b:1f.6` (xl's `%04x:%02x:%02x.%01x`); `None` when the token is not shaped like a
/// device name, an error when it is but does not parse.
fn pci_name(number: usize, token: Token<'_>) -> Result<Option<PciTopology>, XenError> {
    let text = token.text;
    let shaped = text.len() >= 7
        && text[..4].iter().all(u8::is_ascii_hexdigit)
        && text[4] == b':'
        && text.contains(&b'.');
    if !shaped {
        return Ok(None);
    }
    let bad = || {
        XL_INFO.error(
            number,
            token.start,
            format!(
                "expected a PCI device like 0000:00:1f.3, found {:?}",
                lossy(text)
            ),
        )
    };
    let name = std::str::from_utf8(text).map_err(|_| bad())?;
    let mut parts = name.split([':', '.']);
    let mut field = |bits: u32| {
        parts
            .next()
            .and_then(|p| u32::from_str_radix(p, 16).ok())
            .filter(|&v| v < (1 << bits))
            .ok_or_else(bad)
    };
    let (segment, bus, device, function) = (field(16)?, field(8)?, field(5)?, field(3)?);
    if parts.next().is_some() {
        return Err(bad());
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "each field was range-checked"
    )]
    Ok(Some(PciTopology {
        segment: segment as u16,
        bus: bus as u8,
        devfn: ((device << 3) | function) as u8,
        node: None,
    }))
}
