//! grub-cfg: parse + edit + write of /etc/default/grub, parse of a large grub.cfg, Xen option
//! checks, grubenv, and the whole `xenadm boot` process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};
use grub_cfg::{
    BootConfig, DefaultGrub, GrubEnv, Menu, SetOptions, WriteOptions, XenOptionTable, XenVariable,
    xen,
};
use xenadm_benches::{workspace_root, xenadm_binary};

fn data(rel: &str) -> PathBuf {
    workspace_root().join("grub-cfg/tests/data").join(rel)
}

/// A system root holding Debian's generated Xen /etc/default/grub.
fn root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("etc/default")).unwrap();
    fs::create_dir_all(dir.path().join("boot/grub")).unwrap();
    fs::copy(
        data("generated/debian-xen.default-grub"),
        dir.path().join("etc/default/grub"),
    )
    .unwrap();
    fs::copy(
        data("generated/debian-xen.grub.cfg"),
        dir.path().join("boot/grub/grub.cfg"),
    )
    .unwrap();
    dir
}

/// A grub.cfg with `copies` times the Xen and Linux entries of the real Debian one.
fn large_grub_cfg(copies: usize) -> String {
    let real = fs::read_to_string(data("generated/debian-xen.grub.cfg")).unwrap();
    let start = real.find("### BEGIN /etc/grub.d/10_linux ###").unwrap();
    let end = real.find("### BEGIN /etc/grub.d/30_os-prober ###").unwrap();
    let mut text = real[..start].to_string();
    for _ in 0..copies {
        text.push_str(&real[start..end]);
    }
    text.push_str(&real[end..]);
    text
}

fn library(c: &mut Criterion) {
    let bytes = fs::read(data("generated/debian-xen.default-grub")).unwrap();
    c.bench_function("grub_cfg/parse_default_grub", |b| {
        b.iter(|| DefaultGrub::parse(black_box(&bytes), Path::new("grub")).unwrap())
    });
    c.bench_function("grub_cfg/parse_evaluate_plan_set", |b| {
        b.iter(|| {
            let file = DefaultGrub::parse(black_box(&bytes), Path::new("grub")).unwrap();
            let config = BootConfig::from_files(vec![file], None).unwrap();
            config
                .plan_set(
                    &["dom0_mem=2G,max:2G", "iommu=no-intremap"],
                    &SetOptions::default(),
                )
                .unwrap()
        })
    });
    // The whole library side of `xenadm boot set`: read, evaluate, validate, plan, write
    // (temp file, fsync, rename, fsync folder, backup), alternating two values.
    let dir = root();
    let mut toggle = false;
    c.bench_function("grub_cfg/load_plan_write_default_grub", |b| {
        b.iter(|| {
            toggle = !toggle;
            let value = if toggle { "smt=0" } else { "smt=1" };
            let config = BootConfig::load(dir.path()).unwrap();
            let edit = config.plan_set(&[value], &SetOptions::default()).unwrap();
            edit.apply(&WriteOptions::default()).unwrap()
        })
    });
    let large = large_grub_cfg(100);
    let menu = Menu::parse(large.as_bytes(), Path::new("grub.cfg")).unwrap();
    assert_eq!(menu.xen_entries().len(), 900);
    eprintln!(
        "large grub.cfg: {} bytes, {} entries",
        large.len(),
        menu.entries().len()
    );
    c.bench_function("grub_cfg/parse_grub_cfg_1400_entries", |b| {
        b.iter(|| {
            let menu = Menu::parse(black_box(large.as_bytes()), Path::new("grub.cfg")).unwrap();
            menu.xen_entries().len()
        })
    });
    let real = fs::read(data("generated/debian-xen.grub.cfg")).unwrap();
    c.bench_function("grub_cfg/parse_real_grub_cfg", |b| {
        b.iter(|| Menu::parse(black_box(&real), Path::new("grub.cfg")).unwrap())
    });
    let line = "placeholder com1=115200,8n1 console=com1,vga loglvl=all guest_loglvl=all \
                dom0_mem=4096M,max:4096M dom0_max_vcpus=1-4 dom0_vcpus_pin iommu=no-intremap \
                ucode=scan smt=0 sched=credit2 dom0-mem=1G";
    c.bench_function("grub_cfg/check_xen_line_13_options", |b| {
        b.iter(|| {
            let options = xen::parse_cmdline(black_box(line));
            xen::check_line(XenOptionTable::V4_17, &options)
        })
    });
    let file = DefaultGrub::parse(&bytes, Path::new("grub")).unwrap();
    let config = BootConfig::from_files(vec![file], None).unwrap();
    c.bench_function("grub_cfg/xen_options_with_sources", |b| {
        b.iter(|| {
            config
                .xen_options(black_box(XenVariable::XenDefault))
                .unwrap()
        })
    });
    // A long value: locating each option must stay linear (it was quadratic once).
    let long: String = (0..2000).map(|i| format!("opt{i}=v{i} ")).collect();
    let long_file = format!("GRUB_CMDLINE_XEN=\"{long}\"\n");
    let file = DefaultGrub::parse(long_file.as_bytes(), Path::new("grub")).unwrap();
    let config = BootConfig::from_files(vec![file], None).unwrap();
    c.bench_function("grub_cfg/xen_options_with_sources_2000_options", |b| {
        b.iter(|| config.xen_options(black_box(XenVariable::Xen)).unwrap())
    });
    let envdir = tempfile::tempdir().unwrap();
    let env_path = envdir.path().join("grubenv");
    fs::copy(data("generated/debian-xen-saved.grubenv"), &env_path).unwrap();
    let mut n = 0u32;
    let options = WriteOptions::default();
    c.bench_function("grub_cfg/grubenv_set_write_in_place", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let mut env = GrubEnv::read(&env_path).unwrap();
            env.set("saved_entry", &n.to_string()).unwrap();
            env.write(&options).unwrap()
        })
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
    let dir = root();
    let root = dir.path().to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let status = Command::new(&bin)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    };
    c.bench_function("grub_cfg/xenadm_boot_show_process", |b| {
        b.iter(|| run(&["boot", "--root", &root, "show"]))
    });
    c.bench_function("grub_cfg/xenadm_boot_check_process", |b| {
        b.iter(|| run(&["boot", "--root", &root, "check"]))
    });
    let mut toggle = false;
    c.bench_function("grub_cfg/xenadm_boot_set_process", |b| {
        b.iter(|| {
            toggle = !toggle;
            run(&[
                "boot",
                "--root",
                &root,
                "set",
                if toggle { "smt=0" } else { "smt=1" },
            ])
        })
    });
}

criterion_group!(benches, library, whole_process);
criterion_main!(benches);
