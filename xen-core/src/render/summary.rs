//! xentop's three summary lines above its table (the interactive screen's header): time and
//! Xen version, domains by state, memory and CPUs.

use crate::host::{Sample, StateCounts};
use crate::render::printable;

/// The three lines for `sample`, the time in UTC, control characters shown as `?`:
///
/// ```text
/// xenadm top - 06:43:30 UTC   Xen 4.17.5
/// 3 domains: 1 running, 0 blocked, 0 paused, 1 crashed, 0 dying, 1 shutdown
/// Mem: 2096128k total, 1137664k used, 958464k free    CPUs: 2 @ 2596MHz
/// ```
pub fn lines(sample: &Sample) -> [String; 3] {
    let day_seconds = (sample.unix_time_ns / 1_000_000_000) % 86_400;
    let version = sample.node.xen_version.as_deref().unwrap_or("?");
    let counts = StateCounts::of(sample);
    let node = &sample.node;
    [
        format!(
            "xenadm top - {:02}:{:02}:{:02} UTC   Xen {}",
            day_seconds / 3600,
            day_seconds / 60 % 60,
            day_seconds % 60,
            printable(version)
        ),
        format!("{} domains: {}", counts.domains, counts.states_text()),
        format!(
            "Mem: {}k total, {}k used, {}k free    CPUs: {} @ {}MHz",
            node.total_memory_kib,
            node.total_memory_kib.saturating_sub(node.free_memory_kib),
            node.free_memory_kib,
            node.num_cpus,
            node.cpu_hz / 1_000_000,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{DomainState, DomainStats, NodeStats};

    #[test]
    fn test_summary_lines() {
        let domain = |state| DomainStats {
            state,
            ..Default::default()
        };
        let sample = Sample {
            unix_time_ns: 1_795_502_610_000_000_000, // 2026-11-26 06:43:30 UTC
            node: NodeStats {
                xen_version: Some("4.17.5\x1b".into()),
                num_cpus: 2,
                cpu_hz: 2_596_144_000,
                total_memory_kib: 2_096_128,
                free_memory_kib: 958_464,
                ..Default::default()
            },
            domains: vec![
                domain(DomainState::RUNNING),
                domain(DomainState::SHUTDOWN | DomainState::CRASHED),
            ],
            ..Default::default()
        };
        assert_eq!(
            lines(&sample),
            [
                "xenadm top - 06:43:30 UTC   Xen 4.17.5?",
                "2 domains: 1 running, 0 blocked, 0 paused, 1 crashed, 0 dying, 1 shutdown",
                "Mem: 2096128k total, 1137664k used, 958464k free    CPUs: 2 @ 2596MHz",
            ]
        );
    }
}
