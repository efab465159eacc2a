//! The `vhostmd` binary as a daemon: update timing, SIGHUP reload, SIGTERM exit, pid file,
//! injection-proof actions, `--check-config`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vhostmd::{ReadOptions, read_disk};

fn vhostmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vhostmd"))
}

/// vhostmd.dtd, which every configuration file must name (as upstream requires).
fn dtd() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vhostmd/tests/data/vhostmd.dtd")
}

fn config(dir: &Path, period: u32, metrics: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE vhostmd SYSTEM \"{}\">\n<vhostmd>\n  <globals>\n    <disk><name>d</name><path>{}/disk</path><size unit=\"k\">64</size></disk>\n    <update_period>{period}</update_period>\n    <path>/usr/bin:/bin</path>\n    <transport>vbd</transport>\n  </globals>\n  <metrics>\n{metrics}\n  </metrics>\n</vhostmd>\n",
        dtd().display(),
        dir.display()
    )
}

fn metric(name: &str, action: &str) -> String {
    format!(
        "    <metric type=\"string\" context=\"vm\"><name>{name}</name><action>{action}</action></metric>"
    )
}

fn host_metric(name: &str, action: &str) -> String {
    format!(
        "    <metric type=\"string\" context=\"host\"><name>{name}</name><action>{action}</action></metric>"
    )
}

/// Polls `check` every 20 ms until it holds or `secs` pass.
fn wait_for(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

fn wait_exit(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vhostmd did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn value(disk: &Path, name: &str) -> Option<String> {
    let content = read_disk(
        disk,
        &ReadOptions::with_timeout(Duration::from_secs(2), Duration::from_millis(20)),
    )
    .ok()?;
    let doc = content.metrics().ok()?;
    doc.host(name).ok().map(|m| m.value.clone())
}

struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
}

impl Daemon {
    fn start(conf_text: &str, extra: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("vhostmd.conf");
        std::fs::write(
            &conf,
            conf_text.replace("@DIR@", &dir.path().display().to_string()),
        )
        .unwrap();
        let child = vhostmd()
            .args(["-d", "-f"])
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("pid"))
            .args(["--vm-source", "none"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Daemon { child, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn test_one_update_per_period_then_clean_exit_on_sigterm() {
    let conf = config(
        Path::new("@DIR@"),
        1,
        &host_metric(
            "Stamp",
            "date +%s%N &gt;&gt; @DIR@/stamps; wc -l &lt; @DIR@/stamps",
        ),
    );
    let mut d = Daemon::start(&conf, &[]);
    let stamps = d.path("stamps");
    let lines = || {
        std::fs::read_to_string(&stamps)
            .map(|t| {
                t.lines()
                    .map(|l| l.parse::<u128>().unwrap())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    wait_for(10, "4 updates", || lines().len() >= 4);
    assert!(d.path("pid").exists());
    signal(&d.child, "-TERM");
    let status = wait_exit(&mut d.child, 10);
    assert!(status.success(), "{status}");
    assert!(!d.path("pid").exists(), "pid file removed at exit");
    let stamps = lines();
    // Upstream bursts hundreds of updates per period; here each period gives one.
    assert!(stamps.len() <= 5, "{} updates", stamps.len());
    for pair in stamps.windows(2) {
        let ms = (pair[1] - pair[0]) / 1_000_000;
        assert!((800..=1500).contains(&ms), "updates {ms} ms apart");
    }
    assert_eq!(
        value(&d.path("disk"), "Stamp").as_deref(),
        Some(&*format!("{}\n", stamps.len()))
    );
    let mut err = String::new();
    std::io::Read::read_to_string(d.child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("xl block-attach <domain> 'format=raw, vdev=xvdb, access=ro, target="),
        "{err}"
    );
}

#[test]
fn test_sighup_reloads_the_configuration() {
    let conf = config(Path::new("@DIR@"), 1, &host_metric("Word", "printf one"));
    let mut d = Daemon::start(&conf, &[]);
    let disk = d.path("disk");
    wait_for(10, "the first update", || {
        value(&disk, "Word").as_deref() == Some("one")
    });
    let new = config(d.dir.path(), 1, &host_metric("Word", "printf two"));
    std::fs::write(d.path("vhostmd.conf"), new).unwrap();
    signal(&d.child, "-HUP");
    wait_for(10, "the reloaded value", || {
        value(&disk, "Word").as_deref() == Some("two")
    });
    // A broken configuration on reload keeps the old one running.
    std::fs::write(d.path("vhostmd.conf"), "<vhostmd>").unwrap();
    signal(&d.child, "-HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert!(d.child.try_wait().unwrap().is_none(), "still running");
    assert_eq!(value(&disk, "Word").as_deref(), Some("two"));
    signal(&d.child, "-TERM");
    assert!(wait_exit(&mut d.child, 10).success());
}

#[test]
fn test_hostile_vm_name_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pwned = dir.path().join("pwned");
    let vms = dir.path().join("vms");
    std::fs::write(&vms, format!("7\tx;touch {}\tuuid-7\n", pwned.display())).unwrap();
    let conf = dir.path().join("c.conf");
    std::fs::write(
        &conf,
        config(
            dir.path(),
            1,
            &[
                metric("N", "echo NAME"),
                metric("Q", "echo \"NAME\" 'VMID'"),
            ]
            .join("\n"),
        ),
    )
    .unwrap();
    let status = vhostmd()
        .args(["-d", "--once", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.path().join("pid"))
        .arg("--vms")
        .arg(&vms)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(!pwned.exists(), "the VM name ran a command");
    let doc = read_disk(&dir.path().join("disk"), &ReadOptions::default())
        .unwrap()
        .metrics()
        .unwrap();
    let name = format!("x;touch {}\n", pwned.display());
    assert_eq!(doc.vm("N", "uuid-7").unwrap().value, name);
    assert_eq!(
        doc.vm("Q", "uuid-7").unwrap().value,
        name.replace('\n', " 7\n")
    );
}

#[test]
fn test_check_config_and_bad_config_at_start() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vhostmd/tests/data");
    let ok = vhostmd()
        .arg("--check-config")
        .arg(data.join("golden.conf"))
        .output()
        .unwrap();
    assert!(ok.status.success());
    let bad = vhostmd()
        .arg("--check-config")
        .arg(data.join("invalid/bad-unit.conf"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = common::stderr(&bad);
    assert!(err.contains("bad-unit.conf:15:7:"), "{err}");
    let start = vhostmd()
        .args(["-d", "-f"])
        .arg(data.join("invalid/bad-type.conf"))
        .output()
        .unwrap();
    assert_eq!(start.status.code(), Some(1));
    assert!(common::stderr(&start).contains("bad-type.conf:30:"));
}

/// The Xen VM source on a machine that is not a Xen dom0 (as here): the daemon stops at
/// start with one line naming the source and why, before it writes anything.
#[test]
fn test_xen_source_outside_dom0_fails_at_start_with_the_reason() {
    if std::path::Path::new("/dev/xen/privcmd").exists() {
        eprintln!("SKIPPED: this machine is a Xen dom0");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("vhostmd.conf");
    std::fs::write(
        &conf,
        config(dir.path(), 1, &host_metric("Answer", "echo 42")),
    )
    .unwrap();
    let out = vhostmd()
        .args(["-d", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.path().join("pid"))
        .args(["--vm-source", "xen"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("xen"), "{stderr}");
    assert!(
        stderr.contains("not a Xen dom0") || stderr.contains("cannot load"),
        "{stderr}"
    );
    assert!(!dir.path().join("pid").exists(), "pid file left behind");
}

/// `-u USER`: the daemon creates the disk as root, then runs as USER: its actions run as that
/// user (`id -u` prints its uid into the disk), the process's real, effective and saved ids are
/// all that user's, and updates go on through the disk it opened before the switch.
#[test]
fn test_user_option_drops_privileges_after_creating_the_disk() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("SKIPPED: needs root to switch users");
        return;
    }
    let Ok(Some(nobody)) = nix::unistd::User::from_name("nobody") else {
        eprintln!("SKIPPED: no user nobody");
        return;
    };
    let conf = config(
        Path::new("@DIR@"),
        1,
        &host_metric("Uid", "id -u; date +%s%N"),
    );
    let mut d = Daemon::start(&conf, &["-u", "nobody"]);
    let disk = d.path("disk");
    let uid = nobody.uid.as_raw().to_string();
    wait_for(10, "a value written as nobody", || {
        value(&disk, "Uid").is_some_and(|v| v.starts_with(&uid))
    });
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.child.id())).unwrap();
    let ids: Vec<&str> = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(ids, [uid.as_str(); 4], "real, effective, saved, fs uid");
    let first = value(&disk, "Uid").unwrap();
    wait_for(10, "a later update", || {
        value(&disk, "Uid").is_some_and(|v| v != first)
    });
    signal(&d.child, "-TERM");
    assert!(wait_exit(&mut d.child, 10).success());
}

/// Without virsh, `--vm-source libvirt` is refused at start with status 1, daemonised or not
/// (it used to print the error and exit 0 from the daemonising parent).
#[test]
fn test_libvirt_source_without_virsh_fails_with_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("vhostmd.conf");
    std::fs::write(
        &conf,
        config(dir.path(), 1, &host_metric("Answer", "echo 42")),
    )
    .unwrap();
    // A PATH with the shell tools actions need, but no virsh.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for daemonise in [false, true] {
        let mut cmd = vhostmd();
        if !daemonise {
            cmd.arg("-d");
        }
        let out = cmd
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("pid"))
            .args(["--vm-source", "libvirt", "--once"])
            .env("PATH", &bin)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "daemonise {daemonise}: {stderr}"
        );
        assert!(stderr.contains("virsh is not installed"), "{stderr}");
        assert!(!dir.path().join("disk").exists(), "it wrote the disk");
    }
}

/// A second daemonised vhostmd with the same pid file: status 1 and why, not a quiet 0.
#[test]
fn test_second_daemonised_instance_fails_with_status_1() {
    let first = Daemon::start(
        &config(Path::new("@DIR@"), 1, &host_metric("Answer", "echo 42")),
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !first.path("pid").exists() {
        assert!(
            Instant::now() < deadline,
            "the first daemon wrote no pid file"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = vhostmd()
        .arg("-f")
        .arg(first.path("vhostmd.conf"))
        .arg("-p")
        .arg(first.path("pid"))
        .args(["--vm-source", "none"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is vhostmd already running?"), "{stderr}");
}
