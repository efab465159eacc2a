//! Embeds `sparse-img`: how much of each disk image is really allocated, and whether the
//! images on one filesystem could outgrow it (the check behind `xenadm image usage`).
//!
//! `cargo run -p xenadm-examples --bin image-usage -- IMAGE_OR_FOLDER...`

use std::path::PathBuf;
use std::process::ExitCode;

use sparse_img::{ByteSize, UsageOptions};

fn main() -> ExitCode {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: image-usage IMAGE_OR_FOLDER...");
        return ExitCode::from(2);
    }
    let report = match sparse_img::usage(&paths, &UsageOptions::default()) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("image-usage: {err}");
            return ExitCode::FAILURE;
        }
    };
    let size = |bytes| ByteSize::from_bytes(bytes).to_string();
    for image in &report.images {
        println!(
            "{}: {} {}, {} allocated ({}%)",
            image.path.display(),
            image.format,
            size(image.size_bytes),
            size(image.allocated_bytes),
            image.allocated_percent()
        );
    }
    for fs in &report.filesystems {
        let verdict = if fs.is_overcommitted() {
            format!("OVERCOMMITTED: {} short", size(fs.shortfall_bytes()))
        } else {
            "fits".to_string()
        };
        println!(
            "{}: {} images, {} more to allocate if they fill up: {verdict}",
            fs.mount_point.display(),
            fs.image_count,
            size(fs.could_grow_bytes)
        );
    }
    for skipped in &report.skipped {
        eprintln!("skipped {}: {}", skipped.path.display(), skipped.error);
    }
    ExitCode::SUCCESS
}
