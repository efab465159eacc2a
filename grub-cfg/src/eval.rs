//! What sourcing the files gives: a static evaluation of the parsed shell.
//!
//! Nothing is executed. Assignments, `export`, `unset`, `${x:-y}`, `if [ "$x" = "y" ]`,
//! `&&`/`||`, `exit` and `. /absolute/file` are followed; anything whose result depends on
//! running a program (command substitution, `command -v`, an unresolvable `.`, `eval`)
//! makes the affected values *unknown*, with the file and line that decides it.

// Length note: about 780 lines of code and 70 of tests: the static evaluator of the sh tree
// (`sh`), one walk over it that tracks variables, conditions and where each value came from;
// its parts share the walker's state. Candidate for splitting expansions from control flow
// when it next changes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::default_grub::DefaultGrub;
use crate::error::GrubCfgError;
use crate::sh::{
    AndOr, Assign, Chained, Command, Connector, ItemKind, ParamOpKind, Part, Pipeline, Simple, Word,
};
use crate::text::{in_root, resolve_in_root};

/// Variables grub-mkconfig sets from the running system before it sources the files.
const PRESET: [&str; 9] = [
    "GRUB_DEVICE",
    "GRUB_DEVICE_UUID",
    "GRUB_DEVICE_PARTUUID",
    "GRUB_DEVICE_BOOT",
    "GRUB_DEVICE_BOOT_UUID",
    "GRUB_FS",
    "GRUB_EARLY_INITRD_LINUX_STOCK",
    "GRUB_ACTUAL_DEFAULT",
    "GRUB_PREFIX",
];

/// Variables that come from the environment of grub-mkconfig.
const ENVIRONMENT: [&str; 9] = [
    "PATH", "HOME", "USER", "LANG", "LANGUAGE", "PWD", "SHELL", "TERM", "LC_ALL",
];

/// How deep `. file` and function calls are followed.
const MAX_DEPTH: usize = 8;

/// Why a value cannot be known without running the shell: what, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Uncertainty {
    pub what: String,
    pub file: usize,
    pub offset: usize,
}

/// A value: known text or unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ShellValue {
    Known(String),
    Unknown(Uncertainty),
}

/// One assignment met during evaluation.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub file: usize,
    pub assign: Assign,
    /// `Err(why)` when it cannot be edited in place.
    pub editable: Result<(), String>,
}

/// A variable after evaluation.
#[derive(Debug, Clone, Default)]
pub(crate) struct VarState {
    /// `None`: unset.
    pub val: Option<ShellValue>,
    /// Every assignment met, in order.
    pub history: Vec<Site>,
}

/// The result of sourcing the files in order.
#[derive(Debug, Clone)]
pub(crate) struct Evaluation {
    pub files: Vec<Arc<DefaultGrub>>,
    pub vars: BTreeMap<String, VarState>,
    /// Set when code xenadm cannot follow may have changed any variable.
    pub taint: Option<Uncertainty>,
    /// Set when a later `exit` may have ended the sourcing.
    pub may_exit: Option<Uncertainty>,
}

impl Evaluation {
    /// The value of a variable as the /etc/grub.d scripts would see it.
    pub fn value(&self, name: &str) -> Option<ShellValue> {
        match self.vars.get(name) {
            Some(state) => state.val.clone(),
            None => self.taint.clone().map(ShellValue::Unknown),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// `exit`: stop everything.
    Exit,
    /// `return`: stop this file or function.
    Return,
}

/// Evaluates `files` in order. With `root`, `. /abs/path` is followed below it.
/// `overrides` replace files sourced with `.` (by path) instead of reading them again.
pub(crate) fn evaluate(
    files: Vec<Arc<DefaultGrub>>,
    root: Option<&Path>,
    overrides: &[Arc<DefaultGrub>],
) -> Result<Evaluation, GrubCfgError> {
    let count = files.len();
    let mut ev = Evaluator {
        root: root.map(Path::to_path_buf),
        overrides: overrides.to_vec(),
        out: Evaluation {
            files,
            vars: BTreeMap::new(),
            taint: None,
            may_exit: None,
        },
        cond: Vec::new(),
        functions: HashMap::new(),
        depth: 0,
    };
    for index in 0..count {
        if ev.run_file(index)? == Flow::Exit {
            break;
        }
    }
    Ok(ev.out)
}

struct Evaluator {
    root: Option<PathBuf>,
    overrides: Vec<Arc<DefaultGrub>>,
    out: Evaluation,
    /// Reasons the code being evaluated may not run.
    cond: Vec<Uncertainty>,
    functions: HashMap<String, (usize, Command)>,
    depth: usize,
}

type Status = Option<bool>;

impl Evaluator {
    fn uncertainty(&self, what: impl Into<String>, file: usize, offset: usize) -> Uncertainty {
        Uncertainty {
            what: what.into(),
            file,
            offset,
        }
    }

    /// The reason the current code may not run, if any.
    fn uncertain(&self) -> Option<Uncertainty> {
        self.cond
            .last()
            .cloned()
            .or_else(|| self.out.may_exit.clone())
    }

    fn run_file(&mut self, file: usize) -> Result<Flow, GrubCfgError> {
        let doc = Arc::clone(&self.out.files[file]);
        for item in &doc.items {
            if let ItemKind::Commands(list) = &item.kind {
                match self.run_list(file, list, true)? {
                    Flow::Continue => {}
                    Flow::Return => return Ok(Flow::Continue),
                    Flow::Exit => return Ok(Flow::Exit),
                }
            }
        }
        Ok(Flow::Continue)
    }

    fn run_list(&mut self, file: usize, list: &[AndOr], top: bool) -> Result<Flow, GrubCfgError> {
        for ao in list {
            let flow = self.run_and_or(file, ao, top)?;
            if flow != Flow::Continue {
                return Ok(flow);
            }
        }
        Ok(Flow::Continue)
    }

    fn run_and_or(&mut self, file: usize, ao: &AndOr, top: bool) -> Result<Flow, GrubCfgError> {
        if ao.background {
            // A background job runs in a subshell: no effect on our variables.
            return Ok(Flow::Continue);
        }
        let (flow, mut status) = self.run_pipeline(file, &ao.first, top)?;
        if flow != Flow::Continue {
            return Ok(flow);
        }
        for Chained {
            connector,
            pipeline,
        } in &ao.rest
        {
            let runs = status.map(|ok| connector.runs_after(ok));
            match runs {
                Some(false) => {}
                Some(true) => {
                    let (flow, s) = self.run_pipeline(file, pipeline, false)?;
                    if flow != Flow::Continue {
                        return Ok(flow);
                    }
                    status = s;
                }
                None => {
                    let offset = pipeline_offset(pipeline);
                    let what = if *connector == Connector::And {
                        "runs only when the command before `&&` succeeds"
                    } else {
                        "runs only when the command before `||` fails"
                    };
                    self.cond.push(self.uncertainty(what, file, offset));
                    let (flow, _) = self.run_pipeline(file, pipeline, false)?;
                    self.cond.pop();
                    self.maybe_exit(flow, file, offset);
                    status = None;
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// A flow that happened under a condition: the rest may not run.
    fn maybe_exit(&mut self, flow: Flow, file: usize, offset: usize) {
        if flow != Flow::Continue && self.out.may_exit.is_none() {
            self.out.may_exit = Some(self.uncertainty(
                "may not be reached: an `exit` or `return` before it runs only under a condition",
                file,
                offset,
            ));
        }
    }

    fn run_pipeline(
        &mut self,
        file: usize,
        pipeline: &Pipeline,
        top: bool,
    ) -> Result<(Flow, Status), GrubCfgError> {
        if pipeline.commands.len() > 1 {
            // Every part of a pipeline runs in a subshell.
            return Ok((Flow::Continue, None));
        }
        let Some(command) = pipeline.commands.first() else {
            return Ok((Flow::Continue, None));
        };
        let (flow, status) = self.run_command(file, command, top)?;
        Ok((
            flow,
            if pipeline.bang {
                status.map(|s| !s)
            } else {
                status
            },
        ))
    }

    fn run_command(
        &mut self,
        file: usize,
        command: &Command,
        top: bool,
    ) -> Result<(Flow, Status), GrubCfgError> {
        match command {
            Command::Simple(simple) => self.run_simple(file, simple, top),
            Command::Group(list) => Ok((self.run_list(file, list, top)?, None)),
            Command::Subshell(_) => Ok((Flow::Continue, None)),
            Command::If { clauses, else_body } => {
                // Whether an earlier branch was taken: Some(true) yes, Some(false) no, None maybe.
                let mut taken: Option<bool> = Some(false);
                for (cond, body) in clauses {
                    if taken == Some(true) {
                        break;
                    }
                    let offset = list_offset(cond);
                    let outer = taken.is_none();
                    if outer {
                        self.cond
                            .push(self.uncertainty("is inside an `if` branch", file, offset));
                    }
                    let status = self.run_condition(file, cond)?;
                    let flow = match status {
                        Some(false) => Flow::Continue,
                        Some(true) => {
                            if taken == Some(false) {
                                taken = Some(true);
                            }
                            self.run_list(file, body, false)?
                        }
                        None => {
                            taken = None;
                            self.cond.push(self.uncertainty(
                                "is inside an `if` whose condition xenadm cannot decide",
                                file,
                                offset,
                            ));
                            let flow = self.run_list(file, body, false)?;
                            self.cond.pop();
                            self.maybe_exit(flow, file, offset);
                            Flow::Continue
                        }
                    };
                    if outer {
                        self.cond.pop();
                        self.maybe_exit(flow, file, offset);
                    } else if flow != Flow::Continue {
                        return Ok((flow, None));
                    }
                }
                if let Some(body) = else_body {
                    let offset = list_offset(body);
                    match taken {
                        Some(true) => {}
                        Some(false) => {
                            let flow = self.run_list(file, body, false)?;
                            if flow != Flow::Continue {
                                return Ok((flow, None));
                            }
                        }
                        None => {
                            self.cond.push(self.uncertainty(
                                "is inside an `else` branch xenadm cannot decide",
                                file,
                                offset,
                            ));
                            let flow = self.run_list(file, body, false)?;
                            self.cond.pop();
                            self.maybe_exit(flow, file, offset);
                        }
                    }
                }
                Ok((Flow::Continue, None))
            }
            Command::Loop {
                cond,
                body,
                for_var,
            } => {
                let offset = list_offset(body);
                self.cond
                    .push(self.uncertainty("is inside a loop", file, offset));
                if let Some(var) = for_var {
                    let why = self.uncertainty(
                        "is the variable of a `for` loop".to_string(),
                        file,
                        offset,
                    );
                    self.set_unknown(var, why);
                }
                let flow = self.run_list(file, cond, false)?;
                self.maybe_exit(flow, file, offset);
                let flow = self.run_list(file, body, false)?;
                self.maybe_exit(flow, file, offset);
                self.cond.pop();
                Ok((Flow::Continue, None))
            }
            Command::Case { arms } => {
                for arm in arms {
                    let offset = list_offset(arm);
                    self.cond
                        .push(self.uncertainty("is inside a `case` branch", file, offset));
                    let flow = self.run_list(file, arm, false)?;
                    self.cond.pop();
                    self.maybe_exit(flow, file, offset);
                }
                Ok((Flow::Continue, None))
            }
            Command::FunctionDef { name, body } => {
                self.functions
                    .insert(name.clone(), (file, (**body).clone()));
                Ok((Flow::Continue, Some(true)))
            }
        }
    }

    /// Runs the condition list of an `if`; its status is that of the last command.
    fn run_condition(&mut self, file: usize, cond: &[AndOr]) -> Result<Status, GrubCfgError> {
        let mut status = Some(true);
        for ao in cond {
            if ao.background {
                status = Some(true);
                continue;
            }
            let (flow, mut s) = self.run_pipeline(file, &ao.first, false)?;
            if flow != Flow::Continue {
                self.maybe_exit(flow, file, pipeline_offset(&ao.first));
                return Ok(None);
            }
            for Chained {
                connector,
                pipeline,
            } in &ao.rest
            {
                s = match s.map(|ok| connector.runs_after(ok)) {
                    Some(false) => s,
                    Some(true) => self.run_pipeline(file, pipeline, false)?.1,
                    None => {
                        self.cond.push(self.uncertainty(
                            "is inside a condition xenadm cannot decide",
                            file,
                            pipeline_offset(pipeline),
                        ));
                        let _ = self.run_pipeline(file, pipeline, false)?;
                        self.cond.pop();
                        None
                    }
                };
            }
            status = s;
        }
        Ok(status)
    }

    fn run_simple(
        &mut self,
        file: usize,
        simple: &Simple,
        top: bool,
    ) -> Result<(Flow, Status), GrubCfgError> {
        let offset = simple.offset;
        let Some(first) = simple.words.first() else {
            for assign in &simple.assigns {
                self.assign(file, assign, top);
            }
            return Ok((Flow::Continue, Some(true)));
        };
        let name = match self.word(file, first) {
            ShellValue::Known(name) => name,
            ShellValue::Unknown(_) => return Ok((Flow::Continue, None)),
        };
        let special = matches!(
            name.as_str(),
            ":" | "."
                | "source"
                | "eval"
                | "exec"
                | "exit"
                | "export"
                | "readonly"
                | "return"
                | "set"
                | "shift"
                | "trap"
                | "unset"
        );
        if special {
            for assign in &simple.assigns {
                self.assign(file, assign, top);
            }
        }
        let args: Vec<&Word> = simple.words.iter().skip(1).collect();
        match name.as_str() {
            "export" | "readonly" | "local" => {
                for assign in &simple.decl {
                    self.assign(file, assign, top);
                }
                Ok((Flow::Continue, Some(true)))
            }
            "unset" => {
                for arg in args {
                    if let ShellValue::Known(var) = self.word(file, arg) {
                        if var.starts_with('-') {
                            continue;
                        }
                        match self.uncertain() {
                            Some(why) => self.set_unknown(&var, why),
                            None => {
                                if let Some(state) = self.out.vars.get_mut(&var) {
                                    state.val = None;
                                } else {
                                    self.out.vars.insert(var, VarState::default());
                                }
                            }
                        }
                    }
                }
                Ok((Flow::Continue, Some(true)))
            }
            "read" | "getopts" => {
                for arg in args {
                    if let ShellValue::Known(var) = self.word(file, arg)
                        && !var.starts_with('-')
                    {
                        let why = self.uncertainty("is read at run time (`read`)", file, offset);
                        self.set_unknown(&var, why);
                    }
                }
                Ok((Flow::Continue, None))
            }
            "." | "source" => self.source(file, offset, args.first().copied()),
            "eval" => {
                self.taint(self.uncertainty(
                    "may be changed by `eval`, which xenadm does not evaluate",
                    file,
                    offset,
                ));
                Ok((Flow::Continue, None))
            }
            "exit" => Ok((Flow::Exit, None)),
            "return" => Ok((Flow::Return, None)),
            "true" | ":" => Ok((Flow::Continue, Some(true))),
            "false" => Ok((Flow::Continue, Some(false))),
            "[" | "test" => {
                let mut vals = Vec::new();
                for arg in &args {
                    vals.push(self.test_arg(file, arg));
                }
                if name == "[" {
                    if !matches!(vals.last(), Some(Some(s)) if s == "]") {
                        return Ok((Flow::Continue, None));
                    }
                    vals.pop();
                }
                let known: Option<Vec<String>> = vals.into_iter().collect();
                Ok((Flow::Continue, known.and_then(|v| test(&v))))
            }
            _ => {
                if let Some((def_file, body)) = self.functions.get(&name).cloned() {
                    if self.depth >= MAX_DEPTH {
                        self.taint(self.uncertainty(
                            "may be changed by a deeply recursive function",
                            file,
                            offset,
                        ));
                        return Ok((Flow::Continue, None));
                    }
                    self.depth += 1;
                    let result = self.run_command(def_file, &body, false);
                    self.depth -= 1;
                    let (flow, _) = result?;
                    return Ok((
                        if flow == Flow::Exit {
                            Flow::Exit
                        } else {
                            Flow::Continue
                        },
                        None,
                    ));
                }
                // Any other command runs in its own process: no effect on variables.
                Ok((Flow::Continue, None))
            }
        }
    }

    /// `. FILE`: follows absolute paths below the root.
    fn source(
        &mut self,
        file: usize,
        offset: usize,
        arg: Option<&Word>,
    ) -> Result<(Flow, Status), GrubCfgError> {
        let path = arg.map(|w| self.word(file, w));
        let target = match (&path, &self.root) {
            (Some(ShellValue::Known(p)), Some(root)) if p.starts_with('/') => {
                Some(resolve_in_root(root, &in_root(root, p)))
            }
            _ => None,
        };
        let shown = match &path {
            Some(ShellValue::Known(p)) => p.clone(),
            _ => "...".to_string(),
        };
        let Some(target) = target.filter(|t| t.is_file()) else {
            self.taint(self.uncertainty(
                format!("may be changed by `. {shown}`, which xenadm cannot follow"),
                file,
                offset,
            ));
            return Ok((Flow::Continue, None));
        };
        if self.depth >= MAX_DEPTH {
            self.taint(self.uncertainty(
                format!("may be changed by `. {shown}` (nested too deeply)"),
                file,
                offset,
            ));
            return Ok((Flow::Continue, None));
        }
        let doc = match self.overrides.iter().find(|d| d.path() == target) {
            Some(doc) => Arc::clone(doc),
            None => Arc::new(DefaultGrub::read(&target)?),
        };
        self.out.files.push(doc);
        let index = self.out.files.len() - 1;
        self.depth += 1;
        let flow = self.run_file(index);
        self.depth -= 1;
        Ok((flow?, None))
    }

    fn taint(&mut self, why: Uncertainty) {
        for state in self.out.vars.values_mut() {
            state.val = Some(ShellValue::Unknown(why.clone()));
        }
        if self.out.taint.is_none() {
            self.out.taint = Some(why);
        }
    }

    fn set_unknown(&mut self, var: &str, why: Uncertainty) {
        self.out.vars.entry(var.to_string()).or_default().val = Some(ShellValue::Unknown(why));
    }

    fn assign(&mut self, file: usize, assign: &Assign, top: bool) {
        let value = self.word(file, &assign.value);
        let uncertain = self.uncertain();
        let editable = match (&uncertain, top) {
            (None, true) => Ok(()),
            (Some(why), _) => Err(why.what.clone()),
            (None, false) => Err("is not a plain top-level assignment".to_string()),
        };
        let site = Site {
            file,
            assign: assign.clone(),
            editable,
        };
        let state = self.out.vars.entry(assign.name.clone()).or_default();
        state.history.push(site);
        state.val = Some(match uncertain {
            None => value,
            Some(_) if state.val.as_ref() == Some(&value) => value,
            Some(why) => ShellValue::Unknown(Uncertainty {
                what: format!(
                    "{} (assigned at this line only under a condition)",
                    why.what
                ),
                file,
                offset: assign.span.start,
            }),
        });
    }

    /// The value of a parameter `$name`.
    fn lookup(&self, name: &str, file: usize, offset: usize) -> Option<ShellValue> {
        if name.len() == 1 && !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return Some(ShellValue::Unknown(self.uncertainty(
                format!("uses the special parameter ${name}"),
                file,
                offset,
            )));
        }
        match self.out.vars.get(name) {
            Some(state) => state.val.clone(),
            None if self.out.taint.is_some() => self.out.taint.clone().map(ShellValue::Unknown),
            None if PRESET.contains(&name) => Some(ShellValue::Unknown(self.uncertainty(
                format!("uses ${name}, which grub-mkconfig sets from the running system"),
                file,
                offset,
            ))),
            None if ENVIRONMENT.contains(&name) => Some(ShellValue::Unknown(self.uncertainty(
                format!("uses ${name} from the environment"),
                file,
                offset,
            ))),
            None => None,
        }
    }

    /// A word's value (no field splitting: assignment context).
    fn word(&self, file: usize, word: &Word) -> ShellValue {
        let mut out = String::new();
        if let Some(Part::Lit { text, span }) = word.parts.first()
            && text.starts_with('~')
        {
            return ShellValue::Unknown(self.uncertainty(
                "uses `~` (a home folder)",
                file,
                span.start,
            ));
        }
        match self.parts(file, &word.parts, &mut out) {
            Ok(()) => ShellValue::Known(out),
            Err(why) => ShellValue::Unknown(why),
        }
    }

    fn parts(&self, file: usize, parts: &[Part], out: &mut String) -> Result<(), Uncertainty> {
        for part in parts {
            match part {
                Part::Lit { text, .. } | Part::Single { text, .. } => out.push_str(text),
                Part::Escaped { ch, .. } => out.push(*ch),
                Part::Cont { .. } => {}
                Part::Double { parts, .. } => self.parts(file, parts, out)?,
                Part::CommandSub { span } => {
                    return Err(self.uncertainty(
                        "is computed by a command substitution, which xenadm does not run",
                        file,
                        span.start,
                    ));
                }
                Part::Arith { span } => {
                    return Err(self.uncertainty(
                        "is computed by arithmetic expansion",
                        file,
                        span.start,
                    ));
                }
                Part::Param { name, op, span } => {
                    let value = self.lookup(name, file, span.start);
                    let value = match value {
                        Some(ShellValue::Unknown(why)) => return Err(why),
                        Some(ShellValue::Known(v)) => Some(v),
                        None => None,
                    };
                    match op.as_deref().map(|o| (o.kind, &o.word)) {
                        None => out.push_str(value.as_deref().unwrap_or("")),
                        Some((ParamOpKind::Default { colon }, word))
                        | Some((ParamOpKind::AssignDefault { colon }, word)) => {
                            let use_word = match &value {
                                None => true,
                                Some(v) => colon && v.is_empty(),
                            };
                            if use_word {
                                self.parts(file, &word.parts, out)?;
                            } else {
                                out.push_str(value.as_deref().unwrap_or(""));
                            }
                        }
                        Some((ParamOpKind::Alternative { colon }, word)) => {
                            let use_word = match &value {
                                None => false,
                                Some(v) => !(colon && v.is_empty()),
                            };
                            if use_word {
                                self.parts(file, &word.parts, out)?;
                            }
                        }
                        Some((ParamOpKind::Other, _)) => {
                            return Err(self.uncertainty(
                                format!("uses a ${{{name}...}} expansion xenadm does not evaluate"),
                                file,
                                span.start,
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// A `test` argument: `None` when unknown, or when an unquoted expansion could split or
    /// vanish.
    fn test_arg(&self, file: usize, word: &Word) -> Option<String> {
        let ShellValue::Known(value) = self.word(file, word) else {
            return None;
        };
        for part in &word.parts {
            if let Part::Param { .. } | Part::CommandSub { .. } = part {
                let mut v = String::new();
                self.parts(file, std::slice::from_ref(part), &mut v).ok()?;
                if v.is_empty() || v.contains([' ', '\t', '\n']) {
                    return None;
                }
            }
        }
        Some(value)
    }
}

/// `test`/`[` on known arguments.
fn test(args: &[String]) -> Option<bool> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        [] => Some(false),
        ["!", rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|s| (*s).to_string()).collect();
            test(&rest).map(|b| !b)
        }
        [s] => Some(!s.is_empty()),
        ["-z", s] => Some(s.is_empty()),
        ["-n", s] => Some(!s.is_empty()),
        [x, "=", y] | [x, "==", y] => Some(x == y),
        [x, "!=", y] => Some(x != y),
        _ => None,
    }
}

fn pipeline_offset(pipeline: &Pipeline) -> usize {
    pipeline.commands.first().map_or(0, command_offset)
}

fn command_offset(command: &Command) -> usize {
    match command {
        Command::Simple(s) => s.offset,
        Command::Group(l) | Command::Subshell(l) => list_offset(l),
        Command::If { clauses, .. } => clauses.first().map_or(0, |(c, _)| list_offset(c)),
        Command::Loop { body, .. } => list_offset(body),
        Command::Case { arms } => arms.first().map_or(0, |a| list_offset(a)),
        Command::FunctionDef { body, .. } => command_offset(body),
    }
}

fn list_offset(list: &[AndOr]) -> usize {
    list.first().map_or(0, |ao| pipeline_offset(&ao.first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(texts: &[&str]) -> Evaluation {
        let files = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Arc::new(DefaultGrub::parse(t.as_bytes(), Path::new(&format!("f{i}"))).unwrap())
            })
            .collect();
        evaluate(files, None, &[]).unwrap()
    }

    fn known(ev: &Evaluation, name: &str) -> Option<String> {
        match ev.value(name) {
            Some(ShellValue::Known(v)) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn test_quotes_refs_and_defaults() {
        let ev = eval(&[
            "A='x'\"y\"z\nB=\"$A more\"\nC=${UNSET:-d}${A:+e}\nD=\"a \\\nb\"\nE=\"$E x\"\nexport F=1\n",
        ]);
        assert_eq!(known(&ev, "A").as_deref(), Some("xyz"));
        assert_eq!(known(&ev, "B").as_deref(), Some("xyz more"));
        assert_eq!(known(&ev, "C").as_deref(), Some("de"));
        assert_eq!(known(&ev, "D").as_deref(), Some("a b"));
        assert_eq!(known(&ev, "E").as_deref(), Some(" x"));
        assert_eq!(known(&ev, "F").as_deref(), Some("1"));
    }

    #[test]
    fn test_if_with_known_condition() {
        let ev = eval(&[
            "if [ \"$X\" = \"\" ]; then\n X=1\nfi\nif [ \"$X\" = \"1\" ]; then Y=a; else Y=b; fi\n",
        ]);
        assert_eq!(known(&ev, "X").as_deref(), Some("1"));
        assert_eq!(known(&ev, "Y").as_deref(), Some("a"));
    }

    #[test]
    fn test_unknown_condition_and_exit() {
        let ev = eval(&[
            "A=1\nif command -v x >/dev/null; then :; else exit 0; fi\nB=2\n",
            "C=3\n",
        ]);
        assert_eq!(known(&ev, "A").as_deref(), Some("1"));
        assert!(matches!(ev.value("B"), Some(ShellValue::Unknown(_))));
        assert!(matches!(ev.value("C"), Some(ShellValue::Unknown(_))));
        let ev = eval(&["A=1\nexit 0\nB=2\n", "C=3\n"]);
        assert_eq!(ev.value("B"), None);
        assert_eq!(ev.value("C"), None);
    }

    #[test]
    fn test_command_substitution_and_source_taint() {
        let ev = eval(&["A=`lsb_release -i`\nB=1\n. somefile\nC=2\n"]);
        assert!(matches!(ev.value("A"), Some(ShellValue::Unknown(_))));
        assert!(matches!(ev.value("B"), Some(ShellValue::Unknown(_))));
        assert_eq!(known(&ev, "C").as_deref(), Some("2"));
        assert!(matches!(ev.value("NEVER"), Some(ShellValue::Unknown(_))));
    }

    #[test]
    fn test_temporary_assignment_and_functions() {
        let ev = eval(&["A=1 cmd\nf() { B=2; }\nf\n"]);
        assert_eq!(ev.value("A"), None);
        assert_eq!(known(&ev, "B").as_deref(), Some("2"));
    }
}
