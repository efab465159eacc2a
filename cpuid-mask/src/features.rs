//! Feature names per bit, as data: Xen's names (`cpufeatureset.h`), the key libxl accepts in
//! xl.cfg `cpuid="host,KEY=0"`, and libvirt's `cpu_map` name. The table is generated at build
//! time from `data/features.tsv`; `data/SOURCES.md` says where every column comes from.

use bitflags::bitflags;

use crate::registers::FeatureReg;

bitflags! {
    /// The attribute characters of a feature in Xen's `cpufeatureset.h`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct FeatureAttrs: u8 {
        /// `A`: offered to all guests by default.
        const ALL_GUESTS = 1 << 0;
        /// `S`: offered to HVM (shadow or HAP) guests by default.
        const HVM_GUESTS = 1 << 1;
        /// `H`: offered to HAP guests by default.
        const HAP_GUESTS = 1 << 2;
        /// `a`: available to all guests on request.
        const OPT_IN_ALL = 1 << 3;
        /// `s`: available to HVM guests on request.
        const OPT_IN_HVM = 1 << 4;
        /// `h`: available to HAP guests on request.
        const OPT_IN_HAP = 1 << 5;
        /// `!`: special; Xen may override what the toolstack asks for.
        const SPECIAL = 1 << 6;
        /// `|`: accumulated (ORed) across a pool rather than intersected.
        const ACCUMULATE = 1 << 7;
    }
}

/// How a bit behaves when hosts are levelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum FeatureKind {
    /// A CPU capability: a guest may use it only where every host has it.
    Feature,
    /// Mirrors operating-system state (OSXSAVE, OSPKE), not a CPU capability.
    OsState,
    /// Set means something was removed (FDP_EXCP_ONLY, NO_FPU_SEL, ...).
    Negative,
    /// Xen ORs it across a pool (`|` in `cpufeatureset.h`).
    Accumulate,
    /// The HYPERVISOR bit: set when the dump was taken inside a virtual machine.
    Hypervisor,
    /// No known name anywhere.
    Reserved,
}

/// One bit of one feature register, with its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Feature {
    /// The register.
    pub reg: FeatureReg,
    /// The bit number (0 = least significant).
    pub bit: u8,
    /// Xen's name (`cpufeatureset.h`, lowercased, `_` as `-`), as `xen-cpuid` prints it.
    pub xen_name: Option<&'static str>,
    /// The key Xen 4.17's libxl resolves to exactly this bit in `cpuid="host,KEY=0"`.
    pub xl_key: Option<&'static str>,
    /// Other keys libxl 4.17 accepts for this bit (`sse4.1` for `sse4_1`).
    pub xl_aliases: &'static [&'static str],
    /// libvirt's name (`src/cpu_map/x86_features.xml`).
    pub libvirt_name: Option<&'static str>,
    /// Xen's attribute characters.
    pub attrs: FeatureAttrs,
    /// How the bit behaves when levelling hosts.
    pub kind: FeatureKind,
}

impl Feature {
    /// The best human name: Xen's, else libxl's key, else libvirt's.
    pub fn name(&self) -> Option<&'static str> {
        self.xen_name.or(self.xl_key).or(self.libvirt_name)
    }

    /// The bit as a mask of its register.
    pub fn mask(&self) -> u32 {
        1 << self.bit
    }
}

include!(concat!(env!("OUT_DIR"), "/features_table.rs"));

/// Every bit of every [`FeatureReg`], in [`FeatureReg::ALL`] order, bits ascending.
///
/// ```
/// use cpuid_mask::{features, FeatureReg};
/// let avx2 = features::feature(FeatureReg::Leaf7s0Ebx, 5);
/// assert_eq!(avx2.xen_name, Some("avx2"));
/// assert_eq!(avx2.libvirt_name, Some("avx2"));
/// ```
pub fn all() -> &'static [Feature] {
    &FEATURES
}

/// The entry for one bit. `bit` is taken modulo 32.
pub fn feature(reg: FeatureReg, bit: u8) -> &'static Feature {
    &FEATURES[reg.index() * 32 + usize::from(bit % 32)]
}

/// The bits of `reg` with the given kind, as a mask.
pub fn kind_mask(reg: FeatureReg, kind: FeatureKind) -> u32 {
    register_features(reg)
        .iter()
        .filter(|f| f.kind == kind)
        .fold(0, |acc, f| acc | f.mask())
}

/// The 32 entries of one register, bit 0 first.
pub fn register_features(reg: FeatureReg) -> &'static [Feature] {
    let start = reg.index() * 32;
    &FEATURES[start..start + 32]
}

/// The feature libxl 4.17 knows by `key` (as in xl.cfg `cpuid="host,KEY=0"`), aliases
/// included.
pub fn by_xl_key(key: &str) -> Option<&'static Feature> {
    FEATURES
        .iter()
        .find(|f| f.xl_key == Some(key) || f.xl_aliases.contains(&key))
}

/// The feature libvirt knows by `name`.
pub fn by_libvirt_name(name: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.libvirt_name == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_table_is_indexed_by_register_and_bit() {
        for reg in FeatureReg::ALL {
            for bit in 0..32u8 {
                let f = feature(reg, bit);
                assert_eq!((f.reg, f.bit), (reg, bit));
            }
        }
    }

    #[test]
    fn test_known_names_from_reference() {
        assert_eq!(feature(FeatureReg::Leaf1Edx, 19).xl_key, Some("clfsh"));
        assert_eq!(feature(FeatureReg::Leaf1Ecx, 0).libvirt_name, Some("pni"));
        assert_eq!(
            feature(FeatureReg::Leaf7s0Ebx, 29).libvirt_name,
            Some("sha-ni")
        );
        assert_eq!(feature(FeatureReg::Leaf1Ecx, 27).kind, FeatureKind::OsState);
        assert_eq!(
            feature(FeatureReg::Leaf1Ecx, 31).kind,
            FeatureKind::Hypervisor
        );
        assert_eq!(
            feature(FeatureReg::Leaf7s0Ebx, 13).kind,
            FeatureKind::Negative
        );
        assert!(
            feature(FeatureReg::Leaf1Ecx, 30)
                .attrs
                .contains(FeatureAttrs::SPECIAL)
        );
    }

    #[test]
    fn test_names_are_unique_and_reserved_means_nameless() {
        let mut keys: Vec<&str> = all()
            .iter()
            .flat_map(|f| f.xl_key.into_iter().chain(f.xl_aliases.iter().copied()))
            .collect();
        let count = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), count, "an xl.cfg key names two bits");
        let mut libvirt: Vec<&str> = all().iter().filter_map(|f| f.libvirt_name).collect();
        let count = libvirt.len();
        libvirt.sort_unstable();
        libvirt.dedup();
        assert_eq!(libvirt.len(), count, "a libvirt name names two bits");
        for f in all() {
            let nameless = f.xen_name.is_none() && f.xl_key.is_none() && f.libvirt_name.is_none();
            assert_eq!(
                f.kind == FeatureKind::Reserved,
                nameless,
                "{} bit {}",
                f.reg,
                f.bit
            );
        }
    }

    #[test]
    fn test_lookup_by_name() {
        assert_eq!(by_xl_key("avx2").map(|f| f.bit), Some(5));
        assert_eq!(
            by_libvirt_name("sse4.2").map(|f| f.reg),
            Some(FeatureReg::Leaf1Ecx)
        );
        assert!(by_libvirt_name("no-such-feature").is_none());
    }
}
