//! `xenadm status`: one screen about this host.
//!
//! The facts and their lines are the libraries' ([`cpuid_mask::CpuStatus`],
//! [`xen_core::host::XenStatus`], and the image and boot sections'); this command gathers
//! the sections and prints them.

use std::path::Path;

use cpuid_mask::{CpuSelection, CpuStatus, HostCpu, local_source, read_local};
use xen_core::XenError;
use xen_core::host::{Host, HostBackend, XenBackend, XenStatus};

use crate::error::{Chain, CliError};
use crate::output::{Output, columns};

/// One titled block of `xenadm status`: text rows and the same facts as JSON. Each subsystem
/// (CPU, Xen, images, boot, ...) contributes one; a section that cannot gather its facts says
/// so in its rows instead of failing the whole command.
#[derive(Debug)]
pub struct Section {
    /// Key in the JSON object (`cpu`, `xen`, ...).
    pub key: &'static str,
    /// Heading in the text output.
    pub title: &'static str,
    /// Label and value per line.
    pub rows: Vec<(String, String)>,
    /// The section's facts for `--json`.
    pub json: serde_json::Value,
}

/// Runs `xenadm status`.
pub fn run(out: &Output) -> Result<u8, CliError> {
    let sections = vec![
        cpu_section()?,
        xen_section(Path::new("/")),
        super::image::status_section(),
        super::boot::status_section(),
    ];
    if out.json {
        let object: serde_json::Map<String, serde_json::Value> = sections
            .into_iter()
            .map(|s| (s.key.to_string(), s.json))
            .collect();
        out.print_json(&object)?;
    } else {
        out.print(&render(&sections))?;
    }
    Ok(0)
}

fn render(sections: &[Section]) -> String {
    let mut rows = Vec::new();
    for section in sections {
        rows.push(vec![section.title.to_string()]);
        for (label, value) in &section.rows {
            rows.push(vec![String::new(), label.clone(), value.clone()]);
        }
    }
    columns(&rows)
}

fn cpu_section() -> Result<Section, CliError> {
    let dump = read_local(CpuSelection::Current)?;
    let cpu = CpuStatus::new(&HostCpu::identity(&dump), local_source(0));
    Ok(Section {
        key: "cpu",
        title: "CPU",
        rows: cpu.rows(),
        json: serde_json::to_value(&cpu)?,
    })
}

/// The Xen section: the role and hypervisor this host sees in sysfs and procfs and, on a dom0
/// whose Xen libraries open, its domains by state. Never fails: what cannot be learnt is said
/// in the rows.
fn xen_section(root: &Path) -> Section {
    xen_section_with(root, || XenBackend::open().map(Host::with_backend))
}

fn xen_section_with<B: HostBackend>(
    root: &Path,
    open_host: impl FnOnce() -> Result<Host<B>, XenError>,
) -> Section {
    let mut xen = XenStatus::detect_at(root);
    if let Err(err) = xen.read_host(open_host) {
        let hint = crate::commands::host::hint(&err)
            .map(|h| format!(" (hint: {h})"))
            .unwrap_or_default();
        xen.host_error = Some(format!("{}{hint}", Chain(&err)));
    }
    Section {
        key: "xen",
        title: "Xen",
        rows: xen.rows(),
        json: serde_json::to_value(&xen).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::tree::xen_dom0;
    use xen_core::host::RecordedBackend;

    /// The status itself is xen-core's (tested there); the command adds the hint to a
    /// dom0's library error.
    #[test]
    fn test_xen_section_dom0_without_libraries_says_why_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        xen_dom0(dir.path(), None);
        let section =
            xen_section_with(dir.path(), || -> Result<Host<RecordedBackend>, XenError> {
                Err(XenError::Call {
                    call: "xenstat_init",
                    source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
                })
            });
        assert_eq!(
            section.rows[1],
            ("hypervisor".to_string(), "xen version unknown".to_string())
        );
        assert_eq!(section.rows[2].0, "domains");
        assert!(
            section.rows[2].1.starts_with(
                "unavailable: xenstat_init failed: permission denied (hint: run xenadm as root"
            ),
            "{}",
            section.rows[2].1
        );
        assert_eq!(section.json["role"], "dom0");
        assert!(section.json["host"].is_null());
        assert!(section.json["host_error"].is_string());
    }
}
