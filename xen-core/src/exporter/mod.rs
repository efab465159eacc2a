//! A Prometheus exporter for a Xen host: a small, bounded, synchronous HTTP server
//! ([`Server`]) that serves `GET /metrics` (the text format of [`crate::render::prometheus`])
//! and `/` (a page with a link), and the metrics source it serves ([`XenSource`]).
//!
//! Decisions:
//! * No Xen (not a dom0, libraries missing, no permission), at start or later: the source
//!   serves anyway, with `xen_up 0` and `xen_unavailable_info{reason="..."} 1` saying why,
//!   and opens the Xen libraries again at each scrape until they work: a unit started before
//!   xenstored, or on a host rebooted into Xen, recovers by itself. Prometheus's `up` says the
//!   exporter runs; `xen_up` says Xen.
//! * A sample that fails later (a transient hypervisor error): the scrape still answers 200
//!   with `xen_up 0` and the scrape duration. Prometheus's own `up` then stays 1 (the exporter
//!   is reachable) while `xen_up` says what is wrong.
//! * What the operator should hear about (Xen unavailable, available again, a failed sample)
//!   comes back from each scrape as a [`ScrapeNote`]; the library prints nothing.
//! * One sample per scrape; scrapes within a second of a sample share it.
//! * Slow and malformed clients: see [`ServerConfig`]'s limits (bounded connections, head
//!   deadline, request size limit, read and write timeouts). The request head is parsed by
//!   [`http`] (total: any bytes give a request or the status to refuse it with; fuzzed).
//!
//! # Example
//!
//! ```no_run
//! use xen_core::exporter::{Server, ServerConfig, XenSource};
//! use xen_core::host::{Host, XenBackend};
//!
//! let mut source = XenSource::new(|| XenBackend::open().map(Host::with_backend));
//! let server = Server::bind("127.0.0.1:9753".parse()?, ServerConfig::default())?;
//! server.serve(|| {
//!     let (body, notes) = source.scrape();
//!     for note in notes {
//!         eprintln!("warning: {note}");
//!     }
//!     body
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod http;
mod listen;
mod server;

use std::fmt;
use std::time::Instant;

use crate::ErrorChain;
use crate::XenError;
use crate::host::{Host, HostBackend, SampleFlags};
use crate::render::prometheus::{self, Scrape};

pub use listen::{DEFAULT_LISTEN, parse_listen};
pub use server::{Server, ServerConfig, StopHandle};

/// Something a scrape noticed that the operator should be told (once per change).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScrapeNote {
    /// The Xen host cannot be opened (first time, or for a new reason): served as `xen_up 0`.
    Unavailable {
        /// Why, with its causes.
        reason: String,
    },
    /// The Xen host opened after being unavailable.
    AvailableAgain,
    /// A sample of an open host failed: served as `xen_up 0`.
    SampleFailed {
        /// Why, with its causes.
        reason: String,
    },
}

impl fmt::Display for ScrapeNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScrapeNote::Unavailable { reason } => write!(
                f,
                "the Xen host is unavailable, serving xen_up 0 until it is: {reason}"
            ),
            ScrapeNote::AvailableAgain => f.write_str("the Xen host is available again"),
            ScrapeNote::SampleFailed { reason } => {
                write!(f, "sampling the Xen host failed: {reason}")
            }
        }
    }
}

/// The Xen host, opened lazily: while opening fails, each scrape tries again and serves
/// `xen_up 0` with the reason.
pub struct XenSource<B: HostBackend, F: FnMut() -> Result<Host<B>, XenError>> {
    open: F,
    host: Option<Host<B>>,
    /// The reason last reported, so that a lasting one is said once.
    reported: Option<String>,
}

impl<B: HostBackend, F: FnMut() -> Result<Host<B>, XenError>> fmt::Debug for XenSource<B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XenSource")
            .field("open", &self.host.is_some())
            .field("reported", &self.reported)
            .finish()
    }
}

impl<B: HostBackend, F: FnMut() -> Result<Host<B>, XenError>> XenSource<B, F> {
    /// A source that opens the host with `open` when first scraped.
    pub fn new(open: F) -> XenSource<B, F> {
        XenSource {
            open,
            host: None,
            reported: None,
        }
    }

    /// One scrape: the exposition text (`xen_up 0` and the reason while Xen is unavailable),
    /// and what the operator should be told, in order (usually nothing).
    pub fn scrape(&mut self) -> (Vec<u8>, Vec<ScrapeNote>) {
        let started = Instant::now();
        let mut notes = Vec::new();
        if self.host.is_none() {
            match (self.open)() {
                Ok(host) => {
                    if self.reported.take().is_some() {
                        notes.push(ScrapeNote::AvailableAgain);
                    }
                    self.host = Some(host);
                }
                Err(err) => {
                    let reason = ErrorChain(&err).to_string();
                    if self.reported.as_deref() != Some(reason.as_str()) {
                        notes.push(ScrapeNote::Unavailable {
                            reason: reason.clone(),
                        });
                        self.reported = Some(reason.clone());
                    }
                    let mut text = prometheus::to_bytes(&Scrape::failed(started.elapsed()));
                    text.extend_from_slice(unavailable_info(&reason).as_bytes());
                    return (text, notes);
                }
            }
        }
        match &mut self.host {
            Some(host) => {
                let (body, failed) = scrape(host);
                notes.extend(failed);
                (body, notes)
            }
            None => (
                prometheus::to_bytes(&Scrape::failed(started.elapsed())),
                notes,
            ),
        }
    }
}

/// `xen_unavailable_info{reason="..."} 1`, the label value escaped as the text format wants.
fn unavailable_info(reason: &str) -> String {
    let mut escaped = String::with_capacity(reason.len());
    for c in reason.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    format!(
        "# HELP xen_unavailable_info Why the Xen host cannot be opened (only while xen_up is 0 for that reason).\n# TYPE xen_unavailable_info gauge\nxen_unavailable_info{{reason=\"{escaped}\"}} 1\n"
    )
}

/// One scrape of an open host: a sample of every domain with all details, as exposition text
/// (UTF-8). A failed sample gives `xen_up 0` and [`ScrapeNote::SampleFailed`].
pub fn scrape<B: HostBackend>(host: &mut Host<B>) -> (Vec<u8>, Option<ScrapeNote>) {
    let started = Instant::now();
    match host.sample(SampleFlags::all()) {
        Ok(sample) => (
            prometheus::to_bytes(&Scrape::ok(&sample, started.elapsed())),
            None,
        ),
        Err(err) => (
            prometheus::to_bytes(&Scrape::failed(started.elapsed())),
            Some(ScrapeNote::SampleFailed {
                reason: ErrorChain(&err).to_string(),
            }),
        ),
    }
}

#[cfg(test)]
mod tests;
