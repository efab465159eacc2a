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
    let (prose, _) = prose(stem);
    let mut extra = Roff::default();
    extra.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in prose.exit {
        extra
            .control("TP", [])
            .text([bold(code)])
            .text([roman(meaning)]);
    }
    for note in prose.notes {
        extra.control("PP", []).text([roman(note)]);
    }
    if !prose.examples.is_empty() {
        extra.control("SH", ["EXAMPLES"]);
        for (command, what) in prose.examples {
            extra
                .control("TP", [])
                .text([bold(command)])
                .text([roman(what)]);
        }
    }
    extra.control("SH", ["SEE ALSO"]);
    extra.text([roman(see_also(stem, &prose.see))]);
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

/// The prose of the pages: EXIT STATUS, EXAMPLES and SEE ALSO texts (the file's head says
/// its format).
const PAGES: &str = include_str!("docs/pages.txt");

/// What pages.txt says for one page.
#[derive(Debug, Default, PartialEq, Eq)]
struct Prose {
    /// (code, meaning), in order of first mention.
    exit: Vec<(&'static str, &'static str)>,
    /// Paragraphs after the exit statuses.
    notes: Vec<&'static str>,
    /// (command, what it does).
    examples: Vec<(&'static str, &'static str)>,
    /// Related pages.
    see: Vec<&'static str>,
}

/// The prose for the page `stem`, and the lines of pages.txt not in its format (a test
/// keeps that empty).
fn prose(stem: &str) -> (Prose, Vec<&'static str>) {
    let mut prose = Prose::default();
    let mut malformed = Vec::new();
    let mut applies = false;
    let mut lines = PAGES.lines().peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(pattern) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            applies = match pattern.strip_suffix('*') {
                Some(prefix) => stem.starts_with(prefix),
                None => stem == pattern,
            };
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            match lines.next_if(|l| l.starts_with("  ")) {
                Some(what) if applies => prose.examples.push((command, what.trim_start())),
                Some(_) => {}
                None => malformed.push(line),
            }
            continue;
        }
        match line.split_once(' ') {
            Some(("exit", text)) => match text.split_once(' ') {
                Some((code, _)) if code.parse::<u8>().is_err() => malformed.push(line),
                None => malformed.push(line),
                Some(_) if !applies => {}
                Some((code, meaning)) => match prose.exit.iter_mut().find(|(c, _)| *c == code) {
                    Some(entry) => entry.1 = meaning,
                    None => prose.exit.push((code, meaning)),
                },
            },
            Some(("note", text)) if applies => prose.notes.push(text),
            Some(("see", text)) if applies => prose.see.extend(text.split(", ")),
            Some(("note" | "see", _)) => {}
            _ => malformed.push(line),
        }
    }
    (prose, malformed)
}

/// The parent page and xenadm(1), then the related pages pages.txt names.
fn see_also(stem: &str, related: &[&str]) -> String {
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
    pages.extend(related.iter().map(ToString::to_string));
    pages.dedup();
    pages.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page's file stem.
    fn stems() -> Vec<String> {
        pages()
            .unwrap()
            .into_iter()
            .map(|(name, _)| name.rsplit_once('.').unwrap().0.to_string())
            .collect()
    }

    #[test]
    fn test_pages_txt_is_well_formed_and_every_section_names_a_page() {
        let (_, malformed) = prose("xenadm");
        assert!(malformed.is_empty(), "{malformed:?}");
        let stems = stems();
        for pattern in PAGES
            .lines()
            .filter_map(|l| l.strip_prefix('[')?.strip_suffix(']'))
        {
            let matches = |stem: &String| match pattern.strip_suffix('*') {
                Some(prefix) => stem.starts_with(prefix),
                None => stem == pattern,
            };
            assert!(stems.iter().any(matches), "[{pattern}] names no page");
        }
    }

    #[test]
    fn test_later_sections_replace_exit_statuses_and_add_new_ones() {
        let (migrate, _) = prose("xenadm-migrate");
        let codes: Vec<&str> = migrate.exit.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, ["0", "1", "2", "3"]);
        assert!(migrate.exit[0].1.starts_with("Moved"));
        let (vhostmd, _) = prose("vhostmd");
        assert!(vhostmd.notes.is_empty(), "the drop-ins are not xenadm");
        assert!(vhostmd.exit[1].1.contains("pid file"));
        assert_eq!(vhostmd.exit[2].1, prose("xenadm").0.exit[2].1);
    }

    /// The sections added after clap_mangen's, byte for byte as they were when the texts were
    /// written in Rust (pages.txt must render the same roff).
    #[test]
    fn test_generated_sections_byte_for_byte() {
        let pages = pages().unwrap();
        let tail = |name: &str| {
            let (_, page) = pages.iter().find(|(n, _)| n == name).unwrap();
            let text = String::from_utf8(page.clone()).unwrap();
            let at = text.find(".SH \"EXIT STATUS\"").unwrap();
            text[at..].to_string()
        };
        assert_eq!(
            tail("xenadm-image-grow.1"),
            r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success.
.TP
\fB1\fR
Failure: the error, its causes and a hint naming the fix are printed on stderr.
.TP
\fB2\fR
Usage error: an unknown command or option, or a missing or malformed argument.
.PP
A closed pipe on standard output (xenadm ... | head) ends the command quietly with status 0, as Unix tools do.
.SH EXAMPLES
.TP
\fBxenadm image grow disk.img \-\-to 40G\fR
Grow to 40 GiB.
.TP
\fBxenadm image grow disk.img \-\-by 10G \-\-allocate\fR
Grow by 10 GiB, reserving the space now.
.TP
\fBxenadm image grow disk.img \-\-to 40G \-\-dry\-run\fR
Say what would be done.
.SH "SEE ALSO"
xenadm\-image(1), xenadm(1), losetup(8), fallocate(1), truncate(1)
"#
        );
        assert_eq!(
            tail("vm-dump-metrics.1"),
            r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success.
.TP
\fB1\fR
No metrics could be read (no disk, a busy or corrupt disk, no answer on the port).
.TP
\fB2\fR
Usage error: an unknown command or option, or a missing or malformed argument.
.SH EXAMPLES
.TP
\fBvm\-dump\-metrics\fR
In a guest: the metrics.
.TP
\fBvm\-dump\-metrics \-b \-d /tmp/metrics.xml\fR
Into a file, from the metrics disk only.
.SH "SEE ALSO"
xenadm(1), vhostmd(8)
"#
        );
        let top = tail("xenadm.1");
        assert!(top.ends_with(
            r#".SH "SEE ALSO"
xl(1), xentop(1), vhostmd(8), vm\-dump\-metrics(1)
"#
        ));
    }
}
