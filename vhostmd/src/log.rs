//! The daemon's log, as `tracing` events: the library never writes it anywhere itself; the
//! `vhostmd` binary installs the subscriber (stderr in the foreground, syslog when
//! daemonised, as upstream).
//!
//! Every event has a target under `vhostmd`, and its level says how important it is, in
//! upstream's terms:
//!
//! | `tracing` level | upstream (syslog severity) | shown |
//! |---|---|---|
//! | `ERROR` | error (3): something failed | always |
//! | `WARN` | warning (4): something was left out or looks wrong | always |
//! | `INFO` | notice (5): what an administrator needs to know | always |
//! | `DEBUG` | info (6): progress | with `-v` |
//!
//! Errors are logged with their causes on one line ([`chain`]).

use tracing::{Level, Metadata};

/// Whether an event is the daemon's log and shown: a target under `vhostmd`, and a level up to
/// `INFO`, or `DEBUG` (progress) with `verbose` (`-v`), as the table above says.
pub fn shown(metadata: &Metadata<'_>, verbose: bool) -> bool {
    let target = metadata.target();
    let max = if verbose { Level::DEBUG } else { Level::INFO };
    (target == "vhostmd" || target.starts_with("vhostmd::")) && *metadata.level() <= max
}

/// Upstream's syslog severity for an event of `level`, as the table above says (`TRACE`,
/// which the library does not use, as `DEBUG`).
pub fn syslog_severity(level: Level) -> u8 {
    if level == Level::ERROR {
        3
    } else if level == Level::WARN {
        4
    } else if level == Level::INFO {
        5
    } else {
        6
    }
}

/// An error and its causes on one line: `error: cause: cause`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_severities_are_upstreams() {
        let got = [Level::ERROR, Level::WARN, Level::INFO, Level::DEBUG].map(syslog_severity);
        assert_eq!(got, [3, 4, 5, 6]);
    }
}
