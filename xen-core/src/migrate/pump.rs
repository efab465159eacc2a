//! The pump: libxl writes the stream into a pipe, a thread copies it to the transport through
//! the stream module's pass-through parser ([`crate::stream::relay`]), which gives passes and
//! pages on the way. If the transport fails, the pump closes the pipe, so libxl's next write
//! fails and `libxl_domain_suspend` returns instead of blocking.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::output::StreamOut;
use super::progress::{Event, PassTracker, ProgressSink, emit};
use crate::XenError;
use crate::stream::{Item, LibxcRecord, RelayEvent, RelayReport, relay};

/// How often progress is reported (besides at each new pass).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The size the pump asks for its input pipe (Linux's default is 64 KiB). libxl's saver
/// writes a 4 MiB PAGE_DATA record with one `writev`; with 64 KiB of pipe the writer and the
/// pump take turns every 64 KiB (a context switch each), and every read returns at most
/// 64 KiB. At 1 MiB (the unprivileged limit, /proc/sys/fs/pipe-max-size) each read fills the
/// relay's whole 128 KiB buffer and the writer blocks 16 times less often.
const PIPE_BYTES: i32 = 1 << 20;

/// What the pump thread hands back.
#[derive(Debug)]
pub(crate) struct PumpOutcome<W> {
    /// The transport's writing half, for the GO message.
    pub(crate) output: W,
    /// Passes and timing.
    pub(crate) tracker: PassTracker,
    /// The relay's report, or the I/O error that ended it.
    pub(crate) result: Result<RelayReport, XenError>,
}

/// Copies `input` to `output` until end of input through the pass-through parser, reporting
/// progress to `sink`; returns the bytes and the pages of each pass. What the sender runs on
/// its pump thread (public for benchmarks and tools that pump a stream themselves).
pub fn pump<W: Write>(
    input: File,
    output: &mut W,
    guest_pages: Option<u64>,
    sink: &Mutex<ProgressSink>,
) -> Result<(u64, Vec<u64>), XenError> {
    let (tracker, result) = run(input, output, guest_pages, sink);
    result.map(|report| (report.bytes, tracker.passes))
}

fn run<W: Write>(
    input: File,
    output: &mut W,
    guest_pages: Option<u64>,
    sink: &Mutex<ProgressSink>,
) -> (PassTracker, Result<RelayReport, XenError>) {
    // Not a pipe (a file, a socket) or a lower limit: the default size works, only slower.
    let _ = nix::fcntl::fcntl(&input, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_BYTES));
    let mut tracker = PassTracker::new(guest_pages);
    let mut last_report = Instant::now();
    let result = relay(&input, output, |event| {
        let mut report = false;
        match event {
            RelayEvent::Forwarded { total_bytes } => {
                tracker.bytes(total_bytes);
                report = last_report.elapsed() >= PROGRESS_EVERY;
            }
            RelayEvent::Item(located) => {
                if let Item::Libxc(LibxcRecord::PageData(pages)) = &located.item
                    && let (Some(first), Some(last)) = (pages.pfns.first(), pages.pfns.last())
                {
                    report = tracker.pages(first.pfn(), last.pfn(), pages.pfns.len() as u64);
                }
            }
            _ => {}
        }
        if report {
            last_report = Instant::now();
            emit(sink, &Event::Progress(tracker.transfer));
        }
    });
    // Closing the pipe here (on error: at once) makes libxl's next write fail.
    drop(input);
    emit(sink, &Event::Progress(tracker.transfer));
    (tracker, result)
}

/// Starts copying `input` (the pipe's reading end) to `output` until end of input, then ends
/// the output's stream (the wire encoder's END).
pub(crate) fn spawn(
    input: File,
    output: StreamOut,
    guest_pages: Option<u64>,
    sink: Arc<Mutex<ProgressSink>>,
) -> std::io::Result<JoinHandle<PumpOutcome<StreamOut>>> {
    std::thread::Builder::new()
        .name("migrate-pump".to_string())
        .spawn(move || {
            let mut output = output;
            let (tracker, mut result) = run(input, &mut output, guest_pages, &sink);
            if result.is_ok()
                && let Err(source) = output.end_stream()
            {
                result = Err(XenError::StreamWrite {
                    what: "the transport (end of the compressed stream)".to_string(),
                    offset: tracker.transfer.bytes,
                    source,
                });
            }
            PumpOutcome {
                output,
                tracker,
                result,
            }
        })
}
