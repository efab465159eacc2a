//! How a migration ended for the administrator: where the guest is, the exit code, and the
//! commands that fix a state that needs them.

use super::error::{MigrateError, Step};
use super::progress::Summary;

/// Exit code: the guest moved and runs on the target.
pub const EXIT_MOVED: u8 = 0;
/// Exit code: the migration failed and the guest still runs on the source (nothing to do).
pub const EXIT_ON_SOURCE: u8 = 1;
/// Exit code: the guest's state needs the administrator (the message says which host to
/// check and the commands that fix it).
pub const EXIT_NEEDS_ADMIN: u8 = 3;

/// Where the guest is after a failed migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum Placement {
    /// Running on the source, as before (it was never suspended, or it was resumed).
    RunningOnSource,
    /// Suspended on the source and not resumed: it runs nowhere.
    SuspendedOnSource,
    /// Unknown after GO: it may run on the target, or be suspended on the source.
    Ambiguous,
}

/// A migration that did not move the guest (or whose end is unknown).
#[derive(Debug, thiserror::Error)]
#[error("migration of {domain} failed at {step}: {error}")]
#[non_exhaustive]
pub struct Failure {
    /// The guest.
    pub domain: String,
    /// Where it failed.
    pub step: Step,
    /// Why.
    #[source]
    pub error: MigrateError,
    /// Where the guest is now.
    pub placement: Placement,
    /// What the administrator should run, one command or check per entry.
    pub fix: Vec<String>,
    /// The source copy's state as the sender last saw it, and anything else worth saying.
    pub notes: Vec<String>,
}

impl Failure {
    /// The exit code of this end ([`EXIT_ON_SOURCE`] or [`EXIT_NEEDS_ADMIN`]).
    pub fn exit_code(&self) -> u8 {
        match self.placement {
            Placement::RunningOnSource => EXIT_ON_SOURCE,
            Placement::SuspendedOnSource | Placement::Ambiguous => EXIT_NEEDS_ADMIN,
        }
    }

    /// One line for the administrator: where the guest is.
    pub fn placement_text(&self) -> String {
        match self.placement {
            Placement::RunningOnSource => {
                format!("{} is still running on this host (the source)", self.domain)
            }
            Placement::SuspendedOnSource => format!(
                "{} is suspended on this host (the source) and runs nowhere",
                self.domain
            ),
            Placement::Ambiguous => format!(
                "{} may be running on the target, or be suspended here as {}--migratedaway: check both hosts",
                self.domain, self.domain
            ),
        }
    }
}

/// The result of [`super::send`]: the guest moved, or a [`Failure`].
pub type SendResult = Result<Summary, Box<Failure>>;
