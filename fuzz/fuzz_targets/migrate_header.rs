//! Any bytes as what a migration sender writes after xl's banner: the receiver's exact-length
//! header reader (`migrate::protocol::read_header`) and the JSON edits of the config it carries
//! must give a header or an error, never panic, and never read past the optional data the
//! header announces (the GO message and libxl's stream follow it on the same descriptor). A
//! config the receiver renames `<name>--incoming` must come back unchanged through the
//! sender's header encoder.
//!
//! The same bytes as xenadm's compressed wire frames (`migrate::wire`, what follows the header
//! between two xenadm ends): the decoder gives the stream or a located error, never panics,
//! never reads past the END frame, and writes no more than the frames announce; and any bytes
//! encoded by the sender's encoder decode back to themselves.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;

use xen_core::migrate::protocol::{encode_header, incoming_config, outgoing_config, read_header};
use xen_core::migrate::wire::{self, WireEncoder};

/// Counts what the decoder writes (ZERO frames can stand for megabytes).
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn wire_frames(data: &[u8]) {
    let mut input = data;
    let mut out = Counter(0);
    if let Ok(stats) = wire::decode(&mut input, &mut out) {
        assert_eq!(stats.wire_bytes as usize, data.len() - input.len());
        assert_eq!(stats.stream_bytes, out.0);
    }
    let mut encoder = WireEncoder::new(Vec::new());
    encoder.write_all(data).expect("in memory");
    let (encoded, _) = encoder.finish().expect("in memory");
    let mut decoded = Vec::new();
    let mut input = encoded.as_slice();
    wire::decode(&mut input, &mut decoded).expect("our own frames decode");
    assert!(input.is_empty());
    assert_eq!(decoded, data);
}

fuzz_target!(|data: &[u8]| {
    wire_frames(data);
    let mut input = data;
    let Ok(header) = read_header(&mut input) else {
        return;
    };
    // Exactly the fixed 48 bytes and the announced optional data were consumed.
    let consumed = data.len() - input.len();
    assert_eq!(consumed, 48 + header.optional_data_len as usize);
    let _ = outgoing_config(&header.config_json);
    if let Ok((_, renamed)) = incoming_config(&header.config_json) {
        let encoded = encode_header(&renamed);
        let again = read_header(&mut encoded.as_slice()).expect("our own header reads back");
        assert_eq!(again.config_json, renamed);
    }
});
