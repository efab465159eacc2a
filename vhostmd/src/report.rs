//! xenadm's reports of a configuration and a metrics disk: what `xenadm vhostmd check`,
//! `dump` and `get` print, as text and as JSON shapes, and the guest's way to a disk (given
//! or probed, read with a timeout).

use std::path::{Path, PathBuf};
use std::time::Duration;

use text_table::columns;

use crate::config::Action;
use crate::{Config, DiskContent, Metric, ProbeOptions, ReadOptions, VhostmdError, find_disk};

/// How often a busy disk is read again.
const RETRY_INTERVAL: Duration = Duration::from_millis(100);

/// The metrics disk at `disk`, or the one probed in /sys/block as a guest does
/// ([`find_disk`]): read whole, waiting up to `timeout` while the writer keeps it busy.
pub fn read_metrics_disk(
    disk: Option<&Path>,
    timeout: Duration,
) -> Result<DiskContent, VhostmdError> {
    crate::read_disk(&disk_path(disk)?, &read_options(timeout))
}

/// `disk`, or the metrics disk probed in /sys/block.
pub fn disk_path(disk: Option<&Path>) -> Result<PathBuf, VhostmdError> {
    match disk {
        Some(p) => Ok(p.to_path_buf()),
        None => find_disk(&ProbeOptions::default()),
    }
}

/// Read options that wait up to `timeout` for a busy disk, trying every 100 ms.
pub fn read_options(timeout: Duration) -> ReadOptions {
    ReadOptions::with_timeout(timeout, RETRY_INTERVAL)
}

/// `xenadm vhostmd check`: a valid configuration's summary.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CheckReport<'a> {
    /// The file checked.
    pub file: &'a Path,
    /// Always true: an invalid file is an error.
    pub valid: bool,
    /// What it configures.
    pub config: &'a Config,
    /// Metrics whose action is a shell command.
    pub shell_actions: usize,
    /// Metrics with `@builtin` actions.
    pub builtin_actions: usize,
}

impl<'a> CheckReport<'a> {
    /// The summary of `config`, read from `file`.
    pub fn new(file: &'a Path, config: &'a Config) -> CheckReport<'a> {
        let builtin = config
            .metrics
            .iter()
            .filter(|m| m.action == Action::Builtin)
            .count();
        CheckReport {
            file,
            valid: true,
            config,
            shell_actions: config.metrics.len() - builtin,
            builtin_actions: builtin,
        }
    }

    /// One warning per `<transport>` word vhostmd ignores.
    pub fn warnings(&self) -> Vec<String> {
        self.config
            .ignored_transports
            .iter()
            .map(|word| {
                format!(
                    "{}: <transport>{word}</transport> is not vbd, virtio or xenstore: vhostmd ignores it (and writes the metrics disk when no transport is known)",
                    self.file.display()
                )
            })
            .collect()
    }

    /// `FILE: valid: N metrics (B built-in, S shell actions), disk PATH (K KiB), every P s,
    /// transports vbd, virtio`.
    pub fn text(&self) -> String {
        let config = self.config;
        let mut transports = Vec::new();
        if config.transports.vbd {
            transports.push("vbd");
        }
        if config.transports.virtio {
            transports.push("virtio");
        }
        format!(
            "{}: valid: {} metrics ({} built-in, {} shell actions), disk {} ({} KiB), every {} s, transports {}\n",
            self.file.display(),
            config.metrics.len(),
            self.builtin_actions,
            self.shell_actions,
            config.disk.path.display(),
            config.disk.size_bytes / 1024,
            config.update_period_secs,
            transports.join(", ")
        )
    }
}

/// `xenadm vhostmd dump --json`: the disk, its header and its metrics.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DumpReport<'a> {
    /// The image or device read.
    pub disk: &'a Path,
    /// The header's checksum.
    pub checksum: u32,
    /// The document's length.
    pub length_bytes: u32,
    /// The metrics.
    pub metrics: &'a [Metric],
}

impl<'a> DumpReport<'a> {
    /// The report of `content`'s `metrics`.
    pub fn new(content: &'a DiskContent, metrics: &'a [Metric]) -> DumpReport<'a> {
        DumpReport {
            disk: &content.path,
            checksum: content.header.checksum,
            length_bytes: content.header.length_bytes,
            metrics,
        }
    }

    /// The metrics as a table: context, VM, name, type, value (on one line), unit.
    pub fn table(&self) -> String {
        let mut rows = vec![text_table::row([
            "CONTEXT", "VM", "NAME", "TYPE", "VALUE", "UNIT",
        ])];
        for m in self.metrics {
            rows.push(vec![
                m.context.to_string(),
                m.vm_id.clone().unwrap_or_else(|| "-".into()),
                m.name.clone(),
                m.type_name.clone(),
                m.value.trim().replace('\n', " "),
                m.unit.clone().unwrap_or_default(),
            ]);
        }
        columns(&rows)
    }
}

/// `xenadm vhostmd get --json`: one metric.
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct GetReport<'a> {
    /// The metric.
    pub metric: &'a Metric,
}

impl GetReport<'_> {
    /// The value as one line (its trailing newlines dropped).
    pub fn text(&self) -> String {
        format!("{}\n", self.metric.value.trim_end_matches('\n'))
    }
}

/// Where a guest's metrics are read from (vm-dump-metrics' `-b`, `-i`, `-x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsTransport {
    /// The metrics disk, then the virtio port when the disk cannot be read.
    Auto,
    /// The metrics disk only.
    Vbd,
    /// The virtio-serial port only.
    Virtio,
    /// xenstore (not supported: an error saying so).
    Xenstore,
}

/// How a guest fetches its metrics document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Which transport.
    pub transport: MetricsTransport,
    /// The image or device to read instead of probing /sys/block.
    pub disk: Option<PathBuf>,
    /// The virtio-serial port.
    pub port: PathBuf,
    /// How long a busy disk or a silent port is waited for.
    pub timeout: Duration,
}

/// Copies the metrics document to `out` (named `dest` in errors) as vm-dump-metrics does:
/// the disk's document in bounded memory ([`copy_document`](crate::copy_document)) or the
/// virtio answer, verbatim. With [`MetricsTransport::Auto`] the port is tried when the disk
/// fails before any byte went out, and the disk's error is the one reported.
pub fn fetch_metrics(
    options: &FetchOptions,
    out: &mut dyn std::io::Write,
    dest: &Path,
) -> Result<(), VhostmdError> {
    let mut out = Counting { out, written: 0 };
    match options.transport {
        MetricsTransport::Xenstore => Err(VhostmdError::VmSource {
            source_name: "xenstore",
            message: "the xenstore transport is not supported; use -b (disk) or -i (virtio)".into(),
        }),
        MetricsTransport::Virtio => virtio(options, &mut out, dest),
        MetricsTransport::Vbd => vbd(options, &mut out, dest),
        MetricsTransport::Auto => match vbd(options, &mut out, dest) {
            // Only when nothing of the disk's document went out.
            Err(disk_err) if out.written == 0 => {
                virtio(options, &mut out, dest).map_err(|_| disk_err)
            }
            other => other,
        },
    }
}

/// A writer that counts what went through.
struct Counting<'a> {
    out: &'a mut dyn std::io::Write,
    written: u64,
}

impl std::io::Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn virtio(
    options: &FetchOptions,
    out: &mut dyn std::io::Write,
    dest: &Path,
) -> Result<(), VhostmdError> {
    let bytes = crate::virtio::request_metrics(&options.port, options.timeout)?;
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|source| VhostmdError::Write {
            path: dest.to_path_buf(),
            source,
        })
}

fn vbd(
    options: &FetchOptions,
    out: &mut dyn std::io::Write,
    dest: &Path,
) -> Result<(), VhostmdError> {
    let path = disk_path(options.disk.as_deref())?;
    crate::copy_document(&path, &read_options(options.timeout), out, dest).map(drop)
}

/// A file created at the first write or flush, so that a fetch that fails before any byte
/// leaves no file behind (vm-dump-metrics' `--dest FILE`).
#[derive(Debug)]
pub struct LazyFile {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl LazyFile {
    /// A file at `path`, not created yet.
    pub fn new(path: PathBuf) -> LazyFile {
        LazyFile { path, file: None }
    }

    fn open(&mut self) -> std::io::Result<&mut std::fs::File> {
        if self.file.is_none() {
            self.file = Some(std::fs::File::create(&self.path)?);
        }
        self.file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the file was not created"))
    }
}

impl std::io::Write for LazyFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.open()?.write(buf)
    }

    /// Creates the file if nothing was written (an empty answer still makes one).
    fn flush(&mut self) -> std::io::Result<()> {
        self.open()?.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }

    #[test]
    fn test_check_report_of_the_contrib_config() {
        let file = data("contrib/vhostmd.conf");
        let config = Config::read(&file).unwrap();
        let report = CheckReport::new(&file, &config);
        assert_eq!(
            report.builtin_actions + report.shell_actions,
            config.metrics.len()
        );
        assert!(report.warnings().is_empty());
        assert_eq!(
            report.text(),
            format!(
                "{}: valid: 13 metrics (13 built-in, 0 shell actions), disk /dev/shm/vhostmd0 \
                 (256 KiB), every 5 s, transports vbd, virtio\n",
                file.display()
            )
        );
    }

    #[test]
    fn test_dump_table_and_get_of_a_real_disk() {
        let disk = data("tests/data/single/vhostmd0.img");
        let content = read_metrics_disk(Some(&disk), Duration::from_secs(1)).unwrap();
        let doc = content.metrics().unwrap();
        let report = DumpReport::new(&content, &doc.metrics);
        assert_eq!(report.length_bytes as usize, content.document.len());
        let table = report.table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("CONTEXT  VM  NAME "), "{table}");
        assert_eq!(lines.len(), doc.metrics.len() + 1);
        let metric = &doc.metrics[0];
        assert_eq!(
            GetReport { metric }.text(),
            format!("{}\n", metric.value.trim_end_matches('\n'))
        );
    }

    #[test]
    fn test_fetch_metrics_copies_the_disk_or_says_why_not() {
        let disk = data("tests/data/single/vhostmd0.img");
        let content = read_metrics_disk(Some(&disk), Duration::from_secs(1)).unwrap();
        let mut options = FetchOptions {
            transport: MetricsTransport::Vbd,
            disk: Some(disk),
            port: data("no-such-port"),
            timeout: Duration::from_secs(1),
        };
        let mut out = Vec::new();
        fetch_metrics(&options, &mut out, Path::new("<test>")).unwrap();
        assert_eq!(out, content.document);
        // Auto: the disk fails, then the port; the disk's error is reported.
        options.transport = MetricsTransport::Auto;
        options.disk = Some(data("no-such-disk"));
        let err = fetch_metrics(&options, &mut Vec::new(), Path::new("<test>")).unwrap_err();
        assert!(matches!(err, VhostmdError::Read { .. }), "{err:?}");
        options.transport = MetricsTransport::Xenstore;
        let err = fetch_metrics(&options, &mut Vec::new(), Path::new("<test>")).unwrap_err();
        assert!(err.to_string().contains("xenstore"), "{err}");
    }

    #[test]
    fn test_lazy_file_exists_only_once_used() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let options = FetchOptions {
            transport: MetricsTransport::Vbd,
            disk: Some(data("no-such-disk")),
            port: data("no-such-port"),
            timeout: Duration::from_secs(1),
        };
        let path = dir.path().join("out.xml");
        let mut out = LazyFile::new(path.clone());
        assert!(fetch_metrics(&options, &mut out, &path).is_err());
        assert!(!path.exists());
        out.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        let other = dir.path().join("other.xml");
        let mut out = LazyFile::new(other.clone());
        out.write_all(b"<metrics/>").unwrap();
        assert_eq!(std::fs::read(&other).unwrap(), b"<metrics/>");
    }
}
