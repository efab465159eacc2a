//! Properties of parsing and masking, over generated dumps and arbitrary bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::path::Path;

use cpuid_mask::{
    CpuBlock, CpuidDump, CpuidEntry, DumpFile, FeatureReg, HostCpu, Leaf, Mask, MaskOptions, Regs,
    Subleaf,
};
use proptest::prelude::*;

/// A dump with leaves 0, 1, 7.0, 7.1, 0xd.1 and the extended feature leaves, registers
/// taken from `values` (one per [`FeatureReg::ALL`] entry).
fn dump_text(values: &[u32; 11]) -> String {
    let v = |reg: FeatureReg| values[reg.index()];
    let lines = [
        (0u32, 0u32, [0xd, 0x756e_6547, 0x6c65_746e, 0x4965_6e69]),
        (
            1,
            0,
            [
                0x906ea,
                0x0010_0800,
                v(FeatureReg::Leaf1Ecx),
                v(FeatureReg::Leaf1Edx),
            ],
        ),
        (
            7,
            0,
            [
                1,
                v(FeatureReg::Leaf7s0Ebx),
                v(FeatureReg::Leaf7s0Ecx),
                v(FeatureReg::Leaf7s0Edx),
            ],
        ),
        (7, 1, [v(FeatureReg::Leaf7s1Eax), 0, 0, 0]),
        (0xd, 1, [v(FeatureReg::LeafDs1Eax), 0, 0, 0]),
        (0x8000_0000, 0, [0x8000_0008, 0, 0, 0]),
        (
            0x8000_0001,
            0,
            [0, 0, v(FeatureReg::Ext1Ecx), v(FeatureReg::Ext1Edx)],
        ),
        (0x8000_0007, 0, [0, 0, 0, v(FeatureReg::Ext7Edx)]),
        (0x8000_0008, 0, [0, v(FeatureReg::Ext8Ebx), 0, 0]),
    ];
    let mut text = String::from("CPU:\n");
    for (leaf, sub, [a, b, c, d]) in lines {
        text.push_str(&format!(
            "   0x{leaf:08x} 0x{sub:02x}: eax=0x{a:08x} ebx=0x{b:08x} ecx=0x{c:08x} edx=0x{d:08x}\n"
        ));
    }
    text
}

fn host(name: &str, values: &[u32; 11]) -> HostCpu {
    let file = DumpFile::parse(dump_text(values).as_bytes(), Path::new(name)).unwrap();
    HostCpu::from_file(&file, &FeatureReg::ALL).unwrap()
}

fn hosts(values: &[[u32; 11]]) -> Vec<HostCpu> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| host(&format!("host{i}"), v))
        .collect()
}

fn masks(hosts: &[HostCpu], extended: bool) -> Vec<u32> {
    Mask::compute(hosts, MaskOptions { extended })
        .unwrap()
        .registers
        .iter()
        .map(|r| r.masked)
        .collect()
}

fn values() -> impl Strategy<Value = [u32; 11]> {
    prop::array::uniform11(any::<u32>())
}

fn entry() -> impl Strategy<Value = CpuidEntry> {
    (
        any::<u32>(),
        0u32..0x100,
        prop::array::uniform4(any::<u32>()),
    )
        .prop_map(|(l, s, r)| CpuidEntry {
            leaf: Leaf(l),
            subleaf: Subleaf(s),
            regs: Regs {
                eax: r[0],
                ebx: r[1],
                ecx: r[2],
                edx: r[3],
            },
        })
}

fn dump() -> impl Strategy<Value = CpuidDump> {
    prop::collection::vec(
        (
            prop::option::of(0u32..4096),
            prop::collection::vec(entry(), 1..20),
        ),
        1..4,
    )
    .prop_map(|blocks| CpuidDump {
        cpus: blocks
            .into_iter()
            .map(|(cpu, mut entries)| {
                entries.sort_by_key(|e| (e.leaf, e.subleaf));
                entries.dedup_by_key(|e| (e.leaf, e.subleaf));
                CpuBlock { cpu, entries }
            })
            .collect(),
    })
}

proptest! {
    #[test]
    fn test_mask_is_independent_of_input_order(
        mut vals in prop::collection::vec(values(), 1..6),
        extended in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let before = masks(&hosts(&vals), extended);
        // Reverse and rotate: names travel with their values, so only the order changes.
        let mut named: Vec<HostCpu> = hosts(&vals);
        named.reverse();
        let len = named.len();
        named.rotate_left(usize::try_from(seed % len as u64).unwrap_or(0));
        prop_assert_eq!(masks(&named, extended), before);
        vals.reverse();
        prop_assert_eq!(masks(&hosts(&vals), extended), masks(&hosts(&vals), extended));
    }

    #[test]
    fn test_mask_of_identical_hosts_is_all_x(v in values(), extended in any::<bool>()) {
        let mask = Mask::compute(&[host("a", &v), host("b", &v)], MaskOptions { extended }).unwrap();
        prop_assert!(mask.is_empty());
        for r in &mask.registers {
            prop_assert_eq!(r.xl_bits(), "x".repeat(32));
        }
    }

    #[test]
    fn test_adding_a_host_never_unmasks(
        vals in prop::collection::vec(values(), 1..5),
        extra in values(),
        extended in any::<bool>(),
    ) {
        let base = masks(&hosts(&vals), extended);
        let mut more = vals.clone();
        more.push(extra);
        let grown = masks(&hosts(&more), extended);
        for (before, after) in base.iter().zip(&grown) {
            prop_assert_eq!(before & after, *before, "a 0 turned back into x");
        }
    }

    #[test]
    fn test_render_then_parse_round_trips(d in dump()) {
        let parsed = CpuidDump::parse(d.to_string().as_bytes()).unwrap();
        prop_assert_eq!(parsed, d);
    }

    #[test]
    fn test_parse_never_panics_and_locates_errors(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Err(cpuid_mask::CpuidMaskError::Parse { line, column, .. }) = CpuidDump::parse(&bytes) {
            let lines = bytes.split(|b| *b == b'\n').count();
            prop_assert!(line >= 1 && line <= lines.max(1));
            prop_assert!(column >= 1);
        }
    }

    #[test]
    fn test_parse_of_mutated_dump_never_panics(v in values(), pos in any::<usize>(), byte in any::<u8>()) {
        let mut text = dump_text(&v).into_bytes();
        let at = pos % text.len();
        text[at] = byte;
        let _ = CpuidDump::parse(&text);
    }
}
