//! Safe access to a Xen host: domains, statistics and host facts (through the Xen libraries
//! that [`xen_sys`] loads at run time), and the migration stream formats (pure Rust, no Xen
//! library needed).
//!
//! * [`host`]: the data model ([`host::Sample`], [`host::DomainStats`], [`host::HostInfo`]),
//!   the [`host::HostBackend`] trait with the real backend ([`host::XenBackend`]) and a
//!   recorded one ([`host::RecordedBackend`]), CPU% and deltas as xentop computes them
//!   ([`host::Interval`]), and parsers that turn saved `xl list`, `xl info` and `xentop -b`
//!   text back into the model ([`host::capture`]).
//! * [`exporter`]: a bounded, synchronous HTTP server for Prometheus, serving the host's
//!   metrics (`xen_up 0` with the reason while Xen cannot be opened).
//! * [`render`]: `xl list`, `xl info`, `xentop -b` (byte for byte), CSV and NDJSON records,
//!   and Prometheus text from the model.
//! * [`stream`]: xl save files and live migration streams: parse, write, verify, relay.
//! * [`migrate`]: live migration over libxl, wire-compatible with `xl migrate` both ways.
//! * [`vbd`]: online disk resize: the running guests whose disks use an image (xenstore
//!   backends), QMP `block_resize` for qdisk, and the backends' new size confirmed.
//! * [`preflight`]: can a guest move to another host? CPU policy, disks, memory, bridges, PCI,
//!   versions, judged before a migration (`xenadm migrate --check`).
//!
//! # Example
//!
//! Replay two samples of a host (here recorded; [`host::XenBackend::open`] reads the real one)
//! and print them as `xentop -b` does, with CPU% over the interval:
//!
//! ```
//! use xen_core::host::{DomainName, DomainStats, Host, HostInfo, Interval, RecordedBackend};
//! use xen_core::host::{Sample, SampleFlags};
//! use xen_core::render::xentop::{self, BatchOptions};
//!
//! let mut web1 = DomainStats::default();
//! web1.name = DomainName::new("web1");
//! web1.memory_kib = 65_536;
//! web1.max_vcpus = 1;
//! let mut first = Sample::default();
//! first.node.total_memory_kib = 2047 * 1024;
//! first.domains.push(web1);
//! let mut second = first.clone();
//! second.monotonic_ns = 1_000_000_000; // one second later
//! second.domains[0].cpu_time_ns = 85_000_000; // 85 ms of CPU: 8.5 %
//!
//! let backend = RecordedBackend::new(HostInfo::default(), vec![first, second]);
//! let mut host = Host::with_backend(backend);
//! let before = host.sample(SampleFlags::all())?;
//! let after = host.sample(SampleFlags::all())?;
//!
//! let mut text = Vec::new();
//! xentop::write_iteration(&mut text, &Interval::new(Some(&before), &after), &BatchOptions::default())?;
//! let text = String::from_utf8_lossy(&text);
//! assert!(text.lines().nth(1).unwrap_or("").starts_with("      web1 ------          0    8.5      65536    3.1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Unsafe code is confined to the FFI layer (`ffi`), where every block carries a SAFETY note.
#![deny(unsafe_code)]

mod error;
pub mod exporter;
#[allow(unsafe_code)]
pub mod ffi;
pub mod host;
pub mod migrate;
pub mod net;
pub mod preflight;
pub mod render;
pub mod stream;
pub mod vbd;

pub use error::{ErrorChain, XenError, causes};
/// Whether this machine is a Xen dom0, a guest or not on Xen (re-exported for embedders).
pub use xen_role as role;
