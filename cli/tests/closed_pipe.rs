//! A closed pipe ends every command quietly (`xenadm ... | head`), as Unix tools do; a full
//! disk is a clear error, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs::File;
use std::process::{Command, Output, Stdio};

/// Runs BIN ARGS with stdout into a pipe whose reader is already gone: the first write fails
/// with EPIPE, deterministically (no race with a `head` that may or may not have exited).
fn closed_pipe(bin: &str, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(bin)
        .args(args)
        .current_dir(common::cpuid_data())
        .env_remove("XENADM_LOG")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn full_disk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xenadm"))
        .args(args)
        .current_dir(common::cpuid_data())
        .stdout(Stdio::from(File::create("/dev/full").unwrap()))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

const COMMANDS: &[&[&str]] = &[
    &["completions", "bash"],
    &["completions", "zsh"],
    &["man"],
    &["status"],
    &["--json", "status"],
    &["cpuid", "features"],
    &[
        "cpuid",
        "mask",
        "dumps/intel-core-i7-2600.txt",
        "dumps/intel-core-i7-8700.txt",
    ],
    &["--help"],
];

#[test]
fn test_closed_pipe_ends_quietly_with_status_0() {
    for args in COMMANDS {
        let out = closed_pipe(env!("CARGO_BIN_EXE_xenadm"), args);
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} printed on stderr: {err}");
    }
}

#[test]
fn test_full_disk_is_a_clear_error_not_a_panic() {
    for args in COMMANDS.iter().filter(|a| a[0] != "--help") {
        let out = full_disk(args);
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.starts_with("xenadm: error: cannot write the output"),
            "{args:?}: {err}"
        );
        assert!(err.contains("No space left on device"), "{args:?}: {err}");
    }
}

#[test]
fn test_vm_dump_metrics_closed_pipe_is_quiet() {
    let disk = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vhostmd/tests/data/multi/vhostmd0.img");
    let out = closed_pipe(
        env!("CARGO_BIN_EXE_vm-dump-metrics"),
        &["--disk", disk.to_str().unwrap()],
    );
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}
