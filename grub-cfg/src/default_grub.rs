//! One `/etc/default/grub`-style file (the main file or a `grub.d/*.cfg` drop-in), parsed
//! losslessly.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::config::BootConfig;
use crate::error::GrubCfgError;
use crate::sh::{self, AndOr, Assign, Command, Item, ItemKind, Part, Word};
use crate::text::{LineIndex, decode, read_file};

/// A shell file that grub-mkconfig sources, kept byte for byte.
///
/// Printing an unedited file ([`DefaultGrub::text`] or `Display`) gives back exactly the bytes
/// that were parsed; [`DefaultGrub::set_value`] changes only the value of one assignment.
///
/// ```
/// use std::path::Path;
/// use grub_cfg::DefaultGrub;
///
/// let text = "# Xen\nGRUB_CMDLINE_XEN=\"dom0_mem=4G\"  # keep\n";
/// let file = DefaultGrub::parse(text.as_bytes(), Path::new("/etc/default/grub"))?;
/// assert_eq!(file.to_string(), text);
/// let edited = file.set_value("GRUB_CMDLINE_XEN", "dom0_mem=8G,max:8G")?;
/// assert_eq!(edited.text(), "# Xen\nGRUB_CMDLINE_XEN=\"dom0_mem=8G,max:8G\"  # keep\n");
/// # Ok::<(), grub_cfg::GrubCfgError>(())
/// ```
#[derive(Debug, Clone)]
pub struct DefaultGrub {
    path: PathBuf,
    text: String,
    pub(crate) items: Vec<Item>,
    pub(crate) lines: LineIndex,
}

/// One assignment found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Assignment {
    /// The variable name.
    pub name: String,
    /// 1-based line of the name.
    pub line: usize,
    /// The value exactly as written (quotes and escapes included).
    pub raw_value: String,
    /// Byte range of the value in the file.
    pub value_span: Range<usize>,
    /// Whether the assignment always runs: not inside `if`, a loop, a function or after
    /// `&&`/`||`. Only such an assignment is edited.
    pub unconditional: bool,
    /// Written as `export NAME=...` (or `readonly`/`local`).
    pub declared: bool,
}

impl DefaultGrub {
    /// Parses a file's bytes. `path` is used in errors.
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::Parse`] with the line and column of: binary data, text that is not
    /// UTF-8, an unterminated quote or expansion, a continuation at the end of the file, or
    /// shell syntax that does not parse.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<DefaultGrub, GrubCfgError> {
        let text = decode(bytes, path)?;
        let lines = LineIndex::new(text);
        let items = sh::parse(text).map_err(|(offset, problem)| {
            let (line, column) = lines.line_col(offset);
            GrubCfgError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                problem,
            }
        })?;
        Ok(DefaultGrub {
            path: path.to_path_buf(),
            text: text.to_string(),
            items,
            lines,
        })
    }

    /// Reads and parses a file.
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::NotFound`], [`GrubCfgError::NotARegularFile`], [`GrubCfgError::Read`],
    /// or a parse error as for [`DefaultGrub::parse`].
    pub fn read(path: &Path) -> Result<DefaultGrub, GrubCfgError> {
        DefaultGrub::parse(&read_file(path)?, path)
    }

    /// The file's path (as given).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The text, byte for byte.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Rebuilds the text from the parsed items (blank lines, comments, commands). Always equal
    /// to [`DefaultGrub::text`]: the model loses nothing.
    pub fn print(&self) -> String {
        self.items
            .iter()
            .filter_map(|i| self.text.get(i.span.clone()))
            .collect()
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.lines.line(offset)
    }

    /// Every assignment in the file, in order, including those inside compound commands.
    pub fn assignments(&self) -> Vec<Assignment> {
        let mut out = Vec::new();
        for item in &self.items {
            if let ItemKind::Commands(list) = &item.kind {
                self.collect_list(list, true, &mut out);
            }
        }
        out
    }

    fn collect_list(&self, list: &[AndOr], top: bool, out: &mut Vec<Assignment>) {
        for ao in list {
            let simple_top = top && !ao.background;
            let mut pipelines = vec![(&ao.first, simple_top)];
            pipelines.extend(ao.rest.iter().map(|c| (&c.pipeline, false)));
            for (pipeline, top) in pipelines {
                let top = top && pipeline.commands.len() == 1;
                for command in &pipeline.commands {
                    self.collect_command(command, top, out);
                }
            }
        }
    }

    fn collect_command(&self, command: &Command, top: bool, out: &mut Vec<Assignment>) {
        match command {
            Command::Simple(simple) => {
                let temporary = !simple.words.is_empty() && simple.decl.is_empty();
                for assign in &simple.assigns {
                    out.push(self.assignment(assign, top && !temporary, false));
                }
                for assign in &simple.decl {
                    out.push(self.assignment(assign, top, true));
                }
            }
            Command::Group(list) => self.collect_list(list, top, out),
            Command::Subshell(list) => self.collect_list(list, false, out),
            Command::If { clauses, else_body } => {
                for (cond, body) in clauses {
                    self.collect_list(cond, false, out);
                    self.collect_list(body, false, out);
                }
                if let Some(body) = else_body {
                    self.collect_list(body, false, out);
                }
            }
            Command::Loop { cond, body, .. } => {
                self.collect_list(cond, false, out);
                self.collect_list(body, false, out);
            }
            Command::Case { arms } => {
                for arm in arms {
                    self.collect_list(arm, false, out);
                }
            }
            Command::FunctionDef { body, .. } => self.collect_command(body, false, out),
        }
    }

    fn assignment(&self, assign: &Assign, unconditional: bool, declared: bool) -> Assignment {
        Assignment {
            name: assign.name.clone(),
            line: self.line_of(assign.span.start),
            raw_value: self.text[assign.value.span.clone()].to_string(),
            value_span: assign.value.span.clone(),
            unconditional,
            declared,
        }
    }

    /// A copy of this file with `name`'s value set to `value`: the value of the last
    /// unconditional assignment of `name` is replaced (nothing else changes; the quoting
    /// style is kept when it can hold the value), or, when there is none, a `#name=` template
    /// line is uncommented, or `name="value"` is appended.
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::NotEditable`] when the last assignment of `name` is conditional (an
    /// edit of an earlier one would be overridden); [`GrubCfgError::EditVerification`] when
    /// the edited file would still not give `name` that value (a later `unset`, or an `exit`
    /// before the assignment).
    pub fn set_value(&self, name: &str, value: &str) -> Result<DefaultGrub, GrubCfgError> {
        let assignments = self.assignments();
        let last = assignments.iter().rev().find(|a| a.name == name);
        let (span, replacement) = match last {
            Some(a) if !a.unconditional => {
                return Err(GrubCfgError::NotEditable {
                    variable: name.to_string(),
                    path: self.path.clone(),
                    line: a.line,
                    reason: "its last assignment is conditional (inside `if`, a loop, a function or after `&&`/`||`)".to_string(),
                });
            }
            Some(a) => (a.value_span.clone(), quote_like(&a.raw_value, value)),
            None => self.new_assignment(name, &quote_like("\"\"", value)),
        };
        let edited = self.replaced(span, &replacement)?;
        edited.verify_value(name, value)?;
        Ok(edited)
    }

    /// Checks that running this file alone gives `name` the value `value`: a later `unset`,
    /// or an `exit`/`return` before the edited line, would make the edit a silent no-op. A
    /// value that depends on other files (`. FILE` after the edit) cannot be decided here and
    /// is accepted.
    fn verify_value(&self, name: &str, value: &str) -> Result<(), GrubCfgError> {
        // No root: `. FILE` is not followed, so nothing is read from disk.
        let config = BootConfig::from_files(vec![self.clone()], None)?;
        let variable = config.variable(name);
        if variable.unknown.is_some() || variable.value.as_deref() == Some(value) {
            return Ok(());
        }
        Err(GrubCfgError::EditVerification {
            path: self.path.clone(),
            variable: name.to_string(),
            expected: value.to_string(),
            found: variable.value.unwrap_or_else(|| {
                "unset (a later `unset`, or `exit`/`return` before the assignment)".to_string()
            }),
        })
    }

    /// Where and what to write for a variable that has no assignment: a `#NAME=...` template
    /// line becomes `NAME=value`, or a line is appended.
    pub(crate) fn new_assignment(&self, name: &str, quoted: &str) -> (Range<usize>, String) {
        for item in &self.items {
            if !matches!(item.kind, ItemKind::Comment) {
                continue;
            }
            let line = &self.text[item.span.clone()];
            let body = line.trim_end_matches('\n');
            let uncommented = body.trim_start().trim_start_matches('#').trim_start();
            if body.starts_with('#')
                && uncommented
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('='))
            {
                return (
                    item.span.start..item.span.start + body.len(),
                    format!("{name}={quoted}"),
                );
            }
        }
        let end = self.text.len();
        let newline = if self.text.is_empty() || self.text.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        (end..end, format!("{newline}{name}={quoted}\n"))
    }

    /// A copy with `span` replaced by `replacement`, parsed again.
    pub(crate) fn replaced(
        &self,
        span: Range<usize>,
        replacement: &str,
    ) -> Result<DefaultGrub, GrubCfgError> {
        let mut text = String::with_capacity(self.text.len() + replacement.len());
        text.push_str(&self.text[..span.start]);
        text.push_str(replacement);
        text.push_str(&self.text[span.end..]);
        DefaultGrub::parse(text.as_bytes(), &self.path)
    }
}

impl fmt::Display for DefaultGrub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Characters that mean themselves unquoted, in `'...'` and in `"..."`.
pub(crate) fn is_plain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./,:=+@%^-[]".contains(c)
}

/// `value` quoted for sh so that it reads back as `value`, in the style of `old_raw` when
/// that style can hold it: unquoted, `'...'`, or `"..."` (the default).
pub(crate) fn quote_like(old_raw: &str, value: &str) -> String {
    if old_raw.starts_with('\'') && old_raw.ends_with('\'') && old_raw.len() >= 2 {
        if !value.contains('\'') {
            return format!("'{value}'");
        }
    } else if !old_raw.starts_with('"')
        && !old_raw.is_empty()
        && !value.is_empty()
        && value.chars().all(is_plain_char)
    {
        return value.to_string();
    }
    double_quote(value)
}

/// `"value"` with `\`, `$`, `` ` `` and `"` escaped.
pub(crate) fn double_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '$' | '`' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The quoting of a value word, for in-place token edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quoting {
    /// `NAME=` (empty).
    Empty,
    /// One unquoted word.
    Bare,
    /// `'...'`.
    Single,
    /// `"..."`.
    Double,
    /// Anything else (`"a"'b'`).
    Mixed,
}

/// The quoting style of a value word, and its inner parts with their raw spans.
pub(crate) fn quoting(word: &Word) -> (Quoting, Vec<Part>, Range<usize>) {
    match word.parts.as_slice() {
        [] => (Quoting::Empty, Vec::new(), word.span.clone()),
        [Part::Double { parts, span }] => {
            (Quoting::Double, parts.clone(), span.start + 1..span.end - 1)
        }
        [Part::Single { text, span }] => (
            Quoting::Single,
            vec![Part::Lit {
                text: text.clone(),
                span: span.start + 1..span.end - 1,
            }],
            span.start + 1..span.end - 1,
        ),
        parts
            if parts
                .iter()
                .all(|p| !matches!(p, Part::Single { .. } | Part::Double { .. })) =>
        {
            (Quoting::Bare, parts.to_vec(), word.span.clone())
        }
        parts => (Quoting::Mixed, parts.to_vec(), word.span.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> DefaultGrub {
        DefaultGrub::parse(text.as_bytes(), Path::new("t")).unwrap()
    }

    #[test]
    fn test_set_keeps_style_and_comment() {
        let f = parse("A='x y' # c\nB=z\nC=\"q\"\n");
        assert_eq!(
            f.set_value("A", "1 2").unwrap().text(),
            "A='1 2' # c\nB=z\nC=\"q\"\n"
        );
        assert_eq!(
            f.set_value("B", "w").unwrap().text(),
            "A='x y' # c\nB=w\nC=\"q\"\n"
        );
        assert_eq!(
            f.set_value("B", "w v").unwrap().text(),
            "A='x y' # c\nB=\"w v\"\nC=\"q\"\n"
        );
        assert_eq!(
            f.set_value("C", "$x\"").unwrap().text(),
            "A='x y' # c\nB=z\nC=\"\\$x\\\"\"\n"
        );
    }

    #[test]
    fn test_set_refuses_an_edit_that_would_not_take_effect() {
        for text in [
            "exit\n#GRUB_CMDLINE_XEN=x\n",
            "return",
            "GRUB_CMDLINE_XEN=1\nunset GRUB_CMDLINE_XEN\n",
            "GRUB_CMDLINE_XEN=1\nunset -v GRUB_CMDLINE_XEN # later\n",
        ] {
            let result = parse(text).set_value("GRUB_CMDLINE_XEN", "a=1 b");
            assert!(
                matches!(result, Err(GrubCfgError::EditVerification { ref found, .. }) if found.starts_with("unset")),
                "{text:?}: {result:?}"
            );
        }
        // A later `. FILE` makes the value undecidable from this file alone: accepted.
        let edited = parse("GRUB_CMDLINE_XEN=1\n. /etc/default/grub.d/x.cfg\n")
            .set_value("GRUB_CMDLINE_XEN", "2")
            .unwrap();
        assert!(edited.text().starts_with("GRUB_CMDLINE_XEN=2\n"));
    }

    #[test]
    fn test_set_uncomments_template_or_appends() {
        let f = parse("#GRUB_CMDLINE_XEN=\"\"\nA=1");
        assert_eq!(
            f.set_value("GRUB_CMDLINE_XEN", "x").unwrap().text(),
            "GRUB_CMDLINE_XEN=\"x\"\nA=1"
        );
        assert_eq!(
            f.set_value("B", "y").unwrap().text(),
            "#GRUB_CMDLINE_XEN=\"\"\nA=1\nB=\"y\"\n"
        );
    }

    #[test]
    fn test_set_refuses_conditional_last_assignment() {
        let f = parse("A=1\nif true; then A=2; fi\n");
        assert!(matches!(
            f.set_value("A", "3"),
            Err(GrubCfgError::NotEditable { line: 2, .. })
        ));
    }

    #[test]
    fn test_assignments_flags() {
        let f = parse("A=1 cmd\nexport B=2\nC=3 && D=4\n");
        let a = f.assignments();
        let names: Vec<(&str, bool, bool)> = a
            .iter()
            .map(|a| (a.name.as_str(), a.unconditional, a.declared))
            .collect();
        assert_eq!(
            names,
            [
                ("A", false, false),
                ("B", true, true),
                ("C", true, false),
                ("D", false, false)
            ]
        );
    }
}
