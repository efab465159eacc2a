//! `xenadm list`: the domains, like `xl list`.

use std::path::PathBuf;

use xen_core::XenError;
use xen_core::host::DomainStats;
use xen_core::host::capture::parse_xl_list;
use xen_core::render::xl_list;

use crate::commands::host;
use crate::error::CliError;
use crate::output::Output;

/// Options of `xenadm list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only these domains (names or ids), like `xl list DOMAIN`.
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// Read saved `xl list` output instead of this host (`-` for standard input), e.g. to
    /// convert it with `--json`.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
}

/// Runs `xenadm list`: `xl list`'s columns, byte for byte, or `--json` with every detail
/// (vCPUs, vifs, VBDs) of each domain.
pub fn run(args: &ListArgs, out: &Output) -> Result<u8, CliError> {
    let domains = match &args.replay {
        Some(path) => parse_xl_list(&host::read_capture(path)?)?,
        None => host::open()?.domains()?,
    };
    let domains = select(domains, &args.domains)?;
    if out.json {
        out.print_json(&domains)?;
    } else {
        let mut text = Vec::new();
        xl_list::write(&mut text, &domains)?;
        host::print_bytes(&text)?;
    }
    Ok(0)
}

/// The domains named (by name or id) in `queries`, in domid order; all without queries.
fn select(domains: Vec<DomainStats>, queries: &[String]) -> Result<Vec<DomainStats>, CliError> {
    if queries.is_empty() {
        return Ok(domains);
    }
    for query in queries {
        if !domains.iter().any(|d| matches(d, query)) {
            return Err(XenError::NoSuchDomain {
                query: query.clone(),
            }
            .into());
        }
    }
    Ok(domains
        .into_iter()
        .filter(|d| queries.iter().any(|q| matches(d, q)))
        .collect())
}

/// xl resolves a domain argument as a domid when it is a number, else as a name.
fn matches(domain: &DomainStats, query: &str) -> bool {
    match query.parse::<u32>() {
        Ok(id) => domain.domid.0 == id,
        Err(_) => domain.name.as_bytes() == query.as_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xen_core::host::{DomId, DomainName};

    fn domain(id: u32, name: &str) -> DomainStats {
        let mut d = DomainStats::default();
        d.domid = DomId(id);
        d.name = DomainName::new(name);
        d
    }

    #[test]
    fn test_select_by_name_or_id() {
        let all = vec![domain(0, "Domain-0"), domain(3, "web1"), domain(7, "42")];
        let picked = select(all.clone(), &["web1".into(), "0".into()]).unwrap();
        assert_eq!(picked.iter().map(|d| d.domid.0).collect::<Vec<_>>(), [0, 3]);
        // A number is a domid, as in xl: "42" is not looked up as a name.
        assert!(select(all.clone(), &["42".into()]).is_err());
        assert!(matches!(
            select(all, &["db".into()]),
            Err(CliError::Xen(XenError::NoSuchDomain { .. }))
        ));
    }
}
