//! Text and JSON views of the boot commands' results.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use grub_cfg::{
    BOOT_VARIABLES, BootConfig, CheckReport, Edit, GrubEnv, Menu, MenuEntry, SourceLine,
    SourcedOption, UnknownValue, Variable, WriteReport, XenOptionTable, XenVariable, xen,
};
use serde::Serialize;

use crate::output::columns;

/// One Xen option in `show`.
#[derive(Debug, Serialize)]
pub struct OptionView {
    #[serde(flatten)]
    pub option: SourcedOption,
    /// How Xen reads the value (`4 GiB`, `false`), when known.
    pub means: Option<String>,
}

/// `xenadm boot show`.
#[derive(Debug, Serialize)]
pub struct ShowReport {
    pub files: Vec<PathBuf>,
    pub variables: Vec<Variable>,
    /// GRUB_CMDLINE_XEN then GRUB_CMDLINE_XEN_DEFAULT: the line of normal Xen entries.
    pub xen_options: Vec<OptionView>,
    /// Options that a later one overrides (Xen uses the last).
    pub overridden: Vec<String>,
    /// Variables whose value cannot be known statically.
    pub unknown: Vec<UnknownValue>,
    pub notes: Vec<UnknownValue>,
}

pub fn show(config: &BootConfig, version: XenOptionTable) -> ShowReport {
    let variables: Vec<Variable> = BOOT_VARIABLES.iter().map(|n| config.variable(n)).collect();
    let mut xen_options = Vec::new();
    let mut unknown = Vec::new();
    for variable in [XenVariable::Xen, XenVariable::XenDefault] {
        match config.xen_options(variable) {
            Ok(opts) => xen_options.extend(opts.into_iter().map(|o| OptionView {
                means: xen::describe_value(version, &o.option),
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
        files: config.files().into_iter().map(Path::to_path_buf).collect(),
        variables,
        xen_options,
        overridden,
        unknown,
        notes: config.notes(),
    }
}

fn source(s: Option<&SourceLine>) -> String {
    s.map_or_else(|| "-".to_string(), ToString::to_string)
}

pub fn show_text(report: &ShowReport) -> String {
    let mut out = String::from("Files (sourced in this order)\n");
    for f in &report.files {
        let _ = writeln!(out, "  {}", f.display());
    }
    out.push_str("\nVariables\n");
    let mut rows = Vec::new();
    for v in &report.variables {
        let value = match (&v.value, &v.unknown) {
            (Some(value), _) => format!("{value:?}"),
            (None, Some(u)) => format!("unknown: it {}", u.reason),
            (None, None) => "(not set)".to_string(),
        };
        let from = match (&v.unknown, &v.source) {
            (Some(u), _) => u.at.to_string(),
            (None, s) => source(s.as_ref()),
        };
        rows.push(vec![format!("  {}", v.name), value, from]);
    }
    out.push_str(&columns(&rows));
    out.push_str(
        "\nXen options (normal entries: GRUB_CMDLINE_XEN then GRUB_CMDLINE_XEN_DEFAULT; recovery: GRUB_CMDLINE_XEN only)\n",
    );
    if report.xen_options.is_empty() {
        out.push_str("  none\n");
        return out;
    }
    let mut rows = vec![vec![
        "  NAME".to_string(),
        "VALUE".to_string(),
        "XEN READS".to_string(),
        "VARIABLE".to_string(),
        "SOURCE".to_string(),
    ]];
    for o in &report.xen_options {
        let opt = &o.option.option;
        let mut means = o.means.clone().unwrap_or_default();
        if report.overridden.contains(&opt.raw) {
            means = format!("{means} (overridden later)")
                .trim_start()
                .to_string();
        }
        rows.push(vec![
            format!("  {}", opt.key),
            opt.value.clone().unwrap_or_else(|| "-".to_string()),
            means,
            o.option
                .variable
                .name()
                .trim_start_matches("GRUB_CMDLINE_")
                .to_string(),
            source(o.option.source.as_ref()),
        ]);
    }
    out.push_str(&columns(&rows));
    out
}

pub fn edit_text(edit: &Edit, dry_run: bool, written: &[WriteReport]) -> String {
    let mut out = String::new();
    if edit.is_noop() {
        let _ = writeln!(
            out,
            "{} unchanged: {}",
            edit.variable.name(),
            if edit.after.is_empty() {
                "(empty)".to_string()
            } else {
                edit.after.join(" ")
            }
        );
        return out;
    }
    for file in &edit.files {
        let _ = writeln!(out, "{}:{}", file.path.display(), file.line);
        for l in &file.old_lines {
            let _ = writeln!(out, "- {l}");
        }
        for l in &file.new_lines {
            let _ = writeln!(out, "+ {l}");
        }
    }
    let _ = writeln!(out, "{} = {}", edit.variable.name(), edit.after.join(" "));
    for change in &edit.also {
        let _ = writeln!(
            out,
            "{} = {}",
            change.variable.name(),
            change.after.join(" ")
        );
    }
    if dry_run {
        out.push_str("dry run: nothing written\n");
    } else {
        for w in written {
            match &w.backup {
                Some(b) => {
                    let _ = writeln!(out, "wrote {} (backup: {})", w.path.display(), b.display());
                }
                None => {
                    let _ = writeln!(out, "wrote {}", w.path.display());
                }
            }
        }
        out.push_str("run `xenadm boot mkconfig` to regenerate grub.cfg\n");
    }
    out
}

/// `xenadm boot check --json`.
#[derive(Debug, Serialize)]
pub struct CheckJson<'a> {
    pub table: &'a str,
    pub errors: usize,
    pub warnings: usize,
    #[serde(flatten)]
    pub report: &'a CheckReport,
}

pub fn check_text(report: &CheckReport, table: &str) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let _ = writeln!(out, "{f}");
    }
    let errors = report.count(xen::Severity::Error);
    let warnings = report.count(xen::Severity::Warning);
    if errors + warnings == 0 {
        let _ = writeln!(
            out,
            "no problems: {} option(s) checked against the {table}",
            report.options.len()
        );
    } else {
        let _ = writeln!(
            out,
            "{errors} error(s), {warnings} warning(s) in {} option(s), checked against the {table}",
            report.options.len()
        );
    }
    out
}

/// `xenadm boot mkconfig --json`.
#[derive(Debug, Serialize)]
pub struct MkconfigJson<'a> {
    pub command: String,
    pub output: PathBuf,
    pub xen_entries: Vec<&'a MenuEntry>,
}

/// `xenadm boot entries --json`.
#[derive(Debug, Serialize)]
pub struct EntriesJson<'a> {
    pub path: &'a Path,
    /// The entry GRUB boots by default (grub.cfg's default, or grubenv's saved_entry).
    pub default: Option<&'a str>,
    pub entries: Vec<&'a MenuEntry>,
}

/// The default grub.cfg selects (following `${saved_entry}` / next_entry into grubenv).
pub fn booted_default<'a>(
    menu: &'a Menu,
    env: Option<&GrubEnv>,
) -> Option<(String, &'a MenuEntry)> {
    let mut spec = menu.default.clone()?;
    if spec == "${saved_entry}" {
        spec = env
            .and_then(|e| e.get("saved_entry"))
            .unwrap_or("0")
            .to_string();
    }
    let entry = menu.resolve(&spec)?;
    Some((spec, entry))
}

pub fn entries_text(menu: &Menu, all: bool, default: Option<&MenuEntry>) -> String {
    let mut out = String::new();
    let list: Vec<&MenuEntry> = menu
        .entries()
        .into_iter()
        .filter(|e| all || e.is_xen())
        .collect();
    if list.is_empty() {
        let _ = writeln!(
            out,
            "no {}entries in {}",
            if all { "" } else { "Xen " },
            menu.path.display()
        );
        return out;
    }
    for e in list {
        let index: Vec<String> = e.index_path.iter().map(ToString::to_string).collect();
        let mark = if default == Some(e) { "*" } else { " " };
        let _ = writeln!(out, "{mark}{:<6} {}", index.join(">"), e.title);
        if !e.submenu_path.is_empty() {
            let _ = writeln!(out, "        in:   {}", e.submenu_path.join(" > "));
        }
        if let Some(id) = &e.id {
            let _ = writeln!(out, "        id:   {id}");
        }
        if let (Some(loader), Some(hv)) = (&e.loader, &e.hypervisor) {
            let _ = writeln!(
                out,
                "        xen:  {loader} {hv}  {}",
                e.xen_args().join(" ")
            );
            if let Some(kernel) = e.dom0_kernel() {
                let mut args = kernel.args.iter().filter(|a| *a != "placeholder");
                let image = args.next().cloned().unwrap_or_default();
                let rest: Vec<&String> = args.collect();
                let _ = writeln!(
                    out,
                    "        dom0: {image}  {}",
                    rest.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
        } else if let Some(linux) = &e.linux {
            let _ = writeln!(out, "        {}: {}", linux.cmd, linux.args.join(" "));
        }
    }
    if default.is_some() {
        out.push_str("(* = the default entry)\n");
    }
    out
}

/// `xenadm boot default` without an entry.
#[derive(Debug, Serialize)]
pub struct DefaultReport {
    pub grub_default: Option<Variable>,
    pub grubenv: PathBuf,
    pub saved_entry: Option<String>,
    pub next_entry: Option<String>,
    /// The entry GRUB will boot, by title path, when grub.cfg could be read.
    pub boots: Option<String>,
    pub grub_cfg: Option<PathBuf>,
}

pub fn default_report(
    grub_default: Option<Variable>,
    env: &GrubEnv,
    menu: Option<&Menu>,
) -> DefaultReport {
    let boots = menu.and_then(|m| {
        let next = env.get("next_entry").and_then(|n| m.resolve(n));
        next.or_else(|| booted_default(m, Some(env)).map(|(_, e)| e))
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

pub fn default_text(r: &DefaultReport) -> String {
    let dash = || "-".to_string();
    let mut rows = Vec::new();
    if let Some(v) = &r.grub_default {
        let value = match (&v.value, &v.unknown) {
            (Some(value), _) => value.clone(),
            (None, Some(u)) => format!("unknown: it {}", u.reason),
            (None, None) => "(not set: 0)".to_string(),
        };
        let from = v
            .unknown
            .as_ref()
            .map(|u| u.at.to_string())
            .or_else(|| v.source.as_ref().map(ToString::to_string))
            .unwrap_or_else(dash);
        rows.push(vec!["GRUB_DEFAULT".to_string(), value, from]);
    }
    let env = r.grubenv.display().to_string();
    rows.push(vec![
        "saved_entry".to_string(),
        r.saved_entry.clone().unwrap_or_else(dash),
        env.clone(),
    ]);
    rows.push(vec![
        "next_entry".to_string(),
        r.next_entry.clone().unwrap_or_else(dash),
        env,
    ]);
    rows.push(vec![
        "boots".to_string(),
        r.boots
            .clone()
            .unwrap_or_else(|| "unknown (no grub.cfg or no matching entry)".to_string()),
        r.grub_cfg
            .as_ref()
            .map_or_else(dash, |p| p.display().to_string()),
    ]);
    columns(&rows)
}

/// `xenadm boot default ENTRY --json`.
#[derive(Debug, Serialize)]
pub struct DefaultSetJson<'a> {
    pub variable: &'static str,
    pub value: &'a str,
    pub written: WriteReport,
}
