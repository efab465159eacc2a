//! `xenadm stream inspect|verify|relay` on the real Xen captures and on built streams.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{stderr, stdout, xenadm};
use xen_core::stream::{SyntheticGuest, XL_GO_MESSAGE};

fn real(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../xen-core/tests/data/xen-real")
        .join(name)
}

/// A real capture, decompressed into `dir`.
fn unpack(dir: &Path, name: &str) -> PathBuf {
    let bytes = test_support::captures::unzstd(&real(&format!("{name}.zst")));
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `memory = N` of a captured guest config, in 4 KiB pages.
fn cfg_pages(name: &str) -> u64 {
    let text = std::fs::read_to_string(real(name)).unwrap();
    let line = text.lines().find(|l| l.starts_with("memory")).unwrap();
    line.split('=')
        .nth(1)
        .unwrap()
        .trim()
        .parse::<u64>()
        .unwrap()
        * 256
}

fn relay(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xenadm"))
        .args(["stream", "relay"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn test_verify_and_inspect_the_real_save_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = unpack(dir.path(), "sv32.xlsave");
    let out = xenadm(&["stream", "verify", file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains(": OK ("), "{}", stdout(&out));

    let out = xenadm(&["--json", "stream", "inspect", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["guest"]["name"], "sv32");
    assert_eq!(json["libxc"]["domain_type"], "x86_pv");
    assert_eq!(json["domain_type"], "pv");
    let pages = cfg_pages("guest-sv32.cfg");
    assert_eq!(json["iterations"][0]["pfns"], pages);
    assert_eq!(json["guest"]["max_memory_kib"], pages * 4);
    assert_eq!(json["error"], serde_json::Value::Null);
}

#[test]
fn test_inspect_the_real_migration_text() {
    let dir = tempfile::tempdir().unwrap();
    let file = unpack(dir.path(), "s2r.bin");
    let out = xenadm(&["stream", "inspect", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("guest       web1, pv, 64 MiB, 1 vCPU"),
        "{text}"
    );
    assert!(text.contains("xl's GO message"), "{text}");
    let first_pass = text
        .lines()
        .skip_while(|l| !l.starts_with("ITERATION"))
        .nth(1)
        .unwrap();
    let pfns: u64 = first_pass
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(pfns, cfg_pages("guest-web1.cfg"));
}

#[test]
fn test_relay_passes_the_real_migration_through_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(unpack(dir.path(), "s2r.bin")).unwrap();
    let out = relay(&[], &bytes);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout == bytes, "relayed bytes differ");
    let err = stderr(&out);
    // stderr is a pipe here: plain progress lines, one per finished pass and a summary.
    assert!(err.contains("relay: iteration 0 done: 16384 pfns"), "{err}");
    assert!(err.contains("(xl's GO message)"), "{err}");
    assert!(err.contains("web1: "), "{err}");
}

#[test]
fn test_relay_of_a_broken_stream_still_passes_every_byte() {
    let mut bytes = SyntheticGuest::hvm("b", 300, 1).encode().unwrap();
    bytes[100] ^= 0xff; // inside the JSON config: fine for the parser
    let libxl = bytes.windows(8).position(|w| w == b"LibxlFmt").unwrap();
    bytes[libxl + 11] = 9; // libxl version 9: the parser stops here
    let out = relay(&[], &bytes);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout == bytes);
    let err = stderr(&out);
    assert!(err.contains("warning: stream problem at byte"), "{err}");
    assert!(err.contains("passing the rest through unparsed"), "{err}");
    let strict = relay(&["--strict", "--no-progress"], &bytes);
    assert_eq!(strict.status.code(), Some(1));
    assert!(strict.stdout == bytes);
    assert!(!stderr(&strict).contains("relay: "));
}

#[test]
fn test_relay_forwards_the_handshake_without_waiting_for_end_of_input() {
    // xl writes GO after the stream and then waits for the receiver's answer with the pipe
    // still open: the relay must forward everything it has read, at once.
    let mut bytes = SyntheticGuest::pv("h", 100, 1).encode().unwrap();
    bytes.extend_from_slice(XL_GO_MESSAGE);
    let mut child = Command::new(env!("CARGO_BIN_EXE_xenadm"))
        .args(["stream", "relay", "--no-progress"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let expected = bytes.len();
    std::thread::spawn(move || {
        let mut got = vec![0; expected];
        let result = stdout.read_exact(&mut got).map(|()| got);
        let _ = tx.send(result);
    });
    stdin.write_all(&bytes).unwrap();
    stdin.flush().unwrap();
    let got = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the relay held bytes back while its input stayed open")
        .unwrap();
    assert!(got == bytes);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn test_verify_reports_the_first_problem_offset_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = SyntheticGuest::pv("t", 50, 1).encode().unwrap();
    let cut = bytes.len() - 3000;
    let file = dir.path().join("cut.save");
    std::fs::write(&file, &bytes[..cut]).unwrap();
    let out = xenadm(&["stream", "verify", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!("INVALID: first problem at byte {cut} ")),
        "{}",
        stdout(&out)
    );

    let out = xenadm(&["--json", "stream", "verify", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["problems"][0]["offset"], cut as u64);
    assert_eq!(json["problems"][0]["layer"], "libxc");
}

#[test]
fn test_inspect_of_a_broken_stream_prints_what_it_read_then_fails() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = SyntheticGuest::pv("t", 50, 1).encode().unwrap();
    let file = dir.path().join("cut.save");
    std::fs::write(&file, &bytes[..bytes.len() - 100]).unwrap();
    let out = xenadm(&["stream", "inspect", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("guest       t, pv"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("xenadm: error: byte"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn test_verify_reads_stdin_and_names_missing_files() {
    let bytes = SyntheticGuest::hvm("s", 30, 2).encode().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xenadm"))
        .args(["stream", "verify", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).starts_with("standard input: OK"),
        "{}",
        stdout(&out)
    );

    let out = xenadm(&["stream", "verify", "/nonexistent/x.save"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read /nonexistent/x.save"),
        "{}",
        stderr(&out)
    );
}
