//! `xenadm boot ...`: Xen boot parameters in /etc/default/grub (shown with their sources,
//! validated, edited safely), grub.cfg regeneration and entries, and the saved default.

mod json;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use grub_cfg::{
    BootConfig, BootPending, BootStatus, DefaultKind, DefaultReport, GivenRelease, GrubCfgError,
    GrubEnv, Menu, Mkconfig, SetDefaultOptions, SetOptions, Severity, WriteOptions, XenOptionTable,
    XenVariable, grub_cfg_path,
};
use serde::Serialize;

use super::status::Section;
use crate::error::{CliError, EXIT_FAILURE};
use crate::output::Output;

/// `xenadm boot [--root DIR] ...`
#[derive(Debug, Args)]
pub struct BootArgs {
    /// Act on the system mounted at DIR (a rescue mount or a chroot) instead of this one.
    #[arg(long, default_value = "/", global = true, value_name = "DIR")]
    pub root: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: BootCommand,
}

/// `xenadm boot ...`
#[derive(Debug, Subcommand)]
pub enum BootCommand {
    /// The Xen boot variables with the file:line each comes from, and the Xen options as Xen
    /// reads them.
    Show,
    /// Set Xen options for every Xen entry (GRUB_CMDLINE_XEN), in the file that really wins;
    /// an option already there is replaced in place, and removed from
    /// GRUB_CMDLINE_XEN_DEFAULT, which would override it on normal entries. The value asked
    /// for is the one Xen gets after grub-mkconfig, or nothing is written.
    Set(SetArgs),
    /// Remove Xen options (every occurrence, with or without `no-`) from every Xen entry:
    /// from GRUB_CMDLINE_XEN and GRUB_CMDLINE_XEN_DEFAULT.
    Unset(UnsetArgs),
    /// Validate the Xen options against the documented options of the installed Xen.
    /// Exit 1 when there are errors.
    Check(CheckArgs),
    /// Regenerate grub.cfg with the distribution's grub-mkconfig or grub2-mkconfig, then list
    /// the Xen entries it made.
    Mkconfig(MkconfigArgs),
    /// List the boot entries of grub.cfg: Xen entries with hypervisor, Xen and dom0 arguments.
    Entries(EntriesArgs),
    /// Show or set the default entry saved in grubenv.
    Default(DefaultArgs),
}

/// `xenadm boot set`
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Xen options: NAME, no-NAME or NAME=VALUE.
    #[arg(required = true, value_name = "OPT[=VAL]")]
    pub options: Vec<String>,
    /// Edit GRUB_CMDLINE_XEN_DEFAULT instead: normal entries only (it wins there), recovery
    /// entries keep GRUB_CMDLINE_XEN's value.
    #[arg(long)]
    pub default: bool,
    /// Set options even when validation finds errors.
    #[arg(long)]
    pub force: bool,
    /// The Xen release to validate against [default: the installed one, else 4.17].
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub xen_version: Option<GivenRelease>,
    /// Show the change without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not keep `<file>.xenadm-bak`.
    #[arg(long)]
    pub no_backup: bool,
}

/// `xenadm boot unset`
#[derive(Debug, Args)]
pub struct UnsetArgs {
    /// Option names.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Only from GRUB_CMDLINE_XEN_DEFAULT (normal entries); refused when GRUB_CMDLINE_XEN
    /// still gives the option to every entry.
    #[arg(long)]
    pub default: bool,
    /// Show the change without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not keep `<file>.xenadm-bak`.
    #[arg(long)]
    pub no_backup: bool,
}

/// `xenadm boot check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The Xen release whose option table to use [default: the installed one, else 4.17].
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub xen_version: Option<GivenRelease>,
}

/// `xenadm boot mkconfig`
#[derive(Debug, Args)]
pub struct MkconfigArgs {
    /// Print the command instead of running it.
    #[arg(long)]
    pub dry_run: bool,
}

/// `xenadm boot entries`
#[derive(Debug, Args)]
pub struct EntriesArgs {
    /// The grub.cfg [default: /boot/grub/grub.cfg or /boot/grub2/grub.cfg under --root].
    pub file: Option<PathBuf>,
    /// Also list entries that do not boot Xen.
    #[arg(long)]
    pub all: bool,
}

/// `xenadm boot default`
#[derive(Debug, Args)]
pub struct DefaultArgs {
    /// The entry: a title, an id, a number or a `>` path (as GRUB_DEFAULT takes them).
    pub entry: Option<String>,
    /// Boot it only at the next boot (next_entry, like grub-reboot).
    #[arg(long)]
    pub once: bool,
    /// Save it even when grub.cfg is missing or has no such entry.
    #[arg(long)]
    pub force: bool,
    /// Do not keep `grubenv.xenadm-bak`.
    #[arg(long)]
    pub no_backup: bool,
}

/// `--xen-version`: [`GivenRelease`]'s rules (4.17 or later).
fn parse_version(s: &str) -> Result<GivenRelease, String> {
    s.parse().map_err(|e: GrubCfgError| e.to_string())
}

/// Runs one `xenadm boot` subcommand.
pub fn run(args: &BootArgs, out: &Output) -> Result<u8, CliError> {
    let root = args.root.as_path();
    match &args.command {
        BootCommand::Show => show(root, out),
        BootCommand::Set(a) => set(root, a, out),
        BootCommand::Unset(a) => unset(root, a, out),
        BootCommand::Check(a) => check(root, a.xen_version, out),
        BootCommand::Mkconfig(a) => mkconfig(root, a, out),
        BootCommand::Entries(a) => entries(root, a, out),
        BootCommand::Default(a) => default(root, a, out),
    }
}

fn variable(default: bool) -> XenVariable {
    if default {
        XenVariable::XenDefault
    } else {
        XenVariable::Xen
    }
}

/// The option table: given, else the installed Xen's, else 4.17 ([`grub_cfg::choose_table`]).
fn table(root: &Path, given: Option<GivenRelease>) -> (XenOptionTable, String) {
    let choice = grub_cfg::choose_table(root, given);
    (choice.table, choice.why)
}

fn notes(config: &BootConfig, out: &Output) {
    for note in config.notes() {
        out.warn(format_args!("{}: later values {}", note.at, note.reason));
    }
}

fn show(root: &Path, out: &Output) -> Result<u8, CliError> {
    let config = BootConfig::load(root)?;
    let (version, _) = table(root, None);
    let report = config.show(version);
    // The running hypervisor's command line, read through xen-core (only for `/`).
    let pending = BootPending::compare(&config, root, || {
        xen_core::host::running_commandline().map_err(|e| xen_core::ErrorChain(&e).to_string())
    });
    if out.json {
        out.print_json(&ShowJson {
            report: &report,
            pending: &pending,
        })?;
    } else {
        notes(&config, out);
        let mut text = grub_cfg::render::show_text(&report);
        text.push_str(&grub_cfg::render::pending_text(&pending));
        out.print(&text)?;
    }
    Ok(0)
}

/// `boot show --json`: the configuration, then whether mkconfig or a reboot is pending.
#[derive(Debug, Serialize)]
struct ShowJson<'a> {
    #[serde(flatten)]
    report: &'a grub_cfg::ShowReport,
    pending: &'a grub_cfg::BootPending,
}

#[derive(Debug, Serialize)]
struct EditJson<'a> {
    #[serde(flatten)]
    edit: &'a grub_cfg::Edit,
    dry_run: bool,
    written: Vec<grub_cfg::WriteReport>,
}

fn finish_edit(
    edit: &grub_cfg::Edit,
    dry_run: bool,
    backup: bool,
    out: &Output,
) -> Result<u8, CliError> {
    for warning in &edit.warnings {
        out.warn(warning);
    }
    let written = if dry_run || edit.is_noop() {
        Vec::new()
    } else {
        let mut options = WriteOptions::default();
        options.backup = backup;
        edit.apply(&options)?
    };
    if out.json {
        out.print_json(&EditJson {
            edit,
            dry_run,
            written,
        })?;
    } else {
        out.print(&grub_cfg::render::edit_text(edit, dry_run, &written))?;
    }
    Ok(0)
}

fn set(root: &Path, args: &SetArgs, out: &Output) -> Result<u8, CliError> {
    let config = BootConfig::load(root)?;
    let mut options = SetOptions::default();
    options.variable = variable(args.default);
    options.table = table(root, args.xen_version).0;
    options.force = args.force;
    let opts: Vec<&str> = args.options.iter().map(String::as_str).collect();
    let edit = config.plan_set(&opts, &options)?;
    if args.force {
        for finding in grub_cfg::forced_errors(options.table, &opts) {
            out.warn(format_args!("--force: {finding}"));
        }
    }
    finish_edit(&edit, args.dry_run, !args.no_backup, out)
}

fn unset(root: &Path, args: &UnsetArgs, out: &Output) -> Result<u8, CliError> {
    let config = BootConfig::load(root)?;
    let names: Vec<&str> = args.names.iter().map(String::as_str).collect();
    let edit = config.plan_unset(&names, variable(args.default))?;
    finish_edit(&edit, args.dry_run, !args.no_backup, out)
}

fn check(root: &Path, given: Option<GivenRelease>, out: &Output) -> Result<u8, CliError> {
    let config = BootConfig::load(root)?;
    let (version, why) = table(root, given);
    let report = config.check(version);
    let errors = report.count(Severity::Error);
    if out.json {
        out.print_json(&json::CheckJson {
            table: &why,
            errors,
            warnings: report.count(Severity::Warning),
            report: &report,
        })?;
    } else {
        notes(&config, out);
        out.print(&grub_cfg::render::check_text(&report, &why))?;
    }
    Ok(if errors > 0 { EXIT_FAILURE } else { 0 })
}

fn mkconfig(root: &Path, args: &MkconfigArgs, out: &Output) -> Result<u8, CliError> {
    let tool = Mkconfig::find(root)?;
    if args.dry_run {
        if out.json {
            out.print_json(&tool)?;
        } else {
            out.print(&format!("{}\n", tool.command_line()))?;
        }
        return Ok(0);
    }
    let run = tool.run()?;
    if !out.json {
        for line in run.stderr.lines() {
            out.warn(format_args!("{}: {line}", tool.program.display()));
        }
    }
    let menu = Menu::read(&tool.output_on_host())?;
    if out.json {
        out.print_json(&json::MkconfigJson {
            command: tool.command_line(),
            output: tool.output_on_host(),
            xen_entries: menu.xen_entries(),
        })?;
    } else {
        out.print(&grub_cfg::render::mkconfig_text(&tool, &menu))?;
    }
    Ok(0)
}

fn entries(root: &Path, args: &EntriesArgs, out: &Output) -> Result<u8, CliError> {
    let path = args.file.clone().unwrap_or_else(|| grub_cfg_path(root));
    let menu = Menu::read(&path)?;
    let env = GrubEnv::for_root(root).ok();
    let default = menu.booted_default(env.as_ref());
    if out.json {
        let list = if args.all {
            menu.entries()
        } else {
            menu.xen_entries()
        };
        out.print_json(&json::EntriesJson {
            path: &path,
            default: default.as_ref().map(|(spec, _)| spec.as_str()),
            entries: list,
        })?;
    } else {
        out.print(&grub_cfg::render::entries_text(
            &menu,
            args.all,
            default.as_ref().map(|(_, e)| *e),
        ))?;
    }
    Ok(0)
}

fn default(root: &Path, args: &DefaultArgs, out: &Output) -> Result<u8, CliError> {
    let Some(entry) = &args.entry else {
        let report = DefaultReport::for_root(root)?;
        if out.json {
            out.print_json(&report)?;
        } else {
            out.print(&grub_cfg::render::default_text(&report))?;
        }
        return Ok(0);
    };
    let mut options = SetDefaultOptions::default();
    options.kind = if args.once {
        DefaultKind::Once
    } else {
        DefaultKind::Saved
    };
    options.force = args.force;
    options.write.backup = !args.no_backup;
    let set = grub_cfg::set_default(root, entry, &options)?;
    let change = &set.change;
    if let Some(warning) = grub_cfg::render::default_resolved_warning(entry, &change.spec) {
        out.warn(warning);
    }
    if let Some(var) = &change.ignored_because {
        out.warn(grub_cfg::render::default_ignored_warning(var));
    }
    if out.json {
        out.print_json(&json::DefaultSetJson {
            variable: change.kind.variable(),
            value: &change.spec,
            written: set.written,
        })?;
    } else {
        out.print(&grub_cfg::render::default_set_text(change, &set.grubenv))?;
    }
    Ok(0)
}

/// The Boot section of `xenadm status`: the Xen options in force and what `check` finds.
pub fn status_section() -> Section {
    status_section_for(Path::new("/"))
}

fn status_section_for(root: &Path) -> Section {
    let (table, why) = table(root, None);
    let status = BootStatus::read(root, table, why);
    Section {
        key: "boot",
        title: "Boot",
        rows: status.rows(),
        json: serde_json::to_value(&status).unwrap_or_default(),
    }
}

/// What the administrator can do about an error: the fixes that name xenadm's own commands
/// and options here, the rest from [`GrubCfgError::fix`].
pub fn hint(err: &GrubCfgError) -> Option<&'static str> {
    match err {
        GrubCfgError::NotFound { path } if path.ends_with("grub.cfg") => Some(
            "generate it with `xenadm boot mkconfig`, or give the file: `xenadm boot entries FILE`",
        ),
        GrubCfgError::NotFound { .. } | GrubCfgError::Read { .. } => Some(
            "is GRUB installed here? For a mounted system (rescue, chroot) give its root with --root DIR",
        ),
        GrubCfgError::Parse {
            problem: grub_cfg::ParseProblem::Binary,
            ..
        } => Some(
            "give a text file: grub.cfg (e.g. /boot/grub/grub.cfg) for `boot entries`, /etc/default/grub for the others",
        ),
        GrubCfgError::Parse { path, .. } if path.ends_with("grub.cfg") => {
            Some("regenerate grub.cfg with `xenadm boot mkconfig`")
        }
        GrubCfgError::InvalidOption { .. } => Some(
            "check the name and value (`xenadm boot check` lists the problems); --force sets it anyway",
        ),
        GrubCfgError::MalformedOption { .. } => Some(
            "give each option as one word without quotes, blanks or any of ` $ \\ ; & | < > ( ) { } (sh and GRUB would change them before Xen sees them); --force cannot change that",
        ),
        GrubCfgError::Overridden { .. } => Some(
            "remove it where it is set (`xenadm boot unset NAME` removes it from every entry), then run the command again",
        ),
        GrubCfgError::Spawn { .. } => {
            Some("check that grub-mkconfig (and chroot, with --root) can run")
        }
        GrubCfgError::UnknownEntry { .. } | GrubCfgError::AmbiguousEntry { .. } => Some(
            "list the entries with `xenadm boot entries --all`; give a title path `A>B>C` or a number path `1>2`",
        ),
        _ => err.fix(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_status_section_never_fails() {
        let dir = tempfile::tempdir().unwrap();
        let section = status_section_for(dir.path());
        assert!(section.rows[0].1.starts_with("unavailable: "));
        let etc = dir.path().join("etc/default");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("grub"), "GRUB_CMDLINE_XEN=\"dom0-mem=1G\"\n").unwrap();
        let section = status_section_for(dir.path());
        assert_eq!(section.rows[0].1, "dom0-mem=1G");
        assert!(
            section.rows[1].1.starts_with("1 error(s)"),
            "{:?}",
            section.rows
        );
    }
}
