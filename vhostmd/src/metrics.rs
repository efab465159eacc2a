//! The metrics document as typed values, for guest programs (what libmetrics offers, with
//! lookups that work with several VMs on one disk).

use std::path::PathBuf;

use crate::config::{Context, MetricType};
use crate::error::VhostmdError;
use crate::xml::{self, Element};

/// One `<metric>` of a metrics document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Metric {
    /// `<name>`.
    pub name: String,
    /// The `type` attribute as written.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub type_name: String,
    /// The `context` attribute.
    pub context: Context,
    /// The `id` attribute (VM metrics).
    pub vm_id: Option<String>,
    /// The `uuid` attribute (VM metrics).
    pub vm_uuid: Option<String>,
    /// The `unit` attribute.
    pub unit: Option<String>,
    /// `<value>`, exactly as written (upstream values often end with a newline).
    pub value: String,
}

impl Metric {
    /// The type, if it is one of the DTD's.
    pub fn kind(&self) -> Option<MetricType> {
        MetricType::from_name(&self.type_name)
    }

    fn bad(&self, wanted: &'static str) -> VhostmdError {
        VhostmdError::MetricValue {
            name: self.name.clone(),
            value: self.value.clone(),
            wanted,
        }
    }

    /// The value as an unsigned integer (surrounding whitespace ignored).
    pub fn as_u64(&self) -> Result<u64, VhostmdError> {
        self.value
            .trim()
            .parse()
            .map_err(|_| self.bad("unsigned integer"))
    }

    /// The value as a signed integer (surrounding whitespace ignored).
    pub fn as_i64(&self) -> Result<i64, VhostmdError> {
        self.value.trim().parse().map_err(|_| self.bad("integer"))
    }

    /// The value as a floating-point number (surrounding whitespace ignored).
    pub fn as_f64(&self) -> Result<f64, VhostmdError> {
        self.value.trim().parse().map_err(|_| self.bad("number"))
    }
}

/// All metrics of a document, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct MetricsDocument {
    /// The metrics.
    pub metrics: Vec<Metric>,
}

impl MetricsDocument {
    /// Parses a metrics document. Elements other than `<metric>` with a `<name>` and a known
    /// context are skipped, as libmetrics ignores what its XPath does not match.
    pub fn parse(document: &[u8]) -> Result<MetricsDocument, VhostmdError> {
        let doc = xml::parse(document).map_err(|(offset, problem)| {
            let (line, column) = xml::line_column(document, offset);
            VhostmdError::Xml {
                path: PathBuf::from("<metrics>"),
                line,
                column,
                offset,
                problem,
            }
        })?;
        let metrics = doc
            .root
            .elements()
            .filter(|e| e.name == "metric")
            .filter_map(metric)
            .collect();
        Ok(MetricsDocument { metrics })
    }

    /// The host metric with this name.
    pub fn host(&self, name: &str) -> Result<&Metric, VhostmdError> {
        self.metrics
            .iter()
            .find(|m| m.context == Context::Host && m.name == name)
            .ok_or_else(|| VhostmdError::MetricNotFound {
                name: name.to_string(),
                context: Context::Host,
            })
    }

    /// The metric of this VM (by UUID) with this name.
    pub fn vm(&self, name: &str, vm_uuid: &str) -> Result<&Metric, VhostmdError> {
        self.metrics
            .iter()
            .find(|m| {
                m.context == Context::Vm && m.name == name && m.vm_uuid.as_deref() == Some(vm_uuid)
            })
            .ok_or_else(|| VhostmdError::MetricNotFound {
                name: name.to_string(),
                context: Context::Vm,
            })
    }

    /// The first metric with this name and context (for a guest that sees only its own VM,
    /// as over virtio, the vm context is unambiguous).
    pub fn get(&self, name: &str, context: Context) -> Result<&Metric, VhostmdError> {
        self.metrics
            .iter()
            .find(|m| m.context == context && m.name == name)
            .ok_or_else(|| VhostmdError::MetricNotFound {
                name: name.to_string(),
                context,
            })
    }
}

fn metric(e: &Element) -> Option<Metric> {
    let child = |n: &str| e.elements().find(|c| c.name == n).map(Element::text);
    Some(Metric {
        name: child("name")?,
        type_name: e.attr("type").unwrap_or_default().to_string(),
        context: Context::from_name(e.attr("context")?)?,
        vm_id: e.attr("id").map(str::to_string),
        vm_uuid: e.attr("uuid").map(str::to_string),
        unit: e.attr("unit").map(str::to_string),
        value: child("value").unwrap_or_default(),
    })
}
