//! The kill -9 harness: run a command, SIGKILL it at a random moment, check, rerun.

#![allow(clippy::cast_possible_truncation)] // nanoseconds of test durations fit in u64

use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// xorshift64*: a seeded source of kill moments. The seed is printed so a failing run can be
/// replayed with `XENADM_KILL_SEED=N`.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn from_env(what: &str) -> Rng {
        let seed = std::env::var("XENADM_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        eprintln!("{what}: kill moments from XENADM_KILL_SEED={seed}");
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A duration in `[0, max]`.
    pub fn upto(&mut self, max: Duration) -> Duration {
        let nanos = max.as_nanos().max(1) as u64;
        Duration::from_nanos(self.next() % (nanos + 1))
    }
}

/// How long `cmd` takes to complete (the kill moments are drawn within about that).
pub fn time_of(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

/// Starts `cmd`, sends SIGKILL after `after` (unless it finished); its exit status. With
/// `namespace_init`, `cmd` is `unshare -pf` and the SIGKILL goes to the namespace's pid 1
/// (unshare's child), so waiting for unshare waits until that process is gone.
pub fn kill_after(cmd: &mut Command, after: Duration, namespace_init: bool) -> ExitStatus {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    if namespace_init {
        let children = format!("/proc/{0}/task/{0}/children", child.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            let list = std::fs::read_to_string(&children).unwrap_or_default();
            if let Some(pid) = list.split_whitespace().next() {
                let pid = nix::unistd::Pid::from_raw(pid.parse().unwrap());
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    } else if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    child.wait().unwrap()
}

/// `PROGRAM ARGS` in a fresh pid namespace (it is pid 1 there every time); SIGKILL of the
/// returned command's process kills it too (`--kill-child`), but use
/// [`kill_after`]`(.., true)` to know when it is gone.
pub fn in_new_pid_namespace(program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-pf", "--kill-child", "--mount-proc", "--", program])
        .args(args);
    cmd
}

/// Whether `unshare -pf` works here (root, and a kernel that allows it).
pub fn can_unshare_pid() -> bool {
    Command::new("unshare")
        .args(["-pf", "--kill-child", "--mount-proc", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The names in `dir`, sorted.
pub fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
