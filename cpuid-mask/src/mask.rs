//! The cross-host mask: which feature bits differ between hosts and must be hidden from a
//! guest that migrates between them.

use crate::error::CpuidMaskError;
use crate::features::{self, Feature, FeatureKind};
use crate::host::HostCpu;
use crate::registers::FeatureReg;

/// What a mask covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaskOptions {
    /// Also mask the feature words beyond xen_maskcalc.py's four (7.0 EDX, 7.1 EAX, 0xd.1 EAX,
    /// 0x80000001 ECX/EDX, 0x80000007 EDX, 0x80000008 EBX).
    pub extended: bool,
}

impl MaskOptions {
    /// The registers covered, in output order.
    pub fn registers(&self) -> &'static [FeatureReg] {
        if self.extended {
            &FeatureReg::ALL
        } else {
            &FeatureReg::CLASSIC
        }
    }
}

/// One register's levelling result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RegisterMask {
    /// The register.
    pub reg: FeatureReg,
    /// Bits every host has.
    pub common: u32,
    /// Bits at least one host has.
    pub any: u32,
    /// Bits forced to 0 for the guest: present on some hosts but not all.
    pub masked: u32,
}

impl RegisterMask {
    /// The xl.cfg bit string: 32 characters, bit 31 first, `0` for a masked bit, `x` (Xen's
    /// default) otherwise.
    pub fn xl_bits(&self) -> String {
        (0..32)
            .rev()
            .map(|bit| {
                if self.masked & (1 << bit) != 0 {
                    '0'
                } else {
                    'x'
                }
            })
            .collect()
    }
}

/// A warning about the inputs of a mask. The mask is still valid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum MaskWarning {
    /// A CPU without leaf 7: its leaf-7 features count as absent.
    Leaf7Absent {
        /// The host.
        host: String,
    },
    /// The hosts' vendors differ: cross-vendor migration is not supported by Xen.
    VendorsDiffer {
        /// Each host with its vendor string.
        vendors: Vec<(String, String)>,
    },
    /// One dump holds CPUs with different features: only the bits all of them have count.
    CpusDiffer {
        /// The host.
        host: String,
    },
    /// A bit that reflects OS or VM state rather than the CPU differs between the dumps.
    StateBitDiffers {
        /// The register.
        reg: FeatureReg,
        /// The bit.
        bit: u8,
        /// Its name.
        name: String,
    },
    /// A dump was taken under Xen, which hides features from dom0 and guests.
    TakenUnderXen {
        /// The host.
        host: String,
    },
}

impl std::fmt::Display for MaskWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaskWarning::Leaf7Absent { host } => write!(
                f,
                "{host}: this CPU has no CPUID leaf 7; its leaf-7 features count as absent"
            ),
            MaskWarning::VendorsDiffer { vendors } => {
                let list: Vec<String> = vendors.iter().map(|(h, v)| format!("{h}: {v}")).collect();
                write!(
                    f,
                    "the hosts' CPU vendors differ ({}); Xen does not support cross-vendor migration",
                    list.join(", ")
                )
            }
            MaskWarning::CpusDiffer { host } => write!(
                f,
                "{host}: the dump's CPUs report different features; only those all of them have count"
            ),
            MaskWarning::StateBitDiffers { reg, bit, name } => write!(
                f,
                "{name} ({reg} bit {bit}) differs between the dumps but reflects OS or VM state, not the CPU; take every dump the same way"
            ),
            MaskWarning::TakenUnderXen { host } => write!(
                f,
                "{host}: this dump was taken under Xen, which hides features; take dumps on a native boot"
            ),
        }
    }
}

/// A computed mask over a set of hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Mask {
    /// The host names in input order (duplicates removed).
    pub hosts: Vec<String>,
    /// Vendor of each host, parallel to `hosts`.
    pub vendors: Vec<Option<String>>,
    /// One entry per covered register, in output order.
    pub registers: Vec<RegisterMask>,
    /// Whether the extended registers are covered.
    pub extended: bool,
    /// Warnings about the inputs.
    pub warnings: Vec<MaskWarning>,
    /// Each host's register values, parallel to `hosts` (for [`Mask::masked_bits`]).
    #[cfg_attr(feature = "serde", serde(skip))]
    host_values: Vec<[u32; 11]>,
}

/// A bit the mask forces to 0, with who has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedBit<'a> {
    /// The feature (names and kind).
    pub feature: &'static Feature,
    /// Hosts that have it.
    pub present_on: Vec<&'a str>,
    /// Hosts that lack it.
    pub absent_on: Vec<&'a str>,
}

impl Mask {
    /// Levels `hosts`: a bit is masked when some but not all hosts have it.
    ///
    /// Hosts are identified by name; a name given twice counts once (as xen_maskcalc.py
    /// does). In extended mode, bits Xen accumulates across a pool (`|`) are never masked.
    ///
    /// ```
    /// use cpuid_mask::{DumpFile, HostCpu, Mask, MaskOptions, FeatureReg};
    /// use std::path::Path;
    /// let a = "   0x00000000 0x00: eax=0x00000007 ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69
    ///    0x00000001 0x00: eax=0x000206a7 ebx=0x00100800 ecx=0x1fbae3ff edx=0xbfebfbff
    ///    0x00000007 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n";
    /// let b = a.replace("ecx=0x1fbae3ff", "ecx=0x7ffafbff");
    /// let hosts = [
    ///     HostCpu::from_file(&DumpFile::parse(a.as_bytes(), Path::new("a"))?, &FeatureReg::CLASSIC)?,
    ///     HostCpu::from_file(&DumpFile::parse(b.as_bytes(), Path::new("b"))?, &FeatureReg::CLASSIC)?,
    /// ];
    /// let mask = Mask::compute(&hosts, MaskOptions::default())?;
    /// assert_eq!(mask.registers[0].xl_bits(), "x00xxxxxx0xxxxxxxxx00xxxxxxxxxxx");
    /// # Ok::<(), cpuid_mask::CpuidMaskError>(())
    /// ```
    ///
    /// # Errors
    /// [`CpuidMaskError::NoHosts`] when `hosts` is empty.
    pub fn compute(hosts: &[HostCpu], options: MaskOptions) -> Result<Mask, CpuidMaskError> {
        let mut unique: Vec<&HostCpu> = Vec::with_capacity(hosts.len());
        for host in hosts {
            if !unique.iter().any(|h| h.name == host.name) {
                unique.push(host);
            }
        }
        if unique.is_empty() {
            return Err(CpuidMaskError::NoHosts);
        }
        let registers: Vec<RegisterMask> = options
            .registers()
            .iter()
            .map(|&reg| {
                let common = unique.iter().fold(u32::MAX, |acc, h| acc & h.value(reg));
                let any = unique.iter().fold(0, |acc, h| acc | h.value(reg));
                let mut masked = any & !common;
                if !FeatureReg::CLASSIC.contains(&reg) {
                    masked &= !features::kind_mask(reg, FeatureKind::Accumulate);
                }
                RegisterMask {
                    reg,
                    common,
                    any,
                    masked,
                }
            })
            .collect();
        let warnings = warnings(&unique, &registers);
        Ok(Mask {
            hosts: unique.iter().map(|h| h.name.clone()).collect(),
            vendors: unique.iter().map(|h| h.vendor.clone()).collect(),
            registers,
            extended: options.extended,
            warnings,
            host_values: unique.iter().map(|h| h.values).collect(),
        })
    }

    /// The mask of one register, if covered.
    pub fn register(&self, reg: FeatureReg) -> Option<&RegisterMask> {
        self.registers.iter().find(|r| r.reg == reg)
    }

    /// Every masked bit, register by register in output order, bit 31 first within each.
    pub fn masked_bits(&self) -> Vec<MaskedBit<'_>> {
        let mut out = Vec::new();
        for r in &self.registers {
            for bit in (0..32u8).rev() {
                if r.masked & (1 << bit) == 0 {
                    continue;
                }
                let (mut present_on, mut absent_on) = (Vec::new(), Vec::new());
                for (name, values) in self.hosts.iter().zip(&self.host_values) {
                    if values[r.reg.index()] & (1 << bit) != 0 {
                        present_on.push(name.as_str());
                    } else {
                        absent_on.push(name.as_str());
                    }
                }
                out.push(MaskedBit {
                    feature: features::feature(r.reg, bit),
                    present_on,
                    absent_on,
                });
            }
        }
        out
    }

    /// Whether nothing is masked (all hosts agree on every covered bit).
    pub fn is_empty(&self) -> bool {
        self.registers.iter().all(|r| r.masked == 0)
    }
}

fn warnings(hosts: &[&HostCpu], registers: &[RegisterMask]) -> Vec<MaskWarning> {
    let mut out = Vec::new();
    for host in hosts {
        if host.leaf7_absent {
            out.push(MaskWarning::Leaf7Absent {
                host: host.name.clone(),
            });
        }
        if host.cpus_differ {
            out.push(MaskWarning::CpusDiffer {
                host: host.name.clone(),
            });
        }
        if host.is_under_xen() {
            out.push(MaskWarning::TakenUnderXen {
                host: host.name.clone(),
            });
        }
    }
    let known: Vec<&String> = hosts.iter().filter_map(|h| h.vendor.as_ref()).collect();
    if known.windows(2).any(|w| w[0] != w[1]) {
        out.push(MaskWarning::VendorsDiffer {
            vendors: hosts
                .iter()
                .filter_map(|h| h.vendor.clone().map(|v| (h.name.clone(), v)))
                .collect(),
        });
    }
    for r in registers {
        for f in features::register_features(r.reg) {
            let state = matches!(f.kind, FeatureKind::OsState | FeatureKind::Hypervisor);
            if state && r.masked & f.mask() != 0 {
                out.push(MaskWarning::StateBitDiffers {
                    reg: r.reg,
                    bit: f.bit,
                    name: f.name().unwrap_or("?").to_string(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::CpuSignature;

    fn host(name: &str, values: [u32; 11]) -> HostCpu {
        HostCpu {
            name: name.to_string(),
            vendor: Some("GenuineIntel".to_string()),
            signature: CpuSignature::default(),
            brand: None,
            hypervisor: None,
            values,
            leaf7_absent: false,
            cpus_differ: false,
        }
    }

    #[test]
    fn test_mask_is_or_and_not_and() {
        let mut a = [0u32; 11];
        let mut b = [0u32; 11];
        a[0] = 0b1100;
        b[0] = 0b1010;
        let mask = Mask::compute(&[host("a", a), host("b", b)], MaskOptions::default()).unwrap();
        assert_eq!(mask.registers[0].masked, 0b0110);
        assert_eq!(mask.registers.len(), 4);
        let bits = mask.masked_bits();
        assert_eq!(bits.len(), 2);
        assert_eq!(bits[0].feature.bit, 2);
        assert_eq!(bits[0].present_on, vec!["a"]);
        assert_eq!(bits[0].absent_on, vec!["b"]);
    }

    #[test]
    fn test_duplicate_host_names_count_once() {
        let a = host("a", [1; 11]);
        let mask = Mask::compute(&[a.clone(), a], MaskOptions { extended: true }).unwrap();
        assert_eq!(mask.hosts, vec!["a"]);
        assert!(mask.is_empty());
        assert_eq!(mask.registers.len(), 11);
    }

    #[test]
    fn test_no_hosts_is_error() {
        assert!(matches!(
            Mask::compute(&[], MaskOptions::default()),
            Err(CpuidMaskError::NoHosts)
        ));
    }

    #[test]
    fn test_vendor_mismatch_warns() {
        let mut b = host("b", [0; 11]);
        b.vendor = Some("AuthenticAMD".to_string());
        let mask = Mask::compute(&[host("a", [0; 11]), b], MaskOptions::default()).unwrap();
        assert!(matches!(
            mask.warnings[0],
            MaskWarning::VendorsDiffer { .. }
        ));
    }

    #[test]
    fn test_hypervisor_bit_difference_warns() {
        let mut v = [0u32; 11];
        v[FeatureReg::Leaf1Ecx.index()] = 1 << 31;
        let mask =
            Mask::compute(&[host("a", [0; 11]), host("b", v)], MaskOptions::default()).unwrap();
        assert_eq!(
            mask.warnings,
            vec![MaskWarning::StateBitDiffers {
                reg: FeatureReg::Leaf1Ecx,
                bit: 31,
                name: "hypervisor".to_string()
            }]
        );
    }
}
