//! The other mask formats, explain, fits, features and JSON output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use common::{stderr, stdout, xenadm};
use cpuid_mask::features;
use quick_xml::events::Event;

const ALL_VALID: [&str; 7] = [
    "dumps/intel-core-i7-2600.txt",
    "dumps/intel-core-i7-8700.txt",
    "dumps/intel-xeon-ice-lake-server.txt",
    "dumps/amd-opteron-2350.txt",
    "dumps/amd-opteron-6282-se.txt",
    "dumps/amd-ryzen-9-3900x.txt",
    "dumps/amd-epyc-genoa-kvm-guest.txt",
];

fn run(args: &[&str], files: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend_from_slice(files);
    xenadm(&all)
}

#[test]
fn test_libvirt_output_is_wellformed_with_known_names_and_disable_policy() {
    for extended in [false, true] {
        let mut args = vec!["cpuid", "mask", "--format", "libvirt"];
        if extended {
            args.push("--extended");
        }
        let out = run(&args, &ALL_VALID);
        assert!(out.status.success(), "{}", stderr(&out));
        let xml = stdout(&out);
        let mut reader = quick_xml::Reader::from_str(&xml);
        let (mut depth, mut features_seen, mut root_seen) = (0, 0, false);
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) if depth == 0 => {
                    assert_eq!(e.name().into_inner(), "cpu");
                    let mode = e.try_get_attribute("mode").unwrap().unwrap();
                    assert_eq!(&*mode.value, "host-passthrough");
                    root_seen = true;
                    depth += 1;
                }
                Event::Empty(e) => {
                    assert_eq!(depth, 1);
                    assert_eq!(e.name().into_inner(), "feature");
                    let policy = e.try_get_attribute("policy").unwrap().unwrap();
                    assert_eq!(&*policy.value, "disable");
                    let name = e.try_get_attribute("name").unwrap().unwrap();
                    let name = name.value.to_string();
                    assert!(features::by_libvirt_name(&name).is_some(), "unknown {name}");
                    features_seen += 1;
                }
                Event::Start(e) => panic!("unexpected element {:?}", e.name()),
                Event::End(_) => depth -= 1,
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(root_seen && depth == 0);
        assert!(features_seen > 40, "only {features_seen} features");
    }
}

#[test]
fn test_xl_names_output_is_one_valid_libxl_string() {
    let out = run(
        &["cpuid", "mask", "--format", "xl-names", "--extended"],
        &ALL_VALID,
    );
    assert!(out.status.success());
    let text = stdout(&out);
    let inner = text
        .strip_prefix("cpuid = \"")
        .and_then(|s| s.strip_suffix("\"\n"))
        .expect("cpuid = \"...\" line");
    let mut items = inner.split(',');
    assert_eq!(items.next(), Some("host"));
    let mut count = 0;
    for item in items {
        let key = item.strip_suffix("=0").expect("KEY=0");
        assert!(
            features::by_xl_key(key).is_some(),
            "libxl 4.17 does not know {key}"
        );
        count += 1;
    }
    assert!(count > 40);
    // Bits without an xl.cfg name are reported, never silently dropped.
    assert!(stderr(&out).contains("have no xl.cfg name and are left out"));
}

#[test]
fn test_extended_mask_adds_leaves_and_keeps_classic_prefix() {
    let pair = [
        "dumps/intel-core-i7-8700.txt",
        "dumps/amd-ryzen-9-3900x.txt",
    ];
    let classic = stdout(&run(&["cpuid", "mask"], &pair));
    let extended = stdout(&run(&["cpuid", "mask", "--extended"], &pair));
    assert!(extended.contains("\"0x80000001:ecx="));
    assert!(
        extended.contains(",edx=0xx000"),
        "7.0 edx entry missing: {extended}"
    );
    let classic_leaf1 = classic.lines().nth(1).unwrap();
    assert_eq!(extended.lines().nth(1), Some(classic_leaf1));
    let warn = stderr(&run(&["cpuid", "mask", "--extended"], &pair));
    assert!(warn.contains("vendors differ"), "{warn}");
}

#[test]
fn test_quiet_suppresses_warnings() {
    let pair = [
        "dumps/intel-core-i7-8700.txt",
        "dumps/amd-ryzen-9-3900x.txt",
    ];
    let out = run(&["-q", "cpuid", "mask"], &pair);
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
}

#[test]
fn test_mask_json_has_every_rendering_and_masked_bit() {
    let out = run(&["--json", "cpuid", "mask"], &ALL_VALID[..2]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["hosts"].as_array().unwrap().len(), 2);
    assert_eq!(json["registers"][0]["register"], "1.ecx");
    assert_eq!(
        json["registers"][0]["mask"],
        "x00xxxxxx0xxxxxxxxx00xxxxxxxxxxx"
    );
    assert!(json["xl"].as_str().unwrap().starts_with("cpuid = ["));
    let rdrand = json["masked_bits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["xen_name"] == "rdrand")
        .unwrap();
    assert_eq!(rdrand["present_on"][0], "dumps/intel-core-i7-8700.txt");
    assert_eq!(rdrand["absent_on"][0], "dumps/intel-core-i7-2600.txt");
}

#[test]
fn test_explain_lists_who_has_and_lacks_each_feature() {
    let out = run(&["cpuid", "explain"], &ALL_VALID[..2]);
    let text = stdout(&out);
    let rdrand = text
        .lines()
        .find(|l| l.contains(" rdrand "))
        .expect("rdrand row");
    assert!(rdrand.contains("dumps/intel-core-i7-8700.txt  dumps/intel-core-i7-2600.txt"));
    let same = run(&["cpuid", "explain"], &[ALL_VALID[0], ALL_VALID[0]]);
    assert!(stdout(&same).starts_with("Nothing to mask"));
    let json = run(&["--json", "cpuid", "explain"], &ALL_VALID[..2]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v.as_array().unwrap().len() > 10);
}

#[test]
fn test_fits_answers_both_directions_with_exit_codes() {
    let older = "dumps/intel-core-i7-2600.txt";
    let newer = "dumps/intel-core-i7-8700.txt";
    let no = run(&["cpuid", "fits"], &[newer, older]);
    assert_eq!(no.status.code(), Some(1));
    let text = stdout(&no);
    assert!(text.starts_with("no: "), "{text}");
    assert!(text.contains("(avx2)"), "{text}");
    let yes = run(&["cpuid", "fits"], &[older, newer]);
    assert_eq!(yes.status.code(), Some(0), "{}", stdout(&yes));
    assert!(stdout(&yes).starts_with("yes: "));
    let cross = run(
        &["--json", "cpuid", "fits"],
        &[older, "dumps/amd-ryzen-9-3900x.txt"],
    );
    assert_eq!(cross.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&cross.stdout).unwrap();
    assert_eq!(v["fits"], false);
    assert_eq!(v["vendor_mismatch"][0], "GenuineIntel");
}

#[test]
fn test_features_lists_named_bits() {
    let out = xenadm(&["cpuid", "features"]);
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("1.edx") && l.contains("clfsh"))
    );
    let json = xenadm(&["--json", "cpuid", "features"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v.as_array().unwrap().len() > 200);
}
