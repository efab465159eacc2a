//! Migration streams (issue 8). Targets:
//! * verify a 1 GiB stream in memory at >= 2 GB/s (`stream/verify_in_memory_1gib`);
//! * `xenadm stream verify` of a 4 GiB file in the page cache within 1.5x of
//!   `cat FILE > /dev/null`, measured in the same run (`stream/process_4gib/*`);
//! * pass-through (relay) adds <= 5% over a plain copy with the same chunk size
//!   (`stream/relay_256mib` against `stream/copy_256mib`).
//!
//! The streams are synthetic 64-bit PV guests from the library's writer (every page a real
//! 4 KiB payload). The 4 GiB file is kept in the temporary folder between runs
//! (`XENADM_BENCH_STREAM_FILE` names another place).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code: a panic is a failed run

use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xen_core::stream::{READ_CHUNK_BYTES, SyntheticGuest, analyze_bytes, relay};
use xenadm_benches::xenadm_binary;

const GIB: u64 = 1 << 30;

/// A PV guest of `bytes` of memory with two small dirty passes.
fn guest(bytes: u64) -> SyntheticGuest {
    let pages = bytes / 4096;
    SyntheticGuest::pv("bench", pages, 2).with_dirty_passes(vec![
        (0..pages).step_by(97).collect(),
        (0..pages).step_by(4099).collect(),
    ])
}

fn in_memory(c: &mut Criterion) {
    let mut bytes = Vec::with_capacity(1 << 30);
    guest(GIB).write_to(&mut bytes).expect("in-memory write");
    let bytes = Bytes::from(bytes);
    assert!(analyze_bytes(&bytes).report.ok, "the bench stream verifies");
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10);
    group.bench_function("verify_in_memory_1gib", |b| {
        b.iter(|| black_box(analyze_bytes(black_box(&bytes))))
    });
    group.finish();
}

/// A writer that copies into a reused 1 MiB buffer: the cost of handing bytes on, as a write
/// into a pipe would, without a pipe's scheduling noise.
struct Ring {
    buf: Vec<u8>,
    at: usize,
}

impl Write for Ring {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(self.buf.len());
        if self.at + n > self.buf.len() {
            self.at = 0;
        }
        self.buf[self.at..self.at + n].copy_from_slice(&data[..n]);
        self.at += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The baseline: read chunks of the relay's size into a page-aligned buffer (as the relay
/// does) and write them on.
fn plain_copy(mut input: &[u8], out: &mut Ring) -> io::Result<u64> {
    let mut storage = vec![0; READ_CHUNK_BYTES + 4096];
    let start = (4096 - storage.as_ptr() as usize % 4096) % 4096;
    let buf = &mut storage[start..start + READ_CHUNK_BYTES];
    let mut total = 0;
    loop {
        let n = input.read(buf)?;
        if n == 0 {
            return Ok(total);
        }
        out.write_all(&buf[..n])?;
        out.flush()?;
        total += n as u64;
    }
}

fn pass_through(c: &mut Criterion) {
    let bytes = guest(256 << 20).encode().expect("in-memory write");
    let mut ring = Ring {
        buf: vec![0; 1 << 20],
        at: 0,
    };
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("copy_256mib", |b| {
        b.iter(|| plain_copy(black_box(&bytes), &mut ring).expect("copy"))
    });
    group.bench_function("relay_256mib", |b| {
        b.iter(|| {
            let report = relay(black_box(&bytes[..]), &mut ring, |_| {}).expect("relay");
            assert!(report.parse_error.is_none());
            report
        })
    });
    group.finish();
}

fn big_file() -> io::Result<PathBuf> {
    let path = std::env::var_os("XENADM_BENCH_STREAM_FILE").map_or_else(
        || std::env::temp_dir().join("xenadm-bench-stream-4gib.save"),
        PathBuf::from,
    );
    let g = guest(4 * GIB);
    // The stream is 4 GiB of pages plus a little framing; a shorter file is a broken write.
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > 4 * GIB) {
        return Ok(path);
    }
    eprintln!("writing {}", path.display());
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    g.write_to(&mut out).map_err(io::Error::other)?;
    out.flush()?;
    Ok(path)
}

fn whole_process(c: &mut Criterion) {
    let (bin, file) = match (xenadm_binary(), big_file()) {
        (Ok(bin), Ok(file)) => (bin, file),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("skipping the 4 GiB process benchmarks: {e}");
            return;
        }
    };
    // Warm the page cache.
    let _ = Command::new("cat")
        .arg(&file)
        .stdout(Stdio::null())
        .status();
    let run = |cmd: &mut Command| {
        let status = cmd.status().expect("command runs");
        assert!(status.success());
    };
    let mut group = c.benchmark_group("stream/process_4gib");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("cat_to_dev_null", |b| {
        b.iter(|| {
            let null = File::create("/dev/null").expect("/dev/null");
            run(Command::new("cat").arg(&file).stdout(null));
        })
    });
    group.bench_function("xenadm_stream_verify", |b| {
        b.iter(|| {
            run(Command::new(&bin)
                .args(["stream", "verify"])
                .arg(&file)
                .stdout(Stdio::null()));
        })
    });
    group.finish();
}

criterion_group!(benches, in_memory, pass_through, whole_process);
criterion_main!(benches);
