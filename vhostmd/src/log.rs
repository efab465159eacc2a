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
