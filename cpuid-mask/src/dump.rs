//! The data model of a raw CPUID dump: leaves, subleaves, registers, CPU blocks.
//!
//! The text form is the one printed by Todd Allen's `cpuid -1r` (Debian/openSUSE package
//! `cpuid`): a `CPU:` (or `CPU n:`) header, then one line per leaf and subleaf,
//! `   0x00000001 0x00: eax=0x00a00f11 ebx=0x00020800 ecx=0xfffa3203 edx=0x178bfbff`.

use std::fmt;

/// A CPUID leaf: the value put in EAX before executing CPUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Leaf(pub u32);

/// A CPUID subleaf: the value put in ECX before executing CPUID (0 for non-indexed leaves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Subleaf(pub u32);

impl Leaf {
    /// Leaf 0: maximum basic leaf and vendor string.
    pub const VENDOR: Leaf = Leaf(0);
    /// Leaf 1: family/model/stepping and the first feature words.
    pub const FEATURES: Leaf = Leaf(1);
    /// Leaf 7: structured extended features.
    pub const EXTENDED_FEATURES: Leaf = Leaf(7);
    /// Leaf 0xd: XSAVE state components.
    pub const XSAVE: Leaf = Leaf(0xd);
    /// Leaf 0x40000000: hypervisor vendor and maximum hypervisor leaf.
    pub const HYPERVISOR: Leaf = Leaf(0x4000_0000);
    /// Leaf 0x80000000: maximum extended leaf.
    pub const EXTENDED_MAX: Leaf = Leaf(0x8000_0000);
    /// Leaf 0x80000001: AMD-defined feature words.
    pub const EXTENDED_FEATURES_AMD: Leaf = Leaf(0x8000_0001);
}

impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x}", self.0)
    }
}

impl fmt::Display for Subleaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02x}", self.0)
    }
}

/// One of the four registers CPUID returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Register {
    /// EAX
    Eax,
    /// EBX
    Ebx,
    /// ECX
    Ecx,
    /// EDX
    Edx,
}

impl Register {
    /// All four registers in output order.
    pub const ALL: [Register; 4] = [Register::Eax, Register::Ebx, Register::Ecx, Register::Edx];

    /// The lowercase name used by `cpuid -1r` and xl.cfg (`eax`, `ebx`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Register::Eax => "eax",
            Register::Ebx => "ebx",
            Register::Ecx => "ecx",
            Register::Edx => "edx",
        }
    }
}

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The four output registers of one CPUID invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Regs {
    /// EAX output.
    pub eax: u32,
    /// EBX output.
    pub ebx: u32,
    /// ECX output.
    pub ecx: u32,
    /// EDX output.
    pub edx: u32,
}

impl Regs {
    /// The value of one register.
    pub fn get(&self, register: Register) -> u32 {
        match register {
            Register::Eax => self.eax,
            Register::Ebx => self.ebx,
            Register::Ecx => self.ecx,
            Register::Edx => self.edx,
        }
    }

    /// The registers' bytes in the order `ebx, edx, ecx` (how vendor strings are stored).
    pub(crate) fn vendor_bytes(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[0..4].copy_from_slice(&self.ebx.to_le_bytes());
        out[4..8].copy_from_slice(&self.edx.to_le_bytes());
        out[8..12].copy_from_slice(&self.ecx.to_le_bytes());
        out
    }
}

/// One line of a dump: the registers returned for a leaf and subleaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CpuidEntry {
    /// The leaf queried.
    pub leaf: Leaf,
    /// The subleaf queried.
    pub subleaf: Subleaf,
    /// What CPUID returned.
    pub regs: Regs,
}

impl fmt::Display for CpuidEntry {
    /// The `cpuid -1r` line, without the three-space indent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.regs;
        write!(
            f,
            "{} {}: eax=0x{:08x} ebx=0x{:08x} ecx=0x{:08x} edx=0x{:08x}",
            self.leaf, self.subleaf, r.eax, r.ebx, r.ecx, r.edx
        )
    }
}

/// The leaves of one logical CPU.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CpuBlock {
    /// The CPU number from a `CPU n:` header; `None` for `CPU:` (`cpuid -1`) or no header.
    pub cpu: Option<u32>,
    /// The leaves in the order they were read.
    pub entries: Vec<CpuidEntry>,
}

impl CpuBlock {
    /// The registers of `leaf`/`subleaf`, if the block has that line.
    pub fn get(&self, leaf: Leaf, subleaf: Subleaf) -> Option<&Regs> {
        self.entries
            .iter()
            .find(|e| e.leaf == leaf && e.subleaf == subleaf)
            .map(|e| &e.regs)
    }
}

/// A whole dump: one block per CPU.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CpuidDump {
    /// The CPU blocks in file order. A parsed dump always has at least one, none empty.
    pub cpus: Vec<CpuBlock>,
}

impl fmt::Display for CpuidDump {
    /// The raw `cpuid -r` text: `CPU:`/`CPU n:` headers and three-space indented leaf lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for block in &self.cpus {
            match block.cpu {
                Some(n) => writeln!(f, "CPU {n}:")?,
                None => writeln!(f, "CPU:")?,
            }
            for entry in &block.entries {
                writeln!(f, "   {entry}")?;
            }
        }
        Ok(())
    }
}
