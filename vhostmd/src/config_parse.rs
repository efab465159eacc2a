//! Reading `vhostmd.conf`: the rules of `vhostmd.dtd` checked in code (element order, required
//! elements and attributes, enumerations), then the value rules of the upstream daemon.
//!
//! A configuration *file* ([`Config::read`]) gets upstream's verdicts: it must have a DOCTYPE
//! naming the `vhostmd` root and a DTD file that exists (resolved next to the file, as libxml2
//! does), or vhostmd refuses to start. [`Config::parse`] checks text embedded in a program:
//! the DTD's rules are checked in code either way, so there a DOCTYPE is optional.

use std::path::{Path, PathBuf};

use crate::config::{
    Action, BUILTIN_ACTION, Config, Context, DEFAULT_CHANNEL_PATH, DEFAULT_DISK_PATH, DiskConfig,
    MAX_DISK_SIZE_BYTES, MIN_DISK_SIZE_BYTES, MetricDef, MetricType, Transports, Variable,
    VirtioConfig,
};
use crate::error::{ConfigProblem, VhostmdError};
use crate::native;
use crate::xml::{self, Element, Node};

/// Configurations larger than this are rejected unread.
pub const MAX_CONFIG_BYTES: usize = 4 * 1024 * 1024;

const METRIC_TYPES: &str = "xml, group, int32, uint32, int64, uint64, real32, real64, string";
const VALUE_TYPES: &str = "int32, uint32, int64, uint64, real32, real64, string";

impl Config {
    /// Reads and checks a configuration file.
    pub fn read(path: &Path) -> Result<Config, VhostmdError> {
        use std::io::Read as _;
        let file = std::fs::File::open(path).map_err(|source| VhostmdError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_CONFIG_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| VhostmdError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        let config = Config::parse(&bytes, path)?;
        Checker {
            bytes: &bytes,
            path,
        }
        .require_dtd()?;
        Ok(config)
    }

    /// Checks configuration text; `path` only names it in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Config, VhostmdError> {
        let checker = Checker { bytes, path };
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(checker.error(
                0,
                ConfigProblem::TooLarge {
                    limit_bytes: MAX_CONFIG_BYTES,
                },
            ));
        }
        let doc = xml::parse(bytes)
            .map_err(|(offset, problem)| checker.error(offset, ConfigProblem::Xml(problem)))?;
        if let Some((name, offset)) = &doc.doctype
            && name != "vhostmd"
        {
            return Err(checker.error(
                *offset,
                ConfigProblem::WrongRoot {
                    found: name.clone(),
                },
            ));
        }
        checker.config(&doc.root)
    }
}

struct Checker<'a> {
    bytes: &'a [u8],
    path: &'a Path,
}

impl Checker<'_> {
    /// Upstream validates the file against the DTD its DOCTYPE names before anything else:
    /// no DOCTYPE, or a DTD file that is not there, and vhostmd refuses the configuration.
    fn require_dtd(&self) -> Result<(), VhostmdError> {
        let doc = xml::parse(self.bytes)
            .map_err(|(offset, problem)| self.error(offset, ConfigProblem::Xml(problem)))?;
        let Some((_, name_at)) = doc.doctype else {
            return Err(self.error(0, ConfigProblem::NoDoctype));
        };
        let text = String::from_utf8_lossy(self.bytes);
        let Some(system) = doctype_system_id(&text[name_at..]) else {
            // Only an internal subset: nothing to find on disk (its rules are checked anyway).
            return Ok(());
        };
        let dtd = match self.path.parent() {
            Some(dir) if Path::new(&system).is_relative() => dir.join(&system),
            _ => PathBuf::from(&system),
        };
        if !dtd.is_file() {
            return Err(self.error(name_at, ConfigProblem::DtdMissing { dtd }));
        }
        Ok(())
    }
}

/// The system identifier of `NAME SYSTEM "id"` or `NAME PUBLIC "pub" "id"` (the text after
/// `<!DOCTYPE `), when there is one.
fn doctype_system_id(after: &str) -> Option<String> {
    let rest = after.trim_start_matches(|c: char| !c.is_whitespace() && c != '>' && c != '[');
    let rest = rest.trim_start();
    let (rest, literals) = if let Some(r) = rest.strip_prefix("SYSTEM") {
        (r, 1)
    } else if let Some(r) = rest.strip_prefix("PUBLIC") {
        (r, 2)
    } else {
        return None;
    };
    let mut rest = rest;
    let mut last = None;
    for _ in 0..literals {
        rest = rest.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let body = &rest[1..];
        let end = body.find(quote)?;
        last = Some(body[..end].to_string());
        rest = &body[end + 1..];
    }
    last
}

/// How often an element may appear at one place of a content model.
#[derive(Clone, Copy)]
enum Rep {
    One,
    ZeroOrMore,
    OneOrMore,
}

/// The children a [`Rep`] sequence matched, looked up by the model's element names.
struct Matched<'m, 'e> {
    model: &'m [(&'static str, Rep)],
    /// One group per model item, in document order.
    groups: Vec<Vec<&'e Element>>,
}

impl<'e> Matched<'_, 'e> {
    /// The elements matched by the item named `name` (none for a name not in the model).
    fn all(&self, name: &str) -> &[&'e Element] {
        self.model
            .iter()
            .position(|&(n, _)| n == name)
            .and_then(|i| self.groups.get(i))
            .map_or(&[], Vec::as_slice)
    }

    /// The element of the `Rep::One` item named `name` (`sequence` checked it is there).
    fn one(&self, name: &str) -> &'e Element {
        self.all(name)[0]
    }
}

impl Checker<'_> {
    fn error(&self, offset: usize, problem: ConfigProblem) -> VhostmdError {
        let (line, column) = xml::line_column(self.bytes, offset);
        VhostmdError::Config {
            path: PathBuf::from(self.path),
            line,
            column,
            offset,
            problem,
        }
    }

    fn line(&self, offset: usize) -> usize {
        xml::line_column(self.bytes, offset).0
    }

    /// Checks `element`'s children against a sequence content model; returns the children
    /// matched by each item, by the item's element name.
    fn sequence<'m, 'e>(
        &self,
        element: &'e Element,
        parent: &'static str,
        model: &'m [(&'static str, Rep)],
    ) -> Result<Matched<'m, 'e>, VhostmdError> {
        self.no_text(element, parent)?;
        let mut groups: Vec<Vec<&Element>> = vec![Vec::new(); model.len()];
        let mut item = 0;
        let expected_from = |item: usize| -> String {
            let mut names = Vec::new();
            for (name, rep) in &model[item.min(model.len())..] {
                names.push(format!("<{name}>"));
                if matches!(rep, Rep::One | Rep::OneOrMore) {
                    break;
                }
            }
            if names.is_empty() {
                "nothing more".to_string()
            } else {
                names.join(" or ")
            }
        };
        for child in element.elements() {
            loop {
                let Some(&(name, rep)) = model.get(item) else {
                    return Err(self.error(
                        child.offset,
                        ConfigProblem::UnexpectedElement {
                            found: child.name.clone(),
                            parent,
                            expected: "nothing more".to_string(),
                        },
                    ));
                };
                if child.name == name {
                    groups[item].push(child);
                    if matches!(rep, Rep::One) {
                        item += 1;
                    }
                    break;
                }
                let satisfied = match rep {
                    Rep::One | Rep::OneOrMore => !groups[item].is_empty(),
                    Rep::ZeroOrMore => true,
                };
                if !satisfied {
                    return Err(self.error(
                        child.offset,
                        ConfigProblem::UnexpectedElement {
                            found: child.name.clone(),
                            parent,
                            expected: expected_from(item),
                        },
                    ));
                }
                item += 1;
            }
        }
        for (i, &(_, rep)) in model.iter().enumerate() {
            if matches!(rep, Rep::One | Rep::OneOrMore) && groups[i].is_empty() {
                return Err(self.error(
                    end_offset(element),
                    ConfigProblem::MissingElement {
                        parent,
                        expected: expected_from(i),
                    },
                ));
            }
        }
        Ok(Matched { model, groups })
    }

    /// Element-only content: whitespace text at most.
    fn no_text(&self, element: &Element, name: &'static str) -> Result<(), VhostmdError> {
        for child in &element.children {
            if let Node::Text { text, offset } = child
                && text.contains(|c: char| !c.is_ascii_whitespace())
            {
                return Err(self.error(*offset, ConfigProblem::UnexpectedText { element: name }));
            }
        }
        Ok(())
    }

    /// Text-only content (#PCDATA): returns the text.
    fn pcdata(&self, element: &Element, name: &'static str) -> Result<String, VhostmdError> {
        self.attributes(element, name, &[])?;
        if let Some(child) = element.elements().next() {
            return Err(self.error(child.offset, ConfigProblem::ElementInText { element: name }));
        }
        Ok(element.text())
    }

    /// Only the declared attributes; the required ones must be present.
    fn attributes(
        &self,
        element: &Element,
        name: &'static str,
        declared: &[(&'static str, bool)],
    ) -> Result<(), VhostmdError> {
        for attr in &element.attrs {
            if !declared.iter().any(|(d, _)| *d == attr.name) {
                return Err(self.error(
                    attr.offset,
                    ConfigProblem::UnknownAttribute {
                        element: name,
                        attribute: attr.name.clone(),
                    },
                ));
            }
        }
        for &(attribute, required) in declared {
            if required && element.attr(attribute).is_none() {
                return Err(self.error(
                    element.offset,
                    ConfigProblem::MissingAttribute {
                        element: name,
                        attribute,
                    },
                ));
            }
        }
        Ok(())
    }

    fn config(&self, root: &Element) -> Result<Config, VhostmdError> {
        if root.name != "vhostmd" {
            return Err(self.error(
                root.offset,
                ConfigProblem::WrongRoot {
                    found: root.name.clone(),
                },
            ));
        }
        self.attributes(root, "vhostmd", &[])?;
        let top = self.sequence(
            root,
            "vhostmd",
            &[("globals", Rep::One), ("metrics", Rep::One)],
        )?;
        let globals = top.one("globals");
        self.attributes(globals, "globals", &[])?;
        let g = self.sequence(
            globals,
            "globals",
            &[
                ("disk", Rep::One),
                ("virtio", Rep::ZeroOrMore),
                ("update_period", Rep::One),
                ("path", Rep::One),
                ("transport", Rep::OneOrMore),
            ],
        )?;
        let disk = self.disk(g.one("disk"))?;
        let virtio_elements = g.all("virtio");
        let period_el = g.one("update_period");
        let period_text = self.pcdata(period_el, "update_period")?;
        let period = strtol(&period_text).ok_or_else(|| {
            self.error(
                period_el.offset,
                ConfigProblem::BadNumber {
                    element: "update_period",
                    value: period_text.clone(),
                },
            )
        })?;
        let update_period_secs =
            u64::try_from(period)
                .ok()
                .filter(|&p| p >= 1)
                .ok_or_else(|| {
                    self.error(
                        period_el.offset,
                        ConfigProblem::PeriodTooShort { seconds: period },
                    )
                })?;
        let path = self.pcdata(g.one("path"), "path")?.trim().to_string();
        let mut transports = Transports::default();
        let mut ignored_transports = Vec::new();
        for t in g.all("transport") {
            let text = self.pcdata(t, "transport")?;
            let word = text.trim().to_ascii_lowercase();
            if word.starts_with("vbd") {
                transports.vbd = true;
            } else if word.starts_with("virtio") {
                transports.virtio = true;
            } else if word.starts_with("xenstore") {
                return Err(self.error(
                    t.offset,
                    ConfigProblem::UnsupportedTransport {
                        transport: text.trim().to_string(),
                    },
                ));
            } else {
                // Upstream ignores a word it does not know; said in Config, not hidden.
                ignored_transports.push(text.trim().to_string());
            }
        }
        if !transports.vbd && !transports.virtio {
            transports.vbd = true;
        }
        let mut virtio = VirtioConfig {
            channel_path: PathBuf::from(DEFAULT_CHANNEL_PATH),
            max_channels: 1024,
            expiration_secs: 15,
        };
        for (i, v) in virtio_elements.iter().enumerate() {
            let parsed = self.virtio(v)?;
            if i == 0 {
                virtio = parsed;
            }
        }
        virtio.expiration_secs = virtio
            .expiration_secs
            .max(update_period_secs.saturating_mul(3));
        let metrics_el = top.one("metrics");
        self.attributes(metrics_el, "metrics", &[])?;
        let m = self.sequence(metrics_el, "metrics", &[("metric", Rep::ZeroOrMore)])?;
        let metrics = m
            .all("metric")
            .iter()
            .map(|el| self.metric(el))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            disk,
            virtio,
            update_period_secs,
            path,
            transports,
            ignored_transports,
            metrics,
        })
    }

    fn disk(&self, el: &Element) -> Result<DiskConfig, VhostmdError> {
        self.attributes(el, "disk", &[])?;
        let d = self.sequence(
            el,
            "disk",
            &[("name", Rep::One), ("path", Rep::One), ("size", Rep::One)],
        )?;
        let name = self.pcdata(d.one("name"), "name")?;
        let path_text = self.pcdata(d.one("path"), "path")?;
        let size_el = d.one("size");
        self.attributes(size_el, "size", &[("unit", true)])?;
        if let Some(child) = size_el.elements().next() {
            return Err(self.error(
                child.offset,
                ConfigProblem::ElementInText { element: "size" },
            ));
        }
        let unit = size_el.attr("unit").unwrap_or_default();
        let multiplier: u64 = match unit.chars().next() {
            Some('k' | 'K') => 1024,
            Some('m' | 'M') => 1024 * 1024,
            _ => {
                return Err(self.error(
                    size_el.offset,
                    ConfigProblem::BadUnit {
                        unit: unit.to_string(),
                    },
                ));
            }
        };
        let size_text = size_el.text();
        let size = strtol(&size_text).unwrap_or(0);
        let size_bytes = u64::try_from(size).unwrap_or(0).saturating_mul(multiplier);
        if !(MIN_DISK_SIZE_BYTES..=MAX_DISK_SIZE_BYTES).contains(&size_bytes) {
            return Err(self.error(size_el.offset, ConfigProblem::SizeOutOfRange { size_bytes }));
        }
        let path = path_text.trim();
        Ok(DiskConfig {
            name: name.trim().to_string(),
            path: PathBuf::from(if path.is_empty() {
                DEFAULT_DISK_PATH
            } else {
                path
            }),
            size_bytes,
        })
    }

    fn virtio(&self, el: &Element) -> Result<VirtioConfig, VhostmdError> {
        self.attributes(el, "virtio", &[])?;
        let v = self.sequence(
            el,
            "virtio",
            &[
                ("channel_path", Rep::One),
                ("max_channels", Rep::One),
                ("expiration_time", Rep::One),
            ],
        )?;
        let channel = self.pcdata(v.one("channel_path"), "channel_path")?;
        let number = |el: &Element, name: &'static str| -> Result<u64, VhostmdError> {
            let text = self.pcdata(el, name)?;
            strtol(&text)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| {
                    self.error(
                        el.offset,
                        ConfigProblem::BadNumber {
                            element: name,
                            value: text.clone(),
                        },
                    )
                })
        };
        let max_channels = number(v.one("max_channels"), "max_channels")?;
        let expiration_secs = number(v.one("expiration_time"), "expiration_time")?;
        let channel = channel.trim();
        Ok(VirtioConfig {
            channel_path: PathBuf::from(if channel.is_empty() {
                DEFAULT_CHANNEL_PATH
            } else {
                channel
            }),
            max_channels: u32::try_from(max_channels).unwrap_or(u32::MAX),
            expiration_secs,
        })
    }

    fn metric(&self, el: &Element) -> Result<MetricDef, VhostmdError> {
        self.attributes(
            el,
            "metric",
            &[
                ("type", true),
                ("context", true),
                ("cnt", false),
                ("unit", false),
            ],
        )?;
        let type_text = el.attr("type").unwrap_or_default();
        let kind = MetricType::from_name(type_text)
            .ok_or_else(|| self.attr_error(el, "type", type_text, METRIC_TYPES))?;
        let context_text = el.attr("context").unwrap_or_default();
        let context = Context::from_name(context_text)
            .ok_or_else(|| self.attr_error(el, "context", context_text, "host, vm"))?;
        let parts = self.sequence(
            el,
            "metric",
            &[
                ("name", Rep::One),
                ("action", Rep::One),
                ("variable", Rep::ZeroOrMore),
            ],
        )?;
        let name = self.pcdata(parts.one("name"), "name")?;
        let action_el = parts.one("action");
        let action_text = self.pcdata(action_el, "action")?;
        let mut variables = Vec::new();
        for v in parts.all("variable") {
            self.attributes(v, "variable", &[("name", true), ("type", true)])?;
            if let Some(child) = v.elements().next() {
                return Err(self.error(
                    child.offset,
                    ConfigProblem::ElementInText {
                        element: "variable",
                    },
                ));
            }
            let vtype = v.attr("type").unwrap_or_default();
            let vkind = MetricType::from_name(vtype)
                .filter(|k| k.is_value())
                .ok_or_else(|| self.attr_error(v, "type", vtype, VALUE_TYPES))?;
            variables.push(Variable {
                name: v.attr("name").unwrap_or_default().to_string(),
                kind: vkind,
            });
        }
        if (kind == MetricType::Group) == variables.is_empty() {
            return Err(self.error(el.offset, ConfigProblem::BadVariables));
        }
        let action = if action_text.trim() == BUILTIN_ACTION {
            let names: Vec<&str> = if kind == MetricType::Group {
                variables.iter().map(|v| v.name.as_str()).collect()
            } else {
                vec![name.as_str()]
            };
            for n in names {
                if kind == MetricType::Xml || native::Collector::lookup(n, context).is_none() {
                    return Err(self.error(
                        action_el.offset,
                        ConfigProblem::UnknownBuiltin {
                            name: n.to_string(),
                        },
                    ));
                }
            }
            Action::Builtin
        } else {
            Action::Shell(action_text)
        };
        Ok(MetricDef {
            name,
            kind,
            context,
            unit: el.attr("unit").map(str::to_string),
            action,
            variables,
            line: self.line(el.offset),
        })
    }

    fn attr_error(
        &self,
        el: &Element,
        attribute: &'static str,
        value: &str,
        allowed: &'static str,
    ) -> VhostmdError {
        let offset = el
            .attrs
            .iter()
            .find(|a| a.name == attribute)
            .map_or(el.offset, |a| a.offset);
        self.error(
            offset,
            ConfigProblem::BadAttributeValue {
                attribute,
                value: value.to_string(),
                allowed,
            },
        )
    }
}

/// Where to report something missing at the end of an element: its last child, or itself.
fn end_offset(element: &Element) -> usize {
    element
        .children
        .iter()
        .rev()
        .find_map(|c| match c {
            Node::Element(e) => Some(e.offset),
            Node::Text { .. } => None,
        })
        .unwrap_or(element.offset)
}

/// C `strtol(s, NULL, 10)` as upstream uses it: leading whitespace, optional sign, leading
/// digits; `None` when there are no digits (upstream treats that as a parse error for the
/// period) and on overflow.
pub(crate) fn strtol(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let len = digits.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 {
        return None;
    }
    let n: i64 = digits[..len].parse().ok()?;
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_strtol_like_c() {
        assert_eq!(strtol(" 5s"), Some(5));
        assert_eq!(strtol("-3"), Some(-3));
        assert_eq!(strtol("x"), None);
        assert_eq!(strtol(""), None);
    }
}
