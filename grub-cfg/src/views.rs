//! What the boot commands show, computed here so that any frontend shows the same: the Xen
//! options in force with how Xen reads each and which a later one overrides ([`ShowReport`]),
//! the entry GRUB boots by default ([`Menu::booted_default`], [`DefaultReport`]), and the
//! errors `--force` lets through ([`forced_errors`]).

use std::path::{Path, PathBuf};

use crate::config::{
    BOOT_VARIABLES, BootConfig, SourcedOption, UnknownValue, Variable, XenVariable, validate_token,
};
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_grub::DefaultGrub;

    fn config(text: &str) -> BootConfig {
        let file = DefaultGrub::parse(text.as_bytes(), Path::new("/etc/default/grub")).unwrap();
        BootConfig::from_files(vec![file], None).unwrap()
    }

    fn env_with(text: &str) -> GrubEnv {
        let mut block = format!("# GRUB Environment Block\n{text}").into_bytes();
        block.resize(crate::GRUBENV_SIZE, b'#');
        GrubEnv::parse(&block, Path::new("/boot/grub/grubenv")).unwrap()
    }

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
}
