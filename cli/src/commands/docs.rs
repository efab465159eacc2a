//! `xenadm completions` and `xenadm man`: generated from the clap definitions.
//!
//! Man pages get what clap_mangen renders (NAME, SYNOPSIS, DESCRIPTION, OPTIONS, subcommands)
//! plus EXIT STATUS, EXAMPLES and SEE ALSO written here, and pages for the drop-in
//! `vhostmd`(8) and `vm-dump-metrics`(1) from their own definitions.

use std::fs;
use std::path::Path;

use clap::CommandFactory as _;
use clap_mangen::roff::{Roff, bold, roman};

use crate::args::Cli;
use crate::dropin::{vhostmd_args, vm_dump_metrics_args};
use crate::error::CliError;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<u8, CliError> {
    let mut command = Cli::command();
    // clap_complete panics when its writer fails (a closed pipe, a full disk): generate into
    // memory, then write through the error path every command uses.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "xenadm", &mut script);
    crate::output::write_stdout(&script)?;
    Ok(0)
}

/// Prints xenadm.1, or writes every page into `out_dir`.
pub fn man(out_dir: Option<&Path>) -> Result<u8, CliError> {
    let pages = pages()?;
    match out_dir {
        None => {
            if let Some((_, page)) = pages.iter().find(|(name, _)| name == "xenadm.1") {
                crate::output::write_stdout(page)?;
            }
        }
        Some(dir) => {
            let write_err = |path: &Path, source| CliError::WriteFile {
                path: path.to_path_buf(),
                source,
            };
            fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
            for (name, page) in &pages {
                let path = dir.join(name);
                fs::write(&path, page).map_err(|e| write_err(&path, e))?;
            }
        }
    }
    Ok(0)
}

/// Every page: (file name, roff).
fn pages() -> Result<Vec<(String, Vec<u8>)>, CliError> {
    let mut out = Vec::new();
    let mut xenadm = Cli::command().disable_help_subcommand(true);
    xenadm.build();
    walk(&xenadm, &mut out)?;
    for (mut command, section) in [
        (<vhostmd_args::Args as clap::CommandFactory>::command(), "8"),
        (
            <vm_dump_metrics_args::Args as clap::CommandFactory>::command(),
            "1",
        ),
    ] {
        command.build();
        out.push(page(&command, section)?);
    }
    Ok(out)
}

fn walk(command: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), CliError> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        walk(sub, out)?;
    }
    out.push(page(command, "1")?);
    Ok(())
}

/// One page: clap_mangen's sections, then EXIT STATUS, EXAMPLES and SEE ALSO.
fn page(command: &clap::Command, section: &str) -> Result<(String, Vec<u8>), CliError> {
    let command = command.clone().override_usage(synopsis(command));
    let man = clap_mangen::Man::new(command)
        .section(section)
        .source(format!("xenadm {}", env!("CARGO_PKG_VERSION")));
    let name = man.get_filename();
    let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
    let mut page = Vec::new();
    man.render(&mut page).map_err(CliError::Output)?;
    let mut extra = Roff::default();
    extra.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in exit_status(stem) {
        extra
            .control("TP", [])
            .text([bold(code)])
            .text([roman(meaning)]);
    }
    if !matches!(stem, "vhostmd" | "vm-dump-metrics") {
        extra.control("PP", []).text([roman(
            "A closed pipe on standard output (xenadm ... | head) ends the command quietly with status 0, as Unix tools do.",
        )]);
    }
    let examples = examples(stem);
    if !examples.is_empty() {
        extra.control("SH", ["EXAMPLES"]);
        for (what, command) in examples {
            extra
                .control("TP", [])
                .text([bold(command)])
                .text([roman(what)]);
        }
    }
    extra.control("SH", ["SEE ALSO"]);
    extra.text([roman(see_also(stem))]);
    page.extend_from_slice(extra.to_roff().as_bytes());
    Ok((name, page))
}

/// The synopsis with each option's value (`--to <SIZE>`): clap_mangen's own leaves values
/// out, which hides what an option takes.
fn synopsis(command: &clap::Command) -> String {
    let name = command.get_bin_name().unwrap_or_else(|| command.get_name());
    let mut words = vec![name.to_string()];
    let value = |arg: &clap::Arg| -> String {
        let takes = arg.get_num_args().is_some_and(|n| n.takes_values())
            && !matches!(
                arg.get_action(),
                clap::ArgAction::SetTrue | clap::ArgAction::Count
            );
        match (takes, arg.get_value_names()) {
            (true, Some(names)) => names.iter().map(|n| format!(" <{n}>")).collect(),
            (true, None) => format!(" <{}>", arg.get_id().as_str().to_uppercase()),
            _ => String::new(),
        }
    };
    let flag = |arg: &clap::Arg| -> String {
        let name = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("-{s}|--{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, Some(l)) => format!("--{l}"),
            (None, None) => String::new(),
        };
        let repeat = if matches!(arg.get_action(), clap::ArgAction::Count) {
            "..."
        } else {
            ""
        };
        format!("{name}{}{repeat}", value(arg))
    };
    let required_groups: Vec<Vec<&clap::Arg>> = command
        .get_groups()
        .filter(|g| g.is_required_set())
        .map(|g| {
            g.get_args()
                .filter_map(|id| command.get_arguments().find(|a| a.get_id() == id))
                .collect()
        })
        .collect();
    let in_group = |arg: &clap::Arg| {
        required_groups
            .iter()
            .flatten()
            .any(|a| a.get_id() == arg.get_id())
    };
    for arg in command
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional() && !in_group(a))
    {
        words.push(if arg.is_required_set() {
            flag(arg)
        } else {
            format!("[{}]", flag(arg))
        });
    }
    for group in &required_groups {
        let alternatives: Vec<String> = group.iter().map(|a| flag(a)).collect();
        words.push(format!("<{}>", alternatives.join("|")));
    }
    for arg in command.get_positionals().filter(|a| !a.is_hide_set()) {
        let name = arg
            .get_value_names()
            .and_then(|n| n.first())
            .map_or_else(|| arg.get_id().as_str().to_uppercase(), ToString::to_string);
        let many = if arg.get_num_args().is_some_and(|n| n.max_values() > 1) {
            "..."
        } else {
            ""
        };
        words.push(if arg.is_required_set() {
            format!("<{name}>{many}")
        } else {
            format!("[{name}]{many}")
        });
    }
    if command.has_subcommands() {
        words.push("<COMMAND>".to_string());
    }
    words.join(" ")
}

fn exit_status(stem: &str) -> Vec<(&'static str, &'static str)> {
    let mut codes = vec![("0", "Success.")];
    codes.push(match stem {
        "xenadm-cpuid-fits" => (
            "1",
            "The guest cannot run on the target (a \"no\" answer), or a dump could not be read.",
        ),
        "xenadm-boot-check" | "xenadm-vhostmd-check" => (
            "1",
            "The configuration has errors (listed on stdout), or could not be read.",
        ),
        "vhostmd" => (
            "1",
            "The configuration is invalid (--check-config), the metrics disk or the VM source failed, or another vhostmd already runs with the same pid file.",
        ),
        "vm-dump-metrics" => (
            "1",
            "No metrics could be read (no disk, a busy or corrupt disk, no answer on the port).",
        ),
        _ => (
            "1",
            "Failure: the error, its causes and a hint naming the fix are printed on stderr.",
        ),
    });
    if stem == "xenadm-migrate" {
        return vec![
            (
                "0",
                "Moved: the guest runs on the target. With --check: it can move (every preflight row passed or warned).",
            ),
            (
                "1",
                "Not moved, the guest still runs here: the migration failed, or the preflight refused it (a FAIL row, the table names the fix). With --check: it cannot move.",
            ),
            (
                "2",
                "With --check: not fully checked (a row could not be checked and none failed, or the preflight could not run). Otherwise a usage error.",
            ),
            (
                "3",
                "The guest needs the administrator: the message says which host to check and the commands that fix it.",
            ),
        ];
    }
    codes.push((
        "2",
        "Usage error: an unknown command or option, or a missing or malformed argument.",
    ));
    codes
}

/// (what it does, the command), for the page `stem`.
fn examples(stem: &str) -> Vec<(&'static str, &'static str)> {
    match stem {
        "xenadm" => vec![
            ("This host: CPU, hypervisor, Xen role.", "xenadm status"),
            (
                "The CPUID mask that lets guests migrate between these hosts.",
                "xenadm cpuid mask host-*.txt",
            ),
            ("Grow an image to 40 GiB.", "xenadm image grow IMG --to 40G"),
            (
                "Set a Xen boot option, then regenerate grub.cfg.",
                "xenadm boot set dom0_mem=4G,max:4G && xenadm boot mkconfig",
            ),
            ("Domains, like xl list.", "xenadm list"),
        ],
        "xenadm-status" => vec![
            ("One screen about this host.", "xenadm status"),
            ("The same as JSON.", "xenadm --json status"),
        ],
        "xenadm-cpuid-dump" => vec![(
            "This CPU, in `cpuid -1r` format, for another host's mask.",
            "xenadm cpuid dump -1 > host-a.txt",
        )],
        "xenadm-cpuid-mask" => vec![
            (
                "xl.cfg's `cpuid = [ ... ]`.",
                "xenadm cpuid mask host-*.txt",
            ),
            (
                "libvirt's disabled features.",
                "xenadm cpuid mask --format libvirt host-*.txt",
            ),
            (
                "A dump made on another host, read from a pipe.",
                "xenadm cpuid mask a.txt <(ssh hostb xenadm cpuid dump -1)",
            ),
        ],
        "xenadm-cpuid-explain" => vec![(
            "Which host lacks each masked feature.",
            "xenadm cpuid explain host-*.txt",
        )],
        "xenadm-cpuid-fits" => vec![(
            "Can a guest started on A move to B? Exit 1 if not.",
            "xenadm cpuid fits host-a.txt host-b.txt",
        )],
        "xenadm-migrate" => vec![
            (
                "Can web1 move to hostb? One row per check with the fix.",
                "xenadm migrate --check web1 hostb",
            ),
            (
                "The same as JSON, over ssh on another port.",
                "xenadm --json migrate --check -s 'ssh -p 2222' web1 hostb",
            ),
        ],
        "xenadm-cpuid-features" => vec![(
            "Every known feature bit and its names.",
            "xenadm cpuid features",
        )],
        "xenadm-image-usage" => vec![(
            "Every image below a folder, with the overcommit of its file system.",
            "xenadm image usage /var/lib/xen/images",
        )],
        "xenadm-image-map" => vec![(
            "The data and hole extents of an image.",
            "xenadm image map disk.img",
        )],
        "xenadm-image-grow" => vec![
            ("Grow to 40 GiB.", "xenadm image grow disk.img --to 40G"),
            (
                "Grow by 10 GiB, reserving the space now.",
                "xenadm image grow disk.img --by 10G --allocate",
            ),
            (
                "Say what would be done.",
                "xenadm image grow disk.img --to 40G --dry-run",
            ),
        ],
        "xenadm-image-loops" => vec![(
            "The loop devices backed by an image (losetup -j).",
            "xenadm image loops disk.img",
        )],
        "xenadm-boot-show" => vec![("The Xen boot variables with file:line.", "xenadm boot show")],
        "xenadm-boot-set" => vec![
            (
                "dom0's memory for every Xen entry.",
                "xenadm boot set dom0_mem=4G,max:4G",
            ),
            (
                "Only for normal (not recovery) entries.",
                "xenadm boot set --default smt=0",
            ),
            (
                "On a system mounted for rescue.",
                "xenadm boot --root /mnt set dom0_mem=4G,max:4G",
            ),
        ],
        "xenadm-boot-unset" => vec![(
            "Remove an option from every Xen entry.",
            "xenadm boot unset dom0_vcpus_pin",
        )],
        "xenadm-boot-check" => vec![(
            "Validate against Xen 4.22's options.",
            "xenadm boot check --xen-version 4.22",
        )],
        "xenadm-boot-mkconfig" => vec![("Regenerate grub.cfg.", "xenadm boot mkconfig")],
        "xenadm-boot-entries" => vec![("The Xen boot entries.", "xenadm boot entries")],
        "xenadm-boot-default" => vec![(
            "Boot the Xen entry by default.",
            "xenadm boot default 'Debian GNU/Linux, with Xen hypervisor'",
        )],
        "xenadm-list" => vec![("Domains, like xl list.", "xenadm list")],
        "xenadm-info" => vec![("Host facts with topology.", "xenadm info -n")],
        "xenadm-top" => vec![(
            "Five samples a second apart, in xentop -b's format.",
            "xenadm top -b -d 1 -i 5",
        )],
        "xenadm-net" => vec![("Every vif as JSON.", "xenadm --json net")],
        "xenadm-exporter" => vec![(
            "Serve Prometheus metrics on every address.",
            "xenadm exporter --listen :9753",
        )],
        "xenadm-stream-inspect" => vec![(
            "What an xl save file holds.",
            "xenadm stream inspect guest.save",
        )],
        "xenadm-stream-verify" => {
            vec![("Check a saved stream.", "xenadm stream verify guest.save")]
        }
        "xenadm-stream-relay" => vec![(
            "Watch a live migration.",
            "xl migrate -s \"\" GUEST \"xenadm stream relay | ssh HOST xl migrate-receive\"",
        )],
        "xenadm-vhostmd-check" => vec![(
            "Validate vhostmd's configuration.",
            "xenadm vhostmd check /etc/vhostmd/vhostmd.conf",
        )],
        "xenadm-vhostmd-dump" => vec![(
            "The metrics document of a metrics disk.",
            "xenadm vhostmd dump --disk /dev/shm/vhostmd0",
        )],
        "xenadm-completions" => vec![(
            "Install bash completion.",
            "xenadm completions bash > /etc/bash_completion.d/xenadm",
        )],
        "xenadm-man" => vec![(
            "Write every page.",
            "xenadm man --out-dir /usr/local/share/man/man1",
        )],
        "vhostmd" => vec![
            (
                "Check the configuration.",
                "vhostmd --check-config /etc/vhostmd/vhostmd.conf",
            ),
            (
                "Run in the foreground on a Xen host without libvirt.",
                "vhostmd -d --vm-source xen",
            ),
        ],
        "vm-dump-metrics" => vec![
            ("In a guest: the metrics.", "vm-dump-metrics"),
            (
                "Into a file, from the metrics disk only.",
                "vm-dump-metrics -b -d /tmp/metrics.xml",
            ),
        ],
        _ => Vec::new(),
    }
}

fn see_also(stem: &str) -> String {
    let mut pages: Vec<String> = Vec::new();
    // The parent and the top page.
    if let Some((parent, _)) = stem.rsplit_once('-')
        && stem.starts_with("xenadm-")
    {
        pages.push(format!("{parent}(1)"));
    }
    if stem != "xenadm" {
        pages.push("xenadm(1)".to_string());
    }
    let related: &[&str] = match stem {
        s if s.starts_with("xenadm-cpuid") => &["cpuid(1)", "xl.cfg(5)"],
        s if s.starts_with("xenadm-image") => &["losetup(8)", "fallocate(1)", "truncate(1)"],
        s if s.starts_with("xenadm-boot") => &["grub-mkconfig(8)", "grub-editenv(1)"],
        "xenadm-list" | "xenadm-info" => &["xl(1)"],
        "xenadm-top" => &["xentop(1)", "xl(1)"],
        s if s.starts_with("xenadm-stream") => &["xl(1)"],
        s if s.starts_with("xenadm-vhostmd") => &["vhostmd(8)", "vm-dump-metrics(1)"],
        "vhostmd" => &["vm-dump-metrics(1)", "xenadm-vhostmd(1)"],
        "vm-dump-metrics" => &["vhostmd(8)"],
        "xenadm" => &["xl(1)", "xentop(1)", "vhostmd(8)", "vm-dump-metrics(1)"],
        _ => &[],
    };
    pages.extend(related.iter().map(ToString::to_string));
    pages.dedup();
    pages.join(", ")
}
