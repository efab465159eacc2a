//! The process is killed (SIGKILL) in the middle of an allocating growth that writes zeros
//! (the path taken where fallocate is unsupported): the old content is intact, the new part
//! holds only zeros, and growing again to the same size finishes the job.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::fs;
use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use test_support::files::{checksum, zeros_between};

const OLD_BYTES: u64 = 8 << 20;
const ADD_BYTES: u64 = 4 << 30;
/// Kill once this much of the new range is on disk.
const KILL_AFTER_BYTES: u64 = 32 << 20;

#[test]
fn test_sigkill_during_zero_fill_keeps_old_content() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let img = dir.path().join("guest.img");
    let content: Vec<u8> = (0..OLD_BYTES)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect();
    fs::write(&img, &content).unwrap();
    let sum = checksum(&img, OLD_BYTES);

    let mut child = Command::new(env!("CARGO_BIN_EXE_xenadm"))
        .args(["image", "grow", "--zero-fill", "--no-loop", "--by", "4G"])
        .arg(&img)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let size = fs::metadata(&img).unwrap().len();
        if size >= OLD_BYTES + KILL_AFTER_BYTES {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("xenadm ended before it could be killed: {status}: {err}");
        }
        assert!(Instant::now() < deadline, "no progress: size {size}");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "xenadm must still be writing when it is killed"
    );
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status}");

    let size = fs::metadata(&img).unwrap().len();
    assert!(
        size > OLD_BYTES && size < OLD_BYTES + ADD_BYTES,
        "killed mid-way: size {size}"
    );
    assert_eq!(checksum(&img, OLD_BYTES), sum, "the old content changed");
    assert!(
        zeros_between(&img, OLD_BYTES, size),
        "the new part is not all zeros"
    );

    // Growing again to the size asked for first completes it.
    let target = (OLD_BYTES + ADD_BYTES).to_string();
    test_support::tools::run_ok(
        Command::new(env!("CARGO_BIN_EXE_xenadm"))
            .args(["image", "grow", "--no-loop", "--to", &target])
            .arg(&img),
    );
    assert_eq!(fs::metadata(&img).unwrap().len(), OLD_BYTES + ADD_BYTES);
    assert_eq!(checksum(&img, OLD_BYTES), sum);
}
