//! One ssh connection for the preflight and the migration after it: OpenSSH's connection
//! sharing (`-M`, `ControlPath`). Without it `xenadm migrate` pays ssh's key exchange twice
//! (the probe, then the stream) where `xl migrate` pays it once; in the lab's emulated dom0s a
//! key exchange costs 5-20 s (docs/PERFORMANCE.md, "Live migration").
//!
//! For a migration the master connects in the background ([`SharedSsh::for_migration`] returns
//! at once): the preflight reads this host's facts meanwhile and waits for the master (the
//! [`MasterReady`] handle in its [`CheckOptions`](super::CheckOptions)) only before it asks the
//! target.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::stock::shell_quote;
use crate::XenError;

/// A master ssh connection to one host, owned by this process (its child, in its own process
/// group so that a Ctrl-C at the terminal does not reach it) and ended on drop, with its
/// private socket folder.
#[derive(Debug)]
pub struct SharedSsh {
    child: Arc<Mutex<Child>>,
    dir: PathBuf,
    socket: PathBuf,
    ssh: String,
    ready: Arc<Readiness>,
}

/// Whether a master is ready: `None` while it connects, then `Ok` (its socket listens) or why
/// not; set once by the thread that watches it.
#[derive(Debug, Default)]
struct Readiness {
    state: Mutex<Option<Result<(), String>>>,
    changed: Condvar,
}

impl Readiness {
    fn set(&self, result: Result<(), String>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.is_none() {
            *state = Some(result);
            self.changed.notify_all();
        }
    }

    /// Waits until the master is ready or not (at most `limit`: the watcher's own deadline
    /// ends it earlier); `None` if still undecided after `limit`.
    fn wait(&self, limit: Duration) -> Option<Result<(), String>> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (state, _) = self
            .changed
            .wait_timeout_while(state, limit, |s| s.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        state.clone()
    }
}

/// A handle on whether a [`SharedSsh`] master is ready, for whoever must wait for it before
/// connecting through it (the preflight's probe). Clones share the one state.
#[derive(Debug, Clone)]
pub struct MasterReady(Arc<Readiness>);

impl MasterReady {
    /// Waits (at most `limit`) until the master is ready: `Ok`, or why not (it failed, was
    /// dropped, or is still undecided after `limit`); ssh then connects on its own.
    pub fn wait(&self, limit: Duration) -> Result<(), String> {
        let t0 = Instant::now();
        let result = self
            .0
            .wait(limit)
            .unwrap_or_else(|| Err(format!("not ready within {} s", limit.as_secs())));
        tracing::debug!(
            ms = t0.elapsed().as_millis(),
            ok = result.is_ok(),
            "preflight: waited for the ssh master"
        );
        result
    }
}

/// Two handles are equal when they watch the same master.
impl PartialEq for MasterReady {
    fn eq(&self, other: &MasterReady) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for MasterReady {}

impl SharedSsh {
    /// Connects `ssh HOST` as a master and waits until it is ready (authenticated, socket
    /// listening) or `timeout` passes. `ssh` is a shell fragment as xl's `-s` takes it (only an
    /// OpenSSH client understands the options added here).
    ///
    /// # Errors
    /// [`XenError::Probe`] when the master cannot start, ends before it is ready (the reason,
    /// from ssh's stderr), or is not ready in time: the caller then connects without sharing.
    pub fn connect(ssh: &str, host: &str, timeout: Duration) -> Result<SharedSsh, XenError> {
        let master = SharedSsh::start(ssh, host, timeout)?;
        // The watcher decides within `timeout`; the margin only covers its last poll.
        match master.ready.wait(timeout + Duration::from_secs(5)) {
            Some(Ok(())) => Ok(master),
            Some(Err(what)) => Err(XenError::Probe {
                host: host.to_owned(),
                what,
            }),
            None => Err(XenError::Probe {
                host: host.to_owned(),
                what: format!(
                    "the ssh master was not ready within {} s",
                    timeout.as_secs()
                ),
            }),
        }
    }

    /// Starts `ssh HOST` as a master and returns at once; a thread watches it until it is
    /// ready, ends (the reason, from ssh's stderr) or `timeout` passes.
    ///
    /// # Errors
    /// [`XenError::Probe`] when the master cannot be started at all.
    pub fn start(ssh: &str, host: &str, timeout: Duration) -> Result<SharedSsh, XenError> {
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
        let master = SharedSsh {
            child: Arc::new(Mutex::new(child)),
            dir,
            socket,
            ssh: ssh.to_owned(),
            ready: Arc::new(Readiness::default()),
        };
        let watched = Watched {
            child: master.child.clone(),
            socket: master.socket.clone(),
            ready: master.ready.clone(),
            rune,
            host: host.to_owned(),
            timeout,
        };
        let spawned = std::thread::Builder::new()
            .name("ssh-master".to_owned())
            .spawn(move || watched.watch());
        if let Err(e) = spawned {
            // Without a watcher nobody would say when it is ready: not shared (drop ends it).
            return Err(failed(format!("cannot watch the ssh master: {e}")));
        }
        Ok(master)
    }

    /// For a migration and its preflight to `host`: the master to share, and the ssh command
    /// (xl's `-s`) both then use. Shared only when both run (`preflight_then_send`) over the
    /// default `ssh` (`ssh` is `-s` as given, `None` for the default: a given one may not be
    /// OpenSSH); otherwise, or when the master cannot start, no master and `ssh` as given,
    /// each connecting on its own. The master connects in the background: the preflight
    /// ([`check`](super::check)) waits for it ([`SharedSsh::readiness`] in its
    /// [`CheckOptions::ssh_master`](super::CheckOptions::ssh_master), at most two minutes)
    /// before it asks the target; a master that fails or is late leaves the command to
    /// connect on its own, as the ssh command falls back to when its socket is missing.
    pub fn for_migration(
        host: &str,
        ssh: Option<&str>,
        preflight_then_send: bool,
    ) -> (Option<SharedSsh>, Option<String>) {
        let shared = (preflight_then_send && ssh.is_none())
            .then(|| SharedSsh::start("ssh", host, Duration::from_secs(120)).ok())
            .flatten();
        let command = shared
            .as_ref()
            .map(SharedSsh::ssh_command)
            .or_else(|| ssh.map(str::to_string));
        (shared, command)
    }

    /// The handle to wait for this master with (see [`MasterReady::wait`]).
    pub fn readiness(&self) -> MasterReady {
        MasterReady(self.ready.clone())
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
        self.ready.set(Err("the ssh master was ended".to_owned()));
        // Our own child, by its handle: ssh -M ends its sessions' channels and the connection.
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = child.kill();
        let _ = child.wait();
        drop(child);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the watcher thread of a master needs.
struct Watched {
    child: Arc<Mutex<Child>>,
    socket: PathBuf,
    ready: Arc<Readiness>,
    rune: String,
    host: String,
    timeout: Duration,
}

impl Watched {
    /// Polls until the socket listens, the master ends, or the time is up; says which.
    fn watch(self) {
        let started = Instant::now();
        let deadline = started + self.timeout;
        let result = loop {
            if self.socket.exists() {
                tracing::debug!(
                    ms = started.elapsed().as_millis(),
                    "preflight: ssh master to {} ready",
                    self.host
                );
                break Ok(());
            }
            // The master's stderr stays with it while it runs (a closed pipe would end it);
            // once it has ended, its reason is read from there.
            let (status, stderr) = {
                let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
                let status = child.try_wait();
                let stderr = match status {
                    Ok(Some(_)) => child.stderr.take(),
                    _ => None,
                };
                (status, stderr)
            };
            match status {
                Ok(Some(status)) => {
                    let mut text = String::new();
                    if let Some(err) = stderr {
                        use std::io::Read as _;
                        let _ = err.take(4096).read_to_string(&mut text);
                    }
                    break Err(format!(
                        "`{}` ended ({status}) before it was ready: {}",
                        self.rune,
                        text.trim()
                    ));
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    break Err(format!(
                        "`{}` was not ready within {} s",
                        self.rune,
                        self.timeout.as_secs()
                    ));
                }
                Err(e) => break Err(format!("waiting for `{}`: {e}", self.rune)),
            }
        };
        self.ready.set(result);
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
        let pid = master.child.lock().unwrap().id();
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
    fn start_returns_at_once_and_the_preflight_waits_for_the_master() {
        let dir = tempfile::tempdir().unwrap();
        // Ready only after 600 ms (an ssh key exchange in a loaded dom0 takes seconds).
        let ssh = fake_ssh(dir.path(), r#"sleep 0.6; : > "$p"; exec sleep 60"#);
        let t0 = Instant::now();
        let master = SharedSsh::start(&ssh, "hostb", Duration::from_secs(10)).unwrap();
        assert!(
            t0.elapsed() < Duration::from_millis(500),
            "{:?}",
            t0.elapsed()
        );
        assert!(!master.socket().exists());
        let ready = master.readiness();
        assert_eq!(ready, master.readiness());
        ready.wait(Duration::from_secs(10)).unwrap();
        assert!(master.socket().exists());
        assert!(t0.elapsed() >= Duration::from_millis(600));
        // Ready stays ready.
        assert_eq!(ready.wait(Duration::from_millis(1)), Ok(()));
    }

    #[test]
    fn waiting_for_a_master_that_fails_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = fake_ssh(
            dir.path(),
            "sleep 0.2; echo 'Host key verification failed.' >&2; exit 255",
        );
        let master = SharedSsh::start(&ssh, "hostb", Duration::from_secs(10)).unwrap();
        let err = master
            .readiness()
            .wait(Duration::from_secs(10))
            .unwrap_err();
        assert!(err.contains("Host key verification failed"), "{err}");
        // Never ready within the caller's limit: undecided, said so.
        let ssh = fake_ssh(dir.path(), "exec sleep 60");
        let late = SharedSsh::start(&ssh, "hostb", Duration::from_secs(60)).unwrap();
        let ready = late.readiness();
        let t0 = Instant::now();
        let err = ready.wait(Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("not ready within"), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(5));
        // Dropped: whoever still waits is told at once.
        drop(late);
        let err = ready.wait(Duration::from_secs(5)).unwrap_err();
        assert!(err.contains("ended"), "{err}");
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
