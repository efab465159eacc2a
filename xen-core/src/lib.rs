//! Safe access to a Xen host: domains, statistics and host facts (through the Xen libraries
//! that [`xen_sys`] loads at run time), and the migration stream formats (pure Rust, no Xen
//! library needed).
//!
//! * [`host`]: the data model ([`host::Sample`], [`host::DomainStats`], [`host::HostInfo`]),
//!   the [`host::StatsBackend`] trait with the real backend and a recorded one for tests, and
//!   CPU% maths as xentop does it.
//! * [`render`]: `xl list`, `xl info`, `xentop -b`, CSV and Prometheus text from the model.
//! * [`stream`]: xl save files and live migration streams: parse, write, verify, relay.

// Unsafe code is confined to the FFI layer (`ffi`), where every block carries a SAFETY note.
#![deny(unsafe_code)]

mod error;
#[allow(unsafe_code)]
mod ffi;
pub mod host;
pub mod render;
pub mod stream;

pub use error::XenError;
