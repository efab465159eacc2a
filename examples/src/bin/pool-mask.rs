//! Levels a pool of hosts from their `cpuid -1r` dumps and prints, for a migration planner,
//! the xl.cfg line to give guests plus which host holds back each feature.
//!
//! `cargo run -p xenadm-examples --bin pool-mask -- cpuid-mask/tests/data/dumps/intel-*.txt`

use std::path::PathBuf;
use std::process::ExitCode;

use cpuid_mask::{FeatureReg, HostCpu, Mask, MaskOptions, render};

fn main() -> ExitCode {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: pool-mask DUMP...");
        return ExitCode::from(2);
    }
    match run(&paths) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pool-mask: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(paths: &[PathBuf]) -> Result<(), cpuid_mask::CpuidMaskError> {
    let hosts = paths
        .iter()
        .map(|p| HostCpu::read(p, &FeatureReg::ALL))
        .collect::<Result<Vec<_>, _>>()?;
    let mask = Mask::compute(&hosts, MaskOptions { extended: true })?;
    for warning in &mask.warnings {
        eprintln!("warning: {warning}");
    }
    print!("{}", render::xl_names::render(&mask).text);
    for bit in mask.masked_bits() {
        println!(
            "# {:<20} held back by {}",
            bit.feature.name().unwrap_or("(unnamed)"),
            bit.absent_on.join(", ")
        );
    }
    Ok(())
}
