//! Is a change of the hypervisor's options waiting? The three places they live, compared:
//! the configuration (`GRUB_CMDLINE_XEN(_DEFAULT)` in /etc/default/grub and its drop-ins),
//! the entry of grub.cfg that GRUB boots next (written by grub-mkconfig), and the command
//! line the running Xen was booted with (`xl info`'s `xen_commandline`, given by the caller:
//! this crate reads no Xen interface).
//!
//! * configuration ≠ next entry: grub.cfg is out of date (`grub-mkconfig` pending);
//! * next entry ≠ running: the next boot changes Xen's options (a reboot pending).

use std::path::{Path, PathBuf};

use crate::config::{BootConfig, XenVariable};
use crate::grub_cfg_path;
use crate::grubenv::GrubEnv;
use crate::menu::{Menu, MenuEntry};

/// The word grub-mkconfig puts first on every hypervisor line, which Xen ignores.
const PLACEHOLDER: &str = "placeholder";
/// 20_linux_xen's runtime variable: empty on BIOS (`pc`), these words elsewhere (EFI).
const XEN_RM_OPTS: &str = "${xen_rm_opts}";
const XEN_RM_OPTS_EFI: [&str; 2] = ["no-real-mode", "edd=off"];

/// The entry GRUB boots next, and its Xen options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct NextBoot {
    /// The grub.cfg read.
    pub grub_cfg: PathBuf,
    /// What selects it, as GRUB reads it: `next_entry=...` (grubenv, once), `saved_entry=...`
    /// (grubenv, with `GRUB_DEFAULT=saved`), `default=...` (grub.cfg), or the first entry.
    pub selected_by: String,
    /// Its titles from the top, `>`-joined.
    pub title_path: String,
    /// Whether it boots Xen.
    pub xen: bool,
    /// Whether it is a recovery entry (GRUB_CMDLINE_XEN only, without _DEFAULT).
    pub recovery: bool,
    /// The hypervisor's arguments as written, with `placeholder` and `${xen_rm_opts}` left
    /// out (they add nothing on BIOS; on EFI see [`BootPending::reboot`]).
    pub xen_options: Vec<String>,
    /// Whether the line ends in `${xen_rm_opts}` (20_linux_xen's `no-real-mode edd=off` on
    /// EFI, nothing on BIOS).
    pub xen_rm_opts: bool,
}

/// Options one side has and the other lacks (each counted as often as it is written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct OptionDiff {
    /// Whether the two lines differ (order included: Xen uses the last of repeated options).
    pub differs: bool,
    /// Options the newer side has that the older lacks.
    pub added: Vec<String>,
    /// Options the older side has that the newer lacks.
    pub removed: Vec<String>,
}

/// The comparison of configuration, grub.cfg and the running hypervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BootPending {
    /// The options the configuration gives the next entry (normal entries: GRUB_CMDLINE_XEN
    /// then GRUB_CMDLINE_XEN_DEFAULT; recovery: GRUB_CMDLINE_XEN).
    pub configured: Option<Vec<String>>,
    /// Why `configured` is unknown (a value computed by shell code).
    pub configured_unknown: Option<String>,
    /// The entry GRUB boots next.
    pub next_boot: Option<NextBoot>,
    /// Why `next_boot` is unknown (no grub.cfg, ...).
    pub next_boot_unknown: Option<String>,
    /// The running hypervisor's options (`placeholder` left out).
    pub running: Option<Vec<String>>,
    /// Why `running` is unknown (not a dom0, another system's root, ...).
    pub running_unknown: Option<String>,
    /// Next entry → configuration: `differs` means grub.cfg is out of date (`added`: what
    /// grub-mkconfig would add to the entry).
    /// `None` when either side is unknown or the next entry does not boot Xen.
    pub mkconfig: Option<OptionDiff>,
    /// Next entry → running: `differs` means the next boot changes Xen's options (a reboot is
    /// pending). `None` when either side is unknown or the next entry does not boot Xen.
    pub reboot: Option<OptionDiff>,
}

impl BootPending {
    /// Compares the configuration of the system at `root` (its grub.cfg and grubenv) with the
    /// running hypervisor's command line. `running` reads that line (e.g. xen-core's
    /// `host::running_commandline`; `Err`: why it is not known, e.g. not a dom0), and is asked
    /// only when `root` is this running system (`/`): the hypervisor running is not that of a
    /// system mounted elsewhere (`--root`, a rescue mount or a chroot).
    pub fn compare(
        config: &BootConfig,
        root: &Path,
        running: impl FnOnce() -> Result<String, String>,
    ) -> BootPending {
        let this_system = root.canonicalize().is_ok_and(|r| r == Path::new("/"));
        let running = if this_system {
            running()
        } else {
            Err(format!(
                "--root {}: not the running system, so not its hypervisor",
                root.display()
            ))
        };
        let menu = Menu::read(&grub_cfg_path(root)).map_err(|e| e.to_string());
        let env = GrubEnv::for_root(root).ok();
        BootPending::from_parts(
            config,
            menu.as_ref(),
            env.as_ref(),
            running.as_deref().map_err(Clone::clone),
        )
    }

    /// [`BootPending::compare`] with the menu and grubenv already read.
    pub fn from_parts(
        config: &BootConfig,
        menu: Result<&Menu, &String>,
        env: Option<&GrubEnv>,
        running: Result<&str, String>,
    ) -> BootPending {
        let next_boot = menu.map_err(Clone::clone).and_then(|m| next_boot(m, env));
        let recovery = next_boot.as_ref().is_ok_and(|n| n.recovery);
        let configured = configured(config, recovery);
        let running = running.map(|line| {
            line.split(' ')
                .filter(|t| !t.is_empty() && *t != PLACEHOLDER)
                .map(str::to_string)
                .collect::<Vec<_>>()
        });
        let xen_entry = next_boot.as_ref().ok().filter(|n| n.xen);
        let mkconfig = match (&configured, xen_entry) {
            (Ok(conf), Some(next)) => Some(diff(&next.xen_options, conf)),
            _ => None,
        };
        let reboot = match (xen_entry, &running) {
            (Some(next), Ok(run)) => rebooted(next, run),
            _ => None,
        };
        BootPending {
            configured_unknown: configured.as_ref().err().cloned(),
            configured: configured.ok(),
            next_boot_unknown: next_boot.as_ref().err().cloned(),
            next_boot: next_boot.ok(),
            running_unknown: running.as_ref().err().cloned(),
            running: running.ok(),
            mkconfig,
            reboot,
        }
    }
}

/// The options the configuration gives a normal (or recovery) Xen entry.
fn configured(config: &BootConfig, recovery: bool) -> Result<Vec<String>, String> {
    let variables: &[XenVariable] = if recovery {
        &[XenVariable::Xen]
    } else {
        &[XenVariable::Xen, XenVariable::XenDefault]
    };
    let mut out = Vec::new();
    for variable in variables {
        let options = config
            .xen_options(*variable)
            .map_err(|u| format!("{} at {}: it {}", variable.name(), u.at, u.reason))?;
        out.extend(options.into_iter().map(|o| o.option.raw));
    }
    Ok(out)
}

/// The entry GRUB boots next: grubenv's `next_entry`, else grub.cfg's `default` (with
/// `${saved_entry}` read from grubenv), else the first entry; a value that names no entry
/// makes GRUB boot the first, as it does.
fn next_boot(menu: &Menu, env: Option<&GrubEnv>) -> Result<NextBoot, String> {
    let get = |name: &str| env.and_then(|e| e.get(name)).filter(|v| !v.is_empty());
    let (spec, selected_by) = if let Some(next) = get("next_entry") {
        (
            next.to_string(),
            format!("next_entry={next} (grubenv, once)"),
        )
    } else {
        match menu.default.as_deref() {
            Some("${saved_entry}") => match get("saved_entry") {
                Some(saved) => (saved.to_string(), format!("saved_entry={saved} (grubenv)")),
                None => (
                    "0".to_string(),
                    "the first entry (GRUB_DEFAULT=saved, no saved_entry in grubenv)".to_string(),
                ),
            },
            Some(value) => (value.to_string(), format!("default={value} (grub.cfg)")),
            None => ("0".to_string(), "the first entry (no default)".to_string()),
        }
    };
    let (entry, selected_by): (&MenuEntry, String) = match menu.resolve(&spec) {
        Some(e) => (e, selected_by),
        None => match menu.resolve("0") {
            Some(e) => (
                e,
                format!("the first entry ({selected_by} names no entry; GRUB falls back)"),
            ),
            None => {
                return Err(format!(
                    "{}: no entry GRUB could boot first (a submenu or nothing)",
                    menu.path.display()
                ));
            }
        },
    };
    Ok(NextBoot {
        grub_cfg: menu.path.clone(),
        selected_by,
        title_path: entry.title_path(),
        xen: entry.is_xen(),
        recovery: entry.is_recovery(),
        xen_options: entry.xen_args().into_iter().map(str::to_string).collect(),
        xen_rm_opts: entry.hypervisor_args.iter().any(|a| a == XEN_RM_OPTS),
    })
}

/// Next entry vs running: `${xen_rm_opts}` may have become nothing (BIOS) or
/// `no-real-mode edd=off` (EFI); another `$` variable cannot be known, so no answer.
fn rebooted(next: &NextBoot, running: &[String]) -> Option<OptionDiff> {
    if next.xen_options.iter().any(|o| o.contains('$')) {
        return None;
    }
    let plain = diff(running, &next.xen_options);
    if !plain.differs || !next.xen_rm_opts {
        return Some(plain);
    }
    let mut efi = next.xen_options.clone();
    efi.extend(XEN_RM_OPTS_EFI.iter().map(|s| (*s).to_string()));
    let on_efi = diff(running, &efi);
    Some(if on_efi.differs { plain } else { on_efi })
}

/// What `newer` adds to and removes from `older`.
fn diff(older: &[String], newer: &[String]) -> OptionDiff {
    let mut removed: Vec<String> = older.to_vec();
    let mut added = Vec::new();
    for option in newer {
        match removed.iter().position(|o| o == option) {
            Some(i) => {
                removed.remove(i);
            }
            None => added.push(option.clone()),
        }
    }
    OptionDiff {
        differs: older != newer,
        added,
        removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::config;

    /// A Debian grub.cfg as 00_header and 20_linux_xen write it (shortened).
    fn menu(xen_line: &str) -> Menu {
        let cfg = format!(
            "if [ \"${{next_entry}}\" ] ; then\n   set default=\"${{next_entry}}\"\nelse\n   set default=\"Debian GNU/Linux, with Xen hypervisor\"\nfi\n\
menuentry 'Debian GNU/Linux' --class os {{\n\tlinux /boot/vmlinuz root=/dev/vda1 ro\n}}\n\
menuentry 'Debian GNU/Linux, with Xen hypervisor' --class xen {{\n\tmultiboot2 /boot/xen.gz placeholder {xen_line} ${{xen_rm_opts}}\n\tmodule2 /boot/vmlinuz placeholder root=/dev/vda1 ro\n}}\n\
submenu 'Advanced' {{\n\tmenuentry 'Xen (recovery mode)' --class xen {{\n\t\tmultiboot2 /boot/xen.gz placeholder console=com1  ${{xen_rm_opts}}\n\t\tmodule2 /boot/vmlinuz placeholder single\n\t}}\n}}\n"
        );
        Menu::parse(cfg.as_bytes(), Path::new("/boot/grub/grub.cfg")).unwrap()
    }

    const CONF: &str = "GRUB_CMDLINE_XEN=\"console=com1 dom0_mem=1G\"\n";

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn test_nothing_pending_when_all_three_agree() {
        let m = menu("console=com1 dom0_mem=1G ");
        let p = BootPending::from_parts(
            &config(CONF),
            Ok(&m),
            None,
            Ok("placeholder console=com1 dom0_mem=1G "),
        );
        let next = p.next_boot.as_ref().unwrap();
        assert_eq!(next.title_path, "Debian GNU/Linux, with Xen hypervisor");
        assert!(next.xen && next.xen_rm_opts && !next.recovery);
        assert_eq!(next.xen_options, ["console=com1", "dom0_mem=1G"]);
        assert_eq!(
            p.running.as_deref(),
            Some(&strings(&["console=com1", "dom0_mem=1G"])[..])
        );
        assert!(!p.mkconfig.unwrap().differs);
        assert!(!p.reboot.unwrap().differs);
    }

    #[test]
    fn test_set_then_mkconfig_then_reboot() {
        let conf = config("GRUB_CMDLINE_XEN=\"console=com1 dom0_mem=1G loglvl=all\"\n");
        // Configuration edited, grub.cfg not regenerated yet: mkconfig pending, and the next
        // boot is still what runs.
        let old = menu("console=com1 dom0_mem=1G");
        let p = BootPending::from_parts(&conf, Ok(&old), None, Ok("console=com1 dom0_mem=1G"));
        let m = p.mkconfig.unwrap();
        assert!(m.differs);
        assert_eq!(m.added, ["loglvl=all"]);
        assert!(m.removed.is_empty());
        assert!(!p.reboot.unwrap().differs);
        // grub.cfg regenerated: a reboot is pending, it adds the option.
        let new = menu("console=com1 dom0_mem=1G loglvl=all");
        let p = BootPending::from_parts(&conf, Ok(&new), None, Ok("console=com1 dom0_mem=1G"));
        assert!(!p.mkconfig.unwrap().differs);
        let r = p.reboot.unwrap();
        assert!(r.differs);
        assert_eq!(r.added, ["loglvl=all"]);
        // Rebooted: nothing pending.
        let p = BootPending::from_parts(
            &conf,
            Ok(&new),
            None,
            Ok("placeholder console=com1 dom0_mem=1G loglvl=all"),
        );
        assert!(!p.reboot.unwrap().differs);
    }

    #[test]
    fn test_removed_and_reordered_options_are_pending() {
        let m = menu("dom0_mem=1G console=com1");
        let p = BootPending::from_parts(
            &config(CONF),
            Ok(&m),
            None,
            Ok("console=com1 dom0_mem=1G iommu=0"),
        );
        let mk = p.mkconfig.unwrap();
        assert!(mk.differs && mk.added.is_empty() && mk.removed.is_empty());
        let r = p.reboot.unwrap();
        assert!(r.differs);
        assert_eq!(r.removed, ["iommu=0"]);
    }

    #[test]
    fn test_next_entry_and_recovery_use_grub_cmdline_xen_only() {
        let conf =
            config("GRUB_CMDLINE_XEN=\"console=com1\"\nGRUB_CMDLINE_XEN_DEFAULT=\"loglvl=all\"\n");
        let m = menu("console=com1 loglvl=all");
        let mut env = GrubEnv::new(Path::new("/boot/grub/grubenv"));
        env.set("next_entry", "Advanced>Xen (recovery mode)")
            .unwrap();
        let p = BootPending::from_parts(&conf, Ok(&m), Some(&env), Ok("console=com1 loglvl=all"));
        let next = p.next_boot.as_ref().unwrap();
        assert!(next.recovery);
        assert!(
            next.selected_by.starts_with("next_entry="),
            "{}",
            next.selected_by
        );
        assert_eq!(
            p.configured.as_deref(),
            Some(&strings(&["console=com1"])[..])
        );
        assert!(!p.mkconfig.unwrap().differs);
        assert_eq!(p.reboot.unwrap().removed, ["loglvl=all"]);
    }

    #[test]
    fn test_efi_rm_opts_are_not_a_change() {
        let m = menu("console=com1 dom0_mem=1G");
        let p = BootPending::from_parts(
            &config(CONF),
            Ok(&m),
            None,
            Ok("placeholder console=com1 dom0_mem=1G no-real-mode edd=off"),
        );
        assert!(!p.reboot.unwrap().differs);
        // Without ${xen_rm_opts} on the line they are a change.
        let cfg = "menuentry 'X' {\n\tmultiboot2 /xen.gz placeholder console=com1 dom0_mem=1G\n}\n";
        let bare = Menu::parse(cfg.as_bytes(), Path::new("g")).unwrap();
        let p = BootPending::from_parts(
            &config(CONF),
            Ok(&bare),
            None,
            Ok("console=com1 dom0_mem=1G no-real-mode edd=off"),
        );
        assert_eq!(p.reboot.unwrap().removed, ["no-real-mode", "edd=off"]);
    }

    #[test]
    fn test_unknowns_say_why() {
        let missing = "/boot/grub/grub.cfg does not exist".to_string();
        let p =
            BootPending::from_parts(&config(CONF), Err(&missing), None, Err("not a dom0".into()));
        assert_eq!(p.next_boot_unknown.as_deref(), Some(missing.as_str()));
        assert_eq!(p.running_unknown.as_deref(), Some("not a dom0"));
        assert!(p.mkconfig.is_none() && p.reboot.is_none());
        // A default that is not a Xen entry: nothing to compare.
        let cfg = "set default=\"0\"\nmenuentry 'Linux' {\n\tlinux /vmlinuz\n}\n";
        let native = Menu::parse(cfg.as_bytes(), Path::new("g")).unwrap();
        let p = BootPending::from_parts(&config(CONF), Ok(&native), None, Ok("console=com1"));
        assert!(!p.next_boot.unwrap().xen);
        assert!(p.mkconfig.is_none() && p.reboot.is_none());
        // A value computed by shell code.
        let opaque = config("GRUB_CMDLINE_XEN=\"$(cat /etc/xen-opts)\"\n");
        let m = menu("console=com1");
        let p = BootPending::from_parts(&opaque, Ok(&m), None, Ok("console=com1"));
        assert!(p.configured.is_none());
        assert!(
            p.configured_unknown
                .unwrap()
                .starts_with("GRUB_CMDLINE_XEN at ")
        );
        assert!(p.mkconfig.is_none());
        assert!(!p.reboot.unwrap().differs);
    }

    #[test]
    fn test_saved_entry_and_a_default_that_names_nothing() {
        let cfg = "set default=\"${saved_entry}\"\nmenuentry 'A' {\n\tlinux /vmlinuz\n}\nmenuentry 'X' {\n\tmultiboot2 /xen.gz placeholder console=com1 dom0_mem=1G\n}\n";
        let m = Menu::parse(cfg.as_bytes(), Path::new("g")).unwrap();
        let mut env = GrubEnv::new(Path::new("grubenv"));
        env.set("saved_entry", "X").unwrap();
        let p = BootPending::from_parts(
            &config(CONF),
            Ok(&m),
            Some(&env),
            Ok("console=com1 dom0_mem=1G"),
        );
        assert_eq!(p.next_boot.as_ref().unwrap().title_path, "X");
        assert!(!p.reboot.unwrap().differs);
        env.set("saved_entry", "gone").unwrap();
        let p = BootPending::from_parts(&config(CONF), Ok(&m), Some(&env), Ok("console=com1"));
        let next = p.next_boot.unwrap();
        assert_eq!(next.title_path, "A");
        assert!(
            next.selected_by.contains("names no entry"),
            "{}",
            next.selected_by
        );
    }

    #[test]
    fn test_the_running_line_is_asked_for_only_on_the_running_system() {
        let dir = tempfile::tempdir().unwrap();
        let p = BootPending::compare(&config(CONF), dir.path(), || {
            panic!("asked for the running hypervisor of another root")
        });
        assert_eq!(
            p.running_unknown,
            Some(format!(
                "--root {}: not the running system, so not its hypervisor",
                dir.path().display()
            ))
        );
        let p = BootPending::compare(&config(CONF), Path::new("/"), || {
            Err("not a dom0".to_string())
        });
        assert_eq!(p.running_unknown.as_deref(), Some("not a dom0"));
    }
}
