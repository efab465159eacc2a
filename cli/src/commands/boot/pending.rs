//! `xenadm boot show`'s last part: configuration vs grub.cfg vs the running hypervisor (is
//! `boot mkconfig` or a reboot pending?), from [`grub_cfg::BootPending`]; worded by
//! [`grub_cfg::render::pending_text`].

use std::path::Path;

use grub_cfg::{BootConfig, BootPending};

/// Compares the configuration at `root` with the running hypervisor (read through xen-core
/// only when `root` is this running system).
pub fn compare(config: &BootConfig, root: &Path) -> BootPending {
    let this_system = root.canonicalize().is_ok_and(|r| r == Path::new("/"));
    let running = if this_system {
        xen_core::host::running_commandline().map_err(|e| xen_core::ErrorChain(&e).to_string())
    } else {
        Err(format!(
            "--root {}: not the running system, so not its hypervisor",
            root.display()
        ))
    };
    BootPending::compare(config, root, running.as_deref().map_err(Clone::clone))
}
