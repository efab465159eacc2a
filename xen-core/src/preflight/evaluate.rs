//! The judgement: facts of the guest, its host and the target in, one row per check out, each
//! with a verdict and the fix. Pure: no Xen, no I/O, so every branch is tested on recorded
//! facts.

use serde::{Deserialize, Serialize};

use super::cpu::{compare, hidden_features};
use super::facts::{GuestFacts, ProbeKind, SourceFacts, TargetFacts};

/// A row's (or the whole check's) answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Nothing in the way.
    Pass,
    /// Migration can go ahead, but read this.
    Warn,
    /// This could not be checked (the target lacks xenadm, a tool, or could not be probed).
    Unchecked,
    /// The guest must not be moved until this is fixed.
    Fail,
}

impl Verdict {
    /// `pass`, `warn`, `unchecked`, `FAIL`: as the table prints it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Unchecked => "unchecked",
            Verdict::Fail => "FAIL",
        }
    }

    /// The exit status of `xenadm migrate --check` for this overall verdict: 0 the guest can
    /// move (pass or warn), 1 it cannot (a row failed), 2 something could not be checked.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Pass | Verdict::Warn => 0,
            Verdict::Fail => 1,
            Verdict::Unchecked => 2,
        }
    }
}

/// What a row checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CheckKind {
    /// Whether the target could be probed at all.
    Target,
    /// The guest's CPU policy against the target's.
    Cpu,
    /// Whether the source levels PV guests' userspace CPUID.
    Levelling,
    /// One disk.
    Disk,
    /// Free memory on the target.
    Memory,
    /// One vif's bridge.
    Bridge,
    /// PCI passthrough.
    Pci,
    /// Xen versions.
    XenVersion,
    /// The guest's name on the target.
    Name,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckRow {
    /// What it checks.
    pub kind: CheckKind,
    /// The row's name in the table, e.g. `disk xvda`.
    pub name: String,
    /// Its answer.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// What to do about it (empty on a pass).
    pub fix: String,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PreflightReport {
    /// The guest.
    pub guest: String,
    /// The target as the user named it.
    pub target: String,
    /// The worst row: fail, then unchecked, then warn, then pass.
    pub verdict: Verdict,
    /// The rows, in table order.
    pub rows: Vec<CheckRow>,
}

fn row(
    kind: CheckKind,
    name: impl Into<String>,
    verdict: Verdict,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> CheckRow {
    CheckRow {
        kind,
        name: name.into(),
        verdict,
        detail: detail.into(),
        fix: fix.into(),
    }
}

/// Judges the facts. `target` is `Err(why)` when the target could not be probed at all (a raw
/// transport given with `-s ""`, or the probe failed): its rows are then unchecked.
pub fn evaluate(
    target_name: &str,
    source: &SourceFacts,
    guest: &GuestFacts,
    target: Result<&TargetFacts, &str>,
) -> PreflightReport {
    let mut rows = Vec::new();
    let target = match target {
        Ok(facts) => {
            let how = match facts.probed_by {
                ProbeKind::Xenadm => "xenadm migrate-probe".to_owned(),
                ProbeKind::Stock => "stock tools (no xenadm there)".to_owned(),
            };
            let (verdict, fix) = match facts.probed_by {
                ProbeKind::Xenadm => (Verdict::Pass, String::new()),
                ProbeKind::Stock => (
                    Verdict::Warn,
                    "install xenadm on the target for every check".to_owned(),
                ),
            };
            let mut detail = format!("{} probed by {how}", facts.hostname);
            for note in &facts.notes {
                detail.push_str("; ");
                detail.push_str(note);
            }
            rows.push(row(CheckKind::Target, "target", verdict, detail, fix));
            Some(facts)
        }
        Err(why) => {
            rows.push(row(
                CheckKind::Target,
                "target",
                Verdict::Unchecked,
                format!("{target_name} could not be probed: {why}"),
                "give an ssh command with -s (not -s \"\") so the target can be asked",
            ));
            None
        }
    };
    rows.push(cpu_row(guest, target));
    rows.push(levelling_row(source, guest));
    rows.extend(disk_rows(guest, target));
    rows.push(memory_row(guest, target));
    rows.extend(bridge_rows(guest, target));
    rows.push(pci_row(guest));
    rows.push(version_row(source, target));
    rows.push(name_row(guest, target));
    let verdict = rows
        .iter()
        .map(|r| r.verdict)
        .max()
        .unwrap_or(Verdict::Pass);
    PreflightReport {
        guest: guest.name.clone(),
        target: target_name.to_owned(),
        verdict,
        rows,
    }
}

fn unprobed(kind: CheckKind, name: impl Into<String>, what: &str) -> CheckRow {
    row(
        kind,
        name,
        Verdict::Unchecked,
        format!("not checked: {what}"),
        "",
    )
}

fn cpu_row(guest: &GuestFacts, target: Option<&TargetFacts>) -> CheckRow {
    let name = "cpu";
    let Some(policy) = &guest.cpu_policy else {
        let why = guest
            .cpu_policy_error
            .as_deref()
            .unwrap_or("the guest's CPU policy could not be read");
        return unprobed(CheckKind::Cpu, name, why);
    };
    let Some(target) = target else {
        return unprobed(CheckKind::Cpu, name, "the target was not probed");
    };
    let Some(max) = &target.pv_max else {
        return unprobed(
            CheckKind::Cpu,
            name,
            "the target's PV max policy is unknown (no xenadm and no xen-cpuid there)",
        );
    };
    if guest.domain_type != "pv" {
        // PV max is what the comparison has for every host; HVM/PVH policies are a superset
        // on the same CPU, so a gap here is a gap there too, but not the other way round.
        return row(
            CheckKind::Cpu,
            name,
            Verdict::Unchecked,
            format!(
                "a {} guest: only PV policies are compared",
                guest.domain_type
            ),
            "",
        );
    }
    let gap = compare(policy, max);
    if let Some((here, there)) = &gap.vendor_mismatch {
        return row(
            CheckKind::Cpu,
            name,
            Verdict::Fail,
            format!("CPU vendor {here} here, {there} on the target"),
            "migrate only between hosts of the same CPU vendor",
        );
    }
    if gap.fits() {
        return row(
            CheckKind::Cpu,
            name,
            Verdict::Pass,
            "every feature of the guest's CPU policy is in the target's PV max policy",
            "",
        );
    }
    let mut fix = format!(
        "add `{}` to the guest's config and restart it (a policy is fixed at boot)",
        gap.fix_line.as_deref().unwrap_or_default()
    );
    if !gap.unnamed.is_empty() {
        fix.push_str(&format!(
            "; no cpuid= key for {}: use `xenadm cpuid mask` for the list form",
            gap.unnamed.join(", ")
        ));
    }
    row(
        CheckKind::Cpu,
        name,
        Verdict::Fail,
        format!(
            "the guest uses {} feature{} the target lacks: {} (Xen accepts it, and the guest can crash there with the source copy gone)",
            gap.missing.len(),
            if gap.missing.len() == 1 { "" } else { "s" },
            gap.missing.join(", ")
        ),
        fix,
    )
}

/// Whether the source levels PV guests' userspace CPUID. The evidence (dom0's userspace view
/// against dom0's policy) outranks the capabilities Xen claims: under QEMU TCG, Xen finds AMD
/// masking MSRs that QEMU accepts but does not apply, and userspace still reads the raw CPU.
fn levelling_row(source: &SourceFacts, guest: &GuestFacts) -> CheckRow {
    let name = "cpuid levelling";
    let levelling = &source.levelling;
    let pv = guest.domain_type == "pv";
    let caps_text = match levelling.caps {
        Some(caps) if caps.faulting() => "Xen has CPUID faulting".to_owned(),
        Some(caps) if !caps.masked_words().is_empty() => format!(
            "Xen claims masking MSRs for {} (no faulting)",
            caps.masked_words().join(", ")
        ),
        Some(_) => "Xen has no CPUID faulting or masking".to_owned(),
        None => "Xen's levelling caps are unknown".to_owned(),
    };
    let evidence = match (&levelling.dom0_userspace, &levelling.dom0_policy) {
        (Some(seen), Some(policy)) => Some(hidden_features(seen, policy)),
        _ => None,
    };
    let kernel_only = "a cpuid= mask protects only the guest kernel; userspace that picks code by CPUID can still fault on the target";
    let levels = levelling
        .caps
        .map(|caps| caps.faulting() || !caps.masked_words().is_empty());
    match (evidence, levels) {
        (Some(hidden), _) if !hidden.is_empty() => row(
            CheckKind::Levelling,
            name,
            if pv { Verdict::Warn } else { Verdict::Pass },
            format!(
                "not levelled: dom0's userspace reads {} feature{} its policy hides ({}), so PV guests' userspace reads the raw CPU; {caps_text}",
                hidden.len(),
                if hidden.len() == 1 { "" } else { "s" },
                shorten(&hidden, 8)
            ),
            if pv { kernel_only } else { "" },
        ),
        (Some(_), Some(true)) => row(
            CheckKind::Levelling,
            name,
            Verdict::Pass,
            format!("levelled: dom0's userspace CPUID matches dom0's policy; {caps_text}"),
            "",
        ),
        (_, Some(false)) => row(
            CheckKind::Levelling,
            name,
            if pv { Verdict::Warn } else { Verdict::Pass },
            format!("not levelled: {caps_text}, so PV guests' userspace reads the raw CPU"),
            if pv { kernel_only } else { "" },
        ),
        (None, Some(true)) => row(
            CheckKind::Levelling,
            name,
            Verdict::Pass,
            format!("{caps_text}; dom0's userspace view was not compared"),
            "",
        ),
        (_, None) => unprobed(
            CheckKind::Levelling,
            name,
            &format!("{caps_text} and dom0's userspace view was not compared"),
        ),
    }
}

fn shorten(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!(
            "{}, ... {} more",
            items[..max].join(", "),
            items.len() - max
        )
    }
}

fn disk_rows(guest: &GuestFacts, target: Option<&TargetFacts>) -> Vec<CheckRow> {
    guest
        .disks
        .iter()
        .map(|disk| {
            let name = format!("disk {}", disk.vdev);
            if let Some(script) = &disk.script {
                return unprobed(
                    CheckKind::Disk,
                    name,
                    &format!("{} is reached through script {script}", disk.path),
                );
            }
            if disk.cdrom && disk.path.is_empty() {
                return row(CheckKind::Disk, name, Verdict::Pass, "empty CD-ROM", "");
            }
            let Some(target) = target else {
                return unprobed(CheckKind::Disk, name, "the target was not probed");
            };
            let Some(there) = target.disks.iter().find(|d| d.path == disk.path) else {
                return unprobed(
                    CheckKind::Disk,
                    name,
                    &format!("the probe did not report {}", disk.path),
                );
            };
            match (&there.error, there.size_bytes, disk.size_bytes) {
                (Some(err), _, _) if err == "missing" => row(
                    CheckKind::Disk,
                    name,
                    Verdict::Fail,
                    format!("{} does not exist on the target", disk.path),
                    format!(
                        "make {} available on the target (shared storage, or copy it)",
                        disk.path
                    ),
                ),
                (Some(err), _, _) => unprobed(
                    CheckKind::Disk,
                    name,
                    &format!("{} on the target: {err}", disk.path),
                ),
                (None, Some(size_there), Some(size_here)) if size_there == size_here => row(
                    CheckKind::Disk,
                    name,
                    Verdict::Pass,
                    format!("{} present, {size_here} bytes on both", disk.path),
                    "",
                ),
                (None, Some(size_there), Some(size_here)) => row(
                    CheckKind::Disk,
                    name,
                    Verdict::Fail,
                    format!(
                        "{} is {size_here} bytes here, {size_there} bytes on the target",
                        disk.path
                    ),
                    "give the target the same disk (same storage, same size)",
                ),
                (None, Some(size_there), None) => row(
                    CheckKind::Disk,
                    name,
                    Verdict::Warn,
                    format!(
                        "{} present on the target ({size_there} bytes); its size here could not be read{}",
                        disk.path,
                        disk.size_error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ),
                    "",
                ),
                (None, None, _) => unprobed(
                    CheckKind::Disk,
                    name,
                    &format!("the size of {} on the target is unknown", disk.path),
                ),
            }
        })
        .collect()
}

fn memory_row(guest: &GuestFacts, target: Option<&TargetFacts>) -> CheckRow {
    let name = "memory";
    let Some(need) = guest.need_memory_kib else {
        return unprobed(
            CheckKind::Memory,
            name,
            "the guest's memory need is unknown",
        );
    };
    let Some(free) = target.and_then(|t| t.free_memory_kib) else {
        return unprobed(
            CheckKind::Memory,
            name,
            "the target's free memory is unknown",
        );
    };
    let mib = |kib: u64| kib.div_ceil(1024);
    if need <= free {
        row(
            CheckKind::Memory,
            name,
            Verdict::Pass,
            format!(
                "needs {} MiB, the target has {} MiB free",
                mib(need),
                free / 1024
            ),
            "",
        )
    } else {
        row(
            CheckKind::Memory,
            name,
            Verdict::Fail,
            format!(
                "needs {} MiB, the target has only {} MiB free",
                mib(need),
                free / 1024
            ),
            format!(
                "free {} MiB on the target (stop or shrink guests there, or balloon dom0 down with xl mem-set 0)",
                mib(need - free)
            ),
        )
    }
}

fn bridge_rows(guest: &GuestFacts, target: Option<&TargetFacts>) -> Vec<CheckRow> {
    let mut bridges: Vec<String> = guest
        .nics
        .iter()
        .map(|n| n.bridge.clone().unwrap_or_else(|| "xenbr0".to_owned()))
        .collect();
    bridges.sort();
    bridges.dedup();
    bridges
        .into_iter()
        .map(|bridge| {
            let name = format!("bridge {bridge}");
            let Some(list) = target.and_then(|t| t.bridges.as_ref()) else {
                return unprobed(
                    CheckKind::Bridge,
                    name,
                    "the target's bridges are unknown",
                );
            };
            if list.contains(&bridge) {
                row(
                    CheckKind::Bridge,
                    name,
                    Verdict::Pass,
                    format!("{bridge} exists on the target"),
                    "",
                )
            } else {
                row(
                    CheckKind::Bridge,
                    name,
                    Verdict::Fail,
                    format!("the target has no bridge {bridge}"),
                    format!(
                        "create {bridge} on the target (ip link add {bridge} type bridge), or move the vif to a bridge it has"
                    ),
                )
            }
        })
        .collect()
}

fn pci_row(guest: &GuestFacts) -> CheckRow {
    if guest.pci_devices.is_empty() {
        row(
            CheckKind::Pci,
            "pci",
            Verdict::Pass,
            "no PCI passthrough",
            "",
        )
    } else {
        row(
            CheckKind::Pci,
            "pci",
            Verdict::Fail,
            format!(
                "PCI devices passed through: {}",
                guest.pci_devices.join(", ")
            ),
            format!(
                "detach them first (xl pci-detach {} BDF); Xen cannot migrate a guest with passthrough",
                guest.name
            ),
        )
    }
}

/// `major.minor` of a Xen version text (`4.17.5` -> (4, 17)).
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((major, minor))
}

fn version_row(source: &SourceFacts, target: Option<&TargetFacts>) -> CheckRow {
    let name = "xen version";
    let (Some(here), Some(there)) = (
        source.xen_version.as_deref(),
        target.and_then(|t| t.xen_version.as_deref()),
    ) else {
        return unprobed(CheckKind::XenVersion, name, "a Xen version is unknown");
    };
    match (major_minor(here), major_minor(there)) {
        (Some(a), Some(b)) if a <= b && a >= (4, 6) => row(
            CheckKind::XenVersion,
            name,
            Verdict::Pass,
            format!("{here} here, {there} on the target (migration stream v2/v3)"),
            "",
        ),
        (Some(a), Some(_)) if a < (4, 6) => row(
            CheckKind::XenVersion,
            name,
            Verdict::Fail,
            format!("{here} here predates migration stream v2"),
            "upgrade the source to Xen 4.6 or later",
        ),
        (Some(_), Some(_)) => row(
            CheckKind::XenVersion,
            name,
            Verdict::Fail,
            format!(
                "{here} here, {there} on the target: Xen migrates only to the same or a newer release"
            ),
            "upgrade the target's Xen first",
        ),
        _ => unprobed(
            CheckKind::XenVersion,
            name,
            &format!("cannot read the versions {here:?} and {there:?}"),
        ),
    }
}

fn name_row(guest: &GuestFacts, target: Option<&TargetFacts>) -> CheckRow {
    let name = "name";
    let Some(domains) = target.and_then(|t| t.domains.as_ref()) else {
        return unprobed(CheckKind::Name, name, "the target's domains are unknown");
    };
    match domains.iter().find(|d| d.name == guest.name) {
        None => row(
            CheckKind::Name,
            name,
            Verdict::Pass,
            format!("no domain {} on the target", guest.name),
            "",
        ),
        Some(d) if d.uuid.as_deref() == Some(guest.uuid.as_str()) => row(
            CheckKind::Name,
            name,
            Verdict::Pass,
            format!("{} on the target is this guest (same host)", guest.name),
            "",
        ),
        Some(_) => row(
            CheckKind::Name,
            name,
            Verdict::Fail,
            format!(
                "the target already runs another domain named {}",
                guest.name
            ),
            "rename or remove that domain on the target",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_major_minor() {
        assert_eq!(major_minor("4.17.5"), Some((4, 17)));
        assert_eq!(major_minor("4.18-rc"), Some((4, 18)));
        assert_eq!(major_minor("4"), None);
        assert_eq!(major_minor("x.y"), None);
    }

    #[test]
    fn verdicts_order_and_exit_codes() {
        assert!(Verdict::Fail > Verdict::Unchecked);
        assert!(Verdict::Unchecked > Verdict::Warn);
        assert!(Verdict::Warn > Verdict::Pass);
        assert_eq!(Verdict::Pass.exit_code(), 0);
        assert_eq!(Verdict::Warn.exit_code(), 0);
        assert_eq!(Verdict::Fail.exit_code(), 1);
        assert_eq!(Verdict::Unchecked.exit_code(), 2);
    }
}
