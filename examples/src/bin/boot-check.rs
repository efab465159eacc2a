//! Embeds `grub-cfg`: the Xen options the next `update-grub` will put on normal boot entries,
//! each with the file:line it comes from, checked against the option table of the Xen release
//! installed (the library behind `xenadm boot check`). Reads nothing but files.
//!
//! `cargo run -p xenadm-examples --bin boot-check -- [ROOT]`

use std::path::PathBuf;
use std::process::ExitCode;

use grub_cfg::{BootConfig, Severity, XenOptionTable};

fn main() -> ExitCode {
    let root = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("/"), PathBuf::from);
    let config = match BootConfig::load(&root) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("boot-check: {err}");
            return ExitCode::FAILURE;
        }
    };
    let (table, why) = match grub_cfg::installed_xen(&root) {
        Some(found) => (
            found.table,
            format!("Xen {} ({})", found.release, found.evidence),
        ),
        None => (
            XenOptionTable::V4_22,
            "no Xen found: the 4.22 table".to_string(),
        ),
    };
    println!("option table: {why}");
    let report = config.check(table);
    for option in &report.options {
        let at = option
            .source
            .as_ref()
            .map_or_else(String::new, |s| format!("  ({s})"));
        println!("{}{at}", option.option.raw);
    }
    for finding in &report.findings {
        println!("{finding}");
    }
    if report.count(Severity::Error) == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
