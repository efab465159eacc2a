//! Outside input to sparse-img: sizes typed by the administrator (`--to`, `--by`) and the
//! first bytes of image files (format and partition-table detection).
//!
//! Sizes: parsing must return a size or a typed error, never panic; a parsed size must read
//! back from its plain decimal form, from its display when that is exact, and with blanks
//! around it. Headers: any file content gives a probe, never a panic.

#![no_main]

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sparse_img::{ByteSize, probe};

/// One scratch file per fuzzing process, unlinked at once (nothing is left behind),
/// rewritten for each header input.
fn scratch() -> &'static File {
    static FILE: OnceLock<File> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("image_size_fuzz.{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("scratch file");
        std::fs::remove_file(&path).expect("unlink scratch file");
        file
    })
}

fn check_size(text: &str) {
    let Ok(size) = ByteSize::parse(text) else {
        return;
    };
    let bytes = size.bytes();
    assert_eq!(ByteSize::parse(&bytes.to_string()).unwrap().bytes(), bytes);
    assert_eq!(
        ByteSize::parse(&format!(" {text}\t")).unwrap().bytes(),
        bytes
    );
    let shown = size.to_string();
    if !shown.contains('.') {
        assert_eq!(ByteSize::parse(&shown).unwrap().bytes(), bytes, "{shown}");
    }
}

fn check_header(data: &[u8]) {
    let file = scratch();
    file.set_len(0).expect("truncate");
    file.write_all_at(data, 0).expect("write");
    let found = probe(file, data.len() as u64, Path::new("fuzz.img")).expect("probe");
    if found.format.is_raw() {
        assert_eq!(found.virtual_size_bytes, Some(data.len() as u64));
    }
    let _ = found.format.resize_advice();
    let _ = found.contents.describe();
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((0, header)) => check_header(header),
        Some((_, text)) => {
            if let Ok(text) = std::str::from_utf8(text) {
                check_size(text);
            }
        }
        None => {}
    }
});
