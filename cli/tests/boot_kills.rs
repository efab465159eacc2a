//! kill -9 at random moments of `boot set` and `boot default` (issue 14 item 4), also in a
//! fresh pid namespace where xenadm is pid 1 every time: after each kill the file holds the
//! old or the new content, the rerun succeeds and reaches the new content, and no temp file is
//! left behind. Replay a run with the XENADM_KILL_SEED it prints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::kill::{Rng, can_unshare_pid, in_new_pid_namespace, kill_after, names, time_of};

const KILLS: usize = 30;

fn grub_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../grub-cfg/tests/data")
        .join(rel)
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("etc/default")).unwrap();
    fs::create_dir_all(root.join("boot/grub")).unwrap();
    fs::copy(
        grub_data("generated/debian-xen.default-grub"),
        root.join("etc/default/grub"),
    )
    .unwrap();
    fs::copy(
        grub_data("generated/debian-xen.grub.cfg"),
        root.join("boot/grub/grub.cfg"),
    )
    .unwrap();
    fs::write(root.join("boot/xen-4.17-amd64.gz"), "fake").unwrap();
    dir
}

fn xenadm_cmd(namespace: bool, args: &[&str]) -> Command {
    let bin = env!("CARGO_BIN_EXE_xenadm");
    let mut cmd = if namespace {
        in_new_pid_namespace(bin, args)
    } else {
        let mut cmd = Command::new(bin);
        cmd.args(args);
        cmd
    };
    cmd.env_remove("XENADM_LOG");
    cmd
}

/// Runs `args_for(i)` KILLS times, killed at a random moment, then again to completion; the
/// file `watched` (under the root) holds the old or the new bytes after each kill and the new
/// ones after the rerun; `folder` ends with exactly `expected_names`.
fn harness(
    what: &str,
    namespace: bool,
    watched: &str,
    args_for: impl Fn(&Path, usize) -> Vec<String>,
    expected_names: &[&str],
) {
    if namespace && !can_unshare_pid() {
        assert!(
            std::env::var_os("XENADM_REQUIRE_TOOLS").is_none_or(|v| v != "1"),
            "unshare -pf is required here"
        );
        eprintln!("SKIPPED: unshare -pf does not work here (needs root)");
        return;
    }
    let dir = fixture();
    let root = dir.path();
    let reference = fixture();
    let file = root.join(watched);
    let folder = file.parent().unwrap().to_path_buf();
    // One complete run first, so the file and its backup exist from the start.
    for r in [root, reference.path()] {
        let args = args_for(r, KILLS);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        time_of(&mut xenadm_cmd(false, &args));
    }
    let mut rng = Rng::from_env(what);
    let mut killed = 0;
    for i in 0..KILLS {
        let args = args_for(root, i);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // The new content: the same command on a copy, to completion.
        let old = fs::read(&file).ok();
        if let Some(old) = &old {
            fs::write(reference.path().join(watched), old).unwrap();
        }
        let ref_args = args_for(reference.path(), i);
        let ref_args: Vec<&str> = ref_args.iter().map(String::as_str).collect();
        let duration = time_of(&mut xenadm_cmd(false, &ref_args));
        let new = fs::read(reference.path().join(watched)).unwrap();
        assert_ne!(
            old.as_ref(),
            Some(&new),
            "{what} {i}: the command changes nothing"
        );

        let status = kill_after(
            &mut xenadm_cmd(namespace, &args),
            rng.upto(duration + duration / 2),
            namespace,
        );
        killed += usize::from(!status.success());
        let now = fs::read(&file).ok();
        assert!(
            now == old || now.as_ref() == Some(&new),
            "{what} {i}: after the kill the file is neither the old nor the new content"
        );
        // The rerun completes and reaches the new content.
        let out = xenadm_cmd(namespace, &args).output().unwrap();
        assert!(
            out.status.success(),
            "{what} {i}: rerun failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(fs::read(&file).unwrap(), new, "{what} {i}: rerun");
        let left = names(&folder);
        assert_eq!(left, expected_names, "{what} {i}: stray files");
    }
    eprintln!("{what}: {killed} of {KILLS} runs killed before they finished");
    assert!(
        killed > 0,
        "{what}: no run was killed: the moments are too late"
    );
}

fn set_args(root: &Path, i: usize) -> Vec<String> {
    [
        "boot",
        "--root",
        root.to_str().unwrap(),
        "set",
        &format!("dom0_mem={}M,max:{}M", 1024 + i, 1024 + i),
    ]
    .map(str::to_string)
    .to_vec()
}

fn default_args(root: &Path, i: usize) -> Vec<String> {
    [
        "boot",
        "--root",
        root.to_str().unwrap(),
        "default",
        "--force",
        &format!("entry-{i}"),
    ]
    .map(str::to_string)
    .to_vec()
}

#[test]
fn test_kill_9_of_boot_set() {
    harness(
        "boot set",
        false,
        "etc/default/grub",
        set_args,
        &["grub", "grub.xenadm-bak"],
    );
}

#[test]
fn test_kill_9_of_boot_set_in_a_fresh_pid_namespace() {
    harness(
        "boot set (pid namespace)",
        true,
        "etc/default/grub",
        set_args,
        &["grub", "grub.xenadm-bak"],
    );
}

#[test]
fn test_kill_9_of_boot_default() {
    harness(
        "boot default",
        false,
        "boot/grub/grubenv",
        default_args,
        &["grub.cfg", "grubenv", "grubenv.xenadm-bak"],
    );
}

#[test]
fn test_kill_9_of_boot_default_in_a_fresh_pid_namespace() {
    harness(
        "boot default (pid namespace)",
        true,
        "boot/grub/grubenv",
        default_args,
        &["grub.cfg", "grubenv", "grubenv.xenadm-bak"],
    );
}
