//! Embeds `xen-sys`: which Xen libraries this machine can load, from where, and for which Xen
//! release, without calling into them. [`xen_sys::LIBDIR_ENV`] names a folder to
//! search instead of the system's library path.
//!
//! `cargo run -p xenadm-examples --bin xen-libraries`

use std::process::ExitCode;

use xen_sys::{LoadOptions, XenLibrary, probe};

fn main() -> ExitCode {
    let options = LoadOptions::from_env();
    let mut missing = 0;
    for library in XenLibrary::ALL {
        match probe(library, &options) {
            Ok(origin) => {
                let release = origin
                    .xen_version
                    .map_or_else(|| "stable ABI".to_string(), |v| format!("Xen {v}"));
                let file = origin
                    .path
                    .map_or_else(String::new, |p| format!(" ({})", p.display()));
                println!(
                    "{:<14} {} [{release}]{file}",
                    library.stem(),
                    origin.candidate
                );
            }
            Err(err) => {
                missing += 1;
                println!("{:<14} not loadable: {err}", library.stem());
            }
        }
    }
    if missing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
