//! The XML 1.0 reader for vhostmd configurations and metrics documents: quick-xml's events
//! (elements, attributes, text, references, CDATA, comments, processing instructions, a
//! DOCTYPE whose internal subset is skipped) built into a small tree.
//!
//! On top of quick-xml it checks well-formedness as libxml2 does for these documents
//! (matching tags, one root, names, no stray `&` or `<`, UTF-8, allowed characters, bounded
//! depth), with the byte offset of every problem, and never recurses, so any input gives a
//! tree or a located error in bounded time and memory. The DTD checks of the configuration
//! are in `config_parse`.

use quick_xml::Reader;
use quick_xml::events::attributes::{AttrError, Attribute};
use quick_xml::events::{BytesStart, Event};

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
    TreeBuilder {
        text,
        doctype: None,
        root: None,
        stack: Vec::new(),
    }
    .build()
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

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The length of the name at the start of `s`: `Ok(0)` when `s` is empty, `Err(())` when it
/// starts with a character no name starts with.
fn name_len(s: &str) -> Result<usize, ()> {
    match s.chars().next() {
        None => Ok(0),
        Some(c) if is_name_start(c) => Ok(s.find(|c| !is_name_char(c)).unwrap_or(s.len())),
        Some(_) => Err(()),
    }
}

/// Builds the tree from quick-xml's events, adding the checks quick-xml leaves to its user
/// (names, the single root, depth, references, `<` in attribute values, text outside the
/// root) with the byte offset of each problem.
struct TreeBuilder<'a> {
    /// The whole document (quick-xml reads it after any BOM; events borrow from it).
    text: &'a str,
    doctype: Option<(String, usize)>,
    root: Option<Element>,
    stack: Vec<Element>,
}

impl<'a> TreeBuilder<'a> {
    /// Where `part`, a slice of the document, starts in it.
    fn offset_of(&self, part: &str) -> usize {
        part.as_ptr()
            .addr()
            .saturating_sub(self.text.as_ptr().addr())
    }

    fn build(mut self) -> XmlResult<Document> {
        let base = self.text.strip_prefix('\u{feff}').map_or(0, |_| 3);
        let body = self.text.get(base..).unwrap_or_default();
        if body.starts_with('\u{feff}') {
            // quick-xml would drop this one too, as a byte order mark; it is text before the
            // root.
            return Err((base, XmlProblem::OutsideRoot));
        }
        let mut reader = Reader::from_str(body);
        let config = reader.config_mut();
        // The tree's own checks name the offending tag with its offset.
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.trim_markup_names_in_closing_tags = false;
        // A lone `&` comes as text, so that outside the root it is text outside the root.
        config.allow_dangling_amp = true;
        loop {
            let start = base + usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
            let event = match reader.read_event() {
                Ok(event) => event,
                Err(e) => {
                    let at = base + usize::try_from(reader.error_position()).unwrap_or(0);
                    return Err(self
                        .markup_start(start)
                        .unwrap_or_else(|| self.reader_error(&e, start, at)));
                }
            };
            match event {
                Event::Eof => break,
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::CData(body) => {
                    if self.stack.is_empty() {
                        return Err((start, XmlProblem::OutsideRoot));
                    }
                    let body = body.to_string();
                    self.push_text(body, start);
                }
                Event::DocType(content) => self.doctype(&content, start)?,
                Event::Start(tag) => {
                    let element = self.start_tag(&tag, start)?;
                    self.stack.push(element);
                }
                Event::Empty(tag) => {
                    let element = self.start_tag(&tag, start)?;
                    self.close(element);
                }
                Event::End(tag) => self.end_tag(tag.as_ref(), start)?,
                Event::Text(raw) => self.text(&raw, start)?,
                Event::GeneralRef(name) => {
                    if self.stack.is_empty() {
                        return Err((start, XmlProblem::OutsideRoot));
                    }
                    let c = reference(&name).ok_or((start, XmlProblem::BadReference))?;
                    self.push_text(c.to_string(), start);
                }
            }
        }
        let end = self.text.len();
        if !self.stack.is_empty() {
            return Err((
                end,
                XmlProblem::UnexpectedEnd {
                    inside: "an open element",
                },
            ));
        }
        match self.root {
            Some(root) => Ok(Document {
                doctype: self.doctype,
                root,
            }),
            None => Err((end, XmlProblem::NoRoot)),
        }
    }

    /// What is wrong with the start of the markup at `start` whatever follows (quick-xml reads
    /// a construct to its end before it reports one, the tree's own checks come first).
    fn markup_start(&self, start: usize) -> Option<(usize, XmlProblem)> {
        let markup = self.text.get(start..)?;
        let expected_name = |at| Some((at, XmlProblem::Expected { expected: "a name" }));
        if markup.starts_with("<![CDATA[") {
            return self
                .stack
                .is_empty()
                .then_some((start, XmlProblem::OutsideRoot));
        }
        if let Some(doctype) = markup.strip_prefix("<!DOCTYPE") {
            if self.root.is_some() || !self.stack.is_empty() || self.doctype.is_some() {
                return Some((
                    start,
                    XmlProblem::Expected {
                        expected: "the DOCTYPE before the root element",
                    },
                ));
            }
            return (!doctype.starts_with(is_space)).then_some((
                start + 9,
                XmlProblem::Expected {
                    expected: "a space after <!DOCTYPE",
                },
            ));
        }
        if markup.starts_with("<!--") || markup.starts_with("<?") {
            return None;
        }
        if let Some(end_tag) = markup.strip_prefix("</") {
            return match name_len(end_tag) {
                _ if end_tag.is_empty() => None,
                Ok(len) if len > 0 => {
                    let after = &end_tag[len..];
                    let rest = after.trim_start_matches(is_space);
                    (!rest.starts_with('>')).then_some((
                        start + 2 + len + (after.len() - rest.len()),
                        XmlProblem::Expected { expected: "`>`" },
                    ))
                }
                _ => expected_name(start + 2),
            };
        }
        let tag = markup.strip_prefix('<').filter(|tag| !tag.is_empty())?;
        if self.stack.is_empty() && self.root.is_some() {
            return Some((start, XmlProblem::OutsideRoot));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Some((start, XmlProblem::TooDeep { limit: MAX_DEPTH }));
        }
        match name_len(tag) {
            Ok(len) if len > 0 => {
                let after = &tag[len..];
                (!after.is_empty()
                    && !after.starts_with(is_space)
                    && !after.starts_with('>')
                    && !after.starts_with("/>"))
                .then_some((
                    start + 1 + len,
                    XmlProblem::Expected {
                        expected: "a space, `>` or `/>`",
                    },
                ))
            }
            _ => expected_name(start + 1),
        }
    }

    /// A quick-xml error as a located problem: `start` is where the event began, `at` where
    /// quick-xml places the error.
    fn reader_error(&self, e: &quick_xml::Error, start: usize, at: usize) -> (usize, XmlProblem) {
        use quick_xml::errors::{IllFormedError, SyntaxError};
        let end = self.text.len();
        let unexpected_end = |inside| (end, XmlProblem::UnexpectedEnd { inside });
        match e {
            quick_xml::Error::Syntax(syntax) => match syntax {
                SyntaxError::InvalidBangMarkup => {
                    (start + 1, XmlProblem::Expected { expected: "a name" })
                }
                SyntaxError::UnclosedPI | SyntaxError::UnclosedXmlDecl => {
                    unexpected_end("a processing instruction")
                }
                SyntaxError::UnclosedComment => unexpected_end("a comment"),
                SyntaxError::UnclosedDoctype => unexpected_end("the DOCTYPE"),
                SyntaxError::UnclosedCData => unexpected_end("a CDATA section"),
                SyntaxError::UnclosedTag => unexpected_end("a tag"),
                SyntaxError::UnclosedSingleQuotedAttributeValue
                | SyntaxError::UnclosedDoubleQuotedAttributeValue => {
                    unexpected_end("an attribute value")
                }
            },
            quick_xml::Error::IllFormed(IllFormedError::MissingDoctypeName) => (
                start + 9,
                XmlProblem::Expected {
                    expected: "a space after <!DOCTYPE",
                },
            ),
            quick_xml::Error::IllFormed(IllFormedError::UnclosedReference)
            | quick_xml::Error::Escape(_) => (at, XmlProblem::BadReference),
            quick_xml::Error::Encoding(_) => (at, XmlProblem::BadCharacter),
            _ => (
                at,
                XmlProblem::Expected {
                    expected: "well-formed XML",
                },
            ),
        }
    }

    /// `<!DOCTYPE name ...>`: before the root, once, with a space and a name.
    fn doctype(&mut self, content: &str, start: usize) -> XmlResult<()> {
        if !self
            .text
            .get(start..)
            .is_some_and(|m| m.starts_with("<!DOCTYPE"))
        {
            // quick-xml also takes HTML's lower-case `<!doctype`; XML does not.
            return Err((start + 1, XmlProblem::Expected { expected: "a name" }));
        }
        if self.root.is_some() || !self.stack.is_empty() || self.doctype.is_some() {
            return Err((
                start,
                XmlProblem::Expected {
                    expected: "the DOCTYPE before the root element",
                },
            ));
        }
        let name_at = self.offset_of(content);
        if name_at == start + 9 {
            return Err((
                name_at,
                XmlProblem::Expected {
                    expected: "a space after <!DOCTYPE",
                },
            ));
        }
        match name_len(content) {
            Ok(len) if len > 0 => {
                self.doctype = Some((content[..len].to_string(), name_at));
                Ok(())
            }
            _ => Err((name_at, XmlProblem::Expected { expected: "a name" })),
        }
    }

    /// A start or empty-element tag: one root, bounded depth, a name, attributes.
    fn start_tag(&self, tag: &BytesStart<'_>, start: usize) -> XmlResult<Element> {
        if self.stack.is_empty() && self.root.is_some() {
            return Err((start, XmlProblem::OutsideRoot));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err((start, XmlProblem::TooDeep { limit: MAX_DEPTH }));
        }
        let raw: &str = tag.as_ref();
        let name = match name_len(raw) {
            Ok(len) if len > 0 => &raw[..len],
            _ => {
                return Err((start + 1, XmlProblem::Expected { expected: "a name" }));
            }
        };
        if raw[name.len()..]
            .chars()
            .next()
            .is_some_and(|c| !is_space(c))
        {
            return Err((
                start + 1 + name.len(),
                XmlProblem::Expected {
                    expected: "a space, `>` or `/>`",
                },
            ));
        }
        let mut element = Element {
            name: name.to_string(),
            attrs: Vec::new(),
            children: Vec::new(),
            offset: start,
        };
        let tag_end = self.offset_of(tag.as_ref()) + tag.as_ref().len();
        let mut attributes = tag.attributes();
        attributes.with_checks(true);
        for attribute in attributes {
            let attribute = attribute.map_err(|e| attribute_error(&e, raw, start + 1))?;
            element.attrs.push(self.attribute(&attribute, tag_end)?);
        }
        Ok(element)
    }

    /// One attribute: a name, a value without `<` and with valid references, then a space or
    /// the end of the tag.
    fn attribute(&self, attribute: &Attribute<'_>, tag_end: usize) -> XmlResult<Attr> {
        let key = attribute.key.as_ref();
        let raw_value = attribute.value.as_ref();
        let value_at = self.offset_of(raw_value);
        // The key ends before the blanks, `=` and blanks in front of the opening quote.
        let before_value = self
            .text
            .get(..value_at.saturating_sub(1))
            .unwrap_or_default()
            .trim_end_matches(is_space)
            .strip_suffix('=')
            .unwrap_or_default()
            .trim_end_matches(is_space);
        let at = before_value.len().saturating_sub(key.len());
        match name_len(key) {
            Ok(len) if len == key.len() && len > 0 => {}
            Ok(len) if len > 0 => {
                return Err((
                    at + len,
                    XmlProblem::Expected {
                        expected: "`=` after the attribute name",
                    },
                ));
            }
            Ok(_) | Err(()) => {
                return Err((at, XmlProblem::Expected { expected: "a name" }));
            }
        }
        // After the closing quote: a space or the end of the tag.
        let after = value_at + raw_value.len() + 1;
        if after < tag_end
            && !self
                .text
                .get(after..)
                .is_some_and(|t| t.starts_with(is_space))
        {
            return Err((
                after,
                XmlProblem::Expected {
                    expected: "a space, `>` or `/>`",
                },
            ));
        }
        if let Some(i) = raw_value.find('<') {
            return Err((value_at + i, XmlProblem::LtInAttribute));
        }
        let value = decode(raw_value, value_at)?.replace(['\t', '\n', '\r'], " ");
        Ok(Attr {
            name: key.to_string(),
            value,
            offset: at,
        })
    }

    /// An end tag: its name (and blanks) only, matching the open element.
    fn end_tag(&mut self, content: &str, start: usize) -> XmlResult<()> {
        let name = match name_len(content) {
            Ok(len) if len > 0 => &content[..len],
            _ => {
                return Err((start + 2, XmlProblem::Expected { expected: "a name" }));
            }
        };
        let after = &content[name.len()..];
        let blanks = after.len() - after.trim_start_matches(is_space).len();
        if blanks < after.len() {
            return Err((
                start + 2 + name.len() + blanks,
                XmlProblem::Expected { expected: "`>`" },
            ));
        }
        let Some(open) = self.stack.pop() else {
            return Err((
                start,
                XmlProblem::UnmatchedEndTag {
                    found: name.to_string(),
                },
            ));
        };
        if open.name != name {
            return Err((
                start,
                XmlProblem::MismatchedEndTag {
                    open: open.name,
                    found: name.to_string(),
                },
            ));
        }
        self.close(open);
        Ok(())
    }

    /// Character data between markup and references: blanks only outside the root, no `]]>`,
    /// no lone `&`.
    fn text(&mut self, raw: &str, start: usize) -> XmlResult<()> {
        if self.stack.is_empty() {
            return match raw.find(|c| !is_space(c)) {
                Some(i) => Err((start + i, XmlProblem::OutsideRoot)),
                None => Ok(()),
            };
        }
        if let Some(i) = raw.find("]]>") {
            return Err((start + i, XmlProblem::CdataEndInText));
        }
        let text = decode(raw, start)?;
        self.push_text(text, start);
        Ok(())
    }

    fn push_text(&mut self, text: String, offset: usize) {
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        if let Some(Node::Text { text: prev, .. }) = top.children.last_mut() {
            prev.push_str(&text);
        } else {
            top.children.push(Node::Text { text, offset });
        }
    }

    fn close(&mut self, element: Element) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(Node::Element(element)),
            None => self.root = Some(element),
        }
    }
}

/// quick-xml's attribute error as a located problem; `tag_start` is the offset of the byte
/// after `<`, where quick-xml counts from.
fn attribute_error(e: &AttrError, tag: &str, tag_start: usize) -> (usize, XmlProblem) {
    match *e {
        AttrError::ExpectedEq(at) => {
            // The word before `at` should have been an attribute name.
            let before = tag.get(..at).unwrap_or_default().trim_end_matches(is_space);
            let word_at = before.rfind(is_space).map_or(0, |i| i + 1);
            let (at, expected) = match name_len(&before[word_at..]) {
                Err(()) | Ok(0) => (word_at, "a name"),
                Ok(len) if word_at + len < before.len() => {
                    (word_at + len, "`=` after the attribute name")
                }
                Ok(_) => (at, "`=` after the attribute name"),
            };
            (tag_start + at, XmlProblem::Expected { expected })
        }
        AttrError::ExpectedValue(at) | AttrError::UnquotedValue(at) => (
            tag_start + at,
            XmlProblem::Expected {
                expected: "a quoted attribute value",
            },
        ),
        AttrError::ExpectedQuote(at, _) => (
            tag_start + at,
            XmlProblem::UnexpectedEnd {
                inside: "an attribute value",
            },
        ),
        AttrError::Duplicated(at, _) => {
            let name = tag
                .get(at..)
                .and_then(|rest| rest.split(['=', ' ', '\t', '\n', '\r']).next())
                .unwrap_or_default();
            (
                tag_start + at,
                XmlProblem::DuplicateAttribute {
                    name: name.to_string(),
                },
            )
        }
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
fn reference(name: &str) -> Option<char> {
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
    fn test_markup_errors_are_located_before_the_construct_ends() {
        let cases: &[(&[u8], usize, XmlProblem)] = &[
            (b"<a ='1'/>", 3, XmlProblem::Expected { expected: "a name" }),
            (
                b"<a x='1'y='2'/>",
                8,
                XmlProblem::Expected {
                    expected: "a space, `>` or `/>`",
                },
            ),
            (b"<a></a x>", 7, XmlProblem::Expected { expected: "`>`" }),
            (b"<a/><![CDATA[x", 4, XmlProblem::OutsideRoot),
            (
                b"<!DOCTYPEa><a/>",
                9,
                XmlProblem::Expected {
                    expected: "a space after <!DOCTYPE",
                },
            ),
            (
                b"<a x='1",
                7,
                XmlProblem::UnexpectedEnd {
                    inside: "an attribute value",
                },
            ),
            (b"\xef\xbb\xbf\xef\xbb\xbf<a/>", 3, XmlProblem::OutsideRoot),
            // libxml2 refuses a processing instruction without a target; so does quick-xml.
            (
                b"<a><?></a>",
                10,
                XmlProblem::UnexpectedEnd {
                    inside: "a processing instruction",
                },
            ),
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
