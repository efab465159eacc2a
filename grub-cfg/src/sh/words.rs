//! One shell word: literals, quotes, escapes, `$`-expansions and command substitutions, each
//! part with its byte span.

use super::*;

impl Parser<'_> {
    /// Reads one word starting at `start`.
    pub(super) fn word(&mut self, start: usize, end: WordEnd) -> ShResult<Word> {
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

    pub(super) fn double_quoted(&mut self) -> ShResult<Part> {
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

    pub(super) fn backquote(&mut self) -> ShResult<Part> {
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
    pub(super) fn dollar(&mut self) -> ShResult<Option<Part>> {
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

    pub(super) fn brace_param(&mut self, open: usize) -> ShResult<Part> {
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
}
