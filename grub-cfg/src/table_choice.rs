//! Which Xen option table a command validates against, and why: the release the administrator
//! gave (`--xen-version`), else the installed Xen's ([`installed_xen`]), else 4.17. The reason
//! is worded for the command's output.

use std::path::Path;

use crate::xen::XenOptionTable;
use crate::{InstalledXen, installed_xen};

/// The option table a command uses, and why (said in its output).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableChoice {
    /// The table.
    pub table: XenOptionTable,
    /// Why this table: `Xen 4.17 table, for Xen 4.17 (/sys/hypervisor/version)`.
    pub why: String,
}

/// The table for the system at `root`: `given` (a table and the `major.minor` release it was
/// asked for, which may be newer than the table), else the installed Xen's, else 4.17.
pub fn choose_table(root: &Path, given: Option<(XenOptionTable, (u32, u32))>) -> TableChoice {
    match given {
        Some(given) => choose(Some(given), None),
        None => choose(None, installed_xen(root)),
    }
}

fn choose(
    given: Option<(XenOptionTable, (u32, u32))>,
    installed: Option<InstalledXen>,
) -> TableChoice {
    let (table, why) = match (given, installed) {
        (Some((table, release)), _) => {
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

    #[test]
    fn test_a_given_release_wins_and_says_when_an_older_table_stands_in() {
        let installed = InstalledXen {
            release: "4.22".into(),
            table: XenOptionTable::V4_22,
            evidence: "/boot/xen-4.22-amd64.gz".into(),
        };
        let exact = choose(Some((XenOptionTable::V4_17, (4, 17))), Some(installed));
        assert_eq!(exact.table, XenOptionTable::V4_17);
        assert_eq!(exact.why, "Xen 4.17 table (--xen-version)");
        let between = choose(Some((XenOptionTable::V4_17, (4, 19))), None);
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
        let given = choose_table(root.path(), Some((XenOptionTable::V4_17, (4, 17))));
        assert_eq!(given.table, XenOptionTable::V4_17);
    }
}
