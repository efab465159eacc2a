//! `xenadm vhostmd ...`: check a vhostmd configuration, read a metrics disk.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use serde::Serialize;
use vhostmd::{
    Action, Config, ConfigProblem, DiskContent, ProbeOptions, ReadOptions, VhostmdError,
    XmlProblem, find_disk, read_disk,
};

use crate::error::CliError;
use crate::output::{Output, columns};

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

#[derive(Debug, Serialize)]
struct CheckJson<'a> {
    file: &'a Path,
    valid: bool,
    config: &'a Config,
    shell_actions: usize,
    builtin_actions: usize,
}

fn check(file: &Path, out: &Output) -> Result<u8, CliError> {
    let config = Config::read(file)?;
    for word in &config.ignored_transports {
        out.warn(format_args!(
            "{}: <transport>{word}</transport> is not vbd, virtio or xenstore: vhostmd ignores it (and writes the metrics disk when no transport is known)",
            file.display()
        ));
    }
    let builtin = config
        .metrics
        .iter()
        .filter(|m| m.action == Action::Builtin)
        .count();
    if out.json {
        out.print_json(&CheckJson {
            file,
            valid: true,
            config: &config,
            shell_actions: config.metrics.len() - builtin,
            builtin_actions: builtin,
        })?;
    } else {
        let mut transports = Vec::new();
        if config.transports.vbd {
            transports.push("vbd");
        }
        if config.transports.virtio {
            transports.push("virtio");
        }
        out.print(&format!(
            "{}: valid: {} metrics ({} built-in, {} shell actions), disk {} ({} KiB), every {} s, transports {}\n",
            file.display(),
            config.metrics.len(),
            builtin,
            config.metrics.len() - builtin,
            config.disk.path.display(),
            config.disk.size_bytes / 1024,
            config.update_period_secs,
            transports.join(", ")
        ))?;
    }
    Ok(0)
}

fn read(disk: Option<&Path>, timeout_secs: u64) -> Result<DiskContent, CliError> {
    let path = match disk {
        Some(p) => p.to_path_buf(),
        None => find_disk(&ProbeOptions::default())?,
    };
    let options = ReadOptions::with_timeout(
        Duration::from_secs(timeout_secs),
        Duration::from_millis(100),
    );
    Ok(read_disk(&path, &options)?)
}

#[derive(Debug, Serialize)]
struct DumpJson<'a> {
    disk: &'a Path,
    checksum: u32,
    length_bytes: u32,
    metrics: &'a [vhostmd::Metric],
}

fn dump(disk: Option<&Path>, raw: bool, timeout: u64, out: &Output) -> Result<u8, CliError> {
    let content = read(disk, timeout)?;
    if raw {
        out.print(&String::from_utf8_lossy(&content.document))?;
        return Ok(0);
    }
    let doc = content.metrics()?;
    if out.json {
        out.print_json(&DumpJson {
            disk: &content.path,
            checksum: content.header.checksum,
            length_bytes: content.header.length_bytes,
            metrics: &doc.metrics,
        })?;
        return Ok(0);
    }
    let mut rows = vec![vec![
        "CONTEXT".to_string(),
        "VM".to_string(),
        "NAME".to_string(),
        "TYPE".to_string(),
        "VALUE".to_string(),
        "UNIT".to_string(),
    ]];
    for m in &doc.metrics {
        rows.push(vec![
            m.context.to_string(),
            m.vm_id.clone().unwrap_or_else(|| "-".into()),
            m.name.clone(),
            m.type_name.clone(),
            m.value.trim().replace('\n', " "),
            m.unit.clone().unwrap_or_default(),
        ]);
    }
    out.print(&columns(&rows))?;
    Ok(0)
}

#[derive(Debug, Serialize)]
struct GetJson<'a> {
    metric: &'a vhostmd::Metric,
}

fn get(
    name: &str,
    vm_uuid: Option<&str>,
    disk: Option<&Path>,
    out: &Output,
) -> Result<u8, CliError> {
    let doc = read(disk, 10)?.metrics()?;
    let metric = match vm_uuid {
        Some(uuid) => doc.vm(name, uuid)?,
        None => doc.host(name)?,
    };
    if out.json {
        out.print_json(&GetJson { metric })?;
    } else {
        out.print(&format!("{}\n", metric.value.trim_end_matches('\n')))?;
    }
    Ok(0)
}

/// What the administrator can do about an error.
pub fn hint(err: &VhostmdError) -> Option<&'static str> {
    match err {
        VhostmdError::Config {
            problem: ConfigProblem::Xml(XmlProblem::BadReference | XmlProblem::LtInAttribute),
            ..
        } => Some("write `&` in actions as `&amp;` and `<` as `&lt;`"),
        VhostmdError::Config {
            problem: ConfigProblem::Xml(XmlProblem::NoRoot),
            ..
        } => Some(
            "the file holds no configuration (is it empty?); start from /etc/vhostmd/vhostmd.conf as installed, or vhostmd's contrib/vhostmd.conf",
        ),
        VhostmdError::Config {
            problem: ConfigProblem::Xml(_),
            ..
        } => Some("fix the XML at that line and column; `xmllint --noout FILE` shows the same"),
        VhostmdError::Config {
            problem: ConfigProblem::NoDoctype,
            ..
        } => Some(
            "put `<!DOCTYPE vhostmd SYSTEM \"vhostmd.dtd\">` before <vhostmd>, with vhostmd.dtd next to the file",
        ),
        VhostmdError::Config {
            problem: ConfigProblem::DtdMissing { .. },
            ..
        } => Some(
            "copy vhostmd.dtd next to the configuration (the package installs it in /etc/vhostmd/), or fix the DOCTYPE's file name",
        ),
        VhostmdError::Config {
            problem: ConfigProblem::SizeOutOfRange { .. } | ConfigProblem::BadUnit { .. },
            ..
        } => Some("give the disk size as e.g. <size unit=\"k\">256</size> (1 KiB .. 256 MiB)"),
        VhostmdError::Config {
            problem: ConfigProblem::UnknownBuiltin { .. },
            ..
        } => Some("`@builtin` works for the standard metric names; see the vhostmd crate README"),
        VhostmdError::Config { .. } => Some(
            "compare with the element order of vhostmd.dtd (globals: disk, virtio*, update_period, path, transport+)",
        ),
        VhostmdError::NoMetricsDisk { .. } => Some(
            "attach the disk read-only (xl block-attach DOM 'format=raw, vdev=xvdb, access=ro, target=/dev/shm/vhostmd0'), or give --disk PATH",
        ),
        VhostmdError::DiskUnstable { .. } => Some(
            "the writer crashed mid-update or is still in its first update: check that vhostmd runs",
        ),
        VhostmdError::Disk { .. } => Some("the file is not a metrics disk, or it is corrupt"),
        VhostmdError::Read { .. } => {
            Some("check the path and that you may read it (root for devices)")
        }
        VhostmdError::MetricNotFound { .. } => {
            Some("list the metrics with `xenadm vhostmd dump`; VM metrics need --vm-uuid")
        }
        _ => None,
    }
}
