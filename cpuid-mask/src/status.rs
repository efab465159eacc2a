//! This machine's CPU as `xenadm status` reports it: identity, how many migration-relevant
//! feature bits it has, whether it runs under a hypervisor, and where CPUID was read.

use std::path::Path;

use crate::features::{self, FeatureKind};
use crate::host::HostCpu;
use crate::local::CpuidSource;
use crate::registers::FeatureReg;

/// The CPU facts of one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CpuStatus {
    /// The vendor string (`GenuineIntel`, ...).
    pub vendor: Option<String>,
    /// Display family.
    pub family: u32,
    /// Display model.
    pub model: u32,
    /// Stepping.
    pub stepping: u32,
    /// The brand string.
    pub brand: Option<String>,
    /// CPUs this process may run on.
    pub logical_cpus: usize,
    /// Feature bits set among those that matter for migration (named capabilities in the
    /// eleven feature words `xenadm cpuid mask --extended` covers).
    pub migration_feature_bits: u32,
    /// Whether CPUID says this system runs under a hypervisor.
    pub under_hypervisor: bool,
    /// The hypervisor's CPUID signature, e.g. `XenVMMXenVMM` or `KVMKVMKVM`.
    pub hypervisor_signature: Option<String>,
    /// Where CPUID was read: in a Xen PV domain only the kernel driver shows Xen's answers.
    pub cpuid_source: CpuidSource,
}

impl CpuStatus {
    /// The facts of `host` (a [`HostCpu::identity`] of this machine), read via `cpuid_source`.
    pub fn new(host: &HostCpu, cpuid_source: CpuidSource) -> CpuStatus {
        let migration_feature_bits = FeatureReg::ALL
            .iter()
            .map(|&reg| {
                (host.value(reg) & features::kind_mask(reg, FeatureKind::Feature)).count_ones()
            })
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

    /// The status lines, label and value.
    pub fn rows(&self) -> Vec<(String, String)> {
        let row = |label: &str, value: String| (label.to_string(), value);
        let unknown = || "unknown".to_string();
        let hypervisor = match (self.under_hypervisor, &self.hypervisor_signature) {
            (false, _) => "none (bare metal)".to_string(),
            (true, Some(sig)) => {
                format!("{sig} (this system is a virtual machine or a Xen domain)")
            }
            (true, None) => "present, unnamed".to_string(),
        };
        vec![
            row("vendor", self.vendor.clone().unwrap_or_else(unknown)),
            row(
                "signature",
                format!(
                    "family 0x{:x} model 0x{:x} stepping 0x{:x}",
                    self.family, self.model, self.stepping
                ),
            ),
            row("brand", self.brand.clone().unwrap_or_else(unknown)),
            row("logical cpus", self.logical_cpus.to_string()),
            row(
                "features",
                format!(
                    "{} migration-relevant feature bits set (see `xenadm cpuid features`)",
                    self.migration_feature_bits
                ),
            ),
            row("hypervisor", hypervisor),
            row(
                "cpuid read via",
                match self.cpuid_source {
                    CpuidSource::KernelDriver => {
                        "the kernel's driver (/dev/cpu/N/cpuid)".to_string()
                    }
                    CpuidSource::Instruction => instruction_reason(Path::new("/dev/cpu/0/cpuid")),
                },
            ),
        ]
    }
}

/// Why the CPUID instruction is used: the driver's device is missing (the module is not
/// loaded), or it exists but this user cannot open it (it is root-only).
pub fn instruction_reason(device: &Path) -> String {
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
    use crate::DumpFile;

    #[test]
    fn test_rows_of_a_real_dump() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dumps/intel-core-i7-8700.txt");
        let text = std::fs::read(path).unwrap();
        let file = DumpFile::parse(&text, Path::new("coffee")).unwrap();
        let host = HostCpu::from_file(&file, &FeatureReg::ALL).unwrap();
        let status = CpuStatus::new(&host, CpuidSource::KernelDriver);
        assert!(status.migration_feature_bits > 50, "{status:?}");
        let rows = status.rows();
        let labels: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            labels,
            [
                "vendor",
                "signature",
                "brand",
                "logical cpus",
                "features",
                "hypervisor",
                "cpuid read via"
            ]
        );
        assert_eq!(rows[0].1, "GenuineIntel");
        assert_eq!(rows[1].1, "family 0x6 model 0x9e stepping 0xa");
        assert_eq!(rows[5].1, "none (bare metal)");
        assert_eq!(rows[6].1, "the kernel's driver (/dev/cpu/N/cpuid)");
    }

    #[test]
    fn test_instruction_reason_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let missing = instruction_reason(&dir.path().join("cpuid"));
        assert!(missing.contains("`modprobe cpuid`"), "{missing}");
        let device = dir.path().join("dir");
        std::fs::create_dir(&device).unwrap();
        let unreadable = instruction_reason(&device);
        assert!(unreadable.ends_with("dir cannot be read)"), "{unreadable}");
    }
}
