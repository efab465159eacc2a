//! `xenadm boot ...` on fixture systems (`--root` pointing at a temp folder): show, set,
//! unset, check, entries, default; text, JSON, exit codes and error messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{stderr, stdout, xenadm_in};
use serde_json::Value;

fn grub_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../grub-cfg/tests/data")
        .join(rel)
}

/// A system root with Debian's generated Xen setup: /etc/default/grub, grub.cfg, a Xen image.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("etc/default")).unwrap();
    fs::create_dir_all(root.join("boot/grub")).unwrap();
    let grub = fs::read(grub_data("generated/debian-xen.default-grub")).unwrap();
    fs::write(root.join("etc/default/grub"), grub).unwrap();
    let cfg = fs::read(grub_data("generated/debian-xen.grub.cfg")).unwrap();
    fs::write(root.join("boot/grub/grub.cfg"), cfg).unwrap();
    fs::write(root.join("boot/xen-4.17-amd64.gz"), "fake").unwrap();
    dir
}

fn boot(root: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["boot", "--root", root.to_str().unwrap()];
    all.extend_from_slice(args);
    xenadm_in(root, &all)
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn test_show_lists_variables_with_sources_and_parsed_options() {
    let dir = fixture();
    let out = boot(dir.path(), &["show"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("GRUB_CMDLINE_XEN_DEFAULT"), "{text}");
    assert!(text.contains("etc/default/grub:14"), "{text}");
    assert!(text.contains("4 GiB, max 4 GiB"), "{text}");
    let out = xenadm_in(
        dir.path(),
        &[
            "--json",
            "boot",
            "show",
            "--root",
            dir.path().to_str().unwrap(),
        ],
    );
    let v = json(&out);
    let opts = v["xen_options"].as_array().unwrap();
    assert_eq!(opts.len(), 7);
    assert_eq!(opts[6]["name"], "dom0_vcpus_pin");
    assert_eq!(opts[6]["value"], Value::Null);
    assert_eq!(opts[6]["variable"], "GRUB_CMDLINE_XEN_DEFAULT");
    assert_eq!(opts[6]["source"]["line"], 15);
    assert_eq!(opts[6]["means"], "true");
    assert_eq!(v["variables"][0]["name"], "GRUB_CMDLINE_XEN");
}

#[test]
fn test_set_edits_in_place_with_backup_and_unset_removes() {
    let dir = fixture();
    let grub = dir.path().join("etc/default/grub");
    let before = fs::read_to_string(&grub).unwrap();
    let out = boot(dir.path(), &["set", "iommu=no-intremap", "loglvl=warning"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = fs::read_to_string(&grub).unwrap();
    assert_eq!(
        after,
        before.replace(
            "loglvl=all guest_loglvl=all'",
            "loglvl=warning guest_loglvl=all iommu=no-intremap'"
        )
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("etc/default/grub.xenadm-bak")).unwrap(),
        before
    );
    assert!(
        stdout(&out).contains("- GRUB_CMDLINE_XEN='com1"),
        "{}",
        stdout(&out)
    );
    let out = boot(dir.path(), &["unset", "iommu"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(&grub).unwrap(),
        before.replace("loglvl=all guest_loglvl", "loglvl=warning guest_loglvl")
    );
}

#[test]
fn test_set_default_dry_run_writes_nothing_and_json_describes_it() {
    let dir = fixture();
    let grub = dir.path().join("etc/default/grub");
    let before = fs::read(&grub).unwrap();
    let out = xenadm_in(
        dir.path(),
        &[
            "--json",
            "boot",
            "--root",
            dir.path().to_str().unwrap(),
            "set",
            "--default",
            "--dry-run",
            "dom0_mem=8G,max:8G",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["variable"], "GRUB_CMDLINE_XEN_DEFAULT");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["after"][0], "dom0_mem=8G,max:8G");
    assert_eq!(v["files"][0]["line"], 14);
    assert_eq!(fs::read(&grub).unwrap(), before);
    assert!(!dir.path().join("etc/default/grub.xenadm-bak").exists());
}

#[test]
fn test_set_refuses_typo_with_suggestion_unless_forced() {
    let dir = fixture();
    let grub = dir.path().join("etc/default/grub");
    let before = fs::read(&grub).unwrap();
    let out = boot(dir.path(), &["set", "dom0-mem=2G"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("did you mean dom0_mem?"), "{err}");
    assert!(err.contains("hint: "), "{err}");
    assert_eq!(fs::read(&grub).unwrap(), before);
    let out = boot(dir.path(), &["set", "dom0-mem=2G", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--force: unknown option"),
        "{}",
        stderr(&out)
    );
    // Now check finds it: exit 1, with file:line.
    let out = boot(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("etc/default/grub:16: error: unknown option `dom0-mem`"),
        "{text}"
    );
    assert!(text.contains("1 error(s)"), "{text}");
}

#[test]
fn test_check_is_clean_on_debian_generated_setup_and_version_aware() {
    let dir = fixture();
    let out = boot(dir.path(), &["check"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("for Xen 4.17 (/boot/xen-4.17-amd64.gz)"),
        "{}",
        stdout(&out)
    );
    let out = boot(dir.path(), &["set", "--force", "cpuid_mask_ecx=0xffffffff"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = boot(dir.path(), &["check", "--xen-version", "4.22"]);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("documented removed after Xen 4.17"),
        "{}",
        stdout(&out)
    );
    let out = xenadm_in(
        dir.path(),
        &[
            "--json",
            "boot",
            "check",
            "--root",
            dir.path().to_str().unwrap(),
            "--xen-version",
            "4.22",
        ],
    );
    let v = json(&out);
    assert_eq!(v["xen_version"], "4.22");
    assert_eq!(v["errors"], 0);
    assert_eq!(v["findings"][0]["kind"], "other_version_only");
    let out = boot(dir.path(), &["check", "--xen-version", "five"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn test_edit_goes_to_the_grub_d_drop_in_that_wins() {
    let dir = fixture();
    let d = dir.path().join("etc/default/grub.d");
    fs::create_dir_all(&d).unwrap();
    fs::write(
        d.join("xen.cfg"),
        "# local\nGRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=1G\"\n",
    )
    .unwrap();
    let main_before = fs::read(dir.path().join("etc/default/grub")).unwrap();
    let out = boot(dir.path(), &["set", "--default", "dom0_mem=3G"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(d.join("xen.cfg")).unwrap(),
        "# local\nGRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=3G\"\n"
    );
    assert_eq!(
        fs::read(dir.path().join("etc/default/grub")).unwrap(),
        main_before
    );
    assert!(d.join("xen.cfg.xenadm-bak").exists());
}

#[test]
fn test_bad_input_is_a_located_error_and_nothing_is_written() {
    let dir = fixture();
    let grub = dir.path().join("etc/default/grub");
    fs::write(&grub, "GRUB_DEFAULT=0\nGRUB_CMDLINE_XEN=\"dom0_mem=1G\n").unwrap();
    let out = boot(dir.path(), &["set", "smt=0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("etc/default/grub:2:18: unterminated quote"),
        "{err}"
    );
    assert!(err.contains("hint: fix the shell syntax"), "{err}");
    fs::write(&grub, "GRUB_CMDLINE_XEN=x \\\n").unwrap();
    let err = stderr(&boot(dir.path(), &["show"]));
    assert!(
        err.contains("etc/default/grub:1:20: line continuation"),
        "{err}"
    );
    fs::write(&grub, b"GRUB_\x00\x01\x02").unwrap();
    let err = stderr(&boot(dir.path(), &["show"]));
    assert!(err.contains("etc/default/grub:1:6: NUL byte"), "{err}");
    fs::write(&grub, "GRUB_CMDLINE_XEN=\"$(cat /etc/xenopts)\"\n").unwrap();
    let out = boot(dir.path(), &["set", "smt=0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("command substitution"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("etc/default/grub.xenadm-bak").exists());
    let empty = tempfile::tempdir().unwrap();
    let out = boot(empty.path(), &["show"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("etc/default/grub does not exist"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--root DIR"), "{}", stderr(&out));
}

#[test]
fn test_entries_lists_xen_entries_and_the_default() {
    let dir = fixture();
    let out = boot(dir.path(), &["entries"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("*2      Debian GNU/Linux, with Xen hypervisor\n"),
        "{text}"
    );
    assert!(
        text.contains("xen:  multiboot2 /boot/xen-4.17-amd64.efi"),
        "{text}"
    );
    let out = xenadm_in(
        dir.path(),
        &[
            "--json",
            "boot",
            "entries",
            "--all",
            "--root",
            dir.path().to_str().unwrap(),
        ],
    );
    let v = json(&out);
    assert_eq!(v["entries"].as_array().unwrap().len(), 14);
    assert_eq!(v["default"], "Debian GNU/Linux, with Xen hypervisor");
    let file = grub_data("generated/legacy-multiboot.grub.cfg");
    let out = xenadm_in(
        dir.path(),
        &["--json", "boot", "entries", file.to_str().unwrap()],
    );
    let v = json(&out);
    assert_eq!(v["entries"][0]["loader"], "multiboot");
    fs::write(dir.path().join("boot/grub/grub.cfg"), "menuentry 'x' {\n").unwrap();
    let out = boot(dir.path(), &["entries"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("grub.cfg:1:1: `menuentry` is never closed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn test_default_saves_full_path_in_grubenv_in_place() {
    let dir = fixture();
    let title = "Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-27-amd64";
    let out = boot(dir.path(), &["default", title]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("GRUB_DEFAULT=saved"),
        "{}",
        stderr(&out)
    );
    let env = dir.path().join("boot/grub/grubenv");
    let bytes = fs::read(&env).unwrap();
    assert_eq!(bytes.len(), 1024);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(&format!(
        "saved_entry=Advanced options for Debian GNU/Linux (with Xen hypervisor)>Xen hypervisor, version 4.17-amd64>{title}\n"
    )));
    let out = xenadm_in(
        dir.path(),
        &[
            "--json",
            "boot",
            "default",
            "--root",
            dir.path().to_str().unwrap(),
        ],
    );
    let v = json(&out);
    assert!(v["saved_entry"].as_str().unwrap().ends_with(title));
    let out = boot(dir.path(), &["default", "no such entry"]);
    assert_eq!(out.status.code(), Some(1));
    let out = boot(dir.path(), &["default", "--once", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        fs::read_to_string(&env)
            .unwrap()
            .contains("\nnext_entry=2\n")
    );
    // A broken grubenv is reported, not overwritten.
    fs::write(&env, "# GRUB Environment Block\n").unwrap();
    let out = boot(dir.path(), &["default", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("exactly 1024 bytes"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(&env).unwrap().len(), 25);
}

#[test]
fn test_status_has_a_boot_section() {
    let dir = fixture();
    let out = xenadm_in(dir.path(), &["--json", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert!(v["boot"].is_object(), "{v}");
}

#[test]
fn test_malformed_option_is_refused_without_offering_force() {
    let dir = fixture();
    let root = dir.path();
    let before = fs::read(root.join("etc/default/grub")).unwrap();
    let out = boot(root, &["set", "--force", "x=it's"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("malformed Xen option `x=it's`"), "{err}");
    let hint = err.lines().find(|l| l.contains("hint:")).unwrap();
    // --force was given and cannot help: the hint must not offer it.
    assert!(!hint.contains("--force sets it"), "{err}");
    assert!(hint.contains("--force cannot change that"), "{err}");
    assert_eq!(fs::read(root.join("etc/default/grub")).unwrap(), before);
}
