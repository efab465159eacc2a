//! NDJSON of [`DomainRecord`]s: one JSON object per domain per sample, one per line, keys in
//! [`FIELDS`] order. Unknown values are `null`; names with invalid UTF-8 have the bad bytes
//! replaced by U+FFFD.

use std::io::{self, Write};

use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

use crate::host::Interval;
use crate::render::digits::write_u64;
use crate::render::record::{self, DomainRecord, FIELDS, Value};

/// Writes one line per record.
pub fn write_records<W: Write + ?Sized>(
    out: &mut W,
    records: &[DomainRecord<'_>],
) -> io::Result<()> {
    for record in records {
        out.write_all(b"{")?;
        for (i, (field, value)) in FIELDS.iter().zip(record.values().iter()).enumerate() {
            if i != 0 {
                out.write_all(b",")?;
            }
            out.write_all(b"\"")?;
            out.write_all(field.as_bytes())?;
            out.write_all(b"\":")?;
            match *value {
                Value::Int(n) => write_u64(out, n)?,
                Value::Float(x) => write_float(out, x)?,
                Value::Null => out.write_all(b"null")?,
                Value::Text(bytes) => write_string(out, &String::from_utf8_lossy(bytes))?,
            }
        }
        out.write_all(b"}\n")?;
    }
    Ok(())
}

/// Writes the records of one sample (`sample` is its 0-based number in the run).
///
/// ```
/// use xen_core::host::{DomainName, DomainStats, Interval, Sample};
/// use xen_core::render::json;
///
/// let mut sample = Sample::default();
/// let mut dom = DomainStats::default();
/// dom.name = DomainName::new("web1");
/// sample.domains.push(dom);
/// let mut text = Vec::new();
/// json::write_sample(&mut text, &Interval::first(&sample), 0)?;
/// let text = String::from_utf8_lossy(&text);
/// assert!(text.starts_with("{\"sample\":0,\"unix_time_ns\":0,\"interval_ns\":null,\"domid\":0,\"name\":\"web1\","));
/// assert!(text.ends_with(",\"ssid\":0}\n"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_sample<W: Write + ?Sized>(
    out: &mut W,
    interval: &Interval<'_>,
    sample: u64,
) -> io::Result<()> {
    write_records(out, &record::records(interval, sample))
}

/// A finite float as a JSON number: the shortest form that reads back to the same value,
/// always with a fraction or an exponent (`400.0`, `8.5`, `1e-7`), so readers see a float.
fn write_float<W: Write + ?Sized>(out: &mut W, x: f64) -> io::Result<()> {
    if x.is_finite() {
        write!(out, "{x:?}")
    } else {
        out.write_all(b"null")
    }
}

/// A JSON string, escaped by serde_json (RFC 8259).
fn write_string<W: Write + ?Sized>(out: &mut W, text: &str) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, Escapes);
    serde::Serialize::serialize(text, &mut serializer).map_err(io::Error::from)
}

/// serde_json's compact escapes, except backspace and form feed as `\u0008` and `\u000c`
/// (this output's form since its first release: byte-identical for readers that compare).
struct Escapes;

impl Formatter for Escapes {
    fn write_char_escape<W: Write + ?Sized>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        match char_escape {
            CharEscape::Backspace => writer.write_all(b"\\u0008"),
            CharEscape::FormFeed => writer.write_all(b"\\u000c"),
            other => CompactFormatter.write_char_escape(writer, other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{DomainName, DomainStats, Sample};

    #[test]
    fn test_strings_are_escaped() {
        let mut out = Vec::new();
        write_string(&mut out, "a\"b\\c\nd\u{1}é\u{8}\u{c}\t\r\u{1f}").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\nd\\u0001é\\u0008\\u000c\\t\\r\\u001f\""
        );
    }

    #[test]
    fn test_one_object_per_line_with_every_field() {
        let mut sample = Sample::default();
        for id in [4, 1] {
            sample.domains.push(DomainStats {
                domid: crate::host::DomId(id),
                name: DomainName::new(b"bad\xffname".to_vec()),
                ..DomainStats::default()
            });
        }
        let mut out = Vec::new();
        write_sample(&mut out, &Interval::first(&sample), 0).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("\"domid\":1,\"name\":\"bad\u{fffd}name\""));
        for line in lines {
            for field in FIELDS {
                assert!(line.contains(&format!("\"{field}\":")), "{field} missing");
            }
        }
    }
}
