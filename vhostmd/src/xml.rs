//! A small, total XML parser: enough of XML 1.0 for vhostmd configurations and metrics
//! documents (elements, attributes, text, the five predefined entities, character references,
//! CDATA, comments, processing instructions and a DOCTYPE whose internal subset is skipped).
//!
//! It checks well-formedness as libxml2 does for these documents (matching tags, one root,
//! no stray `&` or `<`, UTF-8, allowed characters) and never recurses, so any input gives a
//! tree or a located error in bounded time and memory.

use crate::error::XmlProblem;

/// Elements nested deeper than this are rejected (keeps dropping the tree shallow).
pub(crate) const MAX_DEPTH: usize = 256;

/// One element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
    /// Byte offset of the `<`.
    pub offset: usize,
}

/// One attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub name: String,
    pub value: String,
    /// Byte offset of the name.
    pub offset: usize,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Element(Element),
    /// Character data, references decoded (adjacent text and CDATA merged).
    Text {
        text: String,
        offset: usize,
    },
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Document {
    /// The DOCTYPE's root name and its offset, if the document has one.
    pub doctype: Option<(String, usize)>,
    pub root: Element,
}

/// A parse failure: byte offset and problem.
pub(crate) type XmlResult<T> = Result<T, (usize, XmlProblem)>;

impl Element {
    /// The attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// All text directly inside this element, concatenated.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for child in &self.children {
            if let Node::Text { text, .. } = child {
                out.push_str(text);
            }
        }
        out
    }

    /// The child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text { .. } => None,
        })
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_column(input: &[u8], offset: usize) -> (usize, usize) {
    let end = offset.min(input.len());
    let before = &input[..end];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, end - line_start + 1)
}

/// Parses a whole document.
pub(crate) fn parse(input: &[u8]) -> XmlResult<Document> {
    let text = match std::str::from_utf8(input) {
        Ok(t) => t,
        Err(e) => return Err((e.valid_up_to(), XmlProblem::BadCharacter)),
    };
    if let Some((i, _)) = text.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        return Err((i, XmlProblem::BadCharacter));
    }
    Parser {
        s: text,
        pos: text.strip_prefix('\u{feff}').map_or(0, |_| 3),
    }
    .document()
}

pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || !c.is_ascii()
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.'
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn err<T>(&self, problem: XmlProblem) -> XmlResult<T> {
        Err((self.pos, problem))
    }

    fn skip_ws(&mut self) -> usize {
        let rest = self.rest();
        let n = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
        self.pos += n;
        n
    }

    /// Moves past `end`, which must occur; else the text ends inside `inside`.
    fn skip_past(&mut self, end: &str, inside: &'static str) -> XmlResult<&'a str> {
        match self.rest().find(end) {
            Some(i) => {
                let body = &self.rest()[..i];
                self.pos += i + end.len();
                Ok(body)
            }
            None => {
                self.pos = self.s.len();
                self.err(XmlProblem::UnexpectedEnd { inside })
            }
        }
    }

    fn name(&mut self) -> XmlResult<String> {
        let rest = self.rest();
        let mut chars = rest.char_indices();
        match chars.next() {
            Some((_, c)) if is_name_start(c) => {}
            Some(_) => return self.err(XmlProblem::Expected { expected: "a name" }),
            None => return self.err(XmlProblem::UnexpectedEnd { inside: "a tag" }),
        }
        let len = chars
            .find(|&(_, c)| !is_name_char(c))
            .map_or(rest.len(), |(i, _)| i);
        self.pos += len;
        Ok(rest[..len].to_string())
    }

    fn document(mut self) -> XmlResult<Document> {
        let mut doctype = None;
        let mut root: Option<Element> = None;
        let mut stack: Vec<Element> = Vec::new();
        while self.pos < self.s.len() {
            let rest = self.rest();
            let start = self.pos;
            if rest.starts_with("<?") {
                self.skip_past("?>", "a processing instruction")?;
            } else if rest.starts_with("<!--") {
                self.pos += 4;
                self.skip_past("-->", "a comment")?;
            } else if rest.starts_with("<![CDATA[") {
                if stack.is_empty() {
                    return self.err(XmlProblem::OutsideRoot);
                }
                self.pos += 9;
                let body = self.skip_past("]]>", "a CDATA section")?;
                push_text(&mut stack, body.to_string(), start);
            } else if rest.starts_with("<!DOCTYPE") {
                if root.is_some() || !stack.is_empty() || doctype.is_some() {
                    return self.err(XmlProblem::Expected {
                        expected: "the DOCTYPE before the root element",
                    });
                }
                self.pos += 9;
                if self.skip_ws() == 0 {
                    return self.err(XmlProblem::Expected {
                        expected: "a space after <!DOCTYPE",
                    });
                }
                let name_at = self.pos;
                let name = self.name()?;
                self.skip_doctype_rest()?;
                doctype = Some((name, name_at));
            } else if rest.starts_with("</") {
                self.pos += 2;
                let name = self.name()?;
                self.skip_ws();
                if !self.rest().starts_with('>') {
                    return self.err(XmlProblem::Expected { expected: "`>`" });
                }
                self.pos += 1;
                let Some(open) = stack.pop() else {
                    return Err((start, XmlProblem::UnmatchedEndTag { found: name }));
                };
                if open.name != name {
                    return Err((
                        start,
                        XmlProblem::MismatchedEndTag {
                            open: open.name,
                            found: name,
                        },
                    ));
                }
                close(&mut stack, &mut root, open);
            } else if rest.starts_with('<') {
                if stack.is_empty() && root.is_some() {
                    return self.err(XmlProblem::OutsideRoot);
                }
                if stack.len() >= MAX_DEPTH {
                    return self.err(XmlProblem::TooDeep { limit: MAX_DEPTH });
                }
                self.pos += 1;
                let (element, empty) = self.start_tag(start)?;
                if empty {
                    if stack.is_empty() {
                        root = Some(element);
                    } else {
                        close(&mut stack, &mut root, element);
                    }
                } else {
                    stack.push(element);
                }
            } else {
                let len = rest.find('<').unwrap_or(rest.len());
                let raw = &rest[..len];
                if stack.is_empty() {
                    if let Some(i) = raw.find(|c: char| !matches!(c, ' ' | '\t' | '\r' | '\n')) {
                        return Err((start + i, XmlProblem::OutsideRoot));
                    }
                    self.pos += len;
                    continue;
                }
                if let Some(i) = raw.find("]]>") {
                    return Err((start + i, XmlProblem::CdataEndInText));
                }
                let text = decode(raw, start)?;
                self.pos += len;
                push_text(&mut stack, text, start);
            }
        }
        if !stack.is_empty() {
            return Err((
                self.s.len(),
                XmlProblem::UnexpectedEnd {
                    inside: "an open element",
                },
            ));
        }
        match root {
            Some(root) => Ok(Document { doctype, root }),
            None => Err((self.s.len(), XmlProblem::NoRoot)),
        }
    }

    /// After the DOCTYPE name: external id and internal subset, up to the closing `>`.
    fn skip_doctype_rest(&mut self) -> XmlResult<()> {
        let mut in_subset = false;
        loop {
            let Some(c) = self.rest().chars().next() else {
                return self.err(XmlProblem::UnexpectedEnd {
                    inside: "the DOCTYPE",
                });
            };
            match c {
                '"' | '\'' => {
                    self.pos += 1;
                    let quote = if c == '"' { "\"" } else { "'" };
                    self.skip_past(quote, "a quoted DOCTYPE value")?;
                }
                '[' if !in_subset => {
                    in_subset = true;
                    self.pos += 1;
                }
                ']' if in_subset => {
                    in_subset = false;
                    self.pos += 1;
                }
                '<' if in_subset && self.rest().starts_with("<!--") => {
                    self.pos += 4;
                    self.skip_past("-->", "a comment")?;
                }
                '>' if !in_subset => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => self.pos += c.len_utf8(),
            }
        }
    }

    /// After `<`: name, attributes, `>` or `/>`. Returns the element and whether it was empty.
    fn start_tag(&mut self, start: usize) -> XmlResult<(Element, bool)> {
        let name = self.name()?;
        let mut element = Element {
            name,
            attrs: Vec::new(),
            children: Vec::new(),
            offset: start,
        };
        loop {
            let had_space = self.skip_ws() > 0;
            let rest = self.rest();
            if rest.starts_with("/>") {
                self.pos += 2;
                return Ok((element, true));
            }
            if rest.starts_with('>') {
                self.pos += 1;
                return Ok((element, false));
            }
            if rest.is_empty() {
                return self.err(XmlProblem::UnexpectedEnd { inside: "a tag" });
            }
            if !had_space {
                return self.err(XmlProblem::Expected {
                    expected: "a space, `>` or `/>`",
                });
            }
            let at = self.pos;
            let name = self.name()?;
            self.skip_ws();
            if !self.rest().starts_with('=') {
                return self.err(XmlProblem::Expected {
                    expected: "`=` after the attribute name",
                });
            }
            self.pos += 1;
            self.skip_ws();
            let quote = match self.rest().chars().next() {
                Some(q @ ('"' | '\'')) => q,
                Some(_) => {
                    return self.err(XmlProblem::Expected {
                        expected: "a quoted attribute value",
                    });
                }
                None => return self.err(XmlProblem::UnexpectedEnd { inside: "a tag" }),
            };
            self.pos += 1;
            let value_at = self.pos;
            let Some(len) = self.rest().find(quote) else {
                self.pos = self.s.len();
                return self.err(XmlProblem::UnexpectedEnd {
                    inside: "an attribute value",
                });
            };
            let raw = &self.rest()[..len];
            if let Some(i) = raw.find('<') {
                return Err((value_at + i, XmlProblem::LtInAttribute));
            }
            let value = decode(raw, value_at)?.replace(['\t', '\n', '\r'], " ");
            self.pos += len + 1;
            if element.attrs.iter().any(|a| a.name == name) {
                return Err((at, XmlProblem::DuplicateAttribute { name }));
            }
            element.attrs.push(Attr {
                name,
                value,
                offset: at,
            });
        }
    }
}

fn push_text(stack: &mut [Element], text: String, offset: usize) {
    let Some(top) = stack.last_mut() else {
        return;
    };
    if let Some(Node::Text { text: prev, .. }) = top.children.last_mut() {
        prev.push_str(&text);
    } else {
        top.children.push(Node::Text { text, offset });
    }
}

fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(element)),
        None => *root = Some(element),
    }
}

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
        let Some(end) = after.find(';').filter(|&e| e <= 10) else {
            return Err((at, XmlProblem::BadReference));
        };
        let name = &after[..end];
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                match code.and_then(char::from_u32).filter(|&c| is_xml_char(c)) {
                    Some(c) if !name.contains('+') => c,
                    _ => return Err((at, XmlProblem::BadReference)),
                }
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
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
    fn test_parse_elements_attributes_text() {
        let doc = parse(b"<?xml version='1.0'?>\n<!DOCTYPE a SYSTEM \"a.dtd\">\n<a x='1' y=\"&lt;2\"><b>t&amp;u<![CDATA[<v>]]></b><c/></a>\n").unwrap();
        assert_eq!(doc.doctype.as_ref().unwrap().0, "a");
        assert_eq!(doc.root.attr("y"), Some("<2"));
        let b = doc.root.elements().next().unwrap();
        assert_eq!(b.text(), "t&u<v>");
        assert_eq!(doc.root.elements().count(), 2);
    }

    #[test]
    fn test_errors_are_located() {
        let cases: &[(&[u8], usize, XmlProblem)] = &[
            (b"<a>a & b</a>", 5, XmlProblem::BadReference),
            (
                b"<a></b>",
                3,
                XmlProblem::MismatchedEndTag {
                    open: "a".into(),
                    found: "b".into(),
                },
            ),
            (b"<a/><b/>", 4, XmlProblem::OutsideRoot),
            (b"  ", 2, XmlProblem::NoRoot),
            (
                b"<a x='1' x='2'/>",
                9,
                XmlProblem::DuplicateAttribute { name: "x".into() },
            ),
            (b"<a>\x01</a>", 3, XmlProblem::BadCharacter),
            (b"<a>\xff</a>", 3, XmlProblem::BadCharacter),
        ];
        for (input, offset, problem) in cases {
            assert_eq!(
                parse(input).unwrap_err(),
                (*offset, problem.clone()),
                "{input:?}"
            );
        }
    }

    #[test]
    fn test_deep_nesting_is_an_error_not_a_crash() {
        let text = "<a>".repeat(100_000);
        assert!(matches!(
            parse(text.as_bytes()).unwrap_err().1,
            XmlProblem::TooDeep { .. }
        ));
    }

    #[test]
    fn test_line_column() {
        assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_column(b"ab", 0), (1, 1));
    }

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
