//! File contents a test can recognise again: pseudo-random bytes, checksums, zero ranges.

use std::fs::File;
use std::hash::Hasher as _;
use std::io::Read as _;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

/// Deterministic pseudo-random bytes (xorshift64*), different per seed.
///
/// ```
/// use test_support::files::pattern;
/// assert_eq!(pattern(100, 1), pattern(100, 1));
/// assert_ne!(pattern(100, 1), pattern(100, 2));
/// ```
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A checksum (SipHash with fixed keys) of the first `len` bytes of a file; fails the test
/// when the file is shorter.
pub fn checksum(path: &Path, len: u64) -> u64 {
    let mut f = File::open(path).unwrap().take(len);
    let mut hasher = std::hash::DefaultHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.write(&buf[..n]);
        total += n as u64;
    }
    assert_eq!(total, len, "{} is shorter than {len} bytes", path.display());
    hasher.finish()
}

/// Whether every byte of `path` in `[from, to)` is zero.
pub fn zeros_between(path: &Path, from: u64, to: u64) -> bool {
    let f = File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = from;
    while pos < to {
        let n = usize::try_from((to - pos).min(buf.len() as u64)).unwrap();
        f.read_exact_at(&mut buf[..n], pos).unwrap();
        if buf[..n].iter().any(|&b| b != 0) {
            return false;
        }
        pos += n as u64;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_checksum_and_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut bytes = pattern(4096, 7);
        bytes.extend(std::iter::repeat_n(0u8, 4096));
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(checksum(&path, 4096), checksum(&path, 4096));
        assert_ne!(checksum(&path, 4096), checksum(&path, 4095));
        assert!(zeros_between(&path, 4096, 8192));
        assert!(!zeros_between(&path, 4000, 8192));
    }
}
