//! Which Xen option table a command validates against, and why: the release the administrator
//! gave (`--xen-version`), else the installed Xen's ([`installed_xen`]), else 4.17. The reason
//! is worded for the command's output.

use std::path::Path;
use std::str::FromStr;

use crate::xen::{XenOptionTable, parse_release};
use crate::{GrubCfgError, InstalledXen, installed_xen};

/// A release the administrator asked to validate against (`--xen-version`), and the table
/// used for it: one there is a table for, or one between two tables (which uses the older
/// one, said in [`TableChoice::why`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GivenRelease {
    /// The table used.
    pub table: XenOptionTable,
    /// The `(major, minor)` asked for, which may be newer than the table.
    pub release: (u32, u32),
}

impl FromStr for GivenRelease {
    type Err = GrubCfgError;

    /// `4.17`, `4.19`, `4.17.5`: the release and its table. A release older than 4.17 is
    /// refused ([`GrubCfgError::ReleaseTooOld`]) rather than checked against options it does
    /// not have.
    fn from_str(s: &str) -> Result<GivenRelease, GrubCfgError> {
        let (major, minor) = parse_release(s).ok_or_else(|| GrubCfgError::BadXenVersion {
            given: s.to_string(),
        })?;
        if (major, minor) < (4, 17) {
            return Err(GrubCfgError::ReleaseTooOld { major, minor });
        }
        Ok(GivenRelease {
            table: XenOptionTable::for_release(major, minor),
            release: (major, minor),
        })
    }
}

/// The option table a command uses, and why (said in its output).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableChoice {
    /// The table.
    pub table: XenOptionTable,
    /// Why this table: `Xen 4.17 table, for Xen 4.17 (/sys/hypervisor/version)`.
    pub why: String,
}

/// The table for the system at `root`: `given`, else the installed Xen's, else 4.17.
pub fn choose_table(root: &Path, given: Option<GivenRelease>) -> TableChoice {
    match given {
        Some(given) => choose(Some(given), None),
        None => choose(None, installed_xen(root)),
    }
}

fn choose(given: Option<GivenRelease>, installed: Option<InstalledXen>) -> TableChoice {
    let (table, why) = match (given, installed) {
        (Some(GivenRelease { table, release }), _) => {
            let asked = format!("{}.{}", release.0, release.1);
            let why = if asked == table.to_string() {
                format!("Xen {table} table (--xen-version)")
            } else {
                format!(
                    "Xen {table} table (--xen-version {asked}: the newest table not newer than it)"
                )
            };
            (table, why)
        }
        (
            None,
            Some(InstalledXen {
                release,
                table,
                evidence,
            }),
        ) => (
            table,
            format!("Xen {table} table, for Xen {release} ({evidence})"),
        ),
        (None, None) => (
            XenOptionTable::V4_17,
            "Xen 4.17 table (no installed Xen found; use --xen-version)".to_string(),
        ),
    };
    TableChoice { table, why }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(release: &str) -> GivenRelease {
        release.parse().unwrap()
    }

    #[test]
    fn test_a_given_release_is_4_17_or_later() {
        assert_eq!(
            given("4.19"),
            GivenRelease {
                table: XenOptionTable::V4_17,
                release: (4, 19)
            }
        );
        assert_eq!(given("4.22.1").table, XenOptionTable::V4_22);
        let old = "4.16".parse::<GivenRelease>().unwrap_err();
        assert_eq!(
            old.to_string(),
            "xenadm has option tables for Xen 4.17 and 4.22; 4.16 is older than both (its options differ): give 4.17 to check against the oldest"
        );
        let bad = "five".parse::<GivenRelease>().unwrap_err();
        assert_eq!(
            bad.to_string(),
            "unknown Xen version \"five\": expected e.g. 4.17 or 4.22"
        );
    }

    #[test]
    fn test_a_given_release_wins_and_says_when_an_older_table_stands_in() {
        let installed = InstalledXen {
            release: "4.22".into(),
            table: XenOptionTable::V4_22,
            evidence: "/boot/xen-4.22-amd64.gz".into(),
        };
        let exact = choose(Some(given("4.17")), Some(installed));
        assert_eq!(exact.table, XenOptionTable::V4_17);
        assert_eq!(exact.why, "Xen 4.17 table (--xen-version)");
        let between = choose(Some(given("4.19")), None);
        assert_eq!(
            between.why,
            "Xen 4.17 table (--xen-version 4.19: the newest table not newer than it)"
        );
    }

    #[test]
    fn test_else_the_installed_xen_else_4_17() {
        let root = tempfile::tempdir().unwrap();
        let none = choose_table(root.path(), None);
        assert_eq!(none.table, XenOptionTable::V4_17);
        assert_eq!(
            none.why,
            "Xen 4.17 table (no installed Xen found; use --xen-version)"
        );
        std::fs::create_dir(root.path().join("boot")).unwrap();
        std::fs::write(root.path().join("boot/xen-4.22-amd64.gz"), b"").unwrap();
        let found = choose_table(root.path(), None);
        assert_eq!(found.table, XenOptionTable::V4_22);
        assert_eq!(
            found.why,
            "Xen 4.22 table, for Xen 4.22 (/boot/xen-4.22-amd64.gz)"
        );
        // A given release does not look at the installed one.
        let asked = choose_table(root.path(), Some(given("4.17")));
        assert_eq!(asked.table, XenOptionTable::V4_17);
    }
}
