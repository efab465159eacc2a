//! Any bytes as `xl info` output: the parser must return the facts or a located error, never
//! panic; rendering what it accepts is stable (render, parse, render gives the same text).

#![no_main]

use libfuzzer_sys::fuzz_target;
use xen_core::host::capture::parse_xl_info;
use xen_core::render::xl_info;

fuzz_target!(|data: &[u8]| {
    let Ok(info) = parse_xl_info(data) else {
        return;
    };
    let mut first = Vec::new();
    xl_info::write(&mut first, &info).expect("writing to memory");
    let again = parse_xl_info(&first).expect("rendered `xl info` text parses");
    let mut second = Vec::new();
    xl_info::write(&mut second, &again).expect("writing to memory");
    assert_eq!(first, second);
});
