//! Any bytes as what a migration sender writes after xl's banner: the receiver's exact-length
//! header reader (`migrate::protocol::read_header`) and the JSON edits of the config it carries
//! must give a header or an error, never panic, and never read past the optional data the
//! header announces (the GO message and libxl's stream follow it on the same descriptor). A
//! config the receiver renames `<name>--incoming` must come back unchanged through the
//! sender's header encoder.

#![no_main]

use libfuzzer_sys::fuzz_target;
use xen_core::migrate::protocol::{encode_header, incoming_config, outgoing_config, read_header};

fuzz_target!(|data: &[u8]| {
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
