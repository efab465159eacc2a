//! The boot configuration of a system: /etc/default/grub plus its grub.d drop-ins, sourced in
//! order, with the Xen variables, their options, and safe edits.

use std::fmt;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::default_grub::{DefaultGrub, Quoting, double_quote, quoting};
use crate::error::GrubCfgError;
use crate::eval::{Evaluation, ShellValue, Site, Uncertainty, evaluate};
use crate::sh::Part;
use crate::text::{in_root, resolve_in_root};
use crate::write::{WriteOptions, WriteReport, replace_file};
use crate::xen::{self, Finding, Severity, XenOption, XenOptionTable};

mod plan;
mod winning;

pub use plan::validate_token;

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
    /// The option table used (`xen_version` in JSON, as the CLI has always written it).
    #[cfg_attr(feature = "serde", serde(rename = "xen_version"))]
    pub table: XenOptionTable,
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
    pub table: XenOptionTable,
    /// Set options even when validation finds errors.
    pub force: bool,
}

impl Default for SetOptions {
    fn default() -> SetOptions {
        SetOptions {
            variable: XenVariable::Xen,
            table: XenOptionTable::V4_17,
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

    fn unknown(&self, why: &Uncertainty) -> UnknownValue {
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
            Some(ShellValue::Known(v)) => (Some(v), None),
            Some(ShellValue::Unknown(why)) => (None, Some(self.unknown(&why))),
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
            Some(ShellValue::Unknown(why)) => return Err(self.unknown(&why)),
            Some(ShellValue::Known(v)) => v,
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
    pub fn check(&self, version: XenOptionTable) -> CheckReport {
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
            table: version,
            options,
            findings,
        }
    }
}
