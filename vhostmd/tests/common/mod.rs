//! Helpers shared by the vhostmd integration tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use vhostmd::Vm;

/// `tests/data`.
pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data().join(rel)).unwrap()
}

/// The one domain of libvirt's `test:///default`.
pub fn test_vm() -> Vm {
    Vm::new(1, "test", "6695eb01-f6a4-8304-79aa-97f2502e193f")
}

/// The two domains of `libvirt-test-node.xml`.
pub fn multi_vms() -> Vec<Vm> {
    vec![
        Vm::new(1, "guest-a", "11111111-2222-3333-4444-555555555555"),
        Vm::new(2, "guest-b", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
    ]
}

/// The connect URI recorded in the multi-VM golden files.
pub const MULTI_URI: &str = "test:///srv/xenadm/vhostmd/testdata/golden-da/libvirt-test-node.xml";

/// Writes `bin/virsh` under `dir`: answers `dominfo NAME` as libvirt's test driver does for
/// the golden domains. Returns the bin folder.
pub fn fake_virsh(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("virsh");
    std::fs::write(
        &script,
        "#!/bin/sh\nfor a in \"$@\"; do last=$a; done\ncase \"$last\" in\n  test|guest-b) m=2097152 ;;\n  guest-a) m=524288 ;;\n  *) exit 1 ;;\nesac\nprintf 'Id:             1\\nName:           %s\\nUsed memory:    %s KiB\\n' \"$last\" \"$m\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// A golden config with its /tmp paths moved under `dir` and the fake virsh first in PATH.
pub fn golden_config(name: &str, dir: &Path) -> String {
    let text = String::from_utf8(read(name)).unwrap();
    let bin = fake_virsh(dir);
    let mut text = text.replace(
        "<path>/usr/sbin:/sbin:/usr/bin:/bin</path>",
        &format!(
            "<path>{}:/usr/sbin:/sbin:/usr/bin:/bin</path>",
            bin.display()
        ),
    );
    for old in [
        "/tmp/vhostmd-golden-virtio",
        "/tmp/vhostmd-golden-multi",
        "/tmp/vhostmd-golden",
    ] {
        text = text.replace(old, &dir.display().to_string());
    }
    text
}
