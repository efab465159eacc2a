//! Reaching the target the way the migration will: xl's rune `sh -c "exec SSHCMD HOST CMD"`,
//! here with a bounded answer and a time limit. Tests substitute a [`Transport`].

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::facts::MAX_PROBE_BYTES;
use super::stock::shell_quote;
use crate::XenError;

/// Bytes of the remote stderr kept for messages (the tail).
const STDERR_TAIL: usize = 4096;

/// What a remote command left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteOutput {
    /// Its exit status (`None`: killed by a signal or the time limit).
    pub status: Option<i32>,
    /// Its standard output (at most [`MAX_PROBE_BYTES`] + 1 bytes: more means too long).
    pub stdout: Vec<u8>,
    /// The tail of its standard error.
    pub stderr: String,
}

impl RemoteOutput {
    /// The shell's "command not found" (127): the target has no such program.
    pub fn not_found(&self) -> bool {
        self.status == Some(127)
    }
}

/// A way to run a shell command line on the target.
pub trait Transport {
    /// Runs `command` (one shell command line for the target's shell) with `stdin` as its input.
    ///
    /// # Errors
    /// [`XenError::Probe`] when the transport itself cannot be started.
    fn run(&self, command: &str, stdin: &[u8]) -> Result<RemoteOutput, XenError>;

    /// The target's name in messages.
    fn host(&self) -> &str;
}

/// xl's transport: `sh -c "exec SSHCMD HOST 'COMMAND'"` (`SSHCMD` defaults to `ssh`).
#[derive(Debug, Clone)]
pub struct SshTransport {
    /// The ssh command and its options, a shell fragment as xl's `-s` takes it.
    pub ssh: String,
    /// The target host, as given.
    pub host: String,
    /// How long the command may take.
    pub timeout: Duration,
}

impl SshTransport {
    /// `ssh` to `host`, 120 s limit.
    pub fn new(ssh: impl Into<String>, host: impl Into<String>) -> SshTransport {
        SshTransport {
            ssh: ssh.into(),
            host: host.into(),
            timeout: Duration::from_secs(120),
        }
    }
}

impl Transport for SshTransport {
    fn run(&self, command: &str, stdin: &[u8]) -> Result<RemoteOutput, XenError> {
        let rune = format!("exec {} {} {}", self.ssh, self.host, shell_quote(command));
        let failed = |what: String| XenError::Probe {
            host: self.host.clone(),
            what,
        };
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&rune)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(format!("cannot start `{rune}`: {e}")))?;
        let (Some(mut input), Some(output), Some(errors)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(failed("the transport's pipes are missing".to_owned()));
        };
        let stdin = stdin.to_vec();
        std::thread::scope(|scope| {
            // A remote that does not read its input (xenadm migrate-probe) closes the pipe:
            // the write error is expected and ignored.
            scope.spawn(move || {
                let _ = input.write_all(&stdin);
            });
            let out = scope.spawn(move || {
                let mut buf = Vec::new();
                let _ = output
                    .take(MAX_PROBE_BYTES as u64 + 1)
                    .read_to_end(&mut buf);
                buf
            });
            let err = scope.spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let mut errors = errors;
                while let Ok(n) = errors.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > 2 * STDERR_TAIL {
                        buf.drain(..buf.len() - STDERR_TAIL);
                    }
                }
                buf
            });
            let deadline = Instant::now() + self.timeout;
            let status = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break status.code(),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Ok(None) => {
                        // Our own child, by its handle.
                        let _ = child.kill();
                        let _ = child.wait();
                        break None;
                    }
                    Err(e) => return Err(failed(format!("waiting for `{rune}`: {e}"))),
                }
            };
            let stdout = out.join().unwrap_or_default();
            let stderr_bytes = err.join().unwrap_or_default();
            let start = stderr_bytes.len().saturating_sub(STDERR_TAIL);
            let stderr = String::from_utf8_lossy(&stderr_bytes[start..]).into_owned();
            if status.is_none() && Instant::now() >= deadline {
                return Err(failed(format!(
                    "`{rune}` took longer than {} s and was stopped",
                    self.timeout.as_secs()
                )));
            }
            Ok(RemoteOutput {
                status,
                stdout,
                stderr,
            })
        })
    }

    fn host(&self) -> &str {
        &self.host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An "ssh" that runs the command line locally: `fake-ssh HOST WORDS...`.
    fn fake_ssh(dir: &std::path::Path) -> String {
        let path = dir.join("fake-ssh");
        std::fs::write(&path, "#!/bin/sh\nshift\nexec sh -c \"$*\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }

    #[test]
    fn the_rune_carries_the_command_line_intact() {
        let dir = tempfile::tempdir().unwrap();
        let t = SshTransport::new(fake_ssh(dir.path()), "hostb");
        let out = t.run("printf '%s|' 'a b' \"c'd\"; cat", b"input").unwrap();
        assert_eq!(out.status, Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b|c'd|input");
        let out = t.run("no-such-command-xenadm-test", b"").unwrap();
        assert!(out.not_found(), "{out:?}");
        assert!(!out.stderr.is_empty());
    }

    #[test]
    fn a_hung_target_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = SshTransport::new(fake_ssh(dir.path()), "hostb");
        t.timeout = Duration::from_millis(300);
        let err = t.run("exec sleep 30", b"").unwrap_err().to_string();
        assert!(
            err.contains("hostb") && err.contains("longer than"),
            "{err}"
        );
    }

    #[test]
    fn answers_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let t = SshTransport::new(fake_ssh(dir.path()), "hostb");
        let out = t.run("exec yes", b"").unwrap();
        assert_eq!(out.stdout.len(), MAX_PROBE_BYTES + 1);
    }
}
