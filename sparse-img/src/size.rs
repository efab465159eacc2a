//! Sizes: parsed the way dd and qemu-img read them, shown in binary units.

use std::fmt;
use std::str::FromStr;

use crate::error::{SizeProblem, SparseImgError};

/// A number of bytes.
///
/// Parsed from text ([`ByteSize::parse`] or [`str::parse`]) with the units dd and qemu-img use:
///
/// | text | bytes |
/// |---|---|
/// | `512`, `512B` | 512 |
/// | `K` `M` `G` `T` `P` `E` (either case), also with `iB` or `i` (`KiB`, `Gi`) | powers of 1024 |
/// | `KB` `MB` `GB` `TB` `PB` `EB` (also `kB`) | powers of 1000 |
///
/// So `16000M` is `bs=1M seek=16000` in dd's terms: 16000 × 2^20 bytes. A fraction is allowed
/// with a unit when the result is a whole number of bytes (`1.5G`). A lone `b` is refused as
/// ambiguous (dd: 512-byte blocks; qemu-img: bytes), as is `Mb` (bits?).
///
/// Shown ([`Display`](fmt::Display)) in binary units: `16 GiB` when exact, else one decimal
/// (`1.4 MiB`).
///
/// ```
/// use sparse_img::ByteSize;
/// assert_eq!("16000M".parse::<ByteSize>()?.bytes(), 16000 << 20);
/// assert_eq!("20GB".parse::<ByteSize>()?.bytes(), 20_000_000_000);
/// assert_eq!("1.5 GiB".parse::<ByteSize>()?.to_string(), "1.5 GiB");
/// assert!("-1G".parse::<ByteSize>().is_err());
/// # Ok::<(), sparse_img::SparseImgError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(u64);

impl ByteSize {
    /// A size of `bytes` bytes.
    pub const fn from_bytes(bytes: u64) -> ByteSize {
        ByteSize(bytes)
    }

    /// The number of bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// Parses a size (see the type's documentation for the units).
    pub fn parse(text: &str) -> Result<ByteSize, SparseImgError> {
        parse_bytes(text)
            .map(ByteSize)
            .map_err(|problem| SparseImgError::InvalidSize {
                input: text.to_string(),
                problem,
            })
    }
}

impl FromStr for ByteSize {
    type Err = SparseImgError;

    fn from_str(text: &str) -> Result<ByteSize, SparseImgError> {
        ByteSize::parse(text)
    }
}

impl From<u64> for ByteSize {
    fn from(bytes: u64) -> ByteSize {
        ByteSize(bytes)
    }
}

const BINARY_UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        if bytes < 1024 {
            return write!(f, "{bytes} B");
        }
        // The largest unit not above the value: 1024^(index + 1).
        let index = (63 - bytes.leading_zeros()) / 10 - 1;
        let unit = 1u128 << (10 * (index + 1));
        let name = BINARY_UNITS.get(index as usize).copied().unwrap_or("EiB");
        let value = u128::from(bytes);
        if value % unit == 0 {
            return write!(f, "{} {name}", value / unit);
        }
        let tenths = (value * 10 + unit / 2) / unit;
        write!(f, "{}.{} {name}", tenths / 10, tenths % 10)
    }
}

/// The multiplier for a unit suffix (after the number and any spaces).
fn unit_multiplier(unit: &str) -> Result<u128, SizeProblem> {
    if unit.is_empty() || unit == "B" {
        return Ok(1);
    }
    if unit == "b" {
        return Err(SizeProblem::AmbiguousUnit {
            unit: unit.to_string(),
        });
    }
    let mut chars = unit.chars();
    let power = match chars.next().map(|c| c.to_ascii_uppercase()) {
        Some('K') => 1,
        Some('M') => 2,
        Some('G') => 3,
        Some('T') => 4,
        Some('P') => 5,
        Some('E') => 6,
        _ => {
            return Err(SizeProblem::UnknownUnit {
                unit: unit.to_string(),
            });
        }
    };
    match chars.as_str() {
        "" | "i" | "iB" => Ok(1u128 << (10 * power)),
        "B" => Ok(1000u128.pow(power)),
        "b" | "ib" => Err(SizeProblem::AmbiguousUnit {
            unit: unit.to_string(),
        }),
        _ => Err(SizeProblem::UnknownUnit {
            unit: unit.to_string(),
        }),
    }
}

/// Longest accepted run of significant integer digits: more cannot fit in 64 bits anyway.
const MAX_INT_DIGITS: usize = 30;
/// Longest accepted run of significant fraction digits: `fraction × multiplier` must fit in
/// u128 (10^20 × 2^60 < 2^128), and a fraction this long is never a whole number of bytes.
const MAX_FRACTION_DIGITS: usize = 20;

fn parse_bytes(text: &str) -> Result<u64, SizeProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SizeProblem::Empty);
    }
    if text.starts_with(['+', '-']) {
        return Err(SizeProblem::Signed);
    }
    let int_len = text.bytes().take_while(u8::is_ascii_digit).count();
    let (int_digits, rest) = text.split_at(int_len);
    let (frac_digits, rest) = match rest.strip_prefix('.') {
        Some(after) => {
            let len = after.bytes().take_while(u8::is_ascii_digit).count();
            after.split_at(len)
        }
        None => ("", rest),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(SizeProblem::NotANumber);
    }
    let multiplier = unit_multiplier(rest.trim_start())?;
    let int_digits = int_digits.trim_start_matches('0');
    let frac_digits = frac_digits.trim_end_matches('0');
    if int_digits.len() > MAX_INT_DIGITS {
        return Err(SizeProblem::Overflow);
    }
    if frac_digits.len() > MAX_FRACTION_DIGITS {
        return Err(SizeProblem::NotWholeBytes);
    }
    let int = digits_value(int_digits);
    let frac = digits_value(frac_digits);
    let scale = 10u128.pow(u32::try_from(frac_digits.len()).unwrap_or(u32::MAX));
    let whole = int.checked_mul(multiplier).ok_or(SizeProblem::Overflow)?;
    // frac / scale * multiplier must be whole; frac < 10^20 and multiplier <= 2^60, so the
    // product fits in u128.
    let frac_scaled = frac.checked_mul(multiplier).ok_or(SizeProblem::Overflow)?;
    if frac_scaled % scale != 0 {
        return Err(SizeProblem::NotWholeBytes);
    }
    let total = whole
        .checked_add(frac_scaled / scale)
        .ok_or(SizeProblem::Overflow)?;
    u64::try_from(total).map_err(|_| SizeProblem::Overflow)
}

/// The value of at most [`MAX_INT_DIGITS`] ASCII digits.
fn digits_value(digits: &str) -> u128 {
    digits
        .bytes()
        .fold(0u128, |acc, d| acc * 10 + u128::from(d - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(text: &str) -> u64 {
        ByteSize::parse(text).unwrap().bytes()
    }

    fn problem(text: &str) -> SizeProblem {
        match ByteSize::parse(text) {
            Err(SparseImgError::InvalidSize { problem, .. }) => problem,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn test_plain_and_binary_units() {
        assert_eq!(bytes("0"), 0);
        assert_eq!(bytes("512"), 512);
        assert_eq!(bytes("512B"), 512);
        assert_eq!(bytes("1K"), 1024);
        assert_eq!(bytes("1k"), 1024);
        assert_eq!(bytes("1KiB"), 1024);
        assert_eq!(bytes("16000M"), 16000 << 20);
        assert_eq!(bytes("2G"), 2 << 30);
        assert_eq!(bytes("2Gi"), 2 << 30);
        assert_eq!(bytes("1T"), 1 << 40);
        assert_eq!(bytes("1 TiB"), 1 << 40);
        assert_eq!(bytes("  3 MiB "), 3 << 20);
        assert_eq!(bytes("1P"), 1 << 50);
        assert_eq!(bytes("15E"), 15 << 60);
    }

    #[test]
    fn test_decimal_units() {
        assert_eq!(bytes("1KB"), 1000);
        assert_eq!(bytes("1kB"), 1000);
        assert_eq!(bytes("20GB"), 20_000_000_000);
        assert_eq!(bytes("2TB"), 2_000_000_000_000);
    }

    #[test]
    fn test_fractions_must_be_whole_bytes() {
        assert_eq!(bytes("1.5G"), 3 << 29);
        assert_eq!(bytes("0.5K"), 512);
        assert_eq!(bytes(".5K"), 512);
        assert_eq!(bytes("1.000"), 1);
        assert_eq!(bytes("2.5KB"), 2500);
        assert_eq!(problem("1.3K"), SizeProblem::NotWholeBytes);
        assert_eq!(problem("1.5"), SizeProblem::NotWholeBytes);
    }

    #[test]
    fn test_garbage_and_overflow_are_refused() {
        assert_eq!(problem(""), SizeProblem::Empty);
        assert_eq!(problem("   "), SizeProblem::Empty);
        assert_eq!(problem("+1G"), SizeProblem::Signed);
        assert_eq!(problem("-1G"), SizeProblem::Signed);
        assert_eq!(problem("G"), SizeProblem::NotANumber);
        assert_eq!(problem("."), SizeProblem::NotANumber);
        assert_eq!(
            problem("0x10"),
            SizeProblem::UnknownUnit { unit: "x10".into() }
        );
        assert_eq!(problem("1Q"), SizeProblem::UnknownUnit { unit: "Q".into() });
        assert_eq!(
            problem("1GiBs"),
            SizeProblem::UnknownUnit {
                unit: "GiBs".into()
            }
        );
        assert_eq!(
            problem("1 2"),
            SizeProblem::UnknownUnit { unit: "2".into() }
        );
        assert_eq!(
            problem("1b"),
            SizeProblem::AmbiguousUnit { unit: "b".into() }
        );
        assert_eq!(
            problem("1Mb"),
            SizeProblem::AmbiguousUnit { unit: "Mb".into() }
        );
        assert_eq!(problem("16E"), SizeProblem::Overflow);
        assert_eq!(problem("18446744073709551616"), SizeProblem::Overflow);
        assert_eq!(bytes("18446744073709551615"), u64::MAX);
        assert_eq!(problem(&"9".repeat(60)), SizeProblem::Overflow);
        assert_eq!(
            problem(&format!("1.{}1K", "0".repeat(40))),
            SizeProblem::NotWholeBytes
        );
    }

    #[test]
    fn test_display_binary_units() {
        assert_eq!(ByteSize(0).to_string(), "0 B");
        assert_eq!(ByteSize(1023).to_string(), "1023 B");
        assert_eq!(ByteSize(1024).to_string(), "1 KiB");
        assert_eq!(ByteSize(1536).to_string(), "1.5 KiB");
        assert_eq!(ByteSize(1_500_000).to_string(), "1.4 MiB");
        assert_eq!(ByteSize(16 << 30).to_string(), "16 GiB");
        assert_eq!(ByteSize(1 << 40).to_string(), "1 TiB");
        assert_eq!(ByteSize(u64::MAX).to_string(), "16.0 EiB");
    }
}
