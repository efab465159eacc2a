//! Host metrics for virtual machines: a drop-in reimplementation of the vhostmd daemon, its
//! metrics disk, and the guest side (`vm-dump-metrics`, libmetrics).
//!
//! Guests (SAP systems above all) need facts about the host they run on. The daemon collects
//! them every `update_period` seconds and writes them as XML into a small disk image
//! (`/dev/shm/vhostmd0`) that the administrator attaches read-only to the guests, and serves
//! each VM its own part over virtio-serial. Inside a guest, [`find_disk`] and [`read_disk`]
//! read the metrics back.
//!
//! Limits: [`read_disk`] holds the whole document (at most the disk's 256 MiB) and its tree;
//! [`copy_document`], what `vm-dump-metrics` uses, checks and copies the document in
//! [`COPY_CHUNK_BYTES`] blocks as a stream of XML events, in memory that does not depend on
//! the document's length (a single tag or text run over [`MAX_EVENT_BYTES`] is refused).
//!
//! * [`Config`]: `vhostmd.conf`, with `vhostmd.dtd`'s rules checked in code (every error has a
//!   line and column); a file must name its DTD in a DOCTYPE and have it next to it, as
//!   upstream requires; unknown `<transport>` words are kept in `ignored_transports`.
//! * [`MetricsDisk`], [`Header`], [`checksum`]: the disk format, byte-compatible with
//!   upstream; the writer follows the busy protocol and zeroes stale bytes.
//! * [`Collecting`]: one update. Shell actions run with a timeout and an output cap, with
//!   NAME/VMID/UUID/CONNECT quoted for their place in the command; `@builtin` actions use
//!   native collectors and start no process.
//! * [`VmSource`]: where VMs come from ([`StaticVms`], [`VirshVms`]; Xen through `xen-core`).
//! * [`Daemon`], [`daemon::run`]: timing, SIGHUP reload, SIGTERM exit, pid file, privileges.
//! * [`virtio`]: the virtio-serial transport and its request parser.
//! * [`MetricsDocument`]: the metrics as typed values for guest programs.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use vhostmd::{CollectOptions, Collecting, Config, MetricsDisk, ReadOptions, Vm, read_disk};
//!
//! let conf = r#"<vhostmd>
//!   <globals>
//!     <disk><name>d</name><path>/unused</path><size unit="k">4</size></disk>
//!     <update_period>5</update_period>
//!     <path>/usr/bin:/bin</path>
//!     <transport>vbd</transport>
//!   </globals>
//!   <metrics>
//!     <metric type="uint32" context="host"><name>Answer</name><action>printf 42</action></metric>
//!     <metric type="string" context="vm"><name>Who</name><action>printf NAME</action></metric>
//!   </metrics>
//! </vhostmd>"#;
//! let config = Config::parse(conf.as_bytes(), Path::new("vhostmd.conf"))?;
//! let mut collecting = Collecting::new(config, CollectOptions::default());
//! let update = collecting.collect(&[Vm::new(3, "web", "0c9e6c7a-0000-4000-8000-000000000003")]);
//!
//! let dir = tempfile::tempdir().map_err(|e| vhostmd::VhostmdError::Write {
//!     path: "tmp".into(),
//!     source: e,
//! })?;
//! let path = dir.path().join("vhostmd0");
//! let mut disk = MetricsDisk::create(&path, 4096)?;
//! disk.update(update.document().as_bytes())?;
//!
//! let metrics = read_disk(&path, &ReadOptions::default())?.metrics()?;
//! assert_eq!(metrics.host("Answer")?.as_u64()?, 42);
//! assert_eq!(metrics.vm("Who", "0c9e6c7a-0000-4000-8000-000000000003")?.value, "web");
//! # Ok::<(), vhostmd::VhostmdError>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod action;
mod collect;
mod config;
mod config_parse;
mod copy;
pub mod daemon;
mod disk;
mod document;
mod error;
mod host;
pub mod log;
mod metrics;
pub mod native;
mod quote;
mod reader;
pub mod report;
pub mod virtio;
mod vms;
#[cfg(feature = "xen")]
mod xen;
mod xml;

pub use action::{ActionLimits, VALUE_CAP_BYTES, XML_VALUE_CAP_BYTES};
pub use collect::{CollectOptions, Collecting, Update};
pub use config::{
    Action, BUILTIN_ACTION, Config, Context, DEFAULT_CHANNEL_PATH, DEFAULT_CONFIG_PATH,
    DEFAULT_DISK_PATH, DiskConfig, MAX_DISK_SIZE_BYTES, MIN_DISK_SIZE_BYTES, MetricDef, MetricType,
    Transports, Variable, VirtioConfig,
};
pub use config_parse::MAX_CONFIG_BYTES;
pub use copy::{COPY_CHUNK_BYTES, MAX_EVENT_BYTES, copy_document};
pub use daemon::{Daemon, DaemonOptions};
pub use disk::{HEADER_BYTES, Header, MetricsDisk, SIGNATURE, checksum};
pub use document::document;
pub use error::{ActionProblem, ConfigProblem, DiskProblem, VhostmdError, XmlProblem};
pub use host::{HostStats, HostView, Snapshot};
pub use metrics::{Metric, MetricsDocument};
pub use reader::{DiskContent, ProbeOptions, ReadOptions, find_disk, parse_image, read_disk};
pub use vms::{NoVms, StaticVms, VirshVms, Vm, VmSource, VmStats};
#[cfg(feature = "xen")]
pub use xen::{VmSourceKind, XenHost, XenVms};
