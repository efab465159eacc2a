//! The crate's error type.

use std::io;
use std::path::PathBuf;

use crate::dump::{Leaf, Subleaf};

/// Everything that can go wrong in this crate. Each variant names where: the file, and for
/// parse errors the line and column (1-based).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CpuidMaskError {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The path exists but is a directory, a block device or a socket.
    #[error("{} is not a regular file", path.display())]
    NotARegularFile {
        /// The path given.
        path: PathBuf,
    },
    /// The input is larger than any real dump ([`MAX_DUMP_BYTES`](crate::MAX_DUMP_BYTES)).
    #[error(
        "{} is larger than {} MiB, more than any CPUID dump (a 4096-CPU host's is smaller)",
        path.display(),
        limit_bytes >> 20
    )]
    TooLarge {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// The limit.
        limit_bytes: u64,
    },
    /// The text is not a raw CPUID dump.
    #[error("{}:{line}:{column}: {problem}", path.display())]
    Parse {
        /// The file (or `<input>` for in-memory text).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based byte column in that line.
        column: usize,
        /// What is wrong there.
        problem: ParseProblem,
    },
    /// A leaf every CPU must report is missing from a CPU block.
    #[error(
        "{}:{line}: the CPU block starting here has no `{leaf} {subleaf}:` line",
        path.display()
    )]
    MissingLeaf {
        /// The file.
        path: PathBuf,
        /// Line of the block's header (or of its first leaf when it has no header).
        line: usize,
        /// The missing leaf.
        leaf: Leaf,
        /// The missing subleaf.
        subleaf: Subleaf,
    },
    /// A mask was asked for without any host.
    #[error("no CPUID dumps were given")]
    NoHosts,
    /// Reading this machine's CPUID failed (the thread could not be moved to a CPU).
    #[error("cannot run CPUID on CPU {cpu}")]
    PinToCpu {
        /// The CPU number.
        cpu: usize,
        /// The failed system call.
        #[source]
        source: io::Error,
    },
    /// This is not an x86-64 machine.
    #[error("this machine has no CPUID instruction (not x86-64)")]
    Unsupported,
}

impl CpuidMaskError {
    /// What the administrator can do about this error, as a tool embedding the crate may show
    /// it (the `xenadm` CLI prints it as `hint:`). `None` where the fix is in the tool's own
    /// hands (how it makes a dump, which of its commands reads one CPU): the tool words that
    /// itself.
    pub fn fix(&self) -> Option<&'static str> {
        match self {
            CpuidMaskError::NotARegularFile { .. } => {
                Some("give one dump file per host, not a folder (e.g. dumps/*.txt)")
            }
            _ => None,
        }
    }
}

/// What is wrong at a parse error's location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseProblem {
    /// The input holds no CPUID line at all.
    #[error("no CPUID data: expected `cpuid -1r` output")]
    NoData,
    /// A line that is neither a header nor a leaf line.
    #[error(
        "expected a `CPU:` header or a `0xLEAF 0xSUB: eax=0x... ebx=0x... ecx=0x... edx=0x...` line"
    )]
    UnexpectedLine,
    /// A byte that cannot appear in a text dump (binary data).
    #[error("byte 0x{byte:02x} cannot appear in a text dump (binary data?)")]
    NotText {
        /// The byte.
        byte: u8,
    },
    /// A specific token was expected.
    #[error("expected {expected}")]
    Expected {
        /// What was expected, e.g. "`eax=`".
        expected: &'static str,
    },
    /// A hexadecimal number is malformed.
    #[error("bad {what}: expected `0x` and 1 to 8 hexadecimal digits")]
    BadHex {
        /// Which number (e.g. "leaf", "ecx value").
        what: &'static str,
    },
    /// A hexadecimal number has more than 8 digits.
    #[error("{what} has more than 32 bits")]
    TooWide {
        /// Which number.
        what: &'static str,
    },
    /// Text after the last register value.
    #[error("unexpected text after the edx value")]
    TrailingText,
    /// The same leaf and subleaf twice in one CPU block.
    #[error(
        "leaf {leaf} subleaf {subleaf} appears twice in this CPU block (first on line {first_line})"
    )]
    DuplicateLeaf {
        /// The leaf.
        leaf: Leaf,
        /// The subleaf.
        subleaf: Subleaf,
        /// Where it first appeared.
        first_line: usize,
    },
    /// A `CPU n:` header with no leaf lines after it.
    #[error("CPU header with no leaf lines after it")]
    EmptyCpuBlock,
    /// A `CPU n:` header whose number is not a decimal number.
    #[error("bad CPU number in header: expected `CPU n:`")]
    BadCpuNumber,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_fix_is_the_crates_own_advice() {
        let folder = CpuidMaskError::NotARegularFile {
            path: PathBuf::from("dumps"),
        };
        assert!(folder.fix().unwrap().contains("not a folder"));
    }
}
