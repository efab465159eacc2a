//! The relay on any bytes: the output is exactly the input whatever the parser thinks of it,
//! and it never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xen_core::stream::relay;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let report = relay(data, &mut out, |_| {}).expect("in-memory relay cannot fail to copy");
    assert_eq!(out, data);
    assert_eq!(report.bytes, data.len() as u64);
    if let Some(end) = report.stream_end_offset {
        assert!(end <= data.len() as u64);
    }
});
