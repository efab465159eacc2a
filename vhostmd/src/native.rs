//! Built-in collectors: the standard host metrics (upstream's default set) and per-VM
//! metrics, read from `/proc` and `/sys` without starting any process.
//!
//! A metric uses one when its action is `@builtin` (see [`crate::BUILTIN_ACTION`]). Values
//! carry no trailing newline.

use std::path::PathBuf;
use std::time::Instant;

use crate::config::Context;
use crate::vms::Vm;

/// A built-in collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collector(Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    HostName,
    VirtualizationVendor,
    VirtualizationProductInfo,
    TotalPhyCpus,
    NumCpus,
    TotalPhyMemMib,
    UsedMemMib,
    FreeMemMib,
    PagedIn,
    PagedOut,
    PageInRate,
    PageFaultRate,
    TotalCpuTime,
    Meminfo(&'static str),
    Load(usize),
    Kernel,
    Uptime,
    StatField(&'static str),
    PgFault,
    VmCpuTime,
    VmMemory,
}

/// Host collectors by metric name: upstream's default set first, then the figures the
/// timing configurations read.
const HOST: &[(&str, Kind)] = &[
    ("HostName", Kind::HostName),
    ("VirtualizationVendor", Kind::VirtualizationVendor),
    ("VirtualizationProductInfo", Kind::VirtualizationProductInfo),
    ("TotalPhyCPUs", Kind::TotalPhyCpus),
    ("NumCPUs", Kind::NumCpus),
    ("TotalPhyMem", Kind::TotalPhyMemMib),
    ("UsedMem", Kind::UsedMemMib),
    ("FreeMem", Kind::FreeMemMib),
    ("PagedInMemory", Kind::PagedIn),
    ("PagedOutMemory", Kind::PagedOut),
    ("PageInRate", Kind::PageInRate),
    ("PageFaultRate", Kind::PageFaultRate),
    ("TotalCPUTime", Kind::TotalCpuTime),
    ("MemTotal", Kind::Meminfo("MemTotal")),
    ("MemFree", Kind::Meminfo("MemFree")),
    ("MemAvail", Kind::Meminfo("MemAvailable")),
    ("Cached", Kind::Meminfo("Cached")),
    ("SwapFree", Kind::Meminfo("SwapFree")),
    ("Load1", Kind::Load(0)),
    ("Load5", Kind::Load(1)),
    ("Load15", Kind::Load(2)),
    ("PagedIn", Kind::PagedIn),
    ("PagedOut", Kind::PagedOut),
    ("Kernel", Kind::Kernel),
    ("Uptime", Kind::Uptime),
    ("Procs", Kind::StatField("processes")),
    ("CtxSwitch", Kind::StatField("ctxt")),
    ("PgFault", Kind::PgFault),
];

/// Per-VM collectors by metric name.
const VM: &[(&str, Kind)] = &[
    ("TotalCPUTime", Kind::VmCpuTime),
    ("UsedMemory", Kind::VmMemory),
];

impl Collector {
    /// The collector for a metric name and context.
    pub fn lookup(name: &str, context: Context) -> Option<Collector> {
        let table = match context {
            Context::Host => HOST,
            Context::Vm => VM,
        };
        table
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, k)| Collector(k))
    }

    /// Every collector name for a context.
    pub fn names(context: Context) -> impl Iterator<Item = &'static str> {
        match context {
            Context::Host => HOST,
            Context::Vm => VM,
        }
        .iter()
        .map(|(n, _)| *n)
    }
}

/// State of the built-in collectors: this update's file contents (each read at most once)
/// and the previous sample for rates.
#[derive(Debug)]
pub struct NativeHost {
    root: PathBuf,
    files: [Option<String>; FILES.len()],
    previous: Option<(Instant, u64, u64)>,
    current: Option<(Instant, u64, u64)>,
}

const MEMINFO: usize = 0;
const STAT: usize = 1;
const VMSTAT: usize = 2;
const LOADAVG: usize = 3;
const UPTIME: usize = 4;
const HOSTNAME: usize = 5;
const OSRELEASE: usize = 6;
const CPU_ONLINE: usize = 7;
const CPU_PRESENT: usize = 8;
const FILES: [&str; 9] = [
    "proc/meminfo",
    "proc/stat",
    "proc/vmstat",
    "proc/loadavg",
    "proc/uptime",
    "proc/sys/kernel/hostname",
    "proc/sys/kernel/osrelease",
    "sys/devices/system/cpu/online",
    "sys/devices/system/cpu/present",
];

impl Default for NativeHost {
    fn default() -> NativeHost {
        NativeHost::with_root(PathBuf::from("/"))
    }
}

impl NativeHost {
    /// Collectors reading `/proc` and `/sys` under `root` (`/` normally).
    pub fn with_root(root: PathBuf) -> NativeHost {
        NativeHost {
            root,
            files: Default::default(),
            previous: None,
            current: None,
        }
    }

    /// Starts an update: files are read again when next needed.
    pub fn begin_update(&mut self) {
        self.files = Default::default();
        if let Some(c) = self.current.take() {
            self.previous = Some(c);
        }
    }

    fn file(&mut self, index: usize) -> Result<&str, String> {
        if self.files[index].is_none() {
            let path = self.root.join(FILES[index]);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            self.files[index] = Some(text);
        }
        Ok(self.files[index].as_deref().unwrap_or_default())
    }

    fn keyed(&mut self, index: usize, key: &str) -> Result<u64, String> {
        let name = FILES[index];
        let text = self.file(index)?;
        text.lines()
            .find_map(|line| {
                let rest = line.strip_prefix(key)?;
                let rest = rest.strip_prefix(':').unwrap_or(rest);
                if !rest.starts_with([' ', '\t']) {
                    return None;
                }
                rest.split_whitespace().next()?.parse::<u64>().ok()
            })
            .ok_or_else(|| format!("no {key} in {name}"))
    }

    fn cpu_count(&mut self, index: usize) -> Result<u64, String> {
        let text = self.file(index)?.trim().to_string();
        let mut count = 0u64;
        for range in text.split(',').filter(|r| !r.is_empty()) {
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            let (a, b) = (
                a.parse::<u64>().map_err(|e| e.to_string())?,
                b.parse::<u64>().map_err(|e| e.to_string())?,
            );
            count += b.saturating_sub(a) + 1;
        }
        Ok(count)
    }

    fn sample(&mut self) -> Result<(Instant, u64, u64), String> {
        if let Some(c) = self.current {
            return Ok(c);
        }
        let s = (
            Instant::now(),
            self.keyed(VMSTAT, "pgpgin")?,
            self.keyed(VMSTAT, "pgfault")?,
        );
        self.current = Some(s);
        Ok(s)
    }

    fn rate(&mut self, fault: bool) -> Result<String, String> {
        let now = self.sample()?;
        let Some(prev) = self.previous else {
            return Ok("0".to_string());
        };
        let secs = now.0.duration_since(prev.0).as_secs_f64();
        let delta = if fault {
            now.2.saturating_sub(prev.2)
        } else {
            now.1.saturating_sub(prev.1)
        };
        if secs <= 0.0 {
            return Ok("0".to_string());
        }
        Ok(format!("{:.0}", delta as f64 / secs))
    }

    /// The value of a collector; `vm` for per-VM collectors.
    pub fn value(&mut self, collector: Collector, vm: Option<&Vm>) -> Result<String, String> {
        const KIB_PER_MIB: u64 = 1024;
        Ok(match collector.0 {
            Kind::HostName => self.file(HOSTNAME)?.trim().to_string(),
            Kind::VirtualizationVendor => vendor(&self.root).0.to_string(),
            Kind::VirtualizationProductInfo => vendor(&self.root).1,
            Kind::TotalPhyCpus => self.cpu_count(CPU_PRESENT)?.to_string(),
            Kind::NumCpus => self.cpu_count(CPU_ONLINE)?.to_string(),
            Kind::TotalPhyMemMib => (self.keyed(MEMINFO, "MemTotal")? / KIB_PER_MIB).to_string(),
            Kind::UsedMemMib => {
                let total = self.keyed(MEMINFO, "MemTotal")?;
                let avail = self.keyed(MEMINFO, "MemAvailable")?;
                (total.saturating_sub(avail) / KIB_PER_MIB).to_string()
            }
            Kind::FreeMemMib => (self.keyed(MEMINFO, "MemAvailable")? / KIB_PER_MIB).to_string(),
            Kind::PagedIn => self.keyed(VMSTAT, "pgpgin")?.to_string(),
            Kind::PagedOut => self.keyed(VMSTAT, "pgpgout")?.to_string(),
            Kind::PageInRate => self.rate(false)?,
            Kind::PageFaultRate => self.rate(true)?,
            Kind::TotalCpuTime => {
                let text = self.file(STAT)?;
                let line = text
                    .lines()
                    .find(|l| l.starts_with("cpu "))
                    .ok_or("no cpu line in proc/stat")?;
                let ticks: u64 = line
                    .split_whitespace()
                    .skip(1)
                    .take(3)
                    .filter_map(|f| f.parse::<u64>().ok())
                    .sum();
                format!("{:.6}", ticks as f64 / 100.0)
            }
            Kind::Meminfo(key) => self.keyed(MEMINFO, key)?.to_string(),
            Kind::Load(i) => self
                .file(LOADAVG)?
                .split_whitespace()
                .nth(i)
                .ok_or("short proc/loadavg")?
                .to_string(),
            Kind::Kernel => self.file(OSRELEASE)?.trim().to_string(),
            Kind::Uptime => self
                .file(UPTIME)?
                .split_whitespace()
                .next()
                .ok_or("empty proc/uptime")?
                .to_string(),
            Kind::StatField(key) => self.keyed(STAT, key)?.to_string(),
            Kind::PgFault => self.keyed(VMSTAT, "pgfault")?.to_string(),
            Kind::VmCpuTime => {
                let ns = vm
                    .and_then(|v| v.stats.cpu_time_ns)
                    .ok_or("the VM source reports no CPU time")?;
                format!("{:.6}", ns as f64 / 1e9)
            }
            Kind::VmMemory => vm
                .and_then(|v| v.stats.memory_kib)
                .ok_or("the VM source reports no memory size")?
                .to_string(),
        })
    }
}

/// Hypervisor vendor and product: Xen as [`xen_role`] decides, else KVM when `/dev/kvm` exists.
fn vendor(root: &std::path::Path) -> (&'static str, String) {
    let read = |p: &str| {
        std::fs::read_to_string(root.join(p))
            .map(|s| s.trim().to_string())
            .ok()
    };
    let xen = xen_role::detect_at(root);
    if xen.role.on_xen() {
        let version = match xen.version {
            Some(version) => format!("Xen {version}"),
            None => "Xen".to_string(),
        };
        ("Xen Project", version)
    } else if root.join("dev/kvm").exists() {
        let release = read("proc/sys/kernel/osrelease").unwrap_or_default();
        ("KVM", format!("Linux KVM {release}"))
    } else {
        ("unknown", "unknown".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_every_host_collector_reads_this_machine() {
        let mut host = NativeHost::default();
        host.begin_update();
        for name in Collector::names(Context::Host) {
            let c = Collector::lookup(name, Context::Host).unwrap();
            let v = host.value(c, None).unwrap();
            assert!(!v.is_empty() && !v.ends_with('\n'), "{name}: {v:?}");
        }
    }

    #[test]
    fn test_fake_root_and_rates() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("proc/sys/kernel")).unwrap();
        std::fs::create_dir_all(root.join("sys/devices/system/cpu")).unwrap();
        std::fs::write(
            root.join("proc/meminfo"),
            "MemTotal:       16777216 kB\nMemAvailable:    4194304 kB\n",
        )
        .unwrap();
        std::fs::write(root.join("proc/vmstat"), "pgpgin 100\npgfault 10\n").unwrap();
        std::fs::write(root.join("sys/devices/system/cpu/online"), "0-3,6\n").unwrap();
        let mut host = NativeHost::with_root(root.to_path_buf());
        let get = |h: &mut NativeHost, n: &str| {
            h.value(Collector::lookup(n, Context::Host).unwrap(), None)
                .unwrap()
        };
        host.begin_update();
        assert_eq!(get(&mut host, "TotalPhyMem"), "16384");
        assert_eq!(get(&mut host, "UsedMem"), "12288");
        assert_eq!(get(&mut host, "NumCPUs"), "5");
        assert_eq!(get(&mut host, "PageInRate"), "0");
        std::fs::write(root.join("proc/vmstat"), "pgpgin 100100\npgfault 10\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        host.begin_update();
        let rate: u64 = get(&mut host, "PageInRate").parse().unwrap();
        assert!(rate > 0);
        assert_eq!(get(&mut host, "PageFaultRate"), "0");
    }

    #[test]
    fn test_vendor_follows_the_xen_role() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(vendor(root), ("unknown", "unknown".to_string()));
        std::fs::create_dir_all(root.join("sys/hypervisor/version")).unwrap();
        std::fs::write(root.join("sys/hypervisor/type"), "xen\n").unwrap();
        assert_eq!(vendor(root), ("Xen Project", "Xen".to_string()));
        std::fs::write(root.join("sys/hypervisor/version/major"), "4\n").unwrap();
        std::fs::write(root.join("sys/hypervisor/version/minor"), "17\n").unwrap();
        std::fs::write(root.join("sys/hypervisor/version/extra"), ".5\n").unwrap();
        assert_eq!(vendor(root), ("Xen Project", "Xen 4.17.5".to_string()));
    }
}
