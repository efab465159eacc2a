//! Configuration checks: the golden configs pass; each broken rule gives a located error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::path::Path;

use common::{data, read};
use proptest::prelude::*;
use vhostmd::{Action, Config, ConfigProblem, Context, MetricType, VhostmdError};

#[test]
fn test_golden_configs_parse() {
    let c = Config::read(&data().join("golden.conf")).unwrap();
    assert_eq!(c.metrics.len(), 20);
    assert_eq!(c.disk.size_bytes, 64 * 1024);
    assert_eq!(c.update_period_secs, 5);
    assert!(c.transports.vbd && !c.transports.virtio);
    let m = &c.metrics[8];
    assert_eq!(m.action, Action::Shell("true && echo 654321".into()));
    let group = &c.metrics[9];
    assert_eq!(group.kind, MetricType::Group);
    assert_eq!(group.variables.len(), 2);
    assert_eq!(c.metrics[19].context, Context::Vm);
    let v = Config::read(&data().join("golden-virtio.conf")).unwrap();
    assert!(v.transports.vbd && v.transports.virtio);
    assert_eq!(v.virtio.max_channels, 16);
    assert_eq!(v.virtio.expiration_secs, 15);
    for t in ["none", "trivial", "real", "hotloop"] {
        Config::read(&data().join(format!("timing/{t}.conf"))).unwrap();
    }
}

#[test]
fn test_config_files_get_upstreams_verdicts_on_doctype_dtd_and_transport() {
    let golden = String::from_utf8(read("golden.conf")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vhostmd.conf");
    let problem_of = |text: &str| -> ConfigProblem {
        std::fs::write(&file, text).unwrap();
        match Config::read(&file).unwrap_err() {
            VhostmdError::Config { problem, .. } => problem,
            other => panic!("{other}"),
        }
    };
    // No DTD next to the file: upstream refuses ("failed to load external entity").
    assert!(matches!(
        problem_of(&golden),
        ConfigProblem::DtdMissing { dtd } if dtd == dir.path().join("vhostmd.dtd")
    ));
    std::fs::copy(data().join("vhostmd.dtd"), dir.path().join("vhostmd.dtd")).unwrap();
    std::fs::write(&file, &golden).unwrap();
    Config::read(&file).unwrap();
    // No DOCTYPE: upstream refuses ("no DTD found").
    let bare = golden.replace("<!DOCTYPE vhostmd SYSTEM \"vhostmd.dtd\">", "");
    assert_eq!(problem_of(&bare), ConfigProblem::NoDoctype);
    // Text embedded in a program is checked by the same rules in code, DOCTYPE or not.
    Config::parse(bare.as_bytes(), Path::new("x")).unwrap();
    // An unknown transport: ignored as upstream does (vbd remains), but not hidden.
    let odd = golden.replace(
        "<transport>vbd</transport>",
        "<transport>carrier-pigeon</transport>",
    );
    std::fs::write(&file, &odd).unwrap();
    let config = Config::read(&file).unwrap();
    assert!(config.transports.vbd);
    assert_eq!(config.ignored_transports, ["carrier-pigeon"]);
}

fn problem(file: &str) -> (usize, usize, ConfigProblem) {
    match Config::read(&data().join("invalid").join(file)).unwrap_err() {
        VhostmdError::Config {
            line,
            column,
            problem,
            ..
        } => (line, column, problem),
        other => panic!("{file}: {other}"),
    }
}

#[test]
fn test_each_broken_rule_is_located() {
    type Case = (&'static str, usize, fn(&ConfigProblem) -> bool);
    let cases: &[Case] = &[
        ("bad-type.conf", 30, |p| {
            matches!(
                p,
                ConfigProblem::BadAttributeValue {
                    attribute: "type",
                    ..
                }
            )
        }),
        ("bad-context.conf", 96, |p| {
            matches!(
                p,
                ConfigProblem::BadAttributeValue {
                    attribute: "context",
                    ..
                }
            )
        }),
        (
            "missing-update-period.conf",
            17,
            |p| matches!(p, ConfigProblem::UnexpectedElement { found, .. } if found == "path"),
        ),
        (
            "wrong-order.conf",
            17,
            |p| matches!(p, ConfigProblem::UnexpectedElement { found, .. } if found == "path"),
        ),
        ("bad-unit.conf", 15, |p| {
            matches!(p, ConfigProblem::BadUnit { .. })
        }),
        (
            "size-too-large.conf",
            15,
            |p| matches!(p, ConfigProblem::SizeOutOfRange { size_bytes } if *size_bytes == 512 << 20),
        ),
        ("size-too-small.conf", 15, |p| {
            matches!(p, ConfigProblem::SizeOutOfRange { size_bytes: 0 })
        }),
        ("unescaped-amp.conf", 56, |p| {
            matches!(p, ConfigProblem::Xml(_))
        }),
        ("missing-action.conf", 69, |p| {
            matches!(p, ConfigProblem::MissingElement { .. })
        }),
        (
            "unknown-attribute.conf",
            72,
            |p| matches!(p, ConfigProblem::UnknownAttribute { attribute, .. } if attribute == "color"),
        ),
    ];
    for (file, want_line, check) in cases {
        let (line, column, p) = problem(file);
        assert!(check(&p), "{file}: {p}");
        assert_eq!(line, *want_line, "{file}: {p}");
        assert!(column >= 1);
    }
}

#[test]
fn test_value_rules() {
    let conf = |period: &str, transport: &str, action: &str| {
        format!(
            "<vhostmd><globals><disk><name/><path/><size unit='K'>1</size></disk>\
             <update_period>{period}</update_period><path/><transport>{transport}</transport></globals>\
             <metrics><metric type='string' context='host'><name>HostName</name><action>{action}</action></metric></metrics></vhostmd>"
        )
    };
    let ok = Config::parse(conf("3s", "VBD", "@builtin").as_bytes(), Path::new("c")).unwrap();
    assert_eq!(ok.update_period_secs, 3);
    assert_eq!(ok.disk.path, Path::new("/dev/shm/vhostmd0"));
    assert_eq!(ok.metrics[0].action, Action::Builtin);
    for (period, transport, action) in [
        ("0", "vbd", "x"),
        ("x", "vbd", "x"),
        ("1", "xenstore", "x"),
        ("1", "vbd", "@builtin x"),
    ] {
        let text = conf(period, transport, action);
        let r = Config::parse(text.as_bytes(), Path::new("c"));
        if action == "@builtin x" {
            // Not the marker: an ordinary shell action.
            assert!(r.is_ok());
        } else {
            assert!(matches!(r, Err(VhostmdError::Config { .. })), "{text}");
        }
    }
    let unknown = conf("1", "vbd", "@builtin").replace("HostName", "NoSuchThing");
    assert!(matches!(
        Config::parse(unknown.as_bytes(), Path::new("c")),
        Err(VhostmdError::Config {
            problem: ConfigProblem::UnknownBuiltin { .. },
            ..
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes: a config or a located error, never a panic.
    #[test]
    fn prop_parser_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        match Config::parse(&bytes, Path::new("p")) {
            Ok(_) => {}
            Err(VhostmdError::Config { line, column, offset, .. }) => {
                prop_assert!(line >= 1 && column >= 1 && offset <= bytes.len());
            }
            Err(other) => prop_assert!(false, "unexpected error kind: {other}"),
        }
    }

    /// Truncating or corrupting one byte of the golden config never panics.
    #[test]
    fn prop_mutated_golden_config(at in 0usize..4000, byte in any::<u8>(), cut in any::<bool>()) {
        let mut text = read("golden.conf");
        let at = at % text.len();
        if cut { text.truncate(at) } else { text[at] = byte }
        let _ = Config::parse(&text, Path::new("p"));
    }
}

#[test]
fn test_shipped_default_config_forks_nothing() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/vhostmd.conf");
    let config = Config::read(&path).unwrap();
    assert!(config.metrics.iter().all(|m| m.action == Action::Builtin));
    let vm = {
        let mut vm = vhostmd::Vm::new(1, "g", "u-1");
        vm.stats = vhostmd::VmStats::new(Some(1_500_000_000), Some(1024));
        vm
    };
    let mut collecting = vhostmd::Collecting::new(config, vhostmd::CollectOptions::default());
    let update = collecting.collect(&[vm]);
    assert!(update.errors.is_empty(), "{:?}", update.errors);
    let doc = vhostmd::MetricsDocument::parse(update.document().as_bytes()).unwrap();
    assert_eq!(doc.metrics.len(), 14);
    assert_eq!(doc.vm("TotalCPUTime", "u-1").unwrap().value, "1.500000");
}

/// The shipped SAP set: every metric SAP's guest checks read, on built-in collectors, with the
/// hypervisor's host figures when the source gives them.
#[test]
fn test_shipped_sap_config_has_the_whole_set_from_the_hypervisor_view() {
    const HOST: [&str; 13] = [
        "HostName",
        "HostSystemInfo",
        "VirtualizationVendor",
        "VirtProductInfo",
        "NumberOfPhysicalCPUs",
        "TotalCPUTime",
        "FreePhysicalMemory",
        "FreeVirtualMemory",
        "UsedVirtualMemory",
        "MemoryAllocatedToVirtualServers",
        "PagedInMemory",
        "PagedOutMemory",
        "Time",
    ];
    const VM: [&str; 4] = [
        "TotalCPUTime",
        "ResourceProcessorLimit",
        "PhysicalMemoryAllocatedToVirtualSystem",
        "ResourceMemoryLimit",
    ];
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/vhostmd-sap.conf");
    let config = Config::read(&path).unwrap();
    assert!(config.metrics.iter().all(|m| m.action == Action::Builtin));
    let mut vm = vhostmd::Vm::new(7, "sap1", "u-7");
    vm.stats = vhostmd::VmStats::new(Some(2_500_000_000), Some(131_072))
        .with_limits(Some(132_096), Some(2));
    let host =
        vhostmd::HostStats::new(2, 2047 * 1024, 900 * 1024).with_usage(40_000_000_000, 131_072);
    let snapshot = vhostmd::Snapshot::new(vhostmd::HostView::Hypervisor(host), vec![vm]);
    let mut collecting = vhostmd::Collecting::new(config, vhostmd::CollectOptions::default());
    let update = collecting.collect_snapshot(&snapshot);
    assert!(update.errors.is_empty(), "{:?}", update.errors);
    let doc = vhostmd::MetricsDocument::parse(update.document().as_bytes()).unwrap();
    assert_eq!(doc.metrics.len(), HOST.len() + VM.len());
    for name in HOST {
        assert!(!doc.host(name).unwrap().value.is_empty(), "{name}");
    }
    let host_value = |n: &str| doc.host(n).unwrap().value.clone();
    assert_eq!(host_value("NumberOfPhysicalCPUs"), "2");
    assert_eq!(host_value("FreePhysicalMemory"), "900");
    assert_eq!(host_value("UsedVirtualMemory"), "1147");
    assert_eq!(host_value("MemoryAllocatedToVirtualServers"), "128");
    assert_eq!(host_value("TotalCPUTime"), "40.000000");
    let vm_value = |n: &str| doc.vm(n, "u-7").unwrap().value.clone();
    assert_eq!(
        VM.map(vm_value),
        ["2.500000", "2", "128", "129"].map(String::from)
    );
}
