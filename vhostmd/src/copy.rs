//! Copying a metrics disk's document to a writer in bounded memory (`vm-dump-metrics`).
//!
//! [`read_disk`](crate::read_disk) holds the whole document and its tree, which is what
//! `xenadm vhostmd dump` needs; a document can be as large as the disk (256 MiB). To only copy
//! it, [`copy_document`] reads the disk in [`COPY_CHUNK_BYTES`] blocks and checks the document
//! as a stream of XML events (quick-xml, no tree): its memory does not depend on the
//! document's length. Limits: one chunk buffer, one XML event of at most [`MAX_EVENT_BYTES`]
//! (a longer tag or text run is refused as too large), [`MAX_DEPTH`](crate::xml) open elements
//! and a hash per chunk (at most 256 for the largest disk).
//!
//! What is copied is what [`read_disk`](crate::read_disk) gives: a snapshot read while the
//! header said not busy and did not change, of a well-formed document. A document of one chunk
//! is checked and written from the same read. A longer one is checked in a first pass, then
//! read again and written chunk by chunk, each chunk compared (by hash) with the checked one
//! before it is written; if the disk changed in between, nothing of the new content is written
//! and the copy ends with [`VhostmdError::DiskUnstable`] (before any output when the first
//! chunk already differs: then it is read again).

use std::cell::Cell;
use std::fs::File;
use std::hash::Hasher as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use quick_xml::events::Event;

use crate::config::MAX_DISK_SIZE_BYTES;
use crate::disk::{HEADER_BYTES, Header};
use crate::error::{DiskProblem, VhostmdError, XmlProblem};
use crate::reader::{ALIGN, ReadOptions, open, read_prefix};
use crate::xml::MAX_DEPTH;

/// Disk bytes read at a time.
pub const COPY_CHUNK_BYTES: usize = 1 << 20;
/// The longest single XML event (tag, text run, comment) [`copy_document`] accepts.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// An aligned buffer for `O_DIRECT` reads.
struct Aligned {
    storage: Vec<u8>,
    start: usize,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let storage = vec![0u8; len + ALIGN];
        let start = storage.as_ptr().align_offset(ALIGN).min(ALIGN);
        Aligned { storage, start }
    }

    fn slice(&mut self, len: usize) -> &mut [u8] {
        &mut self.storage[self.start..self.start + len]
    }
}

/// Reads disk block `index` (of COPY_CHUNK_BYTES) and returns the document bytes in it.
fn read_chunk<'a>(file: &File, buf: &'a mut Aligned, index: u64, end: u64) -> io::Result<&'a [u8]> {
    let from = index * COPY_CHUNK_BYTES as u64;
    let want = usize::try_from((end - from).min(COPY_CHUNK_BYTES as u64)).unwrap_or(0);
    let aligned = want.div_ceil(ALIGN) * ALIGN;
    let slice = buf.slice(aligned);
    let mut got = 0;
    while got < want {
        match file.read_at(&mut slice[got..], from + got as u64) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let skip = if index == 0 { HEADER_BYTES } else { 0 };
    Ok(&slice[skip.min(want)..want])
}

/// A block buffer for a disk whose document ends at `end`: one block, or less for a small
/// document.
fn block_buffer_len(end: u64) -> usize {
    let end = usize::try_from(end).unwrap_or(COPY_CHUNK_BYTES);
    (end.div_ceil(ALIGN) * ALIGN).clamp(ALIGN, COPY_CHUNK_BYTES)
}

fn chunk_hash(bytes: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    h.write(bytes);
    h.finish()
}

/// Checks that bytes are UTF-8 text of characters XML allows, across block boundaries.
#[derive(Default)]
struct CharCheck {
    /// Up to 3 bytes of a UTF-8 sequence cut by the block boundary.
    carry: Vec<u8>,
    bad: bool,
}

impl CharCheck {
    fn feed(&mut self, bytes: &[u8]) {
        if self.bad {
            return;
        }
        let mut bytes = bytes;
        let mut joined;
        if !self.carry.is_empty() {
            // Complete the cut character from the new bytes, then go on from there.
            let need = bytes.len().min(4 - self.carry.len());
            joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(&bytes[..need]);
            match std::str::from_utf8(&joined) {
                Ok(_) => {}
                Err(e) if e.valid_up_to() > 0 => {
                    let used = e.valid_up_to() - (joined.len() - need);
                    self.feed_str(&joined[..e.valid_up_to()]);
                    bytes = &bytes[used..];
                    return self.feed(bytes);
                }
                Err(e) if e.error_len().is_none() && bytes.len() == need => {
                    self.carry = joined;
                    return;
                }
                Err(_) => {
                    self.bad = true;
                    return;
                }
            }
            self.feed_str(&joined);
            bytes = &bytes[need..];
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => self.feed_str(bytes),
            Err(e) if e.error_len().is_none() => {
                self.feed_str(&bytes[..e.valid_up_to()]);
                self.carry = bytes[e.valid_up_to()..].to_vec();
            }
            Err(_) => self.bad = true,
        }
    }

    fn feed_str(&mut self, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.bad |= !text.chars().all(crate::xml::is_xml_char),
            Err(_) => self.bad = true,
        }
    }

    /// At the end of the document: a cut character is bad.
    fn finish(&mut self) {
        self.bad |= !self.carry.is_empty();
    }
}

/// The document as a byte stream, block by block, hashing each block and checking the
/// characters.
struct DocReader<'f> {
    file: &'f File,
    buf: Aligned,
    end: u64,
    next_chunk: u64,
    /// The current block's document bytes are `buf.storage[start..len]`; `pos` is next.
    start: usize,
    pos: usize,
    len: usize,
    hashes: Vec<u64>,
    chars: CharCheck,
}

impl Read for DocReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.len {
            if self.next_chunk * COPY_CHUNK_BYTES as u64 >= self.end {
                self.chars.finish();
                return Ok(0);
            }
            let index = self.next_chunk;
            let bytes = read_chunk(self.file, &mut self.buf, index, self.end)?;
            self.hashes.push(chunk_hash(bytes));
            self.chars.feed(bytes);
            let n = bytes.len();
            self.next_chunk += 1;
            self.start = self.buf.start + if index == 0 { HEADER_BYTES } else { 0 };
            self.pos = self.start;
            self.len = self.start + n;
        }
        let n = (self.len - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf.storage[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A BufRead that refuses to hand out more than [`MAX_EVENT_BYTES`] between two resets of
/// `consumed` (done after every XML event), so one event cannot grow the event buffer.
struct EventLimit<R> {
    inner: R,
    consumed: Rc<Cell<usize>>,
}

impl<R: Read> Read for EventLimit<BufReader<R>> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.consumed.set(self.consumed.get() + n);
        Ok(n)
    }
}

impl<R: Read> BufRead for EventLimit<BufReader<R>> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.consumed.get() > MAX_EVENT_BYTES {
            return Err(io::Error::other(EventTooLarge));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.consumed.set(self.consumed.get() + n);
        self.inner.consume(n);
    }
}

#[derive(Debug)]
struct EventTooLarge;

impl std::fmt::Display for EventTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("one XML event is too large")
    }
}

impl std::error::Error for EventTooLarge {}

/// What pass one found.
struct Checked {
    hashes: Vec<u64>,
    /// The document bytes of block 0 (the whole document when it fits one block).
    first: Option<Vec<u8>>,
}

/// Streams the document through quick-xml and the character check. `Ok(Err(problem))` when
/// it is not well-formed.
fn check(file: &File, end: u64) -> io::Result<Result<Checked, XmlProblem>> {
    let doc = DocReader {
        file,
        buf: Aligned::new(block_buffer_len(end)),
        end,
        next_chunk: 0,
        start: 0,
        pos: 0,
        len: 0,
        hashes: Vec::new(),
        chars: CharCheck::default(),
    };
    let consumed = Rc::new(Cell::new(0));
    let limited = EventLimit {
        inner: BufReader::with_capacity(block_buffer_len(end).min(64 << 10), doc),
        consumed: Rc::clone(&consumed),
    };
    let mut reader = quick_xml::Reader::from_reader(limited);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut root_seen = false;
    let problem = loop {
        buf.clear();
        consumed.set(0);
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(e) => break Some(xml_error(&e)?),
        };
        let problem = match event {
            Event::Eof => {
                break if depth > 0 {
                    Some(XmlProblem::UnexpectedEnd {
                        inside: "an element",
                    })
                } else if !root_seen {
                    Some(XmlProblem::NoRoot)
                } else {
                    None
                };
            }
            Event::Start(e) => {
                if depth == 0 && root_seen {
                    Some(XmlProblem::OutsideRoot)
                } else if depth >= MAX_DEPTH {
                    Some(XmlProblem::TooDeep { limit: MAX_DEPTH })
                } else {
                    depth += 1;
                    root_seen = true;
                    attributes(&e)
                }
            }
            Event::Empty(e) => {
                if depth == 0 && root_seen {
                    Some(XmlProblem::OutsideRoot)
                } else {
                    root_seen = true;
                    attributes(&e)
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                None
            }
            Event::Text(t) => text(&t, depth == 0),
            Event::CData(_) => (depth == 0).then_some(XmlProblem::OutsideRoot),
            Event::GeneralRef(r) => {
                if depth == 0 {
                    Some(XmlProblem::OutsideRoot)
                } else {
                    reference(&r)
                }
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => None,
            Event::DocType(_) => root_seen.then_some(XmlProblem::OutsideRoot),
        };
        if problem.is_some() {
            break problem;
        }
    };
    let doc = reader.into_inner().inner.into_inner();
    if doc.chars.bad {
        return Ok(Err(XmlProblem::BadCharacter));
    }
    if let Some(problem) = problem {
        return Ok(Err(problem));
    }
    let first = (doc.hashes.len() == 1).then(|| doc.buf.storage[doc.start..doc.len].to_vec());
    Ok(Ok(Checked {
        hashes: doc.hashes,
        first,
    }))
}

/// quick-xml's error as a problem; I/O errors (other than the event limit) stay errors.
fn xml_error(e: &quick_xml::Error) -> io::Result<XmlProblem> {
    use quick_xml::errors::IllFormedError as Ill;
    Ok(match e {
        quick_xml::Error::Io(io) => {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<EventTooLarge>())
            {
                XmlProblem::TooLarge {
                    limit_bytes: MAX_EVENT_BYTES,
                }
            } else {
                return Err(io::Error::new(io.kind(), io.to_string()));
            }
        }
        quick_xml::Error::IllFormed(Ill::MismatchedEndTag { expected, found }) => {
            XmlProblem::MismatchedEndTag {
                open: expected.clone(),
                found: found.clone(),
            }
        }
        quick_xml::Error::IllFormed(Ill::UnmatchedEndTag(found)) => XmlProblem::UnmatchedEndTag {
            found: found.clone(),
        },
        quick_xml::Error::IllFormed(Ill::MissingEndTag(_)) => XmlProblem::UnexpectedEnd {
            inside: "an element",
        },
        quick_xml::Error::Syntax(_) => XmlProblem::UnexpectedEnd { inside: "markup" },
        quick_xml::Error::Encoding(_) => XmlProblem::BadCharacter,
        quick_xml::Error::Escape(_) => XmlProblem::BadReference,
        quick_xml::Error::InvalidAttr(quick_xml::events::attributes::AttrError::Duplicated(..)) => {
            XmlProblem::DuplicateAttribute {
                name: String::new(),
            }
        }
        _ => XmlProblem::Expected {
            expected: "well-formed XML",
        },
    })
}

fn attributes(e: &quick_xml::events::BytesStart<'_>) -> Option<XmlProblem> {
    let mut attrs = e.attributes();
    attrs.with_checks(true);
    for attr in attrs {
        let attr = match attr {
            Ok(a) => a,
            Err(quick_xml::events::attributes::AttrError::Duplicated(at, _)) => {
                let rest = e.get(at..).unwrap_or_default();
                let name = rest
                    .split(['=', ' ', '\t', '\n', '\r'])
                    .next()
                    .unwrap_or_default();
                return Some(XmlProblem::DuplicateAttribute {
                    name: name.to_string(),
                });
            }
            Err(_) => {
                return Some(XmlProblem::Expected {
                    expected: "an attribute",
                });
            }
        };
        if attr.value.contains('<') {
            return Some(XmlProblem::LtInAttribute);
        }
        if quick_xml::escape::unescape(&attr.value).is_err() {
            return Some(XmlProblem::BadReference);
        }
    }
    None
}

fn text(t: &quick_xml::events::BytesText<'_>, outside: bool) -> Option<XmlProblem> {
    let raw: &str = t;
    if outside {
        return (!raw.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')))
            .then_some(XmlProblem::OutsideRoot);
    }
    if raw.contains("]]>") {
        return Some(XmlProblem::CdataEndInText);
    }
    raw.contains('&').then_some(XmlProblem::BadReference)
}

fn reference(r: &quick_xml::events::BytesRef<'_>) -> Option<XmlProblem> {
    match r.resolve_char_ref() {
        Ok(Some(c)) => (!crate::xml::is_xml_char(c)).then_some(XmlProblem::BadReference),
        Ok(None) => {
            let name: &str = r;
            (!matches!(name, "amp" | "lt" | "gt" | "quot" | "apos"))
                .then_some(XmlProblem::BadReference)
        }
        Err(_) => Some(XmlProblem::BadReference),
    }
}

/// Copies the document of the metrics disk at `path` to `out` (named `dest` in errors), in
/// memory bounded independently of the document's length (see the module docs). Retries
/// while the disk is busy or changing, like [`read_disk`](crate::read_disk); returns the
/// header of the copied snapshot.
///
/// # Errors
/// As [`read_disk`](crate::read_disk); [`VhostmdError::Write`] naming `dest` when `out`
/// fails (a closed pipe too: the caller decides whether that is quiet).
pub fn copy_document(
    path: &Path,
    options: &ReadOptions,
    out: &mut dyn Write,
    dest: &Path,
) -> Result<Header, VhostmdError> {
    let read_err = VhostmdError::reading(path);
    let disk_err = VhostmdError::disk(path);
    let write_err = |source| VhostmdError::Write {
        path: dest.to_path_buf(),
        source,
    };
    let file = open(path, options.direct_io).map_err(read_err)?;
    let size = file.metadata().map_err(read_err)?.len();
    let size = if size == 0 {
        // A block device: its size from seeking to the end.
        let mut f = &file;
        io::Seek::seek(&mut f, io::SeekFrom::End(0)).map_err(read_err)?
    } else {
        size
    };
    let start = Instant::now();
    let mut attempts = 0u32;
    let unstable = |attempts| VhostmdError::DiskUnstable {
        path: path.to_path_buf(),
        waited_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        attempts,
    };
    loop {
        attempts += 1;
        let header = Header::parse(&read_prefix(&file, HEADER_BYTES).map_err(read_err)?)
            .map_err(disk_err)?;
        if header.busy == 0 {
            let end = HEADER_BYTES as u64 + u64::from(header.length_bytes);
            if end > size || end > MAX_DISK_SIZE_BYTES {
                return Err(disk_err(DiskProblem::LengthPastEnd {
                    length_bytes: header.length_bytes,
                    size_bytes: size,
                }));
            }
            let checked = check(&file, end).map_err(read_err)?;
            let again = Header::parse(&read_prefix(&file, HEADER_BYTES).map_err(read_err)?)
                .map_err(disk_err)?;
            if again == header {
                let checked =
                    checked.map_err(|problem| disk_err(DiskProblem::BadDocument(problem)))?;
                if let Some(first) = &checked.first {
                    out.write_all(first).map_err(write_err)?;
                    out.flush().map_err(write_err)?;
                    return Ok(header);
                }
                match copy_checked(&file, end, &checked.hashes, out).map_err(read_err)? {
                    Copied::All => {
                        out.flush().map_err(write_err)?;
                        return Ok(header);
                    }
                    Copied::Write(e) => return Err(write_err(e)),
                    Copied::ChangedAt(0) => {}
                    Copied::ChangedAt(_) => return Err(unstable(attempts)),
                }
            }
        }
        let waited = start.elapsed();
        if waited >= options.timeout {
            return Err(unstable(attempts));
        }
        std::thread::sleep(options.retry_interval.min(options.timeout - waited));
    }
}

enum Copied {
    All,
    Write(io::Error),
    /// Block N no longer holds what was checked; blocks before it were written.
    ChangedAt(u64),
}

/// Pass two: each block read again, compared with the checked one, then written.
fn copy_checked(file: &File, end: u64, hashes: &[u64], out: &mut dyn Write) -> io::Result<Copied> {
    let mut buf = Aligned::new(block_buffer_len(end));
    for (index, &hash) in (0u64..).zip(hashes) {
        let bytes = read_chunk(file, &mut buf, index, end)?;
        if chunk_hash(bytes) != hash {
            return Ok(Copied::ChangedAt(index));
        }
        if let Err(e) = out.write_all(bytes) {
            return Ok(Copied::Write(e));
        }
    }
    Ok(Copied::All)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::MetricsDisk;

    fn image(dir: &Path, doc: &[u8]) -> std::path::PathBuf {
        let path = dir.join("disk");
        let size = (doc.len() as u64 + 4096).div_ceil(4096) * 4096;
        let mut disk = MetricsDisk::create(&path, size).unwrap();
        disk.update(doc).unwrap();
        path
    }

    fn copy(path: &Path) -> Result<Vec<u8>, VhostmdError> {
        let mut out = Vec::new();
        let options = ReadOptions::with_timeout(
            std::time::Duration::from_millis(300),
            std::time::Duration::from_millis(10),
        );
        copy_document(path, &options, &mut out, Path::new("<out>")).map(|_| out)
    }

    /// The streaming check agrees with the tree parser (what `xenadm vhostmd dump` and
    /// read_disk use) on valid and broken documents.
    #[test]
    fn test_agrees_with_the_tree_parser() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[&str] = &[
            "<metrics/>",
            "<?xml version=\"1.0\"?>\n<metrics>\n  <metric type=\"uint64\" context=\"host\"><name>a</name><value>1</value></metric>\n</metrics>\n",
            "<!DOCTYPE metrics>\n<metrics><a x='1' y=\"&lt;&#65;&#x42;\"/></metrics>",
            "<m><![CDATA[ <raw> & ]]></m>",
            "<m><!-- c --><?pi x?>t&amp;&quot;&apos;&gt;</m>\n\n",
            "<m>\u{e9}\u{20ac}\u{1f600}</m>",
            "",
            "   ",
            "<m>",
            "<m></n>",
            "</m>",
            "<m/><n/>",
            "<m/>text",
            "text<m/>",
            "<m>&bogus;</m>",
            "<m>a & b</m>",
            "<m>&#0;</m>",
            "<m a='<'/>",
            "<m a='1' a='2'/>",
            "<m>]]></m>",
            "<m>\u{1}</m>",
            "<m><n></m></n>",
        ];
        for case in cases {
            let doc = case.as_bytes();
            let tree = crate::xml::parse(doc).is_ok();
            let path = image(dir.path(), doc);
            let streamed = copy(&path);
            assert_eq!(
                streamed.is_ok(),
                tree,
                "{case:?}: stream {:?}",
                streamed.as_ref().err().map(ToString::to_string)
            );
            if let Ok(out) = streamed {
                assert_eq!(out, doc);
            }
            std::fs::remove_file(&path).unwrap();
        }
        // Not UTF-8.
        let path = image(dir.path(), b"<m>\xff</m>");
        assert!(matches!(
            copy(&path),
            Err(VhostmdError::Disk {
                problem: DiskProblem::BadDocument(XmlProblem::BadCharacter),
                ..
            })
        ));
    }

    /// Documents over several blocks, with a character cut by every block boundary, come
    /// out byte for byte.
    #[test]
    fn test_multi_block_documents_copy_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        for shift in 0..4 {
            let mut doc = String::from("<metrics>");
            doc.push_str(&"x".repeat(shift));
            while doc.len() < 2 * COPY_CHUNK_BYTES + 100 {
                doc.push_str("<v>\u{20ac}\u{1f600}\u{e9}</v>");
            }
            doc.push_str("</metrics>\n");
            let path = image(dir.path(), doc.as_bytes());
            assert_eq!(copy(&path).unwrap(), doc.as_bytes(), "shift {shift}");
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn test_one_huge_text_run_is_refused_not_buffered() {
        let dir = tempfile::tempdir().unwrap();
        let mut doc = b"<m>".to_vec();
        doc.extend(std::iter::repeat_n(b'a', 2 * MAX_EVENT_BYTES));
        doc.extend_from_slice(b"</m>");
        let path = image(dir.path(), &doc);
        assert!(matches!(
            copy(&path),
            Err(VhostmdError::Disk {
                problem: DiskProblem::BadDocument(XmlProblem::TooLarge { .. }),
                ..
            })
        ));
    }
}
