//! The parser for raw CPUID dumps. Total: every input gives a dump or a located error.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::FileTypeExt as _;
use std::path::{Path, PathBuf};

use crate::dump::{CpuBlock, CpuidDump, CpuidEntry, Leaf, Regs, Subleaf};
use crate::error::{CpuidMaskError, ParseProblem};

/// A dump read from a file, with the line numbers needed to locate later errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpFile {
    /// The path as given (also the host's name in masks and reports).
    pub path: PathBuf,
    /// The parsed dump.
    pub dump: CpuidDump,
    /// For each CPU block, the 1-based line of its header (or first leaf line).
    pub block_lines: Vec<usize>,
}

/// The largest dump read: 64 MiB. A `cpuid -r` line is 86 bytes and a CPU reports 60 to 190
/// leaves and subleaves, so the dump of a 4096-CPU host (Xen's largest build) stays below
/// this; a larger input is refused with [`CpuidMaskError::TooLarge`] after reading at most
/// this many bytes (plus one), so memory stays bounded whatever the input.
pub const MAX_DUMP_BYTES: u64 = 64 << 20;

impl DumpFile {
    /// Reads and parses a `cpuid -1r` (or `cpuid -r`) dump: a file, a pipe (`<(ssh host
    /// xenadm cpuid dump -1)`, `/dev/stdin`) or `-` for standard input. At most
    /// [`MAX_DUMP_BYTES`] are read.
    ///
    /// # Errors
    /// [`CpuidMaskError::NotARegularFile`] for directories, block devices and sockets,
    /// [`CpuidMaskError::Read`] when the input cannot be read, [`CpuidMaskError::TooLarge`]
    /// beyond [`MAX_DUMP_BYTES`], and [`CpuidMaskError::Parse`] with line and column when it
    /// is not a dump.
    pub fn read(path: &Path) -> Result<DumpFile, CpuidMaskError> {
        let read_error = |source: io::Error| CpuidMaskError::Read {
            path: path.to_path_buf(),
            source,
        };
        let bytes = if path == Path::new("-") {
            read_bounded(io::stdin().lock(), path)?
        } else {
            let meta = fs::metadata(path).map_err(read_error)?;
            let kind = meta.file_type();
            if !(kind.is_file() || kind.is_fifo() || kind.is_char_device()) {
                return Err(CpuidMaskError::NotARegularFile {
                    path: path.to_path_buf(),
                });
            }
            if kind.is_file() && meta.len() > MAX_DUMP_BYTES {
                return Err(CpuidMaskError::TooLarge {
                    path: path.to_path_buf(),
                    limit_bytes: MAX_DUMP_BYTES,
                });
            }
            read_bounded(fs::File::open(path).map_err(read_error)?, path)?
        };
        DumpFile::parse(&bytes, path)
    }

    /// Parses text already in memory; `path` names it in errors.
    ///
    /// # Errors
    /// [`CpuidMaskError::Parse`] with line and column when the text is not a dump.
    pub fn parse(input: &[u8], path: &Path) -> Result<DumpFile, CpuidMaskError> {
        let mut file =
            parse_dump(input).map_err(|(line, column, problem)| CpuidMaskError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                problem,
            })?;
        file.path = path.to_path_buf();
        Ok(file)
    }
}

impl CpuidDump {
    /// Parses raw `cpuid -1r` / `cpuid -r` text. Errors name the source `<input>`.
    ///
    /// ```
    /// use cpuid_mask::{CpuidDump, Leaf, Subleaf};
    /// let text = "CPU:\n   0x00000001 0x00: eax=0x000906ea ebx=0x00100800 ecx=0x7ffafbff edx=0xbfebfbff\n";
    /// let dump = CpuidDump::parse(text.as_bytes())?;
    /// assert_eq!(dump.cpus[0].get(Leaf(1), Subleaf(0)).map(|r| r.ecx), Some(0x7ffafbff));
    /// # Ok::<(), cpuid_mask::CpuidMaskError>(())
    /// ```
    ///
    /// # Errors
    /// [`CpuidMaskError::Parse`] with line and column when the text is not a dump.
    pub fn parse(input: &[u8]) -> Result<CpuidDump, CpuidMaskError> {
        DumpFile::parse(input, Path::new("<input>")).map(|file| file.dump)
    }
}

/// Everything `reader` yields, refused beyond [`MAX_DUMP_BYTES`] after reading one byte more.
fn read_bounded(reader: impl Read, path: &Path) -> Result<Vec<u8>, CpuidMaskError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_DUMP_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| CpuidMaskError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_DUMP_BYTES {
        return Err(CpuidMaskError::TooLarge {
            path: path.to_path_buf(),
            limit_bytes: MAX_DUMP_BYTES,
        });
    }
    Ok(bytes)
}

type Located = (usize, usize, ParseProblem);

/// Leaves a current CPU reports (60 to 100), to size a block's vectors once.
const TYPICAL_LEAVES: usize = 96;

struct Block {
    header_line: usize,
    block: CpuBlock,
    /// Line of each entry, parallel to `block.entries`, for duplicate reports.
    entry_lines: Vec<usize>,
}

fn parse_dump(input: &[u8]) -> Result<DumpFile, Located> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut line_count = 0;
    // `str::split` finds newlines with a fast byte search; other input goes byte by byte
    // (and is rejected as binary on its first bad line).
    let lines: Box<dyn Iterator<Item = &[u8]>> = match std::str::from_utf8(input) {
        Ok(text) => Box::new(text.split('\n').map(str::as_bytes)),
        Err(_) => Box::new(input.split(|&b| b == b'\n')),
    };
    for (index, raw) in lines.enumerate() {
        let line_no = index + 1;
        line_count = line_no;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let (entry, start) = match fast_entry(raw) {
            Some(found) => found,
            None => match parse_line(raw, line_no)? {
                Line::Blank => continue,
                Line::Header(cpu) => {
                    close_block(&blocks)?;
                    blocks.push(Block {
                        header_line: line_no,
                        block: CpuBlock {
                            cpu,
                            entries: Vec::with_capacity(TYPICAL_LEAVES),
                        },
                        entry_lines: Vec::with_capacity(TYPICAL_LEAVES),
                    });
                    continue;
                }
                Line::Entry(entry, start) => (entry, start),
            },
        };
        if blocks.is_empty() {
            // Leaf lines without a header (as in libvirt's gathered data): one implicit block.
            blocks.push(Block {
                header_line: line_no,
                block: CpuBlock {
                    cpu: None,
                    entries: Vec::with_capacity(TYPICAL_LEAVES),
                },
                entry_lines: Vec::with_capacity(TYPICAL_LEAVES),
            });
        }
        if let Some(current) = blocks.last_mut() {
            // Dumps list leaves in ascending order, so only an out-of-order line needs the
            // full search for an earlier duplicate.
            let key = (entry.leaf, entry.subleaf);
            let in_order = current
                .block
                .entries
                .last()
                .is_none_or(|last| (last.leaf, last.subleaf) < key);
            let duplicate = if in_order {
                None
            } else {
                current
                    .block
                    .entries
                    .iter()
                    .position(|e| (e.leaf, e.subleaf) == key)
            };
            if let Some(i) = duplicate {
                return Err((
                    line_no,
                    start + 1,
                    ParseProblem::DuplicateLeaf {
                        leaf: entry.leaf,
                        subleaf: entry.subleaf,
                        first_line: current.entry_lines[i],
                    },
                ));
            }
            current.block.entries.push(entry);
            current.entry_lines.push(line_no);
        }
    }
    close_block(&blocks)?;
    if blocks.is_empty() {
        return Err((line_count.max(1), 1, ParseProblem::NoData));
    }
    let block_lines = blocks.iter().map(|b| b.header_line).collect();
    Ok(DumpFile {
        path: PathBuf::new(),
        dump: CpuidDump {
            cpus: blocks.into_iter().map(|b| b.block).collect(),
        },
        block_lines,
    })
}

enum Line {
    Blank,
    Header(Option<u32>),
    /// The entry and the 0-based offset where its text starts.
    Entry(CpuidEntry, usize),
}

/// Any line, with full checks and located errors.
fn parse_line(raw: &[u8], line_no: usize) -> Result<Line, Located> {
    if let Some(col) = raw.iter().position(|&b| !is_text(b)) {
        return Err((line_no, col + 1, ParseProblem::NotText { byte: raw[col] }));
    }
    let Some(start) = raw.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Ok(Line::Blank);
    };
    let end = raw
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(raw.len(), |p| p + 1);
    let text = &raw[start..end];
    let mut cursor = Cursor {
        text,
        pos: 0,
        base_column: start + 1,
        line: line_no,
    };
    if text.starts_with(b"CPU") {
        return parse_header(&mut cursor).map(Line::Header);
    }
    if !text.starts_with(b"0x") && !text.starts_with(b"0X") {
        return Err((line_no, start + 1, ParseProblem::UnexpectedLine));
    }
    parse_entry(&mut cursor).map(|entry| Line::Entry(entry, start))
}

/// The exact layout `cpuid -r` prints (three-space indent, 8/2/8-digit hex fields), decoded
/// without the general parser; anything else returns `None` and goes the slow, checked way.
fn fast_entry(raw: &[u8]) -> Option<(CpuidEntry, usize)> {
    let t = raw.strip_prefix(b"   ")?;
    if t.len() != 76
        || &t[0..2] != b"0x"
        || &t[10..13] != b" 0x"
        || &t[15..23] != b": eax=0x"
        || &t[31..38] != b" ebx=0x"
        || &t[46..53] != b" ecx=0x"
        || &t[61..68] != b" edx=0x"
    {
        return None;
    }
    Some((
        CpuidEntry {
            leaf: Leaf(hex_field(&t[2..10])?),
            subleaf: Subleaf(hex_field(&t[13..15])?),
            regs: Regs {
                eax: hex_field(&t[23..31])?,
                ebx: hex_field(&t[38..46])?,
                ecx: hex_field(&t[53..61])?,
                edx: hex_field(&t[68..76])?,
            },
        },
        3,
    ))
}

/// Up to 8 hex digits, all valid, or `None`.
fn hex_field(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        Some((acc << 4) | u32::from(d))
    })
}

/// Fails when the last block is a header without leaves.
fn close_block(blocks: &[Block]) -> Result<(), Located> {
    match blocks.last() {
        Some(b) if b.block.entries.is_empty() => {
            Err((b.header_line, 1, ParseProblem::EmptyCpuBlock))
        }
        _ => Ok(()),
    }
}

/// Printable ASCII and tab; CR is allowed only as the line end, removed before this check.
fn is_text(b: u8) -> bool {
    b == b'\t' || (0x20..0x7f).contains(&b)
}

struct Cursor<'a> {
    text: &'a [u8],
    pos: usize,
    base_column: usize,
    line: usize,
}

impl Cursor<'_> {
    fn error(&self, problem: ParseProblem) -> Located {
        (self.line, self.base_column + self.pos, problem)
    }

    fn skip_spaces(&mut self) {
        while self
            .text
            .get(self.pos)
            .is_some_and(|b| *b == b' ' || *b == b'\t')
        {
            self.pos += 1;
        }
    }

    fn expect(&mut self, token: &[u8], expected: &'static str) -> Result<(), Located> {
        if self.text[self.pos..].starts_with(token) {
            self.pos += token.len();
            Ok(())
        } else {
            Err(self.error(ParseProblem::Expected { expected }))
        }
    }

    /// `0x` followed by 1 to 8 hex digits.
    fn hex32(&mut self, what: &'static str) -> Result<u32, Located> {
        let rest = &self.text[self.pos..];
        if rest.len() < 2 || rest[0] != b'0' || (rest[1] | 0x20) != b'x' {
            return Err(self.error(ParseProblem::BadHex { what }));
        }
        let mut value: u32 = 0;
        let mut digits = 0;
        for &b in &rest[2..] {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ if b.is_ascii_alphanumeric() => {
                    self.pos += 2 + digits;
                    return Err(self.error(ParseProblem::BadHex { what }));
                }
                _ => break,
            };
            if digits == 8 {
                return Err(self.error(ParseProblem::TooWide { what }));
            }
            value = (value << 4) | u32::from(digit);
            digits += 1;
        }
        if digits == 0 {
            return Err(self.error(ParseProblem::BadHex { what }));
        }
        self.pos += 2 + digits;
        Ok(value)
    }
}

/// `CPU:` or `CPU n:`.
fn parse_header(cursor: &mut Cursor<'_>) -> Result<Option<u32>, Located> {
    cursor.expect(b"CPU", "`CPU:` or `CPU n:`")?;
    cursor.skip_spaces();
    let digits = cursor.text[cursor.pos..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let cpu = if digits == 0 {
        None
    } else {
        let text = &cursor.text[cursor.pos..cursor.pos + digits];
        let number = std::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| cursor.error(ParseProblem::BadCpuNumber))?;
        cursor.pos += digits;
        Some(number)
    };
    cursor.expect(b":", "`:` after the CPU header")?;
    if cursor.pos != cursor.text.len() {
        return Err(cursor.error(ParseProblem::UnexpectedLine));
    }
    Ok(cpu)
}

/// `0xLLLLLLLL 0xSS: eax=0x... ebx=0x... ecx=0x... edx=0x...`
fn parse_entry(cursor: &mut Cursor<'_>) -> Result<CpuidEntry, Located> {
    let leaf = Leaf(cursor.hex32("leaf")?);
    let before = cursor.pos;
    cursor.skip_spaces();
    if cursor.pos == before {
        return Err(cursor.error(ParseProblem::Expected {
            expected: "a space and the subleaf after the leaf",
        }));
    }
    let subleaf = Subleaf(cursor.hex32("subleaf")?);
    cursor.expect(b":", "`:` after the subleaf")?;
    let mut values = [0u32; 4];
    const LABELS: [(&[u8], &str, &str); 4] = [
        (b"eax=", "`eax=`", "eax value"),
        (b"ebx=", "`ebx=`", "ebx value"),
        (b"ecx=", "`ecx=`", "ecx value"),
        (b"edx=", "`edx=`", "edx value"),
    ];
    for (value, (label, expected, what)) in values.iter_mut().zip(LABELS) {
        let before = cursor.pos;
        cursor.skip_spaces();
        if cursor.pos == before {
            return Err(cursor.error(ParseProblem::Expected {
                expected: "a space before the next register",
            }));
        }
        cursor.expect(label, expected)?;
        *value = cursor.hex32(what)?;
    }
    if cursor.pos != cursor.text.len() {
        return Err(cursor.error(ParseProblem::TrailingText));
    }
    let [eax, ebx, ecx, edx] = values;
    Ok(CpuidEntry {
        leaf,
        subleaf,
        regs: Regs { eax, ebx, ecx, edx },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE1: &str =
        "   0x00000001 0x00: eax=0x000906ea ebx=0x00100800 ecx=0x7ffafbff edx=0xbfebfbff";

    #[test]
    fn test_read_bounded_stops_one_byte_past_the_limit() {
        let mut endless = io::repeat(b' ');
        let err = read_bounded(&mut endless, Path::new("-")).expect_err("too large");
        assert!(
            matches!(err, CpuidMaskError::TooLarge { limit_bytes, .. } if limit_bytes == MAX_DUMP_BYTES)
        );
        let exact = read_bounded(io::repeat(b' ').take(MAX_DUMP_BYTES), Path::new("-"));
        assert_eq!(exact.map(|b| b.len() as u64).ok(), Some(MAX_DUMP_BYTES));
    }

    fn problem(text: &str) -> (usize, usize, ParseProblem) {
        parse_dump(text.as_bytes()).expect_err("should fail")
    }

    #[test]
    fn test_parse_single_cpu_header_and_line() {
        let file = parse_dump(format!("CPU:\n{LINE1}\n").as_bytes()).unwrap();
        assert_eq!(file.dump.cpus.len(), 1);
        assert_eq!(file.dump.cpus[0].cpu, None);
        assert_eq!(file.dump.cpus[0].entries[0].regs.edx, 0xbfeb_fbff);
        assert_eq!(file.block_lines, vec![1]);
    }

    #[test]
    fn test_parse_crlf_is_accepted() {
        let file = parse_dump(format!("CPU 3:\r\n{LINE1}\r\n").as_bytes()).unwrap();
        assert_eq!(file.dump.cpus[0].cpu, Some(3));
    }

    #[test]
    fn test_parse_empty_input_is_no_data() {
        assert_eq!(problem(""), (1, 1, ParseProblem::NoData));
        assert_eq!(problem("\n\n"), (3, 1, ParseProblem::NoData));
    }

    #[test]
    fn test_parse_bad_hex_points_at_digit() {
        let text = format!("CPU:\n{}", LINE1.replace("ecx=0x7ffa", "ecx=0x7fZa"));
        let (line, column, p) = problem(&text);
        assert_eq!((line, p), (2, ParseProblem::BadHex { what: "ecx value" }));
        assert_eq!(&text.lines().nth(1).unwrap()[column - 1..column], "Z");
    }

    #[test]
    fn test_parse_truncated_line_names_missing_register() {
        let text = format!("CPU:\n{}", &LINE1[..60]);
        let (line, _, p) = problem(&text);
        assert_eq!(line, 2);
        assert!(matches!(
            p,
            ParseProblem::BadHex { .. } | ParseProblem::Expected { .. }
        ));
    }

    #[test]
    fn test_parse_duplicate_leaf_names_first_line() {
        let text = format!("CPU:\n{LINE1}\n{LINE1}\n");
        let (line, _, p) = problem(&text);
        assert_eq!(line, 3);
        assert!(matches!(
            p,
            ParseProblem::DuplicateLeaf { first_line: 2, .. }
        ));
    }

    #[test]
    fn test_parse_same_leaf_in_two_cpus_is_fine() {
        let text = format!("CPU 0:\n{LINE1}\nCPU 1:\n{LINE1}\n");
        let file = parse_dump(text.as_bytes()).unwrap();
        assert_eq!(file.block_lines, vec![1, 3]);
    }

    #[test]
    fn test_parse_binary_garbage_is_not_text() {
        let (line, column, p) = problem("CPU:\n\u{0}\u{1}garbage");
        assert_eq!((line, column), (2, 1));
        assert_eq!(p, ParseProblem::NotText { byte: 0 });
    }

    #[test]
    fn test_parse_header_without_leaves_is_error() {
        assert_eq!(problem("CPU 0:\nCPU 1:\n").2, ParseProblem::EmptyCpuBlock);
        assert_eq!(problem(&format!("CPU:\n{LINE1}\nCPU 1:\n")).0, 3);
    }

    #[test]
    fn test_parse_too_wide_value() {
        let text = LINE1.replace("eax=0x000906ea", "eax=0x1000906ea");
        assert_eq!(
            problem(&text).2,
            ParseProblem::TooWide { what: "eax value" }
        );
    }

    #[test]
    fn test_parse_other_text_is_unexpected_line() {
        assert_eq!(problem("hello\n").2, ParseProblem::UnexpectedLine);
        assert_eq!(
            problem(&format!("{LINE1} extra")).2,
            ParseProblem::TrailingText
        );
    }

    proptest::proptest! {
        #[test]
        fn test_fast_path_agrees_with_full_parser(
            leaf in proptest::prelude::any::<u32>(),
            subleaf in 0u32..0x100,
            regs in proptest::prelude::any::<[u32; 4]>(),
            upper in proptest::prelude::any::<bool>(),
        ) {
            let entry = CpuidEntry {
                leaf: Leaf(leaf),
                subleaf: Subleaf(subleaf),
                regs: Regs { eax: regs[0], ebx: regs[1], ecx: regs[2], edx: regs[3] },
            };
            let line = if upper {
                format!(
                    "   0x{leaf:08X} 0x{subleaf:02X}: eax=0x{:08X} ebx=0x{:08X} ecx=0x{:08X} edx=0x{:08X}",
                    regs[0], regs[1], regs[2], regs[3]
                )
            } else {
                format!("   {entry}")
            };
            let fast = fast_entry(line.as_bytes());
            let Ok(Line::Entry(slow, start)) = parse_line(line.as_bytes(), 1) else {
                return Err(proptest::test_runner::TestCaseError::fail("full parser rejected"));
            };
            proptest::prop_assert_eq!(fast, Some((slow, start)));
        }
    }

    #[test]
    fn test_render_then_parse_round_trips() {
        let file = parse_dump(format!("CPU 0:\n{LINE1}\nCPU 1:\n{LINE1}\n").as_bytes()).unwrap();
        let again = parse_dump(file.dump.to_string().as_bytes()).unwrap();
        assert_eq!(file.dump, again.dump);
    }
}
