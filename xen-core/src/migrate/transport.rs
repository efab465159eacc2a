//! The sender's transport (the rune's `sh -c` child, or any pair of streams) and the
//! cancellation control that can break it before the point of no return.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::error::MigrateError;

/// A way to break the transport (so that blocked reads and writes on it return).
pub type Breaker = Arc<dyn Fn() + Send + Sync>;

/// The two directions to the receiver.
pub struct Transport {
    /// Sender to receiver: the header, the stream, GO.
    pub to_receiver: Box<dyn Write + Send>,
    /// Receiver to sender: the banner, "ready", the report and status, GO back.
    pub from_receiver: Box<dyn Read + Send>,
    child: Option<Child>,
    breaker: Option<Breaker>,
    /// What it is, for messages (the rune).
    pub description: String,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("description", &self.description)
            .field("child", &self.child.as_ref().map(Child::id))
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Runs `sh -c RUNE` with piped stdin and stdout (stderr is inherited: the remote side's
    /// messages reach the administrator), in its own process group so that a Ctrl-C at the
    /// terminal reaches xenadm only, which decides what to do.
    pub fn spawn(rune: &str) -> Result<Transport, MigrateError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(rune)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|source| MigrateError::Spawn {
                rune: rune.to_string(),
                source,
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(MigrateError::Spawn {
                rune: rune.to_string(),
                source: std::io::Error::other("no pipes to the child"),
            });
        };
        let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
        Ok(Transport {
            to_receiver: Box::new(stdin),
            from_receiver: Box::new(stdout),
            child: Some(child),
            breaker: Some(Arc::new(move || {
                let _ = killpg(group, Signal::SIGTERM);
            })),
            description: rune.to_string(),
        })
    }

    /// A transport over given streams; `breaker` breaks them (e.g. shuts a socket down).
    pub fn from_streams(
        to_receiver: Box<dyn Write + Send>,
        from_receiver: Box<dyn Read + Send>,
        breaker: Option<Breaker>,
        description: &str,
    ) -> Transport {
        Transport {
            to_receiver,
            from_receiver,
            child: None,
            breaker,
            description: description.to_string(),
        }
    }

    pub(crate) fn breaker(&self) -> Option<Breaker> {
        self.breaker.clone()
    }

    /// Closes both directions and waits up to `grace` for the child (as xl, 2 s), then kills
    /// it. A transport over streams is broken with its breaker. Returns how a child ended, for
    /// messages.
    pub fn close(self, grace: Duration) -> Option<String> {
        let Transport {
            to_receiver,
            from_receiver,
            child,
            breaker,
            ..
        } = self;
        drop(to_receiver);
        drop(from_receiver);
        let Some(mut child) = child else {
            if let Some(breaker) = breaker {
                breaker();
            }
            return None;
        };
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status.to_string()),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    return child
                        .wait()
                        .ok()
                        .map(|s| format!("{s} (killed after {grace:?})"));
                }
            }
        }
    }
}

/// Cancellation of a migration, shared with a signal-handling thread. Cancelling breaks the
/// transport; it is refused once GO is being sent (the point of no return).
#[derive(Clone, Default)]
pub struct Control(Arc<ControlState>);

#[derive(Default)]
struct ControlState {
    cancelled: AtomicBool,
    inner: Mutex<ControlInner>,
}

#[derive(Default)]
struct ControlInner {
    past_go: bool,
    breaker: Option<Breaker>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl Control {
    /// A control nobody has cancelled.
    pub fn new() -> Control {
        Control::default()
    }

    /// Asks to cancel. True when it takes effect (before GO): the transport is broken, the
    /// sender rolls back and the guest keeps running on the source. False after GO.
    pub fn cancel(&self) -> bool {
        let mut inner = self.0.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.past_go {
            return false;
        }
        self.0.cancelled.store(true, Ordering::SeqCst);
        if let Some(breaker) = inner.breaker.take() {
            breaker();
        }
        true
    }

    /// Whether a cancel took effect.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    pub(crate) fn arm(&self, breaker: Option<Breaker>) {
        let mut inner = self.0.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.past_go = false;
        inner.breaker = breaker;
        if self.is_cancelled()
            && let Some(breaker) = inner.breaker.take()
        {
            breaker();
        }
    }

    /// Enters the point of no return unless cancelled; false when cancelled.
    pub(crate) fn pass_point_of_no_return(&self) -> bool {
        let mut inner = self.0.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if self.is_cancelled() {
            return false;
        }
        inner.past_go = true;
        inner.breaker = None;
        true
    }
}

impl Control {
    /// Makes SIGINT and SIGTERM cancel this migration: blocks both in the calling thread
    /// (call it before any other thread or child exists, so every thread inherits the mask)
    /// and waits for them on a thread of its own, which calls `notify` with
    /// [`super::render::cancel_text`].
    pub fn cancel_on_signals(&self, notify: impl Fn(&str) + Send + 'static) -> std::io::Result<()> {
        use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
        let mut signals = SigSet::empty();
        signals.add(Signal::SIGINT);
        signals.add(Signal::SIGTERM);
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&signals), None)?;
        let canceller = self.clone();
        std::thread::Builder::new()
            .name("migrate-signals".to_string())
            .spawn(move || {
                while let Ok(signal) = signals.wait() {
                    let took_effect = canceller.cancel();
                    notify(&super::render::cancel_text(signal.as_str(), took_effect));
                }
            })?;
        Ok(())
    }
}
