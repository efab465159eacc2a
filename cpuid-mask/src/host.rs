//! One host's CPU as the mask sees it: the feature registers and identity of a dump.

use std::path::Path;

use crate::dump::{CpuBlock, CpuidDump, Leaf, Subleaf};
use crate::error::CpuidMaskError;
use crate::parse::DumpFile;
use crate::registers::FeatureReg;

/// One host's feature registers and identity, taken from its dump.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct HostCpu {
    /// The host's name in reports: the dump's path as given.
    pub name: String,
    /// The vendor string of leaf 0 (`GenuineIntel`, `AuthenticAMD`, ...), if the dump has it.
    pub vendor: Option<String>,
    /// Family, model and stepping decoded from leaf 1 EAX.
    pub signature: CpuSignature,
    /// The brand string of leaves 0x80000002..4, trimmed; `None` when absent or blank.
    pub brand: Option<String>,
    /// The hypervisor signature of leaf 0x40000000 when the dump was taken inside a VM.
    pub hypervisor: Option<String>,
    /// The value of every [`FeatureReg`], indexed by [`FeatureReg::index`]. For a dump of
    /// several CPUs, the bits all of them have.
    pub values: [u32; 11],
    /// The dump has no leaf 7 because the CPU's maximum basic leaf is below 7 (old AMD K10,
    /// Pentium 4): its leaf-7 features count as absent.
    pub leaf7_absent: bool,
    /// The dump holds several CPUs whose feature registers differ.
    pub cpus_differ: bool,
}

/// Family, model and stepping as the CPU vendors define them (extended fields folded in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CpuSignature {
    /// Display family.
    pub family: u32,
    /// Display model.
    pub model: u32,
    /// Stepping.
    pub stepping: u32,
}

impl CpuSignature {
    /// Decodes leaf 1 EAX.
    pub fn from_leaf1_eax(eax: u32) -> CpuSignature {
        let base_family = (eax >> 8) & 0xf;
        let base_model = (eax >> 4) & 0xf;
        let family = if base_family == 0xf {
            base_family + ((eax >> 20) & 0xff)
        } else {
            base_family
        };
        let model = if base_family == 0x6 || base_family == 0xf {
            (((eax >> 16) & 0xf) << 4) | base_model
        } else {
            base_model
        };
        CpuSignature {
            family,
            model,
            stepping: eax & 0xf,
        }
    }
}

impl HostCpu {
    /// Reads a dump file and takes its host view; `required` registers must be present.
    ///
    /// # Errors
    /// Everything [`DumpFile::read`] reports, and [`CpuidMaskError::MissingLeaf`] when a
    /// required leaf is missing although the CPU's maximum leaf says it exists.
    pub fn read(path: &Path, required: &[FeatureReg]) -> Result<HostCpu, CpuidMaskError> {
        HostCpu::from_file(&DumpFile::read(path)?, required)
    }

    /// The host view of an already parsed dump.
    ///
    /// A register listed in `required` must be present unless the CPU's maximum leaf (or, for
    /// leaf 7 subleaf 1, the maximum subleaf) shows it does not exist, in which case its bits
    /// are absent. Other registers missing from the dump read as zero. Leaf 1 is always
    /// required.
    ///
    /// # Errors
    /// [`CpuidMaskError::MissingLeaf`], naming the block's line.
    pub fn from_file(file: &DumpFile, required: &[FeatureReg]) -> Result<HostCpu, CpuidMaskError> {
        let name = file.path.display().to_string();
        let mut values: Option<[u32; 11]> = None;
        let mut cpus_differ = false;
        let mut leaf7_absent = false;
        for (block, line) in file.dump.cpus.iter().zip(&file.block_lines) {
            let missing = |leaf: Leaf, subleaf: Subleaf| CpuidMaskError::MissingLeaf {
                path: file.path.clone(),
                line: *line,
                leaf,
                subleaf,
            };
            if block.get(Leaf(1), Subleaf(0)).is_none() {
                return Err(missing(Leaf(1), Subleaf(0)));
            }
            let mut block_values = [0u32; 11];
            for reg in FeatureReg::ALL {
                let (leaf, subleaf, register) = reg.location();
                match block.get(leaf, subleaf) {
                    Some(regs) => block_values[reg.index()] = regs.get(register),
                    None if required.contains(&reg) => match leaf_exists(block, leaf, subleaf) {
                        Some(false) => {
                            if leaf == Leaf(7) && subleaf == Subleaf(0) {
                                leaf7_absent = true;
                            }
                        }
                        _ => return Err(missing(leaf, subleaf)),
                    },
                    None => {}
                }
            }
            match &mut values {
                None => values = Some(block_values),
                Some(all) => {
                    for (acc, v) in all.iter_mut().zip(block_values) {
                        cpus_differ |= *acc != v;
                        *acc &= v;
                    }
                }
            }
        }
        let Some(values) = values else {
            return Err(CpuidMaskError::MissingLeaf {
                path: file.path.clone(),
                line: 1,
                leaf: Leaf(1),
                subleaf: Subleaf(0),
            });
        };
        let summary = HostCpu::identity(&file.dump);
        Ok(HostCpu {
            name,
            values,
            leaf7_absent,
            cpus_differ,
            ..summary
        })
    }

    /// Identity fields (vendor, signature, brand, hypervisor) of a dump's last CPU; feature
    /// values of the last CPU, without any requirement. Used for this machine's summary.
    pub fn identity(dump: &CpuidDump) -> HostCpu {
        let empty = CpuBlock::default();
        let block = dump.cpus.last().unwrap_or(&empty);
        let vendor = block
            .get(Leaf(0), Subleaf(0))
            .map(|r| ascii(&r.vendor_bytes()));
        let signature = block
            .get(Leaf(1), Subleaf(0))
            .map(|r| CpuSignature::from_leaf1_eax(r.eax))
            .unwrap_or_default();
        let mut brand_bytes = Vec::with_capacity(48);
        for leaf in 0x8000_0002..=0x8000_0004u32 {
            if let Some(r) = block.get(Leaf(leaf), Subleaf(0)) {
                for v in [r.eax, r.ebx, r.ecx, r.edx] {
                    brand_bytes.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        let brand = Some(ascii(&brand_bytes)).filter(|b| !b.is_empty());
        let hypervisor_bit = block
            .get(Leaf(1), Subleaf(0))
            .is_some_and(|r| r.ecx & (1 << 31) != 0);
        let hypervisor = [0x4000_0000u32, 0x4000_0100]
            .into_iter()
            .filter_map(|leaf| block.get(Leaf(leaf), Subleaf(0)))
            .filter(|r| r.eax >= 0x4000_0000)
            .map(|r| {
                let mut sig = [0u8; 12];
                sig[0..4].copy_from_slice(&r.ebx.to_le_bytes());
                sig[4..8].copy_from_slice(&r.ecx.to_le_bytes());
                sig[8..12].copy_from_slice(&r.edx.to_le_bytes());
                ascii(&sig)
            })
            .find(|s| !s.is_empty())
            .or_else(|| hypervisor_bit.then(|| "unknown".to_string()));
        let mut values = [0u32; 11];
        for reg in FeatureReg::ALL {
            let (leaf, subleaf, register) = reg.location();
            if let Some(r) = block.get(leaf, subleaf) {
                values[reg.index()] = r.get(register);
            }
        }
        HostCpu {
            name: String::new(),
            vendor,
            signature,
            brand,
            hypervisor,
            values,
            leaf7_absent: false,
            cpus_differ: false,
        }
    }

    /// The value of one feature register.
    pub fn value(&self, reg: FeatureReg) -> u32 {
        self.values[reg.index()]
    }

    /// Whether the dump was taken under Xen (in dom0 or a Xen guest), where Xen hides
    /// features: masks should come from dumps taken on a native boot.
    pub fn is_under_xen(&self) -> bool {
        self.hypervisor.as_deref() == Some("XenVMMXenVMM")
    }
}

/// Whether `leaf`/`subleaf` exists according to the maximum leaf (and subleaf) the CPU
/// reports; `None` when the dump cannot tell.
fn leaf_exists(block: &CpuBlock, leaf: Leaf, subleaf: Subleaf) -> Option<bool> {
    let range_base = leaf.0 & 0xffff_0000;
    let max = block.get(Leaf(range_base), Subleaf(0))?.eax;
    if leaf.0 > max {
        return Some(false);
    }
    if leaf == Leaf(7) && subleaf.0 > 0 {
        let max_subleaf = block.get(Leaf(7), Subleaf(0))?.eax;
        return Some(subleaf.0 <= max_subleaf);
    }
    Some(true)
}

/// Printable ASCII of the bytes, NULs and surrounding spaces dropped.
fn ascii(bytes: &[u8]) -> String {
    let text: String = bytes
        .iter()
        .filter(|b| **b != 0)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_signature_decodes_extended_family_and_model() {
        // AMD Zen 4 (Genoa): family 0x19, model 0x11, stepping 1.
        let sig = CpuSignature::from_leaf1_eax(0x00a1_0f11);
        assert_eq!((sig.family, sig.model, sig.stepping), (0x19, 0x11, 1));
        // Intel Coffee Lake: family 6, model 0x9e, stepping 10.
        let sig = CpuSignature::from_leaf1_eax(0x0009_06ea);
        assert_eq!((sig.family, sig.model, sig.stepping), (6, 0x9e, 10));
        // AMD K10: family 0x10, model 2 (extended model not folded for family 0xf+ only).
        let sig = CpuSignature::from_leaf1_eax(0x0010_0f22);
        assert_eq!((sig.family, sig.model, sig.stepping), (0x10, 0x2, 2));
    }

    fn file(text: &str) -> DumpFile {
        DumpFile::parse(text.as_bytes(), Path::new("t.txt")).unwrap()
    }

    const LEAF0_MAX5: &str =
        "   0x00000000 0x00: eax=0x00000005 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65\n";
    const LEAF0_MAX7: &str =
        "   0x00000000 0x00: eax=0x00000007 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65\n";
    const LEAF1: &str =
        "   0x00000001 0x00: eax=0x00100f22 ebx=0x00000800 ecx=0x00802009 edx=0x178bfbff\n";

    #[test]
    fn test_missing_leaf7_below_max_leaf_is_absent() {
        let host = HostCpu::from_file(
            &file(&format!("CPU:\n{LEAF0_MAX5}{LEAF1}")),
            &FeatureReg::CLASSIC,
        )
        .unwrap();
        assert!(host.leaf7_absent);
        assert_eq!(host.vendor.as_deref(), Some("AuthenticAMD"));
        assert_eq!(host.value(FeatureReg::Leaf7s0Ebx), 0);
    }

    #[test]
    fn test_missing_leaf7_within_max_leaf_is_error() {
        let err = HostCpu::from_file(
            &file(&format!("CPU:\n{LEAF0_MAX7}{LEAF1}")),
            &FeatureReg::CLASSIC,
        )
        .unwrap_err();
        assert!(matches!(err, CpuidMaskError::MissingLeaf { line: 1, .. }));
    }

    #[test]
    fn test_missing_leaf1_is_error() {
        let err = HostCpu::from_file(&file(&format!("CPU:\n{LEAF0_MAX5}")), &[]).unwrap_err();
        assert!(matches!(
            err,
            CpuidMaskError::MissingLeaf { leaf: Leaf(1), .. }
        ));
    }

    #[test]
    fn test_several_cpus_are_intersected() {
        let other = LEAF1.replace("ecx=0x00802009", "ecx=0x00802008");
        let host = HostCpu::from_file(
            &file(&format!(
                "CPU 0:\n{LEAF0_MAX5}{LEAF1}CPU 1:\n{LEAF0_MAX5}{other}"
            )),
            &FeatureReg::CLASSIC,
        )
        .unwrap();
        assert!(host.cpus_differ);
        assert_eq!(host.value(FeatureReg::Leaf1Ecx), 0x0080_2008);
    }
}
