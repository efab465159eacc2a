//! The crate's error type.

use std::io;
use std::path::{Path, PathBuf};

use crate::config::Context;

/// Everything that can go wrong in this crate. Each variant names where: the file or device,
/// and for parse errors the line, column (both 1-based) and byte offset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VhostmdError {
    /// A file or device could not be opened or read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file or device.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file or device could not be created or written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file or device.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The text is not well-formed XML.
    #[error("{}:{line}:{column}: {problem}", path.display())]
    Xml {
        /// The file (`<metrics>` for a metrics document, `<action NAME>` for action output).
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based byte column in that line.
        column: usize,
        /// 0-based byte offset.
        offset: usize,
        /// What is wrong there.
        problem: XmlProblem,
    },
    /// The configuration breaks a rule of `vhostmd.dtd` or a value rule of the daemon.
    #[error("{}:{line}:{column}: {problem}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based byte column in that line.
        column: usize,
        /// 0-based byte offset.
        offset: usize,
        /// What is wrong there.
        problem: ConfigProblem,
    },
    /// The metrics disk header or content is unusable.
    #[error("{}: {problem}", path.display())]
    Disk {
        /// The image or device.
        path: PathBuf,
        /// What is wrong with it.
        problem: DiskProblem,
    },
    /// The metrics disk stayed busy, or kept changing, until the reader gave up.
    #[error(
        "{}: the metrics disk stayed busy or kept changing for {waited_ms} ms ({attempts} attempts)",
        path.display()
    )]
    DiskUnstable {
        /// The image or device.
        path: PathBuf,
        /// How long the reader waited.
        waited_ms: u64,
        /// How many reads it tried.
        attempts: u32,
    },
    /// No block device under the probe root starts with the `mvbd` signature.
    #[error("no metrics disk found: none of {devices} block devices under {} starts with \"mvbd\"", root.display())]
    NoMetricsDisk {
        /// The folder listing block devices (normally `/sys/block`).
        root: PathBuf,
        /// How many entries were probed.
        devices: usize,
    },
    /// The metrics document is larger than the disk can hold.
    #[error(
        "the metrics document is {length_bytes} bytes, larger than the {capacity_bytes} bytes the disk holds"
    )]
    DocumentTooLarge {
        /// Document size.
        length_bytes: usize,
        /// Disk size minus the 16-byte header.
        capacity_bytes: usize,
    },
    /// A metric's action failed; the metric is left out of this update.
    #[error("metric {metric}: {problem}")]
    Action {
        /// The metric name.
        metric: String,
        /// What went wrong.
        problem: ActionProblem,
    },
    /// A system call or program the daemon needs failed.
    #[error("{what}")]
    System {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// The VM list could not be read.
    #[error("cannot list virtual machines from {source_name}: {message}")]
    VmSource {
        /// Which source (e.g. `libvirt (virsh)`).
        source_name: &'static str,
        /// What failed.
        message: String,
    },
    /// The Xen VM source failed (feature `xen`): xen-core's error, with its causes, is the
    /// source.
    #[cfg(feature = "xen")]
    #[error("cannot list virtual machines from xen")]
    XenSource(#[source] xen_core::XenError),
    /// A virtio-serial request or channel failed.
    #[error("virtio channel {}: {message}", path.display())]
    Virtio {
        /// The channel socket or port.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The pid file names a running process.
    #[error("{} names process {pid}, which is running: is vhostmd already running?", path.display())]
    AlreadyRunning {
        /// The pid file.
        path: PathBuf,
        /// The running process.
        pid: i32,
    },
    /// The user given to drop privileges to is unusable.
    #[error("cannot run as user {user}: {message}")]
    User {
        /// The user name.
        user: String,
        /// What is wrong.
        message: String,
    },
    /// No metric with that name (and context) is in the document.
    #[error("no metric named {name:?} with context {context}")]
    MetricNotFound {
        /// The name asked for.
        name: String,
        /// The context asked for.
        context: Context,
    },
    /// A metric value does not convert to the type asked for.
    #[error("metric {name:?}: value {value:?} is not a valid {wanted}")]
    MetricValue {
        /// The metric name.
        name: String,
        /// Its value text.
        value: String,
        /// The type asked for.
        wanted: &'static str,
    },
}

/// A well-formedness problem in XML text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlProblem {
    /// The text ends inside a construct.
    #[error("the text ends inside {inside}")]
    UnexpectedEnd {
        /// What was open.
        inside: &'static str,
    },
    /// A specific character or token was expected.
    #[error("expected {expected}")]
    Expected {
        /// What was expected.
        expected: &'static str,
    },
    /// An end tag does not match the open element.
    #[error("end tag </{found}> does not match the open <{open}>")]
    MismatchedEndTag {
        /// The open element.
        open: String,
        /// The end tag found.
        found: String,
    },
    /// An end tag without an open element.
    #[error("end tag </{found}> without a start tag")]
    UnmatchedEndTag {
        /// The end tag found.
        found: String,
    },
    /// A `&` that does not start a known entity or character reference.
    #[error(
        "`&` must start &amp; &lt; &gt; &quot; &apos; or a character reference (unescaped `&`?)"
    )]
    BadReference,
    /// A `<` inside an attribute value.
    #[error("`<` is not allowed in an attribute value")]
    LtInAttribute,
    /// The same attribute twice on one element.
    #[error("attribute {name} appears twice")]
    DuplicateAttribute {
        /// The attribute.
        name: String,
    },
    /// Text or a second element outside the root element.
    #[error("content after the root element")]
    OutsideRoot,
    /// No root element.
    #[error("no root element")]
    NoRoot,
    /// Bytes that are not UTF-8, or a character XML does not allow.
    #[error("invalid UTF-8 or a control character XML does not allow")]
    BadCharacter,
    /// `]]>` in text.
    #[error("`]]>` is not allowed in text")]
    CdataEndInText,
    /// Elements nested deeper than the parser allows.
    #[error("elements nested deeper than {limit}")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The input is larger than the parser accepts.
    #[error("larger than {limit_bytes} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit_bytes: usize,
    },
}

/// A configuration rule that is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// A configuration file without a DOCTYPE (upstream validates against the DTD it names
    /// and refuses a file without one).
    #[error(
        "no DOCTYPE: vhostmd validates its configuration against the DTD the DOCTYPE names and refuses a file without one"
    )]
    NoDoctype,
    /// The DTD file the DOCTYPE names does not exist.
    #[error("the DTD {} named by the DOCTYPE does not exist (vhostmd refuses to start without it)", .dtd.display())]
    DtdMissing {
        /// Where it was looked for (relative names next to the configuration file).
        dtd: PathBuf,
    },
    /// The XML itself is malformed.
    #[error("{0}")]
    Xml(XmlProblem),
    /// The root element is not `<vhostmd>`, or the DOCTYPE names another root.
    #[error("the root element must be <vhostmd>, not <{found}>")]
    WrongRoot {
        /// The name found.
        found: String,
    },
    /// An element the DTD does not allow here.
    #[error("<{found}> is not allowed here in <{parent}>: expected {expected}")]
    UnexpectedElement {
        /// The element found.
        found: String,
        /// Its parent.
        parent: &'static str,
        /// What the DTD allows at this point.
        expected: String,
    },
    /// A required child element is missing.
    #[error("<{parent}> is missing {expected}")]
    MissingElement {
        /// The parent element.
        parent: &'static str,
        /// What the DTD requires at this point.
        expected: String,
    },
    /// Text where the DTD allows only elements.
    #[error("text is not allowed directly in <{element}>")]
    UnexpectedText {
        /// The element.
        element: &'static str,
    },
    /// A child element inside a text-only element.
    #[error("<{element}> holds text only, not elements")]
    ElementInText {
        /// The text-only element.
        element: &'static str,
    },
    /// A required attribute is missing.
    #[error("<{element}> needs the attribute {attribute}")]
    MissingAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
    },
    /// An attribute the DTD does not declare.
    #[error("<{element}> has no attribute {attribute} in vhostmd.dtd")]
    UnknownAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: String,
    },
    /// An attribute value outside its enumeration.
    #[error("{attribute}={value:?} is not one of {allowed}")]
    BadAttributeValue {
        /// The attribute.
        attribute: &'static str,
        /// The value found.
        value: String,
        /// The allowed values.
        allowed: &'static str,
    },
    /// A number is missing or malformed.
    #[error("<{element}> must be a whole number, not {value:?}")]
    BadNumber {
        /// The element.
        element: &'static str,
        /// The text found.
        value: String,
    },
    /// A size unit other than k/K or m/M.
    #[error("size unit {unit:?} is not k (KiB) or m (MiB)")]
    BadUnit {
        /// The unit found.
        unit: String,
    },
    /// The disk size is outside 1 KiB..256 MiB.
    #[error("disk size {size_bytes} bytes is outside 1 KiB (1024) .. 256 MiB (268435456)")]
    SizeOutOfRange {
        /// The size asked for.
        size_bytes: u64,
    },
    /// `update_period` below 1 second.
    #[error("update_period {seconds} must be at least 1 second")]
    PeriodTooShort {
        /// The period given.
        seconds: i64,
    },
    /// A `builtin` action on a metric no native collector provides.
    #[error("no built-in collector is named {name:?}")]
    UnknownBuiltin {
        /// The metric name.
        name: String,
    },
    /// A transport this build cannot serve.
    #[error("transport {transport:?} is not supported (vbd and virtio are; xenstore is not)")]
    UnsupportedTransport {
        /// The transport.
        transport: String,
    },
    /// A `group` metric without variables, or variables on another type.
    #[error("a group metric needs <variable> elements, and only a group metric may have them")]
    BadVariables,
    /// The file is larger than a configuration can be.
    #[error("the file is larger than {limit_bytes} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit_bytes: usize,
    },
}

/// What is wrong with a metrics disk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiskProblem {
    /// Fewer than 16 bytes.
    #[error("{size_bytes} bytes is too short for the 16-byte header")]
    TooShortForHeader {
        /// Bytes available.
        size_bytes: u64,
    },
    /// The first 4 bytes are not `mvbd`.
    #[error("no \"mvbd\" signature (found {:02x} {:02x} {:02x} {:02x}): not a metrics disk", .found[0], .found[1], .found[2], .found[3])]
    BadSignature {
        /// The 4 bytes found.
        found: [u8; 4],
    },
    /// The header's length runs past the end of the disk.
    #[error(
        "header length {length_bytes} runs past the end of the {size_bytes}-byte disk (corrupt or truncated)"
    )]
    LengthPastEnd {
        /// The header's length field.
        length_bytes: u32,
        /// Disk size.
        size_bytes: u64,
    },
    /// The document does not parse as XML.
    #[error("the metrics document is not valid XML: {0}")]
    BadDocument(XmlProblem),
}

/// Why a metric's action gave no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActionProblem {
    /// `/bin/sh` could not be started.
    #[error("cannot start /bin/sh: {message}")]
    Spawn {
        /// The OS error.
        message: String,
    },
    /// The action exited with a non-zero status (upstream omits the metric too).
    #[error("{}", failed_text(*.code, *.signal))]
    Failed {
        /// Exit code, if it exited.
        code: Option<i32>,
        /// Signal, if it was killed.
        signal: Option<i32>,
    },
    /// The action ran longer than its timeout and was killed.
    #[error("the action ran longer than {timeout_ms} ms and was killed")]
    TimedOut {
        /// The timeout.
        timeout_ms: u64,
    },
    /// The action printed more than the drain limit and was killed.
    #[error("the action printed more than {limit_bytes} bytes and was killed")]
    TooMuchOutput {
        /// The limit.
        limit_bytes: usize,
    },
    /// A substituted value cannot be quoted safely at that place of the command.
    #[error(
        "the value for {token} cannot be quoted safely at its place in the action (here-document?); not run"
    )]
    UnsafeSubstitution {
        /// The token (NAME, VMID, UUID, CONNECT).
        token: &'static str,
    },
    /// An `xml` metric printed something that is not valid `<metric>` elements.
    #[error("the output is not valid <metric> XML: {message}")]
    BadXml {
        /// Why.
        message: String,
    },
    /// A native collector could not read its source.
    #[error("built-in collector: {message}")]
    Native {
        /// Why.
        message: String,
    },
}

/// [`ActionProblem::Failed`]'s text: the exit status, else the signal.
fn failed_text(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) => format!("the action exited with status {code}"),
        (None, Some(sig)) => format!("the action was killed by signal {sig}"),
        (None, None) => "the action failed".to_string(),
    }
}

impl VhostmdError {
    /// What the administrator can do about this error, as a tool embedding the crate may show
    /// it (the `xenadm` CLI and the drop-in tools print it as `hint:`). `None` where the fix
    /// is in the tool's own hands (which of its options or commands to use): the tool words
    /// that itself.
    pub fn fix(&self) -> Option<&'static str> {
        let VhostmdError::Config { problem, .. } = self else {
            return match self {
                VhostmdError::DiskUnstable { .. } => Some(
                    "the writer crashed mid-update or is still in its first update: check that vhostmd runs",
                ),
                VhostmdError::Disk { .. } => {
                    Some("the file is not a metrics disk, or it is corrupt")
                }
                VhostmdError::Read { .. } => {
                    Some("check the path and that you may read it (root for devices)")
                }
                _ => None,
            };
        };
        Some(match problem {
            ConfigProblem::Xml(XmlProblem::BadReference | XmlProblem::LtInAttribute) => {
                "write `&` in actions as `&amp;` and `<` as `&lt;`"
            }
            ConfigProblem::Xml(XmlProblem::NoRoot) => {
                "the file holds no configuration (is it empty?); start from /etc/vhostmd/vhostmd.conf as installed, or vhostmd's contrib/vhostmd.conf"
            }
            ConfigProblem::Xml(_) => {
                "fix the XML at that line and column; `xmllint --noout FILE` shows the same"
            }
            ConfigProblem::NoDoctype => {
                "put `<!DOCTYPE vhostmd SYSTEM \"vhostmd.dtd\">` before <vhostmd>, with vhostmd.dtd next to the file"
            }
            ConfigProblem::DtdMissing { .. } => {
                "copy vhostmd.dtd next to the configuration (the package installs it in /etc/vhostmd/), or fix the DOCTYPE's file name"
            }
            ConfigProblem::SizeOutOfRange { .. } | ConfigProblem::BadUnit { .. } => {
                "give the disk size as e.g. <size unit=\"k\">256</size> (1 KiB .. 256 MiB)"
            }
            ConfigProblem::UnknownBuiltin { .. } => {
                "`@builtin` works for the standard metric names; see the vhostmd crate README"
            }
            _ => {
                "compare with the element order of vhostmd.dtd (globals: disk, virtio*, update_period, path, transport+)"
            }
        })
    }

    /// For `map_err`: an I/O error reading `path` as a [`VhostmdError::Read`].
    pub(crate) fn reading(path: &Path) -> impl Fn(io::Error) -> VhostmdError + Copy + '_ {
        move |source| VhostmdError::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    /// For `map_err`: a problem of the metrics disk at `path` as a [`VhostmdError::Disk`].
    pub(crate) fn disk(path: &Path) -> impl Fn(DiskProblem) -> VhostmdError + Copy + '_ {
        move |problem| VhostmdError::Disk {
            path: path.to_path_buf(),
            problem,
        }
    }

    /// A [`VhostmdError::System`] from an OS error.
    pub(crate) fn system(what: impl Into<String>, source: impl Into<io::Error>) -> VhostmdError {
        VhostmdError::System {
            what: what.into(),
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_fix_is_the_crates_own_advice() {
        let config = |problem| VhostmdError::Config {
            path: PathBuf::from("vhostmd.conf"),
            line: 1,
            column: 1,
            offset: 0,
            problem,
        };
        let xml = config(ConfigProblem::Xml(XmlProblem::NoRoot));
        assert!(xml.fix().unwrap().contains("no configuration"));
        assert!(
            config(ConfigProblem::NoDoctype)
                .fix()
                .unwrap()
                .contains("DOCTYPE")
        );
        // Where to find the disk is the tool's to word (its options).
        let no_disk = VhostmdError::NoMetricsDisk {
            root: PathBuf::from("/sys/block"),
            devices: 0,
        };
        assert_eq!(no_disk.fix(), None);
    }
}
