//! The Xen hypervisor command line: how Xen splits and reads it, the documented option
//! tables of Xen 4.17 and 4.22, and validation.

use std::fmt;
use std::str::FromStr;

use crate::error::GrubCfgError;

include!(concat!(env!("OUT_DIR"), "/xen_params.rs"));

/// A Xen release whose documented option table xenadm carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum XenVersion {
    /// Xen 4.17 (Debian 12). Used for every release before 4.22.
    #[cfg_attr(feature = "serde", serde(rename = "4.17"))]
    V4_17,
    /// Xen 4.22 (also current master). Used for 4.22 and later.
    #[cfg_attr(feature = "serde", serde(rename = "4.22"))]
    V4_22,
}

impl XenVersion {
    /// Every table, oldest first.
    pub const ALL: [XenVersion; 2] = [XenVersion::V4_17, XenVersion::V4_22];

    /// The table used for Xen `major.minor`: 4.22 and later use the 4.22 table, earlier
    /// releases the 4.17 one.
    pub fn for_release(major: u32, minor: u32) -> XenVersion {
        if (major, minor) >= (4, 22) {
            XenVersion::V4_22
        } else {
            XenVersion::V4_17
        }
    }

    /// The documented options of this release, in documentation order.
    pub fn params(self) -> &'static [XenParam] {
        match self {
            XenVersion::V4_17 => &PARAMS_4_17,
            XenVersion::V4_22 => &PARAMS_4_22,
        }
    }

    /// `4.17` or `4.22`.
    pub fn as_str(self) -> &'static str {
        match self {
            XenVersion::V4_17 => "4.17",
            XenVersion::V4_22 => "4.22",
        }
    }

    /// The other table (for "known in 4.22 but not 4.17" hints).
    fn other(self) -> XenVersion {
        match self {
            XenVersion::V4_17 => XenVersion::V4_22,
            XenVersion::V4_22 => XenVersion::V4_17,
        }
    }
}

impl fmt::Display for XenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for XenVersion {
    type Err = GrubCfgError;

    /// `4.17`, `4.17.5`, `4.19-amd64`: the table for that release.
    fn from_str(s: &str) -> Result<XenVersion, GrubCfgError> {
        parse_release(s)
            .map(|(major, minor)| XenVersion::for_release(major, minor))
            .ok_or_else(|| GrubCfgError::BadXenVersion {
                given: s.to_string(),
            })
    }
}

/// `major.minor` at the start of a version string (`4.17.5-amd64` gives 4.17); Xen 4 only.
pub fn parse_release(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.splitn(3, '.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor_text: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let minor: u32 = minor_text.parse().ok()?;
    (major == 4).then_some((major, minor))
}

/// The kind of value an option takes, as its documentation's syntax line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ParamKind {
    /// `= <boolean>`.
    Boolean,
    /// `= <integer>`.
    Integer,
    /// `= <size>`: a number with an optional `T G M K B` suffix, KiB when unsuffixed.
    Size,
    /// `= <string>`.
    String,
    /// One of a list of words.
    Enum,
    /// A boolean or one of a list of words.
    BooleanOrEnum,
    /// A boolean or a custom syntax.
    BooleanOrCustom,
    /// A comma-separated list of sub-options.
    List,
    /// Its own syntax.
    Custom,
    /// The documentation gives no syntax.
    Unspecified,
    /// Registered but ignored by Xen (`placeholder`).
    Ignored,
}

/// One documented Xen command-line option.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct XenParam {
    /// The name as written on the command line (`ivrs_hpet[<hpet>]` keeps its index).
    pub name: &'static str,
    /// Architecture qualifier of the documentation heading (`x86`, `Arm`, ...), or empty.
    pub arch: &'static str,
    /// The `Applicability:` line, or empty.
    pub applicability: &'static str,
    /// Value kind.
    pub kind: ParamKind,
    /// The documented `= ...` syntax line(s).
    pub syntax: &'static str,
    /// The documented default(s), or empty.
    pub default: &'static str,
    /// The default depends on hardware, build or mode.
    pub default_is_conditional: bool,
    /// Can be changed at run time with `xl set-parameters`.
    pub runtime_modifiable: bool,
    /// The documentation mentions deprecation (of the option or one of its values).
    pub mentions_deprecated: bool,
    /// How Xen's source registers it (`boolean`, `custom`, ...).
    pub registration: &'static str,
    /// Sub-option keys of a list (`key=` takes a value, `key:` uses a colon).
    pub sub_options: &'static [&'static str],
    /// The words an enum accepts.
    pub enum_values: Option<&'static [&'static str]>,
    /// Whether a boolean is accepted.
    pub accepts_boolean: bool,
}

impl XenParam {
    /// The name without an index placeholder (`ivrs_hpet[<hpet>]` gives `ivrs_hpet`).
    pub fn base_name(&self) -> &'static str {
        self.name.split('[').next().unwrap_or(self.name)
    }

    /// Whether the option is for another architecture than x86.
    pub fn is_arm_or_riscv_only(&self) -> bool {
        matches!(self.arch, "Arm" | "ARM" | "arm64" | "arm32" | "RISC-V")
    }
}

type ParamIndex = std::collections::HashMap<&'static str, Vec<&'static XenParam>>;

fn index(version: XenVersion) -> &'static ParamIndex {
    static INDEX: [std::sync::OnceLock<ParamIndex>; 2] =
        [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    let slot = match version {
        XenVersion::V4_17 => &INDEX[0],
        XenVersion::V4_22 => &INDEX[1],
    };
    slot.get_or_init(|| {
        let mut map = ParamIndex::new();
        for p in version.params().iter().chain(UNDOCUMENTED.iter()) {
            map.entry(p.base_name()).or_default().push(p);
        }
        map
    })
}

/// The documented options of `version` whose name (without an `[index]`) is `name`'s: one,
/// or two for options documented per architecture (`dom0_mem`, `spec-ctrl`).
pub fn lookup(version: XenVersion, name: &str) -> Vec<&'static XenParam> {
    let base = name.split('[').next().unwrap_or(name);
    index(version).get(base).cloned().unwrap_or_default()
}

/// One option of a Xen command line, split the way Xen splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct XenOption {
    /// The token as written.
    pub raw: String,
    /// The text before the first `=` (with any `no-` prefix).
    pub key: String,
    /// The key without a `no-` prefix: what Xen looks up.
    pub name: String,
    /// Written with a `no-` prefix.
    pub negated: bool,
    /// The text after the first `=`; `None` when there is no `=`.
    pub value: Option<String>,
}

impl XenOption {
    /// Splits one token at its first `=` and strips a `no-` prefix from the key.
    pub fn parse(token: &str) -> XenOption {
        let (key, value) = match token.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (token, None),
        };
        let (name, negated) = match key.strip_prefix("no-") {
            Some(rest) if !rest.is_empty() => (rest, true),
            _ => (key, false),
        };
        XenOption {
            raw: token.to_string(),
            key: key.to_string(),
            name: name.to_string(),
            negated,
            value,
        }
    }

    /// What identifies the option for "the last one wins": the name, with its index.
    pub fn identity(&self) -> &str {
        &self.name
    }
}

/// Splits a hypervisor command line the way Xen does: on spaces only (a tab is part of a
/// token), no quoting, empty tokens skipped.
pub fn parse_cmdline(line: &str) -> Vec<XenOption> {
    line.split(' ')
        .filter(|t| !t.is_empty())
        .map(XenOption::parse)
        .collect()
}

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
fn parse_number(s: &str) -> Option<(u64, &str)> {
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

const BOOLEAN_HELP: &str = "a boolean: 1/0, on/off, yes/no, true/false or enable/disable";

/// How Xen reads one option's value, in words (`4 GiB`, `false`), when the option is known.
pub fn describe_value(version: XenVersion, option: &XenOption) -> Option<String> {
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

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Probably not what was meant; Xen boots anyway.
    Warning,
    /// Xen will ignore or reject it (it logs and boots on).
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum FindingKind {
    /// Xen does not know the name.
    UnknownOption,
    /// Known only in the other Xen release's table.
    OtherVersionOnly,
    /// The value does not have the documented syntax.
    BadValue,
    /// The same option more than once.
    Duplicate,
    /// Documented for another architecture.
    WrongArch,
    /// The documentation mentions deprecation.
    Deprecated,
    /// Longer than the 127 bytes Xen keeps of a token.
    TooLong,
    /// The whole line is longer than Xen's 1023-byte buffer.
    LineTooLong,
    /// The value is computed by shell code, so it cannot be checked.
    NotCheckable,
    /// GRUB will expand or unquote part of it (`$`, quotes, backslash).
    GrubExpansion,
}

/// One problem found on a Xen command line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// What about.
    pub kind: FindingKind,
    /// The option as written, when it is about one.
    pub option: Option<String>,
    /// What is wrong, in words.
    pub message: String,
    /// Names it may have meant.
    pub suggestions: Vec<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.suggestions.is_empty() {
            write!(f, " (did you mean {}?)", self.suggestions.join(", "))?;
        }
        Ok(())
    }
}

fn finding(severity: Severity, kind: FindingKind, option: &XenOption, message: String) -> Finding {
    Finding {
        severity,
        kind,
        option: Some(option.raw.clone()),
        message,
        suggestions: Vec::new(),
    }
}

/// Checks one option against the table of `version`: unknown names (with suggestions), value
/// syntax, architecture, deprecation, length.
pub fn check_option(version: XenVersion, option: &XenOption) -> Vec<Finding> {
    let mut out = Vec::new();
    if option.raw.len() > 127 {
        out.push(finding(
            Severity::Warning,
            FindingKind::TooLong,
            option,
            format!(
                "`{}` is {} bytes; Xen keeps only the first 127 of a token",
                short(&option.raw),
                option.raw.len()
            ),
        ));
    }
    if option.raw.contains(['$', '"', '\'', '\\']) {
        out.push(finding(
            Severity::Warning,
            FindingKind::GrubExpansion,
            option,
            format!(
                "`{}` contains $, a quote or a backslash: GRUB expands or removes them before Xen sees the line",
                option.raw
            ),
        ));
    }
    // A documented `no-` name (`no-real-mode`) is looked up as written first.
    let mut params = lookup(version, &option.key);
    let mut negated = false;
    if params.is_empty() && option.negated {
        params = lookup(version, &option.name);
        negated = true;
    }
    if params.is_empty() {
        let other = version.other();
        let in_other = !lookup(other, &option.key).is_empty()
            || (option.negated && !lookup(other, &option.name).is_empty());
        if in_other {
            let (newer, older) = if other > version {
                ("only in", "not in")
            } else {
                ("removed after", "no longer in")
            };
            out.push(finding(
                Severity::Warning,
                FindingKind::OtherVersionOnly,
                option,
                format!(
                    "`{}` is documented {newer} Xen {other}, {older} the Xen {version} table; check the installed Xen's documentation",
                    option.name
                ),
            ));
        } else {
            let mut f = finding(
                Severity::Error,
                FindingKind::UnknownOption,
                option,
                format!(
                    "unknown option `{}`: Xen {version} ignores it (it logs `parameter \"{}\" unknown!`)",
                    option.name, option.name
                ),
            );
            f.suggestions = suggest(&option.name, version);
            out.push(f);
        }
        return out;
    }
    if params.iter().all(|p| p.is_arm_or_riscv_only()) {
        out.push(finding(
            Severity::Warning,
            FindingKind::WrongArch,
            option,
            format!(
                "`{}` is documented for {} only",
                option.name,
                params.first().map_or("another architecture", |p| p.arch)
            ),
        ));
    }
    if let Some(p) = params.iter().find(|p| p.mentions_deprecated) {
        out.push(finding(
            Severity::Info,
            FindingKind::Deprecated,
            option,
            format!(
                "the Xen {version} documentation of `{}` mentions deprecation (of the option or one of its values)",
                p.name
            ),
        ));
    }
    // Valid if any documented form accepts it; else report the x86 form's problem.
    let mut problems = Vec::new();
    for p in &params {
        match check_value(p, option, negated) {
            Ok(()) => return out,
            Err(problem) => problems.push((p.is_arm_or_riscv_only(), problem)),
        }
    }
    problems.sort_by_key(|(arm, _)| *arm);
    if let Some((_, problem)) = problems.into_iter().next() {
        out.push(finding(
            Severity::Error,
            FindingKind::BadValue,
            option,
            format!("`{}`: {problem}", option.raw),
        ));
    }
    out
}

fn short(s: &str) -> String {
    if s.len() > 40 {
        let cut = (0..=40).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        format!("{}...", &s[..cut])
    } else {
        s.to_string()
    }
}

/// Checks the value of `option` against one documented form.
fn check_value(p: &XenParam, option: &XenOption, negated: bool) -> Result<(), String> {
    let value = option.value.as_deref();
    let name = &option.name;
    let needs = |what: &str| format!("needs a value: {name}=<{what}>");
    match p.kind {
        ParamKind::Ignored | ParamKind::Unspecified => Ok(()),
        ParamKind::Boolean => match value {
            None => Ok(()),
            Some(v) if parse_bool(v).is_some() => Ok(()),
            Some(v) => Err(format!("{v:?} is not {BOOLEAN_HELP}")),
        },
        ParamKind::Integer | ParamKind::Size | ParamKind::String if negated => Err(format!(
            "a no- prefix only applies to booleans; `{name}` takes a value"
        )),
        ParamKind::Integer => match value {
            None | Some("") => Err(needs("integer")),
            Some(v) if parse_integer(v).is_some() => Ok(()),
            Some(v) => Err(format!(
                "{v:?} is not an integer (decimal, 0x hex or 0 octal, nothing after it)"
            )),
        },
        ParamKind::Size => match value {
            None | Some("") => Err(needs("size")),
            Some(v) => size_ok(v),
        },
        ParamKind::String => match value {
            None => Err(needs("string")),
            Some(_) => Ok(()),
        },
        ParamKind::Enum | ParamKind::BooleanOrEnum => {
            let words = p.enum_values.unwrap_or(&[]);
            match value {
                None if p.accepts_boolean || p.kind == ParamKind::BooleanOrEnum => Ok(()),
                None if negated => Err(format!("`no-{name}` needs {name} to take a boolean")),
                None => Err(format!("needs a value: one of {}", words.join(", "))),
                Some(_) if negated => Err(format!("`no-{name}=...` is rejected by Xen")),
                Some(v) if words.contains(&v) => Ok(()),
                Some(v) if p.accepts_boolean && parse_bool(v).is_some() => Ok(()),
                Some(v) if p.enum_values.is_none() => {
                    let _ = v;
                    Ok(())
                }
                Some(v) => Err(format!(
                    "{v:?} is not one of the documented values: {}{}",
                    words.join(", "),
                    if p.accepts_boolean {
                        ", or a boolean"
                    } else {
                        ""
                    }
                )),
            }
        }
        ParamKind::BooleanOrCustom | ParamKind::Custom => {
            if negated && value.is_some() {
                return Err(format!("`no-{name}=...` is rejected by Xen"));
            }
            match (name.as_str(), value) {
                (_, None) => Ok(()),
                ("dom0_max_vcpus", Some(v)) => vcpus_ok(v),
                ("loglvl" | "guest_loglvl", Some(v)) => loglvl_ok(v),
                ("com1" | "com2", Some(v)) => com_ok(v),
                (_, Some(v)) if p.kind == ParamKind::BooleanOrCustom && parse_bool(v).is_some() => {
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        ParamKind::List => {
            if negated {
                return match value {
                    None => Ok(()),
                    Some(_) => Err(format!("`no-{name}=...` is rejected by Xen")),
                };
            }
            let Some(v) = value else {
                return if p.accepts_boolean {
                    Ok(())
                } else {
                    Err(format!("needs a value: {name}=<list>"))
                };
            };
            if name == "dom0_mem" {
                return dom0_mem_ok(v);
            }
            for item in v.split(',').filter(|i| !i.is_empty()) {
                list_item_ok(p, item)?;
            }
            Ok(())
        }
    }
}

fn size_ok(v: &str) -> Result<(), String> {
    if parse_size(v).is_some() {
        return Ok(());
    }
    let hint = if v.to_ascii_uppercase().ends_with("IB") || v.to_ascii_uppercase().ends_with("B") {
        " (write 4G, not 4GB or 4GiB)"
    } else {
        ""
    };
    Err(format!(
        "{v:?} is not a size: a number with an optional T, G, M, K or B suffix (KiB without one){hint}"
    ))
}

fn dom0_mem_ok(v: &str) -> Result<(), String> {
    for item in v.split(',') {
        let size = item
            .strip_prefix("min:")
            .or_else(|| item.strip_prefix("max:"))
            .unwrap_or(item);
        let ok = match size.strip_suffix('%') {
            Some(frac) => {
                let (base, frac) = match frac.split_once('+') {
                    Some((b, f)) => (Some(b), f),
                    None => (None, frac),
                };
                base.is_none_or(|b| parse_size(b).is_some())
                    && frac.parse::<u32>().is_ok_and(|f| f < 100)
            }
            None => parse_size(size).is_some(),
        };
        if !ok {
            return Err(format!(
                "{item:?} is not a dom0_mem item: <size>, min:<size>, max:<size> or [<size>+]<n>% (size: number with T/G/M/K/B suffix, KiB without one; 4GB is invalid)"
            ));
        }
    }
    Ok(())
}

fn vcpus_ok(v: &str) -> Result<(), String> {
    let ok = match v.split_once('-') {
        Some((min, max)) => {
            (min.is_empty() || parse_integer(min).is_some())
                && (max.is_empty() || parse_integer(max).is_some())
                && !(min.is_empty() && max.is_empty())
        }
        None => parse_integer(v).is_some(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{v:?} is not <n> or <min>-<max>"))
    }
}

const LOG_LEVELS: [&str; 6] = ["none", "error", "warning", "info", "debug", "all"];

fn loglvl_ok(v: &str) -> Result<(), String> {
    let ok = v.split('/').count() <= 2 && v.split('/').all(|l| LOG_LEVELS.contains(&l));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{v:?} is not <level>[/<rate-limited level>] with levels {}",
            LOG_LEVELS.join(", ")
        ))
    }
}

fn com_ok(v: &str) -> Result<(), String> {
    let first = v.split(',').next().unwrap_or("");
    let baud = first.split('/').next().unwrap_or("");
    if baud == "auto" || baud.is_empty() || parse_integer(baud).is_some() {
        Ok(())
    } else {
        Err(format!(
            "{baud:?} is not a baud rate: expected a number or `auto` (e.g. com1=115200,8n1)"
        ))
    }
}

fn list_item_ok(p: &XenParam, item: &str) -> Result<(), String> {
    if p.sub_options.is_empty() {
        return Ok(());
    }
    if p.accepts_boolean && parse_bool(item).is_some() {
        return Ok(());
    }
    let numeric = ["<integer>", "<int>", "<size>", "<sz>", "<hex>"]
        .iter()
        .any(|t| p.syntax.contains(t));
    if numeric && (parse_integer(item).is_some() || parse_size(item).is_some()) {
        return Ok(());
    }
    let bare = item.strip_prefix("no-").unwrap_or(item);
    let key = bare.split(['=', ':']).next().unwrap_or(bare);
    let keys: Vec<&str> = p
        .sub_options
        .iter()
        .map(|k| k.trim_end_matches(['=', ':']))
        .collect();
    if keys.contains(&key) || keys.contains(&item) {
        return Ok(());
    }
    let near = nearest(key, keys.iter().copied());
    Err(format!(
        "unknown sub-option {key:?} of {}{}; documented: {}",
        p.name,
        if near.is_empty() {
            String::new()
        } else {
            format!(" (did you mean {}?)", near.join(", "))
        },
        keys.join(", ")
    ))
}

/// Names in either table close to `name`.
fn suggest(name: &str, _version: XenVersion) -> Vec<String> {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut all: Vec<&'static str> = XenVersion::ALL
            .iter()
            .flat_map(|v| v.params().iter().map(XenParam::base_name))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    });
    nearest(name, names.iter().copied())
}

/// Up to three candidates nearest to `word` (optimal string alignment distance <= 2, or the
/// same up to `-`/`_` and case).
fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let fold = |c: char| {
        if c == '-' {
            '_'
        } else {
            c.to_ascii_lowercase()
        }
    };
    let word_folded: String = word.chars().map(fold).collect();
    let limit = if word.len() > 8 { 2 } else { 1 };
    let mut scored: Vec<(usize, &str)> = Vec::new();
    for c in candidates {
        if c == word || c.len().abs_diff(word.len()) > limit {
            continue;
        }
        let folded: String = c.chars().map(fold).collect();
        let d = strsim::osa_distance(&word_folded, &folded);
        if d <= limit {
            scored.push((d, c));
        }
    }
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_string())
        .collect()
}

/// Options whose repetition adds up instead of the last one winning.
fn accumulates(p: &[&XenParam]) -> bool {
    p.iter()
        .any(|p| matches!(p.kind, ParamKind::List | ParamKind::Custom))
}

/// Checks a whole command line (options in order): every option, then repeats and the length.
pub fn check_line(version: XenVersion, options: &[XenOption]) -> Vec<Vec<Finding>> {
    let mut out: Vec<Vec<Finding>> = options.iter().map(|o| check_option(version, o)).collect();
    // The next occurrence of each option, found in one pass from the end.
    let mut next_of: Vec<Option<usize>> = vec![None; options.len()];
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, option) in options.iter().enumerate().rev() {
        next_of[i] = seen.insert(option.identity(), i);
    }
    for (i, option) in options.iter().enumerate() {
        if option.name == "placeholder" {
            continue;
        }
        let Some(later) = next_of[i].and_then(|j| options.get(j)) else {
            continue;
        };
        let params = lookup(version, &option.name);
        let (severity, message) = if accumulates(&params) {
            if later.raw == option.raw {
                (
                    Severity::Warning,
                    format!("`{}` is given twice", option.raw),
                )
            } else {
                (
                    Severity::Info,
                    format!(
                        "`{}` is given again later as `{}`: Xen applies both in order, later settings override earlier ones",
                        option.raw, later.raw
                    ),
                )
            }
        } else {
            (
                Severity::Warning,
                format!(
                    "`{}` is overridden by a later `{}`: Xen uses the last one",
                    option.raw, later.raw
                ),
            )
        };
        if let Some(slot) = out.get_mut(i) {
            slot.push(finding(severity, FindingKind::Duplicate, option, message));
        }
    }
    let length: usize = options.iter().map(|o| o.raw.len() + 1).sum();
    if length > 1023
        && let Some(slot) = out.last_mut()
    {
        slot.push(Finding {
                severity: Severity::Warning,
                kind: FindingKind::LineTooLong,
                option: None,
                message: format!(
                    "the Xen command line is {length} bytes; Xen keeps 1023 (`xl info` shows the saved line)"
                ),
                suggestions: Vec::new(),
            });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(version: XenVersion, token: &str) -> Vec<String> {
        check_option(version, &XenOption::parse(token))
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.to_string())
            .collect()
    }

    #[test]
    fn test_tables_have_the_favourites() {
        for v in XenVersion::ALL {
            for name in [
                "dom0_mem",
                "dom0_max_vcpus",
                "com1",
                "console",
                "iommu",
                "sched",
            ] {
                assert!(!lookup(v, name).is_empty(), "{name} in {v}");
            }
        }
        assert!(lookup(XenVersion::V4_22, "cpuid_mask_ecx").is_empty());
        assert!(!lookup(XenVersion::V4_17, "cpuid_mask_ecx").is_empty());
        assert_eq!(lookup(XenVersion::V4_17, "ivrs_hpet[3]").len(), 1);
        assert_eq!(lookup(XenVersion::V4_17, "placeholder").len(), 1);
    }

    #[test]
    fn test_split_like_xen() {
        let opts = parse_cmdline("  a=1  no-b\tc d=x=y ");
        let keys: Vec<(&str, bool, Option<&str>)> = opts
            .iter()
            .map(|o| (o.name.as_str(), o.negated, o.value.as_deref()))
            .collect();
        assert_eq!(
            keys,
            [
                ("a", false, Some("1")),
                ("b\tc", true, None),
                ("d", false, Some("x=y"))
            ]
        );
    }

    #[test]
    fn test_sizes() {
        assert_eq!(parse_size("4096"), Some(4096 << 10));
        assert_eq!(parse_size("4G"), Some(4 << 30));
        assert_eq!(parse_size("0x10m"), Some(16 << 20));
        assert_eq!(parse_size("010k"), Some(8 << 10));
        assert_eq!(parse_size("4GB"), None);
        assert_eq!(parse_size("G"), None);
        assert_eq!(format_size(4 << 30), "4 GiB");
        assert_eq!(parse_integer("-0x10"), Some(-16));
        assert_eq!(parse_integer("08"), None);
    }

    #[test]
    fn test_validation() {
        let v = XenVersion::V4_17;
        assert!(errors(v, "dom0_mem=4096M,max:4096M").is_empty());
        assert!(errors(v, "dom0_mem=min:1G,max:4G,50%").is_empty());
        assert_eq!(errors(v, "dom0_mem=4GB").len(), 1);
        assert!(errors(v, "dom0_max_vcpus=1-4").is_empty());
        assert!(errors(v, "dom0_vcpus_pin").is_empty());
        assert!(errors(v, "no-dom0_vcpus_pin").is_empty());
        assert_eq!(errors(v, "dom0_vcpus_pin=maybe").len(), 1);
        assert!(errors(v, "sched=credit2").is_empty());
        assert_eq!(errors(v, "sched=fair").len(), 1);
        assert!(errors(v, "iommu=no-intremap,verbose").is_empty());
        assert_eq!(errors(v, "iommu=verbos").len(), 1);
        assert!(errors(v, "console=com1,vga").is_empty());
        assert!(errors(v, "loglvl=all/warning").is_empty());
        assert_eq!(errors(v, "loglvl=everything").len(), 1);
        assert!(errors(v, "com1=115200,8n1").is_empty());
        assert!(errors(v, "placeholder").is_empty());
        assert!(errors(v, "no-real-mode").is_empty());
        assert!(errors(v, "ivrs_hpet[0]=0:14.0").is_empty());
        let unknown = errors(v, "dom0-mem=4G");
        assert_eq!(unknown.len(), 1);
        assert!(unknown[0].contains("did you mean dom0_mem"), "{unknown:?}");
        let typo = errors(v, "dom0_mam=4G");
        assert!(typo[0].contains("dom0_mem"), "{typo:?}");
    }

    #[test]
    fn test_version_differences() {
        let f = check_option(XenVersion::V4_17, &XenOption::parse("llc-coloring=1"));
        assert_eq!(f[0].kind, FindingKind::OtherVersionOnly);
        let f = check_option(XenVersion::V4_22, &XenOption::parse("cpuid_mask_ecx=0"));
        assert_eq!(f[0].kind, FindingKind::OtherVersionOnly);
        assert_eq!("4.19.1".parse::<XenVersion>().unwrap(), XenVersion::V4_17);
        assert_eq!("4.22".parse::<XenVersion>().unwrap(), XenVersion::V4_22);
        assert!("5".parse::<XenVersion>().is_err());
    }

    #[test]
    fn test_duplicates() {
        let opts = parse_cmdline("smt=1 dom0_mem=min:1G dom0_mem=max:4G smt=0");
        let f = check_line(XenVersion::V4_17, &opts);
        assert_eq!(f[0][0].kind, FindingKind::Duplicate);
        assert_eq!(f[0][0].severity, Severity::Warning);
        assert_eq!(f[1][0].severity, Severity::Info);
        assert!(f[3].is_empty());
    }
}
