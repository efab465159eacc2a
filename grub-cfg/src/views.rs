//! What the boot commands show, computed here so that any frontend shows the same: the Xen
//! options in force with how Xen reads each and which a later one overrides ([`ShowReport`]),
//! the entry GRUB boots by default ([`Menu::booted_default`], [`DefaultReport`]), and the
//! errors `--force` lets through ([`forced_errors`]).

use std::path::{Path, PathBuf};

use crate::config::{
    BOOT_VARIABLES, BootConfig, LocatedFinding, SourcedOption, UnknownValue, Variable, XenVariable,
    validate_token,
};
use crate::error::GrubCfgError;
use crate::grubenv::GrubEnv;
use crate::menu::{Menu, MenuEntry};
use crate::xen::{self, Finding, Severity, XenOptionTable};

/// One Xen option in force, and how Xen reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct OptionView {
    /// The option and where it is written.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub option: SourcedOption,
    /// How Xen reads the value (`4 GiB`, `false`), when known.
    pub means: Option<String>,
}

/// The boot variables and the Xen options in force (`xenadm boot show`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ShowReport {
    /// The files grub-mkconfig sources, in order.
    pub files: Vec<PathBuf>,
    /// [`BOOT_VARIABLES`], in that order.
    pub variables: Vec<Variable>,
    /// GRUB_CMDLINE_XEN then GRUB_CMDLINE_XEN_DEFAULT: the line of normal Xen entries.
    pub xen_options: Vec<OptionView>,
    /// Options (as written) that a later one overrides: Xen uses the last.
    pub overridden: Vec<String>,
    /// Xen variables whose value cannot be known statically.
    pub unknown: Vec<UnknownValue>,
    /// Where evaluation stopped knowing later values ([`BootConfig::notes`]).
    pub notes: Vec<UnknownValue>,
}

impl BootConfig {
    /// The boot variables and the Xen options in force, each described as Xen `table` reads
    /// it.
    pub fn show(&self, table: XenOptionTable) -> ShowReport {
        let mut xen_options = Vec::new();
        let mut unknown = Vec::new();
        for variable in [XenVariable::Xen, XenVariable::XenDefault] {
            match self.xen_options(variable) {
                Ok(opts) => xen_options.extend(opts.into_iter().map(|o| OptionView {
                    means: xen::describe_value(table, &o.option),
                    option: o,
                })),
                Err(u) => unknown.push(u),
            }
        }
        let overridden = xen_options
            .iter()
            .enumerate()
            .filter(|(i, o)| {
                xen_options[i + 1..]
                    .iter()
                    .any(|later| later.option.option.identity() == o.option.option.identity())
            })
            .map(|(_, o)| o.option.option.raw.clone())
            .collect();
        ShowReport {
            files: self.files().into_iter().map(Path::to_path_buf).collect(),
            variables: BOOT_VARIABLES.iter().map(|n| self.variable(n)).collect(),
            xen_options,
            overridden,
            unknown,
            notes: self.notes(),
        }
    }
}

/// The errors (by `table`) of the options given to a forced `set`: what `--force` lets
/// through, to be said. Options that are not even well-formed are refused by
/// [`BootConfig::plan_set`] itself and do not appear here.
pub fn forced_errors(table: XenOptionTable, options: &[&str]) -> Vec<Finding> {
    options
        .iter()
        .filter_map(|opt| validate_token(opt).ok())
        .flat_map(|option| xen::check_option(table, &option))
        .filter(|finding| finding.severity == Severity::Error)
        .collect()
}

impl Menu {
    /// The entry grub.cfg boots by default, and the entry spec that selects it: its
    /// `default`, following `${saved_entry}` into `env` (entry 0 when grubenv has none).
    pub fn booted_default(&self, env: Option<&GrubEnv>) -> Option<(String, &MenuEntry)> {
        let mut spec = self.default.clone()?;
        if spec == "${saved_entry}" {
            spec = env
                .and_then(|e| e.get("saved_entry"))
                .unwrap_or("0")
                .to_string();
        }
        let entry = self.resolve(&spec)?;
        Some((spec, entry))
    }
}

/// The saved default and what it boots (`xenadm boot default` without an entry).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DefaultReport {
    /// GRUB_DEFAULT in /etc/default/grub, when it could be read.
    pub grub_default: Option<Variable>,
    /// The grubenv file.
    pub grubenv: PathBuf,
    /// Its `saved_entry`.
    pub saved_entry: Option<String>,
    /// Its `next_entry` (the next boot only).
    pub next_entry: Option<String>,
    /// The entry GRUB will boot, by title path, when grub.cfg could be read: `next_entry`
    /// first, then grub.cfg's default.
    pub boots: Option<String>,
    /// The grub.cfg read.
    pub grub_cfg: Option<PathBuf>,
}

impl DefaultReport {
    /// The default from grubenv (`env`), GRUB_DEFAULT (when read) and grub.cfg (when read).
    pub fn new(grub_default: Option<Variable>, env: &GrubEnv, menu: Option<&Menu>) -> Self {
        let boots = menu.and_then(|m| {
            let next = env.get("next_entry").and_then(|n| m.resolve(n));
            next.or_else(|| m.booted_default(Some(env)).map(|(_, e)| e))
                .map(MenuEntry::title_path)
        });
        DefaultReport {
            grub_default,
            grubenv: env.path().to_path_buf(),
            saved_entry: env.get("saved_entry").map(str::to_string),
            next_entry: env.get("next_entry").map(str::to_string),
            boots,
            grub_cfg: menu.map(|m| m.path.clone()),
        }
    }

    /// The default of the system at `root`: its grubenv (which must be readable), and
    /// /etc/default/grub and grub.cfg when they can be read.
    pub fn for_root(root: &Path) -> Result<Self, GrubCfgError> {
        let env = GrubEnv::for_root(root)?;
        let grub_default = BootConfig::load(root)
            .ok()
            .map(|c| c.variable("GRUB_DEFAULT"));
        let menu = Menu::read(&crate::grub_cfg_path(root)).ok();
        Ok(DefaultReport::new(grub_default, &env, menu.as_ref()))
    }
}

/// The boot configuration in brief, for a host overview (`xenadm status`): the Xen options in
/// force, what checking them finds, and GRUB_DEFAULT. Reading never fails: when the
/// configuration cannot be read, [`BootStatus::Unavailable`] says why.
///
/// With the `serde` feature it serializes as `{"unavailable": ...}`, or with `xen_options`,
/// `table`, `errors`, `warnings`, `findings` and `grub_default`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(untagged))]
#[non_exhaustive]
pub enum BootStatus {
    /// /etc/default/grub could not be read.
    Unavailable {
        /// Why.
        unavailable: String,
    },
    /// What was read.
    Read {
        /// The Xen line of normal entries, as written.
        xen_options: Vec<String>,
        /// The option table checked against, and why that one (the caller's words).
        table: String,
        /// Findings that are errors.
        errors: usize,
        /// Findings that are warnings.
        warnings: usize,
        /// Every finding, in line order.
        findings: Vec<LocatedFinding>,
        /// GRUB_DEFAULT's value, when known.
        grub_default: Option<String>,
    },
}

impl BootStatus {
    /// Reads the configuration of the system at `root` and checks its Xen options against
    /// `table`; `table_why` says why that table (it is shown as is).
    pub fn read(root: &Path, table: XenOptionTable, table_why: String) -> BootStatus {
        let config = match BootConfig::load(root) {
            Ok(config) => config,
            Err(err) => {
                return BootStatus::Unavailable {
                    unavailable: err.to_string(),
                };
            }
        };
        let report = config.check(table);
        BootStatus::Read {
            xen_options: report
                .options
                .iter()
                .map(|o| o.option.raw.clone())
                .collect(),
            table: table_why,
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            findings: report.findings,
            grub_default: config.variable("GRUB_DEFAULT").value,
        }
    }

    /// The status lines, label and value.
    pub fn rows(&self) -> Vec<(String, String)> {
        let row = |label: &str, value: String| (label.to_string(), value);
        let (xen_options, table, errors, warnings, findings, grub_default) = match self {
            BootStatus::Unavailable { unavailable } => {
                return vec![row("xen options", format!("unavailable: {unavailable}"))];
            }
            BootStatus::Read {
                xen_options,
                table,
                errors,
                warnings,
                findings,
                grub_default,
            } => (xen_options, table, errors, warnings, findings, grub_default),
        };
        let problems = match (errors, warnings) {
            (0, 0) => format!("no problems ({table})"),
            _ => format!(
                "{errors} error(s), {warnings} warning(s): see `xenadm boot check`{}",
                findings
                    .iter()
                    .find(|f| f.finding.severity >= Severity::Warning)
                    .map(|f| format!("; first: {f}"))
                    .unwrap_or_default()
            ),
        };
        vec![
            row(
                "xen options",
                if xen_options.is_empty() {
                    "none set (GRUB_CMDLINE_XEN, GRUB_CMDLINE_XEN_DEFAULT)".to_string()
                } else {
                    xen_options.join(" ")
                },
            ),
            row("check", problems),
            row(
                "default",
                grub_default
                    .clone()
                    .unwrap_or_else(|| "unknown (computed)".to_string()),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{config, env_with};

    fn menu(default: &str) -> Menu {
        let text = format!(
            "set default=\"{default}\"\nmenuentry 'Linux' --id linux {{\n  linux /vmlinuz\n}}\nmenuentry 'Xen' --id xen {{\n  multiboot2 /xen.gz\n  module2 /vmlinuz root=/dev/xvda\n}}\n"
        );
        Menu::parse(text.as_bytes(), Path::new("/boot/grub/grub.cfg")).unwrap()
    }

    #[test]
    fn test_show_marks_earlier_options_a_later_one_overrides() {
        let config = config(
            "GRUB_DEFAULT=0\nGRUB_CMDLINE_XEN=\"dom0_mem=4G smt=0\"\nGRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=2G\"\n",
        );
        let report = config.show(XenOptionTable::V4_17);
        assert_eq!(report.files, [PathBuf::from("/etc/default/grub")]);
        let names: Vec<&str> = report.variables.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, BOOT_VARIABLES);
        let raw: Vec<&str> = report
            .xen_options
            .iter()
            .map(|o| o.option.option.raw.as_str())
            .collect();
        assert_eq!(raw, ["dom0_mem=4G", "smt=0", "dom0_mem=2G"]);
        assert_eq!(report.overridden, ["dom0_mem=4G"]);
        assert_eq!(report.xen_options[1].means.as_deref(), Some("false"));
        assert_eq!(
            report.xen_options[2].option.variable,
            XenVariable::XenDefault
        );
        assert!(report.unknown.is_empty() && report.notes.is_empty());
    }

    #[test]
    fn test_show_reports_a_computed_value_as_unknown() {
        let config = config("GRUB_CMDLINE_XEN=\"$(cat /etc/xen-opts)\"\n");
        let report = config.show(XenOptionTable::V4_17);
        assert!(report.xen_options.is_empty());
        assert_eq!(report.unknown.len(), 1);
        assert_eq!(report.unknown[0].at.line, 1);
    }

    #[test]
    fn test_forced_errors_are_the_error_findings_only() {
        let found = forced_errors(XenOptionTable::V4_17, &["dom0-mem=1G", "smt=0", "bad word"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].severity, Severity::Error);
        assert!(forced_errors(XenOptionTable::V4_17, &["smt=0"]).is_empty());
    }

    #[test]
    fn test_booted_default_follows_saved_entry_into_grubenv() {
        let menu = menu("${saved_entry}");
        let (spec, entry) = menu
            .booted_default(Some(&env_with("saved_entry=xen\n")))
            .unwrap();
        assert_eq!((spec.as_str(), entry.title.as_str()), ("xen", "Xen"));
        // No saved_entry: GRUB boots entry 0.
        let (spec, entry) = menu.booted_default(None).unwrap();
        assert_eq!((spec.as_str(), entry.title.as_str()), ("0", "Linux"));
        assert!(self::menu("7").booted_default(None).is_none());
    }

    #[test]
    fn test_default_report_prefers_next_entry() {
        let menu = menu("${saved_entry}");
        let env = env_with("saved_entry=0\nnext_entry=1\n");
        let report = DefaultReport::new(None, &env, Some(&menu));
        assert_eq!(report.boots.as_deref(), Some("Xen"));
        assert_eq!(report.saved_entry.as_deref(), Some("0"));
        assert_eq!(report.next_entry.as_deref(), Some("1"));
        assert_eq!(report.grubenv, PathBuf::from("/boot/grub/grubenv"));
        let env = env_with("saved_entry=0\n");
        assert_eq!(
            DefaultReport::new(None, &env, Some(&menu)).boots.as_deref(),
            Some("Linux")
        );
        let without_menu = DefaultReport::new(None, &env, None);
        assert_eq!((without_menu.boots, without_menu.grub_cfg), (None, None));
    }

    #[test]
    fn test_boot_status_never_fails() {
        let dir = tempfile::tempdir().unwrap();
        let status = BootStatus::read(dir.path(), XenOptionTable::V4_17, "t".to_string());
        assert!(
            matches!(status, BootStatus::Unavailable { .. }),
            "{status:?}"
        );
        assert!(status.rows()[0].1.starts_with("unavailable: "));
        let etc = dir.path().join("etc/default");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("grub"), "GRUB_CMDLINE_XEN=\"dom0-mem=1G\"\n").unwrap();
        let rows = BootStatus::read(dir.path(), XenOptionTable::V4_17, "t".to_string()).rows();
        assert_eq!(rows[0].1, "dom0-mem=1G");
        assert!(
            rows[1]
                .1
                .starts_with("1 error(s), 0 warning(s): see `xenadm boot check`; first: "),
            "{rows:?}"
        );
        assert_eq!(rows[2].1, "unknown (computed)");
        std::fs::write(etc.join("grub"), "GRUB_DEFAULT=saved\n").unwrap();
        let rows = BootStatus::read(
            dir.path(),
            XenOptionTable::V4_17,
            "Xen 4.17 table".to_string(),
        )
        .rows();
        assert_eq!(
            rows,
            [
                (
                    "xen options".to_string(),
                    "none set (GRUB_CMDLINE_XEN, GRUB_CMDLINE_XEN_DEFAULT)".to_string()
                ),
                (
                    "check".to_string(),
                    "no problems (Xen 4.17 table)".to_string()
                ),
                ("default".to_string(), "saved".to_string()),
            ]
        );
    }
}
