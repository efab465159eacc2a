//! Running the distribution's grub-mkconfig (or grub2-mkconfig) for a system root.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::GrubCfgError;
use crate::text::in_root;

/// How to regenerate grub.cfg for a system.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Mkconfig {
    /// The tool, as a path on the target system (`/usr/sbin/grub-mkconfig`).
    pub program: PathBuf,
    /// The grub.cfg it writes, as a path on the target system.
    pub output: PathBuf,
    /// The root to `chroot` into first, when it is not `/`.
    pub chroot: Option<PathBuf>,
}

/// What a run printed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct MkconfigRun {
    /// Its stderr (grub-mkconfig reports progress there).
    pub stderr: String,
}

const DIRS: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

impl Mkconfig {
    /// Finds grub-mkconfig (Debian, Ubuntu, Arch) or grub2-mkconfig (Fedora, SUSE) under
    /// `root`, and the grub.cfg it should write: the one that exists of `/boot/grub/grub.cfg`
    /// and `/boot/grub2/grub.cfg`, else the tool's usual one.
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::NoMkconfig`] when neither tool exists.
    pub fn find(root: &Path) -> Result<Mkconfig, GrubCfgError> {
        let found = ["grub-mkconfig", "grub2-mkconfig"].iter().find_map(|tool| {
            DIRS.iter()
                .map(|dir| format!("{dir}/{tool}"))
                .find(|p| in_root(root, p).is_file())
                .map(|p| (*tool, p))
        });
        let Some((tool, program)) = found else {
            return Err(GrubCfgError::NoMkconfig {
                root: root.to_path_buf(),
            });
        };
        let usual = if tool == "grub2-mkconfig" {
            ["/boot/grub2/grub.cfg", "/boot/grub/grub.cfg"]
        } else {
            ["/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"]
        };
        let output = usual
            .iter()
            .find(|p| in_root(root, p).exists())
            .unwrap_or(&usual[0]);
        let is_slash = root
            .canonicalize()
            .map(|r| r == Path::new("/"))
            .unwrap_or(false);
        Ok(Mkconfig {
            program: PathBuf::from(program),
            output: PathBuf::from(output),
            chroot: (!is_slash).then(|| root.to_path_buf()),
        })
    }

    /// The grub.cfg path on this machine (below the root).
    pub fn output_on_host(&self) -> PathBuf {
        match &self.chroot {
            Some(root) => in_root(root, &self.output.to_string_lossy()),
            None => self.output.clone(),
        }
    }

    /// The command line, for display.
    pub fn command_line(&self) -> String {
        let tool = format!("{} -o {}", self.program.display(), self.output.display());
        match &self.chroot {
            Some(root) => format!("chroot {} {tool}", root.display()),
            None => tool,
        }
    }

    /// The command to run.
    pub fn command(&self) -> Command {
        let mut cmd = match &self.chroot {
            Some(root) => {
                let mut c = Command::new("chroot");
                c.arg(root).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        cmd.arg("-o").arg(&self.output);
        cmd
    }

    /// Runs it and waits.
    ///
    /// # Errors
    ///
    /// [`GrubCfgError::Spawn`] when it cannot start, [`GrubCfgError::Program`] when it fails
    /// (with the end of its stderr).
    pub fn run(&self) -> Result<MkconfigRun, GrubCfgError> {
        let program = self.program.display().to_string();
        let out = self
            .command()
            .stdin(Stdio::null())
            .output()
            .map_err(|source| GrubCfgError::Spawn {
                program: program.clone(),
                source,
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(GrubCfgError::Program {
                program,
                status: out.status.to_string(),
                stderr: tail.join("\n"),
            });
        }
        Ok(MkconfigRun { stderr })
    }
}
