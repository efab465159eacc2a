//! Parsers of captured tool output: `xl list`, `xl info` and `xentop -b` text, as saved from a
//! real host, turned back into the typed model.
//!
//! With them, a [`RecordedBackend`](crate::host::RecordedBackend) can replay what a real host
//! showed: tests and benchmarks run on real numbers without Xen, and tools can convert old
//! `xentop -b` logs to CSV or JSON. The parsers are total: any input gives the model or a
//! [`XenError::Capture`] naming the line and column.
//!
//! What the text does not carry is filled in so that rendering the result reproduces the text
//! byte for byte (see each parser): e.g. xentop prints CPU seconds truncated and CPU% rounded,
//! and [`XentopBatch::to_samples`] picks CPU times that give exactly those figures.

mod replay;
mod xentop;
mod xl_info;
mod xl_info_topology;
mod xl_list;

pub use replay::{Replay, USUAL_INTERVALS_MS};
pub use xentop::{ReconstructOptions, XentopBatch, XentopIteration, XentopRow, parse_xentop_batch};
pub use xl_info::parse_xl_info;
pub use xl_list::parse_xl_list;

use crate::XenError;

/// A whitespace-separated token of a line and where it starts (0-based byte offset).
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a [u8],
    start: usize,
}

impl Token<'_> {
    fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// Splits on spaces and tabs.
fn tokens(line: &[u8]) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in line.iter().enumerate() {
        let blank = b == b' ' || b == b'\t';
        match (blank, start) {
            (true, Some(s)) => {
                out.push(Token {
                    text: &line[s..i],
                    start: s,
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(Token {
            text: &line[s..],
            start: s,
        });
    }
    out
}

/// The lines of `input` with their 1-based numbers, without the `\n`; a final newline does
/// not make an extra empty line.
fn lines(input: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    let empty = input.is_empty();
    body.split(|&b| b == b'\n')
        .enumerate()
        .filter(move |_| !empty)
        .map(|(i, line)| (i + 1, line))
}

/// Locates errors in one kind of capture.
#[derive(Debug, Clone, Copy)]
struct Locator {
    format: &'static str,
}

impl Locator {
    /// An error at `line`, 0-based byte `offset` in it.
    fn error(self, line: usize, offset: usize, message: impl Into<String>) -> XenError {
        XenError::Capture {
            format: self.format,
            line,
            column: offset + 1,
            message: message.into(),
        }
    }

    /// A decimal unsigned integer.
    fn u64(self, line: usize, token: Token<'_>, what: &str) -> Result<u64, XenError> {
        parse_decimal(token.text).ok_or_else(|| {
            self.error(
                line,
                token.start,
                format!(
                    "{what}: expected an unsigned integer, found {:?}",
                    lossy(token.text)
                ),
            )
        })
    }

    /// A decimal unsigned integer that fits 32 bits.
    fn u32(self, line: usize, token: Token<'_>, what: &str) -> Result<u32, XenError> {
        let value = self.u64(line, token, what)?;
        u32::try_from(value)
            .map_err(|_| self.error(line, token.start, format!("{what}: {value} is too large")))
    }

    /// A number printed with `%.1f`, in tenths.
    fn tenths(self, line: usize, token: Token<'_>, what: &str) -> Result<u64, XenError> {
        parse_tenths(token.text).ok_or_else(|| {
            self.error(
                line,
                token.start,
                format!(
                    "{what}: expected a number with one decimal, found {:?}",
                    lossy(token.text)
                ),
            )
        })
    }
}

fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// `123.4` → 1234.
fn parse_tenths(text: &[u8]) -> Option<u64> {
    let (whole, fraction) = match text {
        [whole @ .., b'.', d] => (whole, *d),
        _ => return None,
    };
    let digit = fraction.checked_sub(b'0').filter(|d| *d <= 9)?;
    parse_decimal(whole)?
        .checked_mul(10)?
        .checked_add(u64::from(digit))
}

fn lossy(bytes: &[u8]) -> String {
    const SHOWN: usize = 40;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN)]).into_owned();
    if bytes.len() > SHOWN {
        text + "..."
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_tokens_keep_offsets() {
        let t = tokens(b"  ab\tc  d");
        let spans: Vec<(&[u8], usize)> = t.iter().map(|t| (t.text, t.start)).collect();
        assert_eq!(spans, [(&b"ab"[..], 2), (&b"c"[..], 5), (&b"d"[..], 8)]);
        assert!(tokens(b"").is_empty());
    }

    #[test]
    fn test_lines_number_from_one_and_ignore_the_final_newline() {
        let all: Vec<(usize, &[u8])> = lines(b"a\n\nb\n").collect();
        assert_eq!(all, [(1, &b"a"[..]), (2, &b""[..]), (3, &b"b"[..])]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").count(), 1);
    }

    #[test]
    fn test_numbers() {
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b"-1"), None);
        assert_eq!(parse_tenths(b"400.0"), Some(4000));
        assert_eq!(parse_tenths(b"0.5"), Some(5));
        assert_eq!(parse_tenths(b".5"), None);
        assert_eq!(parse_tenths(b"5"), None);
        assert_eq!(parse_tenths(b"nan"), None);
    }
}
