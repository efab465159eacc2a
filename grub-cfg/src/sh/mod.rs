//! A parser for the POSIX sh that /etc/default/grub and its drop-ins are written in.
//!
//! grub-mkconfig *sources* these files, so any shell is legal. This parser reads the whole
//! POSIX grammar (quotes, escapes, continuations, expansions, `if`/`case`/loops, functions,
//! here-documents) into a tree whose every node keeps its byte span, so that the file can be
//! printed back byte for byte and one value edited in place. It never runs anything; what the
//! code *means* is worked out by `eval`.
//!
//! The parser is split by layer: `lex` (tokens, blanks, continuations, here-document
//! bodies), `words` (one word with its quotes and expansions) and `grammar` (lists,
//! pipelines, compound and simple commands); this module holds the tree they build.

use std::ops::Range;

use crate::error::ParseProblem;

mod grammar;
mod lex;
mod words;

/// A parse error: the problem and its byte offset.
pub(crate) type ShResult<T> = Result<T, (usize, ParseProblem)>;

/// One top-level unit of the file: a blank line, a comment line, or one complete command
/// (which may span several lines). Items are contiguous and cover the whole text.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub span: Range<usize>,
    pub kind: ItemKind,
}

#[derive(Debug, Clone)]
pub(crate) enum ItemKind {
    /// Only blanks (and the newline).
    Blank,
    /// A line whose first non-blank character is `#`.
    Comment,
    /// Commands, and any trailing comment, up to and including the newline.
    Commands(Vec<AndOr>),
}

/// `a && b || c`, optionally run in the background (`&`).
#[derive(Debug, Clone)]
pub(crate) struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<Chained>,
    pub background: bool,
}

/// `&&` or `||`: how a pipeline joins the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connector {
    /// `&&`: runs when the one before succeeded.
    And,
    /// `||`: runs when the one before failed.
    Or,
}

impl Connector {
    /// Whether the pipeline after this connector runs, given how the one before ended.
    pub fn runs_after(self, succeeded: bool) -> bool {
        succeeded == (self == Connector::And)
    }
}

/// A pipeline after the first of an [`AndOr`], with its connector.
#[derive(Debug, Clone)]
pub(crate) struct Chained {
    pub connector: Connector,
    pub pipeline: Pipeline,
}

/// `[!] a | b | c`.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub bang: bool,
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(crate) enum Command {
    Simple(Simple),
    Group(Vec<AndOr>),
    Subshell(Vec<AndOr>),
    If {
        clauses: Vec<(Vec<AndOr>, Vec<AndOr>)>,
        else_body: Option<Vec<AndOr>>,
    },
    Loop {
        /// `for` loops have no condition.
        cond: Vec<AndOr>,
        body: Vec<AndOr>,
        /// The loop variable of a `for`.
        for_var: Option<String>,
    },
    Case {
        arms: Vec<Vec<AndOr>>,
    },
    FunctionDef {
        name: String,
        body: Box<Command>,
    },
}

/// Assignments, words and redirections.
#[derive(Debug, Clone)]
pub(crate) struct Simple {
    pub assigns: Vec<Assign>,
    pub words: Vec<Word>,
    /// `NAME=value` arguments of `export`, `readonly` and `local`.
    pub decl: Vec<Assign>,
    pub offset: usize,
}

/// `NAME=value`.
#[derive(Debug, Clone)]
pub(crate) struct Assign {
    pub name: String,
    /// From the first byte of the name to the end of the value.
    pub span: Range<usize>,
    pub value: Word,
}

/// One shell word, as parts.
#[derive(Debug, Clone)]
pub(crate) struct Word {
    pub span: Range<usize>,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone)]
pub(crate) enum Part {
    /// Literal text whose raw bytes are exactly `text`.
    Lit { text: String, span: Range<usize> },
    /// A backslash escape giving one character.
    Escaped { ch: char, span: Range<usize> },
    /// Backslash-newline: removed by the shell.
    Cont { span: Range<usize> },
    /// `'...'`.
    Single { text: String, span: Range<usize> },
    /// `"..."`.
    Double {
        parts: Vec<Part>,
        span: Range<usize>,
    },
    /// `$NAME`, `${NAME}`, `${NAME:-word}` ...
    Param {
        name: String,
        op: Option<Box<ParamOp>>,
        span: Range<usize>,
    },
    /// `$(...)` or `` `...` ``.
    CommandSub { span: Range<usize> },
    /// `$((...))`.
    Arith { span: Range<usize> },
}

impl Part {
    pub fn span(&self) -> Range<usize> {
        match self {
            Part::Lit { span, .. }
            | Part::Escaped { span, .. }
            | Part::Cont { span }
            | Part::Single { span, .. }
            | Part::Double { span, .. }
            | Part::Param { span, .. }
            | Part::CommandSub { span }
            | Part::Arith { span } => span.clone(),
        }
    }
}

/// The operator of `${NAME<op>word}`.
#[derive(Debug, Clone)]
pub(crate) struct ParamOp {
    pub kind: ParamOpKind,
    pub word: Word,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamOpKind {
    /// `-` (`colon`: `:-`): default when unset (or empty).
    Default { colon: bool },
    /// `+`: alternative when set (and not empty).
    Alternative { colon: bool },
    /// `=`: assign default.
    AssignDefault { colon: bool },
    /// Anything else (`?`, `#`, `%`, `${#x}`): not evaluated.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Semi,
    DSemi,
    Amp,
    AndIf,
    Pipe,
    OrIf,
    LParen,
    RParen,
    Redirect { heredoc: Option<bool> }, // Some(strip_tabs) for << and <<-
}

#[derive(Debug, Clone)]
enum Tok {
    Word(Word),
    Op(Op),
    Newline,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
}

const RESERVED: [&str; 16] = [
    "if", "then", "elif", "else", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "in", "{", "}", "!",
];

/// Parses a whole file into items.
pub(crate) fn parse(text: &str) -> ShResult<Vec<Item>> {
    if let Some(at) = text.bytes().position(|b| b == 0) {
        return Err((at, ParseProblem::Binary));
    }
    let mut p = Parser {
        src: text,
        b: text.as_bytes(),
        pos: 0,
        heredocs: Vec::new(),
    };
    p.items()
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Here-documents whose bodies start after the next newline: (delimiter, strip tabs, `<<` offset).
    heredocs: Vec<(String, bool, usize)>,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_meta(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
    )
}

/// `found` where `expected` should be, at `at`.
fn unexpected(at: usize, found: &Tok, expected: &'static str) -> (usize, ParseProblem) {
    (
        at,
        ParseProblem::Unexpected {
            found: describe(found),
            expected,
        },
    )
}

/// The text ended (at `at`) inside what `keyword` opened, before `expected` closed it.
fn unclosed(at: usize, keyword: &'static str, expected: &'static str) -> (usize, ParseProblem) {
    (at, ParseProblem::Unclosed { keyword, expected })
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => format!("word `{}`", plain(w).unwrap_or("...")),
        Tok::Op(op) => format!(
            "`{}`",
            match op {
                Op::Semi => ";",
                Op::DSemi => ";;",
                Op::Amp => "&",
                Op::AndIf => "&&",
                Op::Pipe => "|",
                Op::OrIf => "||",
                Op::LParen => "(",
                Op::RParen => ")",
                Op::Redirect { .. } => "redirection",
            }
        ),
        Tok::Newline => "end of line".to_string(),
        Tok::Eof => "end of file".to_string(),
    }
}

/// The word's text when it is one unquoted literal (keywords, names).
pub(crate) fn plain(word: &Word) -> Option<&str> {
    match word.parts.as_slice() {
        [Part::Lit { text, .. }] => Some(text),
        _ => None,
    }
}

impl<'a> Parser<'a> {
    pub(super) fn peek_byte(&self, at: usize) -> Option<u8> {
        self.b.get(at).copied()
    }

    /// Top level: items until the end.
    pub(super) fn items(&mut self) -> ShResult<Vec<Item>> {
        let mut items = Vec::new();
        while self.pos < self.b.len() {
            let start = self.pos;
            let mut at = self.pos;
            while matches!(self.peek_byte(at), Some(b' ' | b'\t')) {
                at += 1;
            }
            match self.peek_byte(at) {
                None => {
                    self.pos = at;
                    items.push(Item {
                        span: start..at,
                        kind: ItemKind::Blank,
                    });
                }
                Some(b'\n') => {
                    self.pos = at + 1;
                    items.push(Item {
                        span: start..self.pos,
                        kind: ItemKind::Blank,
                    });
                }
                Some(b'#') => {
                    let end = self.b[at..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(self.b.len(), |n| at + n + 1);
                    self.pos = end;
                    items.push(Item {
                        span: start..end,
                        kind: ItemKind::Comment,
                    });
                }
                Some(_) => {
                    let list = self.list()?;
                    let t = self.next()?;
                    match t.tok {
                        Tok::Newline | Tok::Eof => {}
                        other => {
                            return Err((
                                t.start,
                                ParseProblem::Unexpected {
                                    found: describe(&other),
                                    expected: "a command or the end of the line",
                                },
                            ));
                        }
                    }
                    items.push(Item {
                        span: start..self.pos,
                        kind: ItemKind::Commands(list),
                    });
                }
            }
        }
        Ok(items)
    }
}

/// `NAME=value` when the word starts with an unquoted name and `=`: the value is the rest of
/// the word's parts.
fn assignment(word: Word) -> Result<Assign, Word> {
    let Some(Part::Lit { text, span }) = word.parts.first() else {
        return Err(word);
    };
    let name_len = text.bytes().take_while(|&b| is_name_char(b)).count();
    if name_len == 0
        || !is_name_start(text.as_bytes()[0])
        || text.as_bytes().get(name_len) != Some(&b'=')
    {
        return Err(word);
    }
    let name = text[..name_len].to_string();
    let value_start = span.start + name_len + 1;
    let rest = &text[name_len + 1..];
    let mut parts = Vec::with_capacity(word.parts.len());
    if !rest.is_empty() {
        parts.push(Part::Lit {
            text: rest.to_string(),
            span: value_start..span.end,
        });
    }
    parts.extend(word.parts.into_iter().skip(1));
    Ok(Assign {
        name,
        span: word.span.start..word.span.end,
        value: Word {
            span: value_start..word.span.end,
            parts,
        },
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordEnd {
    /// An unquoted blank or operator character.
    Meta,
    /// An unquoted `}` (the word of `${x:-word}`).
    Brace,
}

/// Splits a parsed item list back into text: must give the input.
#[cfg(test)]
pub(crate) fn print(text: &str, items: &[Item]) -> String {
    items.iter().map(|i| &text[i.span.clone()]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> Vec<Item> {
        let items = parse(text).unwrap();
        assert_eq!(print(text, &items), text);
        let mut at = 0;
        for item in &items {
            assert_eq!(item.span.start, at);
            at = item.span.end;
        }
        assert_eq!(at, text.len());
        items
    }

    #[test]
    fn test_items_cover_text() {
        let text = "# c\n\nA=1 # t\nif [ x = y ]; then\n  B=2\nfi\nC=\"a \\\nb\"\n  \n";
        let items = roundtrip(text);
        assert_eq!(items.len(), 6);
        assert!(matches!(items[0].kind, ItemKind::Comment));
        assert!(matches!(items[1].kind, ItemKind::Blank));
    }

    #[test]
    fn test_assignment_value_span() {
        let text = "GRUB_CMDLINE_XEN=\"a b\"  # x\n";
        let items = roundtrip(text);
        let ItemKind::Commands(list) = &items[0].kind else {
            panic!()
        };
        let Command::Simple(s) = &list[0].first.commands[0] else {
            panic!()
        };
        assert_eq!(s.assigns[0].name, "GRUB_CMDLINE_XEN");
        assert_eq!(&text[s.assigns[0].value.span.clone()], "\"a b\"");
    }

    #[test]
    fn test_errors_are_located() {
        assert_eq!(
            parse("A=1\nB='x\n").unwrap_err(),
            (6, ParseProblem::UnterminatedSingleQuote)
        );
        assert_eq!(
            parse("A=\"x\n").unwrap_err(),
            (2, ParseProblem::UnterminatedDoubleQuote)
        );
        assert_eq!(
            parse("A=x \\\n").unwrap_err(),
            (4, ParseProblem::ContinuationAtEof)
        );
        assert_eq!(
            parse("A=x\\").unwrap_err(),
            (3, ParseProblem::ContinuationAtEof)
        );
        assert!(matches!(
            parse("if true; then\nA=1\n").unwrap_err(),
            (0, ParseProblem::Unclosed { keyword: "if", .. })
        ));
        assert_eq!(parse("A=\0").unwrap_err(), (2, ParseProblem::Binary));
        assert!(parse("A=$(echo x\n").is_err());
        assert!(parse("fi\n").is_err());
    }

    #[test]
    fn test_compound_and_functions() {
        roundtrip(
            "f() { A=1; }\ncase $x in a|b) B=1;; *) ;; esac\nfor i in 1 2; do C=$i; done\nwhile false; do :; done\n( D=1 ) && E=2 || F=3 &\n",
        );
        roundtrip(
            "GRUB_DEFAULT=$( \\\n\tprintf \"$(gettext \"%s, with Xen\")\" \\\n\t\"$D GNU/Linux\")\n",
        );
        roundtrip("cat <<EOF >x\nline $A\nEOF\nB=1\n");
        roundtrip("echo \"\\e[31mWARN\" >&2\nA=${B:-x y}${C#*/}\n");
    }
}
