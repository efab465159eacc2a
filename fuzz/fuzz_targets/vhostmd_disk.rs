//! Any bytes as a metrics disk image: a consistent document or a clear error, never a panic;
//! memory bounded by the header's length checks. The same bytes as a disk file through
//! `copy_document` (what vm-dump-metrics uses): a clear error or exactly the document.

#![no_main]

use std::fs::File;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vhostmd::{MetricsDocument, ReadOptions, SIGNATURE, copy_document, parse_image};

/// One scratch file per fuzzing process, unlinked at once, rewritten for each input; opened
/// again through /proc/self/fd.
fn scratch() -> &'static (File, PathBuf) {
    static FILE: OnceLock<(File, PathBuf)> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("vhostmd_disk_fuzz.{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("scratch file");
        std::fs::remove_file(&path).expect("unlink scratch file");
        let proc_path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        (file, proc_path)
    })
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_image(data, Path::new("fuzz.img"));
    if let Ok(content) = &parsed {
        assert_eq!(content.document.len(), content.header.length_bytes as usize);
        assert_eq!(
            &data[16..16 + content.document.len()],
            content.document.as_slice()
        );
        let doc = MetricsDocument::parse(&content.document).expect("a read disk is XML");
        for m in &doc.metrics {
            let _ = (m.as_u64(), m.as_i64(), m.as_f64());
        }
    }

    // Through a file only when the header can be read: the rest fails on its first bytes
    // alike, and file I/O would slow the fuzzing of the header paths down.
    if !(data.len() >= 16 && data.starts_with(&SIGNATURE)) {
        return;
    }
    let (file, path) = scratch();
    file.set_len(0).expect("truncate scratch");
    file.write_all_at(data, 0).expect("write scratch");
    let mut options = ReadOptions::with_timeout(Duration::ZERO, Duration::ZERO);
    options.direct_io = false;
    let mut out = Vec::new();
    if copy_document(path, &options, &mut out, Path::new("<out>")).is_ok() {
        let length = u32::from_be_bytes([data[12], data[13], data[14], data[15]]) as usize;
        assert_eq!(out.as_slice(), &data[16..16 + length]);
    }
});
