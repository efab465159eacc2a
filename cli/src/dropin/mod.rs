//! The drop-in binaries' command lines, for `xenadm man` (the binaries include the same files).
//! Only their definitions are used here, never the parsed fields.

#![allow(dead_code)]

pub mod vhostmd_args;
pub mod vm_dump_metrics_args;
