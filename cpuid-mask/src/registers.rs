//! The feature registers a mask can cover.

use std::fmt;

use crate::dump::{Leaf, Register, Subleaf};

/// A CPUID output register that holds feature flags: one of Xen's featureset words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FeatureReg {
    /// Leaf 1 ECX (Xen featureset word 1).
    Leaf1Ecx,
    /// Leaf 1 EDX (word 0).
    Leaf1Edx,
    /// Leaf 7 subleaf 0 EBX (word 5).
    Leaf7s0Ebx,
    /// Leaf 7 subleaf 0 ECX (word 6).
    Leaf7s0Ecx,
    /// Leaf 7 subleaf 0 EDX (word 9).
    Leaf7s0Edx,
    /// Leaf 7 subleaf 1 EAX (word 10).
    Leaf7s1Eax,
    /// Leaf 0xd subleaf 1 EAX (word 4).
    LeafDs1Eax,
    /// Leaf 0x80000001 ECX (word 3).
    Ext1Ecx,
    /// Leaf 0x80000001 EDX (word 2).
    Ext1Edx,
    /// Leaf 0x80000007 EDX (word 7).
    Ext7Edx,
    /// Leaf 0x80000008 EBX (word 8).
    Ext8Ebx,
}

impl FeatureReg {
    /// The four registers xen_maskcalc.py masks, in its output order.
    pub const CLASSIC: [FeatureReg; 4] = [
        FeatureReg::Leaf1Ecx,
        FeatureReg::Leaf1Edx,
        FeatureReg::Leaf7s0Ebx,
        FeatureReg::Leaf7s0Ecx,
    ];

    /// Every feature register Xen lets an administrator control through xl.cfg `cpuid=`
    /// that this crate knows, in output order (the classic four first).
    pub const ALL: [FeatureReg; 11] = [
        FeatureReg::Leaf1Ecx,
        FeatureReg::Leaf1Edx,
        FeatureReg::Leaf7s0Ebx,
        FeatureReg::Leaf7s0Ecx,
        FeatureReg::Leaf7s0Edx,
        FeatureReg::Leaf7s1Eax,
        FeatureReg::LeafDs1Eax,
        FeatureReg::Ext1Ecx,
        FeatureReg::Ext1Edx,
        FeatureReg::Ext7Edx,
        FeatureReg::Ext8Ebx,
    ];

    /// Position in [`FeatureReg::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The leaf, subleaf and register this word lives in.
    pub fn location(self) -> (Leaf, Subleaf, Register) {
        use Register::{Eax, Ebx, Ecx, Edx};
        match self {
            FeatureReg::Leaf1Ecx => (Leaf(1), Subleaf(0), Ecx),
            FeatureReg::Leaf1Edx => (Leaf(1), Subleaf(0), Edx),
            FeatureReg::Leaf7s0Ebx => (Leaf(7), Subleaf(0), Ebx),
            FeatureReg::Leaf7s0Ecx => (Leaf(7), Subleaf(0), Ecx),
            FeatureReg::Leaf7s0Edx => (Leaf(7), Subleaf(0), Edx),
            FeatureReg::Leaf7s1Eax => (Leaf(7), Subleaf(1), Eax),
            FeatureReg::LeafDs1Eax => (Leaf(0xd), Subleaf(1), Eax),
            FeatureReg::Ext1Ecx => (Leaf(0x8000_0001), Subleaf(0), Ecx),
            FeatureReg::Ext1Edx => (Leaf(0x8000_0001), Subleaf(0), Edx),
            FeatureReg::Ext7Edx => (Leaf(0x8000_0007), Subleaf(0), Edx),
            FeatureReg::Ext8Ebx => (Leaf(0x8000_0008), Subleaf(0), Ebx),
        }
    }

    /// The leaf.
    pub fn leaf(self) -> Leaf {
        self.location().0
    }

    /// The subleaf.
    pub fn subleaf(self) -> Subleaf {
        self.location().1
    }

    /// The register.
    pub fn register(self) -> Register {
        self.location().2
    }

    /// Whether the leaf is indexed, so xl.cfg must name the subleaf (`0x00000007,0x00`).
    pub fn is_indexed(self) -> bool {
        matches!(self.leaf(), Leaf(7) | Leaf(0xd))
    }

    /// Xen's featureset word number (`cpufeatureset.h`).
    pub fn xen_word(self) -> u8 {
        match self {
            FeatureReg::Leaf1Edx => 0,
            FeatureReg::Leaf1Ecx => 1,
            FeatureReg::Ext1Edx => 2,
            FeatureReg::Ext1Ecx => 3,
            FeatureReg::LeafDs1Eax => 4,
            FeatureReg::Leaf7s0Ebx => 5,
            FeatureReg::Leaf7s0Ecx => 6,
            FeatureReg::Ext7Edx => 7,
            FeatureReg::Ext8Ebx => 8,
            FeatureReg::Leaf7s0Edx => 9,
            FeatureReg::Leaf7s1Eax => 10,
        }
    }

    /// The short label used in the feature table and reports: `1.ecx`, `7.0.ebx`, `0x80000001.edx`.
    pub fn label(self) -> &'static str {
        match self {
            FeatureReg::Leaf1Ecx => "1.ecx",
            FeatureReg::Leaf1Edx => "1.edx",
            FeatureReg::Leaf7s0Ebx => "7.0.ebx",
            FeatureReg::Leaf7s0Ecx => "7.0.ecx",
            FeatureReg::Leaf7s0Edx => "7.0.edx",
            FeatureReg::Leaf7s1Eax => "7.1.eax",
            FeatureReg::LeafDs1Eax => "0xd.1.eax",
            FeatureReg::Ext1Ecx => "0x80000001.ecx",
            FeatureReg::Ext1Edx => "0x80000001.edx",
            FeatureReg::Ext7Edx => "0x80000007.edx",
            FeatureReg::Ext8Ebx => "0x80000008.ebx",
        }
    }

    /// The register with this [`label`](FeatureReg::label).
    pub fn from_label(label: &str) -> Option<FeatureReg> {
        FeatureReg::ALL.into_iter().find(|r| r.label() == label)
    }
}

impl fmt::Display for FeatureReg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for FeatureReg {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_index_matches_position_in_all() {
        for (i, reg) in FeatureReg::ALL.into_iter().enumerate() {
            assert_eq!(reg.index(), i);
            assert_eq!(FeatureReg::from_label(reg.label()), Some(reg));
        }
    }

    #[test]
    fn test_xen_words_are_distinct() {
        let mut words: Vec<u8> = FeatureReg::ALL.iter().map(|r| r.xen_word()).collect();
        words.sort_unstable();
        assert_eq!(words, (0..11).collect::<Vec<u8>>());
    }
}
