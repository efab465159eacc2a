//! `xenadm boot show`'s last part: configuration vs grub.cfg vs the running hypervisor (is
//! `boot mkconfig` or a reboot pending?), from [`grub_cfg::BootPending`].

use std::fmt::Write as _;
use std::path::Path;

use grub_cfg::{BootConfig, BootPending, OptionDiff};

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

fn changes(d: &OptionDiff) -> String {
    let mut parts = Vec::new();
    if !d.added.is_empty() {
        parts.push(format!("adds {}", d.added.join(" ")));
    }
    if !d.removed.is_empty() {
        parts.push(format!("removes {}", d.removed.join(" ")));
    }
    if parts.is_empty() {
        parts.push("changes the order of the options".to_string());
    }
    parts.join(", ")
}

fn line(options: &[String]) -> String {
    if options.is_empty() {
        "(none)".to_string()
    } else {
        options.join(" ")
    }
}

/// The text: next boot, running, and what is pending.
pub fn text(p: &BootPending) -> String {
    let mut out = String::from("\nNext boot and running Xen\n");
    match (&p.next_boot, &p.next_boot_unknown) {
        (Some(next), _) => {
            let _ = writeln!(out, "  grub.cfg     {}", next.grub_cfg.display());
            let _ = writeln!(out, "  entry        {}", next.title_path);
            let _ = writeln!(out, "  chosen by    {}", next.selected_by);
            if next.xen {
                let _ = writeln!(out, "  next boot    {}", line(&next.xen_options));
            } else {
                out.push_str("  next boot    does not start Xen\n");
            }
        }
        (None, why) => {
            let _ = writeln!(
                out,
                "  next boot    unknown: {}",
                why.as_deref().unwrap_or("-")
            );
        }
    }
    match (&p.running, &p.running_unknown) {
        (Some(running), _) => {
            let _ = writeln!(out, "  running      {}", line(running));
        }
        (None, why) => {
            let _ = writeln!(
                out,
                "  running      unknown: {}",
                why.as_deref().unwrap_or("-")
            );
        }
    }
    let mkconfig = match &p.mkconfig {
        Some(d) if d.differs => format!(
            "pending: grub.cfg differs from the configuration (regenerating it {}): run `xenadm boot mkconfig`",
            changes(d)
        ),
        Some(_) => "no: grub.cfg matches the configuration".to_string(),
        None => "unknown (see above)".to_string(),
    };
    let _ = writeln!(out, "  mkconfig     {mkconfig}");
    let reboot = match &p.reboot {
        Some(d) if d.differs => format!("pending: the next boot {}", changes(d)),
        Some(_) => "no: the next boot gives Xen the options it runs with".to_string(),
        None => "unknown (see above)".to_string(),
    };
    let _ = writeln!(out, "  reboot       {reboot}");
    out
}
