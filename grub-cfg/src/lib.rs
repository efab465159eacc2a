//! GRUB boot configuration for Xen hosts: read and safely edit `/etc/default/grub`, validate
//! the Xen hypervisor options in it, list the boot entries of `grub.cfg`, and edit `grubenv`.
//!
//! * [`DefaultGrub`]: one shell file grub-mkconfig sources, kept byte for byte. Printing an
//!   unedited file gives back the same bytes; an edit changes only the value of one variable.
//! * [`BootConfig`]: `/etc/default/grub` plus Debian's `/etc/default/grub.d/*.cfg` drop-ins
//!   evaluated in sourcing order (statically: nothing is executed), each value with the
//!   file:line it comes from; the Xen options of `GRUB_CMDLINE_XEN(_DEFAULT)`;
//!   [`BootConfig::plan_set`] / [`BootConfig::plan_unset`] edit the file that really wins,
//!   and [`Edit::apply`] writes safely (temp file, fsync, rename, fsync folder, mode and owner
//!   kept, backup, refused when the file changed since it was read).
//! * [`xen`]: how Xen splits and reads its command line, the documented option tables of
//!   Xen 4.17 and 4.22 (`data/`), and validation with "did you mean".
//! * [`Menu`]: grub.cfg's entries and submenus, with the hypervisor, Xen arguments and dom0
//!   kernel of Xen entries; GRUB's resolution of `default`/`saved_entry`.
//! * [`GrubEnv`]: the 1024-byte environment block, edited in place like `grub-editenv`.
//! * [`Mkconfig`]: runs the distribution's grub-mkconfig or grub2-mkconfig.
//! * [`BootPending`]: configuration vs the grub.cfg entry GRUB boots next vs the running
//!   hypervisor's command line: is grub-mkconfig or a reboot pending?
//!
//! Every parser is total: any input gives a value or a [`GrubCfgError`] naming the file and
//! line. The library never prints.
//!
//! Writers and killed writers: a temp file (`.NAME.xenadm-tmp-<16 random hex digits>`, or
//! `xenadm-tmpx-` where the filesystem has no `O_TMPFILE`) is created with `O_EXCL` and held
//! under an exclusive `flock` while it lives, so names never collide across pid namespaces and
//! a leftover of a writer killed with SIGKILL is recognised: the next write in that folder
//! removes it (only these names, only regular files nobody holds; a `tmpx` one only once it
//! is a minute old). A writer never removes a file it did not create.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use grub_cfg::{BootConfig, DefaultGrub, SetOptions, XenVariable};
//!
//! let text = "GRUB_DEFAULT=0\n# Xen\nGRUB_CMDLINE_XEN=\"dom0_mem=4G,max:4G loglvl=all\"\n";
//! let file = DefaultGrub::parse(text.as_bytes(), Path::new("/etc/default/grub"))?;
//! let config = BootConfig::from_files(vec![file], None)?;
//! let options = config.xen_options(XenVariable::Xen).unwrap_or_default();
//! assert_eq!(options[0].option.name, "dom0_mem");
//! assert_eq!(options[0].source.as_ref().map(|s| s.line), Some(3));
//!
//! let edit = config.plan_set(&["dom0_mem=8G,max:8G", "iommu=1"], &SetOptions::default())?;
//! assert_eq!(edit.after, ["dom0_mem=8G,max:8G", "loglvl=all", "iommu=1"]);
//! assert_eq!(
//!     edit.files[0].new_text(),
//!     "GRUB_DEFAULT=0\n# Xen\nGRUB_CMDLINE_XEN=\"dom0_mem=8G,max:8G loglvl=all iommu=1\"\n"
//! );
//! // A typo is refused, with a suggestion.
//! let err = config.plan_set(&["dom0-mem=8G"], &SetOptions::default()).unwrap_err();
//! assert!(err.to_string().contains("did you mean dom0_mem"));
//! # Ok::<(), grub_cfg::GrubCfgError>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod default_entry;
mod default_grub;
mod error;
mod eval;
#[cfg(test)]
mod fixtures;
mod grubenv;
mod menu;
mod mkconfig;
mod pending;
pub mod render;
mod sh;
mod table_choice;
mod temp;
mod text;
mod views;
mod write;
pub mod xen;

use std::fs;
use std::path::{Path, PathBuf};

pub use config::{
    BOOT_VARIABLES, BootConfig, CheckReport, DEFAULT_GRUB, DEFAULT_GRUB_D, Edit, FileEdit,
    LocatedFinding, SetOptions, SourceLine, SourcedOption, UnknownValue, Variable, VariableChange,
    XenVariable, validate_token,
};
pub use default_entry::{
    DefaultChange, DefaultKind, DefaultSet, SetDefaultOptions, resolve_entry, set_default,
    set_default_entry,
};
pub use default_grub::{Assignment, DefaultGrub};
pub use error::{GrubCfgError, GrubEnvProblem, ParseProblem};
pub use grubenv::{GRUBENV_SIZE, GrubEnv, grubenv_path};
pub use menu::{LoadLine, Menu, MenuEntry, MenuItem};
pub use mkconfig::{Mkconfig, MkconfigRun};
pub use pending::{BootPending, NextBoot, OptionDiff};
pub use table_choice::{GivenRelease, TableChoice, choose_table};
pub use views::{BootStatus, DefaultReport, OptionView, ShowReport, forced_errors};
pub use write::{BACKUP_SUFFIX, WriteOptions, WriteReport};
pub use xen::{Finding, FindingKind, Severity, XenOption, XenOptionTable, XenParam};

/// The grub.cfg of the system at `root`: `/boot/grub/grub.cfg` or `/boot/grub2/grub.cfg`,
/// whichever exists (the first when neither does).
pub fn grub_cfg_path(root: &Path) -> PathBuf {
    for candidate in ["/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"] {
        let path = text::in_root(root, candidate);
        if path.exists() {
            return text::resolve_in_root(root, &path);
        }
    }
    text::in_root(root, "/boot/grub/grub.cfg")
}

/// The Xen release installed on the system at `root`, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct InstalledXen {
    /// `major.minor` found.
    pub release: String,
    /// The option table used for it.
    pub table: XenOptionTable,
    /// Where it was read (`/sys/hypervisor/version`, `/boot/xen-4.17-amd64.gz`).
    pub evidence: String,
}

/// The running hypervisor's version (`/sys/hypervisor/version/{major,minor}` below `root`, as
/// [`xen_role`] reads it),
/// else the newest `/boot/xen-<version>*` image.
pub fn installed_xen(root: &Path) -> Option<InstalledXen> {
    if let Some((major, minor)) = xen_role::detect_at(root).version.and_then(|v| v.release())
        && major == 4
    {
        return Some(InstalledXen {
            release: format!("{major}.{minor}"),
            table: XenOptionTable::for_release(major, minor),
            evidence: "/sys/hypervisor/version".to_string(),
        });
    }
    let boot = fs::read_dir(text::in_root(root, "/boot")).ok()?;
    boot.filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let version = name.strip_prefix("xen-")?;
            if name.starts_with("xen-syms") {
                return None;
            }
            let (major, minor) = xen::parse_release(version)?;
            Some(((major, minor), name))
        })
        .max()
        .map(|((major, minor), name)| InstalledXen {
            release: format!("{major}.{minor}"),
            table: XenOptionTable::for_release(major, minor),
            evidence: format!("/boot/{name}"),
        })
}
