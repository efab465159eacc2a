//! Any bytes as a `cpuid -1r` dump: the parser must return a dump or a located error, never
//! panic; a parsed dump must render and parse back to itself, and mask against itself to
//! nothing in every format.

#![no_main]

use std::path::Path;

use cpuid_mask::{CpuidDump, DumpFile, FeatureReg, HostCpu, Mask, MaskOptions, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = DumpFile::parse(data, Path::new("fuzz")) else {
        return;
    };
    let again = CpuidDump::parse(file.dump.to_string().as_bytes()).expect("rendered dump parses");
    assert_eq!(again, file.dump);
    for extended in [false, true] {
        let options = MaskOptions { extended };
        let Ok(host) = HostCpu::from_file(&file, options.registers()) else {
            continue;
        };
        let other = HostCpu::from_file(&file, &FeatureReg::ALL).ok();
        let mut hosts = vec![host];
        hosts.extend(other);
        let mask = Mask::compute(&hosts, options).expect("non-empty host list");
        assert!(mask.is_empty());
        let _ = render::xl::render(&mask);
        let _ = render::xl_names::render(&mask);
        let _ = render::libvirt::render(&mask);
    }
});
