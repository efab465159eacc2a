//! Any bytes as /etc/default/grub: the parser must return a file or a located error, never
//! panic; an accepted file must print back to the same bytes, evaluate, check, and take the
//! edits `xenadm boot set/unset` make (each edit verifies itself before returning).

#![no_main]

use std::path::Path;

use grub_cfg::{BootConfig, DefaultGrub, SetOptions, XenVariable, XenOptionTable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = DefaultGrub::parse(data, Path::new("fuzz")) else {
        return;
    };
    assert_eq!(file.print().as_bytes(), data);
    assert_eq!(file.text().as_bytes(), data);
    // No root: `. /file` is not followed, so nothing is read from disk.
    let config = BootConfig::from_files(vec![file.clone()], None).expect("no file is read");
    let _ = config.variables();
    let _ = config.check(XenOptionTable::V4_22);
    let mut options = SetOptions::default();
    options.force = true;
    for variable in [XenVariable::Xen, XenVariable::XenDefault] {
        options.variable = variable;
        if let Ok(edit) = config.plan_set(&["dom0_mem=1G", "smt=0"], &options) {
            for f in &edit.files {
                DefaultGrub::parse(f.new_text().as_bytes(), Path::new("fuzz"))
                    .expect("edited text parses");
            }
        }
        let _ = config.plan_unset(&["iommu", "smt"], variable);
    }
    if let Ok(edited) = file.set_value("GRUB_CMDLINE_XEN", "a=1 b") {
        let again = BootConfig::from_files(vec![edited], None).expect("no file is read");
        let var = again.variable("GRUB_CMDLINE_XEN");
        assert!(var.value.as_deref() == Some("a=1 b") || var.unknown.is_some());
    }
});
