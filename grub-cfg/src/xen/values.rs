//! Reading Xen option values as Xen does: booleans, integers, sizes with suffixes, and a
//! description of what a value means.

use super::*;

/// Xen's boolean words: `Some(true)` for `1 on yes true enable`, `Some(false)` for
/// `0 no off false disable`.
pub fn parse_bool(word: &str) -> Option<bool> {
    match word {
        "1" | "on" | "yes" | "true" | "enable" => Some(true),
        "0" | "no" | "off" | "false" | "disable" => Some(false),
        _ => None,
    }
}

/// An unsigned number the way C's `strtoull(s, &end, 0)` reads it: `0x` hex, a leading `0`
/// octal, else decimal. Returns the number and the rest of the text.
pub(super) fn parse_number(s: &str) -> Option<(u64, &str)> {
    let (digits, radix) = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (hex, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 {
        return if radix == 8 { Some((0, digits)) } else { None };
    }
    let n = u64::from_str_radix(&digits[..end], radix).ok()?;
    Some((n, &digits[end..]))
}

/// A Xen integer: optional sign, then `strtoll` base 0, nothing after.
pub fn parse_integer(s: &str) -> Option<i128> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (n, tail) = parse_number(rest)?;
    tail.is_empty().then_some(if negative {
        -i128::from(n)
    } else {
        i128::from(n)
    })
}

/// A Xen size in bytes: a number and an optional suffix `T G M K B` (either case); without a
/// suffix the number is KiB. Nothing may follow (so `4GB` is invalid).
pub fn parse_size(s: &str) -> Option<u64> {
    let (n, rest) = parse_number(s)?;
    let shift = match rest {
        "" => 10,
        "T" | "t" => 40,
        "G" | "g" => 30,
        "M" | "m" => 20,
        "K" | "k" => 10,
        "B" | "b" => 0,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

/// `4 GiB`, `512 MiB`, `1536 KiB`, `10 B`.
pub fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} B")
}

pub(super) const BOOLEAN_HELP: &str =
    "a boolean: 1/0, on/off, yes/no, true/false or enable/disable";

/// How Xen reads one option's value, in words (`4 GiB`, `false`), when the option is known.
pub fn describe_value(version: XenOptionTable, option: &XenOption) -> Option<String> {
    let params = lookup(version, &option.key);
    let params = if params.is_empty() {
        lookup(version, &option.name)
    } else {
        params
    };
    let param = params
        .iter()
        .find(|p| !p.is_arm_or_riscv_only())
        .or(params.first())?;
    let value = option.value.as_deref();
    match param.kind {
        ParamKind::Boolean | ParamKind::BooleanOrEnum | ParamKind::BooleanOrCustom => {
            let b = match value {
                None => Some(true),
                Some(v) => parse_bool(v),
            }?;
            Some((b != option.negated).to_string())
        }
        ParamKind::Size => value.and_then(parse_size).map(format_size),
        ParamKind::Integer => value.and_then(parse_integer).map(|n| n.to_string()),
        ParamKind::List if option.name == "dom0_mem" => {
            let items: Option<Vec<String>> = value?
                .split(',')
                .map(|item| {
                    let (label, size) = match item.split_once(':') {
                        Some((l, s)) => (format!("{l} "), s),
                        None => (String::new(), item),
                    };
                    if size.ends_with('%') {
                        return Some(format!("{label}{size}"));
                    }
                    parse_size(size).map(|b| format!("{label}{}", format_size(b)))
                })
                .collect();
            items.map(|i| i.join(", "))
        }
        _ => None,
    }
}
