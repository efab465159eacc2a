//! `xenadm vhostmd ...`: check a vhostmd configuration, read a metrics disk. The reports
//! are [`vhostmd::report`]'s; the hints that name commands are this command's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use vhostmd::report::{CheckReport, DumpReport, GetReport, read_metrics_disk};
use vhostmd::{Config, VhostmdError};

use crate::error::CliError;
use crate::output::Output;

/// `xenadm vhostmd ...`
#[derive(Debug, Subcommand)]
pub enum VhostmdCommand {
    /// Check a vhostmd.conf against vhostmd.dtd's rules and the daemon's value rules
    /// (replaces `xmllint --postvalid --noout`). Exit 1 if invalid.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
    /// Print the metrics of a metrics disk (probes /sys/block for it, as a guest does).
    Dump {
        /// Read this image or device instead of probing.
        #[arg(long, value_name = "PATH")]
        disk: Option<PathBuf>,
        /// Print the raw XML document, byte for byte as vm-dump-metrics does.
        #[arg(long, conflicts_with = "json")]
        raw: bool,
        /// Give up after this many seconds when the disk stays busy.
        #[arg(long, value_name = "SECONDS", default_value_t = 10)]
        timeout: u64,
    },
    /// Print one metric's value: a host metric, or with --vm-uuid that VM's.
    Get {
        /// The metric name.
        name: String,
        /// The VM's UUID (vm context).
        #[arg(long, value_name = "UUID")]
        vm_uuid: Option<String>,
        /// Read this image or device instead of probing.
        #[arg(long, value_name = "PATH")]
        disk: Option<PathBuf>,
    },
}

/// Runs one `xenadm vhostmd` subcommand.
pub fn run(command: &VhostmdCommand, out: &Output) -> Result<u8, CliError> {
    match command {
        VhostmdCommand::Check { file } => check(file, out),
        VhostmdCommand::Dump { disk, raw, timeout } => dump(disk.as_deref(), *raw, *timeout, out),
        VhostmdCommand::Get {
            name,
            vm_uuid,
            disk,
        } => get(name, vm_uuid.as_deref(), disk.as_deref(), out),
    }
}

fn check(file: &Path, out: &Output) -> Result<u8, CliError> {
    let config = Config::read(file)?;
    let report = CheckReport::new(file, &config);
    report.warnings().into_iter().for_each(|w| out.warn(w));
    if out.json {
        out.print_json(&report)?;
    } else {
        out.print(&report.text())?;
    }
    Ok(0)
}

fn dump(disk: Option<&Path>, raw: bool, timeout: u64, out: &Output) -> Result<u8, CliError> {
    let content = read_metrics_disk(disk, Duration::from_secs(timeout))?;
    if raw {
        out.print(&String::from_utf8_lossy(&content.document))?;
        return Ok(0);
    }
    let doc = content.metrics()?;
    let report = DumpReport::new(&content, &doc.metrics);
    if out.json {
        out.print_json(&report)?;
    } else {
        out.print(&report.table())?;
    }
    Ok(0)
}

fn get(
    name: &str,
    vm_uuid: Option<&str>,
    disk: Option<&Path>,
    out: &Output,
) -> Result<u8, CliError> {
    let doc = read_metrics_disk(disk, Duration::from_secs(10))?.metrics()?;
    let metric = match vm_uuid {
        Some(uuid) => doc.vm(name, uuid)?,
        None => doc.host(name)?,
    };
    let report = GetReport { metric };
    if out.json {
        out.print_json(&report)?;
    } else {
        out.print(&report.text())?;
    }
    Ok(0)
}

/// What the administrator can do about an error: the fixes that name this command's options
/// and commands here, the rest from [`VhostmdError::fix`].
pub fn hint(err: &VhostmdError) -> Option<&'static str> {
    match err {
        VhostmdError::NoMetricsDisk { .. } => Some(
            "attach the disk read-only (xl block-attach DOM 'format=raw, vdev=xvdb, access=ro, target=/dev/shm/vhostmd0'), or give --disk PATH",
        ),
        VhostmdError::MetricNotFound { .. } => {
            Some("list the metrics with `xenadm vhostmd dump`; VM metrics need --vm-uuid")
        }
        _ => err.fix(),
    }
}
