//! Replaying a saved `xentop -b` capture: which interval it was taken at.

use std::time::Duration;

use super::{ReconstructOptions, XentopBatch};
use crate::XenError;
use crate::host::Sample;

/// Intervals (ms) a capture is tried with when the given one does not fit it: xentop's
/// usual `-d`s.
pub const USUAL_INTERVALS_MS: [u64; 9] =
    [1000, 2000, 3000, 5000, 10_000, 500, 15_000, 30_000, 60_000];

/// A capture's samples and the interval they fit.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Replay {
    /// The samples, in order.
    pub samples: Vec<Sample>,
    /// The interval whose CPU(sec) and CPU(%) columns agree with the capture.
    pub interval: Duration,
}

impl XentopBatch {
    /// The samples of the capture, at `given` interval if it fits, else at the first of
    /// [`USUAL_INTERVALS_MS`] that does. A capture does not say its interval, but its CPU(sec)
    /// and CPU(%) columns fit only the right one. The error is the one for `given`.
    pub fn to_samples_fitting(&self, given: Duration) -> Result<Replay, XenError> {
        let at = |interval: Duration| {
            let options = ReconstructOptions {
                interval_ns: u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX),
                ..ReconstructOptions::default()
            };
            self.to_samples(&options)
                .map(|samples| Replay { samples, interval })
        };
        let given_err = match at(given) {
            Ok(replay) => return Ok(replay),
            Err(e) => e,
        };
        USUAL_INTERVALS_MS
            .map(Duration::from_millis)
            .into_iter()
            .filter(|&interval| interval != given)
            .find_map(|interval| at(interval).ok())
            .ok_or(given_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::capture::parse_xentop_batch;

    fn capture() -> XentopBatch {
        let text = std::fs::read(test_support::captures::path(
            "host-view/xentop",
            "xentop-b-d1-i2.txt",
        ))
        .unwrap();
        parse_xentop_batch(&text, false).unwrap()
    }

    #[test]
    fn test_the_capture_fits_its_own_interval_only() {
        let batch = capture();
        let replay = batch.to_samples_fitting(Duration::from_secs(1)).unwrap();
        assert_eq!(replay.interval, Duration::from_secs(1));
        assert_eq!(replay.samples.len(), 2);
        // -d 3 (the default) does not fit a `-d 1` capture: the usual intervals are tried.
        let guessed = batch.to_samples_fitting(Duration::from_secs(3)).unwrap();
        assert_eq!(guessed.interval, Duration::from_secs(1));
        assert_eq!(guessed.samples, replay.samples);
    }
}
