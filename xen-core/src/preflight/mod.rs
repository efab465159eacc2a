//! The migration preflight: can this guest move to that host? One row per check (CPU, CPUID
//! levelling, each disk, memory, each bridge, PCI passthrough, Xen versions, the name), each
//! with a [`Verdict`] and the fix, judged *before* any byte of the guest moves.
//!
//! The CPU row matters most: Xen 4.17 accepts a guest whose CPU policy has features the target
//! lacks, `xl migrate` prints "Migration successful", and the guest can die on the target with
//! the source copy gone. The preflight compares the guest's real policy (libxenguest
//! `xc_cpu_policy_get_domain`) with the target's PV max policy, names the missing features and
//! prints the `cpuid =` line that avoids them.
//!
//! The target is asked over the migration's own transport (`SSHCMD HOST ...`): `xenadm
//! migrate-probe --json` when it has xenadm ([`TargetFacts`], versioned JSON), otherwise stock
//! commands ([`stock`]), and the table says what stock tools could not tell.
//!
//! * [`facts`](TargetFacts) (plain data), [`evaluate()`] (pure judgement), [`probe_target`]
//!   (any [`Transport`]), [`LocalXen`] (this host through the Xen libraries), [`check`] (all
//!   of it for one guest and host).
//!
//! # Example
//!
//! Judging recorded facts (the lab pair: the target lacks AVX2 and friends):
//!
//! ```
//! use xen_core::preflight::{
//!     evaluate, CpuPolicy, CpuidLeaf, GuestFacts, ProbeKind, SourceFacts, TargetFacts, Verdict,
//! };
//!
//! let policy = |ebx7: u32| CpuPolicy { leaves: vec![
//!     CpuidLeaf { leaf: 1, subleaf: !0, a: 0x663, b: 0, c: 0xf6f8_3203, d: 0x1fc9_c3f5 },
//!     CpuidLeaf { leaf: 7, subleaf: 0, a: 2, b: ebx7, c: 0x0040_0200, d: 0x10 },
//! ]};
//! let mut guest = GuestFacts::default();
//! guest.name = "g1".into();
//! guest.domain_type = "pv".into();
//! guest.cpu_policy = Some(policy(0x218c_0329));
//! let mut target = TargetFacts::new(ProbeKind::Xenadm, "hostb");
//! target.pv_max = Some(policy(0x0184_0209));
//!
//! let report = evaluate("hostb", &SourceFacts::default(), &guest, Ok(&target));
//! assert_eq!(report.verdict, Verdict::Fail);
//! let cpu = report.rows.iter().find(|r| r.name == "cpu").unwrap();
//! assert!(cpu.detail.contains("avx2, bmi2, adx, sha"));
//! assert!(cpu.fix.contains("cpuid = \"host,avx2=0,bmi2=0,adx=0,sha=0\""));
//! ```

mod cpu;
mod evaluate;
mod facts;
mod local;
mod render;
mod shared_ssh;
pub mod stock;
mod transport;

pub use cpu::{CpuGap, NO_SUBLEAF, compare, feature_name, hidden_features};
pub use evaluate::{CheckKind, CheckRow, PreflightReport, Verdict, evaluate};
pub use facts::{
    CpuPolicy, CpuidLeaf, GuestDisk, GuestFacts, GuestNic, LevellingCaps, LevellingFacts,
    MAX_POLICY_LEAVES, MAX_PROBE_BYTES, PROBE_FORMAT, ProbeKind, SourceFacts, TargetDisk,
    TargetDomain, TargetFacts,
};
pub use local::{LocalXen, guest_from_config_json, hostname, local_bridges, path_size};
pub use render::{EXIT_UNCHECKED, Gate, render_table};
pub use shared_ssh::{MasterReady, SharedSsh};
pub use transport::{RemoteOutput, SshTransport, Transport};

use std::time::Duration;

use crate::XenError;

/// The hidden subcommand the target runs: `xenadm migrate-probe --json --disk PATH...`.
pub const PROBE_SUBCOMMAND: &str = "migrate-probe";

/// What to check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// The guest, by name or domain id.
    pub domain: String,
    /// The target host (xl's `HOST`; with a raw transport, its whole command).
    pub host: String,
    /// xl's `-s SSHCMD` (default `ssh`); `None` for `-s ""`, a raw transport that cannot be
    /// asked anything but the migration itself.
    pub ssh: Option<String>,
    /// The xenadm program on the target (default `xenadm`, found on its `PATH`).
    pub remote_xenadm: String,
    /// A shared ssh master `ssh` goes through, still connecting: this host's facts are read
    /// meanwhile, and the target is asked once it is ready (or has failed: ssh then connects
    /// on its own).
    pub ssh_master: Option<MasterReady>,
}

impl CheckOptions {
    /// Check `domain` against `host` over `ssh`.
    pub fn new(domain: impl Into<String>, host: impl Into<String>) -> CheckOptions {
        CheckOptions {
            domain: domain.into(),
            host: host.into(),
            ssh: Some("ssh".to_owned()),
            remote_xenadm: "xenadm".to_owned(),
            ssh_master: None,
        }
    }
}

/// The command line that runs the probe on the target.
pub fn probe_command(remote_xenadm: &str, disk_paths: &[String]) -> String {
    let mut command = format!(
        "{} {PROBE_SUBCOMMAND} --json",
        stock::shell_quote(remote_xenadm)
    );
    for path in disk_paths {
        command.push_str(" --disk ");
        command.push_str(&stock::shell_quote(path));
    }
    command
}

/// Asks the target for its facts: `xenadm migrate-probe --json`, or the stock script when the
/// target has no xenadm (status 127). `Err` says why the target could not be probed.
pub fn probe_target(
    transport: &dyn Transport,
    remote_xenadm: &str,
    disk_paths: &[String],
) -> Result<TargetFacts, String> {
    let host = transport.host().to_owned();
    let first = transport
        .run(&probe_command(remote_xenadm, disk_paths), b"")
        .map_err(|e| e.to_string())?;
    if first.status == Some(0) {
        return TargetFacts::from_json(&host, &first.stdout).map_err(|e| e.to_string());
    }
    if !first.not_found() {
        return Err(format!(
            "{remote_xenadm} {PROBE_SUBCOMMAND} on {host} exited {}: {}",
            first
                .status
                .map_or("on a signal".to_owned(), |s| s.to_string()),
            first.stderr.trim()
        ));
    }
    let stock = transport
        .run("sh -s", stock::script(disk_paths).as_bytes())
        .map_err(|e| e.to_string())?;
    if stock.status != Some(0) {
        return Err(format!(
            "the stock probe on {host} exited {:?}: {}",
            stock.status,
            stock.stderr.trim()
        ));
    }
    if stock.stdout.len() > MAX_PROBE_BYTES {
        return Err(format!(
            "the stock probe's answer from {host} is longer than {MAX_PROBE_BYTES} bytes"
        ));
    }
    stock::parse(&host, disk_paths, &String::from_utf8_lossy(&stock.stdout))
        .map_err(|e| e.to_string())
}

/// The disk paths the target is asked about: every disk with a file or device path.
pub fn disk_paths(guest: &GuestFacts) -> Vec<String> {
    let mut paths: Vec<String> = guest
        .disks
        .iter()
        .filter(|d| d.script.is_none() && !d.path.is_empty())
        .map(|d| d.path.clone())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// Judges the guest's facts against the target reached through `transport` (`None`: a raw
/// transport, the target cannot be asked).
pub fn check_with(
    host: &str,
    source: &SourceFacts,
    guest: &GuestFacts,
    transport: Option<&dyn Transport>,
    remote_xenadm: &str,
) -> PreflightReport {
    let target = match transport {
        Some(t) => probe_target(t, remote_xenadm, &disk_paths(guest)),
        None => Err("the transport is raw (-s \"\"): it carries only the migration".to_owned()),
    };
    evaluate(host, source, guest, target.as_ref().map_err(String::as_str))
}

/// The whole preflight of `options.domain` on this host against `options.host`.
///
/// # Errors
/// When this host's Xen cannot be opened or the guest does not exist; everything about the
/// target ends up in the report instead.
pub fn check(options: &CheckOptions) -> Result<PreflightReport, XenError> {
    let t0 = std::time::Instant::now();
    let xen = LocalXen::open()?;
    tracing::debug!(
        ms = t0.elapsed().as_millis(),
        "preflight: this host's Xen opened"
    );
    let source = xen.source_facts();
    tracing::debug!(
        ms = t0.elapsed().as_millis(),
        "preflight: source facts read"
    );
    let guest = xen.guest_facts(&options.domain)?;
    tracing::debug!(ms = t0.elapsed().as_millis(), "preflight: guest facts read");
    // The facts above were read while a shared ssh master (if any) connected; the target is
    // asked through it once it is ready. Should it fail, ssh connects on its own.
    if let Some(master) = &options.ssh_master
        && let Err(why) = master.wait(Duration::from_secs(130))
    {
        tracing::debug!(
            "preflight: no shared ssh connection to {}: {why}",
            options.host
        );
    }
    let transport = options
        .ssh
        .as_ref()
        .map(|ssh| SshTransport::new(ssh.clone(), options.host.clone()));
    let report = check_with(
        &options.host,
        &source,
        &guest,
        transport.as_ref().map(|t| t as &dyn Transport),
        &options.remote_xenadm,
    );
    tracing::debug!(
        ms = t0.elapsed().as_millis(),
        "preflight: target probed and judged"
    );
    Ok(report)
}
