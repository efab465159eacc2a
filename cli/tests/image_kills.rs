//! kill -9 at random moments of `xenadm image grow --by` (issue 14 item 5): sparse and
//! fallocate on the test folder's filesystem, zero-fill on a real ext2 filesystem (no
//! fallocate there) on a loop device, and zero-fill again in a fresh pid namespace. After each
//! kill the image is at its old size, its new size, or in between with the grow journal
//! recording it; its old content is intact; the rerun of the same command reaches exactly the
//! size first asked for and leaves no other file. SIGINT and SIGTERM cut a growth back (or let
//! it finish) and say which. Replay a run with the XENADM_KILL_SEED it prints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs::{self, File};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use test_support::ext2::Ext2Mount;

use common::kill::{Rng, can_unshare_pid, in_new_pid_namespace, kill_after, names, time_of};

const KILLS: usize = 25;
const BASE_BYTES: usize = 1 << 20;
const STEP: &str = "4M";
const STEP_BYTES: u64 = 4 << 20;

fn skip(why: &str) {
    assert!(
        std::env::var_os("XENADM_REQUIRE_TOOLS").is_none_or(|v| v != "1"),
        "required here (XENADM_REQUIRE_TOOLS=1): {why}"
    );
    eprintln!("SKIPPED: {why}");
}

fn pattern() -> Vec<u8> {
    (0..BASE_BYTES)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect()
}

fn grow_cmd(namespace: bool, img: &Path, mode: &str) -> Command {
    let bin = env!("CARGO_BIN_EXE_xenadm");
    let args = [
        "image",
        "grow",
        img.to_str().unwrap(),
        "--by",
        STEP,
        mode,
        "--no-loop",
    ];
    let mut cmd = if namespace {
        in_new_pid_namespace(bin, &args)
    } else {
        let mut cmd = Command::new(bin);
        cmd.args(args);
        cmd
    };
    cmd.env_remove("XENADM_LOG");
    cmd
}

fn journal(img: &Path) -> PathBuf {
    let name = img.file_name().unwrap().to_str().unwrap();
    img.with_file_name(format!(".{name}.xenadm-grow"))
}

fn head_is_pattern(img: &Path) -> bool {
    let mut head = vec![0u8; BASE_BYTES];
    File::open(img).unwrap().read_exact(&mut head).unwrap();
    head == pattern()
}

/// KILLS growths `--by STEP` of an image in `dir`, each killed at a random moment.
fn harness(what: &str, dir: &Path, mode: &str, namespace: bool, other_names: &[&str]) {
    if namespace && !can_unshare_pid() {
        skip("unshare -pf does not work here (needs root)");
        return;
    }
    let img = dir.join("guest.img");
    fs::write(&img, pattern()).unwrap();
    let mut expected: Vec<String> = other_names.iter().map(ToString::to_string).collect();
    expected.push("guest.img".to_string());
    expected.sort();
    let duration = time_of(&mut grow_cmd(false, &img, mode));
    let mut rng = Rng::from_env(what);
    let (mut killed, mut resumed) = (0, 0);
    for i in 0..KILLS {
        let old = fs::metadata(&img).unwrap().len();
        let new = old + STEP_BYTES;
        let status = kill_after(
            &mut grow_cmd(namespace, &img, mode),
            rng.upto(duration + duration / 2),
            namespace,
        );
        killed += usize::from(!status.success());
        let size = fs::metadata(&img).unwrap().len();
        let pending = journal(&img).exists();
        assert!(
            (old..=new).contains(&size),
            "{what} {i}: size {size} outside {old}..={new}"
        );
        assert!(
            size == old || size == new || pending,
            "{what} {i}: size {size} between {old} and {new} without a journal"
        );
        assert!(head_is_pattern(&img), "{what} {i}: old content changed");
        if pending || size == old {
            resumed += usize::from(pending);
            let out = grow_cmd(namespace, &img, mode).output().unwrap();
            assert!(
                out.status.success(),
                "{what} {i}: rerun failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(
            fs::metadata(&img).unwrap().len(),
            new,
            "{what} {i}: the rerun reaches the size first asked for"
        );
        assert_eq!(names(dir), expected, "{what} {i}: stray files");
    }
    eprintln!("{what}: {killed} of {KILLS} runs killed, {resumed} finished from the journal");
    assert!(
        killed > 0,
        "{what}: no run was killed: the moments are too late"
    );
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

#[test]
fn test_kill_9_of_sparse_grow() {
    let dir = scratch();
    harness("grow --sparse", dir.path(), "--sparse", false, &[]);
}

#[test]
fn test_kill_9_of_fallocate_grow() {
    let dir = scratch();
    harness("grow --allocate", dir.path(), "--allocate", false, &[]);
}

#[test]
fn test_kill_9_of_zero_fill_grow_on_ext2() {
    let Some(fs) = Ext2Mount::new(Path::new(env!("CARGO_TARGET_TMPDIR")), 160 << 20) else {
        return;
    };
    harness(
        "grow --allocate on ext2 (zero-fill)",
        fs.mnt(),
        "--allocate",
        false,
        &["lost+found"],
    );
}

#[test]
fn test_kill_9_of_zero_fill_grow_on_ext2_in_a_fresh_pid_namespace() {
    let Some(fs) = Ext2Mount::new(Path::new(env!("CARGO_TARGET_TMPDIR")), 160 << 20) else {
        return;
    };
    harness(
        "grow --allocate on ext2 (zero-fill, pid namespace)",
        fs.mnt(),
        "--allocate",
        true,
        &["lost+found"],
    );
}

/// SIGINT or SIGTERM while zeros are written: exit 128+N, the image cut back to its old size
/// (or, if the signal came when the zeros were all written, at its new size, synced), the
/// message saying which, no journal left.
fn signal_during_zero_fill(signal: nix::sys::signal::Signal) {
    let dir = scratch();
    let img = dir.path().join("guest.img");
    fs::write(&img, pattern()).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_xenadm"))
        .args(["image", "grow", img.to_str().unwrap()])
        .args(["--by", "1G", "--zero-fill", "--no-loop"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once zeros are being written (the signals are blocked by then).
    let deadline = Instant::now() + Duration::from_secs(30);
    while fs::metadata(&img).unwrap().len() == BASE_BYTES as u64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, signal).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(128 + signal as i32), "{err}");
    let size = fs::metadata(&img).unwrap().len();
    if size == BASE_BYTES as u64 {
        assert!(
            err.contains(&format!(
                "{}: growing {} was interrupted; the file was cut back to its old size (1048576 bytes), its content is intact",
                signal.as_str(),
                img.display()
            )),
            "{err}"
        );
    } else {
        assert_eq!(size, BASE_BYTES as u64 + (1 << 30));
        assert!(
            err.contains("came when the growth was done") && err.contains("synced"),
            "{err}"
        );
    }
    assert!(head_is_pattern(&img));
    assert_eq!(names(dir.path()), ["guest.img"]);
}

#[test]
fn test_sigint_during_zero_fill_cuts_back_and_says_so() {
    signal_during_zero_fill(nix::sys::signal::Signal::SIGINT);
}

#[test]
fn test_sigterm_during_zero_fill_cuts_back_and_says_so() {
    signal_during_zero_fill(nix::sys::signal::Signal::SIGTERM);
}
