//! Text renderings of a [`Mask`](crate::Mask): xl.cfg lists and strings, libvirt XML.

pub mod libvirt;
pub mod report;
pub mod xl;
pub mod xl_names;
