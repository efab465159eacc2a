//! Can a guest started on one host run on another?

use crate::features::{self, Feature, FeatureKind};
use crate::host::HostCpu;
use crate::registers::FeatureReg;

/// The answer of [`fits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitReport {
    /// Features the guest may use on its first host that the target lacks.
    pub missing: Vec<&'static Feature>,
    /// "Removed" (negative) bits the target sets and the first host does not, such as
    /// NO_FPU_SEL: the guest sees slightly older-style behaviour change. Xen marks these
    /// special and tolerates them in migration, so they do not block a fit.
    pub behaviour_changes: Vec<&'static Feature>,
    /// Vendors of both hosts when they differ (cross-vendor migration is unsupported).
    pub vendor_mismatch: Option<(String, String)>,
}

impl FitReport {
    /// Whether the guest can migrate.
    pub fn fits(&self) -> bool {
        self.missing.is_empty() && self.vendor_mismatch.is_none()
    }
}

/// Checks every feature register of the hosts' dumps. Bits that mirror OS or VM state
/// (OSXSAVE, OSPKE, HYPERVISOR) and bits Xen accumulates across a pool are not capabilities
/// and are ignored; negative bits are reported as behaviour changes.
///
/// ```
/// use cpuid_mask::{fits, DumpFile, FeatureReg, HostCpu};
/// use std::path::Path;
/// let newer = "   0x00000001 0x00: eax=0x000906ea ebx=0x00100800 ecx=0x7ffafbff edx=0xbfebfbff\n";
/// let older = newer.replace("ecx=0x7ffafbff", "ecx=0x1fbae3ff");
/// let host = |text: &str, name: &str| HostCpu::from_file(
///     &DumpFile::parse(text.as_bytes(), Path::new(name)).unwrap(), &[]).unwrap();
/// let report = fits(&host(newer, "new"), &host(&older, "old"));
/// assert!(!report.fits());
/// assert!(report.missing.iter().any(|f| f.xen_name == Some("rdrand")));
/// assert!(fits(&host(&older, "old"), &host(newer, "new")).fits());
/// ```
pub fn fits(guest_host: &HostCpu, target: &HostCpu) -> FitReport {
    let mut missing = Vec::new();
    let mut behaviour_changes = Vec::new();
    for reg in FeatureReg::ALL {
        let (guest, there) = (guest_host.value(reg), target.value(reg));
        for f in features::register_features(reg) {
            match f.kind {
                FeatureKind::Feature | FeatureKind::Reserved if guest & !there & f.mask() != 0 => {
                    missing.push(f);
                }
                FeatureKind::Negative if there & !guest & f.mask() != 0 => {
                    behaviour_changes.push(f);
                }
                _ => {}
            }
        }
    }
    let vendor_mismatch = match (&guest_host.vendor, &target.vendor) {
        (Some(a), Some(b)) if a != b => Some((a.clone(), b.clone())),
        _ => None,
    };
    FitReport {
        missing,
        behaviour_changes,
        vendor_mismatch,
    }
}
