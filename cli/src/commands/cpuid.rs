//! `xenadm cpuid ...`: dumps, masks, explanations and fit checks.
//!
//! The masks, fits and their reports (text and JSON) are cpuid-mask's
//! ([`cpuid_mask::render::report`]); this command reads the files and prints.

use std::path::{Path, PathBuf};

use cpuid_mask::render::report::{
    self, FeatureReport, FitOutcome, MaskReport, features_text, left_out_warning,
    libxl_rejects_warning,
};
use cpuid_mask::{CpuSelection, HostCpu, Mask, MaskOptions, read_local, render};

use crate::args::{CpuidCommand, MaskFormat};
use crate::error::{CliError, EXIT_FAILURE};
use crate::output::Output;

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

fn mask(
    files: &[PathBuf],
    format: MaskFormat,
    extended: bool,
    out: &Output,
) -> Result<u8, CliError> {
    let mask = compute(files, extended, out)?;
    if out.json {
        out.print_json(&MaskReport::new(&mask))?;
        return Ok(0);
    }
    match format {
        MaskFormat::Xl => out.print(&render::xl::render(&mask))?,
        MaskFormat::XlNames => {
            let named = render::xl_names::render(&mask);
            warn_all(out, [left_out_warning("xl.cfg", &named.unnamed)]);
            out.print(&named.text)?;
        }
        MaskFormat::Libvirt => {
            let xml = render::libvirt::render(&mask);
            warn_all(
                out,
                [
                    left_out_warning("libvirt", &xml.unnamed),
                    libxl_rejects_warning(&xml),
                ],
            );
            out.print(&xml.xml)?;
        }
    }
    Ok(0)
}

fn warn_all<const N: usize>(out: &Output, warnings: [Option<String>; N]) {
    warnings.into_iter().flatten().for_each(|w| out.warn(w));
}

fn explain(files: &[PathBuf], extended: bool, out: &Output) -> Result<u8, CliError> {
    let mask = compute(files, extended, out)?;
    if out.json {
        out.print_json(&report::masked_bits(&mask))?;
    } else {
        out.print(&report::explain_text(&mask))?;
    }
    Ok(0)
}

fn fit(guest_host: &Path, target: &Path, out: &Output) -> Result<u8, CliError> {
    let all = &cpuid_mask::FeatureReg::ALL;
    let from = HostCpu::read(guest_host, all)?;
    let to = HostCpu::read(target, all)?;
    let outcome = FitOutcome::check(&from, &to);
    if out.json {
        out.print_json(&outcome)?;
    } else {
        out.print(&outcome.text())?;
    }
    Ok(if outcome.fits { 0 } else { EXIT_FAILURE })
}

fn list_features(out: &Output) -> Result<u8, CliError> {
    if out.json {
        let json: Vec<FeatureReport> = report::named_features()
            .into_iter()
            .map(FeatureReport::from)
            .collect();
        out.print_json(&json)?;
    } else {
        out.print(&features_text())?;
    }
    Ok(0)
}
