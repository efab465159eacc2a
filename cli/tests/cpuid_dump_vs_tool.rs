//! `xenadm cpuid dump` against Debian's `cpuid -r` / `cpuid -1r` on this machine: both must
//! parse, and agree on every leaf and subleaf both print. Both read CPUID the same way: through
//! the kernel's driver (`cpuid -k`) when xenadm does, else with the instruction.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::process::Command;

use common::{stdout, xenadm};
use cpuid_mask::CpuidDump;

/// `cpuid`'s option to read the way xenadm does on this machine.
fn same_source() -> &'static [&'static str] {
    match cpuid_mask::local_source(0) {
        cpuid_mask::CpuidSource::KernelDriver => &["-k"],
        _ => &[],
    }
}

fn parse(text: &str) -> CpuidDump {
    CpuidDump::parse(text.as_bytes()).expect("parses as a raw dump")
}

/// Leaves both dumps hold, with differing registers.
fn disagreements(ours: &CpuidDump, theirs: &CpuidDump) -> (usize, Vec<String>) {
    assert_eq!(ours.cpus.len(), theirs.cpus.len(), "CPU count differs");
    let mut shared = 0;
    let mut diffs = Vec::new();
    for (a, b) in ours.cpus.iter().zip(&theirs.cpus) {
        assert_eq!(a.cpu, b.cpu);
        for entry in &b.entries {
            if let Some(regs) = a.get(entry.leaf, entry.subleaf) {
                shared += 1;
                if *regs != entry.regs {
                    diffs.push(format!(
                        "CPU {:?} ours {} theirs {}",
                        a.cpu, entry, regs.eax
                    ));
                }
            }
        }
    }
    (shared, diffs)
}

#[test]
fn test_dump_one_cpu_agrees_with_cpuid_1r() {
    if !common::have_tool("cpuid") || !common::have_tool("taskset") {
        return;
    }
    let theirs = Command::new("taskset")
        .args(["-c", "0", "cpuid", "-1r"])
        .output()
        .unwrap();
    assert!(theirs.status.success());
    let ours = Command::new("taskset")
        .args([
            "-c",
            "0",
            env!("CARGO_BIN_EXE_xenadm"),
            "cpuid",
            "dump",
            "-1",
        ])
        .output()
        .unwrap();
    assert!(ours.status.success());
    let (shared, diffs) = disagreements(&parse(&stdout(&ours)), &parse(&stdout(&theirs)));
    assert!(shared >= 10, "only {shared} leaves in common");
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn test_dump_all_cpus_agrees_with_cpuid_r() {
    if !common::have_tool("cpuid") {
        return;
    }
    let theirs = Command::new("cpuid")
        .arg("-r")
        .args(same_source())
        .output()
        .unwrap();
    assert!(theirs.status.success());
    let ours = xenadm(&["cpuid", "dump"]);
    assert!(ours.status.success());
    let (shared, diffs) = disagreements(&parse(&stdout(&ours)), &parse(&stdout(&theirs)));
    assert!(shared >= 10);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn test_dump_masks_against_itself_to_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("here.txt");
    std::fs::write(&path, stdout(&xenadm(&["cpuid", "dump", "-1"]))).unwrap();
    let p = path.to_str().unwrap();
    let out = xenadm(&["cpuid", "mask", p, p]);
    assert!(out.status.success());
    assert_eq!(stdout(&out).matches(&"x".repeat(32)).count(), 2);
    let json = xenadm(&["--json", "cpuid", "dump"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(!v["cpus"].as_array().unwrap().is_empty());
}
