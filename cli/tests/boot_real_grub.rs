//! End to end with the real thing: `xenadm boot set`, then Debian's real grub-mkconfig (run by
//! `xenadm boot mkconfig --root`) in a private mount namespace over a fake /boot with a fake
//! multiboot2 Xen image and kernels; and grubenv written by xenadm read back by the real
//! grub-editenv (and the other way round).
//!
//! The host's /boot and /etc are never touched: the namespace overlays /usr and /etc (writes
//! go to a temp folder), mounts the fixture's /boot, and everything vanishes with it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{have_tool, stderr, stdout, xenadm_in};
use serde_json::Value;

fn grub_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../grub-cfg/tests/data")
        .join(rel)
}

/// Builds a throw-away root (overlays of the host's /usr and /etc, the fixture's /boot, a
/// stub grub-probe), copies the fixture's /etc/default into it and runs
/// `xenadm --json boot mkconfig --root <that root>`, which chroots into it and runs
/// grub-mkconfig. Same idea as the test data's gen.sh.
const NAMESPACE_SCRIPT: &str = r#"
set -eu
FIX=$1; XENADM=$2
W=$(mktemp -d /tmp/xenadm-grubroot.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/root" "$W/u-usr" "$W/w-usr" "$W/u-etc" "$W/w-etc"
unshare -m sh -eu -s "$FIX" "$XENADM" "$W" <<'INNER'
FIX=$1; XENADM=$2; W=$3; R=$W/root
mount --make-rprivate /
mkdir -p "$R/usr" "$R/etc" "$R/boot" "$R/proc" "$R/dev" "$R/tmp"
ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"; ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"
mount -t overlay ov -o "lowerdir=/usr,upperdir=$W/u-usr,workdir=$W/w-usr" "$R/usr"
mount -t overlay ov -o "lowerdir=/etc,upperdir=$W/u-etc,workdir=$W/w-etc" "$R/etc"
mount -t tmpfs tmp "$R/tmp"
mount --bind "$FIX/boot" "$R/boot"
mount -t tmpfs dev "$R/dev"
mount -t proc proc "$R/proc"
for n in null zero urandom random; do touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done
cat > "$R/usr/sbin/grub-probe" <<'PROBE'
#!/bin/sh
t=; for a in "$@"; do case "$a" in --target=*) t=${a#--target=};; esac; done
case "$t" in
  device) echo /dev/sda2;;
  fs) echo ext2;;
  fs_uuid) echo 0b2d5d43-3c1c-4a54-9e5c-1d2f8e6a7b10;;
  partuuid) echo 6f1d3a2e-c2b4-4d5e-9a1b-2c3d4e5f6a7b;;
  partmap) echo gpt;;
  abstraction) ;;
  compatibility_hint) echo hd0,gpt2;;
  hints_string) echo "--hint-bios=hd0,gpt2";;
  drive) echo "(hd0,gpt2)";;
  *) exit 1;;
esac
PROBE
chmod +x "$R/usr/sbin/grub-probe"
printf '#!/bin/sh\necho "$1"\n' > "$R/usr/bin/grub-mkrelpath"; chmod +x "$R/usr/bin/grub-mkrelpath"
rm -rf "$R/etc/default/grub" "$R/etc/default/grub.d"
cp -a "$FIX/etc/default/." "$R/etc/default/"
"$XENADM" --json boot mkconfig --root "$R"
INNER
"#;

/// A Xen image as grub-file sees it: a multiboot2 header (magic, i386, length 24, checksum,
/// end tag), so 20_linux_xen uses multiboot2/module2.
fn fake_xen() -> Vec<u8> {
    let mut image = Vec::new();
    for word in [0xE852_50D6u32, 0, 24, 0x17AD_AF12] {
        image.extend_from_slice(&word.to_le_bytes());
    }
    image.extend_from_slice(&[0, 0, 0, 0, 8, 0, 0, 0]);
    image.resize(4096, 0);
    image
}

/// A root with the given /etc/default files, a fake Xen and two fake dom0 kernels.
fn fixture(default_files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (rel, bytes) in default_files {
        let path = root.join("etc/default").join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
    let boot = root.join("boot");
    fs::create_dir_all(boot.join("grub")).unwrap();
    fs::write(boot.join("xen-4.17-amd64.gz"), fake_xen()).unwrap();
    for v in ["6.1.0-27-amd64", "6.1.0-28-amd64"] {
        fs::write(boot.join(format!("vmlinuz-{v}")), "fake-kernel\n").unwrap();
        fs::write(boot.join(format!("initrd.img-{v}")), "fake-initrd\n").unwrap();
        fs::write(
            boot.join(format!("config-{v}")),
            "CONFIG_XEN=y\nCONFIG_XEN_DOM0=y\n",
        )
        .unwrap();
    }
    dir
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Whether the real grub-mkconfig can run here (tools installed, root for the namespace).
fn can_run_grub_mkconfig() -> bool {
    if !(have_tool("grub-mkconfig") && have_tool("unshare") && have_tool("chroot")) {
        return false;
    }
    if !is_root() {
        assert!(
            std::env::var_os("XENADM_REQUIRE_TOOLS").is_none_or(|v| v != "1"),
            "the real grub-mkconfig test needs root (unshare -m, mount) and XENADM_REQUIRE_TOOLS=1"
        );
        eprintln!("SKIPPED: the real grub-mkconfig test needs root (unshare -m, mount)");
        return false;
    }
    true
}

/// Runs the real grub-mkconfig through `xenadm boot mkconfig` for the fixture; returns
/// xenadm's JSON and the grub.cfg text.
fn real_mkconfig(root: &Path) -> (Value, String) {
    let out = Command::new("sh")
        .args(["-c", NAMESPACE_SCRIPT, "sh"])
        .arg(root)
        .arg(env!("CARGO_BIN_EXE_xenadm"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "namespace run failed: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    let cfg = fs::read_to_string(root.join("boot/grub/grub.cfg")).unwrap();
    (json, cfg)
}

fn boot(root: &Path, args: &[&str]) {
    let mut all = vec!["boot", "--root", root.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = xenadm_in(root, &all);
    assert!(out.status.success(), "xenadm {all:?}: {}", stderr(&out));
}

/// The multiboot2 lines of grub.cfg, as (is a recovery entry, words).
fn multiboot2_lines(cfg: &str) -> Vec<(bool, Vec<String>)> {
    let mut out = Vec::new();
    let mut recovery = false;
    for line in cfg.lines() {
        let t = line.trim_start();
        if t.starts_with("menuentry ") {
            recovery = t.contains("(recovery mode)");
        }
        if t.starts_with("multiboot2") {
            out.push((recovery, t.split_whitespace().map(str::to_string).collect()));
        }
    }
    out
}

#[test]
fn test_set_then_real_grub_mkconfig_puts_the_options_on_the_multiboot2_line() {
    if !can_run_grub_mkconfig() {
        return;
    }
    let default_grub = fs::read(grub_data("generated/debian-xen.default-grub")).unwrap();
    let dir = fixture(&[("grub", &default_grub)]);
    let root = dir.path();
    boot(root, &["set", "iommu=no-intremap", "loglvl=warning"]);
    boot(root, &["set", "--default", "dom0_mem=2G,max:2G"]);
    boot(root, &["unset", "--default", "dom0_vcpus_pin"]);
    let (json, cfg) = real_mkconfig(root);

    let lines = multiboot2_lines(&cfg);
    assert_eq!(lines.len(), 5, "{cfg}");
    for (recovery, words) in &lines {
        assert_eq!(words[1], "/boot/xen-4.17-amd64.gz");
        assert!(
            words.contains(&"iommu=no-intremap".to_string()),
            "{words:?}"
        );
        assert!(words.contains(&"loglvl=warning".to_string()), "{words:?}");
        assert!(!words.contains(&"loglvl=all".to_string()), "{words:?}");
        assert!(!words.iter().any(|w| w == "dom0_vcpus_pin"), "{words:?}");
        // GRUB_CMDLINE_XEN_DEFAULT reaches normal entries only.
        assert_eq!(
            words.contains(&"dom0_mem=2G,max:2G".to_string()),
            !recovery,
            "{words:?}"
        );
    }

    // xenadm listed the Xen entries grub-mkconfig made, with the same arguments.
    let entries = json["xen_entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[0]["loader"], "multiboot2");
    assert_eq!(entries[0]["title"], "Debian GNU/Linux, with Xen hypervisor");
    let args: Vec<&str> = entries[0]["hypervisor_args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "placeholder",
            "com1=115200,8n1",
            "console=com1,vga",
            "loglvl=warning",
            "guest_loglvl=all",
            "iommu=no-intremap",
            "dom0_mem=2G,max:2G",
            "dom0_max_vcpus=1-4",
            "${xen_rm_opts}"
        ]
    );
    // And the edited /etc/default/grub still checks clean.
    let out = xenadm_in(root, &["boot", "--root", root.to_str().unwrap(), "check"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn test_real_grub_mkconfig_honours_the_drop_in_xenadm_edited() {
    if !can_run_grub_mkconfig() {
        return;
    }
    let main = fs::read(grub_data("real/debian-grub2-common.default-grub")).unwrap();
    let mut main = String::from_utf8(main).unwrap();
    main.push_str("GRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=1G\"\n");
    let xen_cfg = fs::read(grub_data(
        "real/debian-xen-hypervisor-common.grub.d-xen.cfg",
    ))
    .unwrap();
    let local = b"# site settings: override the main file\nGRUB_CMDLINE_XEN_DEFAULT=\"smt=0 dom0_mem=2G\"\n";
    let dir = fixture(&[
        ("grub", main.as_bytes()),
        ("grub.d/xen.cfg", &xen_cfg),
        ("grub.d/zz-local.cfg", local),
    ]);
    let root = dir.path();
    boot(root, &["set", "--default", "dom0_mem=3G,max:3G"]);
    assert_eq!(
        fs::read_to_string(root.join("etc/default/grub.d/zz-local.cfg")).unwrap(),
        "# site settings: override the main file\nGRUB_CMDLINE_XEN_DEFAULT=\"smt=0 dom0_mem=3G,max:3G\"\n"
    );
    let (json, cfg) = real_mkconfig(root);
    let lines = multiboot2_lines(&cfg);
    assert!(!lines.is_empty(), "{cfg}");
    for (recovery, words) in &lines {
        assert!(!words.contains(&"dom0_mem=1G".to_string()), "{words:?}");
        assert_eq!(
            words.contains(&"dom0_mem=3G,max:3G".to_string()),
            !recovery,
            "{words:?}"
        );
    }
    // Debian's xen.cfg made the Xen entry the default (GRUB_DEFAULT is computed there).
    assert!(
        cfg.contains("set default=\"Debian GNU/Linux, with Xen hypervisor\""),
        "{cfg}"
    );
    assert!(json["xen_entries"].as_array().unwrap().len() >= 3);
}

#[test]
fn test_grubenv_round_trips_with_the_real_grub_editenv() {
    if !have_tool("grub-editenv") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("boot/grub")).unwrap();
    let value = r"Xen>a\b c";
    boot(root, &["default", "--force", value]);
    let env = root.join("boot/grub/grubenv");
    let list = Command::new("grub-editenv")
        .arg(&env)
        .arg("list")
        .output()
        .unwrap();
    assert!(list.status.success());
    assert_eq!(stdout(&list), format!("saved_entry={value}\n"));

    // Byte for byte what grub-editenv itself writes.
    let theirs = root.join("theirs");
    for args in [vec!["create"], vec!["set", &format!("saved_entry={value}")]] {
        let out = Command::new("grub-editenv")
            .arg(&theirs)
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(fs::read(&env).unwrap(), fs::read(&theirs).unwrap());

    // grub-editenv's edits read back by xenadm; xenadm's next edit keeps the inode.
    let out = Command::new("grub-editenv")
        .arg(&env)
        .args(["set", "next_entry=1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let inode = fs::metadata(&env).unwrap().ino();
    let out = xenadm_in(
        root,
        &[
            "--json",
            "boot",
            "--root",
            root.to_str().unwrap(),
            "default",
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["saved_entry"], value);
    assert_eq!(v["next_entry"], "1");
    boot(root, &["default", "--force", "--no-backup", "2"]);
    assert_eq!(fs::metadata(&env).unwrap().len(), 1024);
    let list = Command::new("grub-editenv")
        .arg(&env)
        .arg("list")
        .output()
        .unwrap();
    // As grub-set-default: next_entry is cleared.
    assert_eq!(stdout(&list), "saved_entry=2\n");
    assert_eq!(
        fs::metadata(&env).unwrap().ino(),
        inode,
        "grubenv must be edited in place"
    );
}

/// The last value of option `name` on a Xen line (Xen reads left to right; the last wins).
fn last_value<'a>(words: &'a [String], name: &str) -> Option<&'a str> {
    words
        .iter()
        .rev()
        .find(|w| w.split('=').next() == Some(name))
        .map(String::as_str)
}

#[test]
fn test_set_and_unset_change_the_value_that_wins_after_real_grub_mkconfig() {
    if !can_run_grub_mkconfig() {
        return;
    }
    // GRUB_CMDLINE_XEN_DEFAULT has dom0_mem=4096M,max:4096M: on normal entries it comes after
    // GRUB_CMDLINE_XEN, so a value set only there would lose.
    let default_grub = fs::read(grub_data("generated/debian-xen.default-grub")).unwrap();
    let dir = fixture(&[("grub", &default_grub)]);
    let root = dir.path();
    let r = root.to_str().unwrap();
    let out = xenadm_in(root, &["boot", "--root", r, "set", "dom0_mem=8G,max:8G"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("removed `dom0_mem=4096M,max:4096M` from GRUB_CMDLINE_XEN_DEFAULT"),
        "{}",
        stderr(&out)
    );
    let (_, cfg) = real_mkconfig(root);
    let lines = multiboot2_lines(&cfg);
    assert_eq!(lines.len(), 5, "{cfg}");
    for (_, words) in &lines {
        // Every entry, normal and recovery, boots with the value asked for.
        assert_eq!(
            last_value(words, "dom0_mem"),
            Some("dom0_mem=8G,max:8G"),
            "{words:?}"
        );
    }

    // unset without --default removes it from every entry.
    let out = xenadm_in(root, &["boot", "--root", r, "unset", "dom0_mem"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, cfg) = real_mkconfig(root);
    for (_, words) in &multiboot2_lines(&cfg) {
        assert_eq!(last_value(words, "dom0_mem"), None, "{words:?}");
    }
}

#[test]
fn test_unset_of_an_option_only_in_the_default_variable_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("etc/default")).unwrap();
    let grub = root.join("etc/default/grub");
    fs::write(
        &grub,
        "GRUB_CMDLINE_XEN=\"loglvl=all\"\nGRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=4096M smt=0\"\n",
    )
    .unwrap();
    let r = root.to_str().unwrap();
    let out = xenadm_in(root, &["boot", "--root", r, "unset", "dom0_mem"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(&grub).unwrap(),
        "GRUB_CMDLINE_XEN=\"loglvl=all\"\nGRUB_CMDLINE_XEN_DEFAULT=\"smt=0\"\n"
    );
    // --default cannot remove what GRUB_CMDLINE_XEN gives every entry: refused, unchanged.
    let out = xenadm_in(root, &["boot", "--root", r, "unset", "--default", "loglvl"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`loglvl=all` in GRUB_CMDLINE_XEN would still apply"),
        "{err}"
    );
    assert!(err.contains("/etc/default/grub:1"), "{err}");
    assert_eq!(
        fs::read_to_string(&grub).unwrap(),
        "GRUB_CMDLINE_XEN=\"loglvl=all\"\nGRUB_CMDLINE_XEN_DEFAULT=\"smt=0\"\n"
    );
}
