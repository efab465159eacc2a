//! `xenadm exporter`: Prometheus metrics of the host and its domains over HTTP.
//!
//! Serves `GET /metrics` (the text format of [`xen_core::render::prometheus`], which lists
//! every metric) and `/` (a page with a link), on loopback port 9753 by default. 9753 is in the
//! 9100–9999 range Prometheus exporters use by convention; that range's public allocation list
//! is full and has no entry for a Xen exporter, so the port is xenadm's choice: change it with
//! `--listen`.
//!
//! The server, its limits and the metrics source are [`xen_core::exporter`]'s; this command
//! parses `--listen`, prints what the source notices on stderr, and serves until killed.

use std::net::SocketAddr;

use xen_core::XenError;
use xen_core::exporter::{DEFAULT_LISTEN, Server, ServerConfig, XenSource, parse_listen};
use xen_core::host::{Host, XenBackend};

use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm exporter`.
#[derive(Debug, clap::Args)]
pub struct ExporterArgs {
    /// Address and port to serve on: `HOST:PORT` (`localhost:9753`, `192.0.2.7:9753`,
    /// `[::1]:9753`), or `:PORT` for every IPv4 interface, as other exporters take it (the
    /// default is loopback only).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN, value_parser = parse_listen)]
    pub listen: SocketAddr,
}

/// Runs `xenadm exporter`.
pub fn run(args: &ExporterArgs, out: &Output) -> Result<u8, CliError> {
    let mut source = XenSource::new(|| XenBackend::open().map(Host::with_backend));
    let server = Server::bind(args.listen, ServerConfig::default())?;
    let addr = server.local_addr().map_err(XenError::ExporterServe)?;
    out.print(&format!("xenadm exporter: serving http://{addr}/metrics\n"))?;
    let mut scrape = || {
        let (body, notes) = source.scrape();
        notes.into_iter().for_each(|note| out.warn(note));
        body
    };
    // The first sample now: a host without Xen is reported at start (and served as xen_up 0).
    let _ = scrape();
    server.serve(scrape)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_listen_error_hints() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = Server::bind(addr, ServerConfig::default()).unwrap_err();
        let hint = crate::commands::host::hint(&err).unwrap();
        assert!(hint.contains("--listen"), "{hint}");
        assert!(err.to_string().contains(&addr.to_string()));
    }
}
