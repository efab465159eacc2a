//! One ssh connection for the preflight and the migration after it: OpenSSH's connection
//! sharing (`-M`, `ControlPath`). Without it `xenadm migrate` pays ssh's key exchange twice
//! (the probe, then the stream) where `xl migrate` pays it once; in the lab's emulated dom0s a
//! key exchange costs 5-20 s (docs/PERFORMANCE.md, "Live migration").

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::stock::shell_quote;
use crate::XenError;

/// A master ssh connection to one host, owned by this process (its child, in its own process
/// group so that a Ctrl-C at the terminal does not reach it) and ended on drop, with its
/// private socket folder.
#[derive(Debug)]
pub struct SharedSsh {
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
    ssh: String,
}

impl SharedSsh {
    /// Connects `ssh HOST` as a master and waits until it is ready (authenticated, socket
    /// listening) or `timeout` passes. `ssh` is a shell fragment as xl's `-s` takes it (only an
    /// OpenSSH client understands the options added here).
    ///
    /// # Errors
    /// [`XenError::Probe`] when the master cannot start, ends before it is ready (the reason,
    /// from ssh's stderr), or is not ready in time: the caller then connects without sharing.
    pub fn connect(ssh: &str, host: &str, timeout: Duration) -> Result<SharedSsh, XenError> {
        let failed = |what: String| XenError::Probe {
            host: host.to_owned(),
            what,
        };
        let dir =
            private_dir().map_err(|e| failed(format!("no folder for the ssh socket: {e}")))?;
        let socket = dir.join("ssh");
        let rune = format!(
            "exec {ssh} -M -N -o ControlPath={} -o ControlPersist=no -o BatchMode=yes {host}",
            shell_quote(&socket.display().to_string())
        );
        let spawned = Command::new("sh")
            .arg("-c")
            .arg(&rune)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(failed(format!("cannot start `{rune}`: {e}")));
            }
        };
        let mut master = SharedSsh {
            child,
            dir,
            socket,
            ssh: ssh.to_owned(),
        };
        let deadline = Instant::now() + timeout;
        loop {
            if master.socket.exists() {
                return Ok(master);
            }
            match master.child.try_wait() {
                Ok(Some(status)) => {
                    let mut stderr = String::new();
                    if let Some(mut err) = master.child.stderr.take() {
                        use std::io::Read as _;
                        let _ = (&mut err).take(4096).read_to_string(&mut stderr);
                    }
                    return Err(failed(format!(
                        "`{rune}` ended ({status}) before it was ready: {}",
                        stderr.trim()
                    )));
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    return Err(failed(format!(
                        "`{rune}` was not ready within {} s",
                        timeout.as_secs()
                    )));
                }
                Err(e) => return Err(failed(format!("waiting for `{rune}`: {e}"))),
            }
        }
    }

    /// For a migration and its preflight to `host`: the master to share, and the ssh command
    /// (xl's `-s`) both then use. Shared only when both run (`preflight_then_send`) over the
    /// default `ssh` (`ssh` is `-s` as given, `None` for the default: a given one may not be
    /// OpenSSH); otherwise, or when the master is not ready within two minutes, no master and
    /// `ssh` as given, each connecting on its own.
    pub fn for_migration(
        host: &str,
        ssh: Option<&str>,
        preflight_then_send: bool,
    ) -> (Option<SharedSsh>, Option<String>) {
        let shared = (preflight_then_send && ssh.is_none())
            .then(|| SharedSsh::connect("ssh", host, Duration::from_secs(120)).ok())
            .flatten();
        let command = shared
            .as_ref()
            .map(SharedSsh::ssh_command)
            .or_else(|| ssh.map(str::to_string));
        (shared, command)
    }

    /// The ssh command (xl's `-s`) whose connections go through this master; should the
    /// master be gone, ssh connects on its own.
    pub fn ssh_command(&self) -> String {
        format!(
            "{} -o ControlPath={} -o ControlMaster=no",
            self.ssh,
            shell_quote(&self.socket.display().to_string())
        )
    }

    /// The master's socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for SharedSsh {
    fn drop(&mut self) {
        // Our own child, by its handle: ssh -M ends its sessions' channels and the connection.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh folder only this user can enter, for the master's socket (a short path: a Unix
/// socket's path has at most 107 bytes).
fn private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt as _;
    let base = std::env::temp_dir();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for attempt in 0..16u32 {
        let dir = base.join(format!(
            "xenadm-ssh.{}.{:x}",
            std::process::id(),
            seed.wrapping_add(attempt.wrapping_mul(0x9e37_79b9))
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for `ssh -M`: makes the ControlPath "socket" then stays, or says why not.
    fn fake_ssh(dir: &Path, body: &str) -> String {
        let path = dir.join("fake-ssh");
        std::fs::write(
            &path,
            format!("#!/bin/sh\nfor a; do case $a in ControlPath=*) p=${{a#ControlPath=}};; esac; done\n{body}\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }

    #[test]
    fn a_ready_master_is_shared_and_ended_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = fake_ssh(dir.path(), r#": > "$p"; exec sleep 60"#);
        let master = SharedSsh::connect(&ssh, "hostb", Duration::from_secs(10)).unwrap();
        let socket = master.socket().to_path_buf();
        assert!(socket.exists());
        let folder = socket.parent().unwrap().to_path_buf();
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{folder:?}");
        let command = master.ssh_command();
        assert!(command.starts_with(&ssh), "{command}");
        assert!(
            command.contains(&format!(
                "ControlPath={}",
                shell_quote(&socket.display().to_string())
            )),
            "{command}"
        );
        assert!(command.ends_with("-o ControlMaster=no"), "{command}");
        let pid = master.child.id();
        drop(master);
        assert!(!folder.exists(), "{folder:?} left behind");
        // The master (our child) is gone: no process with its id is ours any more.
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .map_or(true, |c| !c.contains("sleep")),
        );
    }

    #[test]
    fn a_master_that_ends_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = fake_ssh(
            dir.path(),
            "echo 'Permission denied (publickey).' >&2; exit 255",
        );
        let err = SharedSsh::connect(&ssh, "hostb", Duration::from_secs(10))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("hostb") && err.contains("Permission denied"),
            "{err}"
        );
    }

    #[test]
    fn a_master_never_ready_is_given_up() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = fake_ssh(dir.path(), "exec sleep 60");
        let t0 = Instant::now();
        let err = SharedSsh::connect(&ssh, "hostb", Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not ready within"), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn only_a_preflight_then_a_send_over_default_ssh_shares() {
        // A given -s (even empty: a raw transport) or a preflight alone: no master is started.
        let (shared, ssh) = SharedSsh::for_migration("hostb", Some("ssh -p 2222"), true);
        assert!(shared.is_none());
        assert_eq!(ssh.as_deref(), Some("ssh -p 2222"));
        let (shared, ssh) = SharedSsh::for_migration("hostb", Some(""), true);
        assert!(shared.is_none());
        assert_eq!(ssh.as_deref(), Some(""));
        let (shared, ssh) = SharedSsh::for_migration("hostb", None, false);
        assert!(shared.is_none() && ssh.is_none());
    }
}
