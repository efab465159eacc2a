//! `xenadm cpuid ...`: dumps, masks, explanations and fit checks.

use std::path::{Path, PathBuf};

use cpuid_mask::{
    CpuSelection, Feature, FeatureKind, HostCpu, Mask, MaskOptions, MaskedBit, features, fits,
    read_local, render,
};
use serde::Serialize;

use crate::args::{CpuidCommand, MaskFormat};
use crate::error::{CliError, EXIT_FAILURE};
use crate::output::{Output, columns};

/// Runs one `xenadm cpuid` subcommand.
pub fn run(command: &CpuidCommand, out: &Output) -> Result<u8, CliError> {
    match command {
        CpuidCommand::Dump { one } => dump(*one, out),
        CpuidCommand::Mask {
            files,
            format,
            extended,
        } => mask(files, *format, *extended, out),
        CpuidCommand::Explain { files, extended } => explain(files, *extended, out),
        CpuidCommand::Fits { guest_host, target } => fit(guest_host, target, out),
        CpuidCommand::Features => list_features(out),
    }
}

fn dump(one: bool, out: &Output) -> Result<u8, CliError> {
    let selection = if one {
        CpuSelection::Current
    } else {
        CpuSelection::All
    };
    let dump = read_local(selection)?;
    if out.json {
        out.print_json(&dump)?;
    } else {
        out.print(&dump.to_string())?;
    }
    Ok(0)
}

/// Reads every file (stopping at the first bad one, naming it) and levels them.
fn compute(files: &[PathBuf], extended: bool, out: &Output) -> Result<Mask, CliError> {
    let options = MaskOptions { extended };
    let hosts = files
        .iter()
        .map(|path| HostCpu::read(path, options.registers()))
        .collect::<Result<Vec<_>, _>>()?;
    let mask = Mask::compute(&hosts, options)?;
    for warning in &mask.warnings {
        out.warn(warning);
    }
    Ok(mask)
}

/// One masked bit in JSON.
#[derive(Debug, Serialize)]
struct MaskedBitJson<'a> {
    register: String,
    bit: u8,
    xen_name: Option<&'static str>,
    xl_key: Option<&'static str>,
    libvirt_name: Option<&'static str>,
    kind: FeatureKind,
    present_on: Vec<&'a str>,
    absent_on: Vec<&'a str>,
}

impl<'a> From<MaskedBit<'a>> for MaskedBitJson<'a> {
    fn from(bit: MaskedBit<'a>) -> Self {
        let f = bit.feature;
        MaskedBitJson {
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

#[derive(Debug, Serialize)]
struct RegisterJson {
    register: &'static str,
    leaf: u32,
    subleaf: u32,
    /// xl.cfg bit string, bit 31 first.
    mask: String,
    common: u32,
    any: u32,
    masked: u32,
}

#[derive(Debug, Serialize)]
struct MaskJson<'a> {
    hosts: &'a [String],
    extended: bool,
    registers: Vec<RegisterJson>,
    masked_bits: Vec<MaskedBitJson<'a>>,
    warnings: Vec<String>,
    xl: String,
    xl_names: String,
    libvirt: String,
}

fn mask(
    files: &[PathBuf],
    format: MaskFormat,
    extended: bool,
    out: &Output,
) -> Result<u8, CliError> {
    let mask = compute(files, extended, out)?;
    if out.json {
        let json = MaskJson {
            hosts: &mask.hosts,
            extended: mask.extended,
            registers: mask
                .registers
                .iter()
                .map(|r| RegisterJson {
                    register: r.reg.label(),
                    leaf: r.reg.leaf().0,
                    subleaf: r.reg.subleaf().0,
                    mask: r.xl_bits(),
                    common: r.common,
                    any: r.any,
                    masked: r.masked,
                })
                .collect(),
            masked_bits: mask.masked_bits().into_iter().map(Into::into).collect(),
            warnings: mask.warnings.iter().map(ToString::to_string).collect(),
            xl: render::xl::render(&mask),
            xl_names: render::xl_names::render(&mask).text,
            libvirt: render::libvirt::render(&mask).xml,
        };
        out.print_json(&json)?;
        return Ok(0);
    }
    match format {
        MaskFormat::Xl => out.print(&render::xl::render(&mask))?,
        MaskFormat::XlNames => {
            let named = render::xl_names::render(&mask);
            warn_left_out(out, "xl.cfg", &named.unnamed);
            out.print(&named.text)?;
        }
        MaskFormat::Libvirt => {
            let xml = render::libvirt::render(&mask);
            warn_left_out(out, "libvirt", &xml.unnamed);
            if !xml.rejected_by_libxl.is_empty() {
                out.warn(format_args!(
                    "libvirt's libxl driver hands these names to libxl unchanged and libxl does not know them, so such a domain will not start under libvirt+libxl: {}; use xl with --format xl-names there",
                    xml.rejected_by_libxl
                        .iter()
                        .filter_map(|f| f.libvirt_name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            out.print(&xml.xml)?;
        }
    }
    Ok(0)
}

/// Masked bits a named format cannot express are reported, never dropped silently.
fn warn_left_out(out: &Output, format: &str, unnamed: &[&Feature]) {
    if !unnamed.is_empty() {
        out.warn(format_args!(
            "{} masked bit(s) have no {format} name and are left out: {}; use --format xl for a complete mask",
            unnamed.len(),
            bit_list(unnamed)
        ));
    }
}

/// `1.ecx bit 11 (sdbg), ...`
fn bit_list(features: &[&Feature]) -> String {
    features
        .iter()
        .map(|f| match f.name() {
            Some(name) => format!("{} bit {} ({name})", f.reg, f.bit),
            None => format!("{} bit {}", f.reg, f.bit),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn explain(files: &[PathBuf], extended: bool, out: &Output) -> Result<u8, CliError> {
    let mask = compute(files, extended, out)?;
    let bits = mask.masked_bits();
    if out.json {
        let json: Vec<MaskedBitJson<'_>> = bits.into_iter().map(Into::into).collect();
        out.print_json(&json)?;
        return Ok(0);
    }
    if bits.is_empty() {
        out.print(&format!(
            "Nothing to mask: the {} host(s) agree on every covered feature bit.\n",
            mask.hosts.len()
        ))?;
        return Ok(0);
    }
    let mut rows = vec![
        [
            "REGISTER", "BIT", "XEN", "XL.CFG", "LIBVIRT", "KIND", "HAVE IT", "LACK IT",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let dash = |name: Option<&str>| name.unwrap_or("-").to_string();
    for bit in &bits {
        let f = bit.feature;
        rows.push(vec![
            f.reg.label().to_string(),
            f.bit.to_string(),
            dash(f.xen_name),
            dash(f.xl_key),
            dash(f.libvirt_name),
            kind_label(f.kind).to_string(),
            bit.present_on.join(","),
            bit.absent_on.join(","),
        ]);
    }
    out.print(&format!(
        "{} feature bit(s) masked across {} hosts:\n{}",
        bits.len(),
        mask.hosts.len(),
        columns(&rows)
    ))?;
    Ok(0)
}

fn kind_label(kind: FeatureKind) -> &'static str {
    match kind {
        FeatureKind::Feature => "feature",
        FeatureKind::OsState => "os-state",
        FeatureKind::Negative => "negative",
        FeatureKind::Accumulate => "accumulate",
        FeatureKind::Hypervisor => "hypervisor",
        _ => "reserved",
    }
}

#[derive(Debug, Serialize)]
struct FitJson<'a> {
    guest_host: &'a str,
    target: &'a str,
    fits: bool,
    vendor_mismatch: Option<(String, String)>,
    missing: Vec<FeatureJson>,
    behaviour_changes: Vec<FeatureJson>,
}

#[derive(Debug, Serialize)]
struct FeatureJson {
    register: &'static str,
    bit: u8,
    xen_name: Option<&'static str>,
    xl_key: Option<&'static str>,
    libvirt_name: Option<&'static str>,
    kind: FeatureKind,
    attrs: String,
}

impl From<&Feature> for FeatureJson {
    fn from(f: &Feature) -> Self {
        FeatureJson {
            register: f.reg.label(),
            bit: f.bit,
            xen_name: f.xen_name,
            xl_key: f.xl_key,
            libvirt_name: f.libvirt_name,
            kind: f.kind,
            attrs: attrs_text(f),
        }
    }
}

fn attrs_text(f: &Feature) -> String {
    use cpuid_mask::FeatureAttrs as A;
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

fn fit(guest_host: &Path, target: &Path, out: &Output) -> Result<u8, CliError> {
    let all = &cpuid_mask::FeatureReg::ALL;
    let from = HostCpu::read(guest_host, all)?;
    let to = HostCpu::read(target, all)?;
    let report = fits(&from, &to);
    let code = if report.fits() { 0 } else { EXIT_FAILURE };
    if out.json {
        out.print_json(&FitJson {
            guest_host: &from.name,
            target: &to.name,
            fits: report.fits(),
            vendor_mismatch: report.vendor_mismatch.clone(),
            missing: report
                .missing
                .iter()
                .map(|f| FeatureJson::from(*f))
                .collect(),
            behaviour_changes: report
                .behaviour_changes
                .iter()
                .map(|f| FeatureJson::from(*f))
                .collect(),
        })?;
        return Ok(code);
    }
    let mut text = String::new();
    if report.fits() {
        text.push_str(&format!(
            "yes: a guest started on {} can run on {}\n",
            from.name, to.name
        ));
    } else {
        text.push_str(&format!(
            "no: a guest started on {} cannot safely run on {}\n",
            from.name, to.name
        ));
        if let Some((a, b)) = &report.vendor_mismatch {
            text.push_str(&format!(
                "  vendors differ ({a} vs {b}): Xen does not support cross-vendor migration\n"
            ));
        }
        if !report.missing.is_empty() {
            text.push_str(&format!(
                "  {} lacks {} feature bit(s): {}\n",
                to.name,
                report.missing.len(),
                bit_list(&report.missing)
            ));
            text.push_str(&format!(
                "  start the guest with the mask of `xenadm cpuid mask --extended {} {}`\n",
                from.name, to.name
            ));
        }
    }
    if !report.behaviour_changes.is_empty() {
        text.push_str(&format!(
            "  note: {} sets {} (a removed legacy behaviour); Xen tolerates this in migration\n",
            to.name,
            bit_list(&report.behaviour_changes)
        ));
    }
    out.print(&text)?;
    Ok(code)
}

fn list_features(out: &Output) -> Result<u8, CliError> {
    let named: Vec<&Feature> = features::all()
        .iter()
        .filter(|f| f.kind != FeatureKind::Reserved)
        .collect();
    if out.json {
        let json: Vec<FeatureJson> = named.iter().map(|f| FeatureJson::from(*f)).collect();
        out.print_json(&json)?;
        return Ok(0);
    }
    let mut rows = vec![
        [
            "REGISTER", "BIT", "XEN", "XL.CFG", "LIBVIRT", "KIND", "ATTRS",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let dash = |name: Option<&str>| name.unwrap_or("-").to_string();
    for f in named {
        let attrs = attrs_text(f);
        rows.push(vec![
            f.reg.label().to_string(),
            f.bit.to_string(),
            dash(f.xen_name),
            dash(f.xl_key),
            dash(f.libvirt_name),
            kind_label(f.kind).to_string(),
            if attrs.is_empty() {
                "-".to_string()
            } else {
                attrs
            },
        ]);
    }
    let mut text = columns(&rows);
    text.push_str(ATTRS_LEGEND);
    out.print(&text)?;
    Ok(0)
}

/// What the ATTRS letters mean (Xen's cpufeatureset.h, whose attributes they are).
const ATTRS_LEGEND: &str = "\nATTRS (Xen 4.17's cpufeatureset.h): which guests Xen may offer the feature to: \
A all guests, S HVM guests, H HVM guests with HAP (upper case: offered by default; lower \
case: only when the guest's config asks for it); ! special handling by Xen; - none (not \
offered to guests).\n";
