//! `xenadm exporter`: Prometheus metrics of the host and its domains over HTTP.
//!
//! Serves `GET /metrics` (the text format of [`xen_core::render::prometheus`], which lists
//! every metric) and `/` (a page with a link), on loopback port 9753 by default. 9753 is in the
//! 9100–9999 range Prometheus exporters use by convention; that range's public allocation list
//! is full and has no entry for a Xen exporter, so the port is xenadm's choice: change it with
//! `--listen`.
//!
//! Decisions:
//! * No Xen (not a dom0, libraries missing, no permission), at start or later: the exporter
//!   serves anyway, with `xen_up 0` and `xen_unavailable_info{reason="..."} 1` saying why
//!   (and the reason on stderr when it changes), and opens the Xen libraries again at each
//!   scrape until they work: a unit started before xenstored, or on a host rebooted into
//!   Xen, recovers by itself. Prometheus's `up` says the exporter runs; `xen_up` says Xen.
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
    /// Address and port to serve on: `HOST:PORT` (`localhost:9753`, `192.0.2.7:9753`,
    /// `[::1]:9753`), or `:PORT` for every IPv4 interface, as other exporters take it (the
    /// default is loopback only).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN, value_parser = parse_listen)]
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

/// `--listen`: `:PORT` (every IPv4 interface), `HOST:PORT` with a name (the first address
/// it resolves to) or an address.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    let text = text.trim();
    let full = match text.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => text.to_string(),
    };
    if let Ok(addr) = full.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let Some((host, port)) = full.rsplit_once(':') else {
        return Err("expected HOST:PORT or :PORT, e.g. 127.0.0.1:9753 or :9753".to_string());
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{port:?} is not a port number (1-65535)"))?;
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host:?} has no address"))
}

/// Runs `xenadm exporter`.
pub fn run(args: &ExporterArgs, out: &Output) -> Result<u8, CliError> {
    let mut source = XenSource::new(|| XenBackend::open().map(Host::with_backend));
    let server = Server::bind(args.listen, ServerConfig::default()).map_err(|source| {
        ExporterError::Listen {
            addr: args.listen,
            source,
        }
    })?;
    let addr = server.local_addr().map_err(ExporterError::Serve)?;
    out.print(&format!("xenadm exporter: serving http://{addr}/metrics\n"))?;
    // The first sample now: a host without Xen is reported at start (and served as xen_up 0).
    let _ = source.scrape(out);
    server
        .serve(|| source.scrape(out))
        .map_err(ExporterError::Serve)?;
    Ok(0)
}

/// The Xen host, opened lazily: while opening fails, each scrape tries again and serves
/// `xen_up 0` with the reason.
pub struct XenSource<B: HostBackend, F: FnMut() -> Result<Host<B>, xen_core::XenError>> {
    open: F,
    host: Option<Host<B>>,
    /// The reason last reported on stderr, so that a lasting one is said once.
    reported: Option<String>,
}

impl<B: HostBackend, F: FnMut() -> Result<Host<B>, xen_core::XenError>> std::fmt::Debug
    for XenSource<B, F>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XenSource")
            .field("open", &self.host.is_some())
            .field("reported", &self.reported)
            .finish()
    }
}

impl<B: HostBackend, F: FnMut() -> Result<Host<B>, xen_core::XenError>> XenSource<B, F> {
    /// A source that opens the host with `open` when first scraped.
    pub fn new(open: F) -> XenSource<B, F> {
        XenSource {
            open,
            host: None,
            reported: None,
        }
    }

    /// One scrape: the exposition text; `xen_up 0` and the reason while Xen is unavailable.
    pub fn scrape(&mut self, out: &Output) -> Vec<u8> {
        let started = Instant::now();
        if self.host.is_none() {
            match (self.open)() {
                Ok(host) => {
                    if self.reported.take().is_some() {
                        out.warn("the Xen host is available again");
                    }
                    self.host = Some(host);
                }
                Err(err) => {
                    let reason = Chain(&err).to_string();
                    if self.reported.as_deref() != Some(reason.as_str()) {
                        out.warn(format!(
                            "the Xen host is unavailable, serving xen_up 0 until it is: {reason}"
                        ));
                        self.reported = Some(reason.clone());
                    }
                    let mut text = prometheus::to_bytes(&Scrape::failed(started.elapsed()));
                    text.extend_from_slice(unavailable_info(&reason).as_bytes());
                    return text;
                }
            }
        }
        match &mut self.host {
            Some(host) => scrape(host, out),
            None => prometheus::to_bytes(&Scrape::failed(started.elapsed())),
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
