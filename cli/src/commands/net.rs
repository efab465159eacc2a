//! `xenadm net`: every vif with its domain, bridge, state and counters, read from sysfs.
//!
//! Counters are from the guest's point of view: RX is what the guest received, which dom0's
//! `vifD.N` counts as transmitted (xentop's NETTX). Domain names come from the Xen libraries
//! when they are available; without them the table still lists every vif by domid. The
//! rows and the table are [`xen_core::net`]'s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use xen_core::host::{DomId, DomainName, Host, XenBackend};
use xen_core::net::{SysfsNet, domain_names, rows, table};

use crate::error::CliError;
use crate::output::Output;

/// The live system's sysfs.
const SYSTEM_SYSFS: &str = "/sys";

/// Options of `xenadm net`.
#[derive(Debug, clap::Args)]
pub struct NetArgs {
    /// Read this sysfs tree instead of the live one (e.g. a copy from another host; domain
    /// names are then not looked up, as they belong to that host).
    #[arg(long, value_name = "DIR", default_value = SYSTEM_SYSFS)]
    pub sysfs_root: PathBuf,
}

/// Runs `xenadm net`.
pub fn run(args: &NetArgs, out: &Output) -> Result<u8, CliError> {
    let vifs = SysfsNet::at(&args.sysfs_root).vifs()?;
    let live = args.sysfs_root == Path::new(SYSTEM_SYSFS);
    if vifs.is_empty() {
        // No vifs on a machine that is not a dom0 means "no Xen here", not "no guests".
        let host = xen_role::detect();
        if live && host.role != xen_role::XenRole::Dom0 {
            return Err(CliError::NotDom0 {
                command: "net",
                role: host.role.to_string(),
                evidence: host.evidence,
            });
        }
        out.warn(format_args!(
            "no vif under {}: no running guest has a network interface",
            args.sysfs_root.join("class/net").display()
        ));
    }
    let names = if live && !vifs.is_empty() {
        live_domain_names(out)
    } else {
        HashMap::new()
    };
    let rows = rows(&vifs, &names);
    if out.json {
        out.print_json(&rows)?;
    } else {
        out.print(&table(&rows))?;
    }
    Ok(0)
}

/// Domain names by domid from the Xen libraries; empty (with a warning) without them.
fn live_domain_names(out: &Output) -> HashMap<DomId, DomainName> {
    match XenBackend::open().and_then(|backend| domain_names(&mut Host::with_backend(backend))) {
        Ok(names) => names,
        Err(err) => {
            out.warn(format_args!(
                "domain names unavailable ({err}); showing domids only"
            ));
            HashMap::new()
        }
    }
}
