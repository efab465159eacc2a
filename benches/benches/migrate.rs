//! Target (issue 15): the migration pump adds at most 5% to moving a 1 GiB synthetic stream
//! from a pipe (where libxl writes it) to a socket pair (the transport), against a plain copy
//! with the same chunk size in the same run (`migrate/pump_1gib` vs `migrate/copy_1gib`).
//!
//! A writer thread feeds the pipe from memory and a reader thread drains the far end of the
//! socket pair, so both variants pay the same kernel copies; the difference is the parser.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code: a panic is a failed run

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xen_core::migrate::{ProgressSink, pump};
use xen_core::stream::{READ_CHUNK_BYTES, SyntheticGuest};

const GIB: usize = 1 << 30;

fn stream() -> Arc<Vec<u8>> {
    let pages = (GIB / 4096) as u64;
    let guest = SyntheticGuest::pv("bench", pages, 2)
        .with_dirty_passes(vec![(0..pages).step_by(97).collect(), vec![1, 2, 3]])
        .without_xl_header();
    let mut bytes = Vec::with_capacity(GIB + (16 << 20));
    guest.write_to(&mut bytes).expect("in-memory write");
    Arc::new(bytes)
}

/// One move of `data` from a pipe to a socket pair, the middle done by `middle`.
fn move_once(data: &Arc<Vec<u8>>, middle: &dyn Fn(File, &mut UnixStream) -> u64) -> u64 {
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    let (mut near, far) = UnixStream::pair().unwrap();
    let feeder = {
        let data = data.clone();
        std::thread::spawn(move || {
            let mut pipe = File::from(write_end);
            pipe.write_all(&data).unwrap();
        })
    };
    let drain = std::thread::spawn(move || {
        let mut far = far;
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            match far.read(&mut buf).unwrap() {
                0 => return total,
                n => total += n as u64,
            }
        }
    });
    let moved = middle(File::from(read_end), &mut near);
    drop(near);
    feeder.join().unwrap();
    assert_eq!(drain.join().unwrap(), moved);
    moved
}

fn plain_copy(mut input: File, out: &mut UnixStream) -> u64 {
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    let mut total = 0;
    loop {
        let n = input.read(&mut buf).unwrap();
        if n == 0 {
            return total;
        }
        out.write_all(&buf[..n]).unwrap();
        total += n as u64;
    }
}

fn pumped(input: File, out: &mut UnixStream) -> u64 {
    let sink: Mutex<ProgressSink> = Mutex::new(Box::new(|_| {}));
    let (bytes, passes) = pump(input, out, None, &sink).unwrap();
    assert_eq!(passes.len(), 3, "the pump saw the passes");
    bytes
}

fn migrate_pump(c: &mut Criterion) {
    let data = stream();
    let mut group = c.benchmark_group("migrate");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("copy_1gib", |b| b.iter(|| move_once(&data, &plain_copy)));
    group.bench_function("pump_1gib", |b| b.iter(|| move_once(&data, &pumped)));
    group.finish();
}

criterion_group!(benches, migrate_pump);
criterion_main!(benches);
