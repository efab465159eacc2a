//! Built-in collectors: the standard host metrics (upstream's default set), the set SAP's
//! guest checks read, and per-VM metrics, read from `/proc` and `/sys` (or, for the host's
//! CPUs, memory and CPU time, from the hypervisor's [`HostView`]) without starting any process.
//!
//! A metric uses one when its action is `@builtin` (see [`crate::BUILTIN_ACTION`]). Values
//! carry no trailing newline.
// Length note: over 700 lines only with its unit tests (the code is about 460 lines); the tests
// write small /proc and /sys trees for each collector.

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use crate::config::Context;
use crate::host::{HostStats, HostView};
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
    HostSystemInfo,
    FreeVirtualMemMib,
    UsedVirtualMemMib,
    GuestMemMib,
    UnixTime,
    VmCpuTime,
    VmMemory,
    VmMemoryMib,
    VmMemoryLimitMib,
    VmCpus,
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
    // SAP's host metrics (memory in MiB); TotalCPUTime, HostName, VirtualizationVendor,
    // PagedInMemory and PagedOutMemory are above.
    ("HostSystemInfo", Kind::HostSystemInfo),
    ("VirtProductInfo", Kind::VirtualizationProductInfo),
    ("NumberOfPhysicalCPUs", Kind::TotalPhyCpus),
    ("FreePhysicalMemory", Kind::FreeMemMib),
    ("FreeVirtualMemory", Kind::FreeVirtualMemMib),
    ("UsedVirtualMemory", Kind::UsedVirtualMemMib),
    ("MemoryAllocatedToVirtualServers", Kind::GuestMemMib),
    ("Time", Kind::UnixTime),
];

/// Per-VM collectors by metric name.
const VM: &[(&str, Kind)] = &[
    ("TotalCPUTime", Kind::VmCpuTime),
    ("UsedMemory", Kind::VmMemory),
    // SAP's per-VM metrics (memory in MiB).
    ("PhysicalMemoryAllocatedToVirtualSystem", Kind::VmMemoryMib),
    ("ResourceMemoryLimit", Kind::VmMemoryLimitMib),
    ("ResourceProcessorLimit", Kind::VmCpus),
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

/// State of the built-in collectors: this update's file contents (each read at most once),
/// host view and VMs' memory, and the previous sample for rates.
#[derive(Debug)]
pub struct NativeHost {
    root: PathBuf,
    files: [Option<String>; FILES.len()],
    previous: Option<(Instant, u64, u64)>,
    current: Option<(Instant, u64, u64)>,
    view: HostView,
    guest_memory_kib: Result<u64, String>,
    unix_time_s: u64,
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
const DMI_VENDOR: usize = 9;
const DMI_PRODUCT: usize = 10;
const CPUINFO: usize = 11;
const FILES: [&str; 12] = [
    "proc/meminfo",
    "proc/stat",
    "proc/vmstat",
    "proc/loadavg",
    "proc/uptime",
    "proc/sys/kernel/hostname",
    "proc/sys/kernel/osrelease",
    "sys/devices/system/cpu/online",
    "sys/devices/system/cpu/present",
    "sys/class/dmi/id/sys_vendor",
    "sys/class/dmi/id/product_name",
    "proc/cpuinfo",
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
            view: HostView::Local,
            guest_memory_kib: Ok(0),
            unix_time_s: 0,
        }
    }

    /// Starts an update on the local view with no VMs: files are read again when next needed.
    pub fn begin_update(&mut self) {
        self.begin_update_with(HostView::Local, &[]);
    }

    /// Starts an update: files are read again when next needed; host CPUs, memory and CPU
    /// time come from `view`, and the memory allocated to guests, on the local view, from the
    /// VMs' statistics (Domain-0, id 0, not counted).
    pub fn begin_update_with(&mut self, view: HostView, vms: &[Vm]) {
        self.files = Default::default();
        if let Some(c) = self.current.take() {
            self.previous = Some(c);
        }
        self.view = view;
        self.guest_memory_kib = vms.iter().filter(|v| v.id != 0).try_fold(0u64, |sum, v| {
            v.stats
                .memory_kib
                .map(|m| sum.saturating_add(m))
                .ok_or_else(|| format!("the VM source reports no memory size for {}", v.name))
        });
        self.unix_time_s = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
    }

    /// The hypervisor's figures: `None` on the local view, an error when the source could not
    /// sample the hypervisor.
    fn hypervisor(&self) -> Result<Option<HostStats>, String> {
        match &self.view {
            HostView::Local => Ok(None),
            HostView::Hypervisor(stats) => Ok(Some(*stats)),
            HostView::Unavailable(why) => Err(format!("no figures from the hypervisor: {why}")),
        }
    }

    /// `MemAvailable` and `SwapFree` of the local view, in KiB.
    fn local_virtual_free_kib(&mut self) -> Result<u64, String> {
        Ok(self.keyed(MEMINFO, "MemAvailable")? + self.keyed(MEMINFO, "SwapFree")?)
    }

    /// DMI's system vendor and product (`QEMU Standard PC (Q35 + ICH9, 2009)`), else the CPU
    /// model.
    fn system_info(&mut self) -> Result<String, String> {
        let vendor = self.file(DMI_VENDOR).map(|s| s.trim().to_string());
        let product = self.file(DMI_PRODUCT).map(|s| s.trim().to_string());
        let dmi: Vec<String> = [vendor, product]
            .into_iter()
            .filter_map(Result::ok)
            .filter(|s| !s.is_empty())
            .collect();
        if !dmi.is_empty() {
            return Ok(dmi.join(" "));
        }
        self.file(CPUINFO)?
            .lines()
            .find_map(|l| {
                let (key, value) = l.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_string())
            })
            .ok_or_else(|| "no DMI system name and no model name in proc/cpuinfo".to_string())
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
            Kind::TotalPhyCpus => match self.hypervisor()? {
                Some(h) => h.physical_cpus.to_string(),
                None => self.cpu_count(CPU_PRESENT)?.to_string(),
            },
            Kind::NumCpus => match self.hypervisor()? {
                Some(h) => h.physical_cpus.to_string(),
                None => self.cpu_count(CPU_ONLINE)?.to_string(),
            },
            Kind::TotalPhyMemMib => match self.hypervisor()? {
                Some(h) => (h.total_memory_kib / KIB_PER_MIB).to_string(),
                None => (self.keyed(MEMINFO, "MemTotal")? / KIB_PER_MIB).to_string(),
            },
            // Xen has no host swap: its used virtual memory is its used memory.
            Kind::UsedMemMib | Kind::UsedVirtualMemMib => match self.hypervisor()? {
                Some(h) => {
                    (h.total_memory_kib.saturating_sub(h.free_memory_kib) / KIB_PER_MIB).to_string()
                }
                None if collector.0 == Kind::UsedVirtualMemMib => {
                    let total =
                        self.keyed(MEMINFO, "MemTotal")? + self.keyed(MEMINFO, "SwapTotal")?;
                    let free = self.local_virtual_free_kib()?;
                    (total.saturating_sub(free) / KIB_PER_MIB).to_string()
                }
                None => {
                    let total = self.keyed(MEMINFO, "MemTotal")?;
                    let avail = self.keyed(MEMINFO, "MemAvailable")?;
                    (total.saturating_sub(avail) / KIB_PER_MIB).to_string()
                }
            },
            Kind::FreeMemMib => match self.hypervisor()? {
                Some(h) => (h.free_memory_kib / KIB_PER_MIB).to_string(),
                None => (self.keyed(MEMINFO, "MemAvailable")? / KIB_PER_MIB).to_string(),
            },
            Kind::FreeVirtualMemMib => match self.hypervisor()? {
                Some(h) => (h.free_memory_kib / KIB_PER_MIB).to_string(),
                None => (self.local_virtual_free_kib()? / KIB_PER_MIB).to_string(),
            },
            Kind::GuestMemMib => match self.hypervisor()? {
                Some(h) => (h.guest_memory_kib / KIB_PER_MIB).to_string(),
                None => (self.guest_memory_kib.clone()? / KIB_PER_MIB).to_string(),
            },
            Kind::HostSystemInfo => self.system_info()?,
            Kind::UnixTime => self.unix_time_s.to_string(),
            Kind::PagedIn => self.keyed(VMSTAT, "pgpgin")?.to_string(),
            Kind::PagedOut => self.keyed(VMSTAT, "pgpgout")?.to_string(),
            Kind::PageInRate => self.rate(false)?,
            Kind::PageFaultRate => self.rate(true)?,
            Kind::TotalCpuTime if self.hypervisor()?.is_some() => {
                let ns = self.hypervisor()?.map_or(0, |h| h.cpu_time_ns);
                format!("{:.6}", ns as f64 / 1e9)
            }
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
            Kind::VmMemoryMib => (vm
                .and_then(|v| v.stats.memory_kib)
                .ok_or("the VM source reports no memory size")?
                / KIB_PER_MIB)
                .to_string(),
            // No ceiling (Xen's "no limit"): the host's memory is the limit.
            Kind::VmMemoryLimitMib => {
                match (vm.and_then(|v| v.stats.max_memory_kib), self.hypervisor()?) {
                    (Some(max), _) => (max / KIB_PER_MIB).to_string(),
                    (None, Some(h)) => (h.total_memory_kib / KIB_PER_MIB).to_string(),
                    (None, None) => return Err("the VM source reports no memory limit".into()),
                }
            }
            Kind::VmCpus => vm
                .and_then(|v| v.stats.vcpus)
                .ok_or("the VM source reports no vCPU count")?
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

    fn fake_root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("proc/sys/kernel")).unwrap();
        std::fs::create_dir_all(root.join("sys/devices/system/cpu")).unwrap();
        std::fs::write(
            root.join("proc/meminfo"),
            "MemTotal:        1048576 kB\nMemAvailable:     524288 kB\n\
             SwapTotal:        262144 kB\nSwapFree:         131072 kB\n",
        )
        .unwrap();
        std::fs::write(root.join("proc/stat"), "cpu  100 0 50 9000 0 0 0\n").unwrap();
        std::fs::write(root.join("sys/devices/system/cpu/online"), "0\n").unwrap();
        std::fs::write(root.join("sys/devices/system/cpu/present"), "0\n").unwrap();
        std::fs::write(
            root.join("proc/cpuinfo"),
            "processor\t: 0\nmodel name\t: QEMU TCG CPU version 2.5+\n",
        )
        .unwrap();
        dir
    }

    fn values(
        host: &mut NativeHost,
        context: Context,
        names: &[&str],
        vm: Option<&Vm>,
    ) -> Vec<Result<String, String>> {
        names
            .iter()
            .map(|n| host.value(Collector::lookup(n, context).unwrap(), vm))
            .collect()
    }

    const HOST_FIGURES: [&str; 10] = [
        "NumCPUs",
        "TotalPhyCPUs",
        "NumberOfPhysicalCPUs",
        "TotalPhyMem",
        "UsedMem",
        "FreeMem",
        "FreePhysicalMemory",
        "FreeVirtualMemory",
        "UsedVirtualMemory",
        "TotalCPUTime",
    ];

    #[test]
    fn test_host_figures_come_from_the_hypervisor_not_the_local_os() {
        let dir = fake_root();
        let mut host = NativeHost::with_root(dir.path().to_path_buf());
        // Local (dom0's own view): 1 CPU, 1 GiB.
        host.begin_update();
        let local: Vec<String> = values(&mut host, Context::Host, &HOST_FIGURES, None)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            local,
            [
                "1", "1", "1", "1024", "512", "512", "512", "640", "640", "1.500000"
            ]
        );
        // The hypervisor's: 2 CPUs, 2047 MiB, 936 MiB free, 31.25 s of CPU over all domains.
        let stats =
            HostStats::new(2, 2047 * 1024 + 512, 936 * 1024).with_usage(31_250_000_000, 128 * 1024);
        host.begin_update_with(HostView::Hypervisor(stats), &[]);
        let xen: Vec<String> = values(&mut host, Context::Host, &HOST_FIGURES, None)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            xen,
            [
                "2",
                "2",
                "2",
                "2047",
                "1111",
                "936",
                "936",
                "936",
                "1111",
                "31.250000"
            ]
        );
        let guests = values(
            &mut host,
            Context::Host,
            &["MemoryAllocatedToVirtualServers"],
            None,
        );
        assert_eq!(guests, [Ok("128".to_string())]);
        // A failed sample leaves these metrics out instead of reporting dom0's figures.
        host.begin_update_with(HostView::Unavailable("xenstat_get_node failed".into()), &[]);
        for (name, v) in
            HOST_FIGURES
                .iter()
                .zip(values(&mut host, Context::Host, &HOST_FIGURES, None))
        {
            let e = v.unwrap_err();
            assert!(e.contains("xenstat_get_node failed"), "{name}: {e}");
        }
        // Figures that are not the hypervisor's still come from the OS.
        assert_eq!(
            values(&mut host, Context::Host, &["HostSystemInfo"], None),
            [Ok("QEMU TCG CPU version 2.5+".to_string())]
        );
    }

    #[test]
    fn test_sap_vm_metrics_and_local_guest_memory() {
        let dir = fake_root();
        let root = dir.path();
        let mut host = NativeHost::with_root(root.to_path_buf());
        let mut web = Vm::new(3, "web", "u-3");
        web.stats = crate::VmStats::new(Some(4_500_000_000), Some(262_144))
            .with_limits(Some(263_168), Some(2));
        let mut dom0 = Vm::new(0, "Domain-0", "u-0");
        dom0.stats = crate::VmStats::new(Some(1), Some(1_048_576));
        host.begin_update_with(HostView::Local, &[dom0, web.clone()]);
        let vm = values(
            &mut host,
            Context::Vm,
            &[
                "TotalCPUTime",
                "PhysicalMemoryAllocatedToVirtualSystem",
                "ResourceMemoryLimit",
                "ResourceProcessorLimit",
            ],
            Some(&web),
        );
        let vm: Vec<String> = vm.into_iter().map(Result::unwrap).collect();
        assert_eq!(vm, ["4.500000", "256", "257", "2"]);
        // Domain-0 is not a virtual server.
        assert_eq!(
            values(
                &mut host,
                Context::Host,
                &["MemoryAllocatedToVirtualServers"],
                None
            ),
            [Ok("256".to_string())]
        );
        // No ceiling: the host's memory on the hypervisor's view, an error without one.
        let mut free = Vm::new(4, "free", "u-4");
        free.stats = crate::VmStats::new(Some(1), Some(1024));
        assert!(
            values(
                &mut host,
                Context::Vm,
                &["ResourceMemoryLimit"],
                Some(&free)
            )[0]
            .is_err()
        );
        host.begin_update_with(HostView::Hypervisor(HostStats::new(2, 2_097_152, 0)), &[]);
        assert_eq!(
            values(
                &mut host,
                Context::Vm,
                &["ResourceMemoryLimit"],
                Some(&free)
            ),
            [Ok("2048".to_string())]
        );
        // A VM without a memory figure makes the local total unknowable.
        host.begin_update_with(HostView::Local, &[Vm::new(5, "bare", "u-5")]);
        let e = values(
            &mut host,
            Context::Host,
            &["MemoryAllocatedToVirtualServers"],
            None,
        );
        assert!(e[0].as_ref().unwrap_err().contains("bare"), "{e:?}");
        // DMI names the machine when the firmware has it.
        std::fs::create_dir_all(root.join("sys/class/dmi/id")).unwrap();
        std::fs::write(root.join("sys/class/dmi/id/sys_vendor"), "QEMU\n").unwrap();
        std::fs::write(
            root.join("sys/class/dmi/id/product_name"),
            "Standard PC (Q35 + ICH9, 2009)\n",
        )
        .unwrap();
        host.begin_update();
        assert_eq!(
            values(&mut host, Context::Host, &["HostSystemInfo"], None),
            [Ok("QEMU Standard PC (Q35 + ICH9, 2009)".to_string())]
        );
        let time: u64 = values(&mut host, Context::Host, &["Time"], None)[0]
            .clone()
            .unwrap()
            .parse()
            .unwrap();
        assert!(time > 1_700_000_000, "{time}");
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
