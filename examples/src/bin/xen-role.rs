//! Embeds `xen-role`: is this machine a Xen dom0, a Xen guest or not on Xen at all, and which
//! file said so. Runs anywhere (no Xen library needed); give a folder to read a saved tree of
//! `/proc/xen` and `/sys/hypervisor` instead of this machine's.
//!
//! `cargo run -p xenadm-examples --bin xen-role -- [ROOT]`

use std::path::PathBuf;

fn main() {
    let root = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("/"), PathBuf::from);
    let host = xen_role::detect_at(&root);
    println!("role:       {} ({})", host.role, host.evidence);
    if let Some(hypervisor) = &host.hypervisor {
        println!("hypervisor: {hypervisor}");
    }
    if let Some(version) = &host.version {
        println!("version:    {version}");
    }
}
