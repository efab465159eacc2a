//! `xenadm cpuid mask` against every recorded xen_maskcalc.py run (cpuid-mask/tests/data):
//! the whole stdout must be the script's xl block, byte for byte; the files it rejects make
//! xenadm exit 1 naming the file; usage errors exit 2.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs;

use common::{cpuid_data, stderr, stdout, xenadm};

struct Case {
    name: String,
    command: String,
    inputs: Vec<String>,
    stdout: String,
    exit_code: i32,
}

fn cases() -> Vec<Case> {
    let dir = cpuid_data();
    fs::read_to_string(dir.join("cases.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Case {
                name: format!("{} ({})", f[0], f[1]),
                command: f[6].to_string(),
                inputs: if f[2] == "-" {
                    Vec::new()
                } else {
                    f[2].split(',').map(String::from).collect()
                },
                stdout: fs::read_to_string(dir.join(f[3])).unwrap(),
                exit_code: f[5].parse().unwrap(),
            }
        })
        .collect()
}

fn mask(inputs: &[String]) -> std::process::Output {
    let mut args = vec!["cpuid", "mask"];
    args.extend(inputs.iter().map(String::as_str));
    xenadm(&args)
}

#[test]
fn test_cli_output_is_byte_identical_for_every_successful_case() {
    let mut compared = 0;
    for case in cases()
        .iter()
        .filter(|c| c.exit_code == 0 && !c.inputs.is_empty())
    {
        let out = mask(&case.inputs);
        assert!(out.status.success(), "{}: {}", case.name, stderr(&out));
        let end = case.stdout.find("\n]\n").unwrap() + 3;
        assert_eq!(stdout(&out), &case.stdout[..end], "{}", case.name);
        compared += 1;
    }
    assert_eq!(compared, 64);
}

#[test]
fn test_cli_rejects_what_the_script_rejects_naming_the_file() {
    for case in cases()
        .iter()
        .filter(|c| c.exit_code == 1 && c.inputs.len() >= 2)
    {
        let out = mask(&case.inputs);
        let err = stderr(&out);
        if case
            .inputs
            .iter()
            .any(|i| i.ends_with("amd-opteron-2350.txt"))
        {
            // Deliberate improvement: a CPU without leaf 7 is a warning.
            assert_eq!(out.status.code(), Some(0), "{}: {err}", case.name);
            assert!(
                err.contains("amd-opteron-2350.txt: this CPU has no CPUID leaf 7"),
                "{err}"
            );
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "{}", case.name);
        assert!(out.stdout.is_empty(), "{}: output despite error", case.name);
        let bad = case
            .stdout
            .trim_end()
            .rsplit(' ')
            .next()
            .unwrap()
            .trim_start_matches(':');
        let first = err.lines().next().unwrap_or_default();
        assert!(first.starts_with("xenadm: error: "), "{}: {err}", case.name);
        assert!(first.contains(bad), "{}: {err}", case.name);
        assert!(err.contains("hint: "), "{}: no hint in {err}", case.name);
    }
}

#[test]
fn test_cli_single_file_masks_nothing() {
    let case = cases()
        .into_iter()
        .find(|c| c.name.starts_with("err_single_file"))
        .unwrap();
    let out = mask(&case.inputs);
    assert!(out.status.success());
    assert_eq!(stdout(&out).matches(&"x".repeat(32)).count(), 2);
}

#[test]
fn test_cli_usage_errors_exit_2() {
    let no_args = xenadm(&["cpuid", "mask"]);
    assert_eq!(no_args.status.code(), Some(2));
    let unknown = cases()
        .into_iter()
        .find(|c| c.name.starts_with("err_unknown_option"))
        .unwrap();
    assert!(unknown.command.contains("--bogus"));
    let mut args = vec!["cpuid", "mask", "--bogus"];
    args.extend(unknown.inputs.iter().map(String::as_str));
    let out = xenadm(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--bogus"));
}

#[test]
fn test_cli_error_names_line_and_column_for_bad_hex() {
    let out = xenadm(&[
        "cpuid",
        "mask",
        "dumps/intel-core-i7-2600.txt",
        "malformed/bad-hex-leaf1.txt",
    ]);
    let err = stderr(&out);
    let line = fs::read_to_string(cpuid_data().join("malformed/bad-hex-leaf1.txt"))
        .unwrap()
        .lines()
        .position(|l| l.contains("0x00000001 0x00:"))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("malformed/bad-hex-leaf1.txt:{line}:")),
        "no file:line in {err}"
    );
    assert!(err.contains("bad ecx value"), "{err}");
}
