//! `xenadm status`: one screen about this host.

use std::path::Path;

use cpuid_mask::{
    CpuSelection, CpuidSource, FeatureKind, FeatureReg, HostCpu, features, local_source, read_local,
};
use serde::Serialize;
use xen_core::XenError;
use xen_core::host::{DomainState, Host, HostBackend, Sample, SampleFlags, XenBackend};
use xen_role::XenRole;

use crate::error::{Chain, CliError};
use crate::output::{Output, columns};

/// One titled block of `xenadm status`: text rows and the same facts as JSON. Each subsystem
/// (CPU, Xen, images, boot, ...) contributes one; a section that cannot gather its facts says
/// so in its rows instead of failing the whole command.
#[derive(Debug)]
pub struct Section {
    /// Key in the JSON object (`cpu`, `xen`, ...).
    pub key: &'static str,
    /// Heading in the text output.
    pub title: &'static str,
    /// Label and value per line.
    pub rows: Vec<(String, String)>,
    /// The section's facts for `--json`.
    pub json: serde_json::Value,
}

/// Runs `xenadm status`.
pub fn run(out: &Output) -> Result<u8, CliError> {
    let sections = vec![
        cpu_section()?,
        xen_section(Path::new("/")),
        super::image::status_section(),
        super::boot::status_section(),
    ];
    if out.json {
        let object: serde_json::Map<String, serde_json::Value> = sections
            .into_iter()
            .map(|s| (s.key.to_string(), s.json))
            .collect();
        out.print_json(&object)?;
    } else {
        out.print(&render(&sections))?;
    }
    Ok(0)
}

fn render(sections: &[Section]) -> String {
    let mut rows = Vec::new();
    for section in sections {
        rows.push(vec![section.title.to_string()]);
        for (label, value) in &section.rows {
            rows.push(vec![String::new(), label.clone(), value.clone()]);
        }
    }
    columns(&rows)
}

fn cpu_section() -> Result<Section, CliError> {
    let dump = read_local(CpuSelection::Current)?;
    let cpu = cpu_status(&HostCpu::identity(&dump), local_source(0));
    let unknown = || "unknown".to_string();
    let hypervisor = match (cpu.under_hypervisor, &cpu.hypervisor_signature) {
        (false, _) => "none (bare metal)".to_string(),
        (true, Some(sig)) => format!("{sig} (this system is a virtual machine or a Xen domain)"),
        (true, None) => "present, unnamed".to_string(),
    };
    let rows = vec![
        row("vendor", cpu.vendor.clone().unwrap_or_else(unknown)),
        row(
            "signature",
            format!(
                "family 0x{:x} model 0x{:x} stepping 0x{:x}",
                cpu.family, cpu.model, cpu.stepping
            ),
        ),
        row("brand", cpu.brand.clone().unwrap_or_else(unknown)),
        row("logical cpus", cpu.logical_cpus.to_string()),
        row(
            "features",
            format!(
                "{} migration-relevant feature bits set (see `xenadm cpuid features`)",
                cpu.migration_feature_bits
            ),
        ),
        row("hypervisor", hypervisor),
        row(
            "cpuid read via",
            match cpu.cpuid_source {
                CpuidSource::KernelDriver => "the kernel's driver (/dev/cpu/N/cpuid)".to_string(),
                _ => instruction_reason(Path::new("/dev/cpu/0/cpuid")),
            },
        ),
    ];
    Ok(Section {
        key: "cpu",
        title: "CPU",
        rows,
        json: serde_json::to_value(&cpu)?,
    })
}

/// The Xen section: the role and hypervisor this host sees in sysfs and procfs and, on a dom0
/// whose Xen libraries open, its domains by state. Never fails: what cannot be learnt is said
/// in the rows.
fn xen_section(root: &Path) -> Section {
    xen_section_with(root, || XenBackend::open().map(Host::with_backend))
}

fn xen_section_with<B: HostBackend>(
    root: &Path,
    open_host: impl FnOnce() -> Result<Host<B>, XenError>,
) -> Section {
    let mut xen = xen_status(root);
    let mut rows = vec![row("role", format!("{} ({})", xen.role, xen.evidence))];
    if xen.role == XenRole::Dom0 {
        match open_host().and_then(|mut host| host.sample(SampleFlags::XEN_VERSION)) {
            Ok(sample) => xen.host = Some(XenHostStatus::of(&sample)),
            Err(err) => {
                let hint = crate::commands::host::hint(&err)
                    .map(|h| format!(" (hint: {h})"))
                    .unwrap_or_default();
                xen.host_error = Some(format!("{}{hint}", Chain(&err)));
            }
        }
    }
    if xen.role != XenRole::None {
        let version = xen
            .host
            .as_ref()
            .and_then(|h| h.xen_version.clone())
            .or_else(|| xen.version.clone())
            .unwrap_or_else(|| "version unknown".to_string());
        let kind = xen.hypervisor.as_deref().unwrap_or("xen");
        rows.push(row("hypervisor", format!("{kind} {version}")));
    }
    if let Some(host) = &xen.host {
        rows.push(row("domains", host.summary()));
    }
    if let Some(err) = &xen.host_error {
        rows.push(row("domains", format!("unavailable: {err}")));
    }
    Section {
        key: "xen",
        title: "Xen",
        rows,
        json: serde_json::to_value(&xen).unwrap_or_default(),
    }
}

/// A status row.
pub fn row(label: &str, value: String) -> (String, String) {
    (label.to_string(), value)
}

#[derive(Debug, Serialize)]
struct CpuStatus {
    vendor: Option<String>,
    family: u32,
    model: u32,
    stepping: u32,
    brand: Option<String>,
    logical_cpus: usize,
    /// Feature bits set among those that matter for migration (named capabilities in the
    /// eleven feature words `xenadm cpuid mask --extended` covers).
    migration_feature_bits: u32,
    /// Whether CPUID says this system runs under a hypervisor.
    under_hypervisor: bool,
    /// The hypervisor's CPUID signature, e.g. `XenVMMXenVMM` or `KVMKVMKVM`.
    hypervisor_signature: Option<String>,
    /// Where CPUID was read: in a Xen PV domain only the kernel driver shows Xen's answers.
    cpuid_source: CpuidSource,
}

/// This host's place in a Xen system.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub(crate) struct XenStatus {
    /// `none`, `dom0` or `domU`.
    role: XenRole,
    /// The hypervisor named by /sys/hypervisor/type (`xen`), when there is one.
    hypervisor: Option<String>,
    /// Xen version from /sys/hypervisor/version, when running on Xen.
    version: Option<String>,
    /// The file that decided the role.
    evidence: String,
    /// What the Xen libraries report, on a dom0 where they open.
    host: Option<XenHostStatus>,
    /// Why the Xen libraries could not report, on a dom0.
    host_error: Option<String>,
}

/// A dom0's view of its host through the Xen libraries.
#[derive(Debug, Serialize, PartialEq, Eq)]
struct XenHostStatus {
    /// The hypervisor's version, e.g. `4.17.5`.
    xen_version: Option<String>,
    /// Domains, dom0 included.
    domains: usize,
    /// Domains with each state flag (a domain with two flags counts under both, as in
    /// xentop's summary line).
    running: usize,
    blocked: usize,
    paused: usize,
    crashed: usize,
    dying: usize,
    shutdown: usize,
}

impl XenHostStatus {
    fn of(sample: &Sample) -> XenHostStatus {
        let count = |flag| {
            sample
                .domains
                .iter()
                .filter(|d| d.state.contains(flag))
                .count()
        };
        XenHostStatus {
            xen_version: sample.node.xen_version.clone(),
            domains: sample.domains.len(),
            running: count(DomainState::RUNNING),
            blocked: count(DomainState::BLOCKED),
            paused: count(DomainState::PAUSED),
            crashed: count(DomainState::CRASHED),
            dying: count(DomainState::DYING),
            shutdown: count(DomainState::SHUTDOWN),
        }
    }

    /// xentop's summary: `3: 1 running, 2 blocked, 0 paused, 0 crashed, 0 dying, 0 shutdown`.
    fn summary(&self) -> String {
        format!(
            "{}: {} running, {} blocked, {} paused, {} crashed, {} dying, {} shutdown",
            self.domains,
            self.running,
            self.blocked,
            self.paused,
            self.crashed,
            self.dying,
            self.shutdown
        )
    }
}

fn cpu_status(host: &HostCpu, cpuid_source: CpuidSource) -> CpuStatus {
    let migration_feature_bits = FeatureReg::ALL
        .iter()
        .map(|&reg| (host.value(reg) & features::kind_mask(reg, FeatureKind::Feature)).count_ones())
        .sum();
    CpuStatus {
        vendor: host.vendor.clone(),
        family: host.signature.family,
        model: host.signature.model,
        stepping: host.signature.stepping,
        brand: host.brand.clone(),
        logical_cpus: std::thread::available_parallelism().map_or(1, usize::from),
        migration_feature_bits,
        under_hypervisor: host.hypervisor.is_some(),
        hypervisor_signature: host.hypervisor.clone().filter(|s| s != "unknown"),
        cpuid_source,
    }
}

/// Decides dom0/domU/none from /sys/hypervisor and /proc/xen under `root` ([`xen_role`]).
pub(crate) fn xen_status(root: &Path) -> XenStatus {
    let found = xen_role::detect_at(root);
    XenStatus {
        role: found.role,
        hypervisor: found.hypervisor,
        version: found.version.map(|v| v.to_string()),
        evidence: found.evidence.to_string(),
        host: None,
        host_error: None,
    }
}

/// Why the CPUID instruction is used: the driver's device is missing (the module is not
/// loaded), or it exists but this user cannot open it (it is root-only).
fn instruction_reason(device: &Path) -> String {
    let why = match std::fs::File::open(device) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => format!(
            "{} is root-only: run as root to ask the kernel, and under Xen PV, Xen",
            device.display()
        ),
        _ if device.exists() => format!("{} cannot be read", device.display()),
        _ => "no /dev/cpu/N/cpuid: `modprobe cpuid` to ask the kernel, and under Xen PV, Xen"
            .to_string(),
    };
    format!("the CPUID instruction ({why})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::tree::write;

    /// The rules themselves are xen-role's (tested there); this checks the status carries its
    /// answer and the version text.
    #[test]
    fn test_xen_status_carries_the_role_and_version() {
        let dir = dom0_root();
        let status = xen_status(dir.path());
        assert_eq!(status.role, XenRole::Dom0);
        assert_eq!(status.version.as_deref(), Some("4.17.5"));
        assert_eq!(status.evidence, "/proc/xen/capabilities has control_d");
    }

    /// A backend with one fixed sample.
    struct OneSample(Sample);

    impl HostBackend for OneSample {
        fn host_info(&mut self) -> Result<xen_core::host::HostInfo, XenError> {
            Ok(xen_core::host::HostInfo::default())
        }

        fn sample(&mut self, _flags: SampleFlags) -> Result<Sample, XenError> {
            Ok(self.0.clone())
        }
    }

    fn dom0_root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "proc/xen/capabilities", "control_d\n");
        write(dir.path(), "sys/hypervisor/type", "xen\n");
        write(dir.path(), "sys/hypervisor/version/major", "4\n");
        write(dir.path(), "sys/hypervisor/version/minor", "17\n");
        write(dir.path(), "sys/hypervisor/version/extra", ".5\n");
        dir
    }

    fn no_host() -> Result<Host<OneSample>, XenError> {
        panic!("the Xen libraries must not be opened here")
    }

    #[test]
    fn test_xen_section_without_xen_is_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let section = xen_section_with(dir.path(), no_host);
        assert_eq!(section.rows.len(), 1);
        assert!(section.rows[0].1.starts_with("not a Xen host"));
        assert_eq!(section.json["role"], "none");
        assert!(section.json["host"].is_null());
    }

    #[test]
    fn test_xen_section_domu_does_not_open_the_libraries() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sys/hypervisor/type", "xen\n");
        let section = xen_section_with(dir.path(), no_host);
        let labels: Vec<&str> = section.rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(labels, ["role", "hypervisor"]);
        assert_eq!(section.rows[1].1, "xen version unknown");
    }

    #[test]
    fn test_xen_section_dom0_counts_domains_by_state() {
        let dir = dom0_root();
        let mut sample = Sample::default();
        sample.node.xen_version = Some("4.17.7".into());
        for state in [
            DomainState::RUNNING,
            DomainState::BLOCKED,
            DomainState::SHUTDOWN | DomainState::CRASHED,
        ] {
            let mut d = xen_core::host::DomainStats::default();
            d.state = state;
            sample.domains.push(d);
        }
        let section = xen_section_with(dir.path(), || Ok(Host::with_backend(OneSample(sample))));
        let rows: Vec<(&str, &str)> = section
            .rows
            .iter()
            .map(|(l, v)| (l.as_str(), v.as_str()))
            .collect();
        assert_eq!(rows[1], ("hypervisor", "xen 4.17.7"));
        assert_eq!(
            rows[2],
            (
                "domains",
                "3: 1 running, 1 blocked, 0 paused, 1 crashed, 0 dying, 1 shutdown"
            )
        );
        assert_eq!(section.json["host"]["domains"], 3);
        assert_eq!(section.json["version"], "4.17.5");
    }

    #[test]
    fn test_xen_section_dom0_without_libraries_still_reports() {
        let dir = dom0_root();
        let section = xen_section_with(dir.path(), || -> Result<Host<OneSample>, XenError> {
            Err(XenError::Call {
                call: "xenstat_init",
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            })
        });
        assert_eq!(section.rows[1], row("hypervisor", "xen 4.17.5".into()));
        assert_eq!(section.rows[2].0, "domains");
        assert!(
            section.rows[2]
                .1
                .starts_with("unavailable: xenstat_init failed: permission denied"),
            "{}",
            section.rows[2].1
        );
        assert!(section.json["host_error"].is_string());
    }
}
