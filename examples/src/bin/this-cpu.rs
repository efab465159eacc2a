//! Reads this machine's CPUID without the `cpuid` package and says whether it could join a
//! pool described by a reference dump.
//!
//! `cargo run -p xenadm-examples --bin this-cpu -- [REFERENCE_DUMP]`

use std::path::PathBuf;
use std::process::ExitCode;

use cpuid_mask::{CpuSelection, DumpFile, FeatureReg, HostCpu, fits, read_local};

fn main() -> ExitCode {
    match run(std::env::args_os().nth(1).map(PathBuf::from)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("this-cpu: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(reference: Option<PathBuf>) -> Result<ExitCode, cpuid_mask::CpuidMaskError> {
    let dump = read_local(CpuSelection::Current)?;
    let file = DumpFile {
        path: PathBuf::from("this-host"),
        block_lines: vec![1],
        dump,
    };
    let me = HostCpu::from_file(&file, &FeatureReg::ALL)?;
    println!(
        "{} family 0x{:x} model 0x{:x}: {}",
        me.vendor.as_deref().unwrap_or("unknown vendor"),
        me.signature.family,
        me.signature.model,
        me.brand.as_deref().unwrap_or("no brand string")
    );
    let Some(reference) = reference else {
        return Ok(ExitCode::SUCCESS);
    };
    let other = HostCpu::read(&reference, &FeatureReg::ALL)?;
    let report = fits(&other, &me);
    if report.fits() {
        println!("guests started on {} can move here", other.name);
        Ok(ExitCode::SUCCESS)
    } else {
        let names: Vec<&str> = report.missing.iter().filter_map(|f| f.name()).collect();
        println!("this host lacks: {}", names.join(" "));
        Ok(ExitCode::FAILURE)
    }
}
