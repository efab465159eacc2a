//! Facts of this host through the Xen libraries: the guest (libxl's configuration, its CPU
//! policy), how this host levels CPUID, and, for `xenadm migrate-probe`, this host as a
//! target. Every fact that cannot be read becomes a note or an error text in the facts, so one
//! missing library does not hide the rest.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use xen_sys::{LoadOptions, XenCtrl, XenGuest, XenLight, XenToolLog};

use super::facts::{
    CpuPolicy, GuestDisk, GuestFacts, GuestNic, LevellingFacts, ProbeKind, SourceFacts, TargetDisk,
    TargetDomain, TargetFacts,
};
use crate::XenError;
use crate::ffi::{CpuPolicies, LibxlCtx, SystemPolicy, XcInterface, XtlLogger, dom0};
use crate::host::DomId;

/// This host's Xen, opened for the preflight and the probe.
#[derive(Debug)]
pub struct LocalXen {
    libxl: LibxlCtx,
    xc: XcInterface,
    policies: Result<CpuPolicies, String>,
}

impl LocalXen {
    /// Loads the libraries (as the environment asks) and opens libxl and libxenctrl.
    /// libxenguest is optional: without it the CPU facts say why they are missing.
    pub fn open() -> Result<LocalXen, XenError> {
        let options = LoadOptions::from_env();
        let _toollog = XenToolLog::load_with(&options)?;
        let ctrl = Arc::new(XenCtrl::load_with(&options)?);
        let light = Arc::new(XenLight::load_with(&options)?);
        dom0::check()?;
        let xc = XcInterface::open(ctrl.clone(), XtlLogger::tracing())?;
        let libxl = LibxlCtx::open(light, XtlLogger::tracing())?;
        let policies = XenGuest::load_with(&options)
            .map_err(|e| e.to_string())
            .and_then(|guest| {
                XcInterface::open(ctrl, XtlLogger::tracing())
                    .map(|xc| CpuPolicies::new(Arc::new(guest), xc))
                    .map_err(|e| e.to_string())
            });
        Ok(LocalXen {
            libxl,
            xc,
            policies,
        })
    }

    fn xen_version(&self) -> Option<String> {
        self.xc
            .version_info()
            .ok()
            .map(|v| format!("{}.{}{}", v.major, v.minor, v.extra))
    }

    /// This host as the source: its Xen version and how it levels PV guests' CPUID.
    pub fn source_facts(&self) -> SourceFacts {
        let levelling = match &self.policies {
            Ok(p) => LevellingFacts {
                caps: p.levelling_caps().ok(),
                dom0_userspace: userspace_view(),
                dom0_policy: p.domain(0).ok(),
            },
            Err(_) => LevellingFacts {
                caps: None,
                dom0_userspace: userspace_view(),
                dom0_policy: None,
            },
        };
        SourceFacts {
            hostname: hostname(),
            xen_version: self.xen_version(),
            levelling,
        }
    }

    /// The guest named (or numbered) `query`.
    ///
    /// # Errors
    /// [`XenError::NoSuchDomain`]; libxl's error when its configuration cannot be read.
    pub fn guest_facts(&self, query: &str) -> Result<GuestFacts, XenError> {
        let domid = match query.parse::<u32>() {
            Ok(id) if self.libxl.domid_to_name(DomId(id)).is_some() => DomId(id),
            _ => self
                .libxl
                .name_to_domid(query)?
                .ok_or_else(|| XenError::NoSuchDomain {
                    query: query.to_owned(),
                })?,
        };
        let config = self.libxl.domain_config(domid)?;
        let mut facts = guest_from_config_json(&config.json)
            .map_err(|what| XenError::GuestConfig { domid, what })?;
        facts.domid = domid.0;
        facts.need_memory_kib = Some(config.need_memory_kib);
        for disk in &mut facts.disks {
            if disk.script.is_some() || disk.path.is_empty() {
                continue;
            }
            match path_size(Path::new(&disk.path)) {
                Ok(size) => disk.size_bytes = Some(size),
                Err(e) => disk.size_error = Some(e),
            }
        }
        match &self.policies {
            Ok(p) => match p.domain(domid.0) {
                Ok(policy) => facts.cpu_policy = Some(policy),
                Err(e) => facts.cpu_policy_error = Some(e.to_string()),
            },
            Err(e) => facts.cpu_policy_error = Some(e.clone()),
        }
        Ok(facts)
    }

    /// This host as a migration target (`xenadm migrate-probe`): free memory, CPU policies,
    /// levelling, the given disk paths, bridges and domains.
    pub fn target_facts(&self, disk_paths: &[String]) -> TargetFacts {
        let mut facts = TargetFacts::new(ProbeKind::Xenadm, hostname());
        facts.xen_version = self.xen_version();
        match self.libxl.free_memory_kib() {
            Ok(kib) => facts.free_memory_kib = Some(kib),
            Err(e) => facts.notes.push(format!("free memory: {e}")),
        }
        match &self.policies {
            Ok(p) => {
                for (which, slot) in [
                    (SystemPolicy::PvMax, &mut facts.pv_max),
                    (SystemPolicy::Host, &mut facts.host_policy),
                ] {
                    match p.system(which) {
                        Ok(policy) => *slot = Some(policy),
                        Err(e) => facts.notes.push(format!("{which:?} policy: {e}")),
                    }
                }
                facts.levelling_caps = p.levelling_caps().ok();
            }
            Err(e) => facts.notes.push(format!("CPU policies: {e}")),
        }
        facts.disks = disk_paths
            .iter()
            .map(|path| match path_size(Path::new(path)) {
                Ok(size) => TargetDisk {
                    path: path.clone(),
                    size_bytes: Some(size),
                    error: None,
                },
                Err(e) => TargetDisk {
                    path: path.clone(),
                    size_bytes: None,
                    error: Some(e),
                },
            })
            .collect();
        match local_bridges(Path::new("/sys/class/net")) {
            Ok(list) => facts.bridges = Some(list),
            Err(e) => facts.notes.push(format!("bridges: {e}")),
        }
        match self.libxl.list_domains() {
            Ok(list) => {
                facts.domains = Some(
                    list.iter()
                        .filter_map(|d| {
                            let name = self.libxl.domid_to_name(d.domid)?;
                            Some(TargetDomain {
                                name: String::from_utf8_lossy(&name).into_owned(),
                                uuid: Some(format_uuid(&d.uuid)),
                            })
                        })
                        .collect(),
                );
            }
            Err(e) => facts.notes.push(format!("domains: {e}")),
        }
        facts
    }
}

/// What this process reads with the CPUID instruction (x86 only).
fn userspace_view() -> Option<CpuPolicy> {
    #[cfg(target_arch = "x86_64")]
    {
        Some(CpuPolicy::from_dump(&cpuid_mask::read_instruction()))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// This host's name (`/proc/sys/kernel/hostname`).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// The size of a file or block device in bytes (seeking to its end needs no ioctl). `missing`
/// when it does not exist, else the error's text.
pub fn path_size(path: &Path) -> Result<u64, String> {
    let mut file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => "missing".to_owned(),
        _ => e.to_string(),
    })?;
    file.seek(SeekFrom::End(0)).map_err(|e| e.to_string())
}

/// The bridges under a `/sys/class/net`-like folder: the interfaces with a `bridge` folder.
pub fn local_bridges(sys_class_net: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(sys_class_net)
        .map_err(|e| format!("{}: {e}", sys_class_net.display()))?;
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join("bridge").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    Ok(out)
}

fn format_uuid(u: &[u8; 16]) -> String {
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The preflight's view of a libxl configuration (`libxl_domain_config_to_json`, as in
/// `xl list -l`'s `config`): name, type, disks, vifs, PCI devices.
///
/// # Errors
/// Text naming what is malformed.
pub fn guest_from_config_json(json: &str) -> Result<GuestFacts, String> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| format!("not JSON (line {}, column {}): {e}", e.line(), e.column()))?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let truthy = |v: &Value, key: &str| match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_u64().is_some_and(|n| n != 0),
        _ => false,
    };
    let c_info = value.get("c_info").ok_or("no c_info")?;
    let name = text(c_info, "name").ok_or("no c_info.name")?;
    let list = |key: &str| -> Vec<Value> {
        value
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let disks = list("disks")
        .iter()
        .map(|d| GuestDisk {
            vdev: text(d, "vdev").unwrap_or_default(),
            path: text(d, "pdev_path").unwrap_or_default(),
            format: text(d, "format").unwrap_or_else(|| "raw".to_owned()),
            script: text(d, "script"),
            cdrom: truthy(d, "is_cdrom"),
            size_bytes: None,
            size_error: None,
        })
        .collect();
    let nics = list("nics")
        .iter()
        .map(|n| GuestNic {
            devid: n
                .get("devid")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            bridge: text(n, "bridge"),
        })
        .collect();
    let pci_devices = list("pcidevs")
        .iter()
        .map(|p| {
            let field = |k: &str| p.get(k).and_then(Value::as_u64).unwrap_or(0);
            format!(
                "{:04x}:{:02x}:{:02x}.{:x}",
                field("domain"),
                field("bus"),
                field("dev"),
                field("func")
            )
        })
        .collect();
    Ok(GuestFacts {
        name,
        domid: 0,
        uuid: text(c_info, "uuid").unwrap_or_default(),
        domain_type: text(c_info, "type").unwrap_or_else(|| "pv".to_owned()),
        need_memory_kib: None,
        disks,
        nics,
        pci_devices,
        cpu_policy: None,
        cpu_policy_error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_files_and_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("d.img");
        std::fs::write(&file, vec![1u8; 12345]).unwrap();
        assert_eq!(path_size(&file), Ok(12345));
        assert_eq!(path_size(&dir.path().join("no")), Err("missing".to_owned()));
    }

    #[test]
    fn bridges_are_interfaces_with_a_bridge_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("xenbr0/bridge")).unwrap();
        std::fs::create_dir_all(dir.path().join("eth0")).unwrap();
        std::fs::create_dir_all(dir.path().join("br1/bridge")).unwrap();
        assert_eq!(local_bridges(dir.path()).unwrap(), ["br1", "xenbr0"]);
        assert!(local_bridges(&dir.path().join("none")).is_err());
    }

    #[test]
    fn uuids_print_as_xl_does() {
        let mut u = [0u8; 16];
        u[0] = 0x20;
        u[15] = 0x27;
        assert_eq!(format_uuid(&u), "20000000-0000-0000-0000-000000000027");
    }

    #[test]
    fn config_without_a_name_is_refused() {
        assert!(guest_from_config_json("{}").is_err());
        assert!(guest_from_config_json("{\"c_info\": {}}").is_err());
        assert!(guest_from_config_json("[").unwrap_err().contains("line 1"));
    }
}
