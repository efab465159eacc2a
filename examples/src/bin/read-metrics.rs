//! Embeds `vhostmd`: reads a metrics disk as a guest would (the job of `vm-dump-metrics`),
//! waiting out a busy header, and prints each metric. Works on a real disk (`/dev/vdb`) or an
//! image file.
//!
//! `cargo run -p xenadm-examples --bin read-metrics -- DISK`

use std::path::PathBuf;
use std::process::ExitCode;

use vhostmd::{ReadOptions, VhostmdError};

fn main() -> ExitCode {
    let Some(disk) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: read-metrics DISK");
        return ExitCode::from(2);
    };
    match run(&disk) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("read-metrics: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(disk: &std::path::Path) -> Result<(), VhostmdError> {
    let content = vhostmd::read_disk(disk, &ReadOptions::default())?;
    for metric in content.metrics()?.metrics {
        let vm = metric
            .vm_id
            .map_or_else(String::new, |id| format!(" vm {id}"));
        println!(
            "{}{vm} [{} {}] = {}",
            metric.name,
            metric.context,
            metric.type_name,
            metric.value.trim_end()
        );
    }
    Ok(())
}
