//! `xenadm status`: one screen about this host.

use std::fs;
use std::path::Path;

use cpuid_mask::{
    CpuSelection, CpuidSource, FeatureKind, FeatureReg, HostCpu, features, local_source, read_local,
};
use serde::Serialize;

use crate::error::CliError;
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
                _ => "the CPUID instruction (no /dev/cpu/N/cpuid: `modprobe cpuid` to ask the kernel, and under Xen PV, Xen)".to_string(),
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

fn xen_section(root: &Path) -> Section {
    let xen = xen_status(root);
    let role = match xen.role {
        XenRole::None => "not a Xen host",
        XenRole::Dom0 => "Xen dom0 (control domain)",
        XenRole::DomU => "Xen guest (domU)",
    };
    let mut rows = vec![row("role", format!("{role} ({})", xen.evidence))];
    if let Some(version) = &xen.version {
        rows.push(row("version", version.clone()));
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
    /// Xen version from /sys/hypervisor/version, when running on Xen.
    version: Option<String>,
    /// The file that decided the role.
    evidence: String,
}

#[derive(Debug, Serialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum XenRole {
    None,
    Dom0,
    DomU,
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

/// Decides dom0/domU/none from /sys/hypervisor and /proc/xen under `root`.
pub(crate) fn xen_status(root: &Path) -> XenStatus {
    let read = |rel: &str| fs::read_to_string(root.join(rel)).ok();
    let hv_type = read("sys/hypervisor/type").map(|s| s.trim().to_string());
    let capabilities = read("proc/xen/capabilities");
    let version = match (
        read("sys/hypervisor/version/major"),
        read("sys/hypervisor/version/minor"),
    ) {
        (Some(major), Some(minor)) => Some(format!(
            "{}.{}{}",
            major.trim(),
            minor.trim(),
            read("sys/hypervisor/version/extra")
                .unwrap_or_default()
                .trim()
        )),
        _ => None,
    };
    let (role, evidence) = match (&capabilities, hv_type.as_deref()) {
        (Some(caps), _) if caps.contains("control_d") => {
            (XenRole::Dom0, "/proc/xen/capabilities has control_d")
        }
        (Some(_), _) => (XenRole::DomU, "/proc/xen/capabilities lacks control_d"),
        (None, Some("xen")) => (XenRole::DomU, "/sys/hypervisor/type is xen, no /proc/xen"),
        (None, _) => (
            XenRole::None,
            "no /proc/xen and /sys/hypervisor/type is not xen",
        ),
    };
    XenStatus {
        role,
        version,
        evidence: evidence.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn test_xen_status_none_without_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(xen_status(dir.path()).role, XenRole::None);
    }

    #[test]
    fn test_xen_status_dom0_with_version() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "proc/xen/capabilities", "control_d\n");
        write(dir.path(), "sys/hypervisor/type", "xen\n");
        write(dir.path(), "sys/hypervisor/version/major", "4\n");
        write(dir.path(), "sys/hypervisor/version/minor", "17\n");
        write(dir.path(), "sys/hypervisor/version/extra", ".5\n");
        let status = xen_status(dir.path());
        assert_eq!(status.role, XenRole::Dom0);
        assert_eq!(status.version.as_deref(), Some("4.17.5"));
    }

    #[test]
    fn test_xen_status_domu() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sys/hypervisor/type", "xen\n");
        assert_eq!(xen_status(dir.path()).role, XenRole::DomU);
        write(dir.path(), "proc/xen/capabilities", "");
        assert_eq!(xen_status(dir.path()).role, XenRole::DomU);
    }
}
