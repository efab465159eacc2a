//! libxc's own progress while it saves the guest, as libxl relays it through its logger
//! (reference `migration.md` §3.5): `xtl_progress(lg, "xc", doing_what, done, total)` with
//! `doing_what` one of "Start of stream", "Frames iteration N" (a live pass; plain "Frames" in
//! a non-live save), "Domain now suspended", "Frames verify" (`--debug`), "End of stream",
//! "Complete". A step is reported every 1024 pages and at the end of each pass; `total` is the
//! pages of that pass.
//!
//! [`parse_progress`] turns one such call into a [`SaverEvent`]; [`parse_log_line`] does the
//! same for a line of libxentoollog's stdio logger (`xc: detail: Frames: 1024/32768    3%`),
//! the form the real lines of `xl -vvv save` or `xenadm -vv migrate` have. Both are total:
//! anything else is `None`.

use std::sync::Arc;

/// One progress report of libxc's saver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(tag = "saver", rename_all = "kebab-case")
)]
#[non_exhaustive]
pub enum SaverEvent {
    /// "Start of stream".
    StreamStart,
    /// A pass over the dirty pages: "Frames iteration N" (pass N; 0 sends every page), or
    /// "Frames" of a non-live save (pass 0).
    Pass {
        /// The pass, from 0.
        pass: u32,
        /// Pages of this pass sent so far.
        sent: u64,
        /// Pages of this pass in all (the dirty count libxc started it with).
        total: u64,
        /// Pages of this pass still to send.
        dirty_left: u64,
        /// `sent` of `total`, in percent.
        percent: u8,
    },
    /// "Domain now suspended": the guest stopped; the downtime starts here.
    Suspended,
    /// "Frames verify" (`--debug`): every page sent again for the target to compare.
    Verify {
        /// Pages sent so far.
        sent: u64,
        /// Pages in all.
        total: u64,
    },
    /// "End of stream".
    StreamEnd,
    /// "Complete".
    Complete,
    /// xenadm's own engine: what its pre-copy policy decided (`--engine xenadm` only).
    Policy(super::engine::policy::Decision),
}

/// Where a backend sends the saver's events (from whichever thread is inside libxl).
pub type SaverSink = Arc<dyn Fn(&SaverEvent) + Send + Sync>;

/// Points a logger's progress hook at `sink` (`None` unhooks it): each `progress` call that
/// [`parse_progress`] recognises reaches the sink as a [`SaverEvent`]. What both migration
/// backends do in `watch_saver`.
pub(crate) fn hook_saver(hook: &crate::ffi::ProgressHook, sink: Option<SaverSink>) {
    let forward = sink.map(|sink| {
        Box::new(move |call: &crate::ffi::ProgressCall| {
            if let Some(event) =
                parse_progress(&call.context, &call.doing_what, call.done, call.total)
            {
                sink(&event);
            }
        }) as Box<dyn FnMut(&crate::ffi::ProgressCall) + Send>
    });
    *hook
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = forward;
}

/// One `progress` call of libxl's logger as an event; `None` for other reports (another
/// context than libxc's, or a label libxc does not use for saving).
pub fn parse_progress(
    context: &str,
    doing_what: &str,
    done: u64,
    total: u64,
) -> Option<SaverEvent> {
    if context != "xc" {
        return None;
    }
    let percent = done
        .min(total)
        .saturating_mul(100)
        .checked_div(total)
        .map_or(0, |p| u8::try_from(p).unwrap_or(100));
    let pass = |pass| SaverEvent::Pass {
        pass,
        sent: done,
        total,
        dirty_left: total.saturating_sub(done),
        percent,
    };
    match doing_what {
        "Start of stream" => Some(SaverEvent::StreamStart),
        "Domain now suspended" => Some(SaverEvent::Suspended),
        "End of stream" => Some(SaverEvent::StreamEnd),
        "Complete" => Some(SaverEvent::Complete),
        "Frames" => Some(pass(0)),
        "Frames verify" => Some(SaverEvent::Verify { sent: done, total }),
        other => {
            // "Frames iteration N", or older libxc's "Frames iteration N of M".
            let rest = other.strip_prefix("Frames iteration ")?;
            let number = rest.split(" of ").next()?;
            number.parse::<u32>().ok().map(pass)
        }
    }
}

/// A line of libxentoollog's stdio logger as an event: `CONTEXT: LEVEL: DOING: DONE/TOTAL
/// PERCENT%` (with a leading `\r` or timestamp-free, as xl prints it); `None` for any other line.
pub fn parse_log_line(line: &str) -> Option<SaverEvent> {
    let line = line.trim_start_matches('\r').trim_end();
    let (context, rest) = line.split_once(": ")?;
    let (_level, rest) = rest.split_once(": ")?;
    let (doing_what, counts) = rest.rsplit_once(": ")?;
    let (fraction, _percent) = counts.split_once(' ')?;
    let (done, total) = fraction.split_once('/')?;
    parse_progress(context, doing_what, done.parse().ok()?, total.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_become_events() {
        assert_eq!(
            parse_progress("xc", "Frames iteration 2", 1024, 4096),
            Some(SaverEvent::Pass {
                pass: 2,
                sent: 1024,
                total: 4096,
                dirty_left: 3072,
                percent: 25
            })
        );
        assert!(matches!(
            parse_progress("xc", "Frames iteration 3 of 5", 1, 1),
            Some(SaverEvent::Pass {
                pass: 3,
                percent: 100,
                ..
            })
        ));
        assert_eq!(
            parse_progress("xc", "Domain now suspended", 0, 0),
            Some(SaverEvent::Suspended)
        );
        assert_eq!(parse_progress("libxl", "Domain now suspended", 0, 0), None);
        assert_eq!(parse_progress("xc", "Frames iteration x", 0, 0), None);
        assert_eq!(parse_progress("xc", "Checkpointed save", 0, 0), None);
        // More done than total (never seen) stays within 100 %.
        assert!(matches!(
            parse_progress("xc", "Frames", 9, 3),
            Some(SaverEvent::Pass {
                percent: 100,
                dirty_left: 0,
                ..
            })
        ));
    }

    #[test]
    fn log_lines_become_events() {
        assert!(matches!(
            parse_log_line("xc: detail: Frames: 1024/32768    3%"),
            Some(SaverEvent::Pass {
                pass: 0,
                sent: 1024,
                total: 32768,
                percent: 3,
                ..
            })
        ));
        assert_eq!(
            parse_log_line("xc: progress: End of stream: 0/0    0%"),
            Some(SaverEvent::StreamEnd)
        );
        assert_eq!(
            parse_log_line("\rxc: info: Domain now suspended: 0/0    0%\n"),
            Some(SaverEvent::Suspended)
        );
        for other in [
            "",
            "xc: info: Saving domain 3, type x86 PV",
            "a: b: c: d",
            "xc: x: Frames: 1/ 3%",
        ] {
            assert_eq!(parse_log_line(other), None, "{other:?}");
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn events_are_json_lines() {
        let event = super::super::Event::Saver(SaverEvent::Suspended);
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"event":"saver","saver":"suspended"}"#
        );
        let pass =
            super::super::Event::Saver(parse_progress("xc", "Frames iteration 1", 1, 4).unwrap());
        assert_eq!(
            serde_json::to_string(&pass).unwrap(),
            r#"{"event":"saver","saver":"pass","pass":1,"sent":1,"total":4,"dirty_left":3,"percent":25}"#
        );
    }
}
