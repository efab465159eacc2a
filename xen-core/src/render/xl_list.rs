//! `xl list` text, byte for byte.
//!
//! xl prints (tools/xl/xl_info.c `list_domains`):
//! `"%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f"` with name, domid, memory in MiB (KiB / 1024,
//! truncated), online vCPUs, the six state letters `r b p s <reason> d`, and CPU seconds
//! computed as `(float)cpu_time / 1e9` (single precision first, as xl does). The header
//! separates its last columns with tabs.

use std::io::{self, Write};

use crate::host::{DomainState, DomainStats};

/// The header line, tabs included.
pub const HEADER: &str =
    "Name                                        ID   Mem VCPUs\tState\tTime(s)\n";

/// Writes the header and one line per domain, in the order given ([`Host::domains`] gives
/// domid order, as xl lists them).
///
/// [`Host::domains`]: crate::host::Host::domains
///
/// ```
/// use xen_core::host::{DomId, DomainName, DomainState, DomainStats};
///
/// let mut dom0 = DomainStats::default();
/// dom0.name = DomainName::new("Domain-0");
/// dom0.domid = DomId(0);
/// dom0.memory_kib = 1024 * 1024;
/// dom0.online_vcpus = 2;
/// dom0.state = DomainState::RUNNING;
/// dom0.cpu_time_ns = 56_500_000_000;
/// let mut text = Vec::new();
/// xen_core::render::xl_list::write(&mut text, &[dom0])?;
/// assert!(text.ends_with(b"Domain-0                                     0  1024     2     r-----      56.5\n"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write<W: Write + ?Sized>(out: &mut W, domains: &[DomainStats]) -> io::Result<()> {
    out.write_all(HEADER.as_bytes())?;
    for domain in domains {
        write_row(out, domain)?;
    }
    Ok(())
}

/// One domain's line.
pub fn write_row<W: Write + ?Sized>(out: &mut W, domain: &DomainStats) -> io::Result<()> {
    let name = domain.name.as_bytes();
    out.write_all(name)?;
    for _ in name.len()..40 {
        out.write_all(b" ")?;
    }
    write!(
        out,
        " {:>5} {:>5} {:>5}     ",
        domain.domid.0,
        domain.memory_kib / 1024,
        domain.online_vcpus,
    )?;
    out.write_all(&state_letters(domain.state))?;
    // xl: (float)cpu_time / 1e9. The cast to single precision is deliberate: it decides the
    // last digit at rounding boundaries, exactly as xl prints it.
    #[allow(clippy::cast_possible_truncation)]
    let seconds = f64::from(domain.cpu_time_ns as f32) / 1e9;
    writeln!(out, "  {seconds:>8.1}")
}

/// The six state letters as xl prints them: running, blocked, paused, shutdown, the shutdown
/// reason (`c` for a crash; the other reasons are not in the model, so `-`), dying.
pub fn state_letters(state: DomainState) -> [u8; 6] {
    let letter = |flag: DomainState, ch: u8| if state.contains(flag) { ch } else { b'-' };
    [
        letter(DomainState::RUNNING, b'r'),
        letter(DomainState::BLOCKED, b'b'),
        letter(DomainState::PAUSED, b'p'),
        letter(DomainState::SHUTDOWN, b's'),
        // xl shows the reason only for a shut-down domain.
        if state.contains(DomainState::SHUTDOWN | DomainState::CRASHED) {
            b'c'
        } else {
            b'-'
        },
        letter(DomainState::DYING, b'd'),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{DomId, DomainName};

    fn render(domains: &[DomainStats]) -> String {
        let mut out = Vec::new();
        write(&mut out, domains).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn test_row_layout_matches_xl() {
        let web = DomainStats {
            name: DomainName::new("web1"),
            domid: DomId(3),
            memory_kib: 65536,
            online_vcpus: 1,
            state: DomainState::BLOCKED,
            cpu_time_ns: 1_800_000_000,
            ..DomainStats::default()
        };
        assert_eq!(
            render(&[web]),
            format!(
                "{HEADER}web1                                         3    64     1     -b----       1.8\n"
            )
        );
    }

    #[test]
    fn test_memory_truncates_to_mib_and_long_names_push_columns() {
        let d = DomainStats {
            name: DomainName::new("a-name-that-is-longer-than-forty-characters-x"),
            memory_kib: 2047,
            ..DomainStats::default()
        };
        let text = render(&[d]);
        let row = text.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "a-name-that-is-longer-than-forty-characters-x     0     1     0     ------       0.0"
        );
    }

    #[test]
    fn test_state_letters() {
        assert_eq!(&state_letters(DomainState::empty()), b"------");
        assert_eq!(
            &state_letters(DomainState::SHUTDOWN | DomainState::CRASHED | DomainState::DYING),
            b"---scd"
        );
        // A crash flag without shutdown shows no reason, as in xl.
        assert_eq!(
            &state_letters(DomainState::CRASHED | DomainState::PAUSED),
            b"--p---"
        );
    }

    #[test]
    fn test_time_uses_single_precision_like_xl() {
        // 0.25 s exactly is a tie: %.1f rounds it to even, "0.2".
        let mut d = DomainStats {
            cpu_time_ns: 250_000_000,
            ..DomainStats::default()
        };
        assert!(render(&[d.clone()]).ends_with("       0.2\n"));
        // 56.450000001 s in double precision would print 56.5; as a float it is
        // 56449998848 ns, and xl prints 56.4.
        d.cpu_time_ns = 56_450_000_001;
        assert!(render(&[d]).ends_with("      56.4\n"));
    }

    #[test]
    fn test_non_utf8_name_is_written_as_bytes() {
        let d = DomainStats {
            name: DomainName::new(b"caf\xe9".to_vec()),
            ..DomainStats::default()
        };
        let mut out = Vec::new();
        write_row(&mut out, &d).unwrap();
        let mut expected = b"caf\xe9".to_vec();
        expected.extend([b' '; 36 + 1 + 4]);
        expected.push(b'0');
        assert!(out.starts_with(&expected));
    }
}
