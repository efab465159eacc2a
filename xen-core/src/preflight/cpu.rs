//! CPU policies as cpuid-mask sees them: which features a guest's policy has that a target
//! cannot offer, by name, and the xl.cfg `cpuid =` line that levels them away.

use cpuid_mask::{
    CpuBlock, CpuidDump, CpuidEntry, Feature, FeatureKind, HostCpu, Leaf, Regs, Subleaf, fits,
};

use super::facts::{CpuPolicy, CpuidLeaf};

/// `XEN_CPUID_NO_SUBLEAF`: the subleaf Xen records for leaves that have none.
pub const NO_SUBLEAF: u32 = 0xffff_ffff;

impl CpuPolicy {
    /// The policy as one CPU of a `cpuid -1r` dump (leaves without a subleaf read as subleaf 0).
    pub fn to_dump(&self) -> CpuidDump {
        let entries = self
            .leaves
            .iter()
            .map(|l| CpuidEntry {
                leaf: Leaf(l.leaf),
                subleaf: Subleaf(if l.subleaf == NO_SUBLEAF {
                    0
                } else {
                    l.subleaf
                }),
                regs: Regs {
                    eax: l.a,
                    ebx: l.b,
                    ecx: l.c,
                    edx: l.d,
                },
            })
            .collect();
        CpuidDump {
            cpus: vec![CpuBlock { cpu: None, entries }],
        }
    }

    /// The policy's feature registers and identity, named `name` in reports.
    pub fn to_host_cpu(&self, name: &str) -> HostCpu {
        let mut cpu = HostCpu::identity(&self.to_dump());
        cpu.name = name.to_owned();
        cpu
    }

    /// A policy from a dump's last CPU (e.g. what this process reads with CPUID).
    pub fn from_dump(dump: &CpuidDump) -> CpuPolicy {
        let leaves = dump
            .cpus
            .last()
            .map(|block| {
                block
                    .entries
                    .iter()
                    .map(|e| CpuidLeaf {
                        leaf: e.leaf.0,
                        subleaf: e.subleaf.0,
                        a: e.regs.eax,
                        b: e.regs.ebx,
                        c: e.regs.ecx,
                        d: e.regs.edx,
                    })
                    .collect()
            })
            .unwrap_or_default();
        CpuPolicy { leaves }
    }
}

/// What a guest's CPU policy needs that a target's policy lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuGap {
    /// Features the guest has and the target lacks, by best name (`avx2`), or
    /// `LABEL[bit N]` for unnamed bits.
    pub missing: Vec<String>,
    /// The CPU vendors, when they differ (guest's, target's).
    pub vendor_mismatch: Option<(String, String)>,
    /// The xl.cfg line that hides the missing features from the guest, or `None` when nothing
    /// is missing.
    pub fix_line: Option<String>,
    /// Missing features libxl has no `cpuid=` key for (the fix line cannot hide them).
    pub unnamed: Vec<String>,
}

impl CpuGap {
    /// Whether the guest's policy fits the target.
    pub fn fits(&self) -> bool {
        self.missing.is_empty() && self.vendor_mismatch.is_none()
    }
}

/// The best printable name of a feature bit.
pub fn feature_name(f: &Feature) -> String {
    match f.name() {
        Some(name) => name.to_owned(),
        None => format!("{}[bit {}]", f.reg.label(), f.bit),
    }
}

/// Compares what the guest has (`guest`) with what the target can offer (`target`).
pub fn compare(guest: &CpuPolicy, target: &CpuPolicy) -> CpuGap {
    let report = fits(&guest.to_host_cpu("guest"), &target.to_host_cpu("target"));
    let missing: Vec<&Feature> = report
        .missing
        .iter()
        .copied()
        .filter(|f| f.kind != FeatureKind::Reserved || f.name().is_some())
        .collect();
    let fix_line = (!missing.is_empty()).then(|| {
        let keys: Vec<String> = missing
            .iter()
            .filter_map(|f| f.xl_key)
            .map(|key| format!("{key}=0"))
            .collect();
        format!("cpuid = \"host,{}\"", keys.join(","))
    });
    let unnamed = missing
        .iter()
        .filter(|f| f.xl_key.is_none())
        .map(|f| feature_name(f))
        .collect();
    CpuGap {
        missing: missing.iter().map(|f| feature_name(f)).collect(),
        vendor_mismatch: report.vendor_mismatch,
        fix_line,
        unnamed,
    }
}

/// Features `seen` shows that `policy` hides: what a PV guest's userspace reads beyond its
/// policy when Xen does not level CPUID (compare dom0's userspace view with dom0's policy).
pub fn hidden_features(seen: &CpuPolicy, policy: &CpuPolicy) -> Vec<String> {
    compare(seen, policy).missing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(leaf7_ebx: u32) -> CpuPolicy {
        CpuPolicy {
            leaves: vec![
                CpuidLeaf {
                    leaf: 0,
                    subleaf: NO_SUBLEAF,
                    a: 0xd,
                    b: 0x6874_7541,
                    c: 0x444d_4163,
                    d: 0x6974_6e65,
                },
                CpuidLeaf {
                    leaf: 1,
                    subleaf: NO_SUBLEAF,
                    a: 0x663,
                    b: 0x20800,
                    c: 0xf6f8_3203,
                    d: 0x1fc9_c3f5,
                },
                CpuidLeaf {
                    leaf: 7,
                    subleaf: 0,
                    a: 2,
                    b: leaf7_ebx,
                    c: 0x0040_0200,
                    d: 0x10,
                },
            ],
        }
    }

    #[test]
    fn lab_pair_policies_name_the_four_features() {
        // PV max leaf 7 EBX of the lab pair: A `-cpu max`, B without avx2, bmi2, adx, sha-ni
        // (../shared/reference/lab-pair-trial.md).
        let a = policy(0x218c_0329);
        let b = policy(0x0184_0209);
        let gap = compare(&a, &b);
        assert!(!gap.fits());
        assert_eq!(gap.missing, ["avx2", "bmi2", "adx", "sha"]);
        assert_eq!(
            gap.fix_line.as_deref(),
            Some("cpuid = \"host,avx2=0,bmi2=0,adx=0,sha=0\"")
        );
        assert!(gap.unnamed.is_empty());
        let back = compare(&b, &a);
        assert!(back.fits(), "{back:?}");
        assert_eq!(back.fix_line, None);
    }

    #[test]
    fn vendors_are_compared() {
        let a = policy(0);
        let mut b = policy(0);
        // GenuineIntel
        b.leaves[0].b = 0x756e_6547;
        b.leaves[0].c = 0x6c65_746e;
        b.leaves[0].d = 0x4965_6e69;
        let gap = compare(&a, &b);
        assert!(!gap.fits());
        assert_eq!(
            gap.vendor_mismatch,
            Some(("AuthenticAMD".into(), "GenuineIntel".into()))
        );
    }

    #[test]
    fn dumps_and_policies_convert_both_ways() {
        let p = policy(0x218c_0329);
        let back = CpuPolicy::from_dump(&p.to_dump());
        assert_eq!(back.leaves.len(), 3);
        assert_eq!(back.leaves[2], p.leaves[2]);
        // Leaves without a subleaf come back as subleaf 0, as cpuid -1r prints them.
        assert_eq!(back.leaves[1].subleaf, 0);
        assert_eq!(p.to_host_cpu("x").vendor.as_deref(), Some("AuthenticAMD"));
    }
}
