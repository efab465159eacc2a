//! The XML 1.0 reader for vhostmd configurations and metrics documents: quick-xml's events
//! (elements, attributes, text, references, CDATA, comments, processing instructions, a
//! DOCTYPE whose internal subset is skipped) built into a small tree.
//!
//! On top of quick-xml it checks well-formedness as libxml2 does for these documents
//! (matching tags, one root, names, no stray `&` or `<`, UTF-8, allowed characters, bounded
//! depth), with the byte offset of every problem, and never recurses, so any input gives a
//! tree or a located error in bounded time and memory. The DTD checks of the configuration
//! are in `config_parse`.

use crate::error::XmlProblem;

mod text;
mod tree;

pub(crate) use text::{escape_attr, escape_text};
use tree::TreeBuilder;

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

pub(super) fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || !c.is_ascii()
}

pub(super) fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.'
}

pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The length of the name at the start of `s`: `Ok(0)` when `s` is empty, `Err(())` when it
/// starts with a character no name starts with.
pub(super) fn name_len(s: &str) -> Result<usize, ()> {
    match s.chars().next() {
        None => Ok(0),
        Some(c) if is_name_start(c) => Ok(s.find(|c| !is_name_char(c)).unwrap_or(s.len())),
        Some(_) => Err(()),
    }
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

    /// Each input fails at its offset with its problem.
    fn assert_located(cases: &[(&[u8], usize, XmlProblem)]) {
        for (input, offset, problem) in cases {
            assert_eq!(
                parse(input).unwrap_err(),
                (*offset, problem.clone()),
                "{input:?}"
            );
        }
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
        assert_located(cases);
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
        assert_located(cases);
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
}
