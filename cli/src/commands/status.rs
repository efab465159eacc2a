//! `xenadm status`: one screen about this host.

use std::fs;
use std::path::Path;

use cpuid_mask::{CpuSelection, FeatureKind, FeatureReg, HostCpu, features, read_local};
use serde::Serialize;

use crate::error::CliError;
use crate::output::{Output, columns};

/// Everything `status` reports.
#[derive(Debug, Serialize)]
struct Status {
    cpu: CpuStatus,
    xen: XenStatus,
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

/// Runs `xenadm status`.
pub fn run(out: &Output) -> Result<u8, CliError> {
    let dump = read_local(CpuSelection::Current)?;
    let host = HostCpu::identity(&dump);
    let status = Status {
        cpu: cpu_status(&host),
        xen: xen_status(Path::new("/")),
    };
    if out.json {
        out.print_json(&status)?;
    } else {
        out.print(&render(&status))?;
    }
    Ok(0)
}

fn cpu_status(host: &HostCpu) -> CpuStatus {
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

fn render(status: &Status) -> String {
    let cpu = &status.cpu;
    let unknown = || "unknown".to_string();
    let hypervisor = match (cpu.under_hypervisor, &cpu.hypervisor_signature) {
        (false, _) => "none (bare metal)".to_string(),
        (true, Some(sig)) => format!("{sig} (this system is a virtual machine or a Xen domain)"),
        (true, None) => "present, unnamed".to_string(),
    };
    let role = match status.xen.role {
        XenRole::None => "not a Xen host",
        XenRole::Dom0 => "Xen dom0 (control domain)",
        XenRole::DomU => "Xen guest (domU)",
    };
    let mut rows = vec![
        vec!["CPU".to_string()],
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
        vec!["Xen".to_string()],
        row("role", format!("{role} ({})", status.xen.evidence)),
    ];
    if let Some(version) = &status.xen.version {
        rows.push(row("version", version.clone()));
    }
    columns(&rows)
}

fn row(label: &str, value: String) -> Vec<String> {
    vec![String::new(), label.to_string(), value]
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
