//! cpuid-mask: the library (parse + mask) and the whole `xenadm cpuid mask` process.
//!
//! Targets (issue 2): whole process on the 8 dumps <= 1.5 ms (xen_maskcalc.py: 16.5 ms py2,
//! 46.5 ms py3); parse + mask of 1,000 dumps <= 20 ms.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cpuid_mask::{DumpFile, HostCpu, Mask, MaskOptions, render};
use criterion::{Criterion, criterion_group, criterion_main};
use xenadm_benches::{cpuid_dump_dir, xenadm_binary};

fn dump_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(cpuid_dump_dir())
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "txt"))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
}

/// 1,000 dumps in memory under distinct names, cycling through the real ones.
fn thousand_dumps() -> Vec<(PathBuf, Vec<u8>)> {
    let real: Vec<Vec<u8>> = dump_paths()
        .iter()
        .filter_map(|p| fs::read(p).ok())
        .collect();
    (0..1000)
        .map(|i| {
            (
                PathBuf::from(format!("host{i}.txt")),
                real[i % real.len()].clone(),
            )
        })
        .collect()
}

fn parse_and_mask(dumps: &[(PathBuf, Vec<u8>)], options: MaskOptions) -> Option<String> {
    let hosts: Vec<HostCpu> = dumps
        .iter()
        .filter_map(|(name, bytes)| {
            let file = DumpFile::parse(bytes, Path::new(name)).ok()?;
            HostCpu::from_file(&file, options.registers()).ok()
        })
        .collect();
    let mask = Mask::compute(&hosts, options).ok()?;
    Some(render::xl::render(&mask))
}

fn library(c: &mut Criterion) {
    let dumps = thousand_dumps();
    assert_eq!(dumps.len(), 1000);
    c.bench_function("cpuid_mask/parse_mask_render_1000_dumps", |b| {
        b.iter(|| parse_and_mask(black_box(&dumps), MaskOptions::default()))
    });
    c.bench_function("cpuid_mask/parse_mask_render_1000_dumps_extended", |b| {
        b.iter(|| parse_and_mask(black_box(&dumps), MaskOptions { extended: true }))
    });
    let one = &dumps[..1];
    c.bench_function("cpuid_mask/parse_one_dump", |b| {
        b.iter(|| DumpFile::parse(black_box(&one[0].1), Path::new("a")))
    });
}

fn whole_process(c: &mut Criterion) {
    let bin = match xenadm_binary() {
        Ok(bin) => bin,
        Err(err) => {
            eprintln!("skipping whole-process benchmark: {err}");
            return;
        }
    };
    let paths = dump_paths();
    assert_eq!(paths.len(), 8, "expected the 8 real dumps");
    c.bench_function("cpuid_mask/xenadm_cpuid_mask_8_dumps_process", |b| {
        b.iter(|| {
            let status = Command::new(&bin)
                .arg("cpuid")
                .arg("mask")
                .args(&paths)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            assert!(status.is_ok_and(|s| s.success()));
        })
    });
}

criterion_group!(benches, library, whole_process);
criterion_main!(benches);
