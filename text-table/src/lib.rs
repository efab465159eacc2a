//! xl-style text columns: the one table layout of xenadm's text output.
//!
//! Cells are left aligned and two spaces apart; the last cell of a row is not padded, and a
//! row ends without trailing blanks (so an empty last cell leaves no spaces behind). Widths
//! count characters (`char`s), as the old tools' `printf` padding does for ASCII.
//!
//! ```
//! let rows = vec![
//!     vec!["NAME".to_string(), "ID".to_string(), "STATE".to_string()],
//!     vec!["Domain-0".to_string(), "0".to_string(), "r-----".to_string()],
//! ];
//! assert_eq!(
//!     text_table::columns(&rows),
//!     "NAME      ID  STATE\nDomain-0  0   r-----\n"
//! );
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// Aligns rows of cells into columns (two spaces apart, last column unpadded), like xl.
///
/// Rows may have different numbers of cells: each row's last cell is its own, unpadded.
pub fn columns(rows: &[Vec<String>]) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; width];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A row of cells from anything printable: `row(["NAME", "ID"])`.
pub fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_columns_align_and_trim() {
        let rows = vec![
            vec!["A".to_string(), "BB".to_string(), "C".to_string()],
            vec!["AAA".to_string(), "B".to_string(), String::new()],
        ];
        assert_eq!(columns(&rows), "A    BB  C\nAAA  B\n");
    }

    #[test]
    fn test_rows_of_different_lengths_and_wide_chars() {
        let rows = vec![
            row(["CPU"]),
            row(["", "vendor", "GenuineIntel"]),
            row(["", "brand", "Ünïcode"]),
        ];
        assert_eq!(
            columns(&rows),
            "CPU\n     vendor  GenuineIntel\n     brand   Ünïcode\n"
        );
        assert_eq!(columns(&[]), "");
    }
}
