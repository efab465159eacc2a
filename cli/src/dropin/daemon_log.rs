//! The drop-in `vhostmd`'s log: the `vhostmd` library's `tracing` events (levels and targets
//! in `vhostmd::log`) written as upstream writes them: `vhostmd: error: …` lines on stderr in
//! the foreground (`-d`; under systemd, journald reads them there), one datagram per message to
//! syslog through `/dev/log` (ident `vhostmd`, facility daemon, the pid) when daemonised.
//!
//! Syslog is a small layer here rather than a crate: the format is one line upstream's
//! `syslog(3)` call writes, the socket is connected on the first message (after the fork),
//! and messages fall back to stderr when `/dev/log` cannot be reached, as before; the syslog
//! crates for `tracing` on crates.io add transports (TCP, RFC 5424) this daemon does not use.

use std::fmt;
use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt as _};

/// Where the daemon's messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// stderr, `vhostmd: ` and the severity in front.
    Stderr,
    /// A syslog datagram socket (normally `/dev/log`).
    Syslog(PathBuf),
}

/// Installs the daemon's log as the process's subscriber. `verbose` (`-v`) adds the
/// progress messages (debug level).
pub fn install(sink: Sink, verbose: bool) {
    let subscriber = tracing_subscriber::registry().with(DaemonLog::new(sink, verbose));
    // Only fails when a subscriber is already set: that one stays.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The layer: the events [`vhostmd::log::shown`] passes, each written as one line.
#[derive(Debug)]
pub struct DaemonLog {
    sink: Sink,
    verbose: bool,
    /// Connected on the first message; `None` when the socket cannot be reached.
    socket: OnceLock<Option<UnixDatagram>>,
}

impl DaemonLog {
    /// A layer writing to `sink`.
    pub fn new(sink: Sink, verbose: bool) -> DaemonLog {
        DaemonLog {
            sink,
            verbose,
            socket: OnceLock::new(),
        }
    }
}

/// The line on stderr for a message of `level`.
fn stderr_line(level: Level, message: &str) -> String {
    let prefix = if level == Level::ERROR {
        "error: "
    } else if level == Level::WARN {
        "warning: "
    } else {
        ""
    };
    format!("vhostmd: {prefix}{message}")
}

/// The syslog datagram for a message of `level`: facility daemon (3), upstream's severity
/// ([`vhostmd::log::syslog_severity`]).
fn syslog_line(level: Level, message: &str, pid: u32) -> String {
    let severity = vhostmd::log::syslog_severity(level);
    format!("<{}>vhostmd[{pid}]: {message}", 3 * 8 + severity)
}

impl<S: Subscriber> Layer<S> for DaemonLog {
    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        vhostmd::log::shown(metadata, self.verbose)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut message = MessageText(String::new());
        event.record(&mut message);
        let level = *event.metadata().level();
        if let Sink::Syslog(path) = &self.sink {
            let socket = self.socket.get_or_init(|| {
                UnixDatagram::unbound()
                    .and_then(|s| s.connect(path).map(|()| s))
                    .ok()
            });
            if let Some(socket) = socket {
                let line = syslog_line(level, &message.0, std::process::id());
                let _ = socket.send(line.as_bytes());
                return;
            }
        }
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}",
            stderr_line(level, &message.0)
        );
    }
}

/// The event's `message` field as text (the daemon's events have no other field).
struct MessageText(String);

impl Visit for MessageText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            use fmt::Write as _;
            let _ = write!(self.0, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_stderr_lines_are_upstreams() {
        assert_eq!(stderr_line(Level::ERROR, "x"), "vhostmd: error: x");
        assert_eq!(stderr_line(Level::WARN, "x"), "vhostmd: warning: x");
        assert_eq!(stderr_line(Level::INFO, "x"), "vhostmd: x");
        assert_eq!(stderr_line(Level::DEBUG, "x"), "vhostmd: x");
    }

    #[test]
    fn test_syslog_datagrams_reach_the_socket_with_severity_and_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        server.set_nonblocking(true).unwrap();
        let subscriber =
            tracing_subscriber::registry().with(DaemonLog::new(Sink::Syslog(path.clone()), false));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "vhostmd::daemon", "disk: {}", "gone");
            tracing::warn!(target: "vhostmd::daemon", "left out");
            tracing::info!(target: "vhostmd::daemon", "attach it");
            // Progress needs -v; other crates' events are not the daemon's log.
            tracing::debug!(target: "vhostmd::daemon", "update 1 done");
            tracing::error!(target: "xen_core::ffi", "libxc says");
        });
        let pid = std::process::id();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while let Ok(n) = server.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert_eq!(
            got,
            [
                format!("<27>vhostmd[{pid}]: disk: gone"),
                format!("<28>vhostmd[{pid}]: left out"),
                format!("<29>vhostmd[{pid}]: attach it"),
            ]
        );
    }

    #[test]
    fn test_verbose_adds_progress_at_syslog_info() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        server.set_nonblocking(true).unwrap();
        let subscriber =
            tracing_subscriber::registry().with(DaemonLog::new(Sink::Syslog(path.clone()), true));
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "vhostmd::virtio", "virtio channel x connected");
        });
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&buf[..n]),
            format!(
                "<30>vhostmd[{}]: virtio channel x connected",
                std::process::id()
            )
        );
    }
}
