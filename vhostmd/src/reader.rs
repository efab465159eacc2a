//! Reading a metrics disk as a guest does: find the device, read it with `O_DIRECT` (so the
//! guest's page cache never serves an old copy), and retry while the writer is busy or the
//! content changes under the reader, up to a time limit (upstream spins forever).

use std::fs::{File, OpenOptions};
use std::io::{self, Seek as _, SeekFrom};
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::MAX_DISK_SIZE_BYTES;
use crate::disk::{HEADER_BYTES, Header, SIGNATURE};
use crate::error::{DiskProblem, VhostmdError};
use crate::metrics::MetricsDocument;
use crate::xml;

/// How to read a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Give up when the disk stays busy or keeps changing this long.
    pub timeout: Duration,
    /// Pause between attempts.
    pub retry_interval: Duration,
    /// Read with `O_DIRECT` (falls back to buffered reads where the file system refuses).
    pub direct_io: bool,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            timeout: Duration::from_secs(10),
            retry_interval: Duration::from_millis(100),
            direct_io: true,
        }
    }
}

impl ReadOptions {
    /// Default options with this timeout and retry interval.
    pub fn with_timeout(timeout: Duration, retry_interval: Duration) -> ReadOptions {
        ReadOptions {
            timeout,
            retry_interval,
            ..ReadOptions::default()
        }
    }
}

/// Where to look for the metrics disk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeOptions {
    /// Folder listing the block devices (`/sys/block`).
    pub sys_block: PathBuf,
    /// Folder holding their device nodes (`/dev`).
    pub dev: PathBuf,
}

impl Default for ProbeOptions {
    fn default() -> ProbeOptions {
        ProbeOptions {
            sys_block: PathBuf::from("/sys/block"),
            dev: PathBuf::from("/dev"),
        }
    }
}

impl ProbeOptions {
    /// Probe `sys_block` entries as device nodes in `dev`.
    pub fn new(sys_block: PathBuf, dev: PathBuf) -> ProbeOptions {
        ProbeOptions { sys_block, dev }
    }
}

/// A consistent snapshot of a metrics disk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiskContent {
    /// The image or device read.
    pub path: PathBuf,
    /// Its header (busy is 0).
    pub header: Header,
    /// The XML document, exactly `header.length_bytes` bytes (well-formed).
    pub document: Vec<u8>,
}

impl DiskContent {
    /// The metrics in the document.
    pub fn metrics(&self) -> Result<MetricsDocument, VhostmdError> {
        MetricsDocument::parse(&self.document)
    }
}

pub(crate) const ALIGN: usize = 4096;

/// Reads the first `len` bytes (fewer at the end of the file) into an aligned buffer.
pub(crate) fn read_prefix(file: &File, len: usize) -> io::Result<Vec<u8>> {
    let want = len.div_ceil(ALIGN).max(1) * ALIGN;
    let mut buf = vec![0u8; want + ALIGN];
    let off = buf.as_ptr().align_offset(ALIGN).min(ALIGN);
    let slice = &mut buf[off..off + want];
    let mut got = 0;
    while got < len {
        match file.read_at(&mut slice[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(slice[..got.min(len)].to_vec())
}

pub(crate) fn open(path: &Path, direct: bool) -> io::Result<File> {
    if direct {
        match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
        {
            Ok(f) => {
                // Some file systems accept O_DIRECT at open and refuse the read.
                match read_prefix(&f, HEADER_BYTES) {
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
                    _ => return Ok(f),
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    File::open(path)
}

/// Reads a metrics disk image or device, retrying while it is busy or changing.
pub fn read_disk(path: &Path, options: &ReadOptions) -> Result<DiskContent, VhostmdError> {
    let read_err = VhostmdError::reading(path);
    let mut file = open(path, options.direct_io).map_err(read_err)?;
    let size = file.seek(SeekFrom::End(0)).map_err(read_err)?;
    let start = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        if let Some(content) = attempt(&file, path, size)? {
            return Ok(content);
        }
        let waited = start.elapsed();
        if waited >= options.timeout {
            return Err(VhostmdError::DiskUnstable {
                path: path.to_path_buf(),
                waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                attempts,
            });
        }
        std::thread::sleep(options.retry_interval.min(options.timeout - waited));
    }
}

/// One read: `None` when the disk is busy or changed during the read.
fn attempt(file: &File, path: &Path, size: u64) -> Result<Option<DiskContent>, VhostmdError> {
    let read_err = VhostmdError::reading(path);
    let disk_err = VhostmdError::disk(path);
    let first =
        Header::parse(&read_prefix(file, HEADER_BYTES).map_err(read_err)?).map_err(disk_err)?;
    if first.busy != 0 {
        return Ok(None);
    }
    let end = HEADER_BYTES as u64 + u64::from(first.length_bytes);
    if end > size || end > MAX_DISK_SIZE_BYTES {
        return Err(disk_err(DiskProblem::LengthPastEnd {
            length_bytes: first.length_bytes,
            size_bytes: size,
        }));
    }
    let data = read_prefix(file, usize::try_from(end).unwrap_or(0)).map_err(read_err)?;
    let again =
        Header::parse(&read_prefix(file, HEADER_BYTES).map_err(read_err)?).map_err(disk_err)?;
    if Header::parse(&data).ok() != Some(first) || again != first {
        return Ok(None);
    }
    if (data.len() as u64) < end {
        return Err(disk_err(DiskProblem::LengthPastEnd {
            length_bytes: first.length_bytes,
            size_bytes: data.len() as u64,
        }));
    }
    finish(path, first, data[HEADER_BYTES..].to_vec()).map(Some)
}

fn finish(path: &Path, header: Header, document: Vec<u8>) -> Result<DiskContent, VhostmdError> {
    if let Err((_, problem)) = xml::parse(&document) {
        return Err(VhostmdError::Disk {
            path: path.to_path_buf(),
            problem: DiskProblem::BadDocument(problem),
        });
    }
    Ok(DiskContent {
        path: path.to_path_buf(),
        header,
        document,
    })
}

/// Decodes a whole disk image held in memory (one attempt: a busy image is an error).
pub fn parse_image(bytes: &[u8], path: &Path) -> Result<DiskContent, VhostmdError> {
    let disk_err = VhostmdError::disk(path);
    let header = Header::parse(bytes).map_err(disk_err)?;
    if header.busy != 0 {
        return Err(VhostmdError::DiskUnstable {
            path: path.to_path_buf(),
            waited_ms: 0,
            attempts: 1,
        });
    }
    let end = HEADER_BYTES as u64 + u64::from(header.length_bytes);
    let Some(document) = usize::try_from(end)
        .ok()
        .and_then(|end| bytes.get(HEADER_BYTES..end))
    else {
        return Err(disk_err(DiskProblem::LengthPastEnd {
            length_bytes: header.length_bytes,
            size_bytes: bytes.len() as u64,
        }));
    };
    finish(path, header, document.to_vec())
}

/// Finds the metrics disk as upstream does: the first block device (in name order) whose first
/// bytes are `mvbd`. Devices that cannot be opened or read are skipped.
pub fn find_disk(options: &ProbeOptions) -> Result<PathBuf, VhostmdError> {
    let entries = std::fs::read_dir(&options.sys_block).map_err(|source| VhostmdError::Read {
        path: options.sys_block.clone(),
        source,
    })?;
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    for name in &names {
        let dev = options.dev.join(name);
        let Ok(file) = open(&dev, true) else {
            continue;
        };
        if read_prefix(&file, SIGNATURE.len()).is_ok_and(|head| head == SIGNATURE) {
            return Ok(dev);
        }
    }
    Err(VhostmdError::NoMetricsDisk {
        root: options.sys_block.clone(),
        devices: names.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::{MetricsDisk, checksum};

    #[test]
    fn test_read_back_what_the_writer_wrote_even_below_64_kib() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        let mut disk = MetricsDisk::create(&path, 1024).unwrap();
        let doc = b"<metrics>\n</metrics>\n";
        disk.update(doc).unwrap();
        let content = read_disk(&path, &ReadOptions::default()).unwrap();
        assert_eq!(content.document, doc);
        assert_eq!(content.header.checksum, checksum(doc));
    }

    #[test]
    fn test_stuck_busy_flag_gives_up_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        let _disk = MetricsDisk::create(&path, 4096).unwrap();
        let options = ReadOptions {
            timeout: Duration::from_millis(200),
            retry_interval: Duration::from_millis(20),
            direct_io: true,
        };
        let err = read_disk(&path, &options).unwrap_err();
        assert!(matches!(err, VhostmdError::DiskUnstable { attempts, .. } if attempts > 1));
    }

    #[test]
    fn test_corrupt_images() {
        let p = Path::new("x");
        let mut img = Header::new(0, 0, 100).to_bytes().to_vec();
        img.extend_from_slice(b"<a/>");
        assert!(matches!(
            parse_image(&img, p).unwrap_err(),
            VhostmdError::Disk {
                problem: DiskProblem::LengthPastEnd { .. },
                ..
            }
        ));
        let mut img = Header::new(0, 0, 5).to_bytes().to_vec();
        img.extend_from_slice(b"<a>&</a>");
        assert!(matches!(
            parse_image(&img, p).unwrap_err(),
            VhostmdError::Disk {
                problem: DiskProblem::BadDocument(_),
                ..
            }
        ));
    }

    #[test]
    fn test_probe_finds_the_signature_under_a_fake_root() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys");
        let dev = dir.path().join("dev");
        std::fs::create_dir_all(sys.join("vda")).unwrap();
        std::fs::create_dir_all(sys.join("vdb")).unwrap();
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("vda"), vec![0u8; 4096]).unwrap();
        let mut disk = MetricsDisk::create(&dev.join("vdb"), 4096).unwrap();
        disk.update(b"<metrics/>").unwrap();
        let options = ProbeOptions {
            sys_block: sys,
            dev,
        };
        assert_eq!(find_disk(&options).unwrap(), options.dev.join("vdb"));
        std::fs::remove_file(options.dev.join("vdb")).unwrap();
        assert!(matches!(
            find_disk(&options).unwrap_err(),
            VhostmdError::NoMetricsDisk { devices: 2, .. }
        ));
    }
}
