//! The Xen hypervisor command line: how Xen splits and reads it, the documented option
//! tables of Xen 4.17 and 4.22 (this module), reading values (`values`), and validation
//! (`check`).

use std::fmt;
use std::str::FromStr;

use crate::error::GrubCfgError;

mod check;
mod values;

pub use check::{Finding, FindingKind, Severity, check_line, check_option};
pub use values::{describe_value, format_size, parse_bool, parse_integer, parse_size};

include!(concat!(env!("OUT_DIR"), "/xen_params.rs"));

/// Which documented table of Xen command-line options to check against: one per Xen release
/// xenadm carries a table for (not the running hypervisor's version: every release before 4.22
/// uses the 4.17 table, see [`XenOptionTable::for_release`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum XenOptionTable {
    /// Xen 4.17 (Debian 12). Used for every release before 4.22.
    #[cfg_attr(feature = "serde", serde(rename = "4.17"))]
    V4_17,
    /// Xen 4.22 (also current master). Used for 4.22 and later.
    #[cfg_attr(feature = "serde", serde(rename = "4.22"))]
    V4_22,
}

impl XenOptionTable {
    /// Every table, oldest first.
    pub const ALL: [XenOptionTable; 2] = [XenOptionTable::V4_17, XenOptionTable::V4_22];

    /// The table used for Xen `major.minor`: 4.22 and later use the 4.22 table, earlier
    /// releases the 4.17 one.
    pub fn for_release(major: u32, minor: u32) -> XenOptionTable {
        if (major, minor) >= (4, 22) {
            XenOptionTable::V4_22
        } else {
            XenOptionTable::V4_17
        }
    }

    /// The documented options of this release, in documentation order.
    pub fn params(self) -> &'static [XenParam] {
        match self {
            XenOptionTable::V4_17 => &PARAMS_4_17,
            XenOptionTable::V4_22 => &PARAMS_4_22,
        }
    }

    /// `4.17` or `4.22`.
    pub fn as_str(self) -> &'static str {
        match self {
            XenOptionTable::V4_17 => "4.17",
            XenOptionTable::V4_22 => "4.22",
        }
    }

    /// The other table (for "known in 4.22 but not 4.17" hints).
    fn other(self) -> XenOptionTable {
        match self {
            XenOptionTable::V4_17 => XenOptionTable::V4_22,
            XenOptionTable::V4_22 => XenOptionTable::V4_17,
        }
    }
}

impl fmt::Display for XenOptionTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for XenOptionTable {
    type Err = GrubCfgError;

    /// `4.17`, `4.17.5`, `4.19-amd64`: the table for that release.
    fn from_str(s: &str) -> Result<XenOptionTable, GrubCfgError> {
        parse_release(s)
            .map(|(major, minor)| XenOptionTable::for_release(major, minor))
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

fn index(version: XenOptionTable) -> &'static ParamIndex {
    static INDEX: [std::sync::OnceLock<ParamIndex>; 2] =
        [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    let slot = match version {
        XenOptionTable::V4_17 => &INDEX[0],
        XenOptionTable::V4_22 => &INDEX[1],
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
pub fn lookup(version: XenOptionTable, name: &str) -> Vec<&'static XenParam> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(version: XenOptionTable, token: &str) -> Vec<String> {
        check_option(version, &XenOption::parse(token))
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.to_string())
            .collect()
    }

    #[test]
    fn test_tables_have_the_favourites() {
        for v in XenOptionTable::ALL {
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
        assert!(lookup(XenOptionTable::V4_22, "cpuid_mask_ecx").is_empty());
        assert!(!lookup(XenOptionTable::V4_17, "cpuid_mask_ecx").is_empty());
        assert_eq!(lookup(XenOptionTable::V4_17, "ivrs_hpet[3]").len(), 1);
        assert_eq!(lookup(XenOptionTable::V4_17, "placeholder").len(), 1);
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
        let v = XenOptionTable::V4_17;
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
        let f = check_option(XenOptionTable::V4_17, &XenOption::parse("llc-coloring=1"));
        assert_eq!(f[0].kind, FindingKind::OtherVersionOnly);
        let f = check_option(XenOptionTable::V4_22, &XenOption::parse("cpuid_mask_ecx=0"));
        assert_eq!(f[0].kind, FindingKind::OtherVersionOnly);
        assert_eq!(
            "4.19.1".parse::<XenOptionTable>().unwrap(),
            XenOptionTable::V4_17
        );
        assert_eq!(
            "4.22".parse::<XenOptionTable>().unwrap(),
            XenOptionTable::V4_22
        );
        assert!("5".parse::<XenOptionTable>().is_err());
    }

    #[test]
    fn test_duplicates() {
        let opts = parse_cmdline("smt=1 dom0_mem=min:1G dom0_mem=max:4G smt=0");
        let f = check_line(XenOptionTable::V4_17, &opts);
        assert_eq!(f[0][0].kind, FindingKind::Duplicate);
        assert_eq!(f[0][0].severity, Severity::Warning);
        assert_eq!(f[1][0].severity, Severity::Info);
        assert!(f[3].is_empty());
    }
}
