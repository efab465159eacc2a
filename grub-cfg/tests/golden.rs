//! Golden tests over the real and generated files in `tests/data`: every file gives its
//! expected values and prints back byte for byte; every grub.cfg gives its expected Xen
//! entries; the real grubenv reads back and renders to the same bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use grub_cfg::{BootConfig, DefaultGrub, GrubEnv, Menu, XenVariable};
use serde_json::Value;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Variables whose value depends on the machine or on running a program, per case: the
/// static evaluation must report them as unknown (with a reason), not guess.
fn allowed_unknown(case: &str) -> &'static [&'static str] {
    match case {
        // GRUB_DISTRIBUTOR=`lsb_release ...` / $(sed ... /etc/system-release)
        "debian-grub2-common.default-grub"
        | "ubuntu2204-ovh.default-grub"
        | "fedora-guru25.default-grub"
        | "debian-xen.default-grub" => &["GRUB_DISTRIBUTOR"],
        // xen.cfg: GRUB_DEFAULT=$(printf "$(gettext ...)" ...)
        "debian-grub2-common+debian-xen-hypervisor-common.json" => {
            &["GRUB_DISTRIBUTOR", "GRUB_DEFAULT"]
        }
        // drakvuf: `if command -v ...; else exit 0; fi` then `. drak-find-xen-defaults`:
        // nothing after can be known without running it.
        "debian-grub2-common+drakvuf.json" => &[
            "GRUB_DISTRIBUTOR",
            "GRUB_DEFAULT",
            "GRUB_TIMEOUT",
            "GRUB_CMDLINE_LINUX",
            "GRUB_CMDLINE_LINUX_DEFAULT",
            "GRUB_DISABLE_OS_PROBER",
            "GRUB_CMDLINE_XEN_DEFAULT",
            "GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT",
            "XEN_OVERRIDE_GRUB_DEFAULT",
        ],
        _ => &[],
    }
}

fn reported(name: &str) -> bool {
    name.starts_with("GRUB_") || name.starts_with("XEN_") || name.starts_with("SUSE_")
}

fn check_expected(dir: &Path, expected_file: &Path) -> usize {
    let case = expected_file
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let case_key = case
        .strip_suffix(".json")
        .filter(|c| !c.contains('+'))
        .unwrap_or(&case);
    let json: Value = serde_json::from_slice(&fs::read(expected_file).unwrap()).unwrap();
    let files: Vec<DefaultGrub> = json["sourced_in_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| DefaultGrub::read(&dir.join(f.as_str().unwrap())).unwrap())
        .collect();
    let config = BootConfig::from_files(files, None).unwrap();
    let expected: BTreeMap<String, String> = json["values"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let allowed = allowed_unknown(case_key);
    let mut checked = 0;
    for var in config.variables() {
        if !reported(&var.name) {
            continue;
        }
        match (&var.value, &var.unknown, expected.get(&var.name)) {
            (Some(ours), None, Some(theirs)) => {
                assert_eq!(ours, theirs, "{case}: {}", var.name);
                checked += 1;
            }
            (None, Some(why), _) => {
                assert!(
                    allowed.contains(&var.name.as_str()),
                    "{case}: {} unknown: {why}",
                    var.name
                );
            }
            (None, None, None) => {}
            other => panic!("{case}: {}: {other:?}", var.name),
        }
    }
    for name in expected.keys() {
        let var = config.variable(name);
        assert!(
            var.value.is_some() || var.unknown.is_some(),
            "{case}: {name} expected but not found"
        );
    }
    for name in allowed {
        let var = config.variable(name);
        if expected.contains_key(*name) {
            assert!(var.unknown.is_some(), "{case}: {name} should be unknown");
        }
    }
    checked
}

#[test]
fn test_every_file_gives_its_expected_values() {
    let mut cases = 0;
    let mut values = 0;
    for sub in ["real", "generated"] {
        let dir = data().join(sub);
        let mut expected: Vec<PathBuf> = fs::read_dir(dir.join("expected"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.to_string_lossy().ends_with(".xen-entries.json"))
            .collect();
        expected.sort();
        for file in expected {
            values += check_expected(&dir, &file);
            cases += 1;
        }
    }
    assert_eq!(cases, 11);
    // 99 expected values, less the 12 that depend on running a program (allowed_unknown).
    assert_eq!(values, 87);
}

#[test]
fn test_every_file_round_trips_byte_for_byte() {
    let mut count = 0;
    for sub in ["real", "generated"] {
        for entry in fs::read_dir(data().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !(name.contains("default-grub")
                || name.ends_with(".cfg") && name.contains("grub.d")
                || name.ends_with(".grub.default"))
            {
                continue;
            }
            let bytes = fs::read(&path).unwrap();
            let file = DefaultGrub::parse(&bytes, &path).unwrap();
            assert_eq!(file.print().as_bytes(), bytes.as_slice(), "{name}");
            assert_eq!(file.to_string().as_bytes(), bytes.as_slice(), "{name}");
            count += 1;
        }
    }
    assert_eq!(count, 11);
}

#[test]
fn test_xen_options_carry_their_lines() {
    let dir = data().join("generated");
    let file = DefaultGrub::read(&dir.join("debian-xen.default-grub")).unwrap();
    let config = BootConfig::from_files(vec![file], None).unwrap();
    let opts = config.xen_options(XenVariable::XenDefault).unwrap();
    let lines: Vec<(&str, usize)> = opts
        .iter()
        .map(|o| (o.option.raw.as_str(), o.source.as_ref().unwrap().line))
        .collect();
    // The value spans a continuation line: dom0_vcpus_pin is on line 15.
    assert_eq!(
        lines,
        [
            ("dom0_mem=4096M,max:4096M", 14),
            ("dom0_max_vcpus=1-4", 14),
            ("dom0_vcpus_pin", 15)
        ]
    );
    let file = DefaultGrub::read(&dir.join("legacy-multiboot.default-grub")).unwrap();
    let config = BootConfig::from_files(vec![file], None).unwrap();
    let opts = config.xen_options(XenVariable::Xen).unwrap();
    assert_eq!(opts.len(), 1);
    assert_eq!(opts[0].option.raw, "iommu=1");
}

fn entry_json(e: &grub_cfg::MenuEntry) -> Value {
    serde_json::json!({
        "title": e.title,
        "id": e.id,
        "submenu_path": e.submenu_path,
        "loader": e.loader,
        "hypervisor": e.hypervisor,
        "hypervisor_args": e.hypervisor_args,
        "modules": e.modules.iter().map(|m| serde_json::json!({"cmd": m.cmd, "args": m.args})).collect::<Vec<_>>(),
    })
}

#[test]
fn test_generated_grub_cfg_gives_expected_xen_entries() {
    let dir = data().join("generated");
    for variant in ["debian-xen", "debian-xen-saved", "legacy-multiboot"] {
        let menu = Menu::read(&dir.join(format!("{variant}.grub.cfg"))).unwrap();
        let expected: Value = serde_json::from_slice(
            &fs::read(dir.join(format!("expected/{variant}.xen-entries.json"))).unwrap(),
        )
        .unwrap();
        let ours: Vec<Value> = menu.xen_entries().into_iter().map(entry_json).collect();
        assert_eq!(Value::Array(ours), expected, "{variant}");
    }
}

#[test]
fn test_real_quirks_and_default_resolution() {
    let dir = data().join("generated");
    let menu = Menu::read(&dir.join("debian-xen.grub.cfg")).unwrap();
    // The .efi image shows up as a second Xen version; ids repeat.
    let xen = menu.xen_entries();
    assert_eq!(xen.len(), 9);
    assert!(
        xen.iter()
            .any(|e| e.hypervisor.as_deref() == Some("/boot/xen-4.17-amd64.efi"))
    );
    let default = menu.default.clone().unwrap();
    assert_eq!(default, "Debian GNU/Linux, with Xen hypervisor");
    let entry = menu.resolve(&default).unwrap();
    assert_eq!(
        entry.id.as_deref(),
        Some("xen-gnulinux-simple-0b2d5d43-3c1c-4a54-9e5c-1d2f8e6a7b10")
    );
    // The Xen submenu reuses the id of the native "Advanced options" submenu, so an id path
    // finds the wrong submenu; the title path is used instead.
    let id = "xen-gnulinux-6.1.0-27-amd64-recovery-0b2d5d43-3c1c-4a54-9e5c-1d2f8e6a7b10";
    let err = menu.entry_spec(id).unwrap_err();
    assert!(err.to_string().contains("matches 2"), "{err}");
    let title = "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-27-amd64 (recovery mode)";
    let (spec, target) = menu.entry_spec(title).unwrap();
    assert_eq!(
        spec,
        format!(
            "Advanced options for Debian GNU/Linux (with Xen hypervisor)>Xen hypervisor, version 4.17-amd64>{title}"
        )
    );
    assert_eq!(menu.resolve(&spec), Some(target));
    assert_eq!(
        target.xen_args(),
        [
            "com1=115200,8n1",
            "console=com1,vga",
            "loglvl=all",
            "guest_loglvl=all"
        ]
    );

    let legacy = Menu::read(&dir.join("legacy-multiboot.grub.cfg")).unwrap();
    let default = legacy.default.clone().unwrap();
    assert_eq!(
        legacy.resolve(&default).unwrap().loader.as_deref(),
        Some("multiboot")
    );
}

#[test]
fn test_real_grubenv_reads_and_renders_identically() {
    let path = data().join("generated/debian-xen-saved.grubenv");
    let bytes = fs::read(&path).unwrap();
    let env = GrubEnv::parse(&bytes, &path).unwrap();
    assert_eq!(
        env.get("saved_entry"),
        Some("Debian GNU/Linux, with Xen hypervisor")
    );
    assert_eq!(env.to_bytes().unwrap(), bytes);
}
