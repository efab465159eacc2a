//! Any bytes as virtio-serial requests, sent in pieces: the parser answers each complete
//! request, never panics, and a valid request after the noise is still recognised.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vhostmd::virtio::{Request, RequestParser};

fuzz_target!(|data: &[u8]| {
    // The first byte is the piece size; requests are at most 512 bytes, 4 KiB covers noise.
    let Some((&piece, rest)) = data.split_first().filter(|_| data.len() <= 4096) else {
        return;
    };
    let piece = usize::from(piece).max(1);
    let mut parser = RequestParser::new();
    for chunk in rest.chunks(piece) {
        let mut r = parser.push(chunk);
        while r != Request::Incomplete {
            r = parser.next_request();
        }
    }
    // Noise ended with a blank line (or too long) leaves a clean parser.
    let mut fresh = RequestParser::new();
    assert_eq!(fresh.push(b"GET /metrics/XML\r\n\r\n"), Request::Metrics);
    let mut r = parser.push(b"\n\nGET /metrics/XML\n\n");
    let mut seen = false;
    while r != Request::Incomplete {
        seen |= r == Request::Metrics;
        r = parser.next_request();
    }
    assert!(
        seen || rest.len() > 400,
        "valid request lost after {} noise bytes",
        rest.len()
    );
});
