//! grub.cfg: the boot menu grub-mkconfig generates, with its Xen entries.

// Length note: a little over 700 lines with its tests (the code is about 670): one reader of
// grub.cfg's menu structure and GRUB's entry lookup, which share the entry model.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::error::{GrubCfgError, ParseProblem};
use crate::text::{LineIndex, decode, read_file};

/// Commands that load a hypervisor.
const HYPERVISOR_LOADERS: [&str; 3] = ["multiboot2", "multiboot", "xen_hypervisor"];
/// Commands that load a module for it.
const MODULE_LOADERS: [&str; 3] = ["module2", "module", "xen_module"];

/// One `module2`-style line (or `linux`/`initrd`): the command and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct LoadLine {
    /// The command (`module2`, `linux`, ...).
    pub cmd: String,
    /// Its arguments, unquoted (`${var}` references kept as written).
    pub args: Vec<String>,
}

/// One `menuentry`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct MenuEntry {
    /// The title.
    pub title: String,
    /// The id (`--id` or `$menuentry_id_option`); not unique in real menus.
    pub id: Option<String>,
    /// `--class` values.
    pub classes: Vec<String>,
    /// Titles of the enclosing submenus, outermost first.
    pub submenu_path: Vec<String>,
    /// Ids of the enclosing submenus.
    pub submenu_ids: Vec<Option<String>>,
    /// Position at each level, 0-based (GRUB's numeric `1>0>2` form).
    pub index_path: Vec<usize>,
    /// 1-based line of `menuentry`.
    pub line: usize,
    /// The hypervisor loader command (`multiboot2`, `multiboot`, `xen_hypervisor`, or
    /// `chainloader` for a Xen EFI binary).
    pub loader: Option<String>,
    /// The hypervisor image.
    pub hypervisor: Option<String>,
    /// The hypervisor's arguments (including GRUB's `placeholder` and `${xen_rm_opts}`).
    pub hypervisor_args: Vec<String>,
    /// The module lines after it: dom0 kernel, initrds, XSM policy.
    pub modules: Vec<LoadLine>,
    /// A `linux` line (native entries).
    pub linux: Option<LoadLine>,
    /// An `initrd` line (native entries).
    pub initrd: Option<LoadLine>,
    /// Whether the entry has a `savedefault` line.
    pub savedefault: bool,
}

impl MenuEntry {
    /// Whether it boots Xen (decided by the loader command, not by `--class xen`).
    pub fn is_xen(&self) -> bool {
        self.hypervisor.is_some()
    }

    /// Titles from the top: `Advanced options ...>Xen hypervisor, version ...>title`.
    pub fn title_path(&self) -> String {
        let mut parts = self.submenu_path.clone();
        parts.push(self.title.clone());
        parts.join(">")
    }

    /// The Xen arguments without GRUB's `placeholder` and `${xen_rm_opts}`.
    pub fn xen_args(&self) -> Vec<&str> {
        self.hypervisor_args
            .iter()
            .map(String::as_str)
            .filter(|a| *a != "placeholder" && *a != "${xen_rm_opts}")
            .collect()
    }

    /// The dom0 kernel line (the first module line).
    pub fn dom0_kernel(&self) -> Option<&LoadLine> {
        self.modules.iter().find(|m| {
            m.args
                .first()
                .is_some_and(|a| !a.starts_with("--") || m.args.len() > 1)
        })
    }

    /// Whether it is a recovery entry (by its title).
    pub fn is_recovery(&self) -> bool {
        self.title.contains("(recovery mode)")
    }
}

/// One item of a menu level.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum MenuItem {
    /// A bootable entry.
    Entry(Box<MenuEntry>),
    /// A submenu.
    Submenu {
        /// Its title.
        title: String,
        /// Its id.
        id: Option<String>,
        /// 1-based line.
        line: usize,
        /// What it contains.
        items: Vec<MenuItem>,
    },
}

impl MenuItem {
    fn title(&self) -> &str {
        match self {
            MenuItem::Entry(e) => &e.title,
            MenuItem::Submenu { title, .. } => title,
        }
    }

    fn id(&self) -> Option<&str> {
        match self {
            MenuItem::Entry(e) => e.id.as_deref(),
            MenuItem::Submenu { id, .. } => id.as_deref(),
        }
    }
}

/// A parsed grub.cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Menu {
    /// The file.
    pub path: PathBuf,
    /// The top level, in order.
    pub items: Vec<MenuItem>,
    /// The value of the last top-level `set default=...` other than `${next_entry}` (as
    /// 00_header writes it: the configured GRUB_DEFAULT, or `${saved_entry}`).
    pub default: Option<String>,
}

/// One GRUB script word: its unquoted value (borrowed from the text when it is one plain run).
#[derive(Debug, Clone)]
struct ScriptWord<'a> {
    value: Cow<'a, str>,
    quoted: bool,
}

/// One command: words and the byte offset it starts at.
#[derive(Debug, Clone)]
struct ScriptCommand<'a> {
    words: Vec<ScriptWord<'a>>,
    offset: usize,
}

fn owned<'a>() -> ScriptWord<'a> {
    ScriptWord {
        value: Cow::Owned(String::new()),
        quoted: true,
    }
}

/// Bytes that end a plain run inside a word.
const DELIMITER: [bool; 256] = {
    let mut table = [false; 256];
    let mut k = 0;
    let special = b" \t\r\n;\\'\"";
    while k < special.len() {
        table[special[k] as usize] = true;
        k += 1;
    }
    table
};

/// Splits GRUB script into commands (newline or `;` separated).
fn commands(text: &str) -> Result<Vec<ScriptCommand<'_>>, (usize, ParseProblem)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut words: Vec<ScriptWord<'_>> = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    let mut cur: Option<ScriptWord> = None;
    fn finish_word<'a>(cur: &mut Option<ScriptWord<'a>>, words: &mut Vec<ScriptWord<'a>>) {
        if let Some(w) = cur.take() {
            words.push(w);
        }
    }
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' => {
                finish_word(&mut cur, &mut words);
                i += 1;
            }
            b'\n' | b';' => {
                finish_word(&mut cur, &mut words);
                if !words.is_empty() {
                    out.push(ScriptCommand {
                        words: std::mem::take(&mut words),
                        offset: start,
                    });
                }
                i += 1;
            }
            b'#' if cur.is_none() => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\\' => {
                if words.is_empty() && cur.is_none() {
                    start = i;
                }
                match text[i + 1..].chars().next() {
                    Some('\n') => i += 2,
                    Some(ch) => {
                        let w = cur.get_or_insert_with(owned);
                        w.quoted = true;
                        w.value.to_mut().push(ch);
                        i += 1 + ch.len_utf8();
                    }
                    None => return Err((i, ParseProblem::ContinuationAtEof)),
                }
            }
            b'\'' => {
                if words.is_empty() && cur.is_none() {
                    start = i;
                }
                let Some(n) = b[i + 1..].iter().position(|&c| c == b'\'') else {
                    return Err((i, ParseProblem::UnterminatedSingleQuote));
                };
                let w = cur.get_or_insert_with(owned);
                w.quoted = true;
                w.value.to_mut().push_str(&text[i + 1..i + 1 + n]);
                i += n + 2;
            }
            b'"' => {
                if words.is_empty() && cur.is_none() {
                    start = i;
                }
                let open = i;
                i += 1;
                let mut value = String::new();
                loop {
                    match b.get(i) {
                        None => return Err((open, ParseProblem::UnterminatedDoubleQuote)),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => match b.get(i + 1) {
                            Some(b'\n') => i += 2,
                            Some(&e @ (b'$' | b'"' | b'\\')) => {
                                value.push(char::from(e));
                                i += 2;
                            }
                            _ => {
                                value.push('\\');
                                i += 1;
                            }
                        },
                        Some(_) => {
                            let ch = text[i..].chars().next().unwrap_or('\0');
                            value.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                let w = cur.get_or_insert_with(owned);
                w.quoted = true;
                w.value.to_mut().push_str(&value);
            }
            _ => {
                if words.is_empty() && cur.is_none() {
                    start = i;
                }
                // A run of plain bytes at once (all delimiters are ASCII).
                let run = b[i..]
                    .iter()
                    .position(|&c| DELIMITER[usize::from(c)])
                    .map_or(b.len(), |n| i + n);
                match cur.as_mut() {
                    Some(w) => w.value.to_mut().push_str(&text[i..run]),
                    None => {
                        cur = Some(ScriptWord {
                            value: Cow::Borrowed(&text[i..run]),
                            quoted: false,
                        });
                    }
                }
                i = run;
            }
        }
    }
    finish_word(&mut cur, &mut words);
    if !words.is_empty() {
        out.push(ScriptCommand {
            words,
            offset: start,
        });
    }
    Ok(out)
}

fn is_brace(w: &ScriptWord<'_>, brace: &str) -> bool {
    !w.quoted && w.value == brace
}

struct Level {
    kind: LevelKind,
    offset: usize,
    items: Vec<MenuItem>,
}

enum LevelKind {
    Top,
    Submenu { title: String, id: Option<String> },
    Entry(Box<MenuEntry>),
    Function,
}

impl Menu {
    /// Parses grub.cfg text.
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::Parse`] with the line of: binary data, an unterminated quote, a
    /// `menuentry`/`submenu`/`function` block that is never closed, or a stray `}`.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Menu, GrubCfgError> {
        let text = decode(bytes, path)?;
        let lines = LineIndex::new(text);
        let located = |(offset, problem): (usize, ParseProblem)| {
            let (line, column) = lines.line_col(offset);
            GrubCfgError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                problem,
            }
        };
        let cmds = commands(text).map_err(located)?;
        let mut stack = vec![Level {
            kind: LevelKind::Top,
            offset: 0,
            items: Vec::new(),
        }];
        let mut default = None;
        for cmd in cmds {
            let Some(first) = cmd.words.first() else {
                continue;
            };
            let opens = cmd.words.last().is_some_and(|w| is_brace(w, "{"));
            let name = if first.quoted {
                ""
            } else {
                first.value.as_ref()
            };
            match name {
                "menuentry" | "submenu" if opens => {
                    let args = &cmd.words[1..cmd.words.len() - 1];
                    let title = args
                        .first()
                        .map(|w| w.value.to_string())
                        .unwrap_or_default();
                    let mut id = None;
                    let mut classes = Vec::new();
                    let mut k = 1;
                    while k < args.len() {
                        let a = &args[k].value;
                        if (a == "--id" || a == "$menuentry_id_option") && k + 1 < args.len() {
                            id = Some(args[k + 1].value.to_string());
                            k += 2;
                            continue;
                        }
                        if a == "--class" && k + 1 < args.len() {
                            classes.push(args[k + 1].value.to_string());
                            k += 2;
                            continue;
                        }
                        if let Some(v) = a.strip_prefix("--id=") {
                            id = Some(v.to_string());
                        }
                        k += 1;
                    }
                    let kind = if name == "submenu" {
                        LevelKind::Submenu { title, id }
                    } else {
                        let (path, ids) = path_of(&stack);
                        LevelKind::Entry(Box::new(MenuEntry {
                            title,
                            id,
                            classes,
                            submenu_path: path,
                            submenu_ids: ids,
                            index_path: Vec::new(),
                            line: lines.line(cmd.offset),
                            loader: None,
                            hypervisor: None,
                            hypervisor_args: Vec::new(),
                            modules: Vec::new(),
                            linux: None,
                            initrd: None,
                            savedefault: false,
                        }))
                    };
                    stack.push(Level {
                        kind,
                        offset: cmd.offset,
                        items: Vec::new(),
                    });
                }
                "function" if opens => stack.push(Level {
                    kind: LevelKind::Function,
                    offset: cmd.offset,
                    items: Vec::new(),
                }),
                "}" if cmd.words.len() == 1 => {
                    if stack.len() < 2 {
                        return Err(located((
                            cmd.offset,
                            ParseProblem::Unexpected {
                                found: "`}`".to_string(),
                                expected: "a command (no block is open)",
                            },
                        )));
                    }
                    let Some(level) = stack.pop() else { break };
                    let item = match level.kind {
                        LevelKind::Entry(entry) => Some(MenuItem::Entry(entry)),
                        LevelKind::Submenu { title, id } => Some(MenuItem::Submenu {
                            title,
                            id,
                            line: lines.line(level.offset),
                            items: level.items,
                        }),
                        LevelKind::Function | LevelKind::Top => None,
                    };
                    if let (Some(item), Some(parent)) = (item, stack.last_mut()) {
                        parent.items.push(item);
                    }
                }
                _ => {
                    let in_top = stack.len() == 1;
                    if let Some(Level {
                        kind: LevelKind::Entry(entry),
                        ..
                    }) = stack.last_mut()
                    {
                        entry_command(entry, &cmd);
                    } else if in_top && name == "set" {
                        // 00_header: `set default="${next_entry}"` for a one-time boot,
                        // else the configured default.
                        if let Some(v) = cmd
                            .words
                            .get(1)
                            .and_then(|w| w.value.strip_prefix("default="))
                            .filter(|v| *v != "${next_entry}")
                        {
                            default = Some(v.to_string());
                        }
                    }
                }
            }
        }
        if stack.len() > 1 {
            let open = stack.last().map_or(0, |l| l.offset);
            let keyword = match stack.last().map(|l| &l.kind) {
                Some(LevelKind::Submenu { .. }) => "submenu",
                Some(LevelKind::Function) => "function",
                _ => "menuentry",
            };
            return Err(located((
                open,
                ParseProblem::Unclosed {
                    keyword,
                    expected: "}",
                },
            )));
        }
        let mut items = stack.pop().map(|l| l.items).unwrap_or_default();
        number(&mut items, &[]);
        Ok(Menu {
            path: path.to_path_buf(),
            items,
            default,
        })
    }

    /// Reads and parses a grub.cfg.
    ///
    /// # Errors
    ///
    /// As for [`Menu::parse`], plus [`GrubCfgError::NotFound`] and [`GrubCfgError::Read`].
    pub fn read(path: &Path) -> Result<Menu, GrubCfgError> {
        Menu::parse(&read_file(path)?, path)
    }

    /// Every entry, depth first, in menu order.
    pub fn entries(&self) -> Vec<&MenuEntry> {
        fn walk<'a>(items: &'a [MenuItem], out: &mut Vec<&'a MenuEntry>) {
            for item in items {
                match item {
                    MenuItem::Entry(e) => out.push(e),
                    MenuItem::Submenu { items, .. } => walk(items, out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut out);
        out
    }

    /// The entries that boot Xen.
    pub fn xen_entries(&self) -> Vec<&MenuEntry> {
        self.entries().into_iter().filter(|e| e.is_xen()).collect()
    }

    /// The entry GRUB picks for a `default`/`saved_entry` value: `>`-separated parts, each a
    /// number (position), a title or an id, matched at its level with the first match
    /// winning, as GRUB does.
    pub fn resolve(&self, spec: &str) -> Option<&MenuEntry> {
        let mut items = &self.items;
        let parts: Vec<&str> = spec.split('>').collect();
        for (n, part) in parts.iter().enumerate() {
            let item = if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse::<usize>().ok().and_then(|i| items.get(i))
            } else {
                items
                    .iter()
                    .find(|i| i.title() == *part || i.id() == Some(*part))
            }?;
            match item {
                MenuItem::Entry(e) if n + 1 == parts.len() => return Some(e),
                MenuItem::Submenu { items: inner, .. } if n + 1 < parts.len() => items = inner,
                _ => return None,
            }
        }
        None
    }

    /// A `saved_entry` value that selects the entry the user named (a title, an id, a
    /// number or a `>` path): the spec itself when GRUB resolves it to a unique match,
    /// otherwise the title path, id path or numeric path of the one entry it names.
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::UnknownEntry`] or [`GrubCfgError::AmbiguousEntry`].
    pub fn entry_spec(&self, spec: &str) -> Result<(String, &MenuEntry), GrubCfgError> {
        let all = self.entries();
        let matches: Vec<&MenuEntry> = all
            .iter()
            .copied()
            .filter(|e| e.title == spec || e.id.as_deref() == Some(spec) || e.title_path() == spec)
            .collect();
        if let Some(hit) = self.resolve(spec)
            && (matches.len() <= 1
                || spec.contains('>')
                || spec.bytes().all(|b| b.is_ascii_digit()))
        {
            return Ok((spec.to_string(), hit));
        }
        let target = match matches.as_slice() {
            [] => {
                return Err(GrubCfgError::UnknownEntry {
                    entry: spec.to_string(),
                    path: self.path.clone(),
                });
            }
            [one] => *one,
            many => {
                return Err(GrubCfgError::AmbiguousEntry {
                    entry: spec.to_string(),
                    path: self.path.clone(),
                    count: many.len(),
                });
            }
        };
        let by_ids = {
            let mut parts: Vec<String> = target
                .submenu_ids
                .iter()
                .map(|i| i.clone().unwrap_or_default())
                .collect();
            parts.push(target.id.clone().unwrap_or_default());
            parts.join(">")
        };
        let by_index = target
            .index_path
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(">");
        for candidate in [target.title_path(), by_ids, by_index] {
            if self.resolve(&candidate) == Some(target) {
                return Ok((candidate, target));
            }
        }
        Err(GrubCfgError::AmbiguousEntry {
            entry: spec.to_string(),
            path: self.path.clone(),
            count: matches.len(),
        })
    }
}

fn path_of(stack: &[Level]) -> (Vec<String>, Vec<Option<String>>) {
    stack
        .iter()
        .filter_map(|l| match &l.kind {
            LevelKind::Submenu { title, id } => Some((title.clone(), id.clone())),
            _ => None,
        })
        .unzip()
}

/// Fills in `index_path` of every entry.
fn number(items: &mut [MenuItem], prefix: &[usize]) {
    for (i, item) in items.iter_mut().enumerate() {
        let mut path = prefix.to_vec();
        path.push(i);
        match item {
            MenuItem::Entry(e) => e.index_path = path,
            MenuItem::Submenu { items, .. } => number(items, &path),
        }
    }
}

fn entry_command(entry: &mut MenuEntry, cmd: &ScriptCommand<'_>) {
    let Some(first) = cmd.words.first() else {
        return;
    };
    let name: &str = &first.value;
    let args = || -> Vec<String> { cmd.words[1..].iter().map(|w| w.value.to_string()).collect() };
    let line = |name: &str| LoadLine {
        cmd: name.to_string(),
        args: args(),
    };
    if HYPERVISOR_LOADERS.contains(&name) && entry.hypervisor.is_none() {
        entry.loader = Some(name.to_string());
        let mut rest = args().into_iter();
        entry.hypervisor = rest.next();
        entry.hypervisor_args = rest.collect();
    } else if MODULE_LOADERS.contains(&name) && entry.hypervisor.is_some() {
        entry.modules.push(line(name));
    } else if name == "chainloader"
        && entry.hypervisor.is_none()
        && cmd.words.get(1).is_some_and(|p| {
            let file = p.value.rsplit('/').next().unwrap_or(&p.value);
            file.starts_with("xen") && file.ends_with(".efi")
        })
    {
        entry.loader = Some(name.to_string());
        let mut rest = args().into_iter();
        entry.hypervisor = rest.next();
        entry.hypervisor_args = rest.collect();
    } else if matches!(name, "linux" | "linux16" | "linuxefi") {
        entry.linux = Some(line(name));
    } else if matches!(name, "initrd" | "initrd16" | "initrdefi") {
        entry.initrd = Some(line(name));
    } else if name == "savedefault" {
        entry.savedefault = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = "set default=\"0\"\nmenuentry 'A' --class os $menuentry_id_option 'a-id' {\n\tlinux /vmlinuz root=/dev/sda ro\n}\nsubmenu 'Adv' $menuentry_id_option 'adv' {\n\tmenuentry 'X '\\''q'\\''' --class xen {\n\t\tmultiboot2 /boot/xen.gz placeholder dom0_mem=1G ${xen_rm_opts}\n\t\tmodule2 /boot/vmlinuz placeholder root=x\n\t\tmodule2 --nounzip /boot/initrd\n\t\tsavedefault\n\t}\n}\n";

    #[test]
    fn test_parse_nested_xen_entry() {
        let menu = Menu::parse(CFG.as_bytes(), Path::new("grub.cfg")).unwrap();
        assert_eq!(menu.default.as_deref(), Some("0"));
        let entries = menu.entries();
        assert_eq!(entries.len(), 2);
        let xen = menu.xen_entries();
        assert_eq!(xen.len(), 1);
        let e = xen[0];
        assert_eq!(e.title, "X 'q'");
        assert_eq!(e.submenu_path, ["Adv"]);
        assert_eq!(e.index_path, [1, 0]);
        assert_eq!(e.xen_args(), ["dom0_mem=1G"]);
        assert_eq!(e.modules.len(), 2);
        assert!(e.savedefault);
        assert_eq!(menu.resolve("1>0"), Some(e));
        assert_eq!(menu.resolve("adv>X 'q'"), Some(e));
        assert_eq!(menu.entry_spec("X 'q'").unwrap().0, "Adv>X 'q'");
        assert!(menu.resolve("Adv").is_none());
    }

    #[test]
    fn test_errors() {
        let err = Menu::parse(b"menuentry 'a' {\n", Path::new("g")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "g:1:1: `menuentry` is never closed: expected `}`"
        );
        assert!(Menu::parse(b"}\n", Path::new("g")).is_err());
        assert!(Menu::parse(b"echo 'x\n", Path::new("g")).is_err());
    }
}
