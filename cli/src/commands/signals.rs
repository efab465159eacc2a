//! SIGINT and SIGTERM for the commands that stop cleanly on them: blocked, and read through a
//! signalfd at points the command chooses. `xenadm image grow` polls between chunks, so a
//! signal cuts a growth in progress back to the old size (or, arriving when the growth is
//! done, lets it finish and sync), and the command says which; `xenadm top -b` waits on it
//! between samples, so a signal ends the stream between lines and cuts the wait short.

use std::io;

use std::os::fd::AsFd as _;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::error::CliError;

/// The stop signals, blocked for the time of the work (unblocked again when dropped).
#[derive(Debug)]
pub struct StopSignals {
    set: SigSet,
    fd: SignalFd,
    /// The first stop signal received.
    pub received: Option<Signal>,
}

impl StopSignals {
    /// Blocks SIGINT and SIGTERM in this thread and opens a non-blocking signalfd for them.
    pub fn block() -> Result<StopSignals, CliError> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        set.add(Signal::SIGTERM);
        let system = |e: nix::Error| CliError::Output(io::Error::from(e));
        set.thread_block().map_err(system)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(system)?;
        Ok(StopSignals {
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

    /// Waits up to `delay` for a stop signal; `true` when one came (now or before).
    pub fn wait(&mut self, delay: Duration) -> bool {
        if self.poll() {
            return true;
        }
        let ms = i32::try_from(delay.as_millis()).unwrap_or(i32::MAX);
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(n) if n > 0 => self.poll(),
            _ => false,
        }
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

impl Drop for StopSignals {
    fn drop(&mut self) {
        // A signal that came in between is handled above; unblocking delivers none twice
        // because the signalfd read it.
        let _ = self.set.thread_unblock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_a_stop_signal_cuts_the_wait_short_and_is_kept() {
        let mut signals = StopSignals::block().unwrap();
        assert!(!signals.wait(Duration::from_millis(10)));
        assert!(!signals.poll());
        // Blocked in this thread, so raise() leaves it pending for the signalfd.
        nix::sys::signal::raise(Signal::SIGTERM).unwrap();
        let started = std::time::Instant::now();
        assert!(signals.wait(Duration::from_secs(30)));
        assert!(started.elapsed() < Duration::from_secs(5));
        // A later signal is read too; the first one is the one kept.
        nix::sys::signal::raise(Signal::SIGINT).unwrap();
        assert!(signals.wait(Duration::ZERO));
        assert_eq!(signals.release(), Some(Signal::SIGTERM));
        assert_eq!(signal_exit_code(Signal::SIGTERM), 143);
        assert_eq!(signal_name(None), "a signal");
    }
}
