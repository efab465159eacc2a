//! The migration preflight on recorded facts (tests/data/preflight, real captures; see its
//! README) and through a fake transport: every row's verdicts, the stock fallback, the probe's
//! JSON, and a raw transport.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::path::Path;

use cpuid_mask::DumpFile;
use xen_core::XenError;
use xen_core::preflight::{
    CheckKind, CpuPolicy, GuestFacts, LevellingCaps, LevellingFacts, PreflightReport, ProbeKind,
    RemoteOutput, SourceFacts, TargetDisk, TargetDomain, TargetFacts, Transport, Verdict,
    check_with, evaluate, guest_from_config_json, probe_command, stock,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/preflight");

fn data(name: &str) -> String {
    std::fs::read_to_string(Path::new(DATA).join(name)).unwrap()
}

fn dump_policy(name: &str) -> CpuPolicy {
    let file = DumpFile::parse(data(name).as_bytes(), Path::new(name)).unwrap();
    CpuPolicy::from_dump(&file.dump)
}

/// web1 from the real `xl list -l` (a file disk, a vif on xenbr0), as this host saw it.
fn web1() -> GuestFacts {
    let all: serde_json::Value = serde_json::from_str(&data("xl-list-l.guests.json")).unwrap();
    let config = all
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domid"] == 1)
        .unwrap()["config"]
        .to_string();
    let mut guest = guest_from_config_json(&config).unwrap();
    guest.domid = 1;
    guest.need_memory_kib = Some(65_536 + 1024);
    guest.disks[0].size_bytes = Some(4 << 20);
    guest
}

fn source() -> SourceFacts {
    let mut source = SourceFacts::default();
    source.hostname = "hosta".into();
    source.xen_version = Some("4.17.5".into());
    source.levelling = LevellingFacts {
        caps: Some(LevellingCaps(0)),
        dom0_userspace: None,
        dom0_policy: None,
    };
    source
}

/// A target that has everything web1 needs.
fn good_target(pv_max: CpuPolicy) -> TargetFacts {
    let mut t = TargetFacts::new(ProbeKind::Xenadm, "hostb");
    t.xen_version = Some("4.17.5".into());
    t.free_memory_kib = Some(1000 * 1024);
    t.pv_max = Some(pv_max);
    t.levelling_caps = Some(LevellingCaps(0));
    t.disks = vec![TargetDisk {
        path: "/var/lib/xen/images/web1-data.img".into(),
        size_bytes: Some(4 << 20),
        error: None,
    }];
    t.bridges = Some(vec!["xenbr0".into()]);
    t.domains = Some(vec![TargetDomain {
        name: "Domain-0".into(),
        uuid: Some("00000000-0000-0000-0000-000000000000".into()),
    }]);
    t
}

fn row<'a>(report: &'a PreflightReport, name: &str) -> &'a xen_core::preflight::CheckRow {
    report
        .rows
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no row {name}: {report:#?}"))
}

#[test]
fn real_guest_config_gives_disks_bridges_and_no_pci() {
    let g = web1();
    assert_eq!(g.name, "web1");
    assert_eq!(g.domain_type, "pv");
    assert_eq!(g.uuid, "20e9db37-a6ea-42b4-9611-9b9d2aa1cc27");
    assert_eq!(g.disks.len(), 1);
    assert_eq!(g.disks[0].vdev, "xvdb");
    assert_eq!(g.disks[0].path, "/var/lib/xen/images/web1-data.img");
    assert_eq!(g.nics.len(), 1);
    assert_eq!(g.nics[0].bridge.as_deref(), Some("xenbr0"));
    assert!(g.pci_devices.is_empty());
}

#[test]
fn newer_cpu_to_older_fails_naming_features_and_the_fix() {
    let mut guest = web1();
    guest.cpu_policy = Some(dump_policy("intel-core-i7-8700.txt"));
    let target = good_target(dump_policy("intel-core-i7-2600.txt"));
    let report = evaluate("hostb", &source(), &guest, Ok(&target));
    assert_eq!(report.verdict, Verdict::Fail);
    assert_eq!(report.verdict.exit_code(), 1);
    let cpu = row(&report, "cpu");
    assert_eq!(cpu.verdict, Verdict::Fail);
    for feature in ["avx2", "bmi2", "rdrand", "f16c"] {
        assert!(cpu.detail.contains(feature), "{}", cpu.detail);
    }
    assert!(cpu.fix.contains("cpuid = \"host,"), "{}", cpu.fix);
    assert!(cpu.fix.contains("avx2=0"), "{}", cpu.fix);
    // Everything else of the real guest passes.
    for name in [
        "disk xvdb",
        "memory",
        "bridge xenbr0",
        "pci",
        "xen version",
        "name",
    ] {
        assert_eq!(row(&report, name).verdict, Verdict::Pass, "{name}");
    }
}

#[test]
fn older_cpu_to_newer_passes_with_the_levelling_warning() {
    let mut guest = web1();
    guest.cpu_policy = Some(dump_policy("intel-core-i7-2600.txt"));
    let target = good_target(dump_policy("intel-core-i7-8700.txt"));
    let report = evaluate("hostb", &source(), &guest, Ok(&target));
    assert_eq!(row(&report, "cpu").verdict, Verdict::Pass);
    let levelling = row(&report, "cpuid levelling");
    assert_eq!(levelling.verdict, Verdict::Warn);
    assert!(levelling.fix.contains("only the guest kernel"));
    assert_eq!(report.verdict, Verdict::Warn);
    assert_eq!(report.verdict.exit_code(), 0);
}

#[test]
fn each_missing_resource_fails_its_own_row() {
    let mut guest = web1();
    guest.cpu_policy = Some(dump_policy("intel-core-i7-2600.txt"));
    guest.pci_devices = vec!["0000:03:00.0".into()];
    let mut target = good_target(dump_policy("intel-core-i7-2600.txt"));
    target.disks[0] = TargetDisk {
        path: "/var/lib/xen/images/web1-data.img".into(),
        size_bytes: None,
        error: Some("missing".into()),
    };
    target.free_memory_kib = Some(32 * 1024);
    target.bridges = Some(vec!["br-other".into()]);
    target.xen_version = Some("4.16.2".into());
    target.domains = Some(vec![TargetDomain {
        name: "web1".into(),
        uuid: Some("11111111-0000-0000-0000-000000000000".into()),
    }]);
    let report = evaluate("hostb", &source(), &guest, Ok(&target));
    for name in [
        "disk xvdb",
        "memory",
        "bridge xenbr0",
        "pci",
        "xen version",
        "name",
    ] {
        let r = row(&report, name);
        assert_eq!(r.verdict, Verdict::Fail, "{name}: {r:?}");
        assert!(!r.fix.is_empty(), "{name} has no fix");
    }
    assert!(row(&report, "disk xvdb").detail.contains("does not exist"));
    assert!(row(&report, "memory").fix.contains("free 33 MiB"));
}

#[test]
fn a_disk_of_another_size_fails_and_the_same_guest_on_localhost_passes_the_name() {
    let guest = web1();
    let mut target = good_target(CpuPolicy::default());
    target.disks[0].size_bytes = Some(8 << 20);
    target.domains = Some(vec![TargetDomain {
        name: "web1".into(),
        uuid: Some(guest.uuid.clone()),
    }]);
    let report = evaluate("localhost", &source(), &guest, Ok(&target));
    let disk = row(&report, "disk xvdb");
    assert_eq!(disk.verdict, Verdict::Fail);
    assert!(
        disk.detail.contains("4194304 bytes here, 8388608"),
        "{}",
        disk.detail
    );
    assert_eq!(row(&report, "name").verdict, Verdict::Pass);
}

#[test]
fn unknown_facts_are_unchecked_not_passed() {
    let guest = web1(); // no CPU policy read
    let report = evaluate(
        "hostb",
        &SourceFacts::default(),
        &guest,
        Err("the transport is raw"),
    );
    assert_eq!(report.verdict, Verdict::Unchecked);
    assert_eq!(report.verdict.exit_code(), 2);
    for r in &report.rows {
        if r.kind != CheckKind::Pci {
            assert_eq!(r.verdict, Verdict::Unchecked, "{r:?}");
        }
    }
    assert!(row(&report, "target").detail.contains("raw"));
}

#[test]
fn levelling_is_judged_from_dom0s_real_views() {
    // The lab dom0: userspace reads the raw CPU (cpuid -1r), Xen's PV default hides features.
    let seen = dump_policy("cpuid-1r.dom0.lab.txt");
    let answer = stock_answer(&[]);
    let facts = stock::parse("dom0", &[], &answer).unwrap();
    let mut source = source();
    source.levelling = LevellingFacts {
        caps: None,
        dom0_userspace: Some(seen.clone()),
        dom0_policy: facts.pv_max.clone(),
    };
    let mut guest = web1();
    guest.cpu_policy = facts.pv_max.clone();
    let report = evaluate("hostb", &source, &guest, Ok(&facts));
    let levelling = row(&report, "cpuid levelling");
    assert_eq!(levelling.verdict, Verdict::Warn, "{levelling:?}");
    assert!(
        levelling.detail.contains("its policy hides"),
        "{}",
        levelling.detail
    );
    // As in the lab under QEMU TCG: Xen claims masking MSRs, userspace still reads raw bits.
    source.levelling.caps = Some(LevellingCaps(0x19e));
    let report = evaluate("hostb", &source, &guest, Ok(&facts));
    let levelling = row(&report, "cpuid levelling");
    assert_eq!(levelling.verdict, Verdict::Warn);
    assert!(
        levelling.detail.contains("claims masking MSRs for 1.ecx"),
        "{}",
        levelling.detail
    );
    // Faulting, and dom0's userspace reads exactly its policy: levelled.
    source.levelling.caps = Some(LevellingCaps(LevellingCaps::FAULTING));
    source.levelling.dom0_userspace = source.levelling.dom0_policy.clone();
    let report = evaluate("hostb", &source, &guest, Ok(&facts));
    let levelling = row(&report, "cpuid levelling");
    assert_eq!(levelling.verdict, Verdict::Pass, "{levelling:?}");
    assert!(
        levelling.detail.starts_with("levelled"),
        "{}",
        levelling.detail
    );
}

/// The answer of the stock script on the lab's dom0, assembled from its real outputs.
fn stock_answer(disks: &[(&str, &str)]) -> String {
    let mut s = String::from("Linux dom0 motd line\n");
    let section = |s: &mut String, name: &str, body: &str, rc: i32| {
        s.push_str(&format!("@@section {name}\n{body}"));
        if !body.is_empty() && !body.ends_with('\n') {
            s.push('\n');
        }
        s.push_str(&format!("@@rc {rc}\n"));
    };
    section(&mut s, "hostname", "dom0\n", 0);
    section(&mut s, "xl-info", &data("xl-info.lab.txt"), 0);
    section(&mut s, "xen-cpuid", &data("xen-cpuid-p.lab.txt"), 0);
    section(&mut s, "bridges", &data("ip-link-bridge.lab.txt"), 0);
    section(&mut s, "domains", &data("xl-list-v.lab.txt"), 0);
    for (path, value) in disks {
        section(&mut s, "disk", &format!("{path}\n{value}\n"), 0);
    }
    s
}

#[test]
fn stock_answer_of_the_lab_parses_into_facts() {
    let paths = vec![
        "/var/lib/xen/images/web1-data.img".to_owned(),
        "/gone".to_owned(),
    ];
    let answer = stock_answer(&[(&paths[0], "4194304"), (&paths[1], "missing")]);
    let facts = stock::parse("dom0", &paths, &answer).unwrap();
    assert_eq!(facts.probed_by, ProbeKind::Stock);
    assert_eq!(facts.hostname, "dom0");
    assert_eq!(facts.xen_version.as_deref(), Some("4.17.5"));
    assert_eq!(facts.free_memory_kib, Some(1000 * 1024));
    assert_eq!(facts.pv_max.as_ref().unwrap().leaves.len(), 14);
    assert_eq!(facts.host_policy.as_ref().unwrap().leaves.len(), 18);
    let leaf7 = facts.pv_max.as_ref().unwrap().leaves[2];
    assert_eq!((leaf7.leaf, leaf7.subleaf, leaf7.b), (7, 0, 0x218c_0329));
    assert_eq!(facts.bridges.as_deref(), Some(&["xenbr0".to_owned()][..]));
    let domains = facts.domains.as_ref().unwrap();
    assert_eq!(domains[0].name, "Domain-0");
    assert_eq!(
        domains[0].uuid.as_deref(),
        Some("00000000-0000-0000-0000-000000000000")
    );
    assert_eq!(facts.disks[0].size_bytes, Some(4 << 20));
    assert_eq!(facts.disks[1].error.as_deref(), Some("missing"));
    assert!(facts.levelling_caps.is_none());
}

/// A transport that answers from a script of canned outputs and records what it was asked.
struct FakeTransport {
    answers: RefCell<Vec<RemoteOutput>>,
    asked: RefCell<Vec<(String, Vec<u8>)>>,
}

impl FakeTransport {
    fn new(answers: Vec<RemoteOutput>) -> FakeTransport {
        FakeTransport {
            answers: RefCell::new(answers),
            asked: RefCell::new(Vec::new()),
        }
    }
}

impl Transport for FakeTransport {
    fn run(&self, command: &str, stdin: &[u8]) -> Result<RemoteOutput, XenError> {
        self.asked
            .borrow_mut()
            .push((command.to_owned(), stdin.to_vec()));
        let mut answers = self.answers.borrow_mut();
        if answers.is_empty() {
            return Err(XenError::Probe {
                host: "hostb".into(),
                what: "no more answers".into(),
            });
        }
        Ok(answers.remove(0))
    }

    fn host(&self) -> &str {
        "hostb"
    }
}

fn answer(status: i32, stdout: &str, stderr: &str) -> RemoteOutput {
    RemoteOutput {
        status: Some(status),
        stdout: stdout.as_bytes().to_vec(),
        stderr: stderr.to_owned(),
    }
}

#[test]
fn xenadm_on_the_target_answers_in_one_round_trip() {
    let mut guest = web1();
    guest.cpu_policy = Some(dump_policy("intel-core-i7-2600.txt"));
    let target = good_target(dump_policy("intel-core-i7-8700.txt"));
    let json = serde_json::to_string(&target).unwrap();
    let t = FakeTransport::new(vec![answer(0, &json, "")]);
    let report = check_with("hostb", &source(), &guest, Some(&t), "xenadm");
    let asked = t.asked.borrow();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].0,
        "xenadm migrate-probe --json --disk /var/lib/xen/images/web1-data.img"
    );
    assert_eq!(row(&report, "target").verdict, Verdict::Pass);
    assert_eq!(row(&report, "cpu").verdict, Verdict::Pass);
    assert_eq!(report.verdict, Verdict::Warn);
}

#[test]
fn a_target_without_xenadm_is_probed_with_stock_tools() {
    let guest = web1();
    let stock = stock_answer(&[("/var/lib/xen/images/web1-data.img", "missing")]);
    let t = FakeTransport::new(vec![
        answer(127, "", "bash: line 1: xenadm: command not found\n"),
        answer(0, &stock, ""),
    ]);
    let report = check_with("hostb", &source(), &guest, Some(&t), "xenadm");
    let asked = t.asked.borrow();
    assert_eq!(asked[1].0, "sh -s");
    let script = String::from_utf8(asked[1].1.clone()).unwrap();
    assert!(script.contains("xen-cpuid -p") && script.contains("web1-data.img"));
    let target = row(&report, "target");
    assert_eq!(target.verdict, Verdict::Warn);
    assert!(target.detail.contains("stock tools"), "{}", target.detail);
    assert!(
        target.detail.contains("levelling caps unknown"),
        "{}",
        target.detail
    );
    assert_eq!(row(&report, "disk xvdb").verdict, Verdict::Fail);
    assert_eq!(row(&report, "bridge xenbr0").verdict, Verdict::Pass);
    assert_eq!(row(&report, "memory").verdict, Verdict::Pass);
    assert_eq!(report.verdict, Verdict::Fail);
}

#[test]
fn a_failing_probe_is_reported_not_trusted() {
    let guest = web1();
    let t = FakeTransport::new(vec![answer(
        255,
        "",
        "ssh: connect to host hostb port 22: Connection refused\n",
    )]);
    let report = check_with("hostb", &source(), &guest, Some(&t), "xenadm");
    let target = row(&report, "target");
    assert_eq!(target.verdict, Verdict::Unchecked);
    assert!(
        target.detail.contains("Connection refused"),
        "{}",
        target.detail
    );
    // Garbage instead of JSON: located, unchecked.
    let t = FakeTransport::new(vec![answer(0, "{\"format\": 1, \"probed_by\": \"x\"", "")]);
    let report = check_with("hostb", &source(), &guest, Some(&t), "xenadm");
    assert!(row(&report, "target").detail.contains("line 1"));
    assert_eq!(report.verdict, Verdict::Unchecked);
}

#[test]
fn a_raw_transport_is_never_asked() {
    let report = check_with(
        "ssh hostb xl migrate-receive",
        &source(),
        &web1(),
        None,
        "xenadm",
    );
    assert!(
        row(&report, "target")
            .detail
            .contains("could not be probed")
    );
    assert_eq!(report.verdict, Verdict::Unchecked);
}

#[test]
fn probe_commands_quote_paths() {
    assert_eq!(
        probe_command("/mnt/host/bin/xenadm", &["/a b/c'd.img".to_owned()]),
        r"/mnt/host/bin/xenadm migrate-probe --json --disk '/a b/c'\''d.img'"
    );
}
