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
pub mod xentop;
pub mod xl_info;
pub mod xl_list;
