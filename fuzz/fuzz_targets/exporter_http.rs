//! Outside input to the exporter (`xen_core::exporter`): the bytes a client sends. Any bytes
//! must give a head length or none, and any head a request or a refusal, never a panic; a
//! found head length is within the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xen_core::exporter::http;

fuzz_target!(|data: &[u8]| {
    if let Some(len) = http::head_length(data) {
        assert!(len <= data.len());
        let _ = http::parse_head(&data[..len]);
    }
    let _ = http::parse_head(data);
});
