//! The migration preflight of `xenadm migrate` (logic, table and decisions in
//! `xen_core::preflight`). `--check` runs only the preflight; a migration runs it first (unless
//! `--no-check`) and refuses before any byte moves when a row fails.
//!
//! `--check` exit codes: 0 the guest can move (every row pass or warn), 1 it cannot (a row
//! failed), 2 something could not be checked (and nothing failed), or the check itself could
//! not run.

use xen_core::XenError;
#[cfg(test)]
use xen_core::preflight::PreflightReport;
pub use xen_core::preflight::render_table as render;
use xen_core::preflight::{self, CheckOptions, EXIT_UNCHECKED};

use crate::error::CliError;
use crate::output::Output;

/// Runs `xenadm migrate --check`: the table (or `--json`) on stdout, and the exit status to
/// end with.
pub fn run(options: &CheckOptions, out: &Output) -> Result<u8, CliError> {
    match preflight::check(options) {
        Ok(report) => {
            if out.json {
                out.print_json(&report)?;
            } else {
                out.print(&render(&report))?;
            }
            Ok(report.verdict.exit_code())
        }
        Err(err) => {
            print_error(&options.domain, &err, true);
            Ok(EXIT_UNCHECKED)
        }
    }
}

/// Says on stderr that the preflight of `domain` could not run, why, and what to do; before a
/// migration (not `check_only`) also how to migrate without it.
pub fn print_error(domain: &str, err: &XenError, check_only: bool) {
    let mut hints: Vec<&str> = crate::commands::host::hint(err).into_iter().collect();
    if !check_only {
        hints.push("--no-check migrates without the preflight");
    }
    crate::error::print_report(format_args!("cannot check {domain}: {err}"), err, &hints);
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_core::preflight::{
        CpuPolicy, CpuidLeaf, GuestDisk, GuestFacts, GuestNic, LevellingCaps, ProbeKind,
        SourceFacts, TargetDisk, TargetFacts, evaluate,
    };

    fn policy(ebx7: u32) -> CpuPolicy {
        CpuPolicy {
            leaves: vec![
                CpuidLeaf {
                    leaf: 1,
                    subleaf: !0,
                    a: 0x663,
                    b: 0,
                    c: 0xf6f8_3203,
                    d: 0x1fc9_c3f5,
                },
                CpuidLeaf {
                    leaf: 7,
                    subleaf: 0,
                    a: 2,
                    b: ebx7,
                    c: 0x0040_0200,
                    d: 0x10,
                },
            ],
        }
    }

    /// The lab pair's unmasked guest A -> B, its disk missing on B.
    fn report() -> PreflightReport {
        let mut source = SourceFacts::default();
        source.xen_version = Some("4.17.5".into());
        source.levelling.caps = Some(LevellingCaps(0));
        let mut guest = GuestFacts::default();
        guest.name = "g1".into();
        guest.domain_type = "pv".into();
        guest.need_memory_kib = Some(132 * 1024);
        guest.cpu_policy = Some(policy(0x218c_0329));
        guest.disks = vec![GuestDisk {
            vdev: "xvdb".into(),
            path: "/var/tmp/g1.img".into(),
            format: "raw".into(),
            size_bytes: Some(4 << 20),
            ..GuestDisk::default()
        }];
        guest.nics = vec![GuestNic {
            devid: 0,
            bridge: Some("xenbr0".into()),
        }];
        let mut target = TargetFacts::new(ProbeKind::Xenadm, "hostb");
        target.xen_version = Some("4.17.5".into());
        target.free_memory_kib = Some(870 * 1024);
        target.pv_max = Some(policy(0x0184_0209));
        target.disks = vec![TargetDisk {
            path: "/var/tmp/g1.img".into(),
            size_bytes: None,
            error: Some("missing".into()),
        }];
        target.bridges = Some(vec!["xenbr0".into()]);
        target.domains = Some(Vec::new());
        evaluate("hostb", &source, &guest, Ok(&target))
    }

    #[test]
    fn table_is_golden() {
        let expected = "\
Preflight of g1 -> hostb: FAIL (must not move: 2 checks failed)
CHECK            VERDICT  DETAIL
target           pass     hostb probed by xenadm migrate-probe
cpu              FAIL     the guest uses 4 features the target lacks: avx2, bmi2, adx, sha (Xen accepts it, and the guest can crash there with the source copy gone)
                          fix: add `cpuid = \"host,avx2=0,bmi2=0,adx=0,sha=0\"` to the guest's config and restart it (a policy is fixed at boot)
cpuid levelling  warn     not levelled: Xen has no CPUID faulting or masking, so PV guests' userspace reads the raw CPU
                          fix: a cpuid= mask protects only the guest kernel; userspace that picks code by CPUID can still fault on the target
disk xvdb        FAIL     /var/tmp/g1.img does not exist on the target
                          fix: make /var/tmp/g1.img available on the target (shared storage, or copy it)
memory           pass     needs 132 MiB, the target has 870 MiB free
bridge xenbr0    pass     xenbr0 exists on the target
pci              pass     no PCI passthrough
xen version      pass     4.17.5 here, 4.17.5 on the target (migration stream v2/v3)
name             pass     no domain g1 on the target
";
        assert_eq!(render(&report()), expected);
    }

    #[test]
    fn json_has_the_verdicts_and_exit_codes_follow() {
        let report = report();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["verdict"], "fail");
        assert_eq!(json["rows"][1]["kind"], "cpu");
        assert_eq!(json["rows"][1]["verdict"], "fail");
        assert_eq!(report.verdict.exit_code(), 1);
    }

    #[test]
    fn ssh_options_follow_xl() {
        let options = |host, ssh, remote| CheckOptions::for_migration("g1", host, ssh, remote);
        let o = options("hostb", None, "xenadm");
        assert_eq!(o.ssh.as_deref(), Some("ssh"));
        assert_eq!(options("ssh b x", Some(""), "xenadm").ssh, None);
        let o = options("hostb", Some("ssh -p 2222"), "/opt/xenadm");
        assert_eq!(o.ssh.as_deref(), Some("ssh -p 2222"));
        assert_eq!(o.remote_xenadm, "/opt/xenadm");
    }
}
