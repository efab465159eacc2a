//! `xenadm cpuid` dump reading (issue 14 item 6, issue 16 bug 6): dumps come from files, pipes,
//! `-` and `/dev/stdin`; input beyond 64 MiB (more than any real dump) is refused with a clear
//! error, reading at most the limit, in bounded memory (peak RSS measured under a cap).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{capped_run, cpuid_data, stderr, stdout, xenadm};

const A: &str = "dumps/intel-core-i7-2600.txt";
const B: &str = "dumps/intel-core-i7-8700.txt";

/// `xenadm ARGS` in the test data folder with `input` on stdin.
fn with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xenadm"))
        .args(args)
        .current_dir(cpuid_data())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // The child may refuse before reading it all: a broken pipe here is fine.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn test_mask_reads_a_dump_from_dash_and_dev_stdin() {
    let expected = xenadm(&["cpuid", "mask", A, B]);
    assert!(expected.status.success(), "{}", stderr(&expected));
    let dump = std::fs::read(cpuid_data().join(B)).unwrap();
    for name in ["-", "/dev/stdin"] {
        let out = with_stdin(&["cpuid", "mask", A, name], &dump);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(stdout(&out), stdout(&expected), "{name}");
    }
}

#[test]
fn test_mask_reads_a_dump_from_a_pipe_path() {
    // What `<(ssh hostb xenadm cpuid dump -1)` gives: a FIFO's path.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let fifo = dir.path().join("hostb");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let source = cpuid_data().join(B);
    let fifo_w = fifo.clone();
    let writer = std::thread::spawn(move || {
        std::fs::write(&fifo_w, std::fs::read(source).unwrap()).unwrap();
    });
    let out = xenadm(&["cpuid", "mask", A, fifo.to_str().unwrap()]);
    writer.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), stdout(&xenadm(&["cpuid", "mask", A, B])));
}

#[test]
fn test_a_folder_is_still_refused() {
    let out = xenadm(&["cpuid", "mask", A, "dumps"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dumps is not a regular file"),
        "{}",
        stderr(&out)
    );
}

/// A 200 MB file: refused by its size before reading (the reader held 393 MB before).
#[test]
fn test_a_200_mb_dump_file_is_refused_in_little_memory() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let big = dir.path().join("big.txt");
    // A real dump, then a hole up to 200 MB (sparse: nothing written to disk).
    std::fs::copy(cpuid_data().join(A), &big).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(200 << 20)
        .unwrap();
    let a = cpuid_data().join(A);
    let Some((out, rss_kib)) = capped_run(
        512,
        Path::new(env!("CARGO_BIN_EXE_xenadm")),
        &["cpuid", "mask", a.to_str().unwrap(), big.to_str().unwrap()],
        None,
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("big.txt is larger than 64 MiB, more than any CPUID dump"),
        "{err}"
    );
    assert!(err.contains("xenadm cpuid dump -1"), "{err}");
    assert!(rss_kib < 32 << 10, "peak RSS {rss_kib} KiB");
}

/// The same from a pipe: at most the limit is read, then refused.
#[test]
fn test_a_huge_dump_on_stdin_is_refused_after_the_limit() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let big = dir.path().join("big.txt");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(100 << 20).unwrap();
    let a = cpuid_data().join(A);
    let Some((out, rss_kib)) = capped_run(
        512,
        Path::new(env!("CARGO_BIN_EXE_xenadm")),
        &["cpuid", "mask", a.to_str().unwrap(), "-"],
        Some(&big),
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("- is larger than 64 MiB"),
        "{}",
        stderr(&out)
    );
    assert!(rss_kib < 100 << 10, "peak RSS {rss_kib} KiB");
}
