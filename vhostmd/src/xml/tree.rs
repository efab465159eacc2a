//! quick-xml's events into the tree, with the checks quick-xml leaves to its user.

use quick_xml::Reader;
use quick_xml::events::attributes::{AttrError, Attribute};
use quick_xml::events::{BytesStart, Event};

use super::text::{decode, reference};
use super::{Attr, Document, Element, MAX_DEPTH, Node, XmlResult, is_space, name_len};
use crate::error::XmlProblem;

/// Builds the tree from quick-xml's events, adding the checks quick-xml leaves to its user
/// (names, the single root, depth, references, `<` in attribute values, text outside the
/// root) with the byte offset of each problem.
pub(super) struct TreeBuilder<'a> {
    /// The whole document (quick-xml reads it after any BOM; events borrow from it).
    pub(super) text: &'a str,
    pub(super) doctype: Option<(String, usize)>,
    pub(super) root: Option<Element>,
    pub(super) stack: Vec<Element>,
}

impl<'a> TreeBuilder<'a> {
    /// Where `part`, a slice of the document, starts in it.
    fn offset_of(&self, part: &str) -> usize {
        part.as_ptr()
            .addr()
            .saturating_sub(self.text.as_ptr().addr())
    }

    pub(super) fn build(mut self) -> XmlResult<Document> {
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
