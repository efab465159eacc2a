//! Integer formatting without `fmt` machinery: the renderers print thousands of counters per
//! sample, and `write!` through `io::Write` costs several times more per number.

use std::io::{self, Write};

/// The decimal digits of `n` in a stack buffer.
fn digits(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        // n % 10 < 10, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        buf[at] = b'0' + digit;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[at..]
}

/// `n` in decimal (`%llu`).
pub(crate) fn write_u64<W: Write + ?Sized>(out: &mut W, n: u64) -> io::Result<()> {
    let mut buf = [0u8; 20];
    out.write_all(digits(n, &mut buf))
}

/// `n` right-aligned in `width` columns (`%*llu`).
pub(crate) fn write_u64_right<W: Write + ?Sized>(
    out: &mut W,
    n: u64,
    width: usize,
) -> io::Result<()> {
    let mut buf = [0u8; 20];
    let text = digits(n, &mut buf);
    pad(out, width.saturating_sub(text.len()))?;
    out.write_all(text)
}

/// `text` right-aligned in `width` columns (`%*s`).
pub(crate) fn write_str_right<W: Write + ?Sized>(
    out: &mut W,
    text: &[u8],
    width: usize,
) -> io::Result<()> {
    pad(out, width.saturating_sub(text.len()))?;
    out.write_all(text)
}

/// `count` spaces.
pub(crate) fn pad<W: Write + ?Sized>(out: &mut W, count: usize) -> io::Result<()> {
    const SPACES: &[u8; 32] = b"                                ";
    let mut left = count;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.write_all(&SPACES[..n])?;
        left -= n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_same_as_format() {
        for n in [0, 7, 10, 99_999_999, 100_000_000, u64::MAX] {
            for width in [0, 4, 10, 25] {
                let mut out = Vec::new();
                write_u64_right(&mut out, n, width).unwrap();
                assert_eq!(String::from_utf8(out).unwrap(), format!("{n:>width$}"));
            }
            let mut out = Vec::new();
            write_u64(&mut out, n).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
        let mut out = Vec::new();
        write_str_right(&mut out, b"-", 8).unwrap();
        write_str_right(&mut out, b"toolong", 3).unwrap();
        assert_eq!(out, b"       -toolong");
    }
}
