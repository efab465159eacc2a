//! The migration as the administrator reads it: phase lines, the progress line, the summary,
//! a failure with where the guest is and the fix, and the small decisions the commands make
//! (log level, suspend ABI, the target's label). The CLI parses, calls and prints these.

use std::fmt::Write as _;

use super::engine::policy::{Action, Decision, Reason};
use super::error::MigrateError;
use super::outcome::Failure;
use super::progress::{Event, Phase, Summary, Transfer};
use super::saver::SaverEvent;
use crate::ffi::{LogLevel, SuspendAbi};
use crate::host::DomId;

/// The message of a bad suspend ABI name.
pub const SUSPEND_ABI_NAMES: &str = "neutral, upstream or props";

/// The log level of libxl's messages for `-v` given `verbose` times.
pub fn log_level(verbose: u8) -> LogLevel {
    match verbose {
        0 => LogLevel::Error,
        1 => LogLevel::Info,
        _ => LogLevel::Debug,
    }
}

/// Parses a suspend ABI name, with [`SUSPEND_ABI_NAMES`] as the error.
pub fn parse_suspend_abi(name: &str) -> Result<SuspendAbi, String> {
    SuspendAbi::from_name(name).ok_or_else(|| SUSPEND_ABI_NAMES.to_string())
}

/// `--bandwidth`'s MiB per second (decimals allowed) as bytes per second.
// Below 1e9 MiB/s the product fits a u64 (and a float-to-int cast saturates anyway).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn parse_bandwidth(text: &str) -> Result<u64, String> {
    match text.parse::<f64>() {
        Ok(mib) if mib.is_finite() && mib > 0.0 && mib < 1e9 => {
            Ok((mib * f64::from(1 << 20)) as u64)
        }
        _ => Err("a positive number of MiB per second, e.g. 100 or 12.5".to_string()),
    }
}

/// The suspend ABI: the option's, else `$XENADM_SUSPEND_ABI`'s (`env`), else the default.
pub fn suspend_abi(
    option: Option<SuspendAbi>,
    env: Option<&str>,
) -> Result<SuspendAbi, MigrateError> {
    match (option, env) {
        (Some(abi), _) => Ok(abi),
        (None, Some(name)) => parse_suspend_abi(name).map_err(|expected| MigrateError::Config {
            message: format!("XENADM_SUSPEND_ABI={name:?}: expected {expected}"),
        }),
        (None, None) => Ok(SuspendAbi::default()),
    }
}

/// How the target is named in the summary: the host, or for `-s ""` the transport command.
pub fn target_label(ssh: Option<&str>, host: &str) -> String {
    if ssh == Some("") {
        format!("the target of `{host}`")
    } else {
        host.to_string()
    }
}

/// A phase, as a line of the sender's progress.
pub fn phase_text(phase: Phase) -> &'static str {
    match phase {
        Phase::Connecting => "connecting to the receiver",
        Phase::Header => "sending the config",
        Phase::Transfer => "transferring memory (the guest keeps running)",
        Phase::WaitingForTarget => "stream sent; the target is restoring",
        Phase::Handover => "point of no return: the target starts the guest",
        Phase::RollingBack => "rolling back: the guest stays here",
    }
}

/// The progress bar's message for the transfer so far.
pub fn progress_text(t: &Transfer) -> String {
    let eta = t
        .eta_s
        .map(|s| format!(", ETA {s:.0} s"))
        .unwrap_or_default();
    let of = t
        .guest_pages
        .map(|g| format!(" of {g}"))
        .unwrap_or_default();
    format!(
        "pass {}: {} pages{of} sent this pass, {} in all, {:.1} MiB at {:.1} MiB/s{eta}",
        t.pass,
        t.pass_pages,
        t.pages,
        t.bytes as f64 / f64::from(1 << 20),
        t.mib_per_s
    )
}

/// libxc's report as a few words: `libxc pass 1: 1024/4096 pages, 3072 dirty left`.
pub fn saver_text(event: &SaverEvent) -> String {
    match event {
        SaverEvent::StreamStart => "libxc: stream started".to_string(),
        SaverEvent::Pass {
            pass,
            sent,
            total,
            dirty_left,
            ..
        } => format!("libxc pass {pass}: {sent}/{total} pages, {dirty_left} dirty left"),
        SaverEvent::Suspended => "libxc: guest suspended, sending the last pages".to_string(),
        SaverEvent::Verify { sent, total } => format!("libxc verify: {sent}/{total} pages"),
        SaverEvent::StreamEnd | SaverEvent::Complete => "libxc: stream complete".to_string(),
        SaverEvent::Policy(decision) => policy_text(decision),
    }
}

/// One decision of xenadm's pre-copy policy, e.g. `policy after pass 3: 9100 pages dirty,
/// ~2210 ms at 16.0 MiB/s: not converging, CPU capped to 50 %: another pass`.
pub fn policy_text(decision: &Decision) -> String {
    let mut facts = Vec::new();
    if let Some(dirty) = decision.dirty_pages {
        facts.push(format!("{dirty} pages dirty"));
    }
    match (decision.estimate_ms, decision.throughput_bytes_per_s) {
        (Some(ms), Some(bps)) => facts.push(format!(
            "~{ms} ms at {:.1} MiB/s",
            bps as f64 / (1024.0 * 1024.0)
        )),
        (None, Some(bps)) => facts.push(format!("{:.1} MiB/s", bps as f64 / (1024.0 * 1024.0))),
        _ => {}
    }
    let why = match decision.reason {
        Reason::FirstPass => "first pass, every page".to_string(),
        Reason::PassEnded => "pass ended".to_string(),
        Reason::Converging => "converging".to_string(),
        Reason::Throttled => format!(
            "dirtying faster than the link: CPU capped to {} %",
            decision.cpu_share_percent
        ),
        Reason::NotConverging => "not converging".to_string(),
        Reason::DowntimeFits => "fits --max-downtime".to_string(),
        Reason::FewDirty => "few pages dirty".to_string(),
        Reason::PassLimit => "pass limit reached".to_string(),
        Reason::GaveUp => "cannot converge (--abort-if-not-converging)".to_string(),
        Reason::Cancelled => "cancelled".to_string(),
    };
    let action = match decision.action {
        Action::Continue if decision.reason == Reason::PassEnded => "",
        Action::Continue => ": another pass",
        Action::StopAndCopy => ": last live pass, then suspend and copy the rest",
        Action::Abort => ": abort, the guest keeps running here",
    };
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!("{}: ", facts.join(", "))
    };
    format!("policy after pass {}: {facts}{why}{action}", decision.pass)
}

/// The progress bar's state: the last transfer and libxc report, shown together.
#[derive(Debug, Default)]
pub struct ProgressView {
    transfer: Option<String>,
    saver: Option<String>,
}

impl ProgressView {
    /// Takes one event; returns the bar's new message.
    pub fn update(&mut self, event: &Event) -> String {
        match event {
            Event::Phase { phase } => {
                self.transfer = None;
                self.saver = None;
                return phase_text(*phase).to_string();
            }
            Event::Progress(t) => self.transfer = Some(progress_text(t)),
            Event::Saver(s) => self.saver = Some(saver_text(s)),
        }
        match (&self.transfer, &self.saver) {
            (Some(t), Some(s)) => format!("{t} [{s}]"),
            (Some(t), None) => t.clone(),
            (None, Some(s)) => s.clone(),
            (None, None) => String::new(),
        }
    }
}

/// The line printed after a successful migration to `target` ([`target_label`]).
pub fn summary_text(summary: &Summary, target: &str) -> String {
    let downtime = summary
        .downtime_s
        .map(|d| format!(", downtime {:.0} ms", d * 1000.0))
        .unwrap_or_default();
    let passes: Vec<String> = summary.passes.iter().map(u64::to_string).collect();
    let wire = summary
        .wire
        .map(|w| {
            format!(
                ", {:.1} MiB on the wire (compressed)",
                w.wire_bytes as f64 / f64::from(1 << 20)
            )
        })
        .unwrap_or_default();
    format!(
        "Migration successful: {} moved to {target} in {:.1} s, {:.1} MiB in {} passes (pages {}){downtime}{wire}\n",
        summary.domain,
        summary.total_s,
        summary.bytes as f64 / f64::from(1 << 20),
        summary.passes.len(),
        passes.join(", "),
    )
}

/// A failure for stderr: the error and its causes, where the guest is, notes and fixes.
pub fn failure_text(failure: &Failure) -> String {
    let mut text = format!("xenadm: error: {failure}\n");
    let mut source = std::error::Error::source(&failure.error);
    while let Some(cause) = source {
        let _ = writeln!(text, "  caused by: {cause}");
        source = cause.source();
    }
    let _ = writeln!(text, "  where: {}", failure.placement_text());
    for note in &failure.notes {
        let _ = writeln!(text, "  note: {note}");
    }
    for fix in &failure.fix {
        let _ = writeln!(text, "  fix: {fix}");
    }
    text
}

/// A failure for `--json`.
#[cfg(feature = "serde")]
pub fn failure_json(failure: &Failure) -> serde_json::Value {
    serde_json::json!({
        "domain": failure.domain,
        "step": failure.step,
        "error": failure.error.to_string(),
        "placement": failure.placement,
        "notes": failure.notes,
        "fix": failure.fix,
        "exit_code": failure.exit_code(),
    })
}

/// The line `xenadm migrate-resume` prints.
pub fn resume_text(domid: DomId, name: &str, resumed: bool) -> String {
    let what = if resumed {
        "resumed"
    } else {
        "was not suspended; renamed only"
    };
    format!("{name} (domain {}): {what}\n", domid.0)
}

/// Cancel messages for SIGINT/SIGTERM: whether the cancel took effect.
pub fn cancel_text(signal: &str, took_effect: bool) -> String {
    if took_effect {
        format!("xenadm: {signal}: cancelling; the guest stays on this host")
    } else {
        format!("xenadm: {signal}: too late to cancel, the guest is being handed over")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::{Placement, Step};

    #[test]
    fn policy_decisions_read_as_sentences() {
        let mut decision = Decision {
            pass: 3,
            action: Action::Continue,
            reason: Reason::Throttled,
            dirty_pages: Some(9100),
            throughput_bytes_per_s: Some(16 << 20),
            estimate_ms: Some(2221),
            cpu_share_percent: 50,
        };
        assert_eq!(
            policy_text(&decision),
            "policy after pass 3: 9100 pages dirty, ~2221 ms at 16.0 MiB/s: dirtying faster than the link: CPU capped to 50 %: another pass"
        );
        decision.reason = Reason::DowntimeFits;
        decision.action = Action::StopAndCopy;
        assert!(
            policy_text(&decision)
                .ends_with("fits --max-downtime: last live pass, then suspend and copy the rest")
        );
        decision.reason = Reason::PassEnded;
        decision.action = Action::Continue;
        decision.dirty_pages = None;
        decision.estimate_ms = None;
        assert_eq!(
            saver_text(&SaverEvent::Policy(decision)),
            "policy after pass 3: 16.0 MiB/s: pass ended"
        );
        decision.reason = Reason::GaveUp;
        decision.action = Action::Abort;
        decision.throughput_bytes_per_s = None;
        assert_eq!(
            policy_text(&decision),
            "policy after pass 3: cannot converge (--abort-if-not-converging): abort, the guest keeps running here"
        );
    }

    #[test]
    fn texts_are_stable() {
        let mut summary = Summary {
            domain: "g1".into(),
            source_domid: 3,
            total_s: 12.34,
            bytes: 3 << 20,
            passes: vec![100, 7],
            downtime_s: Some(0.25),
            downtime_from: None,
            wire: None,
            warnings: Vec::new(),
        };
        assert_eq!(
            summary_text(&summary, &target_label(None, "hostb")),
            "Migration successful: g1 moved to hostb in 12.3 s, 3.0 MiB in 2 passes (pages 100, 7), downtime 250 ms\n"
        );
        summary.downtime_s = None;
        assert!(
            summary_text(&summary, &target_label(Some(""), "nc b 1"))
                .contains("moved to the target of `nc b 1` in")
        );
        let failure = Failure {
            domain: "g1".into(),
            step: Step::Ready,
            error: MigrateError::Cancelled,
            placement: Placement::RunningOnSource,
            fix: vec!["xl destroy g1--incoming".into()],
            notes: vec!["n".into()],
        };
        let text = failure_text(&failure);
        assert!(
            text.starts_with("xenadm: error: migration of g1 failed at"),
            "{text}"
        );
        assert!(text.contains("\n  where: g1 is still running on this host (the source)\n  note: n\n  fix: xl destroy g1--incoming\n"));
        assert_eq!(
            resume_text(DomId(4), "g1", true),
            "g1 (domain 4): resumed\n"
        );
    }

    #[test]
    fn the_view_shows_the_transfer_and_libxc_together() {
        let mut view = ProgressView::default();
        let pass = SaverEvent::Pass {
            pass: 1,
            sent: 1024,
            total: 4096,
            dirty_left: 3072,
            percent: 25,
        };
        assert_eq!(
            view.update(&Event::Saver(pass)),
            "libxc pass 1: 1024/4096 pages, 3072 dirty left"
        );
        let text = view.update(&Event::Progress(Transfer::default()));
        assert!(
            text.starts_with("pass 0: 0 pages sent this pass")
                && text.ends_with("[libxc pass 1: 1024/4096 pages, 3072 dirty left]"),
            "{text}"
        );
        assert_eq!(
            view.update(&Event::Phase {
                phase: Phase::Handover
            }),
            phase_text(Phase::Handover)
        );
    }

    #[test]
    fn abi_and_levels() {
        assert_eq!(suspend_abi(None, None).unwrap(), SuspendAbi::default());
        assert_eq!(suspend_abi(None, Some("suse")).unwrap(), SuspendAbi::Props);
        assert_eq!(
            suspend_abi(Some(SuspendAbi::Upstream), Some("x")).unwrap(),
            SuspendAbi::Upstream
        );
        assert!(
            suspend_abi(None, Some("x"))
                .unwrap_err()
                .to_string()
                .contains("expected neutral, upstream or props")
        );
        assert_eq!(log_level(0), LogLevel::Error);
        assert_eq!(log_level(7), LogLevel::Debug);
        assert_eq!(parse_bandwidth("12.5"), Ok(12 * (1 << 20) + (1 << 19)));
        for bad in ["0", "-1", "x", "inf", "NaN"] {
            assert!(parse_bandwidth(bad).is_err(), "{bad}");
        }
    }
}
