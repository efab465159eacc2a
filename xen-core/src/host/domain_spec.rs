//! How xl reads a domain argument: a number is a domid, anything else is a name.
//!
//! `xl list 3`, `xl migrate web1 host2` and every other xl command resolve their domain argument
//! the same way (libxl's `libxl_domain_qualifier_to_domid`); [`DomainSpec`] is that rule, so
//! that every xenadm command, and every embedder, agrees with xl.

use std::fmt;
use std::str::FromStr;

use crate::XenError;
use crate::host::{DomId, DomainName, DomainStats};

/// A domain as the user named it: by id or by name, decided as xl decides.
///
/// ```
/// use xen_core::host::{DomId, DomainName, DomainSpec};
///
/// assert_eq!(DomainSpec::parse("3"), DomainSpec::Id(DomId(3)));
/// assert_eq!(DomainSpec::parse("web1"), DomainSpec::Name(DomainName::new("web1")));
/// // A number is always an id, even if a domain is named "42".
/// assert_eq!(DomainSpec::parse("42"), DomainSpec::Id(DomId(42)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DomainSpec {
    /// A domain id (the argument was a number).
    Id(DomId),
    /// A domain name, compared byte for byte.
    Name(DomainName),
}

impl DomainSpec {
    /// Reads a domain argument: a decimal number is a domid, anything else a name.
    pub fn parse(query: &str) -> DomainSpec {
        match query.parse::<u32>() {
            Ok(id) => DomainSpec::Id(DomId(id)),
            Err(_) => DomainSpec::Name(DomainName::new(query)),
        }
    }

    /// Whether `domain` is the one meant.
    pub fn matches(&self, domain: &DomainStats) -> bool {
        match self {
            DomainSpec::Id(id) => domain.domid == *id,
            DomainSpec::Name(name) => domain.name == *name,
        }
    }

    /// The first domain in `domains` that is the one meant.
    pub fn find<'a>(&self, domains: &'a [DomainStats]) -> Option<&'a DomainStats> {
        domains.iter().find(|d| self.matches(d))
    }
}

impl FromStr for DomainSpec {
    type Err = std::convert::Infallible;

    fn from_str(query: &str) -> Result<DomainSpec, Self::Err> {
        Ok(DomainSpec::parse(query))
    }
}

impl fmt::Display for DomainSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainSpec::Id(id) => id.fmt(f),
            DomainSpec::Name(name) => f.write_str(&String::from_utf8_lossy(name.as_bytes())),
        }
    }
}

/// The one domain `query` names (by id or name, as xl reads it), or
/// [`XenError::NoSuchDomain`].
///
/// ```
/// use xen_core::host::{DomainName, DomainStats, lookup};
///
/// let mut web1 = DomainStats::default();
/// web1.name = DomainName::new("web1");
/// let domains = [web1];
/// assert_eq!(lookup(&domains, "web1")?.name, DomainName::new("web1"));
/// assert!(lookup(&domains, "db").is_err());
/// # Ok::<(), xen_core::XenError>(())
/// ```
pub fn lookup<'a>(domains: &'a [DomainStats], query: &str) -> Result<&'a DomainStats, XenError> {
    DomainSpec::parse(query)
        .find(domains)
        .ok_or_else(|| XenError::NoSuchDomain {
            query: query.to_owned(),
        })
}

/// The domains named (by id or name) in `queries`, keeping the order of `domains`; all of them
/// when `queries` is empty. Fails with [`XenError::NoSuchDomain`] for the first query that names
/// no domain, as `xl list DOMAIN...` does.
pub fn select<S: AsRef<str>>(
    domains: Vec<DomainStats>,
    queries: &[S],
) -> Result<Vec<DomainStats>, XenError> {
    if queries.is_empty() {
        return Ok(domains);
    }
    let specs: Vec<DomainSpec> = queries
        .iter()
        .map(|q| DomainSpec::parse(q.as_ref()))
        .collect();
    if let Some((query, _)) = queries
        .iter()
        .zip(&specs)
        .find(|(_, spec)| spec.find(&domains).is_none())
    {
        return Err(XenError::NoSuchDomain {
            query: query.as_ref().to_owned(),
        });
    }
    Ok(domains
        .into_iter()
        .filter(|d| specs.iter().any(|spec| spec.matches(d)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(id: u32, name: &str) -> DomainStats {
        DomainStats {
            domid: DomId(id),
            name: DomainName::new(name),
            ..DomainStats::default()
        }
    }

    #[test]
    fn test_number_is_an_id_anything_else_a_name() {
        assert_eq!(DomainSpec::parse("0"), DomainSpec::Id(DomId(0)));
        assert_eq!(
            DomainSpec::parse("web 1"),
            DomainSpec::Name(DomainName::new("web 1"))
        );
        assert_eq!(
            DomainSpec::parse("-1"),
            DomainSpec::Name(DomainName::new("-1"))
        );
        assert_eq!(DomainSpec::parse("7").to_string(), "7");
        assert_eq!(DomainSpec::parse("web1").to_string(), "web1");
    }

    #[test]
    fn test_select_by_name_or_id() {
        let all = vec![domain(0, "Domain-0"), domain(3, "web1"), domain(7, "42")];
        let picked = select(all.clone(), &["web1", "0"]).unwrap();
        assert_eq!(picked.iter().map(|d| d.domid.0).collect::<Vec<_>>(), [0, 3]);
        // A number is a domid, as in xl: "42" is not looked up as a name.
        assert!(select(all.clone(), &["42"]).is_err());
        assert_eq!(select(all.clone(), &[] as &[&str]).unwrap().len(), 3);
        match select(all, &["web1", "db"]) {
            Err(XenError::NoSuchDomain { query }) => assert_eq!(query, "db"),
            other => panic!("expected NoSuchDomain, got {other:?}"),
        }
    }

    #[test]
    fn test_lookup_one() {
        let all = vec![domain(0, "Domain-0"), domain(3, "web1")];
        assert_eq!(lookup(&all, "3").unwrap().name, DomainName::new("web1"));
        assert_eq!(lookup(&all, "Domain-0").unwrap().domid, DomId(0));
        assert!(matches!(
            lookup(&all, "4"),
            Err(XenError::NoSuchDomain { query }) if query == "4"
        ));
    }
}
