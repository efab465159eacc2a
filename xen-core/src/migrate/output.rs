//! Where the sender's pump writes the stream: the transport, through xenadm's wire encoder
//! when both ends agreed on it ([`super::wire`]), and paced to `--bandwidth` (which works
//! towards xl too: it only delays this end's writes), and stopped by a cancel: the transport
//! cannot be trusted to break when its process is killed (an OpenSSH multiplexing client hands
//! its pipes to the master connection, which goes on reading them), so the writer itself
//! refuses to write once the migration is cancelled.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use super::transport::Control;
use super::wire::{WireEncoder, WireStats};

/// The most bytes written at once when pacing, so the rate holds at a fine grain.
const PACED_WRITE_BYTES: usize = 64 << 10;

/// Average-rate pacing: after `sent` bytes, the writer may not be ahead of `rate` bytes/s.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacer {
    bytes_per_s: u64,
    start: Instant,
    sent: u64,
}

impl Pacer {
    pub(crate) fn new(bytes_per_s: u64) -> Pacer {
        Pacer {
            bytes_per_s: bytes_per_s.max(1),
            start: Instant::now(),
            sent: 0,
        }
    }

    /// How long to wait after `sent` bytes in all when `elapsed` has passed since the start.
    pub(crate) fn wait(bytes_per_s: u64, sent: u64, elapsed: Duration) -> Duration {
        let due = Duration::from_secs_f64(sent as f64 / bytes_per_s.max(1) as f64);
        due.saturating_sub(elapsed)
    }

    fn account(&mut self, n: usize) {
        self.sent += n as u64;
        let wait = Pacer::wait(self.bytes_per_s, self.sent, self.start.elapsed());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// A writer paced by an optional [`Pacer`] that fails every write once `cancel` is cancelled.
pub(crate) struct Paced {
    inner: Box<dyn Write + Send>,
    pacer: Option<Pacer>,
    cancel: Option<Control>,
}

impl Write for Paced {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.cancel.as_ref().is_some_and(Control::is_cancelled) {
            // Not `Interrupted`: `write_all` would retry that.
            return Err(io::Error::other("the migration was cancelled"));
        }
        let Some(pacer) = &mut self.pacer else {
            return self.inner.write(buf);
        };
        let n = self.inner.write(&buf[..buf.len().min(PACED_WRITE_BYTES)])?;
        pacer.account(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum Mode {
    Plain(Paced),
    Wire(WireEncoder<Paced>),
    Ended(Paced),
}

/// The pump's output.
pub(crate) struct StreamOut {
    mode: Mode,
    wire: Option<WireStats>,
}

impl std::fmt::Debug for StreamOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamOut")
            .field("wire", &self.wire)
            .finish_non_exhaustive()
    }
}

impl StreamOut {
    /// Writes to `inner`, encoded when `wire`, paced to `bytes_per_s` when given, until
    /// `cancel` is cancelled.
    pub(crate) fn new(
        inner: Box<dyn Write + Send>,
        wire: bool,
        bytes_per_s: Option<u64>,
        cancel: Option<Control>,
    ) -> StreamOut {
        let paced = Paced {
            inner,
            pacer: bytes_per_s.map(Pacer::new),
            cancel,
        };
        StreamOut {
            mode: if wire {
                Mode::Wire(WireEncoder::new(paced))
            } else {
                Mode::Plain(paced)
            },
            wire: None,
        }
    }

    /// The stream ended: the encoder frames what it holds and writes END.
    pub(crate) fn end_stream(&mut self) -> io::Result<()> {
        let placeholder = Mode::Ended(Paced {
            inner: Box::new(io::sink()),
            pacer: None,
            cancel: None,
        });
        match std::mem::replace(&mut self.mode, placeholder) {
            Mode::Wire(encoder) => {
                let (paced, stats) = encoder.finish()?;
                self.wire = Some(stats);
                self.mode = Mode::Ended(paced);
            }
            other => self.mode = other,
        }
        Ok(())
    }

    /// The wire counts, when encoded and ended.
    pub(crate) fn wire_stats(&self) -> Option<WireStats> {
        self.wire
    }

    /// The transport's writing half back (for GO).
    pub(crate) fn into_inner(self) -> Box<dyn Write + Send> {
        match self.mode {
            Mode::Plain(p) | Mode::Ended(p) => p.inner,
            Mode::Wire(encoder) => encoder.into_inner().inner,
        }
    }
}

impl Write for StreamOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.mode {
            Mode::Plain(p) => p.write(buf),
            Mode::Wire(e) => e.write(buf),
            Mode::Ended(_) => Err(io::Error::other("the stream already ended")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.mode {
            Mode::Plain(p) | Mode::Ended(p) => p.flush(),
            Mode::Wire(e) => e.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_waits_only_when_ahead() {
        let mib = 1 << 20;
        assert_eq!(
            Pacer::wait(mib, mib, Duration::from_secs(1)),
            Duration::ZERO
        );
        assert_eq!(
            Pacer::wait(mib, mib, Duration::from_secs(2)),
            Duration::ZERO
        );
        assert_eq!(
            Pacer::wait(mib, 3 * mib, Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        assert_eq!(Pacer::wait(0, 1, Duration::ZERO), Duration::from_secs(1));
    }

    #[test]
    fn encoded_output_ends_with_end_and_gives_the_writer_back() {
        let mut out = StreamOut::new(Box::new(Vec::new()), true, Some(1 << 30), None);
        out.write_all(&[5; 10_000]).unwrap();
        out.end_stream().unwrap();
        let stats = out.wire_stats().unwrap();
        assert_eq!(stats.stream_bytes, 10_000);
        assert!(out.write(b"x").is_err());
        let _writer = out.into_inner();
    }

    #[test]
    fn a_cancel_stops_every_later_write() {
        let cancel = Control::new();
        for wire in [false, true] {
            let mut out = StreamOut::new(Box::new(Vec::new()), wire, None, Some(cancel.clone()));
            out.write_all(&[7; 4096]).unwrap();
            if wire {
                out.flush().unwrap();
            }
        }
        assert!(cancel.cancel());
        for (wire, pace) in [(false, None), (false, Some(1 << 30)), (true, None)] {
            let mut out = StreamOut::new(Box::new(Vec::new()), wire, pace, Some(cancel.clone()));
            let error = out
                .write_all(&[7; 2 << 20])
                .and_then(|()| out.flush())
                .unwrap_err();
            assert!(error.to_string().contains("cancelled"), "{error}");
        }
    }
}
