//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in this crate. Each variant names where: the file, and for
/// parse errors the line and column (1-based).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrubCfgError {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file that must exist does not.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The path exists but is a folder or another non-regular file.
    #[error("{} is not a regular file", path.display())]
    NotARegularFile {
        /// The path.
        path: PathBuf,
    },
    /// The text cannot be parsed (shell syntax of /etc/default/grub, GRUB script of
    /// grub.cfg).
    #[error("{}:{line}:{column}: {problem}", path.display())]
    Parse {
        /// The file (or `<input>` for in-memory text).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based byte column in that line.
        column: usize,
        /// What is wrong there.
        problem: ParseProblem,
    },
    /// A grubenv file is malformed.
    #[error("{}{}: {problem}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    GrubEnv {
        /// The file.
        path: PathBuf,
        /// 1-based line, when the problem is on one line.
        line: Option<usize>,
        /// What is wrong.
        problem: GrubEnvProblem,
    },
    /// The variable's value is computed by shell code xenadm does not evaluate (command
    /// substitution, a condition, a sourced script), so it cannot be edited safely.
    #[error("{}:{line}: {variable} {reason}", path.display())]
    Opaque {
        /// The variable.
        variable: String,
        /// The file that decides it.
        path: PathBuf,
        /// 1-based line there.
        line: usize,
        /// Why xenadm cannot know or edit it.
        reason: String,
    },
    /// The assignment that wins cannot be edited in place (for example it is inside an `if`).
    #[error("{}:{line}: cannot edit {variable}: {reason}", path.display())]
    NotEditable {
        /// The variable.
        variable: String,
        /// The file.
        path: PathBuf,
        /// 1-based line of the assignment.
        line: usize,
        /// Why.
        reason: String,
    },
    /// A Xen option given on the command line fails validation against the option table
    /// (`force` sets it anyway).
    #[error("invalid Xen option `{option}`: {reason}")]
    InvalidOption {
        /// The option as given.
        option: String,
        /// What is wrong.
        reason: String,
    },
    /// A Xen option given on the command line cannot be written as one Xen token (quotes,
    /// blanks, shell characters): nothing, not even `force`, can set it.
    #[error("malformed Xen option `{option}`: {reason}")]
    MalformedOption {
        /// The option as given.
        option: String,
        /// What is wrong.
        reason: String,
    },
    /// After the edit, the other Xen variable would still give the option a value other than
    /// the one asked for.
    #[error("{}:{line}: `{option}` in {variable} would still apply: {reason}", path.display())]
    Overridden {
        /// The option found there.
        option: String,
        /// The variable it is in.
        variable: String,
        /// Its file.
        path: PathBuf,
        /// Its line.
        line: usize,
        /// Why it matters and what to do.
        reason: String,
    },
    /// The Xen version given is not one of the known tables.
    #[error("unknown Xen version {given:?}: expected e.g. 4.17 or 4.22")]
    BadXenVersion {
        /// The text given.
        given: String,
    },
    /// The Xen release given is older than every option table (its options differ).
    #[error(
        "xenadm has option tables for Xen 4.17 and 4.22; {major}.{minor} is older than both (its options differ): give 4.17 to check against the oldest"
    )]
    ReleaseTooOld {
        /// Its major number.
        major: u32,
        /// Its minor number.
        minor: u32,
    },
    /// The file changed on disk between reading and writing: nothing was written.
    #[error("{} changed since it was read; nothing was written", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// Writing (temp file, backup, rename or sync) failed. The original file is intact.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// After an edit the file no longer gives the intended value: nothing was written.
    #[error(
        "{}: after the edit {variable} would be {found:?}, not {expected:?}; nothing was written",
        path.display()
    )]
    EditVerification {
        /// The file.
        path: PathBuf,
        /// The variable.
        variable: String,
        /// The value the edit should give.
        expected: String,
        /// What re-reading the edited text gives.
        found: String,
    },
    /// Neither grub-mkconfig nor grub2-mkconfig was found under the root.
    #[error("neither grub-mkconfig nor grub2-mkconfig found under {}", root.display())]
    NoMkconfig {
        /// The system root searched.
        root: PathBuf,
    },
    /// A program could not be started.
    #[error("cannot run {program}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A program exited with a failure.
    #[error("{program} failed ({status}){}", if stderr.is_empty() { String::new() } else { format!(": {}", stderr.trim_end()) })]
    Program {
        /// The program.
        program: String,
        /// Its exit status, as text.
        status: String,
        /// The last lines of its stderr.
        stderr: String,
    },
    /// A menu entry given by the user is not in grub.cfg.
    #[error("{}: no menu entry {entry:?}", path.display())]
    UnknownEntry {
        /// The entry as given.
        entry: String,
        /// The grub.cfg searched.
        path: PathBuf,
    },
    /// A menu entry title or id given by the user matches several entries.
    #[error("{}: {entry:?} matches {count} menu entries", path.display())]
    AmbiguousEntry {
        /// The entry as given.
        entry: String,
        /// The grub.cfg searched.
        path: PathBuf,
        /// How many match.
        count: usize,
    },
}

impl GrubCfgError {
    /// What the administrator can do about this error, as a tool embedding the crate may show
    /// it (the `xenadm` CLI prints it as `hint:`). `None` where the fix is in the tool's own
    /// hands (which of its commands or options to use, e.g. for a missing or binary file or
    /// grub.cfg): the tool words that itself.
    pub fn fix(&self) -> Option<&'static str> {
        Some(match self {
            GrubCfgError::Parse { problem, path, .. }
                if *problem != ParseProblem::Binary && !path.ends_with("grub.cfg") =>
            {
                "fix the shell syntax at that line (grub-mkconfig would fail on it too); `sh -n FILE` checks a file"
            }
            GrubCfgError::Opaque { .. } => {
                "the value is computed by shell code xenadm does not run: edit that line by hand, or put the Xen options in a plain GRUB_CMDLINE_XEN=\"...\" line"
            }
            GrubCfgError::NotEditable { .. } => {
                "edit that line by hand; xenadm only edits plain, unconditional assignments whose options are written out"
            }
            GrubCfgError::BadXenVersion { .. } => "give a Xen release such as 4.17 or 4.22",
            GrubCfgError::Changed { .. } => {
                "another program changed the file meanwhile: run the command again"
            }
            GrubCfgError::Write { .. } => {
                "check that the file system is writable (is /boot mounted read-only? `mount -o remount,rw /boot`)"
            }
            GrubCfgError::EditVerification { .. } => {
                "xenadm refused its own edit; please report this with the file, and edit by hand meanwhile"
            }
            GrubCfgError::GrubEnv { .. } => {
                "recreate the block with `grub-editenv FILE create` (it must be exactly 1024 bytes), then set the default again"
            }
            GrubCfgError::NoMkconfig { .. } => {
                "install GRUB's tools: grub-common (Debian, Ubuntu), grub2-tools (Fedora), grub2 (SUSE)"
            }
            GrubCfgError::Program { .. } => {
                "see its message above; the previous grub.cfg is still in place"
            }
            GrubCfgError::NotARegularFile { .. } => "give a file, not a folder",
            _ => return None,
        })
    }
}

/// What is wrong at a parse error's location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseProblem {
    /// A NUL byte (binary data).
    #[error("NUL byte: this is binary data, not a text file")]
    Binary,
    /// Bytes that are not UTF-8.
    #[error("bytes that are not UTF-8 text")]
    NotUtf8,
    /// A `'` with no closing `'`.
    #[error("unterminated quote: this ' has no closing '")]
    UnterminatedSingleQuote,
    /// A `"` with no closing `"`.
    #[error("unterminated quote: this \" has no closing \"")]
    UnterminatedDoubleQuote,
    /// A `` ` `` with no closing `` ` ``.
    #[error("unterminated command substitution: this ` has no closing `")]
    UnterminatedBackquote,
    /// `$(` with no closing `)`.
    #[error("unterminated command substitution: this $( has no closing )")]
    UnterminatedCommandSubstitution,
    /// `${` with no closing `}`.
    #[error("unterminated parameter expansion: this ${{ has no closing }}")]
    UnterminatedParameter,
    /// `$((` with no closing `))`.
    #[error("unterminated arithmetic expansion: this $(( has no closing ))")]
    UnterminatedArithmetic,
    /// A here-document without its end line.
    #[error("here-document without its end line {delimiter:?}")]
    UnterminatedHereDoc {
        /// The delimiter word.
        delimiter: String,
    },
    /// A backslash at the very end of the file, or a continuation line with nothing after it.
    #[error(
        "line continuation (backslash at end of line) with no line after it: the file is cut short"
    )]
    ContinuationAtEof,
    /// `${...}` that is not a valid parameter expansion.
    #[error("bad parameter expansion ${{...}}")]
    BadSubstitution,
    /// A compound command (`if`, `while`, `{`, `menuentry ... {`) that is never closed.
    #[error("`{keyword}` is never closed: expected `{expected}`")]
    Unclosed {
        /// The opening keyword.
        keyword: &'static str,
        /// What would close it.
        expected: &'static str,
    },
    /// A token where it cannot appear.
    #[error("unexpected {found}: expected {expected}")]
    Unexpected {
        /// What was found.
        found: String,
        /// What was expected instead.
        expected: &'static str,
    },
}

/// What is wrong with a grubenv file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrubEnvProblem {
    /// Not exactly 1024 bytes.
    #[error("a GRUB environment block must be exactly 1024 bytes, this one has {size}")]
    WrongSize {
        /// The size found.
        size: u64,
    },
    /// The first line is not `# GRUB Environment Block`.
    #[error("does not start with the `# GRUB Environment Block` header")]
    NoHeader,
    /// A line that is neither a comment nor `name=value`.
    #[error("line is neither a comment nor name=value")]
    BadLine,
    /// Bytes that are not UTF-8 text.
    #[error("bytes that are not UTF-8 text")]
    NotUtf8,
    /// A variable name that GRUB cannot store (empty, or with `=`, `#` or a newline).
    #[error("{name:?} is not a valid variable name")]
    BadName {
        /// The name.
        name: String,
    },
    /// The variables do not fit into the 1024-byte block.
    #[error("the variables need {needed} bytes, more than the 1024-byte block holds")]
    Full {
        /// Bytes the content would need.
        needed: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_error(path: &str, problem: ParseProblem) -> GrubCfgError {
        GrubCfgError::Parse {
            path: PathBuf::from(path),
            line: 1,
            column: 1,
            problem,
        }
    }

    #[test]
    fn test_fix_is_the_crates_own_advice() {
        let shell = parse_error("/etc/default/grub", ParseProblem::ContinuationAtEof);
        assert!(shell.fix().unwrap().contains("`sh -n FILE`"));
        // A binary file or a broken grub.cfg: which file or command to use is the tool's.
        let binary = parse_error("/etc/default/grub", ParseProblem::Binary);
        assert_eq!(binary.fix(), None);
        let menu = parse_error("/boot/grub/grub.cfg", ParseProblem::ContinuationAtEof);
        assert_eq!(menu.fix(), None);
        let folder = GrubCfgError::NotARegularFile {
            path: PathBuf::from("/boot"),
        };
        assert_eq!(folder.fix(), Some("give a file, not a folder"));
    }
}
