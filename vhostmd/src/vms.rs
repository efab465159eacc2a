//! Where the daemon learns which virtual machines run: the [`VmSource`] trait and its
//! implementations.
//!
//! * [`StaticVms`]: a fixed list (tests, or hosts whose VM list is managed elsewhere);
//! * [`VirshVms`]: libvirt, read-only, through `virsh -r` (no libvirt C library is linked;
//!   when virsh is not installed every update says so and host metrics are still written,
//!   as upstream does when libvirt is unreachable);
//! * `XenVms` (feature `xen`): the domains of the Xen host this runs on, through `xen-core`
//!   (libxenstat loaded at run time), with CPU time and memory for the per-VM collectors.
//!
//! The daemon takes any `Box<dyn VmSource>`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::action::{self, ActionLimits, Stderr};
use crate::error::VhostmdError;
use crate::host::{HostView, Snapshot};

/// One running virtual machine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Vm {
    /// Domain id (the VMID token).
    pub id: u32,
    /// Domain name (the NAME token).
    pub name: String,
    /// Domain UUID (the UUID token).
    pub uuid: String,
    /// Figures for the built-in per-VM collectors, when the source has them.
    pub stats: VmStats,
}

impl Vm {
    /// A VM without statistics.
    pub fn new(id: u32, name: impl Into<String>, uuid: impl Into<String>) -> Vm {
        Vm {
            id,
            name: name.into(),
            uuid: uuid.into(),
            stats: VmStats::default(),
        }
    }
}

/// Per-VM figures a source may know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct VmStats {
    /// CPU time used since the VM started.
    pub cpu_time_ns: Option<u64>,
    /// Memory currently assigned.
    pub memory_kib: Option<u64>,
    /// The most memory the VM may have (Xen's max_pages, libvirt's balloon maximum); `None`
    /// when unknown or unlimited.
    pub max_memory_kib: Option<u64>,
    /// Virtual CPUs online.
    pub vcpus: Option<u32>,
}

impl VmStats {
    /// Statistics with CPU time and memory (no limits).
    pub fn new(cpu_time_ns: Option<u64>, memory_kib: Option<u64>) -> VmStats {
        VmStats {
            cpu_time_ns,
            memory_kib,
            max_memory_kib: None,
            vcpus: None,
        }
    }

    /// These statistics with the VM's limits: its memory ceiling and online vCPUs.
    pub fn with_limits(mut self, max_memory_kib: Option<u64>, vcpus: Option<u32>) -> VmStats {
        self.max_memory_kib = max_memory_kib;
        self.vcpus = vcpus;
        self
    }
}

/// A list of running VMs, asked for once per update.
pub trait VmSource: Send + std::fmt::Debug {
    /// A short name for messages, e.g. `libvirt (virsh)`.
    fn name(&self) -> &'static str;
    /// The running VMs, in the order their metrics are written.
    fn list(&mut self) -> Result<Vec<Vm>, VhostmdError>;

    /// Opens what the source needs before the daemon drops privileges. The daemon calls it
    /// once, after daemonising (handles such as Xen's privcmd must not cross a `fork`) and
    /// before switching to the configured user. Sources that need nothing keep the default.
    fn open(&mut self) -> Result<(), VhostmdError> {
        Ok(())
    }

    /// The VMs and, for sources that speak to a hypervisor, the hypervisor's view of the host
    /// (its physical CPUs and memory rather than those of the OS the daemon runs in), from one
    /// sample. The default is [`VmSource::list`] with [`HostView::Local`]; a failure is carried
    /// in [`Snapshot::problem`] with an empty VM list.
    fn snapshot(&mut self) -> Snapshot {
        match self.list() {
            Ok(vms) => Snapshot::new(HostView::Local, vms),
            Err(e) => Snapshot::failed(HostView::Local, e),
        }
    }

    /// Checks, before the daemon forks, that the source can work at all (its program is
    /// installed, ...): a failure here ends the command with an error status, which one after
    /// daemonising cannot (the parent has already exited 0). Sources with nothing to check
    /// keep the default.
    fn check(&self) -> Result<(), VhostmdError> {
        Ok(())
    }
}

/// A fixed VM list.
#[derive(Debug, Clone, Default)]
pub struct StaticVms {
    vms: Vec<Vm>,
}

impl StaticVms {
    /// This list, always.
    pub fn new(vms: Vec<Vm>) -> StaticVms {
        StaticVms { vms }
    }

    /// Reads a list file: one VM per line, `ID NAME UUID` separated by tabs (or, when the line
    /// has no tab, by single spaces with the name in the middle); `#` starts a comment.
    pub fn read(path: &Path) -> Result<StaticVms, VhostmdError> {
        let text = std::fs::read_to_string(path).map_err(|source| VhostmdError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut vms = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let parsed = if line.contains('\t') {
                let f: Vec<&str> = line.split('\t').collect();
                (f.len() == 3).then(|| (f[0], f[1], f[2]))
            } else {
                line.split_once(' ')
                    .and_then(|(id, rest)| rest.rsplit_once(' ').map(|(n, u)| (id, n, u)))
            };
            let vm = parsed.and_then(|(id, name, uuid)| {
                id.trim()
                    .parse::<u32>()
                    .ok()
                    .map(|id| Vm::new(id, name, uuid.trim()))
            });
            match vm {
                Some(vm) => vms.push(vm),
                None => {
                    return Err(VhostmdError::VmSource {
                        source_name: "static list",
                        message: format!(
                            "{}:{}: expected `ID<TAB>NAME<TAB>UUID`",
                            path.display(),
                            i + 1
                        ),
                    });
                }
            }
        }
        Ok(StaticVms { vms })
    }
}

impl VmSource for StaticVms {
    fn name(&self) -> &'static str {
        "static list"
    }

    fn list(&mut self) -> Result<Vec<Vm>, VhostmdError> {
        Ok(self.vms.clone())
    }
}

/// libvirt through `virsh -r` (read-only): `list` for ids and names, `domuuid` once per
/// domain, `domstats --cpu-total --balloon --vcpu` for the built-in per-VM figures.
#[derive(Debug, Clone)]
pub struct VirshVms {
    program: PathBuf,
    uri: Option<String>,
    limits: ActionLimits,
    uuids: HashMap<(u32, String), String>,
}

impl VirshVms {
    /// `virsh` from `PATH`, connecting to `uri` (libvirt's default when `None`).
    pub fn new(uri: Option<String>) -> VirshVms {
        VirshVms::with_program(PathBuf::from("virsh"), uri)
    }

    /// A given virsh program (tests use a fake one).
    pub fn with_program(program: PathBuf, uri: Option<String>) -> VirshVms {
        VirshVms {
            program,
            uri,
            limits: ActionLimits {
                timeout: Duration::from_secs(10),
                value_cap_bytes: 1024 * 1024,
                drain_limit_bytes: 4 * 1024 * 1024,
            },
            uuids: HashMap::new(),
        }
    }

    fn error(message: impl Into<String>) -> VhostmdError {
        VhostmdError::VmSource {
            source_name: "libvirt (virsh)",
            message: message.into(),
        }
    }

    fn virsh(&self, args: &[&str]) -> Result<String, VhostmdError> {
        let mut cmd = Command::new(&self.program);
        cmd.arg("-r").arg("-q");
        if let Some(uri) = &self.uri {
            cmd.arg("-c").arg(uri);
        }
        cmd.args(args);
        let out = action::run(cmd, &self.limits, Stderr::Null)
            .map_err(|p| VirshVms::error(format!("virsh {}: {p}", args.join(" "))))?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn installed(&self) -> bool {
        if self.program.components().count() > 1 {
            return self.program.exists();
        }
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| dir.join(&self.program).is_file())
        })
    }
}

impl VmSource for VirshVms {
    fn name(&self) -> &'static str {
        "libvirt (virsh)"
    }

    fn check(&self) -> Result<(), VhostmdError> {
        if self.installed() {
            Ok(())
        } else {
            Err(VirshVms::error(format!(
                "{} is not installed (apt-get install libvirt-clients), or give --vm-source xen or none",
                self.program.display()
            )))
        }
    }

    fn list(&mut self) -> Result<Vec<Vm>, VhostmdError> {
        self.check()?;
        let table = self.virsh(&["list"])?;
        let mut vms = Vec::new();
        for line in table.lines() {
            let mut fields = line.split_whitespace();
            let (Some(id), Some(name)) = (fields.next(), fields.next()) else {
                continue;
            };
            let Ok(id) = id.parse::<u32>() else {
                continue;
            };
            let key = (id, name.to_string());
            let uuid = match self.uuids.get(&key) {
                Some(u) => u.clone(),
                None => {
                    let u = self
                        .virsh(&["domuuid", &id.to_string()])?
                        .trim()
                        .to_string();
                    self.uuids.insert(key, u.clone());
                    u
                }
            };
            vms.push(Vm::new(id, name, uuid));
        }
        self.uuids
            .retain(|(id, name), _| vms.iter().any(|v| v.id == *id && v.name == *name));
        if !vms.is_empty()
            && let Ok(stats) =
                self.virsh(&["domstats", "--cpu-total", "--balloon", "--vcpu", "--raw"])
        {
            apply_domstats(&stats, &mut vms);
        }
        Ok(vms)
    }
}

/// Fills VM statistics from `virsh domstats --raw` output.
fn apply_domstats(text: &str, vms: &mut [Vm]) {
    let mut current: Option<usize> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("Domain: ") {
            let name = name.trim_matches('\'');
            current = vms.iter().position(|v| v.name == name);
        } else if let (Some(i), Some((key, value))) = (current, line.split_once('=')) {
            let value = value.parse::<u64>().ok();
            match key {
                "cpu.time" => vms[i].stats.cpu_time_ns = value,
                "balloon.current" => vms[i].stats.memory_kib = value,
                "balloon.maximum" => vms[i].stats.max_memory_kib = value,
                "vcpu.current" => {
                    vms[i].stats.vcpus = value.and_then(|v| u32::try_from(v).ok());
                }
                _ => {}
            }
        }
    }
}

/// No VMs (host metrics only).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVms;

impl VmSource for NoVms {
    fn name(&self) -> &'static str {
        "none"
    }

    fn list(&mut self) -> Result<Vec<Vm>, VhostmdError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_domstats() {
        let mut vms = vec![Vm::new(1, "a", "u")];
        apply_domstats(
            "Domain: 'a'\n  cpu.time=2500000000\n  balloon.current=524288\n  \
             balloon.maximum=1048576\n  vcpu.current=2\n  vcpu.maximum=4\n",
            &mut vms,
        );
        assert_eq!(
            vms[0].stats,
            VmStats::new(Some(2_500_000_000), Some(524_288)).with_limits(Some(1_048_576), Some(2))
        );
    }

    #[test]
    fn test_static_list_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vms");
        std::fs::write(&p, "# id name uuid\n1\tx;touch /tmp/p\tu-1\n2 b c d u-2\n").unwrap();
        let vms = StaticVms::read(&p).unwrap().list().unwrap();
        assert_eq!(vms[0].name, "x;touch /tmp/p");
        assert_eq!(vms[1].name, "b c d");
        assert_eq!(vms[1].uuid, "u-2");
    }
}
