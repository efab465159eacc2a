//! The policy replayed on recorded pass statistics, driven as libxc 4.17's
//! `send_memory_live` drives it (asked before and after every pass).

use super::*;

/// A pass as recorded: the dirty pages libxc reported before it and the seconds it took.
type Recorded = (u64, f64);

/// Replays `passes` through the policy like libxc: returns every decision, in order.
/// `cancel_at` cancels from that call on (0 = the first call).
fn replay(options: PolicyOptions, passes: &[Recorded], cancel_at: Option<usize>) -> Vec<Decision> {
    let mut policy = Policy::new(options);
    let mut decisions = Vec::new();
    let mut at = Duration::ZERO;
    let mut written = 0;
    let cancelled = |n: usize| cancel_at.is_some_and(|c| n >= c);
    for (iteration, &(dirty, secs)) in passes.iter().enumerate() {
        let iteration = u32::try_from(iteration).unwrap();
        let before = policy.decide(
            PolicyCall {
                iteration,
                total_written: written,
                dirty_count: Some(dirty),
                at,
            },
            cancelled(decisions.len()),
        );
        decisions.push(before);
        if before.action == Action::Abort {
            break;
        }
        at += Duration::from_secs_f64(secs);
        written += dirty;
        if before.action != Action::Continue {
            break;
        }
        let after = policy.decide(
            PolicyCall {
                iteration: iteration + 1,
                total_written: written,
                dirty_count: None,
                at,
            },
            cancelled(decisions.len()),
        );
        decisions.push(after);
        if after.action != Action::Continue {
            break;
        }
    }
    decisions
}

/// The last decision.
fn last(decisions: &[Decision]) -> Decision {
    *decisions.last().unwrap()
}

/// A 128 MiB PV guest at 16 MiB/s (4096 pages/s), idle: a few dozen pages per pass.
const IDLE: &[Recorded] = &[(32768, 8.0), (410, 0.1), (64, 0.02), (31, 0.01), (30, 0.01)];

/// The same guest rewriting a 36 MiB tmpfs file: ~9000 pages dirty every pass.
const DIRTYING: &[Recorded] = &[
    (32768, 8.0),
    (9200, 2.25),
    (9150, 2.23),
    (9230, 2.25),
    (9100, 2.22),
    (9180, 2.24),
    (9120, 2.23),
];

/// The dirtying guest as it answers auto-converge: each cap step halves what it dirties.
const THROTTLED: &[Recorded] = &[
    (32768, 8.0),
    (9200, 2.25),
    (9150, 2.23),
    (8900, 2.2),
    (4400, 1.08),
    (2200, 0.54),
    (1000, 0.25),
    (600, 0.15),
];

#[test]
fn an_idle_guest_stops_when_few_pages_are_dirty_like_libxc() {
    let decisions = replay(PolicyOptions::default(), IDLE, None);
    assert_eq!(decisions[0].reason, Reason::FirstPass);
    assert_eq!(decisions[1].reason, Reason::PassEnded);
    // 32768 pages in 8 s: the link's throughput.
    assert_eq!(decisions[1].throughput_bytes_per_s, Some(16 * 1024 * 1024));
    let stop = last(&decisions);
    assert_eq!(
        (stop.action, stop.reason, stop.pass, stop.dirty_pages),
        (Action::StopAndCopy, Reason::FewDirty, 3, Some(31))
    );
    assert_eq!(stop.cpu_share_percent, 100);
}

#[test]
fn without_options_a_dirtying_guest_stops_at_the_pass_limit() {
    let decisions = replay(PolicyOptions::default(), DIRTYING, None);
    let stop = last(&decisions);
    assert_eq!(
        (stop.action, stop.reason, stop.pass),
        (
            Action::StopAndCopy,
            Reason::PassLimit,
            DEFAULT_MAX_PASSES - 1
        )
    );
    // Its downtime: ~9100 pages at 16 MiB/s.
    assert!(
        (2150..2300).contains(&stop.estimate_ms.unwrap()),
        "{stop:?}"
    );
    assert!(
        decisions
            .iter()
            .filter(|d| d.dirty_pages.is_some() && d.pass > 1 && d.pass < 4)
            .all(|d| d.reason == Reason::NotConverging)
    );
}

#[test]
fn max_downtime_stops_as_soon_as_the_estimate_fits() {
    let options = PolicyOptions {
        max_downtime: Some(Duration::from_millis(300)),
        max_passes: 10,
        ..PolicyOptions::default()
    };
    // Converging on its own (the idle guest): 410 pages at 4096 pages/s is 100 ms.
    let stop = last(&replay(options, IDLE, None));
    assert_eq!(
        (stop.action, stop.reason, stop.pass, stop.estimate_ms),
        (Action::StopAndCopy, Reason::DowntimeFits, 1, Some(100))
    );
    // A 50 ms target waits for a smaller dirty set (64 pages: 15 ms, measured on the
    // 410-page pass's throughput).
    let tight = PolicyOptions {
        max_downtime: Some(Duration::from_millis(50)),
        ..options
    };
    let stop = last(&replay(tight, IDLE, None));
    assert_eq!((stop.reason, stop.pass), (Reason::DowntimeFits, 2));
    assert!(stop.estimate_ms.unwrap() <= 50);
    // The dirtying guest never fits without help: pass after pass (only 7 recorded: the
    // limit of 10 is not reached).
    let decisions = replay(options, DIRTYING, None);
    assert_eq!(decisions.len(), 14);
    assert!(decisions.iter().all(|d| d.action == Action::Continue));
}

#[test]
fn auto_converge_throttles_step_by_step_until_the_target_fits() {
    let options = PolicyOptions {
        max_downtime: Some(Duration::from_millis(200)),
        max_passes: 10,
        auto_converge: true,
        abort_if_not_converging: false,
    };
    let decisions = replay(options, THROTTLED, None);
    let before: Vec<(Reason, u8)> = decisions
        .iter()
        .filter(|d| d.dirty_pages.is_some())
        .map(|d| (d.reason, d.cpu_share_percent))
        .collect();
    assert_eq!(
        before,
        [
            (Reason::FirstPass, 100),
            (Reason::Converging, 100),
            (Reason::Throttled, 50),
            (Reason::Throttled, 25),
            (Reason::Converging, 25),
            (Reason::Converging, 25),
            (Reason::Converging, 25),
            (Reason::DowntimeFits, 25),
        ]
    );
    assert_eq!(last(&decisions).action, Action::StopAndCopy);
    assert!(last(&decisions).estimate_ms.unwrap() <= 200);
}

#[test]
fn auto_converge_stops_lowering_the_share_at_its_floor() {
    let options = PolicyOptions {
        max_passes: 20,
        auto_converge: true,
        ..PolicyOptions::default()
    };
    let endless: Vec<Recorded> = std::iter::once((32768, 8.0))
        .chain(std::iter::repeat_n((9100, 2.22), 15))
        .collect();
    let decisions = replay(options, &endless, None);
    let shares: Vec<u8> = decisions
        .iter()
        .filter(|d| d.reason == Reason::Throttled)
        .map(|d| d.cpu_share_percent)
        .collect();
    assert_eq!(shares, [50, 25, 12, 6, MIN_CPU_SHARE_PERCENT]);
    assert!(decisions.iter().any(|d| d.reason == Reason::NotConverging));
}

#[test]
fn abort_if_not_converging_gives_up_and_never_stop_and_copies() {
    let options = PolicyOptions {
        max_downtime: Some(Duration::from_millis(300)),
        abort_if_not_converging: true,
        ..PolicyOptions::default()
    };
    let stop = last(&replay(options, DIRTYING, None));
    assert_eq!(
        (stop.action, stop.reason, stop.pass),
        (Action::Abort, Reason::GaveUp, 3)
    );
    // With auto-converge it first tries the cap; at the pass limit without a fit it aborts.
    let throttled = PolicyOptions {
        auto_converge: true,
        ..options
    };
    let decisions = replay(throttled, DIRTYING, None);
    assert!(decisions.iter().any(|d| d.reason == Reason::Throttled));
    let stop = last(&decisions);
    assert_eq!((stop.action, stop.reason), (Action::Abort, Reason::GaveUp));
    assert!(decisions.iter().all(|d| d.action != Action::StopAndCopy));
    // A guest that converges is not aborted.
    let stop = last(&replay(options, IDLE, None));
    assert_eq!(stop.action, Action::StopAndCopy);
}

#[test]
fn a_cancel_aborts_at_the_next_pass_boundary_either_call() {
    // Cancelled before the third call (after the first pass ended): the third call aborts.
    for at in 0..4 {
        let decisions = replay(PolicyOptions::default(), DIRTYING, Some(at));
        assert_eq!(decisions.len(), at + 1, "{decisions:?}");
        let stop = last(&decisions);
        assert_eq!(
            (stop.action, stop.reason),
            (Action::Abort, Reason::Cancelled)
        );
    }
}

#[test]
fn max_passes_one_sends_the_full_pass_then_stops() {
    let options = PolicyOptions {
        max_passes: 0, // taken as 1
        ..PolicyOptions::default()
    };
    let decisions = replay(options, DIRTYING, None);
    assert_eq!(decisions.len(), 1);
    let stop = last(&decisions);
    assert_eq!(
        (stop.action, stop.reason, stop.pass),
        (Action::StopAndCopy, Reason::PassLimit, 0)
    );
}

#[test]
fn the_codes_are_libxcs() {
    use xen_sys::v4_17::types::{
        XGS_POLICY_ABORT, XGS_POLICY_CONTINUE_PRECOPY, XGS_POLICY_STOP_AND_COPY,
    };
    let mut decision = replay(PolicyOptions::default(), IDLE, None)[0];
    assert_eq!(decision.xgs_code(), XGS_POLICY_CONTINUE_PRECOPY as i32);
    decision.action = Action::StopAndCopy;
    assert_eq!(decision.xgs_code(), XGS_POLICY_STOP_AND_COPY as i32);
    decision.action = Action::Abort;
    assert_eq!(decision.xgs_code(), XGS_POLICY_ABORT);
}

#[test]
fn an_empty_or_instant_pass_gives_no_throughput_and_no_estimate() {
    let options = PolicyOptions {
        max_downtime: Some(Duration::from_millis(10)),
        ..PolicyOptions::default()
    };
    let decisions = replay(options, &[(0, 0.0), (5000, 1.0)], None);
    assert_eq!(decisions[1].throughput_bytes_per_s, None);
    assert_eq!(decisions[2].estimate_ms, None);
    assert_eq!(decisions[2].action, Action::Continue);
}

#[test]
fn caps_follow_the_share_of_what_the_guest_had() {
    // No cap before: a share of the guest's vCPUs.
    assert_eq!(cap_for_share(0, 2, 50), 100);
    assert_eq!(cap_for_share(0, 1, 5), 5);
    assert_eq!(cap_for_share(0, 0, 25), 25);
    // A cap before: a share of it, never 0 (which would lift the cap).
    assert_eq!(cap_for_share(80, 4, 25), 20);
    assert_eq!(cap_for_share(10, 1, 5), 1);
    // Full share: the cap it had.
    assert_eq!(cap_for_share(0, 2, 100), 0);
    assert_eq!(cap_for_share(70, 2, 100), 70);
}
