//! A parser for the POSIX sh that /etc/default/grub and its drop-ins are written in.
//!
//! grub-mkconfig *sources* these files, so any shell is legal. This parser reads the whole
//! POSIX grammar (quotes, escapes, continuations, expansions, `if`/`case`/loops, functions,
//! here-documents) into a tree whose every node keeps its byte span, so that the file can be
//! printed back byte for byte and one value edited in place. It never runs anything; what the
//! code *means* is worked out by `eval`.

use std::ops::Range;

use crate::error::ParseProblem;

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
    pub rest: Vec<(bool, Pipeline)>, // (is_and, pipeline)
    pub background: bool,
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
    fn peek_byte(&self, at: usize) -> Option<u8> {
        self.b.get(at).copied()
    }

    /// Top level: items until the end.
    fn items(&mut self) -> ShResult<Vec<Item>> {
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

    // ----- lexing -----

    /// Skips blanks, continuations and a comment; stops before a newline.
    fn skip_blanks(&mut self) -> ShResult<()> {
        loop {
            match self.peek_byte(self.pos) {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\\') if self.peek_byte(self.pos + 1) == Some(b'\n') => {
                    self.continuation_not_last(self.pos)?;
                    self.pos += 2;
                }
                Some(b'#') => {
                    while !matches!(self.peek_byte(self.pos), None | Some(b'\n')) {
                        self.pos += 1;
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// A continuation at `at` (backslash, newline) must be followed by more text.
    fn continuation_not_last(&self, at: usize) -> ShResult<()> {
        if at + 2 >= self.b.len() {
            return Err((at, ParseProblem::ContinuationAtEof));
        }
        Ok(())
    }

    fn lex(&mut self) -> ShResult<Token> {
        self.skip_blanks()?;
        let start = self.pos;
        let Some(c) = self.peek_byte(start) else {
            return Ok(Token {
                tok: Tok::Eof,
                start,
            });
        };
        let two = |p: &Self, a: u8| p.peek_byte(start + 1) == Some(a);
        let (tok, len) = match c {
            b'\n' => (Tok::Newline, 1),
            b';' if two(self, b';') => (Tok::Op(Op::DSemi), 2),
            b';' => (Tok::Op(Op::Semi), 1),
            b'&' if two(self, b'&') => (Tok::Op(Op::AndIf), 2),
            b'&' => (Tok::Op(Op::Amp), 1),
            b'|' if two(self, b'|') => (Tok::Op(Op::OrIf), 2),
            b'|' => (Tok::Op(Op::Pipe), 1),
            b'(' => (Tok::Op(Op::LParen), 1),
            b')' => (Tok::Op(Op::RParen), 1),
            b'<' if two(self, b'<') => {
                if self.peek_byte(start + 2) == Some(b'-') {
                    (
                        Tok::Op(Op::Redirect {
                            heredoc: Some(true),
                        }),
                        3,
                    )
                } else {
                    (
                        Tok::Op(Op::Redirect {
                            heredoc: Some(false),
                        }),
                        2,
                    )
                }
            }
            b'<' | b'>' => {
                let len = if matches!(self.peek_byte(start + 1), Some(b'>' | b'&' | b'|')) {
                    2
                } else {
                    1
                };
                (Tok::Op(Op::Redirect { heredoc: None }), len)
            }
            _ => {
                let word = self.word(start, WordEnd::Meta)?;
                // An IO number (`2>`) belongs to the redirection that follows.
                if word.parts.len() == 1
                    && plain(&word).is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
                    && matches!(self.peek_byte(self.pos), Some(b'<' | b'>'))
                {
                    return self.lex();
                }
                return Ok(Token {
                    tok: Tok::Word(word),
                    start,
                });
            }
        };
        self.pos = start + len;
        Ok(Token { tok, start })
    }

    /// The next token; reads pending here-document bodies after a newline.
    fn next(&mut self) -> ShResult<Token> {
        let t = self.lex()?;
        if matches!(t.tok, Tok::Newline) && !self.heredocs.is_empty() {
            self.heredoc_bodies()?;
        }
        Ok(t)
    }

    fn peek(&mut self) -> ShResult<Token> {
        let save = self.pos;
        let t = self.lex();
        self.pos = save;
        t
    }

    fn heredoc_bodies(&mut self) -> ShResult<()> {
        for (delim, strip, at) in std::mem::take(&mut self.heredocs) {
            loop {
                if self.pos >= self.b.len() {
                    return Err((
                        at,
                        ParseProblem::UnterminatedHereDoc {
                            delimiter: delim.clone(),
                        },
                    ));
                }
                let end = self.b[self.pos..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(self.b.len(), |n| self.pos + n);
                let mut line = &self.src[self.pos..end];
                if strip {
                    line = line.trim_start_matches('\t');
                }
                self.pos = (end + 1).min(self.b.len());
                if line == delim {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Reads one word starting at `start`.
    fn word(&mut self, start: usize, end: WordEnd) -> ShResult<Word> {
        self.pos = start;
        let mut parts: Vec<Part> = Vec::new();
        let mut lit = String::new();
        let mut lit_start = start;
        macro_rules! flush {
            () => {
                if !lit.is_empty() {
                    parts.push(Part::Lit {
                        text: std::mem::take(&mut lit),
                        span: lit_start..self.pos,
                    });
                }
            };
        }
        while let Some(c) = self.peek_byte(self.pos) {
            match (end, c) {
                (WordEnd::Meta, _) if is_meta(c) => break,
                (WordEnd::Brace, b'}') => break,
                _ => {}
            }
            match c {
                b'\\' => {
                    flush!();
                    let at = self.pos;
                    match self.src[at + 1..].chars().next() {
                        None => return Err((at, ParseProblem::ContinuationAtEof)),
                        Some('\n') => {
                            self.continuation_not_last(at)?;
                            self.pos += 2;
                            parts.push(Part::Cont { span: at..self.pos });
                        }
                        Some(ch) => {
                            self.pos += 1 + ch.len_utf8();
                            parts.push(Part::Escaped {
                                ch,
                                span: at..self.pos,
                            });
                        }
                    }
                    lit_start = self.pos;
                }
                b'\'' => {
                    flush!();
                    let at = self.pos;
                    let Some(n) = self.b[at + 1..].iter().position(|&c| c == b'\'') else {
                        return Err((at, ParseProblem::UnterminatedSingleQuote));
                    };
                    self.pos = at + 1 + n + 1;
                    parts.push(Part::Single {
                        text: self.src[at + 1..at + 1 + n].to_string(),
                        span: at..self.pos,
                    });
                    lit_start = self.pos;
                }
                b'"' => {
                    flush!();
                    let part = self.double_quoted()?;
                    parts.push(part);
                    lit_start = self.pos;
                }
                b'$' => {
                    flush!();
                    let part = self.dollar()?;
                    match part {
                        Some(part) => {
                            parts.push(part);
                            lit_start = self.pos;
                        }
                        None => {
                            lit_start = self.pos;
                            lit.push('$');
                            self.pos += 1;
                        }
                    }
                }
                b'`' => {
                    flush!();
                    parts.push(self.backquote()?);
                    lit_start = self.pos;
                }
                _ => {
                    let ch = self.src[self.pos..].chars().next().unwrap_or('\0');
                    if lit.is_empty() {
                        lit_start = self.pos;
                    }
                    lit.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
        flush!();
        Ok(Word {
            span: start..self.pos,
            parts,
        })
    }

    fn double_quoted(&mut self) -> ShResult<Part> {
        let open = self.pos;
        self.pos += 1;
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut lit_start = self.pos;
        macro_rules! flush {
            () => {
                if !lit.is_empty() {
                    parts.push(Part::Lit {
                        text: std::mem::take(&mut lit),
                        span: lit_start..self.pos,
                    });
                }
            };
        }
        loop {
            let Some(c) = self.peek_byte(self.pos) else {
                return Err((open, ParseProblem::UnterminatedDoubleQuote));
            };
            match c {
                b'"' => {
                    flush!();
                    self.pos += 1;
                    return Ok(Part::Double {
                        parts,
                        span: open..self.pos,
                    });
                }
                b'\\' => match self.peek_byte(self.pos + 1) {
                    None => return Err((open, ParseProblem::UnterminatedDoubleQuote)),
                    Some(b'\n') => {
                        flush!();
                        let at = self.pos;
                        self.pos += 2;
                        parts.push(Part::Cont { span: at..self.pos });
                        lit_start = self.pos;
                    }
                    Some(e @ (b'$' | b'`' | b'"' | b'\\')) => {
                        flush!();
                        let at = self.pos;
                        self.pos += 2;
                        parts.push(Part::Escaped {
                            ch: char::from(e),
                            span: at..self.pos,
                        });
                        lit_start = self.pos;
                    }
                    Some(_) => {
                        if lit.is_empty() {
                            lit_start = self.pos;
                        }
                        lit.push('\\');
                        self.pos += 1;
                    }
                },
                b'$' => {
                    flush!();
                    match self.dollar()? {
                        Some(part) => parts.push(part),
                        None => {
                            lit_start = self.pos;
                            lit.push('$');
                            self.pos += 1;
                            continue;
                        }
                    }
                    lit_start = self.pos;
                }
                b'`' => {
                    flush!();
                    parts.push(self.backquote()?);
                    lit_start = self.pos;
                }
                _ => {
                    let ch = self.src[self.pos..].chars().next().unwrap_or('\0');
                    if lit.is_empty() {
                        lit_start = self.pos;
                    }
                    lit.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
    }

    fn backquote(&mut self) -> ShResult<Part> {
        let open = self.pos;
        let mut at = open + 1;
        loop {
            match self.peek_byte(at) {
                None => return Err((open, ParseProblem::UnterminatedBackquote)),
                Some(b'\\') => at += 2,
                Some(b'`') => break,
                Some(_) => at += 1,
            }
        }
        self.pos = at + 1;
        Ok(Part::CommandSub {
            span: open..self.pos,
        })
    }

    /// At a `$`: an expansion, or `None` when the `$` is literal.
    fn dollar(&mut self) -> ShResult<Option<Part>> {
        let open = self.pos;
        match self.peek_byte(open + 1) {
            Some(b'{') => self.brace_param(open).map(Some),
            Some(b'(') if self.peek_byte(open + 2) == Some(b'(') => {
                let mut depth = 0usize;
                let mut at = open + 1;
                loop {
                    match self.peek_byte(at) {
                        None => return Err((open, ParseProblem::UnterminatedArithmetic)),
                        Some(b'(') => depth += 1,
                        Some(b')') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Some(_) => {}
                    }
                    at += 1;
                }
                self.pos = at + 1;
                Ok(Some(Part::Arith {
                    span: open..self.pos,
                }))
            }
            Some(b'(') => {
                self.pos = open + 2;
                let saved = std::mem::take(&mut self.heredocs);
                let inner = self.compound_list();
                self.heredocs = saved;
                let _ = inner.map_err(|(at, problem)| match problem {
                    ParseProblem::Unexpected { .. } if at >= self.b.len() => {
                        (open, ParseProblem::UnterminatedCommandSubstitution)
                    }
                    other => (at, other),
                })?;
                let t = self.next()?;
                match t.tok {
                    Tok::Op(Op::RParen) => Ok(Some(Part::CommandSub {
                        span: open..self.pos,
                    })),
                    Tok::Eof => Err((open, ParseProblem::UnterminatedCommandSubstitution)),
                    other => Err((
                        t.start,
                        ParseProblem::Unexpected {
                            found: describe(&other),
                            expected: "`)` closing the command substitution",
                        },
                    )),
                }
            }
            Some(c) if is_name_start(c) => {
                let mut at = open + 1;
                while self.peek_byte(at).is_some_and(is_name_char) {
                    at += 1;
                }
                self.pos = at;
                Ok(Some(Part::Param {
                    name: self.src[open + 1..at].to_string(),
                    op: None,
                    span: open..at,
                }))
            }
            Some(c) if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => {
                self.pos = open + 2;
                Ok(Some(Part::Param {
                    name: char::from(c).to_string(),
                    op: None,
                    span: open..self.pos,
                }))
            }
            _ => Ok(None),
        }
    }

    fn brace_param(&mut self, open: usize) -> ShResult<Part> {
        let mut at = open + 2;
        let mut length = false;
        if self.peek_byte(at) == Some(b'#') && self.peek_byte(at + 1).is_some_and(|c| c != b'}') {
            length = true;
            at += 1;
        }
        let name_start = at;
        match self.peek_byte(at) {
            Some(c) if is_name_start(c) => {
                while self.peek_byte(at).is_some_and(is_name_char) {
                    at += 1;
                }
            }
            Some(c) if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => at += 1,
            None => return Err((open, ParseProblem::UnterminatedParameter)),
            Some(_) => return Err((open, ParseProblem::BadSubstitution)),
        }
        let name = self.src[name_start..at].to_string();
        if self.peek_byte(at) == Some(b'}') {
            self.pos = at + 1;
            let op = length.then(|| {
                Box::new(ParamOp {
                    kind: ParamOpKind::Other,
                    word: Word {
                        span: at..at,
                        parts: Vec::new(),
                    },
                })
            });
            return Ok(Part::Param {
                name,
                op,
                span: open..self.pos,
            });
        }
        if length {
            return Err((open, ParseProblem::BadSubstitution));
        }
        let colon = self.peek_byte(at) == Some(b':');
        let op_at = if colon { at + 1 } else { at };
        let (kind, len) = match self.peek_byte(op_at) {
            Some(b'-') => (ParamOpKind::Default { colon }, 1),
            Some(b'+') => (ParamOpKind::Alternative { colon }, 1),
            Some(b'=') => (ParamOpKind::AssignDefault { colon }, 1),
            Some(b'?') => (ParamOpKind::Other, 1),
            Some(b'%' | b'#') if !colon => {
                let doubled = self.peek_byte(op_at + 1) == self.peek_byte(op_at);
                (ParamOpKind::Other, if doubled { 2 } else { 1 })
            }
            None => return Err((open, ParseProblem::UnterminatedParameter)),
            Some(_) => return Err((open, ParseProblem::BadSubstitution)),
        };
        let word = self.word(op_at + len, WordEnd::Brace)?;
        if self.peek_byte(self.pos) != Some(b'}') {
            return Err((open, ParseProblem::UnterminatedParameter));
        }
        self.pos += 1;
        Ok(Part::Param {
            name,
            op: Some(Box::new(ParamOp { kind, word })),
            span: open..self.pos,
        })
    }

    // ----- grammar -----

    fn is_reserved(t: &Token, which: &[&str]) -> bool {
        match &t.tok {
            Tok::Word(w) => plain(w).is_some_and(|s| which.contains(&s)),
            _ => false,
        }
    }

    /// Newlines (and the here-documents after them).
    fn linebreak(&mut self) -> ShResult<()> {
        while matches!(self.peek()?.tok, Tok::Newline) {
            self.next()?;
        }
        Ok(())
    }

    /// A list on one logical line (top level): and-ors separated by `;`/`&`.
    fn list(&mut self) -> ShResult<Vec<AndOr>> {
        let mut out = Vec::new();
        loop {
            let mut ao = self.and_or()?;
            let t = self.peek()?;
            match t.tok {
                Tok::Op(Op::Semi) => {
                    self.next()?;
                }
                Tok::Op(Op::Amp) => {
                    self.next()?;
                    ao.background = true;
                }
                _ => {
                    out.push(ao);
                    return Ok(out);
                }
            }
            out.push(ao);
            if matches!(self.peek()?.tok, Tok::Newline | Tok::Eof) {
                return Ok(out);
            }
        }
    }

    /// A list inside a compound command: until a closing keyword or `)`.
    fn compound_list(&mut self) -> ShResult<Vec<AndOr>> {
        let mut out = Vec::new();
        self.linebreak()?;
        loop {
            let t = self.peek()?;
            if matches!(t.tok, Tok::Eof | Tok::Op(Op::RParen) | Tok::Op(Op::DSemi))
                || Self::is_reserved(
                    &t,
                    &["then", "elif", "else", "fi", "do", "done", "esac", "}"],
                )
            {
                return Ok(out);
            }
            let mut ao = self.and_or()?;
            let t = self.peek()?;
            match t.tok {
                Tok::Op(Op::Semi) | Tok::Newline => {
                    self.next()?;
                }
                Tok::Op(Op::Amp) => {
                    self.next()?;
                    ao.background = true;
                }
                _ => {}
            }
            out.push(ao);
            self.linebreak()?;
        }
    }

    fn and_or(&mut self) -> ShResult<AndOr> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let t = self.peek()?;
            let is_and = match t.tok {
                Tok::Op(Op::AndIf) => true,
                Tok::Op(Op::OrIf) => false,
                _ => break,
            };
            self.next()?;
            self.linebreak()?;
            rest.push((is_and, self.pipeline()?));
        }
        Ok(AndOr {
            first,
            rest,
            background: false,
        })
    }

    fn pipeline(&mut self) -> ShResult<Pipeline> {
        let mut bang = false;
        if Self::is_reserved(&self.peek()?, &["!"]) {
            self.next()?;
            bang = true;
        }
        let mut commands = vec![self.command()?];
        while matches!(self.peek()?.tok, Tok::Op(Op::Pipe)) {
            self.next()?;
            self.linebreak()?;
            commands.push(self.command()?);
        }
        Ok(Pipeline { bang, commands })
    }

    fn expect_reserved(
        &mut self,
        word: &'static str,
        opener: &'static str,
        open_at: usize,
    ) -> ShResult<Token> {
        let t = self.next()?;
        if Self::is_reserved(&t, &[word]) {
            return Ok(t);
        }
        if matches!(t.tok, Tok::Eof) {
            return Err((
                open_at,
                ParseProblem::Unclosed {
                    keyword: opener,
                    expected: word,
                },
            ));
        }
        Err((
            t.start,
            ParseProblem::Unexpected {
                found: describe(&t.tok),
                expected: match word {
                    "then" => "`then`",
                    "fi" => "`fi`",
                    "do" => "`do`",
                    "done" => "`done`",
                    "esac" => "`esac`",
                    "in" => "`in`",
                    _ => "`}`",
                },
            },
        ))
    }

    fn command(&mut self) -> ShResult<Command> {
        let t = self.peek()?;
        let start = t.start;
        let cmd = match &t.tok {
            Tok::Word(w) => match plain(w) {
                Some("if") => {
                    self.next()?;
                    let mut clauses = Vec::new();
                    let cond = self.compound_list()?;
                    self.expect_reserved("then", "if", start)?;
                    let body = self.compound_list()?;
                    clauses.push((cond, body));
                    let mut else_body = None;
                    loop {
                        let t = self.next()?;
                        if Self::is_reserved(&t, &["elif"]) {
                            let cond = self.compound_list()?;
                            self.expect_reserved("then", "elif", t.start)?;
                            let body = self.compound_list()?;
                            clauses.push((cond, body));
                        } else if Self::is_reserved(&t, &["else"]) {
                            else_body = Some(self.compound_list()?);
                            self.expect_reserved("fi", "if", start)?;
                            break;
                        } else if Self::is_reserved(&t, &["fi"]) {
                            break;
                        } else if matches!(t.tok, Tok::Eof) {
                            return Err((
                                start,
                                ParseProblem::Unclosed {
                                    keyword: "if",
                                    expected: "fi",
                                },
                            ));
                        } else {
                            return Err((
                                t.start,
                                ParseProblem::Unexpected {
                                    found: describe(&t.tok),
                                    expected: "`elif`, `else` or `fi`",
                                },
                            ));
                        }
                    }
                    Command::If { clauses, else_body }
                }
                Some(kw @ ("while" | "until")) => {
                    let kw = if kw == "while" { "while" } else { "until" };
                    self.next()?;
                    let cond = self.compound_list()?;
                    let body = self.do_group(kw, start)?;
                    Command::Loop {
                        cond,
                        body,
                        for_var: None,
                    }
                }
                Some("for") => {
                    self.next()?;
                    let t = self.next()?;
                    let var = match &t.tok {
                        Tok::Word(w) => plain(w).unwrap_or("").to_string(),
                        other => {
                            return Err((
                                t.start,
                                ParseProblem::Unexpected {
                                    found: describe(other),
                                    expected: "a variable name after `for`",
                                },
                            ));
                        }
                    };
                    self.linebreak()?;
                    if Self::is_reserved(&self.peek()?, &["in"]) {
                        self.next()?;
                        loop {
                            let t = self.next()?;
                            match t.tok {
                                Tok::Word(_) => {}
                                Tok::Op(Op::Semi) | Tok::Newline => break,
                                Tok::Eof => {
                                    return Err((
                                        start,
                                        ParseProblem::Unclosed {
                                            keyword: "for",
                                            expected: "done",
                                        },
                                    ));
                                }
                                other => {
                                    return Err((
                                        t.start,
                                        ParseProblem::Unexpected {
                                            found: describe(&other),
                                            expected: "words, then `;` or a new line",
                                        },
                                    ));
                                }
                            }
                        }
                    } else if matches!(self.peek()?.tok, Tok::Op(Op::Semi)) {
                        self.next()?;
                    }
                    self.linebreak()?;
                    let body = self.do_group("for", start)?;
                    Command::Loop {
                        cond: Vec::new(),
                        body,
                        for_var: Some(var),
                    }
                }
                Some("case") => self.case(start)?,
                Some("{") => {
                    self.next()?;
                    let body = self.compound_list()?;
                    self.expect_reserved("}", "{", start)?;
                    Command::Group(body)
                }
                Some(name)
                    if name.bytes().all(is_name_char)
                        && !name.is_empty()
                        && !RESERVED.contains(&name) =>
                {
                    // NAME ( ) body — a function definition?
                    let save = self.pos;
                    self.next()?;
                    let after = self.pos;
                    if matches!(self.peek()?.tok, Tok::Op(Op::LParen)) {
                        self.next()?;
                        let t = self.next()?;
                        if !matches!(t.tok, Tok::Op(Op::RParen)) {
                            return Err((
                                t.start,
                                ParseProblem::Unexpected {
                                    found: describe(&t.tok),
                                    expected: "`)` of a function definition",
                                },
                            ));
                        }
                        self.linebreak()?;
                        let name = name.to_string();
                        let body = self.command()?;
                        return Ok(Command::FunctionDef {
                            name,
                            body: Box::new(body),
                        });
                    }
                    let _ = after;
                    self.pos = save;
                    Command::Simple(self.simple()?)
                }
                Some(kw)
                    if [
                        "then", "elif", "else", "fi", "do", "done", "esac", "}", "in",
                    ]
                    .contains(&kw) =>
                {
                    return Err((
                        t.start,
                        ParseProblem::Unexpected {
                            found: format!("`{kw}`"),
                            expected: "a command",
                        },
                    ));
                }
                _ => Command::Simple(self.simple()?),
            },
            Tok::Op(Op::LParen) => {
                self.next()?;
                let body = self.compound_list()?;
                let t = self.next()?;
                match t.tok {
                    Tok::Op(Op::RParen) => Command::Subshell(body),
                    Tok::Eof => {
                        return Err((
                            start,
                            ParseProblem::Unclosed {
                                keyword: "(",
                                expected: ")",
                            },
                        ));
                    }
                    other => {
                        return Err((
                            t.start,
                            ParseProblem::Unexpected {
                                found: describe(&other),
                                expected: "`)`",
                            },
                        ));
                    }
                }
            }
            Tok::Op(Op::Redirect { .. }) => Command::Simple(self.simple()?),
            other => {
                return Err((
                    t.start,
                    ParseProblem::Unexpected {
                        found: describe(other),
                        expected: "a command",
                    },
                ));
            }
        };
        // Redirections after a compound command.
        while let Tok::Op(Op::Redirect { heredoc }) = self.peek()?.tok {
            let t = self.next()?;
            self.redirect_target(heredoc, t.start)?;
        }
        Ok(cmd)
    }

    fn do_group(&mut self, opener: &'static str, open_at: usize) -> ShResult<Vec<AndOr>> {
        self.expect_reserved("do", opener, open_at)?;
        let body = self.compound_list()?;
        self.expect_reserved("done", opener, open_at)?;
        Ok(body)
    }

    fn case(&mut self, start: usize) -> ShResult<Command> {
        self.next()?;
        let t = self.next()?;
        if !matches!(t.tok, Tok::Word(_)) {
            return Err((
                t.start,
                ParseProblem::Unexpected {
                    found: describe(&t.tok),
                    expected: "a word after `case`",
                },
            ));
        }
        self.linebreak()?;
        self.expect_reserved("in", "case", start)?;
        self.linebreak()?;
        let mut arms = Vec::new();
        loop {
            let t = self.peek()?;
            if Self::is_reserved(&t, &["esac"]) {
                self.next()?;
                break;
            }
            if matches!(t.tok, Tok::Eof) {
                return Err((
                    start,
                    ParseProblem::Unclosed {
                        keyword: "case",
                        expected: "esac",
                    },
                ));
            }
            if matches!(t.tok, Tok::Op(Op::LParen)) {
                self.next()?;
            }
            // Patterns up to `)`.
            loop {
                let t = self.next()?;
                match t.tok {
                    Tok::Word(_) | Tok::Op(Op::Pipe) => {}
                    Tok::Op(Op::RParen) => break,
                    Tok::Eof => {
                        return Err((
                            start,
                            ParseProblem::Unclosed {
                                keyword: "case",
                                expected: "esac",
                            },
                        ));
                    }
                    other => {
                        return Err((
                            t.start,
                            ParseProblem::Unexpected {
                                found: describe(&other),
                                expected: "a pattern and `)`",
                            },
                        ));
                    }
                }
            }
            arms.push(self.compound_list()?);
            let t = self.peek()?;
            if matches!(t.tok, Tok::Op(Op::DSemi)) {
                self.next()?;
                self.linebreak()?;
            } else if !Self::is_reserved(&t, &["esac"]) {
                if matches!(t.tok, Tok::Eof) {
                    return Err((
                        start,
                        ParseProblem::Unclosed {
                            keyword: "case",
                            expected: "esac",
                        },
                    ));
                }
                return Err((
                    t.start,
                    ParseProblem::Unexpected {
                        found: describe(&t.tok),
                        expected: "`;;` or `esac`",
                    },
                ));
            }
        }
        Ok(Command::Case { arms })
    }

    fn redirect_target(&mut self, heredoc: Option<bool>, at: usize) -> ShResult<()> {
        let t = self.next()?;
        let Tok::Word(word) = t.tok else {
            return Err((
                t.start,
                ParseProblem::Unexpected {
                    found: describe(&t.tok),
                    expected: "a file name after the redirection",
                },
            ));
        };
        if let Some(strip) = heredoc {
            let mut delim = String::new();
            for part in &word.parts {
                match part {
                    Part::Lit { text, .. } | Part::Single { text, .. } => delim.push_str(text),
                    Part::Escaped { ch, .. } => delim.push(*ch),
                    Part::Double { parts, .. } => {
                        for p in parts {
                            if let Part::Lit { text, .. } = p {
                                delim.push_str(text);
                            }
                        }
                    }
                    _ => delim.push_str(&self.src[part.span()]),
                }
            }
            self.heredocs.push((delim, strip, at));
        }
        Ok(())
    }

    fn simple(&mut self) -> ShResult<Simple> {
        let offset = self.peek()?.start;
        let mut assigns = Vec::new();
        let mut decl = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        loop {
            // Lex once; put the token back when it does not belong to this command.
            let save = self.pos;
            let t = self.lex()?;
            match t.tok {
                Tok::Word(word) => {
                    let declaring = words
                        .first()
                        .and_then(plain)
                        .is_some_and(|w| matches!(w, "export" | "readonly" | "local"));
                    if words.is_empty() {
                        match assignment(word) {
                            Ok(assign) => assigns.push(assign),
                            Err(word) => words.push(word),
                        }
                    } else if declaring {
                        match assignment(word) {
                            Ok(assign) => {
                                // Keep the argument as a word too (for `export` itself).
                                words.push(Word {
                                    span: assign.span.clone(),
                                    parts: Vec::new(),
                                });
                                decl.push(assign);
                            }
                            Err(word) => words.push(word),
                        }
                    } else {
                        words.push(word);
                    }
                }
                Tok::Op(Op::Redirect { heredoc }) => {
                    self.redirect_target(heredoc, t.start)?;
                }
                _ => {
                    self.pos = save;
                    break;
                }
            }
        }
        if assigns.is_empty() && words.is_empty() {
            let t = self.peek()?;
            return Err((
                t.start,
                ParseProblem::Unexpected {
                    found: describe(&t.tok),
                    expected: "a command",
                },
            ));
        }
        Ok(Simple {
            assigns,
            words,
            decl,
            offset,
        })
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
