//! The pre-copy policy of xenadm's engine, as pure logic: libxc's `precopy_policy` callback
//! asks it what to do, and it answers from the statistics libxc passes and the clock the
//! engine reads. No Xen here: unit-tested on recorded pass statistics.
//!
//! Xen 4.17's `send_memory_live` asks **twice per pass** (reference `migration-beyond.md`):
//!
//! * **before a pass** (after the dirty bitmap was cleaned; `dirty_count` known, the pages
//!   dirtied during the previous pass): [`Action::Continue`] sends them live, and so does
//!   [`Action::StopAndCopy`], after which libxc suspends the guest and sends only what that
//!   last live pass dirtied. Every decision is taken here.
//! * **after a pass** (`dirty_count` is -1): only a cancel stops here; the pass's duration and
//!   pages give the link's throughput.
//!
//! The downtime estimate is the dirty pages' bytes over the last pass's throughput. The guest
//! is converging while it dirties fewer pages during a pass than the pass sent; when it does
//! not (judged from the second pass on: the first sends every page), `--auto-converge` halves its CPU share (a scheduler cap, applied by the engine and
//! removed afterwards whatever happens) step by step down to [`MIN_CPU_SHARE_PERCENT`].

use std::time::Duration;

/// Bytes of a guest page.
const PAGE_BYTES: u64 = 4096;

/// Without `--max-downtime`, stop-and-copy once fewer pages are dirty than this (libxc's own
/// policy's threshold).
pub const DEFAULT_DIRTY_THRESHOLD_PAGES: u64 = 50;

/// The live passes without `--max-passes` (libxc's own policy's limit).
pub const DEFAULT_MAX_PASSES: u32 = 5;

/// The lowest CPU share auto-converge leaves a guest, in percent of what it had.
pub const MIN_CPU_SHARE_PERCENT: u8 = 5;

/// Passes in a row without convergence (and nothing left to try) before
/// `--abort-if-not-converging` gives up early.
const STRIKES_BEFORE_ABORT: u32 = 2;

/// The options of `xenadm migrate --engine xenadm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyOptions {
    /// `--max-downtime MS`: stop-and-copy once the estimated copy of the dirty pages fits.
    pub max_downtime: Option<Duration>,
    /// `--max-passes N`: live passes at most, the first full one included (at least 1).
    pub max_passes: u32,
    /// `--auto-converge`: cap the guest's CPU while it dirties memory faster than the link.
    pub auto_converge: bool,
    /// `--abort-if-not-converging`: cancel instead of a stop-and-copy that misses the target.
    pub abort_if_not_converging: bool,
}

impl Default for PolicyOptions {
    fn default() -> PolicyOptions {
        PolicyOptions {
            max_downtime: None,
            max_passes: DEFAULT_MAX_PASSES,
            auto_converge: false,
            abort_if_not_converging: false,
        }
    }
}

/// What libxc passes to the policy (`struct precopy_stats`), with the engine's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyCall {
    /// Passes done (libxc's `iteration`).
    pub iteration: u32,
    /// Pages sent so far, all passes (libxc's `total_written`).
    pub total_written: u64,
    /// Pages dirty now, or `None` after a pass (libxc's -1).
    pub dirty_count: Option<u64>,
    /// Time since the save started.
    pub at: Duration,
}

/// What libxc is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum Action {
    /// Another live pass.
    Continue,
    /// This pass, then suspend and copy the rest.
    StopAndCopy,
    /// Abandon the save: the guest keeps running here.
    Abort,
}

/// Why the policy decided what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum Reason {
    /// The first pass sends every page.
    FirstPass,
    /// The pass just ended (the answer after a pass).
    PassEnded,
    /// Still converging, or not yet measured: another pass.
    Converging,
    /// The guest dirties faster than the link: its CPU cap was lowered.
    Throttled,
    /// Not converging, and nothing left to try (or auto-converge is off).
    NotConverging,
    /// The estimated downtime fits `--max-downtime`.
    DowntimeFits,
    /// Few pages dirty (no `--max-downtime`: libxc's threshold).
    FewDirty,
    /// `--max-passes` reached.
    PassLimit,
    /// `--abort-if-not-converging`: the target cannot be met.
    GaveUp,
    /// The administrator cancelled (Ctrl-C).
    Cancelled,
}

/// One answer of the policy, with what it was based on (for the progress display).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Decision {
    /// Passes done when asked.
    pub pass: u32,
    /// What libxc does next.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// Pages dirty, when known.
    pub dirty_pages: Option<u64>,
    /// The last pass's throughput, when measured.
    pub throughput_bytes_per_s: Option<u64>,
    /// The estimated time to copy the dirty pages, in ms.
    pub estimate_ms: Option<u64>,
    /// The guest's CPU share now (100: no cap); changed by this decision when `Throttled`.
    pub cpu_share_percent: u8,
}

impl Decision {
    /// libxc's code for the action (`XGS_POLICY_*`).
    pub fn xgs_code(&self) -> i32 {
        match self.action {
            Action::Continue => 0,
            Action::StopAndCopy => 1,
            Action::Abort => -1,
        }
    }
}

/// One measured pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pass {
    pages: u64,
    duration: Duration,
}

/// The policy's state over one save.
#[derive(Debug, Clone)]
pub struct Policy {
    options: PolicyOptions,
    /// When the pass being sent started (the last "before" answer that sent one).
    started: Option<(Duration, u64)>,
    last_pass: Option<Pass>,
    share_percent: u8,
    strikes: u32,
}

impl Policy {
    /// A policy for one save.
    pub fn new(options: PolicyOptions) -> Policy {
        Policy {
            options: PolicyOptions {
                max_passes: options.max_passes.max(1),
                ..options
            },
            started: None,
            last_pass: None,
            share_percent: 100,
            strikes: 0,
        }
    }

    /// The guest's CPU share the policy asks for now (100: no cap).
    pub fn cpu_share_percent(&self) -> u8 {
        self.share_percent
    }

    /// Answers one call of libxc; `cancelled` when the administrator asked to stop.
    pub fn decide(&mut self, call: PolicyCall, cancelled: bool) -> Decision {
        let mut decision = Decision {
            pass: call.iteration,
            action: Action::Continue,
            reason: Reason::Converging,
            dirty_pages: call.dirty_count,
            throughput_bytes_per_s: self.last_pass.and_then(throughput),
            estimate_ms: None,
            cpu_share_percent: self.share_percent,
        };
        let Some(dirty) = call.dirty_count else {
            // After a pass: measure it.
            if let Some((at, written)) = self.started.take() {
                self.last_pass = Some(Pass {
                    pages: call.total_written.saturating_sub(written),
                    duration: call.at.saturating_sub(at),
                });
                decision.throughput_bytes_per_s = self.last_pass.and_then(throughput);
            }
            decision.reason = Reason::PassEnded;
            if cancelled {
                (decision.action, decision.reason) = (Action::Abort, Reason::Cancelled);
            }
            return decision;
        };
        let (action, reason) = self.before_pass(call, dirty, cancelled, &mut decision);
        decision.action = action;
        decision.reason = reason;
        decision.cpu_share_percent = self.share_percent;
        if action != Action::Abort {
            self.started = Some((call.at, call.total_written));
        }
        decision
    }

    fn before_pass(
        &mut self,
        call: PolicyCall,
        dirty: u64,
        cancelled: bool,
        decision: &mut Decision,
    ) -> (Action, Reason) {
        if cancelled {
            return (Action::Abort, Reason::Cancelled);
        }
        // This pass would be the `iteration + 1`th: the last one allowed is sent live, then
        // libxc suspends (as libxc's own policy, which stops after its 5th pass).
        let last_allowed = call.iteration.saturating_add(1) >= self.options.max_passes;
        let Some(pass) = self.last_pass else {
            if last_allowed {
                return (Action::StopAndCopy, Reason::PassLimit);
            }
            return (Action::Continue, Reason::FirstPass);
        };
        let estimate = throughput(pass).map(|bps| {
            let ms = u128::from(dirty) * u128::from(PAGE_BYTES) * 1000 / u128::from(bps);
            Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
        });
        decision.estimate_ms = estimate.map(|e| u64::try_from(e.as_millis()).unwrap_or(u64::MAX));
        let fits = match self.options.max_downtime {
            Some(target) => estimate.is_some_and(|e| e <= target),
            None => dirty < DEFAULT_DIRTY_THRESHOLD_PAGES,
        };
        if fits {
            let reason = if self.options.max_downtime.is_some() {
                Reason::DowntimeFits
            } else {
                Reason::FewDirty
            };
            return (Action::StopAndCopy, reason);
        }
        // Pages dirtied during the last pass against the pages it sent in the same time:
        // the dirty rate against the link's (within 10 %).
        let converging = dirty.saturating_mul(10) < pass.pages.saturating_mul(9);
        if last_allowed {
            if self.options.abort_if_not_converging {
                return (Action::Abort, Reason::GaveUp);
            }
            return (Action::StopAndCopy, Reason::PassLimit);
        }
        // The first pass sends every page, whatever the guest dirties: judge from the second.
        if converging || call.iteration <= 1 {
            self.strikes = 0;
            return (Action::Continue, Reason::Converging);
        }
        if self.options.auto_converge && self.share_percent > MIN_CPU_SHARE_PERCENT {
            self.share_percent = (self.share_percent / 2).max(MIN_CPU_SHARE_PERCENT);
            return (Action::Continue, Reason::Throttled);
        }
        self.strikes += 1;
        if self.options.abort_if_not_converging && self.strikes >= STRIKES_BEFORE_ABORT {
            return (Action::Abort, Reason::GaveUp);
        }
        (Action::Continue, Reason::NotConverging)
    }
}

/// Bytes per second of a pass (`None` for an empty or instant one).
fn throughput(pass: Pass) -> Option<u64> {
    let micros = pass.duration.as_micros();
    if pass.pages == 0 || micros == 0 {
        return None;
    }
    let bps = u128::from(pass.pages) * u128::from(PAGE_BYTES) * 1_000_000 / micros;
    u64::try_from(bps).ok().filter(|&b| b > 0)
}

/// The scheduler cap (percent of one physical CPU, 0 = none) that gives a guest `share`
/// percent of what `current_cap` allows its `vcpus`.
pub fn cap_for_share(current_cap: u16, vcpus: u32, share_percent: u8) -> u16 {
    let base = if current_cap == 0 {
        u64::from(vcpus.max(1)) * 100
    } else {
        u64::from(current_cap)
    };
    if share_percent >= 100 {
        return current_cap;
    }
    let cap = (base * u64::from(share_percent) / 100).max(1);
    u16::try_from(cap).unwrap_or(u16::MAX)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
