//! `xenadm exporter`: Prometheus metrics of the host and its domains over HTTP.
//!
//! Serves `GET /metrics` (the text format of [`xen_core::render::prometheus`], which lists
//! every metric) and `/` (a page with a link), on loopback port 9753 by default. 9753 is in the
//! 9100–9999 range Prometheus exporters use by convention; that range's public allocation list
//! is full and has no entry for a Xen exporter, so the port is xenadm's choice: change it with
//! `--listen`.
//!
//! Decisions:
//! * No Xen at start (not a dom0, libraries missing, no permission): the command fails at once
//!   with the reason, rather than serving `xen_up 0` that someone must notice later.
//! * A sample that fails later (a transient hypervisor error): the scrape still answers 200
//!   with `xen_up 0` and the scrape duration, and the cause goes to stderr. Prometheus's own
//!   `up` then stays 1 (the exporter is reachable) while `xen_up` says what is wrong.
//! * One sample per scrape; scrapes within a second of a sample share it.
//! * Slow and malformed clients: see [`server`]'s limits (bounded connections, head deadline,
//!   request size limit, read and write timeouts).

mod http;
mod server;

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use xen_core::host::{Host, HostBackend, SampleFlags, XenBackend};
use xen_core::render::prometheus::{self, Scrape};

use crate::error::{Chain, CliError};
use crate::output::Output;

pub use server::{Server, ServerConfig};

/// Where the exporter listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9753";

/// Options of `xenadm exporter`.
#[derive(Debug, clap::Args)]
pub struct ExporterArgs {
    /// Address and port to serve on, e.g. `0.0.0.0:9753` for every IPv4 interface or
    /// `[::1]:9753` (the default is loopback only).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
}

/// Why the exporter could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ExporterError {
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The server stopped with an error.
    #[error("the exporter stopped serving")]
    Serve(#[source] io::Error),
}

/// What the administrator can do about an exporter error.
pub fn hint(err: &ExporterError) -> Option<&'static str> {
    match err {
        ExporterError::Listen { source, .. } => match source.kind() {
            io::ErrorKind::AddrInUse => Some(
                "another program serves on this port (see `ss -ltnp`); pick another with --listen",
            ),
            io::ErrorKind::PermissionDenied => {
                Some("ports below 1024 need root; use a port such as 9753")
            }
            io::ErrorKind::AddrNotAvailable => Some(
                "the address is not one of this host's; use 127.0.0.1, 0.0.0.0 or one of `ip -br addr`",
            ),
            _ => None,
        },
        ExporterError::Serve(_) => None,
    }
}

/// Runs `xenadm exporter`.
pub fn run(args: &ExporterArgs, out: &Output) -> Result<u8, CliError> {
    let mut host = Host::with_backend(XenBackend::open()?);
    // Sample once now: a host that cannot be sampled is reported at start.
    host.sample(SampleFlags::all())?;
    let server = Server::bind(args.listen, ServerConfig::default()).map_err(|source| {
        ExporterError::Listen {
            addr: args.listen,
            source,
        }
    })?;
    let addr = server.local_addr().map_err(ExporterError::Serve)?;
    out.print(&format!("xenadm exporter: serving http://{addr}/metrics\n"))?;
    server
        .serve(|| scrape(&mut host, out))
        .map_err(ExporterError::Serve)?;
    Ok(0)
}

/// One scrape: a sample of every domain with all details, as exposition text (UTF-8). A failed sample
/// gives `xen_up 0`, and its cause on stderr.
pub fn scrape<B: HostBackend>(host: &mut Host<B>, out: &Output) -> Vec<u8> {
    let started = Instant::now();
    match host.sample(SampleFlags::all()) {
        Ok(sample) => prometheus::to_bytes(&Scrape::ok(&sample, started.elapsed())),
        Err(err) => {
            out.warn(format!("sampling the Xen host failed: {}", Chain(&err)));
            prometheus::to_bytes(&Scrape::failed(started.elapsed()))
        }
    }
}

#[cfg(test)]
mod tests;
