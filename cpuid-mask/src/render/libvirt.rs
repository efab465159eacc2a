//! libvirt domain XML: `<cpu mode='host-passthrough'>` with `<feature policy='disable'/>`.
//!
//! libvirt's libxl driver honours `<feature>` only in `host-passthrough` mode and turns
//! `disable`/`forbid` into `NAME=0` for libxl; SUSE's `policy='optional'` disables nothing.

use crate::features::Feature;
use crate::mask::Mask;

/// libvirt's own renames when it hands a feature to libxl (`xenTranslateCPUFeature` in
/// libvirt's `src/libxl/xen_xl.c`); every other name is passed unchanged.
pub const LIBVIRT_TO_LIBXL: [(&str, &str); 17] = [
    ("cx16", "cmpxchg16"),
    ("cid", "cntxid"),
    ("ds_cpl", "dscpl"),
    ("pclmuldq", "pclmulqdq"),
    ("pni", "sse3"),
    ("ht", "htt"),
    ("pn", "psn"),
    ("clflush", "clfsh"),
    ("sep", "sysenter"),
    ("cx8", "cmpxchg8"),
    ("nodeid_msr", "nodeid"),
    ("cr8legacy", "altmovcr8"),
    ("lahf_lm", "lahfsahf"),
    ("cmp_legacy", "cmplegacy"),
    ("fxsr_opt", "ffxsr"),
    ("pdpe1gb", "page1gb"),
    ("spec-ctrl", "ibrsb"),
];

/// The libvirt form of a mask, and what it cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibvirtRendering {
    /// The `<cpu>` element, newline-terminated.
    pub xml: String,
    /// Masked bits libvirt has no name for: left out of `xml`.
    pub unnamed: Vec<&'static Feature>,
    /// Features in `xml` whose libvirt name libxl does not accept after libvirt's renaming:
    /// with the libxl driver, a domain using them fails to start.
    pub rejected_by_libxl: Vec<&'static Feature>,
}

/// The name libvirt's libxl driver hands to libxl for a libvirt feature name.
pub fn libxl_name_for(libvirt_name: &str) -> &str {
    LIBVIRT_TO_LIBXL
        .iter()
        .find(|(from, _)| *from == libvirt_name)
        .map_or(libvirt_name, |(_, to)| to)
}

/// Renders the `<cpu>` element with one disabled feature per masked, named bit.
pub fn render(mask: &Mask) -> LibvirtRendering {
    let mut xml = String::from("<cpu mode='host-passthrough'>\n");
    let mut unnamed = Vec::new();
    let mut rejected_by_libxl = Vec::new();
    for bit in mask.masked_bits() {
        let Some(name) = bit.feature.libvirt_name else {
            unnamed.push(bit.feature);
            continue;
        };
        xml.push_str("  <feature policy='disable' name='");
        xml.push_str(name);
        xml.push_str("'/>\n");
        if !libxl_accepts(bit.feature, libxl_name_for(name)) {
            rejected_by_libxl.push(bit.feature);
        }
    }
    xml.push_str("</cpu>\n");
    LibvirtRendering {
        xml,
        unnamed,
        rejected_by_libxl,
    }
}

/// Whether Xen 4.17's libxl resolves `key` to this feature's bit. Its only name table is
/// the one [`Feature::xl_key`] and [`Feature::xl_aliases`] record (names generated from
/// `cpufeatureset.h` came in 4.18).
fn libxl_accepts(feature: &Feature, key: &str) -> bool {
    feature.xl_key == Some(key) || feature.xl_aliases.contains(&key)
}
