//! A target without xenadm: one shell script of stock commands (`xl info`, `xen-cpuid -p`,
//! `blockdev`/`stat`, `ip link`, `xl list -v`) sent over the transport, and a total parser of
//! its answer into [`TargetFacts`]. What the stock tools cannot tell is noted in the facts.

use std::collections::BTreeMap;

use super::facts::{
    CpuPolicy, CpuidLeaf, MAX_POLICY_LEAVES, ProbeKind, TargetDisk, TargetDomain, TargetFacts,
};
use crate::XenError;

/// Quotes a word for a POSIX shell: `'...'` with each `'` as `'\''`.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The script the target's `sh -s` runs: sections of output, each opened by `@@section NAME`
/// and closed by `@@rc STATUS`, and one `@@disk` block per path. Paths with a newline cannot be
/// asked about this way and are left out (the parser reports them unchecked).
pub fn script(disk_paths: &[String]) -> String {
    let mut s = String::from(
        "PATH=\"$PATH:/usr/sbin:/sbin:/usr/local/sbin\"\n\
         for d in /usr/lib/xen-*/bin /usr/lib/xen/bin; do [ -d \"$d\" ] && PATH=\"$PATH:$d\"; done\n\
         export LC_ALL=C\n\
         echo '@@section hostname'; hostname; echo \"@@rc $?\"\n\
         echo '@@section xl-info'; xl info 2>&1; echo \"@@rc $?\"\n\
         echo '@@section xen-cpuid'\n\
         if command -v xen-cpuid >/dev/null 2>&1; then xen-cpuid -p 2>&1; echo \"@@rc $?\"; else echo \"@@rc 127\"; fi\n\
         echo '@@section bridges'; ip -o link show type bridge 2>&1; echo \"@@rc $?\"\n\
         echo '@@section domains'; xl list -v 2>&1; echo \"@@rc $?\"\n",
    );
    for path in disk_paths.iter().filter(|p| !p.contains('\n')) {
        let q = shell_quote(path);
        s.push_str(&format!(
            "echo '@@section disk'; echo {q}; \
             if [ ! -e {q} ]; then echo missing; \
             elif [ -b {q} ]; then blockdev --getsize64 {q} 2>&1; \
             else stat -L -c %s {q} 2>&1; fi; echo \"@@rc $?\"\n"
        ));
    }
    s
}

/// One section of the answer: its lines and the status its commands left.
#[derive(Debug, Default)]
struct Section<'a> {
    lines: Vec<&'a str>,
    rc: Option<i32>,
}

/// Parses the script's answer from `host` into facts.
///
/// # Errors
/// [`XenError::Probe`] naming the host and line when the answer is not the script's (an
/// unexpected line outside a section, a section never closed, a malformed policy line).
pub fn parse(host: &str, disk_paths: &[String], answer: &str) -> Result<TargetFacts, XenError> {
    let bad = |line: usize, what: &str| XenError::Probe {
        host: host.to_owned(),
        what: format!("stock probe answer, line {line}: {what}"),
    };
    let mut sections: Vec<(&str, Section<'_>, usize)> = Vec::new();
    let mut open: Option<(&str, Section<'_>, usize)> = None;
    for (index, line) in answer.lines().enumerate() {
        let number = index + 1;
        if let Some(name) = line.strip_prefix("@@section ") {
            if open.is_some() {
                return Err(bad(number, "a section opens before the last one closed"));
            }
            open = Some((name, Section::default(), number));
        } else if let Some(rc) = line.strip_prefix("@@rc ") {
            let Some((name, mut section, start)) = open.take() else {
                return Err(bad(number, "a status outside any section"));
            };
            section.rc = Some(rc.trim().parse().map_err(|_| bad(number, "bad status"))?);
            sections.push((name, section, start));
        } else if let Some((_, section, _)) = open.as_mut() {
            section.lines.push(line);
        } else if !line.trim().is_empty() {
            // Login banners and motd lines before the first section are the shell's, not ours.
            continue;
        }
    }
    if let Some((name, _, start)) = open {
        return Err(bad(start, &format!("section {name} never closed")));
    }
    let mut facts = TargetFacts::new(ProbeKind::Stock, host);
    let mut disks: BTreeMap<String, TargetDisk> = BTreeMap::new();
    for (name, section, start) in &sections {
        let ok = section.rc == Some(0);
        match *name {
            "hostname" if ok => {
                if let Some(h) = section.lines.first() {
                    facts.hostname = h.trim().to_owned();
                }
            }
            "xl-info" if ok => {
                let info = key_values(&section.lines);
                facts.xen_version = info.get("xen_version").cloned();
                facts.free_memory_kib = info
                    .get("free_memory")
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(|mib| mib * 1024);
            }
            "xen-cpuid" if ok => {
                let policies = parse_xen_cpuid(&section.lines)
                    .map_err(|(line, what)| bad(start + line, &what))?;
                facts.pv_max = policies.get("PV Max").cloned();
                facts.host_policy = policies.get("Host").cloned();
            }
            "xen-cpuid" if section.rc == Some(127) => {
                facts
                    .notes
                    .push("no xen-cpuid there: its CPU policy is unknown".to_owned());
            }
            "bridges" if ok => {
                facts.bridges = Some(
                    section
                        .lines
                        .iter()
                        .filter_map(|l| l.split(':').nth(1))
                        .map(|name| name.trim().split('@').next().unwrap_or("").to_owned())
                        .filter(|name| !name.is_empty())
                        .collect(),
                );
            }
            "domains" if ok => facts.domains = Some(parse_xl_list_v(&section.lines)),
            "disk" => {
                let Some(path) = section.lines.first() else {
                    return Err(bad(*start, "a disk section without its path"));
                };
                let value = section.lines.get(1).map(|v| v.trim()).unwrap_or("");
                let disk = if value == "missing" {
                    TargetDisk {
                        path: (*path).to_owned(),
                        size_bytes: None,
                        error: Some("missing".to_owned()),
                    }
                } else {
                    match (ok, value.parse::<u64>()) {
                        (true, Ok(size)) => TargetDisk {
                            path: (*path).to_owned(),
                            size_bytes: Some(size),
                            error: None,
                        },
                        _ => TargetDisk {
                            path: (*path).to_owned(),
                            size_bytes: None,
                            error: Some(format!("size unreadable: {value}")),
                        },
                    }
                };
                disks.insert(disk.path.clone(), disk);
            }
            other => facts.notes.push(format!(
                "{other} failed there (status {})",
                section.rc.unwrap_or(-1)
            )),
        }
    }
    for path in disk_paths {
        match disks.remove(path) {
            Some(disk) => facts.disks.push(disk),
            None => facts.disks.push(TargetDisk {
                path: path.clone(),
                size_bytes: None,
                error: Some("not asked (a path with a newline)".to_owned()),
            }),
        }
    }
    facts
        .notes
        .push("levelling caps unknown (no xenadm)".to_owned());
    Ok(facts)
}

/// `key : value` lines of `xl info`.
fn key_values(lines: &[&str]) -> BTreeMap<String, String> {
    lines
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// `xl list -v`: the name (first column) and UUID (seventh) of each domain. Names with spaces
/// make the columns ambiguous: such a row keeps its name up to the id column and no UUID.
fn parse_xl_list_v(lines: &[&str]) -> Vec<TargetDomain> {
    lines
        .iter()
        .skip(1)
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let name = (*words.first()?).to_owned();
            let uuid = words
                .get(6)
                .filter(|w| w.len() == 36 && w.matches('-').count() == 4)
                .map(|w| (*w).to_owned());
            Some(TargetDomain { name, uuid })
        })
        .collect()
}

/// `xen-cpuid -p`: every `NAME policy: ...` block's CPUID leaves. Lines are
/// `  LLLLLLLL:SSSSSSSS -> AAAAAAAA:BBBBBBBB:CCCCCCCC:DDDDDDDD`; the MSR lines and headers are
/// skipped. Errors carry the 0-based line within the section.
fn parse_xen_cpuid(lines: &[&str]) -> Result<BTreeMap<String, CpuPolicy>, (usize, String)> {
    let mut out: BTreeMap<String, CpuPolicy> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_cpuid = false;
    for (index, line) in lines.iter().enumerate() {
        if let Some((name, _)) = line.split_once(" policy:")
            && !line.starts_with(' ')
        {
            current = Some(name.trim().to_owned());
            out.insert(name.trim().to_owned(), CpuPolicy::default());
            in_cpuid = false;
            continue;
        }
        let trimmed = line.trim();
        match trimmed {
            "CPUID:" => {
                in_cpuid = true;
                continue;
            }
            "MSRs:" => {
                in_cpuid = false;
                continue;
            }
            _ => {}
        }
        let Some(name) = &current else { continue };
        if !in_cpuid || trimmed.starts_with("leaf") || trimmed.is_empty() {
            continue;
        }
        let leaf = parse_leaf_line(trimmed).ok_or_else(|| {
            (
                index + 1,
                format!("not a xen-cpuid policy line: {trimmed:?}"),
            )
        })?;
        let policy = out.entry(name.clone()).or_default();
        if policy.leaves.len() >= MAX_POLICY_LEAVES {
            return Err((index + 1, format!("more than {MAX_POLICY_LEAVES} leaves")));
        }
        policy.leaves.push(leaf);
    }
    Ok(out)
}

fn parse_leaf_line(line: &str) -> Option<CpuidLeaf> {
    let (key, regs) = line.split_once("->")?;
    let (leaf, subleaf) = key.trim().split_once(':')?;
    let hex = |s: &str| {
        let s = s.trim();
        (s.len() == 8)
            .then(|| u32::from_str_radix(s, 16).ok())
            .flatten()
    };
    let mut r = regs.trim().split(':').map(hex);
    let leaf = CpuidLeaf {
        leaf: hex(leaf)?,
        subleaf: hex(subleaf)?,
        a: r.next()??,
        b: r.next()??,
        c: r.next()??,
        d: r.next()??,
    };
    r.next().is_none().then_some(leaf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("/var/lib/xen/a.img"), "/var/lib/xen/a.img");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$(reboot)"), "'$(reboot)'");
    }

    #[test]
    fn the_script_runs_in_a_real_shell_and_parses() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("it's here.img");
        std::fs::write(&here, vec![0u8; 4096]).unwrap();
        let gone = dir.path().join("gone.img").display().to_string();
        let paths = vec![here.display().to_string(), gone.clone()];
        let out = std::process::Command::new("sh")
            .arg("-s")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(script(&paths).as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let facts = parse("t", &paths, &text).unwrap();
        assert_eq!(facts.probed_by, ProbeKind::Stock);
        assert_eq!(facts.disks.len(), 2);
        assert_eq!(facts.disks[0].size_bytes, Some(4096), "{text}");
        assert_eq!(facts.disks[1].error.as_deref(), Some("missing"));
        assert!(!facts.hostname.is_empty());
    }

    #[test]
    fn unclosed_sections_are_located() {
        let err = parse("hostb", &[], "motd\n@@section xl-info\nhost : b\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("hostb") && err.contains("line 2"), "{err}");
        let err = parse("hostb", &[], "@@rc 0\n").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn leaf_lines_are_strict() {
        assert_eq!(
            parse_leaf_line("00000007:00000000 -> 00000002:218c0329:00400200:00000010"),
            Some(CpuidLeaf {
                leaf: 7,
                subleaf: 0,
                a: 2,
                b: 0x218c_0329,
                c: 0x0040_0200,
                d: 0x10
            })
        );
        assert_eq!(parse_leaf_line("00000007:0 -> 2:3:4:5"), None);
        assert_eq!(
            parse_leaf_line("00000007:00000000 -> 00000002:218c0329:00400200"),
            None
        );
        assert_eq!(
            parse_leaf_line("00000007:00000000 -> 00000002:218c0329:00400200:00000010:00000000"),
            None
        );
    }
}
