//! The shell's tokens: blanks, continuations and comments skipped, operators and words
//! told apart, here-document bodies read after their line.

use super::*;

impl Parser<'_> {
    /// Skips blanks, continuations and a comment; stops before a newline.
    pub(super) fn skip_blanks(&mut self) -> ShResult<()> {
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
    pub(super) fn continuation_not_last(&self, at: usize) -> ShResult<()> {
        if at + 2 >= self.b.len() {
            return Err((at, ParseProblem::ContinuationAtEof));
        }
        Ok(())
    }

    pub(super) fn lex(&mut self) -> ShResult<Token> {
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
    pub(super) fn next(&mut self) -> ShResult<Token> {
        let t = self.lex()?;
        if matches!(t.tok, Tok::Newline) && !self.heredocs.is_empty() {
            self.heredoc_bodies()?;
        }
        Ok(t)
    }

    pub(super) fn peek(&mut self) -> ShResult<Token> {
        let save = self.pos;
        let t = self.lex();
        self.pos = save;
        t
    }

    pub(super) fn heredoc_bodies(&mut self) -> ShResult<()> {
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
}
