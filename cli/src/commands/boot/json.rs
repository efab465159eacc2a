//! The JSON shapes of the boot commands that combine several library results.

use std::path::{Path, PathBuf};

use grub_cfg::{CheckReport, MenuEntry, WriteReport};
use serde::Serialize;

/// `xenadm boot check --json`.
#[derive(Debug, Serialize)]
pub struct CheckJson<'a> {
    pub table: &'a str,
    pub errors: usize,
    pub warnings: usize,
    #[serde(flatten)]
    pub report: &'a CheckReport,
}

/// `xenadm boot mkconfig --json`.
#[derive(Debug, Serialize)]
pub struct MkconfigJson<'a> {
    pub command: String,
    pub output: PathBuf,
    pub xen_entries: Vec<&'a MenuEntry>,
}

/// `xenadm boot entries --json`.
#[derive(Debug, Serialize)]
pub struct EntriesJson<'a> {
    pub path: &'a Path,
    /// The entry GRUB boots by default (grub.cfg's default, or grubenv's saved_entry).
    pub default: Option<&'a str>,
    pub entries: Vec<&'a MenuEntry>,
}

/// `xenadm boot default ENTRY --json`.
#[derive(Debug, Serialize)]
pub struct DefaultSetJson<'a> {
    pub variable: &'static str,
    pub value: &'a str,
    pub written: WriteReport,
}
