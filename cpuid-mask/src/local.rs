//! Reads this machine's CPUID directly (no `cpuid` package needed), in the leaf order and
//! subleaf enumeration of `cpuid -r`.
//!
//! Where the kernel's CPUID driver is loaded (`/dev/cpu/N/cpuid`), it is asked: in a Xen PV
//! domain (dom0 included) only the kernel's CPUID goes through Xen, while the plain
//! instruction reaches the raw CPU unless it has CPUID faulting (Intel since Ivy Bridge, AMD
//! since Zen 3). Elsewhere both give the same answers.

use std::arch::x86_64::__cpuid_count;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;

use nix::sched::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
use nix::unistd::Pid;

use crate::dump::{CpuBlock, CpuidDump, CpuidEntry, Leaf, Regs, Subleaf};
use crate::error::CpuidMaskError;

/// Which CPUs to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuSelection {
    /// Every CPU this process may run on, one `CPU n:` block each (as `cpuid -r`).
    #[default]
    All,
    /// Only the CPU the calling thread runs on, as one `CPU:` block (as `cpuid -1r`).
    Current,
}

/// Upper bound on subleaves of one leaf, against CPUs that never report an end.
const MAX_SUBLEAVES: u32 = 64;

/// How CPUID was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum CpuidSource {
    /// The kernel's CPUID driver, `/dev/cpu/N/cpuid` (what the kernel, and under Xen PV what
    /// Xen, answers).
    KernelDriver,
    /// The CPUID instruction in this process.
    Instruction,
}

/// Which source [`read_local`] uses for `cpu`: the kernel driver when its device can be
/// opened, else the instruction.
pub fn local_source(cpu: usize) -> CpuidSource {
    if Device::open(cpu).is_some() {
        CpuidSource::KernelDriver
    } else {
        CpuidSource::Instruction
    }
}

/// One CPU's CPUID, through the kernel driver or the instruction.
enum Reader {
    Device(Device),
    Instruction,
}

struct Device(File);

impl Device {
    fn open(cpu: usize) -> Option<Device> {
        let path = PathBuf::from(format!("/dev/cpu/{cpu}/cpuid"));
        let device = Device(File::open(path).ok()?);
        // The driver may exist but refuse reads (e.g. a locked-down kernel): probe leaf 0.
        device.read(0, 0).map(|_| device)
    }

    /// The driver takes the leaf in the low and the subleaf in the high 32 bits of the offset.
    fn read(&self, leaf: u32, subleaf: u32) -> Option<[u32; 4]> {
        let mut buf = [0u8; 16];
        let offset = (u64::from(subleaf) << 32) | u64::from(leaf);
        self.0.read_exact_at(&mut buf, offset).ok()?;
        let word = |i: usize| u32::from_le_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
        Some([word(0), word(4), word(8), word(12)])
    }
}

impl Reader {
    fn for_cpu(cpu: usize) -> Reader {
        Device::open(cpu).map_or(Reader::Instruction, Reader::Device)
    }

    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidEntry {
        let [eax, ebx, ecx, edx] = match self {
            Reader::Device(device) => device
                .read(leaf, subleaf)
                .unwrap_or_else(|| instruction(leaf, subleaf)),
            Reader::Instruction => instruction(leaf, subleaf),
        };
        CpuidEntry {
            leaf: Leaf(leaf),
            subleaf: Subleaf(subleaf),
            regs: Regs { eax, ebx, ecx, edx },
        }
    }
}

fn instruction(leaf: u32, subleaf: u32) -> [u32; 4] {
    let r = __cpuid_count(leaf, subleaf);
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// Reads CPUID on the selected CPUs.
///
/// For [`CpuSelection::All`] a helper thread moves itself to each CPU in turn, so the
/// caller's affinity is untouched.
///
/// # Errors
/// [`CpuidMaskError::PinToCpu`] when the thread cannot be moved to a CPU.
pub fn read_local(selection: CpuSelection) -> Result<CpuidDump, CpuidMaskError> {
    match selection {
        CpuSelection::Current => {
            // The CPU this thread runs on now; with the driver, every leaf comes from it even
            // if the thread moves meanwhile.
            let reader = sched_getcpu().map_or(Reader::Instruction, Reader::for_cpu);
            Ok(CpuidDump {
                cpus: vec![CpuBlock {
                    cpu: None,
                    entries: read_cpu(&reader),
                }],
            })
        }
        CpuSelection::All => std::thread::scope(|scope| {
            scope.spawn(read_all_cpus).join().unwrap_or_else(|_| {
                Err(CpuidMaskError::PinToCpu {
                    cpu: 0,
                    source: io::Error::other("the CPUID reader thread stopped early"),
                })
            })
        }),
    }
}

/// Reads the current CPU's CPUID with the instruction only, never the kernel driver: what
/// userspace sees. In a Xen PV domain without CPUID faulting that is the raw CPU, whatever the
/// domain's policy says (compare with the policy to tell whether Xen levels userspace).
pub fn read_instruction() -> CpuidDump {
    CpuidDump {
        cpus: vec![CpuBlock {
            cpu: None,
            entries: read_cpu(&Reader::Instruction),
        }],
    }
}

fn read_all_cpus() -> Result<CpuidDump, CpuidMaskError> {
    let pin_error = |cpu: usize, e: nix::Error| CpuidMaskError::PinToCpu {
        cpu,
        source: io::Error::from(e),
    };
    let allowed = sched_getaffinity(Pid::from_raw(0)).map_err(|e| pin_error(0, e))?;
    let mut cpus = Vec::new();
    for cpu in 0..CpuSet::count() {
        if !allowed.is_set(cpu).unwrap_or(false) {
            continue;
        }
        let reader = Reader::for_cpu(cpu);
        if matches!(reader, Reader::Instruction) {
            let mut only = CpuSet::new();
            only.set(cpu).map_err(|e| pin_error(cpu, e))?;
            sched_setaffinity(Pid::from_raw(0), &only).map_err(|e| pin_error(cpu, e))?;
        }
        cpus.push(CpuBlock {
            cpu: u32::try_from(cpu).ok(),
            entries: read_cpu(&reader),
        });
    }
    Ok(CpuidDump { cpus })
}

/// Every leaf of one CPU.
fn read_cpu(reader: &Reader) -> Vec<CpuidEntry> {
    let mut out = Vec::with_capacity(96);
    let max_basic = reader.cpuid(0, 0).regs.eax;
    for leaf in 0..=max_basic.min(0xff) {
        basic_leaf(reader, leaf, &mut out);
    }
    // Xeon Phi's range: shows whatever the CPU answers, like `cpuid -r`.
    range(reader, 0x2000_0000, 0x2000_00ff, &mut out);
    hypervisor_leaves(reader, &mut out);
    let max_ext = reader.cpuid(0x8000_0000, 0).regs.eax;
    if (0x8000_0000..=0x8000_00ff).contains(&max_ext) {
        for leaf in 0x8000_0000..=max_ext {
            extended_leaf(reader, leaf, &mut out);
        }
    } else {
        out.push(reader.cpuid(0x8000_0000, 0));
    }
    range(reader, 0x8086_0000, 0x8086_00ff, &mut out);
    range(reader, 0xc000_0000, 0xc000_00ff, &mut out);
    out
}

/// A vendor range: its base leaf, then up to the maximum it reports if that is in range.
fn range(reader: &Reader, base: u32, limit: u32, out: &mut Vec<CpuidEntry>) {
    let first = reader.cpuid(base, 0);
    let max = first.regs.eax;
    out.push(first);
    if (base + 1..=limit).contains(&max) {
        for leaf in base + 1..=max {
            out.push(reader.cpuid(leaf, 0));
        }
    }
}

/// 0x40000000 and, when it is a valid hypervisor range, the next 0x100-sized ranges (Xen
/// moves to 0x40000100 when it also offers Viridian), stopping after the first invalid one.
fn hypervisor_leaves(reader: &Reader, out: &mut Vec<CpuidEntry>) {
    for base in (0x4000_0000u32..0x4001_0000).step_by(0x100) {
        let first = reader.cpuid(base, 0);
        let max = first.regs.eax;
        out.push(first);
        if !(base + 1..=base + 0xff).contains(&max) {
            break;
        }
        for leaf in base + 1..=max {
            out.push(reader.cpuid(leaf, 0));
        }
    }
}

fn basic_leaf(reader: &Reader, leaf: u32, out: &mut Vec<CpuidEntry>) {
    match leaf {
        // Deterministic cache parameters: until the cache type field is 0.
        4 => until(reader, leaf, out, |e| e.regs.eax & 0x1f == 0, false),
        // Subleaf 0 EAX gives the last subleaf.
        7 | 0x14 | 0x17 | 0x18 | 0x1d | 0x20 | 0x23 | 0x24 => {
            let first = reader.cpuid(leaf, 0);
            let max = first.regs.eax.min(MAX_SUBLEAVES - 1);
            out.push(first);
            out.extend((1..=max).map(|s| reader.cpuid(leaf, s)));
        }
        // Topology: until the level type is 0, that level included.
        0xb | 0x1f => until(reader, leaf, out, |e| (e.regs.ecx >> 8) & 0xff == 0, true),
        // XSAVE: subleaves 0 and 1, then one per supported state component.
        0xd => {
            let first = reader.cpuid(leaf, 0);
            let second = reader.cpuid(leaf, 1);
            let components = u64::from(first.regs.eax)
                | (u64::from(first.regs.edx) << 32)
                | u64::from(second.regs.ecx)
                | (u64::from(second.regs.edx) << 32);
            out.push(first);
            out.push(second);
            out.extend(
                (2..MAX_SUBLEAVES)
                    .filter(|s| components & (1 << s) != 0)
                    .map(|s| reader.cpuid(leaf, s)),
            );
        }
        // Resource monitoring / allocation: subleaf 0, then one per resource bit.
        0xf | 0x10 => {
            let first = reader.cpuid(leaf, 0);
            let resources = if leaf == 0xf {
                first.regs.edx
            } else {
                first.regs.ebx
            };
            out.push(first);
            out.extend(
                (1..32)
                    .filter(|s| resources & (1 << s) != 0)
                    .map(|s| reader.cpuid(leaf, s)),
            );
        }
        // SGX: subleaves 0 and 1, then EPC sections until an invalid one, when SGX exists.
        0x12 => {
            let sgx = reader.cpuid(7, 0).regs.ebx & (1 << 2) != 0;
            if sgx {
                out.push(reader.cpuid(leaf, 0));
                out.push(reader.cpuid(leaf, 1));
                for s in 2..MAX_SUBLEAVES {
                    let e = reader.cpuid(leaf, s);
                    if e.regs.eax & 0xf == 0 {
                        break;
                    }
                    out.push(e);
                }
            } else {
                out.push(reader.cpuid(leaf, 0));
            }
        }
        _ => out.push(reader.cpuid(leaf, 0)),
    }
}

fn extended_leaf(reader: &Reader, leaf: u32, out: &mut Vec<CpuidEntry>) {
    match leaf {
        // AMD cache topology: until the cache type is 0.
        0x8000_001d => until(reader, leaf, out, |e| e.regs.eax & 0x1f == 0, false),
        // AMD platform QoS: subleaf 0, then one per resource bit.
        0x8000_0020 => {
            let first = reader.cpuid(leaf, 0);
            let resources = first.regs.ebx;
            out.push(first);
            out.extend(
                (1..32)
                    .filter(|s| resources & (1 << s) != 0)
                    .map(|s| reader.cpuid(leaf, s)),
            );
        }
        // AMD extended topology: until the level type is 0, that level included.
        0x8000_0026 => until(reader, leaf, out, |e| (e.regs.ecx >> 8) & 0xff == 0, true),
        _ => out.push(reader.cpuid(leaf, 0)),
    }
}

/// Subleaves from 0 until `end` holds; the ending subleaf is kept when `keep_end` or when it
/// is subleaf 0 (so every leaf has at least one line).
fn until(
    reader: &Reader,
    leaf: u32,
    out: &mut Vec<CpuidEntry>,
    end: impl Fn(&CpuidEntry) -> bool,
    keep_end: bool,
) {
    for s in 0..MAX_SUBLEAVES {
        let e = reader.cpuid(leaf, s);
        if end(&e) {
            if keep_end || s == 0 {
                out.push(e);
            }
            return;
        }
        out.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_read_current_has_leaf0_and_leaf1() {
        let dump = read_local(CpuSelection::Current).unwrap();
        let block = &dump.cpus[0];
        assert!(block.get(Leaf(0), Subleaf(0)).is_some());
        assert!(block.get(Leaf(1), Subleaf(0)).is_some());
    }

    #[test]
    fn test_read_all_gives_one_block_per_allowed_cpu_and_parses_back() {
        let dump = read_local(CpuSelection::All).unwrap();
        let allowed = sched_getaffinity(Pid::from_raw(0)).unwrap();
        let count = (0..CpuSet::count())
            .filter(|c| allowed.is_set(*c).unwrap_or(false))
            .count();
        assert_eq!(dump.cpus.len(), count);
        let again = CpuidDump::parse(dump.to_string().as_bytes()).unwrap();
        assert_eq!(again, dump);
    }
}
