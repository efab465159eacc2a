//! The metrics disk format and its writer.
//!
//! ```text
//! offset  size  field
//! 0       4     signature "mvbd"
//! 4       4     busy      big-endian u32: 1 while writing, 0 when stable
//! 8       4     checksum  big-endian u32: wrapping sum of the content bytes as signed chars
//! 12      4     length    big-endian u32: content bytes
//! 16      len   content   the XML document
//! ```

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt as _, FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use crate::config::MAX_DISK_SIZE_BYTES;
use crate::error::{DiskProblem, VhostmdError};

/// Header size; the document starts here.
pub const HEADER_BYTES: usize = 16;
/// The first four bytes of every metrics disk.
pub const SIGNATURE: [u8; 4] = *b"mvbd";

/// A metrics disk header (the signature is implied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Header {
    /// Non-zero while the writer is updating the disk.
    pub busy: u32,
    /// [`checksum`] of the content.
    pub checksum: u32,
    /// Content length in bytes.
    pub length_bytes: u32,
}

impl Header {
    /// A header for stable content.
    pub fn new(busy: u32, checksum: u32, length_bytes: u32) -> Header {
        Header {
            busy,
            checksum,
            length_bytes,
        }
    }

    /// Decodes the first 16 bytes; the signature must be `mvbd`.
    pub fn parse(bytes: &[u8]) -> Result<Header, DiskProblem> {
        let Some(head) = bytes.get(..HEADER_BYTES) else {
            return Err(DiskProblem::TooShortForHeader {
                size_bytes: bytes.len() as u64,
            });
        };
        let word = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        if head[..4] != SIGNATURE {
            return Err(DiskProblem::BadSignature {
                found: [head[0], head[1], head[2], head[3]],
            });
        }
        Ok(Header {
            busy: word(4),
            checksum: word(8),
            length_bytes: word(12),
        })
    }

    /// The 16 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[..4].copy_from_slice(&SIGNATURE);
        out[4..8].copy_from_slice(&self.busy.to_be_bytes());
        out[8..12].copy_from_slice(&self.checksum.to_be_bytes());
        out[12..].copy_from_slice(&self.length_bytes.to_be_bytes());
        out
    }
}

/// Upstream's checksum: the wrapping sum of the bytes as C `char`, which is signed on x86-64
/// (a byte >= 0x80 adds `b - 256`).
pub fn checksum(content: &[u8]) -> u32 {
    content
        .iter()
        .fold(0u32, |acc, &b| acc.wrapping_add(i32::from(b as i8) as u32))
}

/// An open metrics disk being written by the daemon.
#[derive(Debug)]
pub struct MetricsDisk {
    file: File,
    path: PathBuf,
    size_bytes: u64,
    /// Length of the document last written (what must be zeroed after a shorter one).
    written_bytes: usize,
}

impl MetricsDisk {
    /// Creates (truncates) the disk file at `path` with mode 0644, `size_bytes` long, zeroed,
    /// busy until the first update. The parent folder is created (mode 0700) when missing.
    pub fn create(path: &Path, size_bytes: u64) -> Result<MetricsDisk, VhostmdError> {
        let write_err = |source| VhostmdError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
                .create(parent)
                .map_err(write_err)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(path)
            .map_err(write_err)?;
        file.write_all_at(&Header::new(1, 0, 0).to_bytes(), 0)
            .map_err(write_err)?;
        let is_block = file
            .metadata()
            .map(|m| m.file_type().is_block_device())
            .unwrap_or(false);
        if is_block {
            let zeros = vec![0u8; 64 * 1024];
            let mut at = HEADER_BYTES as u64;
            while at < size_bytes {
                let n = usize::try_from((size_bytes - at).min(zeros.len() as u64)).unwrap_or(0);
                file.write_all_at(&zeros[..n], at).map_err(write_err)?;
                at += n as u64;
            }
        } else {
            file.set_len(size_bytes).map_err(write_err)?;
        }
        Ok(MetricsDisk {
            file,
            path: path.to_path_buf(),
            size_bytes,
            written_bytes: 0,
        })
    }

    /// The disk path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Total size including the header.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Bytes a document may have.
    pub fn capacity_bytes(&self) -> usize {
        usize::try_from(self.size_bytes.min(MAX_DISK_SIZE_BYTES))
            .unwrap_or(0)
            .saturating_sub(HEADER_BYTES)
    }

    /// Writes a document with the busy protocol: busy=1; signature, checksum, length; content;
    /// zeroes what is left of a longer previous document; busy=0 (also after a failed write).
    /// A document larger than the disk is refused and the disk left as it was.
    pub fn update(&mut self, document: &[u8]) -> Result<(), VhostmdError> {
        if document.len() > self.capacity_bytes() {
            return Err(VhostmdError::DocumentTooLarge {
                length_bytes: document.len(),
                capacity_bytes: self.capacity_bytes(),
            });
        }
        let length = u32::try_from(document.len()).unwrap_or(u32::MAX);
        let header = Header::new(1, checksum(document), length);
        let result = self.write_busy(&header, document);
        let clear = self
            .file
            .write_all_at(&0u32.to_be_bytes(), 4)
            .map_err(|source| VhostmdError::Write {
                path: self.path.clone(),
                source,
            });
        result.and(clear)
    }

    fn write_busy(&mut self, header: &Header, document: &[u8]) -> Result<(), VhostmdError> {
        let err = |source| VhostmdError::Write {
            path: self.path.clone(),
            source,
        };
        self.file
            .write_all_at(&1u32.to_be_bytes(), 4)
            .map_err(err)?;
        self.file.write_all_at(&header.to_bytes(), 0).map_err(err)?;
        self.file
            .write_all_at(document, HEADER_BYTES as u64)
            .map_err(err)?;
        if self.written_bytes > document.len() {
            let stale = vec![0u8; self.written_bytes - document.len()];
            self.file
                .write_all_at(&stale, (HEADER_BYTES + document.len()) as u64)
                .map_err(err)?;
        }
        self.written_bytes = document.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_checksum_is_signed_char_sum() {
        assert_eq!(checksum(b"ab"), 0x61 + 0x62);
        assert_eq!(checksum(&[0xff]), u32::MAX);
        assert_eq!(checksum("Grüße".as_bytes()), u32::MAX); // 286 - 287
    }

    #[test]
    fn test_header_round_trip_and_errors() {
        let h = Header::new(0, 0x30071, 2475);
        assert_eq!(Header::parse(&h.to_bytes()).unwrap(), h);
        assert_eq!(
            Header::parse(b"mvb").unwrap_err(),
            DiskProblem::TooShortForHeader { size_bytes: 3 }
        );
        assert!(matches!(
            Header::parse(&[0u8; 16]).unwrap_err(),
            DiskProblem::BadSignature { .. }
        ));
    }

    #[test]
    fn test_shorter_update_zeroes_the_stale_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/disk");
        let mut disk = MetricsDisk::create(&path, 4096).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert_eq!(Header::parse(&bytes).unwrap().busy, 1);
        disk.update(b"<metrics>long long long</metrics>\n").unwrap();
        disk.update(b"<metrics/>\n").unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let h = Header::parse(&bytes).unwrap();
        assert_eq!(h, Header::new(0, checksum(b"<metrics/>\n"), 11));
        assert!(bytes[16 + 11..].iter().all(|&b| b == 0));
        assert!(matches!(
            disk.update(&vec![b'x'; 4096]).unwrap_err(),
            VhostmdError::DocumentTooLarge { .. }
        ));
    }
}
