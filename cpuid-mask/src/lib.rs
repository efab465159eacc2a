//! CPUID feature masks for Xen live migration.
//!
//! Before a Xen guest can live-migrate between hosts, every host must offer the CPU features
//! the guest uses. This crate takes one raw CPUID dump per host (`cpuid -1r` output, or this
//! machine's CPUID read directly with [`read_local`]), levels them, and renders the result as
//!
//! * the xl.cfg `cpuid = [ ... ]` list, byte-identical to `xen_maskcalc.py`
//!   ([`render::xl`]),
//! * the xl.cfg `cpuid = "host,avx2=0,..."` string with Xen's feature names
//!   ([`render::xl_names`]),
//! * libvirt `<cpu mode='host-passthrough'>` XML with `policy='disable'` ([`render::libvirt`]).
//!
//! It also explains a mask ([`Mask::masked_bits`]), answers whether a guest started on one
//! host fits another ([`fits()`]), and names every feature bit ([`features`]).
//!
//! The parser is total: any input gives a dump or a [`CpuidMaskError`] naming the file, line
//! and column.
//!
//! Limits: [`DumpFile::read`] reads files, pipes and `-` (standard input) up to
//! [`MAX_DUMP_BYTES`] (64 MiB, more than any real host's dump) and refuses larger input with
//! [`CpuidMaskError::TooLarge`], so memory stays bounded (about twice the limit at most).
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use cpuid_mask::{render, DumpFile, FeatureReg, HostCpu, Mask, MaskOptions};
//!
//! let sandy_bridge = "CPU:
//!    0x00000000 0x00: eax=0x0000000d ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69
//!    0x00000001 0x00: eax=0x000206a7 ebx=0x00100800 ecx=0x1fbae3ff edx=0xbfebfbff
//!    0x00000007 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0x00000000
//! ";
//! let coffee_lake = "CPU:
//!    0x00000000 0x00: eax=0x00000016 ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69
//!    0x00000001 0x00: eax=0x000906ea ebx=0x00100800 ecx=0x7ffafbff edx=0xbfebfbff
//!    0x00000007 0x00: eax=0x00000000 ebx=0x029c6fbf ecx=0x40000000 edx=0xbc000400
//! ";
//! let mut hosts = Vec::new();
//! for (name, text) in [("sandy", sandy_bridge), ("coffee", coffee_lake)] {
//!     let file = DumpFile::parse(text.as_bytes(), Path::new(name))?;
//!     hosts.push(HostCpu::from_file(&file, &FeatureReg::CLASSIC)?);
//! }
//! let mask = Mask::compute(&hosts, MaskOptions::default())?;
//! assert_eq!(
//!     render::xl::render(&mask),
//!     "cpuid = [\n    \"0x00000001:ecx=x00xxxxxx0xxxxxxxxx00xxxxxxxxxxx\",\n    \
//!      \"0x00000007,0x00:ebx=xxxxxx0x0xx000xxx00x00000x000000,ecx=x0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n]\n"
//! );
//! let named = render::xl_names::render(&mask);
//! assert!(named.text.starts_with("cpuid = \"host,rdrand=0,f16c=0,"));
//! # Ok::<(), cpuid_mask::CpuidMaskError>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod dump;
mod error;
pub mod features;
mod fits;
mod host;
#[cfg(target_arch = "x86_64")]
mod local;
mod mask;
mod parse;
mod registers;
pub mod render;
#[cfg(target_arch = "x86_64")]
mod status;

pub use dump::{CpuBlock, CpuidDump, CpuidEntry, Leaf, Register, Regs, Subleaf};
pub use error::{CpuidMaskError, ParseProblem};
pub use features::{Feature, FeatureAttrs, FeatureKind};
pub use fits::{FitReport, fits};
pub use host::{CpuSignature, HostCpu};
#[cfg(target_arch = "x86_64")]
pub use local::{CpuSelection, CpuidSource, local_source, read_instruction, read_local};
pub use mask::{Mask, MaskOptions, MaskWarning, MaskedBit, RegisterMask};
pub use parse::{DumpFile, MAX_DUMP_BYTES};
pub use registers::FeatureReg;
#[cfg(target_arch = "x86_64")]
pub use status::{CpuStatus, instruction_reason};
