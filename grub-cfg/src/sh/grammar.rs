//! The POSIX shell grammar over the tokens: lists, and-or lists, pipelines, compound commands
//! (`if`, `case`, loops, groups, functions), simple commands and redirections.

use super::*;

impl Parser<'_> {
    pub(super) fn is_reserved(t: &Token, which: &[&str]) -> bool {
        match &t.tok {
            Tok::Word(w) => plain(w).is_some_and(|s| which.contains(&s)),
            _ => false,
        }
    }

    /// Newlines (and the here-documents after them).
    pub(super) fn linebreak(&mut self) -> ShResult<()> {
        while matches!(self.peek()?.tok, Tok::Newline) {
            self.next()?;
        }
        Ok(())
    }

    /// A list on one logical line (top level): and-ors separated by `;`/`&`.
    pub(super) fn list(&mut self) -> ShResult<Vec<AndOr>> {
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
    pub(super) fn compound_list(&mut self) -> ShResult<Vec<AndOr>> {
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

    pub(super) fn and_or(&mut self) -> ShResult<AndOr> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let t = self.peek()?;
            let connector = match t.tok {
                Tok::Op(Op::AndIf) => Connector::And,
                Tok::Op(Op::OrIf) => Connector::Or,
                _ => break,
            };
            self.next()?;
            self.linebreak()?;
            rest.push(Chained {
                connector,
                pipeline: self.pipeline()?,
            });
        }
        Ok(AndOr {
            first,
            rest,
            background: false,
        })
    }

    pub(super) fn pipeline(&mut self) -> ShResult<Pipeline> {
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

    pub(super) fn expect_reserved(
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

    pub(super) fn command(&mut self) -> ShResult<Command> {
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
                            return Err(unclosed(start, "if", "fi"));
                        } else {
                            return Err(unexpected(t.start, &t.tok, "`elif`, `else` or `fi`"));
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
                            return Err(unexpected(t.start, other, "a variable name after `for`"));
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
                                    return Err(unclosed(start, "for", "done"));
                                }
                                other => {
                                    return Err(unexpected(
                                        t.start,
                                        &other,
                                        "words, then `;` or a new line",
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
                            return Err(unexpected(
                                t.start,
                                &t.tok,
                                "`)` of a function definition",
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
                        return Err(unclosed(start, "(", ")"));
                    }
                    other => {
                        return Err(unexpected(t.start, &other, "`)`"));
                    }
                }
            }
            Tok::Op(Op::Redirect { .. }) => Command::Simple(self.simple()?),
            other => {
                return Err(unexpected(t.start, other, "a command"));
            }
        };
        // Redirections after a compound command.
        while let Tok::Op(Op::Redirect { heredoc }) = self.peek()?.tok {
            let t = self.next()?;
            self.redirect_target(heredoc, t.start)?;
        }
        Ok(cmd)
    }

    pub(super) fn do_group(
        &mut self,
        opener: &'static str,
        open_at: usize,
    ) -> ShResult<Vec<AndOr>> {
        self.expect_reserved("do", opener, open_at)?;
        let body = self.compound_list()?;
        self.expect_reserved("done", opener, open_at)?;
        Ok(body)
    }

    pub(super) fn case(&mut self, start: usize) -> ShResult<Command> {
        self.next()?;
        let t = self.next()?;
        if !matches!(t.tok, Tok::Word(_)) {
            return Err(unexpected(t.start, &t.tok, "a word after `case`"));
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
                return Err(unclosed(start, "case", "esac"));
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
                        return Err(unclosed(start, "case", "esac"));
                    }
                    other => {
                        return Err(unexpected(t.start, &other, "a pattern and `)`"));
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
                    return Err(unclosed(start, "case", "esac"));
                }
                return Err(unexpected(t.start, &t.tok, "`;;` or `esac`"));
            }
        }
        Ok(Command::Case { arms })
    }

    pub(super) fn redirect_target(&mut self, heredoc: Option<bool>, at: usize) -> ShResult<()> {
        let t = self.next()?;
        let Tok::Word(word) = t.tok else {
            return Err(unexpected(
                t.start,
                &t.tok,
                "a file name after the redirection",
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

    pub(super) fn simple(&mut self) -> ShResult<Simple> {
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
            return Err(unexpected(t.start, &t.tok, "a command"));
        }
        Ok(Simple {
            assigns,
            words,
            decl,
            offset,
        })
    }
}
