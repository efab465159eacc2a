//! Test fixtures shared by the unit tests of the boot views, the pending-change report, the
//! default-entry rules and the renderers: a configuration from the text of
//! /etc/default/grub, and a grubenv block holding some variables.

use std::path::Path;

use crate::config::BootConfig;
use crate::default_grub::DefaultGrub;
use crate::grubenv::GrubEnv;

/// The configuration of one /etc/default/grub with `text` in it.
pub(crate) fn config(text: &str) -> BootConfig {
    let file = DefaultGrub::parse(text.as_bytes(), Path::new("/etc/default/grub")).unwrap();
    BootConfig::from_files(vec![file], None).unwrap()
}

/// A full-size grubenv block with `text` (lines of `name=value`) after its header.
pub(crate) fn env_with(text: &str) -> GrubEnv {
    let mut block = format!("# GRUB Environment Block\n{text}").into_bytes();
    block.resize(crate::GRUBENV_SIZE, b'#');
    GrubEnv::parse(&block, Path::new("/boot/grub/grubenv")).unwrap()
}
