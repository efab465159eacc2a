//! The xl.cfg `cpuid = "host,NAME=0,..."` string ("libxl" syntax) with Xen's feature names.
//!
//! SUSE's xen_maskcalc prints `cpuid = [ host,avx2=0 ]`, which xl rejects (a bare word in a
//! list); the valid form is a single string.

use crate::features::Feature;
use crate::mask::Mask;

/// The named form of a mask, and the masked bits it cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRendering {
    /// The `cpuid = "host,..."` line, newline-terminated.
    pub text: String,
    /// Masked bits with no libxl key: left out of `text`. Use the xl list form for them.
    pub unnamed: Vec<&'static Feature>,
}

/// Renders `cpuid = "host,KEY=0,..."`, register by register, bit 31 first.
pub fn render(mask: &Mask) -> NamedRendering {
    let mut text = String::from("cpuid = \"host");
    let mut unnamed = Vec::new();
    for bit in mask.masked_bits() {
        match bit.feature.xl_key {
            Some(key) => {
                text.push(',');
                text.push_str(key);
                text.push_str("=0");
            }
            None => unnamed.push(bit.feature),
        }
    }
    text.push_str("\"\n");
    NamedRendering { text, unnamed }
}
