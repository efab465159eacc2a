//! Choosing the default boot entry, as `grub-set-default` and `grub-reboot` do: the entry
//! resolved to the full path GRUB needs, and the grubenv variables changed the way those
//! tools change them.

use std::path::{Path, PathBuf};

use crate::config::{BootConfig, Variable};
use crate::error::GrubCfgError;
use crate::grubenv::GrubEnv;
use crate::menu::Menu;
use crate::write::{WriteOptions, WriteReport};

/// Which default to set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefaultKind {
    /// Every boot from now on (`saved_entry`, as grub-set-default).
    #[default]
    Saved,
    /// The next boot only (`next_entry`, as grub-reboot).
    Once,
}

impl DefaultKind {
    /// The grubenv variable it sets.
    pub fn variable(self) -> &'static str {
        match self {
            DefaultKind::Saved => "saved_entry",
            DefaultKind::Once => "next_entry",
        }
    }
}

/// What [`set_default_entry`] changed in the environment block (not yet written).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DefaultChange {
    /// The value saved: the path GRUB needs to find the entry, which may be longer than what
    /// was asked (a title inside a submenu becomes `Submenu>Title`).
    pub spec: String,
    /// Which default was set.
    pub kind: DefaultKind,
    /// `GRUB_DEFAULT`, when it is not `saved`: a saved entry is then ignored at boot until it
    /// is set to `saved` and grub.cfg made again.
    pub ignored_because: Option<Variable>,
}

/// The grub.cfg entry `entry` names (a title, an id, a number or a `>` path), as the path GRUB
/// needs. `menu` is grub.cfg at `menu_path` as read; with `force`, `entry` itself is used when
/// grub.cfg is missing or has no such entry.
pub fn resolve_entry(
    menu: Result<&Menu, &GrubCfgError>,
    menu_path: &Path,
    entry: &str,
    force: bool,
) -> Result<String, GrubCfgError> {
    let unknown = |path: PathBuf| GrubCfgError::UnknownEntry {
        entry: entry.to_owned(),
        path,
    };
    match menu {
        Ok(menu) => match menu.entry_spec(entry) {
            Ok((spec, _)) => Ok(spec),
            Err(_) if force => Ok(entry.to_owned()),
            Err(e) => Err(e),
        },
        Err(_) if force => Ok(entry.to_owned()),
        Err(GrubCfgError::NotFound { path }) => Err(unknown(path.clone())),
        Err(_) => Err(unknown(menu_path.to_owned())),
    }
}

/// Sets `spec` (see [`resolve_entry`]) as the default in `env` the way grub-set-default
/// (`Saved`: `saved_entry`, dropping `prev_saved_entry` and `next_entry`) or grub-reboot
/// (`Once`: `next_entry`) does, and says whether `GRUB_DEFAULT` in `config` will ignore it.
/// Nothing is written: [`GrubEnv::write`] does that.
pub fn set_default_entry(
    env: &mut GrubEnv,
    config: Option<&BootConfig>,
    spec: &str,
    kind: DefaultKind,
) -> Result<DefaultChange, GrubCfgError> {
    let mut ignored_because = None;
    match kind {
        DefaultKind::Once => env.set("next_entry", spec)?,
        DefaultKind::Saved => {
            env.unset("prev_saved_entry");
            env.unset("next_entry");
            env.set("saved_entry", spec)?;
            ignored_because = config
                .map(|c| c.variable("GRUB_DEFAULT"))
                .filter(|var| var.value.as_deref() != Some("saved"));
        }
    }
    Ok(DefaultChange {
        spec: spec.to_owned(),
        kind,
        ignored_because,
    })
}

/// How [`set_default`] sets the default entry.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SetDefaultOptions {
    /// Every boot, or the next one only.
    pub kind: DefaultKind,
    /// Use the entry as given when grub.cfg is missing or has no such entry.
    pub force: bool,
    /// How grubenv is written (backup, fsync).
    pub write: WriteOptions,
}

/// What [`set_default`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DefaultSet {
    /// The variable changed and what GRUB will make of it.
    pub change: DefaultChange,
    /// The environment block written.
    pub grubenv: PathBuf,
    /// How it was written.
    pub written: WriteReport,
}

/// `grub-set-default ENTRY` (or `grub-reboot ENTRY` with [`DefaultKind::Once`]) on the system
/// at `root`, as one call: grubenv read, `entry` resolved in grub.cfg ([`resolve_entry`]), the
/// variables changed ([`set_default_entry`], which also says whether `GRUB_DEFAULT` in
/// /etc/default/grub will ignore it) and grubenv written safely. Nothing is written when any
/// step fails.
pub fn set_default(
    root: &Path,
    entry: &str,
    options: &SetDefaultOptions,
) -> Result<DefaultSet, GrubCfgError> {
    let mut env = GrubEnv::for_root(root)?;
    let config = BootConfig::load(root).ok();
    let menu_path = crate::grub_cfg_path(root);
    let menu = Menu::read(&menu_path);
    let spec = resolve_entry(menu.as_ref(), &menu_path, entry, options.force)?;
    let change = set_default_entry(&mut env, config.as_ref(), &spec, options.kind)?;
    let written = env.write(&options.write)?;
    Ok(DefaultSet {
        change,
        grubenv: env.path().to_owned(),
        written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{config, env_with};

    #[test]
    fn test_saved_drops_next_and_prev_and_warns_unless_saved() {
        let mut env = env_with("next_entry=1\nprev_saved_entry=2\nsaved_entry=0\n");
        let change = set_default_entry(
            &mut env,
            Some(&config("GRUB_DEFAULT=0\n")),
            "Xen>Debian",
            DefaultKind::Saved,
        )
        .unwrap();
        assert_eq!(env.get("saved_entry"), Some("Xen>Debian"));
        assert_eq!(env.get("next_entry"), None);
        assert_eq!(env.get("prev_saved_entry"), None);
        let var = change.ignored_because.unwrap();
        assert_eq!(var.value.as_deref(), Some("0"));

        let mut env = env_with("");
        let change = set_default_entry(
            &mut env,
            Some(&config("GRUB_DEFAULT=saved\n")),
            "1",
            DefaultKind::Saved,
        )
        .unwrap();
        assert_eq!(change.ignored_because, None);
    }

    #[test]
    fn test_once_sets_next_entry_only() {
        let mut env = env_with("saved_entry=0\n");
        let change = set_default_entry(
            &mut env,
            Some(&config("GRUB_DEFAULT=0\n")),
            "2",
            DefaultKind::Once,
        )
        .unwrap();
        assert_eq!(change.kind.variable(), "next_entry");
        assert_eq!(env.get("next_entry"), Some("2"));
        assert_eq!(env.get("saved_entry"), Some("0"));
        assert_eq!(change.ignored_because, None);
    }

    #[test]
    fn test_resolve_without_grub_cfg_needs_force() {
        let missing = GrubCfgError::NotFound {
            path: PathBuf::from("/boot/grub/grub.cfg"),
        };
        let path = Path::new("/boot/grub/grub.cfg");
        assert!(matches!(
            resolve_entry(Err(&missing), path, "Debian", false),
            Err(GrubCfgError::UnknownEntry { .. })
        ));
        assert_eq!(
            resolve_entry(Err(&missing), path, "Debian", true).unwrap(),
            "Debian"
        );
    }
}
