//! The facts a preflight judges: the guest and its host (read here), and the target (read
//! there, by `xenadm migrate-probe --json` or stock commands). Plain data, serde both ways: the
//! target's facts cross the wire as JSON ([`TargetFacts::from_json`], bounded and versioned).

use serde::{Deserialize, Serialize};

use crate::XenError;

/// Version of the probe's JSON ([`TargetFacts::format`]). A reader refuses other versions, so a
/// newer target never gets its facts misread.
pub const PROBE_FORMAT: u32 = 1;

/// Largest probe answer read from a target (bytes). The answer of a real host is a few dozen
/// KiB (two CPU policies of ~100 leaves each).
pub const MAX_PROBE_BYTES: usize = 4 << 20;

/// At most this many CPUID leaves per policy are accepted from a peer (Xen 4.17 serialises
/// about 100; the hypercall ABI's limit is far below this).
pub const MAX_POLICY_LEAVES: usize = 4096;

/// One CPUID leaf of a policy, as Xen serialises it (`xen_cpuid_leaf_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuidLeaf {
    /// The leaf (EAX input).
    pub leaf: u32,
    /// The subleaf (ECX input); `0xffffffff` (`XEN_CPUID_NO_SUBLEAF`) for leaves without one.
    pub subleaf: u32,
    /// EAX.
    pub a: u32,
    /// EBX.
    pub b: u32,
    /// ECX.
    pub c: u32,
    /// EDX.
    pub d: u32,
}

/// A CPU policy: what a domain sees through CPUID (or what Xen can offer one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuPolicy {
    /// Its leaves, in Xen's order.
    pub leaves: Vec<CpuidLeaf>,
}

/// Xen's CPUID levelling capabilities (`xc_get_cpu_levelling_caps`, the
/// `XEN_SYSCTL_CPU_LEVELCAP_*` bits): how Xen can make a PV guest's *userspace* see its policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevellingCaps(pub u32);

impl LevellingCaps {
    /// CPUID faulting: every CPUID of a PV guest traps to Xen, which answers from the policy.
    pub const FAULTING: u32 = 1 << 0;

    /// Whether CPUID faulting is available.
    pub fn faulting(self) -> bool {
        self.0 & Self::FAULTING != 0
    }

    /// The feature words masking MSRs can level (empty without any), e.g. `1.ecx`.
    pub fn masked_words(self) -> Vec<&'static str> {
        const WORDS: [(u32, &str); 8] = [
            (1 << 1, "1.ecx"),
            (1 << 2, "1.edx"),
            (1 << 3, "0x80000001.ecx"),
            (1 << 4, "0x80000001.edx"),
            (1 << 5, "0xd.1.eax"),
            (1 << 6, "6.ecx"),
            (1 << 7, "7.0.eax"),
            (1 << 8, "7.0.ebx"),
        ];
        WORDS
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|&(_, name)| name)
            .collect()
    }
}

/// How this host levels PV guests' CPUID, with the evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevellingFacts {
    /// Xen's levelling capabilities, when libxenguest could tell.
    pub caps: Option<LevellingCaps>,
    /// What dom0's userspace reads with the CPUID instruction (this process, pinned nowhere).
    pub dom0_userspace: Option<CpuPolicy>,
    /// dom0's CPU policy as Xen holds it.
    pub dom0_policy: Option<CpuPolicy>,
}

/// One disk of the guest, from its libxl configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestDisk {
    /// The guest's device name (`xvda`).
    pub vdev: String,
    /// The backing path in dom0 (`pdev_path`), as configured.
    pub path: String,
    /// `raw`, `qcow2`, ... as configured (`raw` when left out).
    pub format: String,
    /// A hotplug script (`block-drbd`, `block-iscsi`, ...): the path is then not a file.
    pub script: Option<String>,
    /// A CD-ROM drive (its medium may differ or be empty).
    pub cdrom: bool,
    /// Its size on this host, in bytes, when it could be read.
    pub size_bytes: Option<u64>,
    /// Why the size could not be read.
    pub size_error: Option<String>,
}

/// One network interface of the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestNic {
    /// The vif's device id.
    pub devid: u32,
    /// The bridge its backend joins (`None`: libxl's default, `xenbr0`).
    pub bridge: Option<String>,
}

/// The guest to move, as this host sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GuestFacts {
    /// Its name.
    pub name: String,
    /// Its domain id here.
    pub domid: u32,
    /// Its UUID (`xxxxxxxx-xxxx-...`).
    pub uuid: String,
    /// `pv`, `pvh` or `hvm`.
    pub domain_type: String,
    /// Memory the target needs for it (`libxl_domain_need_memory`), in KiB.
    pub need_memory_kib: Option<u64>,
    /// Its disks.
    pub disks: Vec<GuestDisk>,
    /// Its network interfaces.
    pub nics: Vec<GuestNic>,
    /// PCI devices passed through (`BDF` text).
    pub pci_devices: Vec<String>,
    /// Its CPU policy as Xen holds it (what its kernel saw at boot).
    pub cpu_policy: Option<CpuPolicy>,
    /// Why the CPU policy could not be read.
    pub cpu_policy_error: Option<String>,
}

/// This host (the source).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SourceFacts {
    /// Host name.
    pub hostname: String,
    /// Xen version, e.g. `4.17.5`.
    pub xen_version: Option<String>,
    /// How it levels PV guests' CPUID.
    pub levelling: LevellingFacts,
}

/// How the target's facts were gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// `xenadm migrate-probe --json` on the target: every fact from the Xen libraries.
    Xenadm,
    /// The target has no xenadm: `xl info`, `xen-cpuid`, `blockdev`/`stat`, `ip link`.
    Stock,
}

/// One disk path as the target sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetDisk {
    /// The path asked about.
    pub path: String,
    /// Its size in bytes (block device or file), when it exists and could be read.
    pub size_bytes: Option<u64>,
    /// Why not: `missing`, or the error text.
    pub error: Option<String>,
}

/// A domain running on the target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetDomain {
    /// Its name.
    pub name: String,
    /// Its UUID, when known.
    pub uuid: Option<String>,
}

/// The target host's facts: the probe's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TargetFacts {
    /// [`PROBE_FORMAT`] of the writer.
    pub format: u32,
    /// How they were gathered.
    pub probed_by: ProbeKind,
    /// The target's host name.
    pub hostname: String,
    /// Xen version, e.g. `4.17.5`.
    pub xen_version: Option<String>,
    /// Free memory for new guests (`libxl_get_free_memory`, or `xl info`'s free_memory), KiB.
    pub free_memory_kib: Option<u64>,
    /// The most Xen there can offer a PV guest (`XEN_SYSCTL_cpu_policy_pv_max`).
    pub pv_max: Option<CpuPolicy>,
    /// The host policy (`XEN_SYSCTL_cpu_policy_host`): the CPU as Xen uses it.
    pub host_policy: Option<CpuPolicy>,
    /// Its levelling capabilities.
    pub levelling_caps: Option<LevellingCaps>,
    /// The disk paths asked about.
    pub disks: Vec<TargetDisk>,
    /// Its bridges, when they could be listed.
    pub bridges: Option<Vec<String>>,
    /// Its domains, when they could be listed.
    pub domains: Option<Vec<TargetDomain>>,
    /// What could not be read there, and why.
    pub notes: Vec<String>,
}

impl TargetFacts {
    /// Empty facts of a host, for a prober to fill in.
    pub fn new(probed_by: ProbeKind, hostname: impl Into<String>) -> TargetFacts {
        TargetFacts {
            format: PROBE_FORMAT,
            probed_by,
            hostname: hostname.into(),
            xen_version: None,
            free_memory_kib: None,
            pv_max: None,
            host_policy: None,
            levelling_caps: None,
            disks: Vec::new(),
            bridges: None,
            domains: None,
            notes: Vec::new(),
        }
    }

    /// Reads a probe's answer: at most [`MAX_PROBE_BYTES`], format [`PROBE_FORMAT`], policies
    /// of at most [`MAX_POLICY_LEAVES`] leaves.
    ///
    /// # Errors
    /// [`XenError::Probe`] naming the host, and the line and column of bad JSON.
    pub fn from_json(host: &str, bytes: &[u8]) -> Result<TargetFacts, XenError> {
        let bad = |what: String| XenError::Probe {
            host: host.to_owned(),
            what,
        };
        if bytes.len() > MAX_PROBE_BYTES {
            return Err(bad(format!(
                "the probe's answer is {} bytes, more than the {MAX_PROBE_BYTES} accepted",
                bytes.len()
            )));
        }
        // The format first, so a newer writer is named as such rather than as bad JSON.
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let format: Format = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "the probe's answer is not its JSON (line {}, column {}: {e})",
                e.line(),
                e.column()
            ))
        })?;
        if format.format != PROBE_FORMAT {
            return Err(bad(format!(
                "the probe speaks format {}, this xenadm reads format {PROBE_FORMAT}: use the same xenadm release on both hosts",
                format.format
            )));
        }
        let facts: TargetFacts = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "the probe's answer is malformed (line {}, column {}: {e})",
                e.line(),
                e.column()
            ))
        })?;
        for (name, policy) in [
            ("pv_max", &facts.pv_max),
            ("host_policy", &facts.host_policy),
        ] {
            if let Some(policy) = policy
                && policy.leaves.len() > MAX_POLICY_LEAVES
            {
                return Err(bad(format!(
                    "{name} has {} CPUID leaves, more than the {MAX_POLICY_LEAVES} accepted",
                    policy.leaves.len()
                )));
            }
        }
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TargetFacts {
        let mut facts = TargetFacts::new(ProbeKind::Xenadm, "hostb");
        facts.xen_version = Some("4.17.5".into());
        facts.free_memory_kib = Some(512 * 1024);
        facts.pv_max = Some(CpuPolicy {
            leaves: vec![CpuidLeaf {
                leaf: 1,
                subleaf: 0xffff_ffff,
                a: 0x906ea,
                b: 0,
                c: 0x7ffafbff,
                d: 0xbfebfbff,
            }],
        });
        facts.levelling_caps = Some(LevellingCaps(0));
        facts.disks.push(TargetDisk {
            path: "/var/lib/xen/images/a.img".into(),
            size_bytes: Some(4 << 20),
            error: None,
        });
        facts.bridges = Some(vec!["xenbr0".into()]);
        facts
    }

    #[test]
    fn facts_round_trip_through_json() {
        let facts = sample();
        let json = serde_json::to_vec(&facts).unwrap();
        assert_eq!(TargetFacts::from_json("hostb", &json).unwrap(), facts);
    }

    #[test]
    fn another_format_is_named() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value["format"] = 2.into();
        let err = TargetFacts::from_json("hostb", value.to_string().as_bytes()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("hostb"), "{text}");
        assert!(text.contains("format 2"), "{text}");
    }

    #[test]
    fn bad_json_is_located() {
        let err = TargetFacts::from_json("hostb", b"{\"format\": 1,\n  \"probed_by\": 7}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        let err = TargetFacts::from_json("hostb", b"bash: xenadm: command not found\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not its JSON"), "{err}");
    }

    #[test]
    fn oversized_answers_and_policies_are_refused() {
        let big = vec![b' '; MAX_PROBE_BYTES + 1];
        assert!(TargetFacts::from_json("h", &big).is_err());
        let mut facts = sample();
        facts.pv_max = Some(CpuPolicy {
            leaves: vec![
                CpuidLeaf {
                    leaf: 0,
                    subleaf: 0,
                    a: 0,
                    b: 0,
                    c: 0,
                    d: 0
                };
                MAX_POLICY_LEAVES + 1
            ],
        });
        let json = serde_json::to_vec(&facts).unwrap();
        let err = TargetFacts::from_json("h", &json).unwrap_err().to_string();
        assert!(err.contains("pv_max"), "{err}");
    }

    #[test]
    fn levelling_caps_name_their_words() {
        assert!(LevellingCaps(1).faulting());
        assert!(!LevellingCaps(0b110).faulting());
        assert_eq!(LevellingCaps(0b110).masked_words(), ["1.ecx", "1.edx"]);
        assert!(LevellingCaps(0).masked_words().is_empty());
    }
}
