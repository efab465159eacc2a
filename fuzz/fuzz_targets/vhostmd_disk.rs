//! Any bytes as a metrics disk image: a consistent document or a clear error, never a panic;
//! memory bounded by the header's length checks.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vhostmd::{MetricsDocument, parse_image};

fuzz_target!(|data: &[u8]| {
    if let Ok(content) = parse_image(data, Path::new("fuzz.img")) {
        assert_eq!(content.document.len(), content.header.length_bytes as usize);
        assert_eq!(
            &data[16..16 + content.document.len()],
            content.document.as_slice()
        );
        let doc = MetricsDocument::parse(&content.document).expect("a read disk is XML");
        for m in &doc.metrics {
            let _ = (m.as_u64(), m.as_i64(), m.as_f64());
        }
    }
});
