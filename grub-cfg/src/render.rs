//! xenadm's text for the boot reports: `xenadm boot show`, `set`/`unset`, `check`, `entries`
//! and `default` print these, and any tool that wants the same words can (the JSON shapes
//! are the `serde` feature's).

use std::fmt::Write as _;

use text_table::columns;

use std::path::Path;

use crate::config::{CheckReport, Edit, SourceLine, Variable};
use crate::default_entry::DefaultChange;
use crate::menu::{Menu, MenuEntry};
use crate::mkconfig::Mkconfig;
use crate::pending::{BootPending, OptionDiff};
use crate::views::{DefaultReport, ShowReport};
use crate::write::WriteReport;
use crate::xen;

/// `file:line`, or `-`.
fn source(s: Option<&SourceLine>) -> String {
    s.map_or_else(|| "-".to_string(), ToString::to_string)
}

/// `xenadm boot show`: the files in sourcing order, the boot variables with where each is
/// set, and the Xen options with how Xen reads each.
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

/// `xenadm boot set|unset`: the lines changed per file and the variables' new values, then
/// what was written (or that nothing was, on a dry run).
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

/// `xenadm boot check`: each finding, then a count; `table` names the option table used.
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

/// `xenadm boot entries`: the Xen entries (`all`: every entry) with their index path, id,
/// hypervisor and dom0 lines; `default` is marked with `*`.
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

/// `xenadm boot default`: GRUB_DEFAULT, grubenv's entries and what GRUB boots.
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

/// `xenadm boot mkconfig`: the grub.cfg written and the command that wrote it, then the Xen
/// entries it holds now.
pub fn mkconfig_text(tool: &Mkconfig, menu: &Menu) -> String {
    let mut text = format!(
        "wrote {} ({})\n",
        tool.output_on_host().display(),
        tool.command_line()
    );
    text.push_str(&entries_text(menu, false, None));
    text
}

/// `xenadm boot default ENTRY`'s warning when the value saved is longer than the entry asked
/// for (a title inside a submenu); `None` when it is the same.
pub fn default_resolved_warning(entry: &str, spec: &str) -> Option<String> {
    (spec != entry).then(|| format!("saving {spec:?}, the full path GRUB needs to find {entry:?}"))
}

/// `xenadm boot default ENTRY`'s warning when `GRUB_DEFAULT` is not `saved`
/// ([`DefaultChange::ignored_because`]): the saved entry is ignored at boot until it is.
pub fn default_ignored_warning(grub_default: &Variable) -> String {
    format!(
        "GRUB_DEFAULT is {} ({}): saved_entry is used only with GRUB_DEFAULT=saved; set that and run `xenadm boot mkconfig`",
        grub_default
            .value
            .as_deref()
            .map_or("not set".to_string(), |v| format!("{v:?}")),
        grub_default
            .source
            .as_ref()
            .map_or("default".to_string(), ToString::to_string),
    )
}

/// `xenadm boot default ENTRY`: the variable set and the environment block written.
pub fn default_set_text(change: &DefaultChange, grubenv: &Path) -> String {
    format!(
        "{}={}\nwrote {} in place\n",
        change.kind.variable(),
        change.spec,
        grubenv.display()
    )
}

/// What an [`OptionDiff`] does to the options, in words.
fn changes(d: &OptionDiff) -> String {
    let mut parts = Vec::new();
    if !d.added.is_empty() {
        parts.push(format!("adds {}", d.added.join(" ")));
    }
    if !d.removed.is_empty() {
        parts.push(format!("removes {}", d.removed.join(" ")));
    }
    if parts.is_empty() {
        parts.push("changes the order of the options".to_string());
    }
    parts.join(", ")
}

/// The options as one line, `(none)` when there are none.
fn line(options: &[String]) -> String {
    if options.is_empty() {
        "(none)".to_string()
    } else {
        options.join(" ")
    }
}

/// `xenadm boot show`'s last part: the next boot, the running hypervisor, and whether
/// `boot mkconfig` or a reboot is pending ([`BootPending`]).
pub fn pending_text(p: &BootPending) -> String {
    let mut out = String::from("\nNext boot and running Xen\n");
    match (&p.next_boot, &p.next_boot_unknown) {
        (Some(next), _) => {
            let _ = writeln!(out, "  grub.cfg     {}", next.grub_cfg.display());
            let _ = writeln!(out, "  entry        {}", next.title_path);
            let _ = writeln!(out, "  chosen by    {}", next.selected_by);
            if next.xen {
                let _ = writeln!(out, "  next boot    {}", line(&next.xen_options));
            } else {
                out.push_str("  next boot    does not start Xen\n");
            }
        }
        (None, why) => {
            let _ = writeln!(
                out,
                "  next boot    unknown: {}",
                why.as_deref().unwrap_or("-")
            );
        }
    }
    match (&p.running, &p.running_unknown) {
        (Some(running), _) => {
            let _ = writeln!(out, "  running      {}", line(running));
        }
        (None, why) => {
            let _ = writeln!(
                out,
                "  running      unknown: {}",
                why.as_deref().unwrap_or("-")
            );
        }
    }
    let mkconfig = match &p.mkconfig {
        Some(d) if d.differs => format!(
            "pending: grub.cfg differs from the configuration (regenerating it {}): run `xenadm boot mkconfig`",
            changes(d)
        ),
        Some(_) => "no: grub.cfg matches the configuration".to_string(),
        None => "unknown (see above)".to_string(),
    };
    let _ = writeln!(out, "  mkconfig     {mkconfig}");
    let reboot = match &p.reboot {
        Some(d) if d.differs => format!("pending: the next boot {}", changes(d)),
        Some(_) => "no: the next boot gives Xen the options it runs with".to_string(),
        None => "unknown (see above)".to_string(),
    };
    let _ = writeln!(out, "  reboot       {reboot}");
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::SetOptions;
    use crate::fixtures::config;
    use crate::grubenv::GrubEnv;
    use crate::xen::XenOptionTable;

    fn menu() -> Menu {
        let text = "set default=\"${saved_entry}\"\nmenuentry 'Linux' --id linux {\n  linux /vmlinuz ro\n}\nmenuentry 'Xen' --id xen {\n  multiboot2 /xen.gz dom0_mem=1G\n  module2 /vmlinuz placeholder root=/dev/xvda ro\n}\n";
        Menu::parse(text.as_bytes(), Path::new("/boot/grub/grub.cfg")).unwrap()
    }

    fn env() -> GrubEnv {
        let mut block = b"# GRUB Environment Block\nsaved_entry=xen\n".to_vec();
        block.resize(crate::GRUBENV_SIZE, b'#');
        GrubEnv::parse(&block, Path::new("/boot/grub/grubenv")).unwrap()
    }

    #[test]
    fn test_show_text_marks_overridden_options() {
        let report = config("GRUB_CMDLINE_XEN=\"smt=0 smt=1\"\n").show(XenOptionTable::V4_17);
        let text = show_text(&report);
        assert!(
            text.starts_with("Files (sourced in this order)\n  /etc/default/grub\n\nVariables\n")
        );
        assert!(
            text.contains("  GRUB_DEFAULT                            (not set)      -\n"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "  NAME  VALUE  XEN READS                 VARIABLE  SOURCE
  smt   0      false (overridden later)  XEN       /etc/default/grub:1
  smt   1      true                      XEN       /etc/default/grub:1
"
            ),
            "{text}"
        );
        let none = show_text(&config("GRUB_DEFAULT=0\n").show(XenOptionTable::V4_17));
        assert!(none.ends_with("only)\n  none\n"), "{none}");
    }

    #[test]
    fn test_edit_and_check_text() {
        let config = config("GRUB_CMDLINE_XEN=\"smt=0\"\n");
        let edit = config.plan_set(&["smt=1"], &SetOptions::default()).unwrap();
        assert_eq!(
            edit_text(&edit, true, &[]),
            "/etc/default/grub:1\n- GRUB_CMDLINE_XEN=\"smt=0\"\n+ GRUB_CMDLINE_XEN=\"smt=1\"\nGRUB_CMDLINE_XEN = smt=1\ndry run: nothing written\n"
        );
        let noop = config.plan_set(&["smt=0"], &SetOptions::default()).unwrap();
        assert_eq!(
            edit_text(&noop, false, &[]),
            "GRUB_CMDLINE_XEN unchanged: smt=0\n"
        );
        let report = config.check(XenOptionTable::V4_17);
        assert_eq!(
            check_text(&report, "Xen 4.17 table"),
            "no problems: 1 option(s) checked against the Xen 4.17 table\n"
        );
    }

    #[test]
    fn test_entries_text_marks_the_default_and_hides_the_placeholder() {
        let menu = menu();
        let env = env();
        let default = menu.booted_default(Some(&env)).map(|(_, e)| e);
        assert_eq!(
            entries_text(&menu, false, default),
            "*1      Xen
        id:   xen
        xen:  multiboot2 /xen.gz  dom0_mem=1G
        dom0: /vmlinuz  root=/dev/xvda ro
(* = the default entry)
"
        );
        let all = entries_text(&menu, true, None);
        assert!(
            all.starts_with(" 0      Linux\n        id:   linux\n        linux: /vmlinuz ro\n"),
            "{all}"
        );
        let empty = Menu::parse(b"set default=0\n", Path::new("/g.cfg")).unwrap();
        assert_eq!(
            entries_text(&empty, false, None),
            "no Xen entries in /g.cfg\n"
        );
    }

    #[test]
    fn test_default_text() {
        let menu = menu();
        let report = DefaultReport::new(None, &env(), Some(&menu));
        assert_eq!(
            default_text(&report),
            "saved_entry  xen  /boot/grub/grubenv
next_entry   -    /boot/grub/grubenv
boots        Xen  /boot/grub/grub.cfg
"
        );
    }

    #[test]
    fn test_default_set_texts() {
        assert_eq!(default_resolved_warning("Debian", "Debian"), None);
        assert_eq!(
            default_resolved_warning("Debian", "Xen>Debian").unwrap(),
            "saving \"Xen>Debian\", the full path GRUB needs to find \"Debian\""
        );
        let set = config("GRUB_DEFAULT=0\n").variable("GRUB_DEFAULT");
        assert_eq!(
            default_ignored_warning(&set),
            "GRUB_DEFAULT is \"0\" (/etc/default/grub:1): saved_entry is used only with GRUB_DEFAULT=saved; set that and run `xenadm boot mkconfig`"
        );
        let unset = config("").variable("GRUB_DEFAULT");
        assert!(
            default_ignored_warning(&unset).starts_with("GRUB_DEFAULT is not set (default): "),
            "{}",
            default_ignored_warning(&unset)
        );
        let mut env = env();
        let change =
            crate::set_default_entry(&mut env, None, "Xen>Debian", crate::DefaultKind::Once)
                .unwrap();
        assert_eq!(
            default_set_text(&change, env.path()),
            "next_entry=Xen>Debian\nwrote /boot/grub/grubenv in place\n"
        );
    }

    #[test]
    fn test_mkconfig_text_names_the_file_and_command_then_the_xen_entries() {
        let tool = Mkconfig {
            program: "/usr/sbin/grub-mkconfig".into(),
            output: "/boot/grub/grub.cfg".into(),
            chroot: None,
        };
        let text = mkconfig_text(&tool, &menu());
        let first = "wrote /boot/grub/grub.cfg (/usr/sbin/grub-mkconfig -o /boot/grub/grub.cfg)\n";
        assert!(text.starts_with(first), "{text}");
        assert_eq!(text[first.len()..], entries_text(&menu(), false, None));
        assert!(text.contains("Xen"), "{text}");
    }

    #[test]
    fn test_pending_text_says_what_each_step_changes() {
        let diff = |differs, added: &[&str], removed: &[&str]| OptionDiff {
            differs,
            added: added.iter().map(|s| s.to_string()).collect(),
            removed: removed.iter().map(|s| s.to_string()).collect(),
        };
        let pending = BootPending {
            configured: Some(vec!["smt=0".into()]),
            configured_unknown: None,
            next_boot: Some(crate::pending::NextBoot {
                grub_cfg: "/boot/grub/grub.cfg".into(),
                selected_by: "saved_entry".into(),
                title_path: "Xen".into(),
                xen: true,
                recovery: false,
                xen_options: Vec::new(),
                xen_rm_opts: false,
            }),
            next_boot_unknown: None,
            running: Some(vec!["smt=1".into()]),
            running_unknown: None,
            mkconfig: Some(diff(true, &["smt=0"], &[])),
            reboot: Some(diff(true, &[], &["smt=1"])),
        };
        assert_eq!(
            pending_text(&pending),
            "\nNext boot and running Xen
  grub.cfg     /boot/grub/grub.cfg
  entry        Xen
  chosen by    saved_entry
  next boot    (none)
  running      smt=1
  mkconfig     pending: grub.cfg differs from the configuration (regenerating it adds smt=0): run `xenadm boot mkconfig`
  reboot       pending: the next boot removes smt=1
"
        );
        let unknown = BootPending {
            next_boot: None,
            next_boot_unknown: Some("no grub.cfg".into()),
            running: None,
            running_unknown: None,
            mkconfig: None,
            reboot: Some(diff(true, &[], &[])),
            ..pending.clone()
        };
        let text = pending_text(&unknown);
        assert!(
            text.contains("  next boot    unknown: no grub.cfg\n"),
            "{text}"
        );
        assert!(text.contains("  running      unknown: -\n"), "{text}");
        assert!(
            text.contains("  mkconfig     unknown (see above)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  reboot       pending: the next boot changes the order of the options\n"
            ),
            "{text}"
        );
        let agreed = BootPending {
            mkconfig: Some(diff(false, &[], &[])),
            reboot: Some(diff(false, &[], &[])),
            ..pending
        };
        let text = pending_text(&agreed);
        assert!(text.contains("  mkconfig     no: grub.cfg matches the configuration\n"));
        assert!(
            text.contains("  reboot       no: the next boot gives Xen the options it runs with\n")
        );
    }
}
