//! Line numbers, file reading and path helpers shared by the parsers.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::{GrubCfgError, ParseProblem};

/// Byte offsets of line starts, to turn an offset into a 1-based line and column.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        let mut at = 0;
        let bytes = text.as_bytes();
        while let Some(n) = bytes[at..].iter().position(|&b| b == b'\n') {
            at += n + 1;
            starts.push(at);
        }
        LineIndex { starts }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }

    /// 1-based (line, column) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line(offset);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        (line, offset - start + 1)
    }
}

/// Text from bytes: UTF-8 without NUL, or a located parse error.
pub(crate) fn decode<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str, GrubCfgError> {
    let located = |offset: usize, problem| {
        let prefix = String::from_utf8_lossy(&bytes[..offset]);
        let (line, column) = LineIndex::new(&prefix).line_col(prefix.len());
        GrubCfgError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            problem,
        }
    };
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(located(at, ParseProblem::Binary));
    }
    std::str::from_utf8(bytes).map_err(|e| located(e.valid_up_to(), ParseProblem::NotUtf8))
}

/// Reads a whole regular file, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, GrubCfgError> {
    match fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(GrubCfgError::NotARegularFile {
                path: path.to_path_buf(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(GrubCfgError::NotFound {
                path: path.to_path_buf(),
            });
        }
        _ => {}
    }
    fs::read(path).map_err(|source| GrubCfgError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// `root` + an absolute path of the target system (`/etc/default/grub`).
pub(crate) fn in_root(root: &Path, target: &str) -> PathBuf {
    root.join(target.trim_start_matches('/'))
}

/// Follows symbolic links of `path` (which lies under `root`) the way the target system
/// would: an absolute link target is taken relative to `root`. Stops after 40 links.
pub(crate) fn resolve_in_root(root: &Path, path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        let Ok(target) = fs::read_link(&current) else {
            return current;
        };
        current = if target.is_absolute() {
            let rel: PathBuf = target
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            root.join(rel)
        } else {
            current
                .parent()
                .map_or_else(|| target.clone(), |dir| dir.join(&target))
        };
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_line_col() {
        let index = LineIndex::new("ab\ncd\n");
        assert_eq!(index.line_col(0), (1, 1));
        assert_eq!(index.line_col(2), (1, 3));
        assert_eq!(index.line_col(3), (2, 1));
        assert_eq!(index.line_col(6), (3, 1));
    }

    #[test]
    fn test_decode_locates_binary() {
        let err = decode(b"A=1\nB=\x00", Path::new("f")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f:2:3: NUL byte: this is binary data, not a text file"
        );
        let err = decode(b"A=\xff", Path::new("f")).unwrap_err();
        assert!(err.to_string().starts_with("f:1:3: "));
    }
}
