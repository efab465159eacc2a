//! CLI conventions every command follows: exit codes, --json, completions, man pages, status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use common::{stderr, stdout, xenadm};

#[test]
fn test_status_prints_cpu_and_xen_sections() {
    let out = xenadm(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for label in [
        "CPU",
        "vendor",
        "signature",
        "brand",
        "features",
        "hypervisor",
        "Xen",
        "role",
    ] {
        assert!(text.contains(label), "no {label} in {text}");
    }
}

#[test]
fn test_status_json_is_machine_readable() {
    let out = xenadm(&["--json", "status"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vendor = v["cpu"]["vendor"].as_str().unwrap();
    assert!(
        ["GenuineIntel", "AuthenticAMD", "HygonGenuine"].contains(&vendor) || !vendor.is_empty()
    );
    assert!(v["cpu"]["migration_feature_bits"].as_u64().unwrap() > 20);
    assert!(["none", "dom0", "domu"].contains(&v["xen"]["role"].as_str().unwrap()));
}

#[test]
fn test_unknown_subcommand_is_usage_error() {
    let out = xenadm(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("frobnicate"));
}

#[test]
fn test_missing_file_is_failure_with_hint() {
    let out = xenadm(&["cpuid", "mask", "no/such/file.txt"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("xenadm: error: cannot read no/such/file.txt"),
        "{err}"
    );
    assert!(err.contains("caused by: No such file"), "{err}");
    assert!(err.contains("hint: "), "{err}");
}

#[test]
fn test_completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = xenadm(&["completions", shell]);
        assert!(out.status.success());
        assert!(stdout(&out).contains("xenadm"), "{shell}");
    }
}

#[test]
fn test_man_page_generated_from_definitions() {
    let out = xenadm(&["man"]);
    assert!(out.status.success());
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie") || page.contains(".TH xenadm"),
        "{page}"
    );
    assert!(page.contains("cpuid"));
    let dir = tempfile::tempdir().unwrap();
    let out = xenadm(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("xenadm.1").exists());
    assert!(dir.path().join("xenadm-cpuid-mask.1").exists());
}

#[test]
fn test_version_flag() {
    let out = xenadm(&["--version"]);
    assert!(stdout(&out).starts_with("xenadm "));
}

#[test]
fn test_man_pages_have_exit_status_examples_see_also_and_drop_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let out = xenadm(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    for name in ["xenadm.1", "xenadm-image-grow.1", "xenadm-boot-set.1"] {
        let page = read(name);
        for section in [".SH \"EXIT STATUS\"", ".SH EXAMPLES", ".SH \"SEE ALSO\""] {
            assert!(page.contains(section), "{name} lacks {section}:\n{page}");
        }
    }
    // The size argument is in grow's synopsis.
    let grow = read("xenadm-image-grow.1");
    let synopsis = grow.split(".SH SYNOPSIS").nth(1).unwrap();
    let synopsis = synopsis.split(".SH").next().unwrap();
    assert!(synopsis.contains("\\-\\-to <SIZE>"), "{synopsis}");
    // Every option shows the value it takes.
    let dump = read("vm-dump-metrics.1");
    assert!(dump.contains("\\-\\-dest <FILE>"), "{dump}");
    let mask = read("xenadm-cpuid-mask.1");
    let synopsis = mask.split(".SH SYNOPSIS").nth(1).unwrap();
    assert!(synopsis.contains("\\-\\-format <FORMAT>"), "{synopsis}");
    // The drop-ins have their own pages, describing themselves, not xenadm.
    let vhostmd = read("vhostmd.8");
    assert!(vhostmd.contains("\\-\\-check\\-config"), "{vhostmd}");
    assert!(
        vhostmd.contains("Host metrics for virtual machines"),
        "{vhostmd}"
    );
    let dump = read("vm-dump-metrics.1");
    assert!(dump.contains("vhostmd provides to this guest"), "{dump}");
    assert!(
        !dump.contains("Daily administration of Xen hosts"),
        "{dump}"
    );
}

#[test]
fn test_drop_in_help_describes_the_drop_in() {
    for (bin, about) in [
        (
            env!("CARGO_BIN_EXE_vm-dump-metrics"),
            "vhostmd provides to this guest",
        ),
        (
            env!("CARGO_BIN_EXE_vhostmd"),
            "Host metrics for virtual machines",
        ),
    ] {
        let out = std::process::Command::new(bin)
            .arg("--help")
            .output()
            .unwrap();
        let text = stdout(&out);
        assert!(
            text.lines().next().unwrap().contains(about),
            "{bin}: {text}"
        );
        assert!(!text.contains("Daily administration"), "{bin}: {text}");
    }
}

#[test]
fn test_usage_errors_have_the_documented_form() {
    let out = xenadm(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("xenadm: error: "), "{err}");
    let out = xenadm(&["image", "grow", "x.img"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("xenadm: error: "),
        "{}",
        stderr(&out)
    );
    // --help still goes to stdout with 0.
    let out = xenadm(&["image", "grow", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("Usage: xenadm image grow"));
}

#[test]
fn test_status_as_a_user_says_the_cpuid_device_is_root_only_not_modprobe() {
    let device = std::path::Path::new("/dev/cpu/0/cpuid");
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root || !device.exists() || !common::have_tool("setpriv") {
        eprintln!("SKIPPED: needs root, setpriv and the cpuid driver (modprobe cpuid)");
        return;
    }
    // A copy of xenadm that user nobody can run.
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("xenadm");
    std::fs::copy(env!("CARGO_BIN_EXE_xenadm"), &bin).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .arg("status")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text.lines().find(|l| l.contains("cpuid read via")).unwrap();
    assert!(line.contains("/dev/cpu/0/cpuid is root-only"), "{line}");
    assert!(!line.contains("modprobe"), "{line}");
}

#[test]
fn test_migrate_policy_without_engine_is_a_usage_error_before_anything_runs() {
    // Refused before the ssh connection and the preflight (the host cannot resolve).
    let out = xenadm(&["migrate", "--auto-converge", "g1", "nohost.invalid"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "--max-downtime, --max-passes, --auto-converge and --abort-if-not-converging need --engine xenadm"
        ),
        "{err}"
    );
    assert!(!err.contains("cannot check"), "{err}");
    assert!(stdout(&out).is_empty());
}
