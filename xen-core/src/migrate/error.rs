//! What can go wrong in a migration, and at which step.

use std::fmt;
use std::path::PathBuf;

/// A step of the handshake (reference `migration.md` §1.3), for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum Step {
    /// Starting the transport (the rune).
    Transport,
    /// The receiver's banner.
    Banner,
    /// The xl save header and config.
    Header,
    /// The migration stream itself.
    Stream,
    /// The receiver's "ready" after its restore.
    Ready,
    /// The sender's rename to `--migratedaway`.
    Rename,
    /// The sender's GO.
    Go,
    /// The receiver's report message.
    Report,
    /// The receiver's status byte.
    Status,
    /// The receiver's permission to resume after a failure at the target.
    GoBack,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Transport => "the transport",
            Step::Banner => "the receiver's banner",
            Step::Header => "the xl save header",
            Step::Stream => "the migration stream",
            Step::Ready => "the receiver's \"ready\" message",
            Step::Rename => "the rename to --migratedaway",
            Step::Go => "the GO message",
            Step::Report => "the receiver's report",
            Step::Status => "the receiver's status byte",
            Step::GoBack => "the receiver's permission to resume",
        })
    }
}

/// A migration error (the sender adds where the guest is, see [`super::Failure`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The peer sent other bytes than xl's message.
    #[error("{step} contained unexpected data instead: \"{got}\"")]
    UnexpectedData {
        /// Where.
        step: Step,
        /// What came, escaped.
        got: String,
    },
    /// The peer closed the connection.
    #[error("the other end closed the connection before {step} (received \"{received}\")")]
    PeerClosed {
        /// Where.
        step: Step,
        /// The part that came, escaped.
        received: String,
    },
    /// Reading or writing the transport failed.
    #[error("I/O error at {step}")]
    Io {
        /// Where.
        step: Step,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The xl save header is not one this receiver accepts.
    #[error("bad xl save header: {message}")]
    Header {
        /// What is wrong.
        message: String,
    },
    /// The domain config is unusable.
    #[error("domain config: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// A libxl call (or the fake's) failed.
    #[error("{call} for domain {domain} failed: libxl error {code} ({})", crate::ffi::libxl::error_name(*code))]
    Backend {
        /// The call.
        call: &'static str,
        /// The domain (name or id).
        domain: String,
        /// The libxl error code (negative).
        code: i32,
    },
    /// No such domain here.
    #[error("no domain {query:?} on this host")]
    NoSuchDomain {
        /// What was asked.
        query: String,
    },
    /// The transport command could not be started.
    #[error("cannot start the transport `sh -c {rune:?}`")]
    Spawn {
        /// The rune.
        rune: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// xl's lock could not be taken.
    #[error("cannot take the lock {}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A config file given with `-C` could not be read or is not JSON.
    #[error("cannot use the config file {}: {message}", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The administrator cancelled (SIGINT/SIGTERM) before GO.
    #[error("cancelled before the point of no return")]
    Cancelled,
    /// The receiver reported a failure after GO (its status byte).
    #[error("the target failed to start its copy (status {status}: {})", status_text(*status))]
    TargetFailed {
        /// The status byte.
        status: u8,
    },
    /// The compressed stream between two xenadm ends is bad (a located frame error).
    #[error("the sender's compressed stream is bad")]
    Wire {
        /// The frame and what is wrong with it.
        #[source]
        source: super::wire::WireError,
    },
    /// xenadm's own engine (`--engine xenadm`) could not save the guest.
    #[error("xenadm's engine, domain {domain}: {message}")]
    Engine {
        /// The guest.
        domain: String,
        /// What failed, and what the policy or the guest did.
        message: String,
    },
    /// The pre-copy policy's options were given for libxl's engine, which has its own fixed
    /// policy and would ignore them.
    #[error(
        "the pre-copy policy's options (maximum downtime, maximum passes, auto-converge, abort if not converging) need xenadm's own engine"
    )]
    PolicyNeedsEngine,
    /// Setting up the local pipe or thread failed.
    #[error("{what} failed")]
    Local {
        /// What.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// What a status byte says.
pub fn status_text(status: u8) -> &'static str {
    match status {
        0 => "success",
        super::protocol::STATUS_BAD_GO => "the receiver did not get the GO message",
        n => crate::ffi::libxl::error_name(-i32::from(n)),
    }
}

impl MigrateError {
    /// The libxl error code of a backend failure.
    pub fn libxl_code(&self) -> Option<i32> {
        match self {
            MigrateError::Backend { code, .. } => Some(*code),
            _ => None,
        }
    }
}
