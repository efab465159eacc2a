//! xenadm's reports of masks, fits and feature tables: the text and the JSON shapes that
//! `xenadm cpuid mask --json`, `explain`, `fits` and `features` print, for any tool that wants
//! the same words.

use text_table::columns;

use crate::features::{self, Feature, FeatureAttrs, FeatureKind};
use crate::fits::FitReport;
use crate::host::HostCpu;
use crate::mask::{Mask, MaskedBit};
use crate::render::{libvirt, xl, xl_names};

/// A feature bit with its names, as the reports list it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FeatureReport {
    /// The register, e.g. `1.ecx`.
    pub register: &'static str,
    /// The bit, 0 to 31.
    pub bit: u8,
    /// Xen's name.
    pub xen_name: Option<&'static str>,
    /// The xl.cfg key.
    pub xl_key: Option<&'static str>,
    /// libvirt's name.
    pub libvirt_name: Option<&'static str>,
    /// What kind of bit it is.
    pub kind: FeatureKind,
    /// Xen's attribute letters ([`attrs_letters`]).
    pub attrs: String,
}

impl From<&Feature> for FeatureReport {
    fn from(f: &Feature) -> Self {
        FeatureReport {
            register: f.reg.label(),
            bit: f.bit,
            xen_name: f.xen_name,
            xl_key: f.xl_key,
            libvirt_name: f.libvirt_name,
            kind: f.kind,
            attrs: attrs_letters(f),
        }
    }
}

/// One masked bit: its names and which hosts have it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MaskedBitReport<'a> {
    /// The register, e.g. `1.ecx`.
    pub register: String,
    /// The bit.
    pub bit: u8,
    /// Xen's name.
    pub xen_name: Option<&'static str>,
    /// The xl.cfg key.
    pub xl_key: Option<&'static str>,
    /// libvirt's name.
    pub libvirt_name: Option<&'static str>,
    /// What kind of bit it is.
    pub kind: FeatureKind,
    /// Hosts that have it.
    pub present_on: Vec<&'a str>,
    /// Hosts that lack it.
    pub absent_on: Vec<&'a str>,
}

impl<'a> From<MaskedBit<'a>> for MaskedBitReport<'a> {
    fn from(bit: MaskedBit<'a>) -> Self {
        let f = bit.feature;
        MaskedBitReport {
            register: f.reg.label().to_string(),
            bit: f.bit,
            xen_name: f.xen_name,
            xl_key: f.xl_key,
            libvirt_name: f.libvirt_name,
            kind: f.kind,
            present_on: bit.present_on,
            absent_on: bit.absent_on,
        }
    }
}

/// One register of a mask.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RegisterReport {
    /// The register, e.g. `1.ecx`.
    pub register: &'static str,
    /// Its leaf.
    pub leaf: u32,
    /// Its subleaf.
    pub subleaf: u32,
    /// xl.cfg bit string, bit 31 first.
    pub mask: String,
    /// Bits every host has.
    pub common: u32,
    /// Bits some host has.
    pub any: u32,
    /// Bits masked.
    pub masked: u32,
}

/// A whole mask: registers, masked bits, warnings and all three renderings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MaskReport<'a> {
    /// The hosts, in order.
    pub hosts: &'a [String],
    /// Whether the extended registers are covered.
    pub extended: bool,
    /// Each register.
    pub registers: Vec<RegisterReport>,
    /// Each masked bit.
    pub masked_bits: Vec<MaskedBitReport<'a>>,
    /// The mask's warnings as text.
    pub warnings: Vec<String>,
    /// [`xl::render`].
    pub xl: String,
    /// [`xl_names::render`]'s text.
    pub xl_names: String,
    /// [`libvirt::render`]'s XML.
    pub libvirt: String,
}

impl<'a> MaskReport<'a> {
    /// The report of `mask`.
    pub fn new(mask: &'a Mask) -> MaskReport<'a> {
        MaskReport {
            hosts: &mask.hosts,
            extended: mask.extended,
            registers: mask
                .registers
                .iter()
                .map(|r| RegisterReport {
                    register: r.reg.label(),
                    leaf: r.reg.leaf().0,
                    subleaf: r.reg.subleaf().0,
                    mask: r.xl_bits(),
                    common: r.common,
                    any: r.any,
                    masked: r.masked,
                })
                .collect(),
            masked_bits: masked_bits(mask),
            warnings: mask.warnings.iter().map(ToString::to_string).collect(),
            xl: xl::render(mask),
            xl_names: xl_names::render(mask).text,
            libvirt: libvirt::render(mask).xml,
        }
    }
}

/// The masked bits of `mask` as reports.
pub fn masked_bits(mask: &Mask) -> Vec<MaskedBitReport<'_>> {
    mask.masked_bits().into_iter().map(Into::into).collect()
}

/// Masked bits a named format cannot express: the warning that says so (they are never
/// dropped silently), or `None` when every bit has a name there.
pub fn left_out_warning(format: &str, unnamed: &[&Feature]) -> Option<String> {
    (!unnamed.is_empty()).then(|| {
        format!(
            "{} masked bit(s) have no {format} name and are left out: {}; use --format xl for a complete mask",
            unnamed.len(),
            bit_list(unnamed)
        )
    })
}

/// The warning for libvirt names that libvirt's libxl driver passes on and libxl rejects.
pub fn libxl_rejects_warning(rendering: &libvirt::LibvirtRendering) -> Option<String> {
    let names: Vec<&str> = rendering
        .rejected_by_libxl
        .iter()
        .filter_map(|f| f.libvirt_name)
        .collect();
    (!rendering.rejected_by_libxl.is_empty()).then(|| {
        format!(
            "libvirt's libxl driver hands these names to libxl unchanged and libxl does not know them, so such a domain will not start under libvirt+libxl: {}; use xl with --format xl-names there",
            names.join(", ")
        )
    })
}

/// `1.ecx bit 11 (sdbg), ...`
pub fn bit_list(features: &[&Feature]) -> String {
    features
        .iter()
        .map(|f| match f.name() {
            Some(name) => format!("{} bit {} ({name})", f.reg, f.bit),
            None => format!("{} bit {}", f.reg, f.bit),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The KIND column's word.
pub fn kind_label(kind: FeatureKind) -> &'static str {
    match kind {
        FeatureKind::Feature => "feature",
        FeatureKind::OsState => "os-state",
        FeatureKind::Negative => "negative",
        FeatureKind::Accumulate => "accumulate",
        FeatureKind::Hypervisor => "hypervisor",
        _ => "reserved",
    }
}

/// Xen's attribute letters of a feature, as in cpufeatureset.h: `!|ASHash`, in that order.
pub fn attrs_letters(f: &Feature) -> String {
    use FeatureAttrs as A;
    [
        (A::SPECIAL, '!'),
        (A::ACCUMULATE, '|'),
        (A::ALL_GUESTS, 'A'),
        (A::HVM_GUESTS, 'S'),
        (A::HAP_GUESTS, 'H'),
        (A::OPT_IN_ALL, 'a'),
        (A::OPT_IN_HVM, 's'),
        (A::OPT_IN_HAP, 'h'),
    ]
    .iter()
    .filter(|(flag, _)| f.attrs.contains(*flag))
    .map(|(_, c)| *c)
    .collect()
}

/// The first cells of a feature's row: register, bit and its three names (`-` for none).
fn name_cells(f: &Feature) -> Vec<String> {
    let dash = |name: Option<&str>| name.unwrap_or("-").to_string();
    vec![
        f.reg.label().to_string(),
        f.bit.to_string(),
        dash(f.xen_name),
        dash(f.xl_key),
        dash(f.libvirt_name),
        kind_label(f.kind).to_string(),
    ]
}

/// `xenadm cpuid explain`'s text: each masked bit, its names, who has it and who lacks it.
pub fn explain_text(mask: &Mask) -> String {
    let bits = mask.masked_bits();
    if bits.is_empty() {
        return format!(
            "Nothing to mask: the {} host(s) agree on every covered feature bit.\n",
            mask.hosts.len()
        );
    }
    let mut rows = vec![text_table::row([
        "REGISTER", "BIT", "XEN", "XL.CFG", "LIBVIRT", "KIND", "HAVE IT", "LACK IT",
    ])];
    for bit in &bits {
        let mut row = name_cells(bit.feature);
        row.push(bit.present_on.join(","));
        row.push(bit.absent_on.join(","));
        rows.push(row);
    }
    format!(
        "{} feature bit(s) masked across {} hosts:\n{}",
        bits.len(),
        mask.hosts.len(),
        columns(&rows)
    )
}

/// Every named (not reserved) feature bit.
pub fn named_features() -> Vec<&'static Feature> {
    features::all()
        .iter()
        .filter(|f| f.kind != FeatureKind::Reserved)
        .collect()
}

/// `xenadm cpuid features`' text: every named bit with its names and attributes, then what
/// the attribute letters mean.
pub fn features_text() -> String {
    let mut rows = vec![text_table::row([
        "REGISTER", "BIT", "XEN", "XL.CFG", "LIBVIRT", "KIND", "ATTRS",
    ])];
    for f in named_features() {
        let attrs = attrs_letters(f);
        let mut row = name_cells(f);
        row.push(if attrs.is_empty() { "-".into() } else { attrs });
        rows.push(row);
    }
    let mut text = columns(&rows);
    text.push_str(ATTRS_LEGEND);
    text
}

/// What the ATTRS letters mean (Xen's cpufeatureset.h, whose attributes they are).
const ATTRS_LEGEND: &str = "\nATTRS (Xen 4.17's cpufeatureset.h): which guests Xen may offer the feature to: \
A all guests, S HVM guests, H HVM guests with HAP (upper case: offered by default; lower \
case: only when the guest's config asks for it); ! special handling by Xen; - none (not \
offered to guests).\n";

/// Whether a guest started on one host fits another, with the hosts' names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FitOutcome<'a> {
    /// The host the guest starts on.
    pub guest_host: &'a str,
    /// The host it would migrate to.
    pub target: &'a str,
    /// The answer.
    pub fits: bool,
    /// Both vendors, when they differ.
    pub vendor_mismatch: Option<(String, String)>,
    /// Features the target lacks.
    pub missing: Vec<FeatureReport>,
    /// Removed-behaviour bits the target sets.
    pub behaviour_changes: Vec<FeatureReport>,
    #[cfg_attr(feature = "serde", serde(skip))]
    report: FitReport,
}

impl<'a> FitOutcome<'a> {
    /// Checks whether a guest started on `from` can run on `to` ([`fits`](crate::fits())).
    pub fn check(from: &'a HostCpu, to: &'a HostCpu) -> FitOutcome<'a> {
        let report = crate::fits(from, to);
        let list = |fs: &[&Feature]| fs.iter().map(|f| FeatureReport::from(*f)).collect();
        FitOutcome {
            guest_host: &from.name,
            target: &to.name,
            fits: report.fits(),
            vendor_mismatch: report.vendor_mismatch.clone(),
            missing: list(&report.missing),
            behaviour_changes: list(&report.behaviour_changes),
            report,
        }
    }

    /// `xenadm cpuid fits`' text: yes or no, why, and the command that makes a mask.
    pub fn text(&self) -> String {
        let (from, to, report) = (self.guest_host, self.target, &self.report);
        let mut text = String::new();
        if self.fits {
            text.push_str(&format!("yes: a guest started on {from} can run on {to}\n"));
        } else {
            text.push_str(&format!(
                "no: a guest started on {from} cannot safely run on {to}\n"
            ));
            if let Some((a, b)) = &report.vendor_mismatch {
                text.push_str(&format!(
                    "  vendors differ ({a} vs {b}): Xen does not support cross-vendor migration\n"
                ));
            }
            if !report.missing.is_empty() {
                text.push_str(&format!(
                    "  {to} lacks {} feature bit(s): {}\n",
                    report.missing.len(),
                    bit_list(&report.missing)
                ));
                text.push_str(&format!(
                    "  start the guest with the mask of `xenadm cpuid mask --extended {from} {to}`\n"
                ));
            }
        }
        if !report.behaviour_changes.is_empty() {
            text.push_str(&format!(
                "  note: {to} sets {} (a removed legacy behaviour); Xen tolerates this in migration\n",
                bit_list(&report.behaviour_changes)
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::{DumpFile, FeatureReg, MaskOptions};

    /// Real dumps (tests/data/dumps): Sandy Bridge and Coffee Lake, named "sandy", "coffee".
    fn host(name: &str) -> HostCpu {
        let file = match name {
            "sandy" => "intel-core-i7-2600.txt",
            _ => "intel-core-i7-8700.txt",
        };
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/dumps")
            .join(file);
        let text = std::fs::read(path).unwrap();
        let file = DumpFile::parse(&text, Path::new(name)).unwrap();
        HostCpu::from_file(&file, &FeatureReg::ALL).unwrap()
    }

    fn mask(a: &str, b: &str) -> Mask {
        Mask::compute(&[host(a), host(b)], MaskOptions::default()).unwrap()
    }

    #[test]
    fn test_explain_lists_each_masked_bit_with_its_hosts() {
        let text = explain_text(&mask("sandy", "coffee"));
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with(" feature bit(s) masked across 2 hosts:"),
            "{text}"
        );
        assert!(lines[1].starts_with("REGISTER  BIT  XEN "), "{text}");
        let rdrand = lines.iter().find(|l| l.contains(" rdrand ")).unwrap();
        let words: Vec<&str> = rdrand.split_whitespace().collect();
        assert_eq!(
            words,
            [
                "1.ecx", "30", "rdrand", "rdrand", "rdrand", "feature", "coffee", "sandy"
            ]
        );
        assert_eq!(
            explain_text(&Mask::compute(&[host("sandy")], MaskOptions::default()).unwrap()),
            "Nothing to mask: the 1 host(s) agree on every covered feature bit.\n"
        );
    }

    #[test]
    fn test_mask_report_carries_every_rendering() {
        let m = mask("sandy", "coffee");
        let report = MaskReport::new(&m);
        assert_eq!(report.hosts, ["sandy", "coffee"]);
        assert_eq!(report.xl, xl::render(&m));
        assert_eq!(report.masked_bits.len(), m.masked_bits().len());
        let ecx = report
            .registers
            .iter()
            .find(|r| r.register == "1.ecx")
            .unwrap();
        assert_eq!((ecx.leaf, ecx.subleaf), (1, 0));
        assert_eq!(ecx.masked, ecx.any & !ecx.common);
    }

    #[test]
    fn test_fit_says_what_the_target_lacks() {
        let (sandy, coffee) = (host("sandy"), host("coffee"));
        let up = FitOutcome::check(&sandy, &coffee);
        assert!(up.fits);
        assert_eq!(
            up.text(),
            "yes: a guest started on sandy can run on coffee\n  note: coffee sets 7.0.ebx bit 13 \
             (no-fpu-sel) (a removed legacy behaviour); Xen tolerates this in migration\n"
        );
        let down = FitOutcome::check(&coffee, &sandy);
        assert!(!down.fits);
        let text = down.text();
        assert!(
            text.starts_with(
                "no: a guest started on coffee cannot safely run on sandy\n  sandy lacks "
            ),
            "{text}"
        );
        assert!(text.contains("1.ecx bit 30 (rdrand)"), "{text}");
        assert!(
            text.contains("`xenadm cpuid mask --extended coffee sandy`"),
            "{text}"
        );
        assert_eq!(down.missing.len(), down.report.missing.len());
    }

    #[test]
    fn test_features_table_and_letters() {
        let text = features_text();
        assert!(text.starts_with("REGISTER        BIT  XEN "), "{text}");
        assert!(text.ends_with("offered to guests).\n"));
        assert_eq!(text.lines().count(), named_features().len() + 3);
        assert!(text.contains("\n1.ecx           30   rdrand "), "{text}");
        let rdrand = features::by_xl_key("rdrand").unwrap();
        assert_eq!(attrs_letters(rdrand), "!A");
        assert_eq!(kind_label(FeatureKind::OsState), "os-state");
        assert_eq!(left_out_warning("libvirt", &[]), None);
        let warning = left_out_warning("libvirt", &[rdrand]).unwrap();
        assert!(warning.starts_with(
            "1 masked bit(s) have no libvirt name and are left out: 1.ecx bit 30 (rdrand); "
        ));
    }
}
