//! `xl list` text (the default columns) back into domains.

use crate::XenError;
use crate::host::capture::{Locator, lines, tokens};
use crate::host::{DomId, DomainName, DomainState, DomainStats};
use crate::render::xl_list::HEADER;

const XL_LIST: Locator = Locator { format: "xl list" };

/// Parses `xl list` output: the header, then one line per domain.
///
/// Each domain gets its name (bytes, spaces allowed), domid, memory (MiB × 1024 KiB),
/// online vCPUs, state flags (a `c` shutdown reason sets [`DomainState::CRASHED`]; the other
/// reasons are not kept) and CPU time (the printed tenths of a second). Rendering the result
/// with [`render::xl_list`](crate::render::xl_list) gives the same text, except for the
/// shutdown reasons `r s w S ?`, printed `-`.
///
/// ```
/// let text = b"Name                                        ID   Mem VCPUs\tState\tTime(s)\n\
/// Domain-0                                     0  1024     2     r-----      56.5\n";
/// let domains = xen_core::host::capture::parse_xl_list(text)?;
/// assert_eq!(domains[0].memory_kib, 1024 * 1024);
/// assert_eq!(domains[0].cpu_time_ns, 56_500_000_000);
/// # Ok::<(), xen_core::XenError>(())
/// ```
pub fn parse_xl_list(text: &[u8]) -> Result<Vec<DomainStats>, XenError> {
    let header = HEADER.trim_end_matches('\n').as_bytes();
    let mut domains = Vec::new();
    let mut seen_header = false;
    for (number, line) in lines(text) {
        if !seen_header {
            if line != header {
                let at = line
                    .iter()
                    .zip(header)
                    .position(|(a, b)| a != b)
                    .unwrap_or(header.len().min(line.len()));
                let message = if line.starts_with(header) {
                    "extra columns (xl list -v, -Z, -c or -n) are not supported"
                } else {
                    "expected the `xl list` header `Name   ID   Mem VCPUs\\tState\\tTime(s)`"
                };
                return Err(XL_LIST.error(number, at, message));
            }
            seen_header = true;
            continue;
        }
        domains.push(parse_row(number, line)?);
    }
    if !seen_header {
        return Err(XL_LIST.error(1, 0, "empty input: no `xl list` header"));
    }
    Ok(domains)
}

/// `%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f`, read from the right so names may hold spaces.
fn parse_row(number: usize, line: &[u8]) -> Result<DomainStats, XenError> {
    let t = tokens(line);
    if t.len() < 6 {
        return Err(XL_LIST.error(
            number,
            line.len(),
            format!(
                "expected a name and 5 columns (ID Mem VCPUs State Time), found {} fields",
                t.len()
            ),
        ));
    }
    let [id, mem, vcpus, state, time] = [
        t.len() - 5,
        t.len() - 4,
        t.len() - 3,
        t.len() - 2,
        t.len() - 1,
    ]
    .map(|i| t[i]);
    if t[0].start != 0 {
        return Err(XL_LIST.error(number, 0, "a domain line starts with its name"));
    }
    // The name is left-aligned and padded with spaces up to the ID column. Only spaces are
    // padding: other blanks (a form feed, a tab) belong to the name.
    let padded = &line[..id.start];
    let name = &padded[..padded.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1)];
    let domain = DomainStats {
        name: DomainName::new(name),
        domid: DomId(XL_LIST.u32(number, id, "ID")?),
        memory_kib: XL_LIST
            .u64(number, mem, "Mem")?
            .checked_mul(1024)
            .ok_or_else(|| XL_LIST.error(number, mem.start, "Mem: too large"))?,
        online_vcpus: XL_LIST.u32(number, vcpus, "VCPUs")?,
        state: parse_state(number, state)?,
        cpu_time_ns: XL_LIST
            .tenths(number, time, "Time(s)")?
            .checked_mul(100_000_000)
            .ok_or_else(|| XL_LIST.error(number, time.start, "Time(s): too large"))?,
        ..DomainStats::default()
    };
    if time.end() != line.len() {
        return Err(XL_LIST.error(number, time.end(), "trailing blanks after Time(s)"));
    }
    Ok(domain)
}

/// `r b p s <reason> d`, each letter or `-`; the reason is one of `-rscwS?`.
fn parse_state(number: usize, token: super::Token<'_>) -> Result<DomainState, XenError> {
    let letters: [u8; 6] = token.text.try_into().map_err(|_| {
        XL_LIST.error(
            number,
            token.start,
            "State: expected 6 letters like `-b----`",
        )
    })?;
    let mut state = DomainState::empty();
    for (i, (&ch, (letter, flag))) in letters
        .iter()
        .zip([
            (b'r', DomainState::RUNNING),
            (b'b', DomainState::BLOCKED),
            (b'p', DomainState::PAUSED),
            (b's', DomainState::SHUTDOWN),
            (b'c', DomainState::CRASHED),
            (b'd', DomainState::DYING),
        ])
        .enumerate()
    {
        let is_reason = i == 4;
        if ch == letter {
            state |= flag;
        } else if !(ch == b'-' || is_reason && b"rswS?".contains(&ch)) {
            return Err(XL_LIST.error(
                number,
                token.start + i,
                format!(
                    "State: unexpected {:?} at position {}",
                    char::from(ch),
                    i + 1
                ),
            ));
        }
    }
    // xl prints a reason only for a domain that is shut down.
    if letters[4] != b'-' && letters[3] != b's' {
        return Err(XL_LIST.error(
            number,
            token.start + 4,
            "State: a shutdown reason without the `s` (shutdown) letter",
        ));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "Name                                        ID   Mem VCPUs\tState\tTime(s)\n";

    fn parse(rows: &str) -> Result<Vec<DomainStats>, XenError> {
        parse_xl_list(format!("{HEAD}{rows}").as_bytes())
    }

    fn location(err: XenError) -> (usize, usize) {
        match err {
            XenError::Capture { line, column, .. } => (line, column),
            other => panic!("not a capture error: {other}"),
        }
    }

    #[test]
    fn test_names_with_spaces_and_states() {
        let d = parse(
            "Windows 7 (Dev)                             12  4096     4     --ps-d     123.4\n",
        )
        .unwrap();
        assert_eq!(d[0].name.as_bytes(), b"Windows 7 (Dev)");
        assert_eq!(d[0].domid, DomId(12));
        assert_eq!(
            d[0].state,
            DomainState::PAUSED | DomainState::SHUTDOWN | DomainState::DYING
        );
        assert_eq!(d[0].cpu_time_ns, 123_400_000_000);
        let crashed = parse(
            "c                                            1     0     0     ---scd       0.0\n",
        )
        .unwrap();
        assert!(crashed[0].state.contains(DomainState::CRASHED));
    }

    #[test]
    fn test_only_spaces_pad_a_name() {
        // Found by fuzzing: a name of form feeds was trimmed to nothing, and its rendering
        // no longer parsed.
        let d = parse("\x0c\x0c\x0c   0  1024     2     r-----      29.3\n").unwrap();
        assert_eq!(d[0].name.as_bytes(), b"\x0c\x0c\x0c");
        let mut text = Vec::new();
        crate::render::xl_list::write(&mut text, &d).unwrap();
        assert_eq!(parse_xl_list(&text).unwrap(), d);
    }

    #[test]
    fn test_header_only_is_no_domains() {
        assert_eq!(parse("").unwrap().len(), 0);
    }

    #[test]
    fn test_errors_are_located() {
        assert_eq!(location(parse_xl_list(b"").unwrap_err()), (1, 1));
        assert_eq!(location(parse_xl_list(b"Name ID\n").unwrap_err()), (1, 6));
        assert_eq!(
            location(parse("web1                                         x    64     1     -b----       1.8\n").unwrap_err()),
            (2, 46)
        );
        assert_eq!(
            location(parse("web1                                         1    64     1     -b-x--       1.8\n").unwrap_err()),
            (2, 67)
        );
        assert_eq!(
            location(parse("web1 1 64 1 -b--c- 1.8\n").unwrap_err()),
            (2, 17)
        );
        assert_eq!(location(parse("web1 1 64 1\n").unwrap_err()).0, 2);
        assert_eq!(
            location(parse(" web1 1 64 1 -b---- 1.8\n").unwrap_err()),
            (2, 1)
        );
        assert_eq!(
            location(parse("web1 1 64 1 -b---- 1.8 \n").unwrap_err()),
            (2, 23)
        );
        assert_eq!(
            location(parse("web1 1 64 1 -b---- 1.85\n").unwrap_err()),
            (2, 20)
        );
    }

    #[test]
    fn test_verbose_columns_are_refused() {
        let text =
            "Name                                        ID   Mem VCPUs\tState\tTime(s)   UUID\n";
        assert!(parse_xl_list(text.as_bytes()).is_err());
    }
}
