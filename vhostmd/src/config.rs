//! The daemon configuration (`vhostmd.conf`) as typed values.

use std::fmt;
use std::path::PathBuf;

/// Where `vhostmd` reads its configuration by default.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/vhostmd/vhostmd.conf";
/// The metrics disk path when `<disk><path>` is empty.
pub const DEFAULT_DISK_PATH: &str = "/dev/shm/vhostmd0";
/// The virtio channel folder when `<virtio><channel_path>` is absent.
pub const DEFAULT_CHANNEL_PATH: &str = "/var/lib/libvirt/qemu/channel/target";
/// Smallest disk size vhostmd accepts.
pub const MIN_DISK_SIZE_BYTES: u64 = 1024;
/// Largest disk size vhostmd accepts.
pub const MAX_DISK_SIZE_BYTES: u64 = 256 * 1024 * 1024;

/// A whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Config {
    /// The metrics disk.
    pub disk: DiskConfig,
    /// The virtio-serial settings (the first `<virtio>` element, or defaults).
    pub virtio: VirtioConfig,
    /// Seconds between updates (at least 1).
    pub update_period_secs: u64,
    /// `PATH` for actions; empty keeps the daemon's own.
    pub path: String,
    /// Where the metrics go.
    pub transports: Transports,
    /// `<transport>` words upstream ignores (not vbd, virtio or xenstore), as written; when
    /// no transport is known, vbd is used, as upstream does. A frontend should warn.
    pub ignored_transports: Vec<String>,
    /// The metric definitions, in file order.
    pub metrics: Vec<MetricDef>,
}

/// `<globals><disk>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DiskConfig {
    /// A label (unused, as upstream).
    pub name: String,
    /// The disk image to create.
    pub path: PathBuf,
    /// Total size including the 16-byte header.
    pub size_bytes: u64,
}

/// `<globals><virtio>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct VirtioConfig {
    /// Folder where libvirt/QEMU put per-VM channel sockets.
    pub channel_path: PathBuf,
    /// Most VMs served at once.
    pub max_channels: u32,
    /// Seconds without an update after which a VM's channel is closed (at least 3 periods).
    pub expiration_secs: u64,
}

/// The transports of `<globals><transport>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Transports {
    /// Write the metrics disk.
    pub vbd: bool,
    /// Serve virtio-serial channels.
    pub virtio: bool,
}

/// One `<metric>` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct MetricDef {
    /// `<name>` (not output for `group` and `xml`).
    pub name: String,
    /// The `type` attribute.
    pub kind: MetricType,
    /// The `context` attribute.
    pub context: Context,
    /// The `unit` attribute, copied to the output when not empty.
    pub unit: Option<String>,
    /// How the value is obtained.
    pub action: Action,
    /// For `group`: one output metric per variable.
    pub variables: Vec<Variable>,
    /// 1-based line of the `<metric>` element.
    pub line: usize,
}

/// How a metric's value is obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum Action {
    /// A shell command line run with `/bin/sh -c`, tokens substituted.
    Shell(String),
    /// `<action>@builtin</action>`: the native collector named like the metric (or, for a
    /// group, like each variable). No process is started.
    Builtin,
}

/// The marker action that selects a native collector.
pub const BUILTIN_ACTION: &str = "@builtin";

/// One `<variable>` of a group metric.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Variable {
    /// The output metric name.
    pub name: String,
    /// The output metric type (never `xml` or `group`).
    pub kind: MetricType,
}

/// A metric `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
#[non_exhaustive]
pub enum MetricType {
    /// The action prints whole `<metric>` elements.
    Xml,
    /// The action prints comma-separated values, one per variable.
    Group,
    /// Signed 32-bit integer.
    Int32,
    /// Unsigned 32-bit integer.
    Uint32,
    /// Signed 64-bit integer.
    Int64,
    /// Unsigned 64-bit integer.
    Uint64,
    /// 32-bit float.
    Real32,
    /// 64-bit float.
    Real64,
    /// Text.
    String,
}

impl MetricType {
    /// Every type, as spelled in the DTD.
    pub const ALL: [MetricType; 9] = [
        MetricType::Xml,
        MetricType::Group,
        MetricType::Int32,
        MetricType::Uint32,
        MetricType::Int64,
        MetricType::Uint64,
        MetricType::Real32,
        MetricType::Real64,
        MetricType::String,
    ];

    /// The DTD spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Xml => "xml",
            MetricType::Group => "group",
            MetricType::Int32 => "int32",
            MetricType::Uint32 => "uint32",
            MetricType::Int64 => "int64",
            MetricType::Uint64 => "uint64",
            MetricType::Real32 => "real32",
            MetricType::Real64 => "real64",
            MetricType::String => "string",
        }
    }

    /// The type for a DTD spelling (exact, lowercase, as the DTD admits).
    pub fn from_name(name: &str) -> Option<MetricType> {
        MetricType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether a single value of this type is output (not `xml` or `group`).
    pub fn is_value(self) -> bool {
        !matches!(self, MetricType::Xml | MetricType::Group)
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A metric `context`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
pub enum Context {
    /// About the host.
    Host,
    /// About one virtual machine.
    Vm,
}

impl Context {
    /// The DTD spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Host => "host",
            Context::Vm => "vm",
        }
    }

    /// The context for a DTD spelling.
    pub fn from_name(name: &str) -> Option<Context> {
        match name {
            "host" => Some(Context::Host),
            "vm" => Some(Context::Vm),
            _ => None,
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
