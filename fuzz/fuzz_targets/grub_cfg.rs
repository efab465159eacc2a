//! Any bytes as grub.cfg, as a grubenv block and as a Xen command line: the parsers must
//! return a value or a located error, never panic. Every parsed menu entry must resolve by
//! its own numeric path; a parsed grubenv must render to 1024 bytes that parse to the same
//! variables.

#![no_main]

use std::path::Path;

use grub_cfg::{GrubEnv, Menu, XenOptionTable, xen};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(menu) = Menu::parse(data, Path::new("fuzz.cfg")) {
        for entry in menu.entries() {
            let path: Vec<String> = entry.index_path.iter().map(ToString::to_string).collect();
            assert_eq!(menu.resolve(&path.join(">")), Some(entry));
            let _ = entry.xen_args();
            let _ = menu.entry_spec(&entry.title);
        }
        if let Some(default) = &menu.default {
            let _ = menu.resolve(default);
        }
    }
    let mut block = data.to_vec();
    block.resize(grub_cfg::GRUBENV_SIZE, b'#');
    for candidate in [data, &block[..]] {
        if let Ok(env) = GrubEnv::parse(candidate, Path::new("grubenv")) {
            let bytes = env.to_bytes().expect("what fits keeps fitting");
            assert_eq!(bytes.len(), grub_cfg::GRUBENV_SIZE);
            let again =
                GrubEnv::parse(&bytes, Path::new("grubenv")).expect("rendered block parses");
            assert_eq!(again.vars(), env.vars());
        }
    }
    // A Xen command line (Xen keeps 1023 bytes; 256 keeps the fuzzer fast).
    if let Ok(line) = std::str::from_utf8(&data[..data.len().min(256)]) {
        let options = xen::parse_cmdline(line);
        for version in XenOptionTable::ALL {
            let found = xen::check_line(version, &options);
            assert_eq!(found.len(), options.len());
        }
    }
});
