//! Validation of Xen options against the documented table: unknown names (with "did you
//! mean"), values of the wrong form, options that repeat or conflict, the line's length.

use super::values::*;
use super::*;

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

pub(super) fn finding(
    severity: Severity,
    kind: FindingKind,
    option: &XenOption,
    message: String,
) -> Finding {
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
pub fn check_option(version: XenOptionTable, option: &XenOption) -> Vec<Finding> {
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

pub(super) fn short(s: &str) -> String {
    if s.len() > 40 {
        let cut = (0..=40).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        format!("{}...", &s[..cut])
    } else {
        s.to_string()
    }
}

/// Checks the value of `option` against one documented form.
pub(super) fn check_value(p: &XenParam, option: &XenOption, negated: bool) -> Result<(), String> {
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

pub(super) fn size_ok(v: &str) -> Result<(), String> {
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

pub(super) fn dom0_mem_ok(v: &str) -> Result<(), String> {
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

pub(super) fn vcpus_ok(v: &str) -> Result<(), String> {
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

pub(super) const LOG_LEVELS: [&str; 6] = ["none", "error", "warning", "info", "debug", "all"];

pub(super) fn loglvl_ok(v: &str) -> Result<(), String> {
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

pub(super) fn com_ok(v: &str) -> Result<(), String> {
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

pub(super) fn list_item_ok(p: &XenParam, item: &str) -> Result<(), String> {
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
pub(super) fn suggest(name: &str, _version: XenOptionTable) -> Vec<String> {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut all: Vec<&'static str> = XenOptionTable::ALL
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
pub(super) fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
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
pub(super) fn accumulates(p: &[&XenParam]) -> bool {
    p.iter()
        .any(|p| matches!(p.kind, ParamKind::List | ParamKind::Custom))
}

/// Checks a whole command line (options in order): every option, then repeats and the length.
pub fn check_line(version: XenOptionTable, options: &[XenOption]) -> Vec<Vec<Finding>> {
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
