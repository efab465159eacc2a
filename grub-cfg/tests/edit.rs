//! Editing the Xen variables on real files: in place, in the file that wins, keeping
//! layout; refusing what cannot be edited safely; writing safely below a root.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use grub_cfg::{
    BootConfig, DefaultGrub, GrubCfgError, GrubEnv, SetOptions, WriteOptions, XenOptionTable,
    XenVariable,
};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn config(texts: &[&str]) -> BootConfig {
    let files = texts
        .iter()
        .enumerate()
        .map(|(i, t)| DefaultGrub::parse(t.as_bytes(), Path::new(&format!("/f{i}"))).unwrap())
        .collect();
    BootConfig::from_files(files, None).unwrap()
}

fn set(variable: XenVariable) -> SetOptions {
    let mut o = SetOptions::default();
    o.variable = variable;
    o
}

#[test]
fn test_set_keeps_continuation_and_other_lines() {
    let path = data("generated/debian-xen.default-grub");
    let text = fs::read_to_string(&path).unwrap();
    let cfg = BootConfig::from_files(vec![DefaultGrub::read(&path).unwrap()], None).unwrap();
    let edit = cfg
        .plan_set(
            &["dom0_vcpus_pin=0", "dom0_mem=2G,max:2G"],
            &set(XenVariable::XenDefault),
        )
        .unwrap();
    assert_eq!(
        edit.after,
        [
            "dom0_mem=2G,max:2G",
            "dom0_max_vcpus=1-4",
            "dom0_vcpus_pin=0"
        ]
    );
    let expected = text
        .replace("dom0_mem=4096M,max:4096M", "dom0_mem=2G,max:2G")
        .replace("\ndom0_vcpus_pin\"", "\ndom0_vcpus_pin=0\"");
    assert_eq!(edit.files[0].new_text(), expected);
    assert_eq!(edit.files[0].line, 14);
    // Single quotes are kept too.
    let edit = cfg
        .plan_set(&["loglvl=warning"], &SetOptions::default())
        .unwrap();
    assert!(edit.files[0].new_text().contains(
        "GRUB_CMDLINE_XEN='com1=115200,8n1 console=com1,vga loglvl=warning guest_loglvl=all'\n"
    ));
}

#[test]
fn test_unset_removes_token_and_its_blank() {
    let cfg = config(&["X=1\nGRUB_CMDLINE_XEN=\"a=1 b  c=2\"  # keep\n"]);
    let edit = cfg.plan_unset(&["b"], XenVariable::Xen).unwrap();
    assert_eq!(
        edit.files[0].new_text(),
        "X=1\nGRUB_CMDLINE_XEN=\"a=1  c=2\"  # keep\n"
    );
    let edit = cfg.plan_unset(&["a", "c"], XenVariable::Xen).unwrap();
    assert_eq!(
        edit.files[0].new_text(),
        "X=1\nGRUB_CMDLINE_XEN=\"b\"  # keep\n"
    );
    let edit = cfg.plan_unset(&["nothere"], XenVariable::Xen).unwrap();
    assert!(edit.is_noop());
    assert!(edit.warnings[0].contains("nothing to remove"));
}

#[test]
fn test_set_handles_no_prefix_and_duplicates() {
    let cfg = config(&["GRUB_CMDLINE_XEN=\"smt=1 iommu=1 no-smt\"\n"]);
    let edit = cfg.plan_set(&["smt=0"], &SetOptions::default()).unwrap();
    // The last occurrence is replaced in place, the earlier one removed.
    assert_eq!(
        edit.files[0].new_text(),
        "GRUB_CMDLINE_XEN=\"iommu=1 smt=0\"\n"
    );
    let edit = cfg.plan_set(&["a=1"], &SetOptions::default());
    assert!(matches!(edit, Err(GrubCfgError::InvalidOption { .. })));
    let mut force = SetOptions::default();
    force.force = true;
    let edit = cfg.plan_set(&["a=1", "a=2"], &force).unwrap();
    assert_eq!(edit.after, ["smt=1", "iommu=1", "no-smt", "a=2"]);
}

#[test]
fn test_self_reference_and_new_variable() {
    let path = data("generated/legacy-multiboot.default-grub");
    let cfg = BootConfig::from_files(vec![DefaultGrub::read(&path).unwrap()], None).unwrap();
    let edit = cfg
        .plan_set(&["iommu=0", "ucode=scan"], &SetOptions::default())
        .unwrap();
    let new = edit.files[0].new_text();
    assert!(
        new.contains("GRUB_CMDLINE_XEN=\"$GRUB_CMDLINE_XEN iommu=0 ucode=scan\"\n"),
        "{new}"
    );
    assert!(new.contains("GRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=1024M\"  # trailing comment\n"));
    // A variable that is set nowhere: appended (or a #template uncommented).
    let cfg = config(&["GRUB_DEFAULT=0\n#GRUB_CMDLINE_XEN=\"\"\n"]);
    let edit = cfg.plan_set(&["noreboot"], &SetOptions::default()).unwrap();
    assert_eq!(
        edit.files[0].new_text(),
        "GRUB_DEFAULT=0\nGRUB_CMDLINE_XEN=\"noreboot\"\n"
    );
    let cfg = config(&["GRUB_DEFAULT=0"]);
    let edit = cfg
        .plan_set(&["noreboot"], &set(XenVariable::XenDefault))
        .unwrap();
    assert_eq!(
        edit.files[0].new_text(),
        "GRUB_DEFAULT=0\nGRUB_CMDLINE_XEN_DEFAULT=\"noreboot\"\n"
    );
    // Unquoted values get quotes when they grow.
    let cfg = config(&["GRUB_CMDLINE_XEN=noreboot\n"]);
    let edit = cfg.plan_set(&["smt=0"], &SetOptions::default()).unwrap();
    assert_eq!(
        edit.files[0].new_text(),
        "GRUB_CMDLINE_XEN=\"noreboot smt=0\"\n"
    );
}

#[test]
fn test_edit_goes_to_the_drop_in_that_wins() {
    let cfg = config(&[
        "GRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=1G\"\n",
        "# drop-in\nGRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=2G smt=0\"\n",
    ]);
    let var = cfg.variable("GRUB_CMDLINE_XEN_DEFAULT");
    assert_eq!(var.source.as_ref().unwrap().path, Path::new("/f1"));
    assert_eq!(var.assignments.len(), 2);
    let edit = cfg
        .plan_set(&["dom0_mem=4G"], &set(XenVariable::XenDefault))
        .unwrap();
    assert_eq!(edit.files.len(), 1);
    assert_eq!(edit.files[0].path, Path::new("/f1"));
    assert_eq!(
        edit.files[0].old_lines,
        ["GRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=2G smt=0\""]
    );
    assert_eq!(
        edit.files[0].new_lines,
        ["GRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=4G smt=0\""]
    );
}

#[test]
fn test_set_removes_the_same_option_from_the_variable_that_would_win() {
    // Normal entries get GRUB_CMDLINE_XEN then GRUB_CMDLINE_XEN_DEFAULT: dom0_mem=1G there
    // would beat a dom0_mem=2G in GRUB_CMDLINE_XEN. The edit removes it, in the same plan.
    let cfg = config(&["GRUB_CMDLINE_XEN=\"\"\nGRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=1G smt=0\"\n"]);
    let edit = cfg
        .plan_set(&["dom0_mem=2G"], &SetOptions::default())
        .unwrap();
    assert!(
        edit.warnings[0].contains("removed `dom0_mem=1G` from GRUB_CMDLINE_XEN_DEFAULT (/f0:2)"),
        "{:?}",
        edit.warnings
    );
    assert_eq!(edit.files.len(), 1);
    assert_eq!(
        edit.files[0].new_text(),
        "GRUB_CMDLINE_XEN=\"dom0_mem=2G\"\nGRUB_CMDLINE_XEN_DEFAULT=\"smt=0\"\n"
    );
    assert_eq!(edit.also.len(), 1);
    assert_eq!(edit.also[0].variable, XenVariable::XenDefault);
    assert_eq!(edit.also[0].after, ["smt=0"]);
    // With --default the value goes where it wins for normal entries; recovery keeps
    // GRUB_CMDLINE_XEN's, which the warning says.
    let cfg = config(&["GRUB_CMDLINE_XEN=\"dom0_mem=1G\"\nGRUB_CMDLINE_XEN_DEFAULT=\"\"\n"]);
    let edit = cfg
        .plan_set(&["dom0_mem=2G"], &set(XenVariable::XenDefault))
        .unwrap();
    assert!(edit.also.is_empty());
    assert!(edit.warnings[0].contains("recovery entries still use that one"));
}

#[test]
fn test_unset_removes_from_every_entry_or_refuses() {
    let cfg = config(&["GRUB_CMDLINE_XEN=\"smt=0\"\nGRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=1G\"\n"]);
    // Only in GRUB_CMDLINE_XEN_DEFAULT: removed from there.
    let edit = cfg.plan_unset(&["dom0_mem"], XenVariable::Xen).unwrap();
    assert!(edit.warnings.is_empty(), "{:?}", edit.warnings);
    assert_eq!(
        edit.files[0].new_text(),
        "GRUB_CMDLINE_XEN=\"smt=0\"\nGRUB_CMDLINE_XEN_DEFAULT=\"\"\n"
    );
    // --default while GRUB_CMDLINE_XEN still gives it to every entry: refused.
    let err = cfg
        .plan_unset(&["smt"], XenVariable::XenDefault)
        .unwrap_err();
    assert!(
        matches!(&err, GrubCfgError::Overridden { option, line: 1, .. } if option == "smt=0"),
        "{err}"
    );
    // A computed GRUB_CMDLINE_XEN_DEFAULT might override the value: refused, saying why.
    let cfg = config(&["GRUB_CMDLINE_XEN=\"\"\nGRUB_CMDLINE_XEN_DEFAULT=\"$(cat /x)\"\n"]);
    let err = cfg
        .plan_set(&["smt=0"], &SetOptions::default())
        .unwrap_err();
    assert!(matches!(err, GrubCfgError::Opaque { line: 2, .. }), "{err}");
}

#[test]
fn test_refuses_what_it_cannot_edit_safely() {
    // Computed by a program.
    let cfg = config(&["GRUB_CMDLINE_XEN=\"$(cat /etc/xen-opts)\"\n"]);
    let err = cfg
        .plan_set(&["smt=0"], &SetOptions::default())
        .unwrap_err();
    assert!(matches!(err, GrubCfgError::Opaque { line: 1, .. }), "{err}");
    // Conditional.
    let cfg = config(&["if [ -e /x ]; then GRUB_CMDLINE_XEN=\"a\"; fi\n"]);
    let err = cfg
        .plan_set(&["smt=0"], &SetOptions::default())
        .unwrap_err();
    assert!(matches!(err, GrubCfgError::Opaque { .. }), "{err}");
    // Real DRAKVUF drop-in: sources a script xenadm cannot follow.
    let cfg = BootConfig::from_files(
        vec![
            DefaultGrub::read(&data("real/debian-grub2-common.default-grub")).unwrap(),
            DefaultGrub::read(&data("real/drakvuf.grub.d-xen.cfg")).unwrap(),
        ],
        None,
    )
    .unwrap();
    let err = cfg
        .plan_set(&["smt=0"], &set(XenVariable::XenDefault))
        .unwrap_err();
    assert!(err.to_string().contains("drakvuf.grub.d-xen.cfg"), "{err}");
    // Option from another variable.
    let cfg = config(&["OPTS=\"smt=0\"\nGRUB_CMDLINE_XEN=\"$OPTS x=1\"\n"]);
    let err = cfg.plan_unset(&["smt"], XenVariable::Xen).unwrap_err();
    assert!(
        matches!(err, GrubCfgError::NotEditable { line: 2, .. }),
        "{err}"
    );
    // But appending next to it is fine.
    let edit = cfg.plan_set(&["noreboot"], &SetOptions::default()).unwrap();
    assert_eq!(edit.after, ["smt=0", "x=1", "noreboot"]);
}

#[test]
fn test_check_finds_typos_bad_values_and_repeats() {
    let cfg = config(&[
        "GRUB_CMDLINE_XEN=\"dom0-mem=4G sched=fair smt=1\"\nGRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=4GB smt=0\"\n",
    ]);
    let report = cfg.check(XenOptionTable::V4_17);
    let text: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(report.count(grub_cfg::Severity::Error), 3, "{text:#?}");
    assert!(
        text[0].starts_with("/f0:1: error: unknown option `dom0-mem`"),
        "{text:#?}"
    );
    assert!(text[0].ends_with("(did you mean dom0_mem?)"));
    assert!(
        text.iter()
            .any(|t| t.contains("`smt=1` is overridden by a later `smt=0`"))
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("/f0:2: error: `dom0_mem=4GB`"))
    );
}

fn root_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
    }
    dir
}

#[test]
fn test_load_and_apply_below_a_root() {
    let root = root_with(&[
        ("etc/default/grub", "GRUB_CMDLINE_XEN=\"a=1\"\n"),
        (
            "etc/default/grub.d/xen.cfg",
            "GRUB_CMDLINE_XEN=\"$GRUB_CMDLINE_XEN b=2\"\n",
        ),
        (
            "etc/default/grub.d/ignored.txt",
            "GRUB_CMDLINE_XEN=ignored\n",
        ),
    ]);
    let main = root.path().join("etc/default/grub");
    fs::set_permissions(&main, fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = BootConfig::load(root.path()).unwrap();
    assert_eq!(cfg.files().len(), 2);
    assert_eq!(
        cfg.variable("GRUB_CMDLINE_XEN").value.as_deref(),
        Some("a=1 b=2")
    );
    let mut force = SetOptions::default();
    force.force = true;
    let edit = cfg.plan_set(&["a=3"], &force).unwrap();
    assert_eq!(edit.files[0].path, main);
    let reports = edit.apply(&WriteOptions::default()).unwrap();
    assert_eq!(
        fs::read_to_string(&main).unwrap(),
        "GRUB_CMDLINE_XEN=\"a=3\"\n"
    );
    assert_eq!(
        fs::metadata(&main).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::read_to_string(reports[0].backup.as_ref().unwrap()).unwrap(),
        "GRUB_CMDLINE_XEN=\"a=1\"\n"
    );
    // The edit was planned from the old text: applying it again is refused.
    let err = edit.apply(&WriteOptions::default()).unwrap_err();
    assert!(matches!(err, GrubCfgError::Changed { .. }));
    let cfg = BootConfig::load(root.path()).unwrap();
    assert_eq!(
        cfg.variable("GRUB_CMDLINE_XEN").value.as_deref(),
        Some("a=3 b=2")
    );
}

#[test]
fn test_sourced_file_is_followed_below_the_root() {
    let root = root_with(&[
        (
            "etc/default/grub",
            "GRUB_CMDLINE_XEN=\"a=1\"\n. /etc/default/grub.qubes\n",
        ),
        (
            "etc/default/grub.qubes",
            "GRUB_CMDLINE_XEN=\"$GRUB_CMDLINE_XEN smt=off\"\n",
        ),
    ]);
    let cfg = BootConfig::load(root.path()).unwrap();
    assert_eq!(
        cfg.variable("GRUB_CMDLINE_XEN").value.as_deref(),
        Some("a=1 smt=off")
    );
    let edit = cfg.plan_set(&["smt=on"], &SetOptions::default()).unwrap();
    assert_eq!(
        edit.files[0].path,
        root.path().join("etc/default/grub.qubes")
    );
    assert_eq!(edit.after, ["a=1", "smt=on"]);
}

#[test]
fn test_errors_name_file_and_line() {
    let root = root_with(&[("etc/default/grub", "A=1\nGRUB_CMDLINE_XEN=\"x\n")]);
    let err = BootConfig::load(root.path()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("etc/default/grub:2:18: unterminated quote: this \" has no closing \""),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        BootConfig::load(empty.path()),
        Err(GrubCfgError::NotFound { .. })
    ));
}

#[test]
fn test_grubenv_in_place_below_a_root() {
    let root = root_with(&[("boot/grub/grub.cfg", "")]);
    let mut env = GrubEnv::for_root(root.path()).unwrap();
    assert!(!env.exists());
    env.set("saved_entry", "0").unwrap();
    env.write(&WriteOptions::default()).unwrap();
    let path = root.path().join("boot/grub/grubenv");
    assert_eq!(fs::metadata(&path).unwrap().len(), 1024);
    use std::os::unix::fs::MetadataExt as _;
    let inode = fs::metadata(&path).unwrap().ino();
    let mut env = GrubEnv::for_root(root.path()).unwrap();
    env.set("saved_entry", "1>2").unwrap();
    env.write(&WriteOptions::default()).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
    assert_eq!(
        GrubEnv::read(&path).unwrap().get("saved_entry"),
        Some("1>2")
    );
}

/// A root with the real generated Debian files of `debian-xen-saved`.
fn saved_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("etc/default")).unwrap();
    fs::create_dir_all(dir.path().join("boot/grub")).unwrap();
    for (from, to) in [
        ("debian-xen-saved.default-grub", "etc/default/grub"),
        ("debian-xen-saved.grub.cfg", "boot/grub/grub.cfg"),
        ("debian-xen-saved.grubenv", "boot/grub/grubenv"),
    ] {
        fs::copy(data(&format!("generated/{from}")), dir.path().join(to)).unwrap();
    }
    dir
}

#[test]
fn set_default_resolves_writes_and_keeps_a_backup() {
    let dir = saved_root();
    let env_path = dir.path().join("boot/grub/grubenv");
    let title = "Debian GNU/Linux, with Linux 6.1.0-27-amd64";
    let mut options = grub_cfg::SetDefaultOptions::default();
    options.write.backup = true;
    let set = grub_cfg::set_default(dir.path(), title, &options).unwrap();
    assert!(set.change.spec.ends_with(title), "{}", set.change.spec);
    // GRUB_DEFAULT=saved here: the saved entry is used at boot.
    assert_eq!(set.change.ignored_because, None);
    assert_eq!(set.grubenv, env_path);
    let bytes = fs::read(&env_path).unwrap();
    assert_eq!(bytes.len(), 1024);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(&format!("saved_entry={}\n", set.change.spec)));
    let backup = set.written.backup.unwrap();
    assert_eq!(
        fs::read(backup).unwrap(),
        fs::read(data("generated/debian-xen-saved.grubenv")).unwrap()
    );
    let report = grub_cfg::DefaultReport::for_root(dir.path()).unwrap();
    assert_eq!(
        report.saved_entry.as_deref(),
        Some(set.change.spec.as_str())
    );
    assert_eq!(report.boots.as_deref(), Some(set.change.spec.as_str()));
}

#[test]
fn set_default_of_an_unknown_entry_writes_nothing() {
    let dir = saved_root();
    let env_path = dir.path().join("boot/grub/grubenv");
    let before = fs::read(&env_path).unwrap();
    let options = grub_cfg::SetDefaultOptions::default();
    let err = grub_cfg::set_default(dir.path(), "no such entry", &options).unwrap_err();
    assert!(matches!(err, GrubCfgError::UnknownEntry { .. }), "{err:?}");
    assert_eq!(fs::read(&env_path).unwrap(), before);
    let mut forced = grub_cfg::SetDefaultOptions::default();
    forced.force = true;
    forced.kind = grub_cfg::DefaultKind::Once;
    let set = grub_cfg::set_default(dir.path(), "no such entry", &forced).unwrap();
    assert_eq!(set.change.spec, "no such entry");
    let text = fs::read_to_string(&env_path).unwrap();
    assert!(text.contains("\nnext_entry=no such entry\n"), "{text}");
}
