//! Text renderings of the host model: the formats of `xl list`, `xl info`, `xentop -b`, CSV
//! and NDJSON records (virt-top's model, [`record`]) and the Prometheus text exposition format.
//!
//! Renderers write bytes to any [`std::io::Write`]: domain names are bytes, and the old tools
//! print them as they are.

pub mod csv;
mod digits;
pub mod json;
pub mod prometheus;
pub mod record;
pub mod sample_stream;
pub mod summary;
pub mod xentop;
pub mod xl_info;
pub mod xl_list;

/// Text for a terminal or a table: control characters (a newline or escape in a domain name)
/// become `?`, so that they cannot break the layout or drive the terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
