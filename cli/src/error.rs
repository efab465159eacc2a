//! The CLI's error type: every failure, with its exit code and a hint naming the fix.

use std::io;
use std::path::PathBuf;

use cpuid_mask::CpuidMaskError;

/// Exit code for a failed operation (or a "no" answer, as from `cpuid fits`).
pub const EXIT_FAILURE: u8 = 1;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A CPUID dump or mask problem.
    #[error(transparent)]
    Cpuid(#[from] CpuidMaskError),
    /// A disk image problem.
    #[error(transparent)]
    Image(#[from] sparse_img::SparseImgError),
    /// A boot configuration problem.
    #[error(transparent)]
    Boot(#[from] grub_cfg::GrubCfgError),
    /// A vhostmd configuration or metrics disk problem.
    #[error(transparent)]
    Vhostmd(#[from] vhostmd::VhostmdError),
    /// A Xen host or migration stream problem.
    #[error(transparent)]
    Xen(#[from] xen_core::XenError),
    /// A command that reads a Xen dom0 ran on a machine that is not one.
    #[error("`xenadm {command}` needs a Xen dom0, and this machine is {role} ({evidence})")]
    NotDom0 {
        /// The command.
        command: &'static str,
        /// What the machine is (`not a Xen host`, `Xen guest (domU)`).
        role: String,
        /// Which file told.
        evidence: &'static str,
    },
    /// Writing the command's output failed.
    #[error("cannot write the output to standard output")]
    Output(#[source] io::Error),
    /// The interactive screen could not use the terminal.
    #[error("cannot use the terminal")]
    Terminal(#[source] io::Error),
    /// Writing a generated file failed.
    #[error("cannot write {}", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Serializing JSON failed.
    #[error("cannot encode JSON output")]
    Json(#[from] serde_json::Error),
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        EXIT_FAILURE
    }

    /// Whether the reader of stdout went away (`xenadm ... | head`): the command then ends
    /// quietly with status 0, as Unix tools do, instead of reporting an error.
    pub fn is_closed_pipe(&self) -> bool {
        match self {
            CliError::Output(e) => e.kind() == io::ErrorKind::BrokenPipe,
            CliError::Json(e) => e.io_error_kind() == Some(io::ErrorKind::BrokenPipe),
            _ => false,
        }
    }

    /// What the administrator can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            CliError::Cpuid(e) => cpuid_hint(e),
            CliError::Image(e) => crate::commands::image::hint(e),
            CliError::Boot(e) => crate::commands::boot::hint(e),
            CliError::Vhostmd(e) => crate::commands::vhostmd::hint(e),
            CliError::Xen(e) => crate::commands::host::hint(e),
            CliError::WriteFile { .. } => Some("check that the folder exists and is writable"),
            CliError::NotDom0 { .. } => Some(
                "run it in dom0 of a host booted with Xen; `--sysfs-root DIR` reads a copy of another host's /sys",
            ),
            CliError::Output(e) if e.kind() == io::ErrorKind::StorageFull => {
                Some("the file or device stdout goes to is full: free space or redirect elsewhere")
            }
            CliError::Output(_) | CliError::Json(_) | CliError::Terminal(_) => None,
        }
    }
}

/// The fixes that name `xenadm cpuid`'s commands here, the rest from [`CpuidMaskError::fix`].
fn cpuid_hint(err: &CpuidMaskError) -> Option<&'static str> {
    match err {
        CpuidMaskError::Read { .. } => Some(
            "check the path; make a dump on each host with `xenadm cpuid dump -1 > HOST.txt` (or `cpuid -1r > HOST.txt`)",
        ),
        CpuidMaskError::TooLarge { .. } => Some(
            "this is not a CPUID dump; make one on that host with `xenadm cpuid dump -1 > HOST.txt`",
        ),
        CpuidMaskError::Parse { .. } | CpuidMaskError::MissingLeaf { .. } => Some(
            "the file must hold raw `cpuid -1r` output; make it again on that host with `xenadm cpuid dump -1 > HOST.txt`",
        ),
        CpuidMaskError::PinToCpu { .. } => {
            Some("use `xenadm cpuid dump -1` to read only the current CPU")
        }
        _ => err.fix(),
    }
}

/// The one chain printer, xen-core's (errors and their causes on one line).
pub use xen_core::{ErrorChain as Chain, causes};

/// Says on stderr `xenadm: error: MESSAGE`, then each cause of `err` and each hint, a line
/// each: how every failure of the CLI is reported.
pub fn print_report(
    message: impl std::fmt::Display,
    err: &(dyn std::error::Error + 'static),
    hints: &[&str],
) {
    use std::io::Write as _;
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "xenadm: error: {message}");
    for cause in causes(err) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    for hint in hints {
        let _ = writeln!(stderr, "  hint: {hint}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_chain_joins_every_cause() {
        let err = CliError::WriteFile {
            path: PathBuf::from("/x/y"),
            source: io::Error::other("disk on fire"),
        };
        assert_eq!(Chain(&err).to_string(), "cannot write /x/y: disk on fire");
        assert_eq!(causes(&err).count(), 1);
        let plain = io::Error::other("alone");
        assert_eq!(Chain(&plain).to_string(), "alone");
        assert_eq!(causes(&plain).count(), 0);
    }
}
