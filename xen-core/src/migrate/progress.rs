//! What a migration reports while it runs, and how the pump's view of the stream becomes
//! passes, rates and the downtime estimate.

use std::time::{Duration, Instant};

/// A phase of the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum Phase {
    /// Starting the transport, waiting for the receiver's banner.
    Connecting,
    /// Sending the xl save header and config.
    Header,
    /// libxl is writing the stream (live passes, then stop-and-copy).
    Transfer,
    /// The stream is sent; the target is restoring.
    WaitingForTarget,
    /// GO sent: the target renames and unpauses its copy.
    Handover,
    /// Rolling back: the guest is being resumed on the source.
    RollingBack,
}

/// The transfer so far, as the pump sees it in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Transfer {
    /// Bytes sent to the target (stream only, without the header).
    pub bytes: u64,
    /// The pre-copy pass being sent, 0 for the first (full) one, as libxc's "Frames
    /// iteration N".
    pub pass: u32,
    /// Pages sent in this pass.
    pub pass_pages: u64,
    /// Pages sent in all passes.
    pub pages: u64,
    /// The guest's memory in pages (from its config), if known.
    pub guest_pages: Option<u64>,
    /// Seconds since the stream started.
    pub elapsed_s: f64,
    /// MiB/s over the transfer so far.
    pub mib_per_s: f64,
    /// Seconds the first pass still needs at this rate (later passes are short and unknown
    /// in advance).
    pub eta_s: Option<f64>,
}

/// One progress event.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(tag = "event", rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum Event {
    /// A new phase.
    Phase {
        /// Which.
        phase: Phase,
    },
    /// Transfer progress (at most every 100 ms, and at each new pass).
    Progress(Transfer),
    /// libxc's own report, through libxl's logger (its passes, the suspend).
    Saver(super::saver::SaverEvent),
}

/// Where the downtime's start was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum DowntimeFrom {
    /// libxc's "Domain now suspended", through libxl's logger.
    Libxl,
    /// Estimated from the stream: the end of the last live pass.
    Stream,
}

/// Where progress goes (called from the pump thread too).
pub type ProgressSink = Box<dyn FnMut(&Event) + Send>;

/// Pass boundaries and timing from the stream's PAGE_DATA records: the saver walks its dirty
/// bitmap in pfn order, so a record whose first pfn is not above the previous record's last
/// starts a new pass.
#[derive(Debug)]
pub(crate) struct PassTracker {
    start: Instant,
    last_pfn: Option<u64>,
    /// Pages of each pass.
    pub(crate) passes: Vec<u64>,
    /// When each pass started and when its last record arrived.
    times: Vec<(Instant, Instant)>,
    pub(crate) transfer: Transfer,
}

impl PassTracker {
    pub(crate) fn new(guest_pages: Option<u64>) -> PassTracker {
        PassTracker {
            start: Instant::now(),
            last_pfn: None,
            passes: Vec::new(),
            times: Vec::new(),
            transfer: Transfer {
                guest_pages,
                ..Transfer::default()
            },
        }
    }

    /// A PAGE_DATA record with these pfns arrived; true when it started a new pass.
    pub(crate) fn pages(&mut self, first_pfn: u64, last_pfn: u64, count: u64) -> bool {
        let now = Instant::now();
        let new_pass = self.passes.is_empty() || self.last_pfn.is_some_and(|l| first_pfn <= l);
        if new_pass {
            self.passes.push(0);
            self.times.push((now, now));
        }
        self.last_pfn = Some(last_pfn);
        if let (Some(pages), Some(time)) = (self.passes.last_mut(), self.times.last_mut()) {
            *pages += count;
            time.1 = now;
        }
        self.transfer.pass = u32::try_from(self.passes.len().saturating_sub(1)).unwrap_or(u32::MAX);
        self.transfer.pass_pages = self.passes.last().copied().unwrap_or(0);
        self.transfer.pages += count;
        new_pass
    }

    /// Bytes forwarded so far; refreshes the rates.
    pub(crate) fn bytes(&mut self, total: u64) {
        let t = &mut self.transfer;
        t.bytes = total;
        t.elapsed_s = self.start.elapsed().as_secs_f64();
        if t.elapsed_s > 0.0 {
            t.mib_per_s = total as f64 / (1 << 20) as f64 / t.elapsed_s;
        }
        t.eta_s = match (t.pass, t.guest_pages) {
            (0, Some(guest)) if t.pass_pages > 0 => first_pass_eta(guest, total, t.elapsed_s),
            _ => None,
        };
    }

    /// When the guest was suspended, estimated from the stream: the end of the last live pass
    /// (libxc suspends right after it and then sends the final pass). `None` for a stream with
    /// a single pass.
    pub(crate) fn suspended_at(&self) -> Option<Instant> {
        let n = self.times.len();
        (n >= 2).then(|| self.times[n - 2].1)
    }
}

/// Seconds left of the first pass (every page of the guest once) after `bytes` of stream in
/// `elapsed_s`, at the average rate so far. By bytes, not by pages: pages are counted a whole
/// PAGE_DATA record (up to 1,024 pages) at a time, so a page-based estimate grew between
/// records and fell at each one; bytes move smoothly.
fn first_pass_eta(guest_pages: u64, bytes: u64, elapsed_s: f64) -> Option<f64> {
    if bytes == 0 || elapsed_s <= 0.0 {
        return None;
    }
    let pass_bytes = guest_pages.saturating_mul(crate::stream::PAGE_BYTES as u64);
    let rate = bytes as f64 / elapsed_s;
    Some(pass_bytes.saturating_sub(bytes) as f64 / rate)
}

/// The summary of a migration that moved the guest.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Summary {
    /// The guest's name.
    pub domain: String,
    /// Its id on the source.
    pub source_domid: u32,
    /// The whole migration, from starting the transport to the status byte.
    pub total_s: f64,
    /// Stream bytes sent (the xl header not counted).
    pub bytes: u64,
    /// Pages sent in each pass (the last is the stop-and-copy pass).
    pub passes: Vec<u64>,
    /// From the suspend (estimated from the stream) to the target's status byte: the time
    /// the guest ran nowhere.
    pub downtime_s: Option<f64>,
    /// Where the downtime's start came from.
    pub downtime_from: Option<DowntimeFrom>,
    /// The bytes on the wire when both ends used xenadm's wire format (`--compress`).
    pub wire: Option<super::wire::WireStats>,
    /// Things the administrator should know (e.g. a source copy left to destroy).
    pub warnings: Vec<String>,
}

/// Sends one event to a shared sink.
pub(crate) fn emit(sink: &std::sync::Mutex<ProgressSink>, event: &Event) {
    let mut sink = sink
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (*sink)(event);
}

pub(crate) fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_passes_split_where_pfns_restart() {
        let mut t = PassTracker::new(Some(100));
        assert!(t.pages(0, 49, 50));
        assert!(!t.pages(50, 99, 50));
        assert!(t.pages(3, 9, 2));
        assert!(t.pages(1, 1, 1));
        assert_eq!(t.passes, [100, 2, 1]);
        assert_eq!(t.transfer.pass, 2);
        assert_eq!(t.transfer.pages, 103);
        assert!(t.suspended_at().is_some());
        let mut one = PassTracker::new(None);
        one.pages(0, 9, 10);
        assert!(one.suspended_at().is_none());
        one.bytes(1 << 20);
        assert!(one.transfer.eta_s.is_none());
    }

    #[test]
    fn test_first_pass_eta_falls_steadily_at_a_steady_rate() {
        let guest = 32_768; // 128 MiB
        // 1 MiB/s: after 32 s a quarter is sent, 96 s remain; then 64 s, 32 s, and 0.
        let etas: Vec<f64> = [32u64, 64, 96, 128, 140]
            .iter()
            .map(|&s| first_pass_eta(guest, s << 20, s as f64).unwrap())
            .collect();
        assert_eq!(etas, [96.0, 64.0, 32.0, 0.0, 0.0]);
        assert_eq!(first_pass_eta(guest, 0, 5.0), None);
        assert_eq!(first_pass_eta(guest, 1, 0.0), None);
    }
}
