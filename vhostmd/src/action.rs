//! Running a program with a timeout and an output cap: the shell actions, and `virsh`.

use std::io::Read as _;
use std::os::fd::AsFd as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::error::ActionProblem;

/// Limits for one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionLimits {
    /// Longest time an action may run; then its process group is killed.
    pub timeout: Duration,
    /// Output kept as the value (upstream: 255 bytes; 2047 for `xml` metrics).
    pub value_cap_bytes: usize,
    /// Output read and discarded beyond the cap before the action is killed.
    pub drain_limit_bytes: usize,
}

impl Default for ActionLimits {
    fn default() -> ActionLimits {
        ActionLimits {
            timeout: Duration::from_secs(10),
            value_cap_bytes: 255,
            drain_limit_bytes: 1024 * 1024,
        }
    }
}

impl ActionLimits {
    /// Default caps with this timeout.
    pub fn with_timeout(timeout: Duration) -> ActionLimits {
        ActionLimits {
            timeout,
            ..ActionLimits::default()
        }
    }
}

/// Upstream's value cap for ordinary metrics.
pub const VALUE_CAP_BYTES: usize = 255;
/// Upstream's value cap for `xml` metrics.
pub const XML_VALUE_CAP_BYTES: usize = 2047;

/// Where a child's stderr goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stderr {
    Inherit,
    Null,
}

/// Runs `/bin/sh -c command_line` with `PATH` set to `path` (unless empty).
pub(crate) fn run_shell(
    command_line: &str,
    path: &str,
    limits: &ActionLimits,
    stderr: Stderr,
) -> Result<Vec<u8>, ActionProblem> {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command_line);
    if !path.is_empty() {
        cmd.env("PATH", path);
    }
    run(cmd, limits, stderr)
}

/// Runs a command: stdin from /dev/null, stdout captured (first `value_cap_bytes` kept), in
/// its own process group so a timeout kills everything it started. A non-zero exit is an
/// error, as upstream's `pclose` check.
pub(crate) fn run(
    mut cmd: Command,
    limits: &ActionLimits,
    stderr: Stderr,
) -> Result<Vec<u8>, ActionProblem> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(match stderr {
            Stderr::Inherit => Stdio::inherit(),
            Stderr::Null => Stdio::null(),
        })
        .process_group(0);
    let deadline = Instant::now() + limits.timeout;
    let mut child = cmd.spawn().map_err(|e| ActionProblem::Spawn {
        message: e.to_string(),
    })?;
    let result = capture(&mut child, limits, deadline);
    match result {
        Ok(value) => match wait(&mut child, deadline, limits) {
            Ok(status) if status.success() => Ok(value),
            Ok(status) => Err(ActionProblem::Failed {
                code: status.code(),
                signal: status.signal(),
            }),
            Err(problem) => {
                kill(&mut child);
                Err(problem)
            }
        },
        Err(problem) => {
            kill(&mut child);
            Err(problem)
        }
    }
}

fn timed_out(limits: &ActionLimits) -> ActionProblem {
    ActionProblem::TimedOut {
        timeout_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
    }
}

/// Reads stdout to its end, keeping the first `value_cap_bytes`.
fn capture(
    child: &mut Child,
    limits: &ActionLimits,
    deadline: Instant,
) -> Result<Vec<u8>, ActionProblem> {
    let Some(mut stdout) = child.stdout.take() else {
        return Ok(Vec::new());
    };
    let mut value = Vec::new();
    let mut total = 0usize;
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out(limits));
        }
        let ms = i32::try_from(left.as_millis().max(1)).unwrap_or(i32::MAX);
        let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => return Err(timed_out(limits)),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(ActionProblem::Spawn {
                    message: format!("poll: {e}"),
                });
            }
        }
        match stdout.read(&mut buf) {
            Ok(0) => return Ok(value),
            Ok(n) => {
                let keep = n.min(limits.value_cap_bytes.saturating_sub(value.len()));
                value.extend_from_slice(&buf[..keep]);
                total += n;
                if total > limits.drain_limit_bytes {
                    return Err(ActionProblem::TooMuchOutput {
                        limit_bytes: limits.drain_limit_bytes,
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(ActionProblem::Spawn {
                    message: format!("read: {e}"),
                });
            }
        }
    }
}

/// Waits for the exit after stdout closed, polling with a short back-off until the deadline.
fn wait(
    child: &mut Child,
    deadline: Instant,
    limits: &ActionLimits,
) -> Result<std::process::ExitStatus, ActionProblem> {
    let mut pause = Duration::from_micros(20);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => {
                return Err(ActionProblem::Spawn {
                    message: format!("wait: {e}"),
                });
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timed_out(limits));
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// Kills the child's process group and reaps the child.
fn kill(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(ms: u64) -> ActionLimits {
        ActionLimits {
            timeout: Duration::from_millis(ms),
            ..ActionLimits::default()
        }
    }

    #[test]
    fn test_output_and_exit_status() {
        let l = limits(5000);
        assert_eq!(run_shell("echo hi", "", &l, Stderr::Null).unwrap(), b"hi\n");
        assert_eq!(
            run_shell("echo 99; exit 3", "", &l, Stderr::Null).unwrap_err(),
            ActionProblem::Failed {
                code: Some(3),
                signal: None
            }
        );
    }

    #[test]
    fn test_hanging_action_is_killed_at_the_timeout() {
        let start = Instant::now();
        let err = run_shell("sleep 30", "", &limits(200), Stderr::Null).unwrap_err();
        assert!(matches!(err, ActionProblem::TimedOut { .. }), "{err:?}");
        assert!(start.elapsed() < Duration::from_secs(5));
        // Closing stdout and then hanging is a timeout too.
        let err = run_shell("exec >&-; sleep 30", "", &limits(200), Stderr::Null).unwrap_err();
        assert!(matches!(err, ActionProblem::TimedOut { .. }), "{err:?}");
    }

    #[test]
    fn test_megabytes_of_output_are_capped() {
        let l = ActionLimits {
            drain_limit_bytes: 64 * 1024,
            ..limits(10_000)
        };
        let err = run_shell("yes", "", &l, Stderr::Null).unwrap_err();
        assert!(
            matches!(err, ActionProblem::TooMuchOutput { .. }),
            "{err:?}"
        );
        let value = run_shell("head -c 5000 /dev/zero | tr '\\0' a", "", &l, Stderr::Null).unwrap();
        assert_eq!(value.len(), VALUE_CAP_BYTES);
    }
}
