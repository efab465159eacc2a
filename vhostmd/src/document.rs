//! Writing the metrics document in upstream's exact byte format:
//!
//! ```text
//! <metrics>
//!   <metric type='T' context='host'[ unit='U']>
//!     <name>N</name>
//!     <value>V</value>
//!   </metric>
//!   <metric type='T' context='vm' id='ID' uuid='UUID'[ unit='U']>
//!   ...
//! </metrics>
//! ```
//!
//! One deliberate difference: values, names and attributes are escaped (`&` `<`, `'` in
//! attributes), invalid UTF-8 and control characters become U+FFFD. Upstream writes them raw,
//! so one `&` in any value makes the whole document unreadable for every guest.

use crate::config::{Context, MetricType};
use crate::vms::Vm;
use crate::xml::{self, Element};

/// Appends one `<metric>` element.
pub(crate) fn render_metric(
    out: &mut String,
    kind: MetricType,
    vm: Option<&Vm>,
    unit: Option<&str>,
    name: &str,
    value: &str,
) {
    out.push_str("  <metric type='");
    out.push_str(kind.as_str());
    match vm {
        None => out.push_str("' context='host'"),
        Some(vm) => {
            out.push_str("' context='vm' id='");
            out.push_str(&vm.id.to_string());
            out.push_str("' uuid='");
            xml::escape_attr(&vm.uuid, out);
            out.push('\'');
        }
    }
    if let Some(unit) = unit.filter(|u| !u.is_empty()) {
        out.push_str(" unit='");
        xml::escape_attr(unit, out);
        out.push('\'');
    }
    out.push_str(">\n    <name>");
    xml::escape_text(name, out);
    out.push_str("</name>\n    <value>");
    xml::escape_text(value, out);
    out.push_str("</value>\n  </metric>\n");
}

/// The whole document from the host part and each VM's part.
pub fn document<'a>(host: &str, vms: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::with_capacity(host.len() + 64);
    out.push_str("<metrics>\n");
    out.push_str(host);
    for vm in vms {
        out.push_str(vm);
    }
    out.push_str("</metrics>\n");
    out
}

/// Action output as text: up to the first NUL (C string), invalid UTF-8 and control
/// characters other than tab and newline replaced by U+FFFD.
pub(crate) fn sanitize(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = String::from_utf8_lossy(&bytes[..end]);
    text.chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Splits a group action's output as upstream's `strtok(buf, ",")` loop does: empty fields
/// collapse, and once the tokens run out each remaining variable gets the buffer as a C
/// string (its first token, since strtok wrote a NUL after it).
pub(crate) fn split_group(value: &str, count: usize) -> Vec<String> {
    let mut buf = value.as_bytes().to_vec();
    let mut pos = 0usize;
    let mut done = false;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut token = None;
        if !done {
            while pos < buf.len() && buf[pos] == b',' {
                pos += 1;
            }
            if pos >= buf.len() {
                done = true;
            } else {
                let start = pos;
                while pos < buf.len() && buf[pos] != b',' {
                    pos += 1;
                }
                token = Some(String::from_utf8_lossy(&buf[start..pos]).into_owned());
                if pos < buf.len() {
                    buf[pos] = 0;
                    pos += 1;
                }
            }
        }
        out.push(token.unwrap_or_else(|| {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            String::from_utf8_lossy(&buf[..end]).into_owned()
        }));
    }
    out
}

/// Checks an `xml` metric's output: well-formed, and each element a `<metric>` valid against
/// `metric.dtd` (type, context required; id, uuid, unit optional; `name` then `value`).
pub(crate) fn check_xml_metrics(output: &str) -> Result<(), String> {
    let wrapped = format!("<x>{output}</x>");
    let doc = xml::parse(wrapped.as_bytes())
        .map_err(|(offset, problem)| format!("byte {}: {problem}", offset.saturating_sub(3)))?;
    for e in doc.root.elements() {
        check_metric_element(e)?;
    }
    Ok(())
}

fn check_metric_element(e: &Element) -> Result<(), String> {
    if e.name != "metric" {
        return Err(format!("<{}> is not <metric>", e.name));
    }
    for a in &e.attrs {
        if !matches!(a.name.as_str(), "type" | "context" | "id" | "uuid" | "unit") {
            return Err(format!("<metric> has no attribute {}", a.name));
        }
    }
    match e.attr("type").and_then(MetricType::from_name) {
        Some(t) if t.is_value() => {}
        _ => {
            return Err(
                "<metric> needs type=int32|uint32|int64|uint64|real32|real64|string".into(),
            );
        }
    }
    if e.attr("context").and_then(Context::from_name).is_none() {
        return Err("<metric> needs context=host|vm".into());
    }
    let names: Vec<&str> = e.elements().map(|c| c.name.as_str()).collect();
    if names != ["name", "value"] {
        return Err("<metric> must hold <name> then <value>".into());
    }
    for c in e.elements() {
        if c.elements().next().is_some() {
            return Err(format!("<{}> holds text only", c.name));
        }
    }
    let stray = e
        .children
        .iter()
        .any(|c| matches!(c, xml::Node::Text { text, .. } if !text.trim().is_empty()));
    if stray {
        return Err("text directly inside <metric>".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_render_host_and_vm() {
        let mut s = String::new();
        render_metric(
            &mut s,
            MetricType::Uint64,
            None,
            Some("MiB"),
            "FreeMem",
            "12288\n",
        );
        assert_eq!(
            s,
            "  <metric type='uint64' context='host' unit='MiB'>\n    <name>FreeMem</name>\n    <value>12288\n</value>\n  </metric>\n"
        );
        let vm = Vm::new(1, "test", "u-1");
        let mut s = String::new();
        render_metric(
            &mut s,
            MetricType::String,
            Some(&vm),
            Some(""),
            "X",
            "a & b",
        );
        assert_eq!(
            s,
            "  <metric type='string' context='vm' id='1' uuid='u-1'>\n    <name>X</name>\n    <value>a &amp; b</value>\n  </metric>\n"
        );
    }

    #[test]
    fn test_split_group_like_strtok() {
        assert_eq!(split_group("10,20", 2), ["10", "20"]);
        assert_eq!(split_group("10", 2), ["10", "10"]);
        assert_eq!(split_group("1,,2,3", 2), ["1", "2"]);
        assert_eq!(split_group("1,2", 3), ["1", "2", "1"]);
        assert_eq!(split_group("", 2), ["", ""]);
    }

    #[test]
    fn test_xml_metric_checks() {
        assert!(
            check_xml_metrics(
                "<metric type='uint32' context='host'><name>A</name><value>7</value></metric>\n"
            )
            .is_ok()
        );
        assert!(
            check_xml_metrics(
                "<metric type='xml' context='host'><name>A</name><value>7</value></metric>"
            )
            .is_err()
        );
        assert!(
            check_xml_metrics(
                "<metric type='string' context='host'><value>7</value><name>A</name></metric>"
            )
            .is_err()
        );
        assert!(
            check_xml_metrics(
                "<metric type='string' context='host'><name>A</name><value>&</value></metric>"
            )
            .is_err()
        );
        assert!(check_xml_metrics("</x><y>").is_err());
    }

    #[test]
    fn test_sanitize() {
        assert_eq!(sanitize(b"ok\n"), "ok\n");
        assert_eq!(sanitize(b"a\x01b\0rest"), "a\u{fffd}b");
        assert_eq!(sanitize(b"\xff"), "\u{fffd}");
    }
}
