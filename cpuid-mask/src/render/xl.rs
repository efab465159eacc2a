//! The xl.cfg `cpuid = [ ... ]` list ("xend" syntax), byte-compatible with xen_maskcalc.py.

use std::fmt::Write as _;

use crate::mask::{Mask, RegisterMask};
use crate::registers::FeatureReg;

/// Renders the mask as xen_maskcalc.py does:
///
/// ```text
/// cpuid = [
///     "0x00000001:ecx=<32 chars>[,edx=<32 chars>]",
///     "0x00000007,0x00:ebx=<32 chars>[,ecx=<32 chars>]"
/// ]
/// ```
///
/// The leaf-1 `ecx` and leaf-7 `ebx` strings are always present; other registers only when
/// they mask something. With extended registers, their leaves get entries of their own, only
/// when they mask something.
pub fn render(mask: &Mask) -> String {
    let mut entries: Vec<String> = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for r in &mask.registers {
        let key = entry_key(r.reg);
        let always = matches!(r.reg, FeatureReg::Leaf1Ecx | FeatureReg::Leaf7s0Ebx);
        let part = (always || r.masked != 0).then(|| register_part(r));
        match &mut current {
            Some((k, parts)) if *k == key => parts.extend(part),
            _ => {
                if let Some(done) = current.take() {
                    entries.extend(finish(done));
                }
                current = Some((key, part.into_iter().collect()));
            }
        }
    }
    entries.extend(current.and_then(finish));
    let mut out = String::from("cpuid = [\n");
    for (i, entry) in entries.iter().enumerate() {
        let sep = if i + 1 < entries.len() { "," } else { "" };
        let _ = writeln!(out, "    \"{entry}\"{sep}");
    }
    out.push_str("]\n");
    out
}

/// `0x00000001` or, for indexed leaves, `0x00000007,0x00`.
fn entry_key(reg: FeatureReg) -> String {
    if reg.is_indexed() {
        format!("0x{:08x},0x{:02x}", reg.leaf().0, reg.subleaf().0)
    } else {
        format!("0x{:08x}", reg.leaf().0)
    }
}

fn register_part(r: &RegisterMask) -> String {
    format!("{}={}", r.reg.register(), r.xl_bits())
}

fn finish((key, parts): (String, Vec<String>)) -> Option<String> {
    (!parts.is_empty()).then(|| format!("{key}:{}", parts.join(",")))
}
