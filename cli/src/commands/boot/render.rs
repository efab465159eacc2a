//! Text and JSON views of the boot commands' results.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use grub_cfg::{
    CheckReport, DefaultReport, Edit, Menu, MenuEntry, ShowReport, SourceLine, WriteReport, xen,
};
use serde::Serialize;

use crate::output::columns;

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
