//! Outside input to `xenadm exporter`: the bytes a client sends. The request-head parser lives
//! in the binary crate (cli/src/commands/exporter/http.rs, std only), so it is compiled in here
//! from its source file. Any bytes must give a head length or none, and any head a request or
//! a refusal, never a panic; a found head length is within the input.

#![no_main]
#![allow(dead_code)]

use libfuzzer_sys::fuzz_target;

#[path = "../../cli/src/commands/exporter/http.rs"]
mod http;

fuzz_target!(|data: &[u8]| {
    if let Some(len) = http::head_length(data) {
        assert!(len <= data.len());
        let _ = http::parse_head(&data[..len]);
    }
    let _ = http::parse_head(data);
});
