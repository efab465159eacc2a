//! Every recorded xen_maskcalc.py run in `data/cases.tsv` (see `data/README.md`): the xl block
//! must be byte-identical for every successful case; every file the script rejects must be
//! rejected too (naming the file), except the one deliberate improvement: a CPU without
//! leaf 7 is accepted with a warning.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::fs;
use std::path::{Path, PathBuf};

use cpuid_mask::{CpuidMaskError, HostCpu, Mask, MaskOptions, MaskWarning, render};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

struct Case {
    name: String,
    variant: String,
    inputs: Vec<String>,
    stdout: String,
    exit_code: i32,
}

fn cases() -> Vec<Case> {
    let text = fs::read_to_string(data_dir().join("cases.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 7, "bad cases.tsv row: {line}");
            Case {
                name: f[0].to_string(),
                variant: f[1].to_string(),
                inputs: if f[2] == "-" {
                    Vec::new()
                } else {
                    f[2].split(',').map(String::from).collect()
                },
                stdout: fs::read_to_string(data_dir().join(f[3])).unwrap(),
                exit_code: f[5].parse().unwrap(),
            }
        })
        .collect()
}

/// The first `cpuid = [ ... ]` block of a recorded stdout.
fn xl_block(stdout: &str) -> &str {
    let end = stdout.find("\n]\n").expect("no xl block") + 3;
    &stdout[..end]
}

fn mask_of(inputs: &[String]) -> Result<Mask, CpuidMaskError> {
    let options = MaskOptions::default();
    let hosts = inputs
        .iter()
        .map(|p| HostCpu::read(&data_dir().join(p), options.registers()))
        .collect::<Result<Vec<_>, _>>()?;
    Mask::compute(&hosts, options)
}

#[test]
fn test_every_successful_case_is_byte_identical() {
    let mut compared = 0;
    for case in cases()
        .iter()
        .filter(|c| c.exit_code == 0 && !c.inputs.is_empty())
    {
        let mask = mask_of(&case.inputs)
            .unwrap_or_else(|e| panic!("{} ({}): {e}", case.name, case.variant));
        assert_eq!(
            render::xl::render(&mask),
            xl_block(&case.stdout),
            "case {} ({})",
            case.name,
            case.variant
        );
        compared += 1;
    }
    assert_eq!(
        compared, 64,
        "cases.tsv holds 64 successful runs with inputs"
    );
}

#[test]
fn test_rejected_files_are_rejected_with_their_name() {
    let mut checked = 0;
    for case in cases()
        .iter()
        .filter(|c| c.exit_code == 1 && c.inputs.len() >= 2)
    {
        let noleaf7 = case
            .inputs
            .iter()
            .any(|i| i.ends_with("amd-opteron-2350.txt"));
        let result = mask_of(&case.inputs);
        if noleaf7 {
            // Our improvement: absent leaf 7 is a warning, not an error.
            let mask = result.unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert!(
                mask.warnings
                    .iter()
                    .any(|w| matches!(w, MaskWarning::Leaf7Absent { host } if host.ends_with("amd-opteron-2350.txt"))),
                "{}: no leaf-7 warning",
                case.name
            );
        } else {
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{} should fail", case.name));
            // The recorded message names the bad file; ours must too.
            let named = case
                .stdout
                .trim_end()
                .rsplit(' ')
                .next()
                .unwrap_or_default();
            let named = named.trim_start_matches(':');
            assert!(
                err.to_string().contains(named),
                "{}: error `{err}` does not name {named}",
                case.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} rejected cases checked");
}

#[test]
fn test_single_dump_masks_nothing() {
    for dump in [
        "dumps/intel-core-i7-2600.txt",
        "dumps/amd-ryzen-9-3900x.txt",
    ] {
        let mask = mask_of(&[dump.to_string()]).unwrap();
        assert!(mask.is_empty());
        assert!(render::xl::render(&mask).contains(&"x".repeat(32)));
    }
}

#[test]
fn test_noleaf7_pair_masks_every_leaf7_bit_of_the_other_host() {
    let mask = mask_of(&[
        "dumps/intel-core-i7-2600.txt".to_string(),
        "dumps/amd-opteron-2350.txt".to_string(),
    ])
    .unwrap();
    // The i7-2600 has an all-zero leaf 7, so nothing in leaf 7 differs.
    let leaf7 = mask.register(cpuid_mask::FeatureReg::Leaf7s0Ebx).unwrap();
    assert_eq!(leaf7.masked, 0);
    let mask = mask_of(&[
        "dumps/intel-core-i7-8700.txt".to_string(),
        "dumps/amd-opteron-2350.txt".to_string(),
    ])
    .unwrap();
    let leaf7 = mask.register(cpuid_mask::FeatureReg::Leaf7s0Ebx).unwrap();
    assert_eq!(leaf7.masked, 0x029c_6fbf);
}
