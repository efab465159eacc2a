//! The daemon's log: stderr in the foreground, syslog (`/dev/log`, ident `vhostmd`, facility
//! daemon) when daemonised.

use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

/// How important a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something was left out or looks wrong.
    Warning,
    /// What an administrator needs to know, printed even without `-v`.
    Notice,
    /// Progress, only with `-v`.
    Info,
}

/// Where messages go.
#[derive(Debug, Clone)]
pub struct Logger {
    syslog: Option<Arc<UnixDatagram>>,
    verbose: bool,
}

impl Logger {
    /// Messages on stderr.
    pub fn stderr(verbose: bool) -> Logger {
        Logger {
            syslog: None,
            verbose,
        }
    }

    /// Messages to syslog through `/dev/log`; stderr if it cannot be reached.
    pub fn syslog(verbose: bool) -> Logger {
        let socket = UnixDatagram::unbound()
            .and_then(|s| s.connect("/dev/log").map(|()| s))
            .ok()
            .map(Arc::new);
        Logger {
            syslog: socket,
            verbose,
        }
    }

    /// Logs one message.
    pub fn log(&self, level: Level, message: &str) {
        if level == Level::Info && !self.verbose {
            return;
        }
        match &self.syslog {
            Some(socket) => {
                let severity = match level {
                    Level::Error => 3,
                    Level::Warning => 4,
                    Level::Notice => 5,
                    Level::Info => 6,
                };
                let line = format!(
                    "<{}>vhostmd[{}]: {message}",
                    3 * 8 + severity,
                    std::process::id()
                );
                let _ = socket.send(line.as_bytes());
            }
            None => {
                let prefix = match level {
                    Level::Error => "error: ",
                    Level::Warning => "warning: ",
                    Level::Notice | Level::Info => "",
                };
                let _ = writeln!(std::io::stderr().lock(), "vhostmd: {prefix}{message}");
            }
        }
    }

    /// An error, with its causes.
    pub fn error(&self, err: &dyn std::error::Error) {
        self.log(Level::Error, &chain(err));
    }

    /// A warning, with its causes.
    pub fn warn(&self, err: &dyn std::error::Error) {
        self.log(Level::Warning, &chain(err));
    }

    /// Progress (only with `-v`).
    pub fn info(&self, message: &str) {
        self.log(Level::Info, message);
    }
}

/// An error and its causes on one line.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
