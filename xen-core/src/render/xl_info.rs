//! `xl info` text, byte for byte, with the `-n` tables when the info carries a topology.
//!
//! Field order and formats are xl's (tools/xl/xl_info.c): the uname fields, then physinfo
//! (`cpu_mhz` as `kHz/1000 "." kHz%1000` with three digits, memory in MiB truncated, and
//! `free_memory` net of outstanding claims), then the version info, then
//! `xend_config_format : 4`. Every key is padded to 23 columns and followed by `": "`.

use std::io::{self, Write};

use crate::host::{HostInfo, HostTopology};

/// Writes `info` as `xl info` prints it.
///
/// ```
/// use xen_core::host::HostInfo;
///
/// let mut info = HostInfo::default();
/// info.cpu_khz = 2_596_144;
/// let mut text = Vec::new();
/// xen_core::render::xl_info::write(&mut text, &info)?;
/// let text = String::from_utf8_lossy(&text);
/// assert!(text.contains("cpu_mhz                : 2596.144\n"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write<W: Write + ?Sized>(out: &mut W, info: &HostInfo) -> io::Result<()> {
    let mib = |kib: u64| kib / 1024;
    let field = |out: &mut W, key: &str, value: &dyn std::fmt::Display| -> io::Result<()> {
        writeln!(out, "{key:<23}: {value}")
    };
    field(out, "host", &info.host)?;
    field(out, "release", &info.release)?;
    field(out, "version", &info.version)?;
    field(out, "machine", &info.machine)?;
    field(out, "nr_cpus", &info.nr_cpus)?;
    field(out, "max_cpu_id", &info.max_cpu_id)?;
    field(out, "nr_nodes", &info.nr_nodes)?;
    field(out, "cores_per_socket", &info.cores_per_socket)?;
    field(out, "threads_per_core", &info.threads_per_core)?;
    writeln!(
        out,
        "{:<23}: {}.{:03}",
        "cpu_mhz",
        info.cpu_khz / 1000,
        info.cpu_khz % 1000
    )?;
    let [c0, c1, c2, c3, c4, c5, c6, c7] = info.hw_caps;
    writeln!(
        out,
        "{:<23}: {c0:08x}:{c1:08x}:{c2:08x}:{c3:08x}:{c4:08x}:{c5:08x}:{c6:08x}:{c7:08x}",
        "hw_caps"
    )?;
    // xl: "virt_caps              :%s%s..." with each capability as " name".
    write!(out, "{:<23}:", "virt_caps")?;
    for cap in &info.virt_caps {
        write!(out, " {cap}")?;
    }
    out.write_all(b"\n")?;
    field(out, "total_memory", &mib(info.total_memory_kib))?;
    let free = info
        .free_memory_kib
        .saturating_sub(info.outstanding_claims_kib);
    field(out, "free_memory", &mib(free))?;
    field(
        out,
        "sharing_freed_memory",
        &mib(info.sharing_freed_memory_kib),
    )?;
    field(
        out,
        "sharing_used_memory",
        &mib(info.sharing_used_memory_kib),
    )?;
    field(out, "outstanding_claims", &mib(info.outstanding_claims_kib))?;
    field(out, "free_cpus", &info.free_cpus)?;
    if let Some(topology) = &info.topology {
        write_topology(out, topology)?;
    }
    field(out, "xen_major", &info.xen_major)?;
    field(out, "xen_minor", &info.xen_minor)?;
    field(out, "xen_extra", &info.xen_extra)?;
    field(out, "xen_version", &info.xen_version())?;
    field(out, "xen_caps", &info.xen_caps)?;
    field(out, "xen_scheduler", &info.xen_scheduler)?;
    field(out, "xen_pagesize", &info.xen_pagesize)?;
    field(out, "platform_params", &info.platform_params)?;
    field(out, "xen_changeset", &info.xen_changeset)?;
    field(out, "xen_commandline", &info.xen_commandline)?;
    field(out, "cc_compiler", &info.cc_compiler)?;
    field(out, "cc_compile_by", &info.cc_compile_by)?;
    field(out, "cc_compile_domain", &info.cc_compile_domain)?;
    field(out, "cc_compile_date", &info.cc_compile_date)?;
    field(out, "build_id", &info.build_id.as_deref().unwrap_or(""))?;
    field(out, "xend_config_format", &4)
}

/// The `xl info -n` tables (tools/xl/xl_info.c, output_topologyinfo and output_numainfo).
/// Unknown ids print as xl's `%d` of Xen's all-ones marker, `-1`; rows xl skips (a CPU
/// without a core, a node without memory, a device without a node) are skipped.
fn write_topology<W: Write + ?Sized>(out: &mut W, topology: &HostTopology) -> io::Result<()> {
    let signed = |v: Option<u32>| v.map_or(-1, i64::from);
    writeln!(out, "{:<23}:", "cpu_topology")?;
    writeln!(out, "cpu:    core    socket     node")?;
    for cpu in &topology.cpus {
        if let Some(core) = cpu.core {
            writeln!(
                out,
                "{:3}:    {core:4}     {:4}     {:4}",
                cpu.cpu,
                signed(cpu.socket),
                signed(cpu.node)
            )?;
        }
    }
    if let Some(devices) = &topology.pci_devices {
        writeln!(out, "{:<23}:", "device topology")?;
        writeln!(out, "device           node")?;
        let mut shown = 0;
        for device in devices {
            if let Some(node) = device.node {
                writeln!(out, "{device}      {node}")?;
                shown += 1;
            }
        }
        if shown == 0 {
            writeln!(out, "No device topology data available")?;
        }
    }
    writeln!(out, "{:<23}:", "numa_info")?;
    writeln!(out, "node:    memsize    memfree    distances")?;
    for node in &topology.nodes {
        let Some(size) = node.memory_bytes else {
            continue;
        };
        // libxl turns an unknown free size into 0xffffffff, which xl prints shifted.
        let free = node.free_bytes.unwrap_or(u64::from(u32::MAX));
        write!(
            out,
            "{:4}:    {:6}     {:6}      ",
            node.node,
            size >> 20,
            free >> 20
        )?;
        let mut distances = node.distances.iter();
        // xl prints the first distance unconditionally.
        write!(out, "{}", signed(distances.next().copied().flatten()))?;
        for d in distances {
            write!(out, ",{}", signed(*d))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(info: &HostInfo) -> String {
        let mut out = Vec::new();
        write(&mut out, info).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn test_mhz_keeps_leading_zeros_of_the_khz_part() {
        let info = HostInfo {
            cpu_khz: 3_000_042,
            ..HostInfo::default()
        };
        assert!(render(&info).contains("\ncpu_mhz                : 3000.042\n"));
    }

    #[test]
    fn test_free_memory_is_net_of_claims_and_truncated_to_mib() {
        let info = HostInfo {
            free_memory_kib: 10 * 1024 + 1023,
            outstanding_claims_kib: 2 * 1024,
            ..HostInfo::default()
        };
        let text = render(&info);
        assert!(text.contains("\nfree_memory            : 8\n"), "{text}");
        assert!(text.contains("\noutstanding_claims     : 2\n"));
    }

    #[test]
    fn test_empty_virt_caps_has_no_trailing_space() {
        let mut info = HostInfo::default();
        assert!(render(&info).contains("\nvirt_caps              :\n"));
        info.virt_caps = vec!["pv".into(), "hvm".into()];
        assert!(render(&info).contains("\nvirt_caps              : pv hvm\n"));
    }

    #[test]
    fn test_field_order_and_count() {
        let text = render(&HostInfo::default());
        let keys: Vec<&str> = text
            .lines()
            .map(|l| l.split(':').next().unwrap_or("").trim_end())
            .collect();
        assert_eq!(keys.len(), 34);
        assert_eq!(keys[0], "host");
        assert_eq!(keys[9], "cpu_mhz");
        assert_eq!(keys[18], "xen_major");
        assert_eq!(keys[33], "xend_config_format");
    }
}
