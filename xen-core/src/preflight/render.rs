//! The preflight as the administrator reads it: the table (one row per check, its verdict, and
//! each non-pass row followed by its fix), and what a migration does with a report (go on,
//! show it, or refuse before any byte moves).

use super::CheckOptions;
use super::evaluate::{PreflightReport, Verdict};

use text_table::columns;

/// `--check`'s exit status when the preflight could not run at all (no such guest, no Xen).
pub const EXIT_UNCHECKED: u8 = 2;

impl CheckOptions {
    /// The preflight's options from `xenadm migrate`'s: xl's `-s` (`None` is ssh, `""` a raw
    /// transport that cannot be probed) and the target's xenadm.
    pub fn for_migration(
        domain: &str,
        host: &str,
        ssh: Option<&str>,
        remote_xenadm: &str,
    ) -> CheckOptions {
        let mut options = CheckOptions::new(domain, host);
        options.ssh = match ssh {
            None => Some("ssh".to_owned()),
            Some("") => None,
            Some(ssh) => Some(ssh.to_owned()),
        };
        options.remote_xenadm = remote_xenadm.to_owned();
        options
    }
}

/// What a migration does after its preflight.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Gate {
    /// Go on; show this table first (on stderr) when a row is not a pass.
    Proceed {
        /// The table, when it has something to say.
        show: Option<String>,
    },
    /// Refuse: a row failed. Nothing was sent.
    Refuse {
        /// The table and the refusal line.
        text: String,
    },
}

impl Gate {
    /// The decision for `report` on `domain` before a migration.
    pub fn of(report: &PreflightReport, domain: &str) -> Gate {
        match report.verdict {
            Verdict::Fail => Gate::Refuse {
                text: format!(
                    "{}xenadm: migration of {domain} refused by the preflight: nothing was sent, it runs here as before; fix the FAIL rows (or override with --no-check)\n",
                    render_table(report)
                ),
            },
            Verdict::Pass => Gate::Proceed { show: None },
            _ => Gate::Proceed {
                show: Some(render_table(report)),
            },
        }
    }
}

/// The table: a headline with the overall verdict, one row per check, each non-pass row
/// followed by its fix.
pub fn render_table(report: &PreflightReport) -> String {
    let count = |verdict| report.rows.iter().filter(|r| r.verdict == verdict).count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let summary = match report.verdict {
        Verdict::Pass => "can move".to_owned(),
        Verdict::Warn => "can move, read the warnings".to_owned(),
        Verdict::Fail => {
            let n = count(Verdict::Fail);
            format!("must not move: {n} check{} failed", plural(n))
        }
        Verdict::Unchecked => {
            let n = count(Verdict::Unchecked);
            format!(
                "not fully checked: {n} check{} could not be made",
                plural(n)
            )
        }
    };
    let mut text = format!(
        "Preflight of {} -> {}: {} ({summary})\n",
        report.guest,
        report.target,
        report.verdict.label()
    );
    let mut rows = vec![vec![
        "CHECK".to_owned(),
        "VERDICT".to_owned(),
        "DETAIL".to_owned(),
    ]];
    for row in &report.rows {
        rows.push(vec![
            row.name.clone(),
            row.verdict.label().to_owned(),
            row.detail.clone(),
        ]);
        if !row.fix.is_empty() {
            rows.push(vec![
                String::new(),
                String::new(),
                format!("fix: {}", row.fix),
            ]);
        }
    }
    text.push_str(&columns(&rows));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_pad_to_the_widest_cell_and_trim() {
        let rows = vec![
            vec!["a".to_owned(), "bb".to_owned(), "c".to_owned()],
            vec!["ddd".to_owned(), String::new(), String::new()],
        ];
        assert_eq!(columns(&rows), "a    bb  c\nddd\n");
    }

    #[test]
    fn raw_transports_are_not_probed() {
        assert_eq!(
            CheckOptions::for_migration("g", "ssh b x", Some(""), "xenadm").ssh,
            None
        );
    }
}
