//! The address an exporter listens on, as exporters take it on their command line.

use std::net::{SocketAddr, ToSocketAddrs as _};

/// Where the exporter listens unless told otherwise: loopback, port 9753 (in the 9100–9999
/// range Prometheus exporters use; that range's public list is full and has no Xen entry).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9753";

/// `HOST:PORT` with a name (the first address it resolves to) or an address
/// (`localhost:9753`, `192.0.2.7:9753`, `[::1]:9753`), or `:PORT` for every IPv4 interface.
/// The error says what was expected.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_listen_takes_port_only_and_host_names() {
        assert_eq!(
            parse_listen(":9753").unwrap(),
            "0.0.0.0:9753".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(parse_listen(DEFAULT_LISTEN).unwrap().port(), 9753);
        assert!(parse_listen("localhost:9753").unwrap().ip().is_loopback());
        assert_eq!(parse_listen("[::1]:9753").unwrap().port(), 9753);
        for bad in [
            "localhost",
            "127.0.0.1",
            "127.0.0.1:99999",
            "[::1]",
            ":",
            ":x",
        ] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }
}
