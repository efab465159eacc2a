//! SIGINT and SIGTERM during `xenadm image grow`: blocked while the image grows and read
//! through a signalfd between chunks, so a signal cuts a growth in progress back to the old
//! size (or, arriving when the growth is done, lets it finish and sync), and the command says
//! which.

use std::io;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::error::CliError;

/// The stop signals, blocked for the time of the growth.
#[derive(Debug)]
pub struct GrowSignals {
    set: SigSet,
    fd: SignalFd,
    /// The first stop signal received.
    pub received: Option<Signal>,
}

impl GrowSignals {
    /// Blocks SIGINT and SIGTERM in this thread and opens a non-blocking signalfd for them.
    pub fn block() -> Result<GrowSignals, CliError> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        set.add(Signal::SIGTERM);
        let system = |e: nix::Error| CliError::Output(io::Error::from(e));
        set.thread_block().map_err(system)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(system)?;
        Ok(GrowSignals {
            set,
            fd,
            received: None,
        })
    }

    /// Whether a stop signal has come (reads the pending ones without waiting).
    pub fn poll(&mut self) -> bool {
        while let Ok(Some(info)) = self.fd.read_signal() {
            if self.received.is_none() {
                self.received = i32::try_from(info.ssi_signo)
                    .ok()
                    .and_then(|n| Signal::try_from(n).ok());
            }
        }
        self.received.is_some()
    }

    /// Reads the pending signals and unblocks them again (when dropped): the first stop
    /// signal received, if any.
    pub fn release(mut self) -> Option<Signal> {
        self.poll();
        self.received
    }
}

/// The shell's exit status for a command stopped by `signal`: 128 + its number.
pub fn signal_exit_code(signal: Signal) -> u8 {
    u8::try_from(128 + signal as i32).unwrap_or(u8::MAX)
}

/// The signal's name, or "a signal" when none is known.
pub fn signal_name(signal: Option<Signal>) -> &'static str {
    signal.map_or("a signal", Signal::as_str)
}

impl Drop for GrowSignals {
    fn drop(&mut self) {
        // A signal that came in between is handled above; unblocking delivers none twice
        // because the signalfd read it.
        let _ = self.set.thread_unblock();
    }
}
