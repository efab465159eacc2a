//! `set` and `unset` that edit the assignment that really wins.
//!
//! Debian's /etc/grub.d/20_linux_xen gives normal entries
//! `"${GRUB_CMDLINE_XEN} ${GRUB_CMDLINE_XEN_DEFAULT}"` and recovery entries only
//! `"${GRUB_CMDLINE_XEN}"`. Xen reads its command line left to right, a later option
//! overriding an earlier one, so an option in GRUB_CMDLINE_XEN_DEFAULT beats the same option
//! in GRUB_CMDLINE_XEN on normal entries. An edit is planned so that after grub-mkconfig the
//! value asked for is the one Xen uses on the entries the variable reaches, and this is
//! verified on the edited files before anything is written; when that cannot be done the
//! edit is refused, saying why.

use std::sync::Arc;

use super::{BootConfig, Edit, FileEdit, SetOptions, SourcedOption, VariableChange, XenVariable};
use crate::default_grub::DefaultGrub;
use crate::error::GrubCfgError;
use crate::eval::evaluate;
use crate::xen::XenOption;

impl Edit {
    /// This edit followed by `next`, planned on the files as this one leaves them.
    fn then(mut self, next: Edit) -> Edit {
        for file in next.files {
            match self.files.iter_mut().find(|f| f.path == file.path) {
                Some(mine) => *mine = FileEdit::new(&file.path, &mine.old_text, &file.new_text),
                None => self.files.push(file),
            }
        }
        self.also.push(VariableChange {
            variable: next.variable,
            before: next.before,
            after: next.after,
        });
        self.also.extend(next.also);
        self.warnings.extend(next.warnings);
        self
    }
}

impl BootConfig {
    /// Plans `set OPT[=VAL]...`: in `options.variable`, an option already there is replaced
    /// in place (its other occurrences removed), a new one is appended; the others keep their
    /// order. Options are validated against `options.table` unless `options.force`.
    ///
    /// GRUB_CMDLINE_XEN (the default) reaches every Xen entry: the same option in
    /// GRUB_CMDLINE_XEN_DEFAULT, which comes later on normal entries and would override the
    /// new value there, is removed in the same edit ([`Edit::also`]).
    /// GRUB_CMDLINE_XEN_DEFAULT reaches normal entries only and wins there; recovery entries
    /// keep GRUB_CMDLINE_XEN's value (a warning says so).
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::MalformedOption`], [`GrubCfgError::InvalidOption`] (fails validation
    /// without `force`), [`GrubCfgError::Opaque`] (a value is computed by shell code),
    /// [`GrubCfgError::NotEditable`], [`GrubCfgError::EditVerification`].
    pub fn plan_set(&self, opts: &[&str], options: &SetOptions) -> Result<Edit, GrubCfgError> {
        let (mut edit, new) = self.plan_set_in(opts, options)?;
        let wanted: Vec<String> = new.iter().map(|o| o.identity().to_string()).collect();
        let other = options.variable.other();
        let found = self.options_or_refuse(other, &wanted)?;
        match options.variable {
            XenVariable::Xen => {
                let overriding: Vec<&SourcedOption> = found
                    .iter()
                    .filter(|o| wanted.iter().any(|w| o.option.identity() == w))
                    .collect();
                if !overriding.is_empty() {
                    for o in &overriding {
                        edit.warnings.push(format!(
                            "removed `{}` from {other}{}: it comes later on the Xen line of normal entries and would override the new value there",
                            o.option.raw,
                            at(o)
                        ));
                    }
                    let removal = self.after(&edit)?.plan_remove(&wanted, other)?;
                    edit = edit.then(removal);
                }
            }
            XenVariable::XenDefault => {
                for o in found
                    .iter()
                    .filter(|o| wanted.iter().any(|w| o.option.identity() == w))
                {
                    edit.warnings.push(format!(
                        "{other} also has `{}`{}: recovery entries still use that one (set it without --default to change every entry)",
                        o.option.raw,
                        at(o)
                    ));
                }
            }
        }
        let last = |list: &[String], id: &str| -> Option<String> {
            list.iter()
                .rev()
                .find(|t| XenOption::parse(t).identity() == id)
                .cloned()
        };
        // The last of several options with one name is the one asked for.
        let asked: Vec<&XenOption> = new
            .iter()
            .enumerate()
            .filter(|(i, o)| !new[i + 1..].iter().any(|n| n.identity() == o.identity()))
            .map(|(_, o)| o)
            .collect();
        self.after(&edit)?.verify(&edit, |normal, recovery| {
            asked.iter().all(|o| {
                let id = o.identity();
                let expected = Some(o.raw.clone());
                last(normal, id) == expected
                    && (options.variable == XenVariable::XenDefault
                        || last(recovery, id) == expected)
            })
        })?;
        Ok(edit)
    }

    /// Plans `unset NAME...`: removes every option with that name (with or without `no-`).
    ///
    /// From GRUB_CMDLINE_XEN (the default) it is removed from every entry, so from
    /// GRUB_CMDLINE_XEN_DEFAULT too. With GRUB_CMDLINE_XEN_DEFAULT (normal entries only), the
    /// edit is refused when GRUB_CMDLINE_XEN still gives the option to every entry.
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::Overridden`], and as for [`BootConfig::plan_set`].
    pub fn plan_unset(&self, names: &[&str], variable: XenVariable) -> Result<Edit, GrubCfgError> {
        let wanted: Vec<String> = names
            .iter()
            .map(|n| XenOption::parse(n).identity().to_string())
            .collect();
        let mine = self.options_or_refuse(variable, &wanted)?;
        let other = variable.other();
        let theirs = self.options_or_refuse(other, &wanted)?;
        let has = |list: &[SourcedOption], name: &str| -> bool {
            list.iter().any(|o| o.option.identity() == name)
        };
        if variable == XenVariable::XenDefault
            && let Some(o) = theirs
                .iter()
                .find(|o| wanted.iter().any(|w| o.option.identity() == w))
        {
            let source = o
                .source
                .clone()
                .unwrap_or_else(|| self.fallback_line(other));
            return Err(GrubCfgError::Overridden {
                option: o.option.raw.clone(),
                variable: other.name().to_string(),
                path: source.path,
                line: source.line,
                reason: format!(
                    "{other} reaches every entry, normal ones included; unset it without --default to remove it everywhere"
                ),
            });
        }
        let mut edit = self.plan_remove(&wanted, variable)?;
        if variable == XenVariable::Xen && wanted.iter().any(|w| has(&theirs, w)) {
            let removal = self.after(&edit)?.plan_remove(&wanted, other)?;
            edit = edit.then(removal);
        }
        for name in &wanted {
            let removed = has(&mine, name) || (variable == XenVariable::Xen && has(&theirs, name));
            if !removed {
                edit.warnings.push(format!(
                    "`{name}` is not in {}: nothing to remove",
                    if variable == XenVariable::Xen {
                        "GRUB_CMDLINE_XEN or GRUB_CMDLINE_XEN_DEFAULT".to_string()
                    } else {
                        variable.name().to_string()
                    }
                ));
            }
        }
        self.after(&edit)?.verify(&edit, |normal, recovery| {
            wanted.iter().all(|w| {
                let absent = |l: &[String]| !l.iter().any(|t| XenOption::parse(t).identity() == w);
                absent(normal) && (variable == XenVariable::XenDefault || absent(recovery))
            })
        })?;
        Ok(edit)
    }

    /// The options of `variable`; when its value cannot be known and `wanted` might be in
    /// it, the edit is refused: xenadm could not tell which value wins.
    fn options_or_refuse(
        &self,
        variable: XenVariable,
        wanted: &[String],
    ) -> Result<Vec<SourcedOption>, GrubCfgError> {
        self.xen_options(variable).map_err(|unknown| GrubCfgError::Opaque {
            variable: variable.name().to_string(),
            path: unknown.at.path,
            line: unknown.at.line,
            reason: format!(
                "{}: xenadm cannot tell whether it also sets {}, which decides the value that wins; edit the file by hand",
                unknown.reason,
                wanted.join(", ")
            ),
        })
    }

    fn fallback_line(&self, variable: XenVariable) -> super::SourceLine {
        self.variable(variable.name())
            .source
            .unwrap_or_else(|| super::SourceLine {
                path: self
                    .files()
                    .first()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_default(),
                line: 0,
            })
    }

    /// The configuration as it is once `edit`'s files are written.
    fn after(&self, edit: &Edit) -> Result<BootConfig, GrubCfgError> {
        let mut docs: Vec<Arc<DefaultGrub>> = self.eval.files.clone();
        for file in &edit.files {
            for doc in &mut docs {
                if doc.path() == file.path {
                    *doc = Arc::new(DefaultGrub::parse(file.new_text.as_bytes(), &file.path)?);
                }
            }
        }
        let root = (!self.root.as_os_str().is_empty()).then_some(self.root.as_path());
        let top = self.top_files.min(docs.len());
        Ok(BootConfig {
            root: self.root.clone(),
            top_files: top,
            eval: evaluate(docs[..top].to_vec(), root, &docs[top..])?,
        })
    }

    /// Checks the Xen lines of normal and recovery entries (as 20_linux_xen builds them) of
    /// this, the edited, configuration with `ok`.
    fn verify(
        &self,
        edit: &Edit,
        ok: impl FnOnce(&[String], &[String]) -> bool,
    ) -> Result<(), GrubCfgError> {
        let words = |v: XenVariable| -> Vec<String> {
            self.xen_options(v)
                .map(|l| l.into_iter().map(|o| o.option.raw).collect())
                .unwrap_or_default()
        };
        let recovery = words(XenVariable::Xen);
        let mut normal = recovery.clone();
        normal.extend(words(XenVariable::XenDefault));
        if ok(&normal, &recovery) {
            return Ok(());
        }
        Err(GrubCfgError::EditVerification {
            path: edit
                .files
                .first()
                .map(|f| f.path.clone())
                .unwrap_or_default(),
            variable: "the Xen line of normal entries".to_string(),
            expected: "the value asked for".to_string(),
            found: normal.join(" "),
        })
    }
}

/// ` (file:line)` of an option, when known.
fn at(option: &SourcedOption) -> String {
    option
        .source
        .as_ref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default()
}
