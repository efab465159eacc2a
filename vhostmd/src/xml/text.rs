//! References and escaping: decoding `&lt;` and `&#x41;` in text and attribute values, and
//! escaping text the daemon writes.

use super::{XmlResult, is_xml_char};
use crate::error::XmlProblem;

/// Decodes entity and character references; `offset` is where `raw` starts.
pub(crate) fn decode(raw: &str, offset: usize) -> XmlResult<String> {
    if !raw.contains('&') {
        return Ok(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let at = offset + (raw.len() - rest.len()) + i;
        let after = &rest[i + 1..];
        let Some(c) = after
            .find(';')
            .and_then(|end| Some((end, reference(&after[..end])?)))
            .map(|(end, c)| {
                rest = &after[end + 1..];
                c
            })
        else {
            return Err((at, XmlProblem::BadReference));
        };
        out.push(c);
    }
    out.push_str(rest);
    Ok(out)
}

/// The character a reference names (`lt` for `&lt;`, `#x41` for `&#x41;`): one of the five
/// predefined entities, or a character reference to a character XML allows. Names longer than
/// ten bytes are refused, as libxml2 refuses them for these documents.
pub(super) fn reference(name: &str) -> Option<char> {
    if name.len() > 10 {
        return None;
    }
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ if name.contains('+') => None,
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse::<u32>().ok()
            } else {
                None
            };
            code.and_then(char::from_u32).filter(|&c| is_xml_char(c))
        }
    }
}

/// Escapes text for element content: `&`, `<`, and `>` only where it would end `]]>`.
pub(crate) fn escape_text(value: &str, out: &mut String) {
    let mut last = 0;
    for (i, c) in value.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' if value[..i].ends_with("]]") => "&gt;",
            _ => continue,
        };
        out.push_str(&value[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&value[last..]);
}

/// Escapes text for a single-quoted attribute value.
pub(crate) fn escape_attr(value: &str, out: &mut String) {
    let mut last = 0;
    for (i, c) in value.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '\'' => "&apos;",
            _ => continue,
        };
        out.push_str(&value[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&value[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_escape() {
        let mut s = String::new();
        escape_text("a & b <c> ]]>", &mut s);
        assert_eq!(s, "a &amp; b &lt;c> ]]&gt;");
        let mut a = String::new();
        escape_attr("it's <&>", &mut a);
        assert_eq!(a, "it&apos;s &lt;&amp;>");
    }
}
