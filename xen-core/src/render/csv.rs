//! CSV of [`DomainRecord`]s: a header row of [`FIELDS`], then one row per domain per
//! sample (RFC 4180 quoting, `\n` line ends; unknown values are empty, as in virt-top's CSV).

use std::io::{self, Write};

use crate::host::Interval;
use crate::render::digits::write_u64;
use crate::render::record::{self, DomainRecord, FIELDS, Value};

/// Writes the header row.
pub fn write_header<W: Write + ?Sized>(out: &mut W) -> io::Result<()> {
    out.write_all(FIELDS.join(",").as_bytes())?;
    out.write_all(b"\n")
}

/// Writes one row per record.
pub fn write_records<W: Write + ?Sized>(
    out: &mut W,
    records: &[DomainRecord<'_>],
) -> io::Result<()> {
    for record in records {
        for (i, value) in record.values().iter().enumerate() {
            if i != 0 {
                out.write_all(b",")?;
            }
            write_value(out, value)?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes the rows of one sample (`sample` is its 0-based number in the run).
///
/// ```
/// use xen_core::host::{DomainName, DomainStats, Interval, Sample};
/// use xen_core::render::csv;
///
/// let mut sample = Sample::default();
/// let mut dom = DomainStats::default();
/// dom.name = DomainName::new("web, \"prod\"");
/// sample.domains.push(dom);
/// let mut text = Vec::new();
/// csv::write_header(&mut text)?;
/// csv::write_sample(&mut text, &Interval::first(&sample), 0)?;
/// let text = String::from_utf8_lossy(&text);
/// assert!(text.starts_with("sample,unix_time_ns,interval_ns,domid,name,state,"));
/// assert!(text.lines().nth(1).unwrap_or("").starts_with("0,0,,0,\"web, \"\"prod\"\"\",------,0,,"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_sample<W: Write + ?Sized>(
    out: &mut W,
    interval: &Interval<'_>,
    sample: u64,
) -> io::Result<()> {
    write_records(out, &record::records(interval, sample))
}

fn write_value<W: Write + ?Sized>(out: &mut W, value: &Value<'_>) -> io::Result<()> {
    match *value {
        Value::Int(n) => write_u64(out, n),
        // Shortest round-trip form, always with a fraction or exponent (`400.0`).
        Value::Float(x) => write!(out, "{x:?}"),
        Value::Null => Ok(()),
        Value::Text(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            if text.contains([',', '"', '\n', '\r']) {
                out.write_all(b"\"")?;
                out.write_all(text.replace('"', "\"\"").as_bytes())?;
                out.write_all(b"\"")
            } else {
                out.write_all(text.as_bytes())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{DomainName, DomainStats, Sample};

    #[test]
    fn test_header_has_every_field_once() {
        let mut out = Vec::new();
        write_header(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.trim_end().split(',').count(), FIELDS.len());
        assert!(text.ends_with("ssid\n"));
    }

    #[test]
    fn test_rows_have_as_many_cells_as_the_header_and_names_are_quoted() {
        let mut sample = Sample::default();
        sample.domains.push(DomainStats {
            name: DomainName::new(b"a,\"b\"\n\xff".to_vec()),
            ..DomainStats::default()
        });
        let mut out = Vec::new();
        write_sample(&mut out, &Interval::first(&sample), 3).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("3,0,,0,\"a,\"\"b\"\"\n\u{fffd}\",------,"),
            "{text}"
        );
        // 32 cells: 31 separators outside the quoted name.
        let outside_quotes = text.split('"').step_by(2).collect::<String>();
        assert_eq!(outside_quotes.matches(',').count(), FIELDS.len() - 1);
    }
}
