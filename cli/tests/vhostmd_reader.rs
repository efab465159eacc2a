//! `vm-dump-metrics` and `xenadm vhostmd`: golden output, a real loop device found by probing
//! /sys/block as inside a guest, bounded waits, options.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vhostmd/tests/data")
}

fn dump() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vm-dump-metrics"))
}

#[test]
fn test_output_equals_upstreams_for_every_golden_disk_and_dest_form() {
    let dir = tempfile::tempdir().unwrap();
    for case in ["single", "multi"] {
        let img = data().join(case).join("vhostmd0.img");
        let expected = std::fs::read(data().join(case).join("vm-dump-metrics.xml")).unwrap();
        let out = dump().arg("-b").arg("--disk").arg(&img).output().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, expected, "{case}");
        for (i, form) in [vec!["-d"], vec!["--dest"]].iter().enumerate() {
            let dest = dir.path().join(format!("{case}-{i}.xml"));
            let status = dump()
                .args(form)
                .arg(&dest)
                .arg("--disk")
                .arg(&img)
                .status()
                .unwrap();
            assert!(status.success());
            assert_eq!(std::fs::read(&dest).unwrap(), expected, "{case} {form:?}");
        }
        let dest = dir.path().join(format!("{case}-eq.xml"));
        let status = dump()
            .arg(format!("--dest={}", dest.display()))
            .arg("--disk")
            .arg(&img)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(std::fs::read(&dest).unwrap(), expected);
    }
}

#[test]
fn test_malformed_and_stuck_disks_fail_clearly_and_quickly() {
    let out = dump()
        .arg("--disk")
        .arg(data().join("edge/vhostmd0-after-shrink.img"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("not valid XML"));
    let dir = tempfile::tempdir().unwrap();
    let busy = dir.path().join("busy.img");
    let mut img = std::fs::read(data().join("single/vhostmd0.img")).unwrap();
    img[7] = 1;
    std::fs::write(&busy, &img).unwrap();
    let start = Instant::now();
    let out = dump()
        .args(["--timeout", "1", "--disk"])
        .arg(&busy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(
        common::stderr(&out).contains("stayed busy"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn test_xenadm_vhostmd_check_dump_get() {
    let d = data();
    let ok = common::xenadm_in(&d, &["vhostmd", "check", "golden.conf"]);
    assert!(ok.status.success());
    assert!(common::stdout(&ok).contains("valid: 20 metrics"));
    let bad = common::xenadm_in(&d, &["vhostmd", "check", "invalid/unescaped-amp.conf"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = common::stderr(&bad);
    assert!(
        err.contains("invalid/unescaped-amp.conf:56:") && err.contains("hint:"),
        "{err}"
    );
    let raw = common::xenadm_in(
        &d,
        &["vhostmd", "dump", "--raw", "--disk", "single/vhostmd0.img"],
    );
    assert_eq!(
        raw.stdout,
        std::fs::read(d.join("single/vm-dump-metrics.xml")).unwrap()
    );
    let json = common::xenadm_in(
        &d,
        &["--json", "vhostmd", "dump", "--disk", "multi/vhostmd0.img"],
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["length_bytes"], 3023);
    assert_eq!(v["metrics"].as_array().unwrap().len(), 24);
    let get = common::xenadm_in(
        &d,
        &[
            "vhostmd",
            "get",
            "UsedMemory",
            "--vm-uuid",
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "--disk",
            "multi/vhostmd0.img",
        ],
    );
    assert_eq!(common::stdout(&get), "2097152\n");
}

/// Detaches the loop device in every path.
struct Loop(String);

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

#[test]
fn test_finds_a_real_loop_device_by_probing_sys_block() {
    if !common::have_tool("losetup") {
        return;
    }
    if !Path::new("/dev/loop-control").exists() {
        test_support::tools::skip("no /dev/loop-control");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("metrics.img");
    // Write the metrics as the daemon does (writer, not a copy), into a 64 KiB image.
    let expected = std::fs::read(data().join("single/vm-dump-metrics.xml")).unwrap();
    let mut disk = vhostmd::MetricsDisk::create(&img, 64 * 1024).unwrap();
    disk.update(&expected).unwrap();
    drop(disk);
    let out = Command::new("losetup")
        .args(["--find", "--show", "--read-only"])
        .arg(&img)
        .output()
        .unwrap();
    if !out.status.success() {
        test_support::tools::skip(&format!("losetup failed: {}", common::stderr(&out).trim()));
        return;
    }
    let dev = Loop(common::stdout(&out).trim().to_string());
    let name = Path::new(&dev.0).file_name().unwrap().to_owned();
    assert!(
        Path::new("/sys/block").join(&name).exists(),
        "{} not in /sys/block",
        dev.0
    );
    let out = dump().arg("-b").output().unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(out.stdout, expected);
    let found = vhostmd::find_disk(&vhostmd::ProbeOptions::default()).unwrap();
    assert!(found.starts_with("/dev/"), "{}", found.display());
}

#[test]
fn test_check_gives_upstreams_verdicts_in_both_front_ends() {
    let golden = std::fs::read_to_string(data().join("golden.conf")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("vhostmd.conf");
    let check = |text: &str| {
        std::fs::write(&conf, text).unwrap();
        let c = conf.to_str().unwrap();
        let ours = common::xenadm(&["vhostmd", "check", c]);
        let dropin = Command::new(env!("CARGO_BIN_EXE_vhostmd"))
            .args(["--check-config", c])
            .output()
            .unwrap();
        (ours, dropin)
    };
    // The DTD the DOCTYPE names is missing: refused, as upstream refuses it.
    let (ours, dropin) = check(&golden);
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(dropin.status.code(), Some(1));
    let err = common::stderr(&ours);
    assert!(
        err.contains("vhostmd.dtd named by the DOCTYPE does not exist"),
        "{err}"
    );
    assert!(err.contains("hint: copy vhostmd.dtd"), "{err}");
    // With the DTD: valid.
    std::fs::copy(data().join("vhostmd.dtd"), dir.path().join("vhostmd.dtd")).unwrap();
    let (ours, dropin) = check(&golden);
    assert!(ours.status.success(), "{}", common::stderr(&ours));
    assert!(dropin.status.success());
    // No DOCTYPE: refused.
    let (ours, dropin) = check(&golden.replace("<!DOCTYPE vhostmd SYSTEM \"vhostmd.dtd\">", ""));
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(dropin.status.code(), Some(1));
    assert!(
        common::stderr(&ours).contains("no DOCTYPE"),
        "{}",
        common::stderr(&ours)
    );
    // An unknown transport: valid as upstream says, but said on stderr.
    let (ours, dropin) = check(&golden.replace(
        "<transport>vbd</transport>",
        "<transport>carrier-pigeon</transport>",
    ));
    assert!(ours.status.success());
    assert!(dropin.status.success());
    for out in [&ours, &dropin] {
        assert!(
            common::stderr(out).contains("<transport>carrier-pigeon</transport> is not vbd"),
            "{}",
            common::stderr(out)
        );
    }
    // An empty file: no hint about `&amp;`.
    let (ours, _) = check("");
    let err = common::stderr(&ours);
    assert!(!err.contains("&amp;"), "{err}");
    assert!(err.contains("is it empty?"), "{err}");
}
