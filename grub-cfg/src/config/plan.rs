//! Planning an edit of a `GRUB_CMDLINE_XEN*` value: which assignments build it (the chain of
//! `X="$X more"`), how each one's text is laid out (quoting, tokens), and the byte-exact
//! replacement that changes only the options asked for. The model it works on is
//! [`BootConfig`]; deciding *which* variable to edit is `winning`'s.

use super::*;

impl BootConfig {
    /// The assignments that build the variable's final value: the last one, and, while an
    /// assignment refers to the variable itself (`X="$X more"`), the one before it.
    pub(super) fn chain(&self, name: &str) -> Result<Vec<Site>, String> {
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
    pub(super) fn layout(
        &self,
        site: &Site,
    ) -> Result<(Quoting, Range<usize>, Vec<Token>), String> {
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
    pub(super) fn flatten(&self, name: &str, chain: &[Site]) -> Result<Vec<ChainOption>, String> {
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
                        Some(ShellValue::Known(v)) => {
                            next.extend(v.split_whitespace().map(|w| ChainOption {
                                text: w.to_string(),
                                token: None,
                                site: c,
                            }));
                        }
                        None => {}
                        Some(ShellValue::Unknown(_)) => {
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
    pub(super) fn plan_set_in(
        &self,
        opts: &[&str],
        options: &SetOptions,
    ) -> Result<(Edit, Vec<XenOption>), GrubCfgError> {
        let mut new = Vec::new();
        for raw in opts {
            let option = validate_token(raw)?;
            if !options.force {
                let errors: Vec<String> = xen::check_option(options.table, &option)
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
    pub(super) fn plan_remove(
        &self,
        wanted: &[String],
        variable: XenVariable,
    ) -> Result<Edit, GrubCfgError> {
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
    pub(super) fn plan(
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
            Some(ShellValue::Unknown(why)) => {
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
            Some(ShellValue::Known(_)) | None => {}
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
            Some(ShellValue::Known(v)) => v,
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

    pub(super) fn not_editable(&self, name: &str, reason: String) -> GrubCfgError {
        let at = self.variable(name).source;
        GrubCfgError::NotEditable {
            variable: name.to_string(),
            path: at.as_ref().map(|s| s.path.clone()).unwrap_or_default(),
            line: at.map_or(0, |s| s.line),
            reason,
        }
    }

    pub(super) fn not_editable_at(&self, name: &str, site: &Site, reason: String) -> GrubCfgError {
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
pub(super) enum Op {
    Remove(usize),
    Replace(usize, String),
    Append(String),
}

/// Applies `ops` to a copy-list of (text, editable) the way the file edit will.
pub(super) fn apply_ops(list: &mut Vec<(String, bool)>, ops: &[Op]) {
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
pub(super) fn removal(text: &str, inner: &Range<usize>, raw: Range<usize>) -> Range<usize> {
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
