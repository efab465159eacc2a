//! Live migration, wire-compatible with `xl migrate` in both directions: `xenadm migrate`
//! ([`send`]) and `xenadm migrate-receive` ([`receive`]).
//!
//! The bytes are xl's (reference `migration.md` §1.3): the receiver's banner (no NUL), the xl
//! save header with the config as JSON, the libxl v2 stream written by
//! `libxl_domain_suspend`, "ready", GO, the report and one status byte, and GO back after a
//! failure at the target. A xenadm sender talks to `xl migrate-receive`, and `xl migrate`
//! talks to `xenadm migrate-receive`.
//!
//! | file | purpose |
//! |---|---|
//! | [`protocol`] | the fixed messages, the header read exactly and bounded, config JSON edits |
//! | `run` | [`run`]: `xenadm migrate`'s whole sequence (request checks, shared ssh, preflight gate, signals, backend, [`send`]) |
//! | `rune` | the transport command, as xl builds it |
//! | `transport` | the `sh -c RUNE` child (or any pair of streams) and [`Control`] (cancel) |
//! | `pump` | the stream from libxl's pipe to the transport, through [`crate::stream::relay`] |
//! | `progress` | phases, passes, rates and the downtime estimate |
//! | `saver` | libxc's progress through libxl's logger (passes, the suspend) as typed events |
//! | `sender` / `receiver` | the two state machines |
//! | `backend` | [`MigrationBackend`] and the real [`LibxlBackend`] |
//! | [`engine`] | `--engine xenadm`: [`engine::EngineBackend`], our own pre-copy engine over libxenguest's `xc_domain_save` with [`engine::policy`] (downtime target, auto-converge, abort) instead of `libxl_domain_suspend` |
//! | `fake` | [`FakeHost`], an in-memory host for protocol tests |
//! | `outcome` | where the guest is after a failure, exit codes, the fix |
//! | `render` | the texts the commands print (phases, progress, summary, failure) |
//!
//! The sender goes beyond xl where xl leaves the administrator alone: it resumes the guest
//! only when it really is suspended (xl resumes blindly), closes the transport first so the
//! target drops its partial copy, says after any failure which host runs the guest
//! ([`Placement`]) and the commands that fix it, reports progress and the downtime, and can be
//! cancelled before GO ([`Control`]).
//!
//! ```
//! use std::os::unix::net::UnixStream;
//! use xen_core::migrate::{self, Control, FakeHost, ReceiveOptions, SendOptions, Transport};
//!
//! // Two fake hosts and a socket pair for each direction (no Xen needed).
//! let (source, target) = (FakeHost::new(), FakeHost::new());
//! source.add_guest("web1", 64);
//! let (s2r_tx, s2r_rx) = UnixStream::pair()?;
//! let (r2s_tx, r2s_rx) = UnixStream::pair()?;
//! let receiver = std::thread::spawn({
//!     let target = target.clone();
//!     move || {
//!         let input = std::fs::File::from(std::os::fd::OwnedFd::from(s2r_rx));
//!         let mut output = r2s_tx;
//!         migrate::receive(&mut target.backend(), &input, &mut output,
//!                          &ReceiveOptions::default(), &mut |_| {})
//!     }
//! });
//! let options = SendOptions::new("web1", "(socket pair)");
//! let mut backend = source.backend();
//! let prepared = migrate::prepare(&mut backend, &options)?;
//! let transport = Transport::from_streams(Box::new(s2r_tx), Box::new(r2s_rx), None, "pair");
//! let summary = migrate::send_over(&mut backend, &prepared, &options, transport,
//!                                  &Control::new(), Box::new(|_| {}))?;
//! assert_eq!(summary.domain, "web1");
//! assert!(source.domains().is_empty());
//! assert_eq!(receiver.join().unwrap()?.name, "web1");
//! assert_eq!(target.domain("web1").unwrap().state, migrate::DomainState::Running);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backend;
pub mod engine;
mod error;
mod fake;
mod outcome;
mod output;
mod progress;
pub mod protocol;
mod pump;
mod receiver;
mod render;
mod run;
mod rune;
mod saver;
mod sender;
mod transport;
pub mod wire;

pub use backend::{DomainState, LibxlBackend, MigrationBackend};
pub use error::{MigrateError, Step, status_text};
pub use fake::{
    ERROR_FAIL, ERROR_GUEST_TIMEDOUT, FakeBackend, FakeDomain, FakeHost, read_stream_exactly,
};
pub use outcome::{EXIT_MOVED, EXIT_NEEDS_ADMIN, EXIT_ON_SOURCE, Failure, Placement, SendResult};
pub use progress::{DowntimeFrom, Event, Phase, ProgressSink, Summary, Transfer};
pub use pump::pump;
pub use receiver::{ReceiveOptions, Received, XL_LOCK_PATH, receive, receiver_stdio};
#[cfg(feature = "serde")]
pub use render::failure_json;
pub use render::{
    ProgressView, SUSPEND_ABI_NAMES, cancel_text, failure_text, log_level, parse_bandwidth,
    parse_suspend_abi, phase_text, policy_text, progress_text, resume_text, saver_text,
    summary_text, suspend_abi, target_label,
};
pub use run::{Engine, MigrateRequest, PolicyRequest, RunError, RunHooks, SUSPEND_ABI_ENV, run};
pub use rune::{DEFAULT_RECEIVE_COMMAND, RuneOptions, rune};
pub use saver::{SaverEvent, SaverSink, parse_log_line, parse_progress};
pub use sender::{Prepared, SendOptions, prepare, resume_on_source, send, send_over};
pub use transport::{Breaker, Control, Transport};
