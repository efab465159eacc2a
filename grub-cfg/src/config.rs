//! The boot configuration of a system: /etc/default/grub plus its grub.d drop-ins, sourced in
//! order, with the Xen variables, their options, and safe edits.

use std::fmt;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::default_grub::{DefaultGrub, Quoting, double_quote, quoting};
use crate::error::GrubCfgError;
use crate::eval::{Evaluation, Site, Val, Why, evaluate};
use crate::sh::Part;
use crate::text::{in_root, resolve_in_root};
use crate::write::{WriteOptions, WriteReport, replace_file};
use crate::xen::{self, Finding, Severity, XenOption, XenVersion};

mod winning;

/// The main file, relative to the system root.
pub const DEFAULT_GRUB: &str = "/etc/default/grub";
/// The drop-in folder Debian's grub-mkconfig sources after the main file.
pub const DEFAULT_GRUB_D: &str = "/etc/default/grub.d";

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct SourceLine {
    /// The file (below the root given).
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
}

impl fmt::Display for SourceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// Why a value cannot be known without running the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct UnknownValue {
    /// What makes it unknown (e.g. "is computed by a command substitution ...").
    pub reason: String,
    /// Where.
    pub at: SourceLine,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.reason)
    }
}

/// A variable after sourcing the files in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Variable {
    /// The name.
    pub name: String,
    /// Its value, when set and known.
    pub value: Option<String>,
    /// Why the value is unknown, when it is.
    pub unknown: Option<UnknownValue>,
    /// The assignment that decides the value (the last one that ran).
    pub source: Option<SourceLine>,
    /// Every assignment met, in sourcing order.
    pub assignments: Vec<SourceLine>,
}

/// The two variables that make the hypervisor command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum XenVariable {
    /// `GRUB_CMDLINE_XEN`: every Xen entry, recovery included.
    #[cfg_attr(feature = "serde", serde(rename = "GRUB_CMDLINE_XEN"))]
    Xen,
    /// `GRUB_CMDLINE_XEN_DEFAULT`: normal (not recovery) Xen entries, after GRUB_CMDLINE_XEN.
    #[cfg_attr(feature = "serde", serde(rename = "GRUB_CMDLINE_XEN_DEFAULT"))]
    XenDefault,
}

impl XenVariable {
    /// The shell variable's name.
    pub fn name(self) -> &'static str {
        match self {
            XenVariable::Xen => "GRUB_CMDLINE_XEN",
            XenVariable::XenDefault => "GRUB_CMDLINE_XEN_DEFAULT",
        }
    }

    pub(crate) fn other(self) -> XenVariable {
        match self {
            XenVariable::Xen => XenVariable::XenDefault,
            XenVariable::XenDefault => XenVariable::Xen,
        }
    }
}

impl fmt::Display for XenVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The variables `xenadm boot show` reports, in this order.
pub const BOOT_VARIABLES: [&str; 5] = [
    "GRUB_CMDLINE_XEN",
    "GRUB_CMDLINE_XEN_DEFAULT",
    "GRUB_CMDLINE_LINUX_XEN_REPLACE",
    "GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT",
    "GRUB_DEFAULT",
];

/// One Xen option and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct SourcedOption {
    /// The option, split as Xen splits it.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub option: XenOption,
    /// The variable it is in.
    pub variable: XenVariable,
    /// The line it is written on.
    pub source: Option<SourceLine>,
}

/// A finding of `check`, with where the option is written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct LocatedFinding {
    /// What was found.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub finding: Finding,
    /// The variable, when the finding is about an option.
    pub variable: Option<XenVariable>,
    /// Where the option is written.
    pub source: Option<SourceLine>,
}

impl fmt::Display for LocatedFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(source) = &self.source {
            write!(f, "{source}: ")?;
        }
        write!(f, "{}: {}", self.finding.severity, self.finding)
    }
}

/// What `check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CheckReport {
    /// The option table used.
    pub xen_version: XenVersion,
    /// The Xen line of normal entries (GRUB_CMDLINE_XEN then GRUB_CMDLINE_XEN_DEFAULT).
    pub options: Vec<SourcedOption>,
    /// Problems, in line order.
    pub findings: Vec<LocatedFinding>,
}

impl CheckReport {
    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.finding.severity == severity)
            .count()
    }
}

/// One file an edit changes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct FileEdit {
    /// The file.
    pub path: PathBuf,
    /// First changed line (1-based, in the old text).
    pub line: usize,
    /// The changed lines before.
    pub old_lines: Vec<String>,
    /// The changed lines after.
    pub new_lines: Vec<String>,
    #[cfg_attr(feature = "serde", serde(skip))]
    old_text: String,
    #[cfg_attr(feature = "serde", serde(skip))]
    new_text: String,
}

impl FileEdit {
    fn new(path: &Path, old_text: &str, new_text: &str) -> FileEdit {
        let old: Vec<&str> = old_text.split_inclusive('\n').collect();
        let new: Vec<&str> = new_text.split_inclusive('\n').collect();
        let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
        let suffix = old[prefix..]
            .iter()
            .rev()
            .zip(new[prefix..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let strip = |l: &&str| l.trim_end_matches('\n').to_string();
        FileEdit {
            path: path.to_path_buf(),
            line: prefix + 1,
            old_lines: old[prefix..old.len() - suffix].iter().map(strip).collect(),
            new_lines: new[prefix..new.len() - suffix].iter().map(strip).collect(),
            old_text: old_text.to_string(),
            new_text: new_text.to_string(),
        }
    }

    /// The whole new text of the file.
    pub fn new_text(&self) -> &str {
        &self.new_text
    }
}

/// A planned change of one Xen variable: what changes where. Nothing is written until
/// [`Edit::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Edit {
    /// The variable edited.
    pub variable: XenVariable,
    /// Its options before.
    pub before: Vec<String>,
    /// Its options after.
    pub after: Vec<String>,
    /// The other Xen variable, when the edit had to change it too for the value asked for
    /// to be the one that takes effect (see [`BootConfig::plan_set`]).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub also: Vec<VariableChange>,
    /// The files that change (empty when nothing changes).
    pub files: Vec<FileEdit>,
    /// Things to know (the other variable overrides it, an option was not set, ...).
    pub warnings: Vec<String>,
}

impl Edit {
    /// Whether nothing changes.
    pub fn is_noop(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes the files: temp file, fsync, rename, fsync folder, mode and owner kept, backup
    /// next to each; refused when a file changed since it was read.
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::Changed`], [`GrubCfgError::Write`], [`GrubCfgError::Read`].
    pub fn apply(&self, options: &WriteOptions) -> Result<Vec<WriteReport>, GrubCfgError> {
        self.files
            .iter()
            .map(|f| {
                replace_file(
                    &f.path,
                    f.old_text.as_bytes(),
                    f.new_text.as_bytes(),
                    options,
                )
            })
            .collect()
    }
}

/// How a second variable changes within one [`Edit`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct VariableChange {
    /// The variable.
    pub variable: XenVariable,
    /// Its options before.
    pub before: Vec<String>,
    /// Its options after.
    pub after: Vec<String>,
}

/// How to treat invalid options in [`BootConfig::plan_set`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetOptions {
    /// The variable: GRUB_CMDLINE_XEN (default) or GRUB_CMDLINE_XEN_DEFAULT.
    pub variable: XenVariable,
    /// The option table to validate against.
    pub xen_version: XenVersion,
    /// Set options even when validation finds errors.
    pub force: bool,
}

impl Default for SetOptions {
    fn default() -> SetOptions {
        SetOptions {
            variable: XenVariable::Xen,
            xen_version: XenVersion::V4_17,
            force: false,
        }
    }
}

/// /etc/default/grub and its drop-ins of one system, evaluated.
#[derive(Debug, Clone)]
pub struct BootConfig {
    root: PathBuf,
    /// How many of `eval.files` were given (the rest were sourced with `.`).
    top_files: usize,
    eval: Evaluation,
}

/// One token of an assignment's value.
#[derive(Debug, Clone)]
struct Token {
    raw: Range<usize>,
    text: String,
    kind: TokenKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TokenKind {
    /// Literal text only.
    Literal,
    /// Exactly `$NAME` / `${NAME}`.
    Ref(String),
    /// Anything else (expansion with operators, command substitution, escaped blanks).
    Complex,
}

/// A token being read.
#[derive(Debug, Default)]
struct Pending {
    start: usize,
    end: usize,
    text: String,
    /// `$NAME` references in it.
    refs: Vec<String>,
    /// Whether it has literal characters.
    literal: bool,
    /// Whether it has anything else (expansion with an operator, substitution, continuation).
    complex: bool,
}

impl Pending {
    fn at(start: usize) -> Pending {
        Pending {
            start,
            end: start,
            ..Pending::default()
        }
    }
}

/// Where an option of the flattened chain comes from.
#[derive(Debug, Clone)]
struct ChainOption {
    text: String,
    /// (index in the chain, token index) when the option is one literal token there.
    token: Option<(usize, usize)>,
    site: usize,
}

impl BootConfig {
    /// Reads `<root>/etc/default/grub` and, when the folder exists,
    /// `<root>/etc/default/grub.d/*.cfg` in glob order (as Debian's grub-mkconfig sources
    /// them), following `. /absolute/file` below the root.
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::NotFound`] when there is no /etc/default/grub; a read or parse error
    /// (file:line:column) of any file.
    pub fn load(root: &Path) -> Result<BootConfig, GrubCfgError> {
        let main = resolve_in_root(root, &in_root(root, DEFAULT_GRUB));
        let mut files = vec![Arc::new(DefaultGrub::read(&main)?)];
        let dir = in_root(root, DEFAULT_GRUB_D);
        if let Ok(entries) = fs::read_dir(&dir) {
            let mut dropins: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "cfg"))
                .collect();
            dropins.sort_by(|a, b| {
                a.as_os_str()
                    .as_encoded_bytes()
                    .cmp(b.as_os_str().as_encoded_bytes())
            });
            for path in dropins {
                let path = resolve_in_root(root, &path);
                if path.is_file() {
                    files.push(Arc::new(DefaultGrub::read(&path)?));
                }
            }
        }
        Ok(BootConfig {
            root: root.to_path_buf(),
            top_files: files.len(),
            eval: evaluate(files, Some(root), &[])?,
        })
    }

    /// Evaluates already parsed files in order (no file system access except for
    /// `. /absolute/file`, which is followed below `root` when given).
    ///
    /// # Errors
    ///
    /// A read or parse error of a file sourced with `.`.
    pub fn from_files(
        files: Vec<DefaultGrub>,
        root: Option<&Path>,
    ) -> Result<BootConfig, GrubCfgError> {
        let files: Vec<Arc<DefaultGrub>> = files.into_iter().map(Arc::new).collect();
        Ok(BootConfig {
            root: root.map_or_else(PathBuf::new, Path::to_path_buf),
            top_files: files.len(),
            eval: evaluate(files, root, &[])?,
        })
    }

    /// The system root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The files read, in sourcing order.
    pub fn files(&self) -> Vec<&Path> {
        self.eval.files.iter().map(|f| f.path()).collect()
    }

    /// Where sourcing stopped early or became unpredictable (an `exit`, `eval`, `. file`
    /// xenadm cannot follow), as warnings.
    pub fn notes(&self) -> Vec<UnknownValue> {
        let mut out = Vec::new();
        if let Some(why) = &self.eval.taint {
            out.push(self.unknown(why));
        }
        if let Some(why) = &self.eval.may_exit {
            out.push(self.unknown(why));
        }
        out
    }

    fn line(&self, file: usize, offset: usize) -> SourceLine {
        let doc = &self.eval.files[file];
        SourceLine {
            path: doc.path().to_path_buf(),
            line: doc.line_of(offset),
        }
    }

    fn unknown(&self, why: &Why) -> UnknownValue {
        UnknownValue {
            reason: why.what.clone(),
            at: self.line(why.file, why.offset),
        }
    }

    /// A variable's value and sources.
    pub fn variable(&self, name: &str) -> Variable {
        let state = self.eval.vars.get(name);
        let history = state.map(|s| s.history.as_slice()).unwrap_or(&[]);
        let assignments: Vec<SourceLine> = history
            .iter()
            .map(|s| self.line(s.file, s.assign.span.start))
            .collect();
        let (value, unknown) = match self.eval.value(name) {
            Some(Val::Known(v)) => (Some(v), None),
            Some(Val::Unknown(why)) => (None, Some(self.unknown(&why))),
            None => (None, None),
        };
        Variable {
            name: name.to_string(),
            value,
            unknown,
            source: assignments.last().cloned(),
            assignments,
        }
    }

    /// Every variable assigned in the files, by name.
    pub fn variables(&self) -> Vec<Variable> {
        self.eval.vars.keys().map(|n| self.variable(n)).collect()
    }

    /// The options of one Xen variable with the line each is written on, or why its value
    /// is unknown.
    pub fn xen_options(&self, variable: XenVariable) -> Result<Vec<SourcedOption>, UnknownValue> {
        let name = variable.name();
        let value = match self.eval.value(name) {
            None => return Ok(Vec::new()),
            Some(Val::Unknown(why)) => return Err(self.unknown(&why)),
            Some(Val::Known(v)) => v,
        };
        // As GRUB passes them: split on blanks, joined with single spaces, then Xen splits.
        let words: Vec<&str> = value.split_whitespace().collect();
        let located = self.chain(name).ok().and_then(|chain| {
            let flat = self.flatten(name, &chain).ok()?;
            (flat
                .iter()
                .map(|o| o.text.as_str())
                .eq(words.iter().copied()))
            .then_some((chain, flat))
        });
        let fallback = self.variable(name).source;
        // Where each token of each assignment starts, worked out once: per word it would make
        // a long value quadratic.
        let token_starts: Vec<Vec<usize>> = located.as_ref().map_or_else(Vec::new, |(chain, _)| {
            chain
                .iter()
                .map(|site| {
                    self.layout(site)
                        .map(|l| l.2.iter().map(|t| t.raw.start).collect())
                        .unwrap_or_default()
                })
                .collect()
        });
        Ok(words
            .iter()
            .enumerate()
            .map(|(i, word)| {
                let source = match &located {
                    Some((chain, flat)) => flat.get(i).map(|o| {
                        let site = &chain[o.site];
                        let offset = match o.token {
                            Some((c, t)) => token_starts
                                .get(c)
                                .and_then(|starts| starts.get(t).copied())
                                .unwrap_or(site.assign.span.start),
                            None => site.assign.span.start,
                        };
                        self.line(site.file, offset)
                    }),
                    None => fallback.clone(),
                };
                SourcedOption {
                    option: XenOption::parse(word),
                    variable,
                    source,
                }
            })
            .collect())
    }

    /// Validates the Xen line of normal entries (GRUB_CMDLINE_XEN then
    /// GRUB_CMDLINE_XEN_DEFAULT) against the option table of `version`.
    pub fn check(&self, version: XenVersion) -> CheckReport {
        let mut options = Vec::new();
        let mut findings = Vec::new();
        for variable in [XenVariable::Xen, XenVariable::XenDefault] {
            match self.xen_options(variable) {
                Ok(opts) => options.extend(opts),
                Err(unknown) => findings.push(LocatedFinding {
                    finding: Finding {
                        severity: Severity::Warning,
                        kind: xen::FindingKind::NotCheckable,
                        option: None,
                        message: format!(
                            "{} cannot be checked: it {}",
                            variable.name(),
                            unknown.reason
                        ),
                        suggestions: Vec::new(),
                    },
                    variable: Some(variable),
                    source: Some(unknown.at),
                }),
            }
        }
        let parsed: Vec<XenOption> = options.iter().map(|o| o.option.clone()).collect();
        for (option, found) in options.iter().zip(xen::check_line(version, &parsed)) {
            for finding in found {
                findings.push(LocatedFinding {
                    finding,
                    variable: Some(option.variable),
                    source: option.source.clone(),
                });
            }
        }
        CheckReport {
            xen_version: version,
            options,
            findings,
        }
    }

    /// The assignments that build the variable's final value: the last one, and, while an
    /// assignment refers to the variable itself (`X="$X more"`), the one before it.
    fn chain(&self, name: &str) -> Result<Vec<Site>, String> {
        let history = self
            .eval
            .vars
            .get(name)
            .map(|s| s.history.clone())
            .unwrap_or_default();
        let mut chain = Vec::new();
        let mut index = history.len();
        while index > 0 {
            index -= 1;
            let site = history[index].clone();
            let (_, _, tokens) = self.layout(&site)?;
            let self_ref = tokens
                .iter()
                .any(|t| t.kind == TokenKind::Ref(name.to_string()));
            chain.push(site);
            if !self_ref {
                break;
            }
        }
        chain.reverse();
        Ok(chain)
    }

    /// The value's quoting, inner range and tokens.
    fn layout(&self, site: &Site) -> Result<(Quoting, Range<usize>, Vec<Token>), String> {
        let (quoting, parts, inner) = quoting(&site.assign.value);
        if quoting == Quoting::Mixed {
            return Err("its value is quoted in several pieces".to_string());
        }
        let mut tokens = Vec::new();
        let mut current: Option<Pending> = None;
        let close = |current: &mut Option<Pending>, tokens: &mut Vec<Token>| {
            if let Some(p) = current.take() {
                let kind = if p.complex || p.text.contains(char::is_whitespace) {
                    TokenKind::Complex
                } else if p.refs.len() == 1 && !p.literal {
                    TokenKind::Ref(p.refs.into_iter().next().unwrap_or_default())
                } else if p.refs.is_empty() {
                    TokenKind::Literal
                } else {
                    TokenKind::Complex
                };
                tokens.push(Token {
                    raw: p.start..p.end,
                    text: p.text,
                    kind,
                });
            }
        };
        for part in &parts {
            let span = part.span();
            match part {
                Part::Lit { text: lit, span } => {
                    for (i, ch) in lit.char_indices() {
                        let at = span.start + i;
                        if matches!(ch, ' ' | '\t' | '\n') {
                            close(&mut current, &mut tokens);
                        } else {
                            let cur = current.get_or_insert_with(|| Pending::at(at));
                            cur.end = at + ch.len_utf8();
                            cur.text.push(ch);
                            cur.literal = true;
                        }
                    }
                }
                Part::Cont { .. } => {
                    if let Some(cur) = current.as_mut() {
                        cur.end = span.end;
                        cur.complex = true;
                    }
                }
                Part::Escaped { ch, .. } => {
                    let cur = current.get_or_insert_with(|| Pending::at(span.start));
                    cur.end = span.end;
                    cur.text.push(*ch);
                    cur.literal = true;
                }
                Part::Param { name, op: None, .. } => {
                    let cur = current.get_or_insert_with(|| Pending::at(span.start));
                    cur.end = span.end;
                    cur.refs.push(name.clone());
                }
                _ => {
                    let cur = current.get_or_insert_with(|| Pending::at(span.start));
                    cur.end = span.end;
                    cur.complex = true;
                }
            }
        }
        close(&mut current, &mut tokens);
        Ok((quoting, inner, tokens))
    }

    /// The options of the chain in order, each with the token it comes from.
    fn flatten(&self, name: &str, chain: &[Site]) -> Result<Vec<ChainOption>, String> {
        let mut out: Vec<ChainOption> = Vec::new();
        for (c, site) in chain.iter().enumerate() {
            let (_, _, tokens) = self.layout(site)?;
            let mut next = Vec::new();
            for (t, token) in tokens.iter().enumerate() {
                match &token.kind {
                    TokenKind::Literal => next.push(ChainOption {
                        text: token.text.clone(),
                        token: Some((c, t)),
                        site: c,
                    }),
                    TokenKind::Ref(r) if r == name => next.append(&mut out),
                    TokenKind::Ref(r) => match self.eval.value(r) {
                        Some(Val::Known(v)) => {
                            next.extend(v.split_whitespace().map(|w| ChainOption {
                                text: w.to_string(),
                                token: None,
                                site: c,
                            }));
                        }
                        None => {}
                        Some(Val::Unknown(_)) => {
                            return Err(format!("it uses ${r}, whose value xenadm cannot know"));
                        }
                    },
                    TokenKind::Complex => {
                        return Err(format!(
                            "part of its value (`{}`) is computed or escaped",
                            &self.eval.files[site.file].text()[token.raw.clone()]
                        ));
                    }
                }
            }
            out = next;
        }
        Ok(out)
    }

    /// `set` on one variable only (see [`BootConfig::plan_set`] for the public one, which
    /// also keeps the other variable from overriding the new value).
    fn plan_set_in(
        &self,
        opts: &[&str],
        options: &SetOptions,
    ) -> Result<(Edit, Vec<XenOption>), GrubCfgError> {
        let mut new = Vec::new();
        for raw in opts {
            let option = validate_token(raw)?;
            if !options.force {
                let errors: Vec<String> = xen::check_option(options.xen_version, &option)
                    .into_iter()
                    .filter(|f| f.severity == Severity::Error)
                    .map(|f| f.to_string())
                    .collect();
                if !errors.is_empty() {
                    return Err(GrubCfgError::InvalidOption {
                        option: (*raw).to_string(),
                        reason: errors.join("; "),
                    });
                }
            }
            new.push(option);
        }
        let edit = self.plan(options.variable, |flat| {
            // Simulate the options in order: the list after each, then the operations.
            let mut state: Vec<Option<String>> = flat.iter().map(|o| Some(o.0.clone())).collect();
            let mut appended: Vec<String> = Vec::new();
            let id = |t: &str| XenOption::parse(t).identity().to_string();
            for option in &new {
                let wanted = option.identity();
                let originals: Vec<usize> = state
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.as_deref().is_some_and(|t| id(t) == wanted))
                    .map(|(i, _)| i)
                    .collect();
                let in_appended = appended.iter().any(|t| id(t) == wanted);
                if in_appended {
                    for i in originals {
                        state[i] = None;
                    }
                    appended.retain(|t| id(t) != wanted);
                    appended.push(option.raw.clone());
                } else if let Some((last, earlier)) = originals.split_last() {
                    for &i in earlier {
                        state[i] = None;
                    }
                    state[*last] = Some(option.raw.clone());
                } else {
                    appended.push(option.raw.clone());
                }
            }
            let mut ops = Vec::new();
            for (i, t) in state.into_iter().enumerate() {
                match t {
                    None => ops.push(Op::Remove(i)),
                    Some(t) if t != flat[i].0 => ops.push(Op::Replace(i, t)),
                    Some(_) => {}
                }
            }
            ops.extend(appended.into_iter().map(Op::Append));
            ops
        })?;
        Ok((edit, new))
    }

    /// Removes every option whose identity is in `wanted` from one variable.
    fn plan_remove(&self, wanted: &[String], variable: XenVariable) -> Result<Edit, GrubCfgError> {
        self.plan(variable, |flat| {
            flat.iter()
                .enumerate()
                .filter(|(_, o)| {
                    wanted
                        .iter()
                        .any(|w| XenOption::parse(&o.0).identity() == w)
                })
                .map(|(i, _)| Op::Remove(i))
                .collect()
        })
    }

    /// Plans an edit: `ops` maps the current options (text, editable) to operations.
    fn plan(
        &self,
        variable: XenVariable,
        ops: impl FnOnce(&[(String, bool)]) -> Vec<Op>,
    ) -> Result<Edit, GrubCfgError> {
        let name = variable.name();
        let main = self
            .eval
            .files
            .first()
            .map(|f| f.path().to_path_buf())
            .unwrap_or_default();
        match self.eval.value(name) {
            Some(Val::Unknown(why)) => {
                let at = self.line(why.file, why.offset);
                return Err(GrubCfgError::Opaque {
                    variable: name.to_string(),
                    path: at.path,
                    line: at.line,
                    reason: format!(
                        "{}: xenadm cannot edit it safely; edit the file by hand",
                        why.what
                    ),
                });
            }
            Some(Val::Known(_)) | None => {}
        }
        let chain = self
            .chain(name)
            .map_err(|reason| self.not_editable(name, reason))?;
        let flat = if chain.is_empty() {
            Vec::new()
        } else {
            self.flatten(name, &chain)
                .map_err(|reason| self.not_editable(name, reason))?
        };
        let before: Vec<String> = flat.iter().map(|o| o.text.clone()).collect();
        let mut working: Vec<(String, bool)> = flat
            .iter()
            .map(|o| (o.text.clone(), o.token.is_some()))
            .collect();
        let ops = ops(&working);
        apply_ops(&mut working, &ops);
        let after: Vec<String> = working.iter().map(|o| o.0.clone()).collect();
        let mut edit = Edit {
            variable,
            before: before.clone(),
            after: after.clone(),
            also: Vec::new(),
            files: Vec::new(),
            warnings: Vec::new(),
        };
        if ops.is_empty() {
            return Ok(edit);
        }
        // Byte edits per file: (file, range, replacement).
        let mut changes: Vec<(usize, Range<usize>, String)> = Vec::new();
        if chain.is_empty() {
            let doc = self
                .eval
                .files
                .first()
                .ok_or_else(|| GrubCfgError::NotFound { path: main.clone() })?;
            let value = double_quote(&after.join(" "));
            let (range, text) = doc.new_assignment(name, &value);
            changes.push((0, range, text));
        } else {
            for op in &ops {
                match op {
                    Op::Remove(i) | Op::Replace(i, _) => {
                        let Some((c, t)) = flat[*i].token else {
                            let site = &chain[flat[*i].site];
                            return Err(self.not_editable_at(
                                name,
                                site,
                                format!(
                                    "`{}` comes from another variable referenced there; edit that variable",
                                    flat[*i].text
                                ),
                            ));
                        };
                        let site = &chain[c];
                        site.editable.clone().map_err(|why| {
                            self.not_editable_at(name, site, format!("the assignment {why}"))
                        })?;
                        let (_, inner, tokens) = self
                            .layout(site)
                            .map_err(|r| self.not_editable_at(name, site, r))?;
                        let raw = tokens[t].raw.clone();
                        let text = self.eval.files[site.file].text();
                        match op {
                            Op::Replace(_, new) => changes.push((site.file, raw, new.clone())),
                            _ => {
                                changes.push((site.file, removal(text, &inner, raw), String::new()))
                            }
                        }
                    }
                    Op::Append(_) => {}
                }
            }
            let appended: Vec<&str> = ops
                .iter()
                .filter_map(|op| match op {
                    Op::Append(new) => Some(new.as_str()),
                    _ => None,
                })
                .collect();
            if let (false, Some(site)) = (appended.is_empty(), chain.last()) {
                let new = appended.join(" ");
                site.editable.clone().map_err(|why| {
                    self.not_editable_at(name, site, format!("the assignment {why}"))
                })?;
                let (q, inner, tokens) = self
                    .layout(site)
                    .map_err(|r| self.not_editable_at(name, site, r))?;
                let text = self.eval.files[site.file].text();
                match q {
                    Quoting::Empty => {
                        changes.push((
                            site.file,
                            site.assign.value.span.clone(),
                            double_quote(&new),
                        ));
                    }
                    Quoting::Bare => {
                        if tokens.iter().any(|t| t.kind == TokenKind::Complex)
                            || text[inner.clone()].contains('\\')
                        {
                            return Err(self.not_editable_at(
                                name,
                                site,
                                "its unquoted value has escapes; quote it by hand first"
                                    .to_string(),
                            ));
                        }
                        let sep = if inner.is_empty() { "" } else { " " };
                        changes.push((site.file, inner.start..inner.start, "\"".to_string()));
                        changes.push((site.file, inner.end..inner.end, format!("{sep}{new}\"")));
                    }
                    _ => {
                        let before = &text[inner.clone()];
                        let sep = if before.is_empty() || before.ends_with([' ', '\t', '\n']) {
                            ""
                        } else {
                            " "
                        };
                        changes.push((site.file, inner.end..inner.end, format!("{sep}{new}")));
                    }
                }
            }
        }
        // Apply per file, last range first.
        let mut by_file: Vec<usize> = changes.iter().map(|c| c.0).collect();
        by_file.sort_unstable();
        by_file.dedup();
        let mut new_docs: Vec<Arc<DefaultGrub>> = self.eval.files.clone();
        for file in by_file {
            let doc = &self.eval.files[file];
            let mut text = doc.text().to_string();
            let mut mine: Vec<&(usize, Range<usize>, String)> =
                changes.iter().filter(|c| c.0 == file).collect();
            mine.sort_by_key(|c| std::cmp::Reverse((c.1.start, c.1.end)));
            for (_, range, replacement) in mine {
                text.replace_range(range.clone(), replacement);
            }
            let parsed = DefaultGrub::parse(text.as_bytes(), doc.path())?;
            edit.files
                .push(FileEdit::new(doc.path(), doc.text(), &text));
            new_docs[file] = Arc::new(parsed);
        }
        // Verify: the edited files must give exactly the planned options.
        let root = (!self.root.as_os_str().is_empty()).then_some(self.root.as_path());
        let top = self.top_files.min(new_docs.len());
        let reevaluated = evaluate(new_docs[..top].to_vec(), root, &new_docs[top..])?;
        let found = match reevaluated.value(name) {
            Some(Val::Known(v)) => v,
            _ => String::new(),
        };
        if !found
            .split_whitespace()
            .eq(after.iter().map(String::as_str))
        {
            return Err(GrubCfgError::EditVerification {
                path: edit.files.first().map(|f| f.path.clone()).unwrap_or(main),
                variable: name.to_string(),
                expected: after.join(" "),
                found,
            });
        }
        Ok(edit)
    }

    fn not_editable(&self, name: &str, reason: String) -> GrubCfgError {
        let at = self.variable(name).source;
        GrubCfgError::NotEditable {
            variable: name.to_string(),
            path: at.as_ref().map(|s| s.path.clone()).unwrap_or_default(),
            line: at.map_or(0, |s| s.line),
            reason,
        }
    }

    fn not_editable_at(&self, name: &str, site: &Site, reason: String) -> GrubCfgError {
        let at = self.line(site.file, site.assign.span.start);
        GrubCfgError::NotEditable {
            variable: name.to_string(),
            path: at.path,
            line: at.line,
            reason,
        }
    }
}

/// An operation on the option list (indices into the list before any operation).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Remove(usize),
    Replace(usize, String),
    Append(String),
}

/// Applies `ops` to a copy-list of (text, editable) the way the file edit will.
fn apply_ops(list: &mut Vec<(String, bool)>, ops: &[Op]) {
    let mut removed = vec![false; list.len()];
    let mut appended = Vec::new();
    for op in ops {
        match op {
            Op::Remove(i) => {
                if let Some(r) = removed.get_mut(*i) {
                    *r = true;
                }
            }
            Op::Replace(i, text) => {
                if let Some(slot) = list.get_mut(*i) {
                    slot.0 = text.clone();
                }
            }
            Op::Append(text) => appended.push((text.clone(), true)),
        }
    }
    let mut kept: Vec<(String, bool)> = list
        .drain(..)
        .zip(removed)
        .filter(|(_, r)| !r)
        .map(|(o, _)| o)
        .collect();
    kept.extend(appended);
    *list = kept;
}

/// The bytes to delete to remove the token at `raw` inside `inner`: the token and the blanks
/// before it on its line, or, when it starts its line or the value, the blanks after it.
fn removal(text: &str, inner: &Range<usize>, raw: Range<usize>) -> Range<usize> {
    let bytes = text.as_bytes();
    let mut start = raw.start;
    while start > inner.start && matches!(bytes[start - 1], b' ' | b'\t') {
        start -= 1;
    }
    let at_line_start = start == inner.start || bytes[start - 1] == b'\n';
    if at_line_start {
        let mut end = raw.end;
        while end < inner.end && matches!(bytes[end], b' ' | b'\t') {
            end += 1;
        }
        raw.start..end
    } else {
        start..raw.end
    }
}

/// Parses one option given by the user; it must be one Xen token that survives both sh (in
/// double quotes) and GRUB's script parser unchanged.
pub fn validate_token(raw: &str) -> Result<XenOption, GrubCfgError> {
    let bad = |reason: &str| GrubCfgError::MalformedOption {
        option: raw.to_string(),
        reason: reason.to_string(),
    };
    if raw.is_empty() || raw.starts_with('=') {
        return Err(bad("expected NAME or NAME=VALUE"));
    }
    if raw.chars().any(char::is_whitespace) {
        return Err(bad(
            "Xen splits options at spaces: give each option as its own argument",
        ));
    }
    if let Some(c) = raw
        .chars()
        .find(|c| c.is_control() || "\"'`$\\;&|<>(){}".contains(*c))
    {
        return Err(bad(&format!(
            "{c:?} would be interpreted by the shell or by GRUB's script parser before Xen sees it"
        )));
    }
    if raw.starts_with('#') {
        return Err(bad("a word starting with # is a comment in grub.cfg"));
    }
    Ok(XenOption::parse(raw))
}
